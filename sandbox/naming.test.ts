import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  baseName,
  folderOf,
  parseUploadName,
  stripFastqExtension,
} from './naming.ts';
import { dataDir } from './testing/harness.ts';

describe('naming', () => {
  describe('parseUploadName()', () => {
    const documented: [string, string, 'R1' | 'R2'][] = [
      // DESIGN section 8 and gencove-api.md 6.4 (DOCS column).
      ['SAMPLE1_R1.fastq.gz', 'SAMPLE1', 'R1'],
      ['SAMPLE1_R2.fastq.gz', 'SAMPLE1', 'R2'],
      ['SAMPLE2_LANE1_SEQUENCER1_R1.fastq.gz', 'SAMPLE2', 'R1'],
      ['SAMPLE3_R1_L001.fastq.gz', 'SAMPLE3', 'R1'],
      ['SAMPLE4_R1.fq.gz', 'SAMPLE4', 'R1'],
      ['S1_R1_001.fastq.gz', 'S1', 'R1'],
      ['S1_L001_R2_001.fastq.gz', 'S1', 'R2'],
      ['S_1_R2.fastq.gz', 'S', 'R2'],
    ];
    const sandboxChoices: [
      string,
      string,
      'R1' | 'R2',
      'token' | 'no-token',
    ][] = [
      ['sample_R2.fq.bgz', 'sample', 'R2', 'token'],
      ['s1_r2.fastq.gz', 's1', 'R2', 'token'],
      ['S1_R2.FASTQ.GZ', 'S1', 'R2', 'token'],
      ['SAMPLE7_R2.Fq.Gz', 'SAMPLE7', 'R2', 'token'],
      ['SAMPLE 9_R2.fastq.gz', 'SAMPLE 9', 'R2', 'token'],
      ['Échantillon-10_R2.fastq.gz', 'Échantillon-10', 'R2', 'token'],
      ['样本11_R2.fastq.gz', '样本11', 'R2', 'token'],
      ['a_R1_b_R2.fastq.gz', 'a', 'R1', 'token'],
      ['x_R2_y_R1.fastq.gz', 'x', 'R2', 'token'],
      ['S1.R2.fastq.gz', 'S1.R2', 'R1', 'no-token'],
      ['S1.fastq.gz', 'S1', 'R1', 'no-token'],
      ['SAMPLE8_2.fastq.gz', 'SAMPLE8', 'R1', 'no-token'],
      ['S1_R10.fastq.gz', 'S1', 'R1', 'no-token'],
      ['S1_R2-trimmed.fastq.gz', 'S1', 'R1', 'no-token'],
      ['test.fastq.gz', 'test', 'R1', 'no-token'],
      ['_R2.fastq.gz', '_R2', 'R1', 'no-token'],
      ['S1_R2.fastq', 'S1', 'R2', 'token'],
    ];

    for (const [name, clientId, read] of documented) {
      it(`reads ${name} as (${clientId}, ${read}) as the platform documents`, () => {
        expect(parseUploadName(name)).toEqual({
          clientId,
          read,
          rule: 'token',
        });
      });
    }

    for (const [name, clientId, read, rule] of sandboxChoices) {
      it(`reads ${name} as (${clientId}, ${read}) by the sandbox's documented choice`, () => {
        expect(parseUploadName(name)).toEqual({ clientId, read, rule });
      });
    }

    it('gives every name of the naming data set a non-empty client id without an underscore', () => {
      const names = fs.readdirSync(path.join(dataDir, 'naming'));

      const parsed = names.map((name) => ({ name, ...parseUploadName(name) }));

      expect(parsed.length).toBeGreaterThan(30);
      for (const p of parsed) {
        expect(p.clientId, p.name).not.toBe('');
        expect(p.clientId.includes('_'), p.name).toBe(false);
        const hasToken = /_R[12](_|\.)/i.test(p.name);
        expect(p.rule, p.name).toBe(hasToken ? 'token' : 'no-token');
      }
    });
  });

  describe('stripFastqExtension()', () => {
    it('removes the accepted extensions in any case and nothing else', () => {
      expect(stripFastqExtension('a.fastq.gz')).toBe('a');
      expect(stripFastqExtension('a.FQ.BGZ')).toBe('a');
      expect(stripFastqExtension('a.fastq')).toBe('a.fastq');
      expect(stripFastqExtension('.fastq.gz')).toBe('.fastq.gz');
    });
  });

  describe('baseName() and folderOf()', () => {
    it('split a gncv:// path at its last slash', () => {
      expect(baseName('gncv://batch/run1/S1_R1.fastq.gz')).toBe(
        'S1_R1.fastq.gz',
      );
      expect(folderOf('gncv://batch/run1/S1_R1.fastq.gz')).toBe(
        'gncv://batch/run1/',
      );
    });
  });
});
