import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../../shared/domain.ts';
import { ValidationError } from '../errors.ts';
import {
  MAX_SEGMENT_BYTES,
  defaultFilename,
  expandTemplate,
  fileExtension,
  parseTemplate,
  resolveInside,
  safeSegment,
} from './template.ts';
import type { TemplateContext } from './template.ts';

const SAMPLE = '5a1b4c2e-0d3f-4e6a-9b7c-8d9e0f1a2b3c';

function ctx(overrides: Partial<TemplateContext> = {}): TemplateContext {
  return {
    clientId: 'S1',
    gencoveId: SAMPLE,
    fileType: 'fastq-r1',
    defaultFilename: `${SAMPLE}_R1.fastq.gz`,
    ...overrides,
  };
}

describe('expandTemplate()', () => {
  describe('tokens in folder and file segments', () => {
    const cases: { template: string; want: string }[] = [
      {
        template: DEFAULT_DOWNLOAD_TEMPLATE,
        want: `S1/${SAMPLE}/${SAMPLE}_fastq-r1.fastq.gz`,
      },
      {
        template: '{client_id}/{gencove_id}/{default_filename}',
        want: `S1/${SAMPLE}/${SAMPLE}_R1.fastq.gz`,
      },
      { template: '{client_id}.{file_extension}', want: 'S1.fastq.gz' },
      { template: '{client_id}/x', want: 'S1/x' },
      { template: 'x/{client_id}', want: 'x/S1' },
      { template: '{gencove_id}/x', want: `${SAMPLE}/x` },
      { template: 'x/{gencove_id}', want: `x/${SAMPLE}` },
      { template: '{file_type}/x', want: 'fastq-r1/x' },
      { template: 'x/{file_type}', want: 'x/fastq-r1' },
      { template: '{file_extension}/x', want: 'fastq.gz/x' },
      { template: 'x/{file_extension}', want: 'x/fastq.gz' },
      { template: '{default_filename}/x', want: `${SAMPLE}_R1.fastq.gz/x` },
      { template: 'x/{default_filename}', want: `x/${SAMPLE}_R1.fastq.gz` },
      {
        template: '{file_type}/{client_id}-{file_type}.{file_extension}',
        want: 'fastq-r1/S1-fastq-r1.fastq.gz',
      },
      { template: 'a//b\\{client_id}', want: 'a/b/S1' },
    ];
    for (const { template, want } of cases) {
      it(`expands ${template}`, () => {
        expect(expandTemplate(template, ctx())).toBe(want);
      });
    }
  });

  it('drops the dot before an empty {file_extension}', () => {
    const got = expandTemplate('{client_id}.{file_extension}', ctx({ defaultFilename: 'noext' }));

    expect(got).toBe('S1');
  });

  describe('braces in values are inserted literally (single pass)', () => {
    const cases: { clientId: string; want: string }[] = [
      { clientId: '{gencove_id}', want: `{gencove_id}/${SAMPLE}_fastq-r1.fastq.gz` },
      { clientId: '{client_id}', want: `{client_id}/${SAMPLE}_fastq-r1.fastq.gz` },
      { clientId: '{', want: `{/${SAMPLE}_fastq-r1.fastq.gz` },
      { clientId: 'a}b{c', want: `a}b{c/${SAMPLE}_fastq-r1.fastq.gz` },
    ];
    for (const { clientId, want } of cases) {
      it(`keeps client id ${clientId}`, () => {
        const got = expandTemplate('{client_id}/{gencove_id}_{file_type}.{file_extension}', ctx({ clientId }));

        expect(got).toBe(want);
      });
    }

    it('keeps braces of a client id used in the last segment', () => {
      const got = expandTemplate('{client_id}_{file_type}.{file_extension}', ctx({ clientId: 'x{file_type}' }));

      expect(got).toBe('x{file_type}_fastq-r1.fastq.gz');
    });
  });

  describe('unsafe characters in values', () => {
    const cases: { clientId: string; want: string }[] = [
      { clientId: 'a/b', want: 'a_b' },
      { clientId: 'a\\b', want: 'a_b' },
      { clientId: 'a<b>c', want: 'a_b_c' },
      { clientId: 'a:b"c', want: 'a_b_c' },
      { clientId: 'a|b?c*', want: 'a_b_c_' },
      { clientId: 'tab\there', want: 'tab_here' },
      { clientId: 'nl\nx\u0000\u007f', want: 'nl_x__' },
      { clientId: 'trailing. . ', want: 'trailing' },
      { clientId: '..', want: '_' },
      { clientId: '.', want: '_' },
      { clientId: '', want: '_' },
      { clientId: '   ', want: '_' },
      { clientId: '../../etc', want: '.._.._etc' },
      { clientId: '.hidden', want: '.hidden' },
      { clientId: 'échantillon-ü', want: 'échantillon-ü' },
    ];
    for (const { clientId, want } of cases) {
      it(`makes ${JSON.stringify(clientId)} into ${JSON.stringify(want)}`, () => {
        expect(expandTemplate('{client_id}/f', ctx({ clientId }))).toBe(`${want}/f`);
      });
    }
  });

  describe('names reserved by Windows get a prefix', () => {
    const cases: { clientId: string; want: string }[] = [
      { clientId: 'CON', want: '_CON' },
      { clientId: 'con', want: '_con' },
      { clientId: 'NUL', want: '_NUL' },
      { clientId: 'nul.txt', want: '_nul.txt' },
      { clientId: 'PRN', want: '_PRN' },
      { clientId: 'AUX', want: '_AUX' },
      { clientId: 'COM1', want: '_COM1' },
      { clientId: 'com9.fastq.gz', want: '_com9.fastq.gz' },
      { clientId: 'LPT1', want: '_LPT1' },
      { clientId: 'Lpt¹', want: '_Lpt¹' },
      { clientId: 'CONIN$', want: '_CONIN$' },
      { clientId: 'CON ', want: '_CON' },
      { clientId: 'CONSOLE', want: 'CONSOLE' },
      { clientId: 'COM10', want: 'COM10' },
      { clientId: 'ACON', want: 'ACON' },
    ];
    for (const { clientId, want } of cases) {
      it(`makes ${clientId} into ${want}`, () => {
        expect(expandTemplate('x/{client_id}', ctx({ clientId }))).toBe(`x/${want}`);
      });
    }

    it('prefixes a reserved name made by the template itself', () => {
      expect(expandTemplate('nul/{client_id}', ctx())).toBe('_nul/S1');
    });
  });

  describe('long names', () => {
    it('shortens a long folder name to 255 bytes, keeping names distinct', () => {
      const a = expandTemplate('{client_id}/f', ctx({ clientId: 'a'.repeat(300) }));
      const b = expandTemplate('{client_id}/f', ctx({ clientId: `${'a'.repeat(299)}b` }));

      const folderA = a.split('/')[0]!;
      expect(Buffer.byteLength(folderA)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(folderA.startsWith('aaaa')).toBe(true);
      expect(a).not.toBe(b);
    });

    it('keeps the extension of a long file name', () => {
      const got = expandTemplate('{client_id}_{file_type}.{file_extension}', ctx({ clientId: 'x'.repeat(400) }));

      expect(Buffer.byteLength(got)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(got.endsWith('_fastq-r1.fastq.gz') || got.endsWith('.fastq.gz')).toBe(true);
    });

    it('cuts multi-byte names on a character boundary', () => {
      const got = safeSegment('é'.repeat(200));

      expect(Buffer.byteLength(got)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(got).not.toContain('\ufffd');
      expect(Buffer.from(got, 'utf8').toString('utf8')).toBe(got);
    });

    it('leaves a name of exactly 255 bytes alone', () => {
      const name = 'n'.repeat(MAX_SEGMENT_BYTES);

      expect(safeSegment(name)).toBe(name);
    });
  });

  describe('bad templates', () => {
    const cases: { template: string; mentions: string }[] = [
      { template: '{client_id}/{sample}', mentions: '{sample}' },
      { template: '{CLIENT_ID}', mentions: '{CLIENT_ID}' },
      { template: '{}', mentions: '{}' },
      { template: '{client_id', mentions: 'unmatched "{"' },
      { template: 'a}b', mentions: 'unmatched "}"' },
      { template: '../{client_id}', mentions: '".."' },
      { template: '{client_id}/../x', mentions: '".."' },
      { template: './x', mentions: '"."' },
      { template: '/abs/{client_id}', mentions: 'absolute' },
      { template: '\\\\server\\share\\x', mentions: 'absolute' },
      { template: 'C:/x/{client_id}', mentions: 'absolute' },
      { template: '{client_id}/', mentions: 'last segment' },
      { template: '', mentions: 'empty' },
      { template: '   ', mentions: 'empty' },
    ];
    for (const { template, mentions } of cases) {
      it(`rejects ${JSON.stringify(template)}`, () => {
        let caught: unknown;
        try {
          expandTemplate(template, ctx());
        } catch (err) {
          caught = err;
        }

        expect(caught).toBeInstanceOf(ValidationError);
        expect((caught as ValidationError).field).toBe('template');
        expect((caught as Error).message).toContain(mentions);
      });
    }

    it('names every known token when one is unknown', () => {
      expect(() => parseTemplate('{nope}')).toThrow(/\{client_id\}.*\{default_filename\}/);
    });
  });

  it('never leaves the destination, whatever the values', () => {
    const destination = path.resolve('/tmp/dest-root');
    const hostile = ['..', '../..', '/etc/passwd', '..\\..\\x', 'C:\\Windows', '~', '%2e%2e', '.\u0000.'];
    for (const clientId of hostile) {
      for (const defaultFilename of hostile) {
        for (const template of [DEFAULT_DOWNLOAD_TEMPLATE, '{client_id}/{default_filename}', '{default_filename}']) {
          const rel = expandTemplate(template, ctx({ clientId, defaultFilename, fileType: clientId }));
          const abs = resolveInside(destination, rel);

          expect(abs.startsWith(destination + path.sep)).toBe(true);
          expect(rel.split('/')).not.toContain('..');
        }
      }
    }
  });
});

describe('resolveInside()', () => {
  it('rejects a path that climbs out', () => {
    expect(() => resolveInside('/tmp/d', '../x')).toThrow(ValidationError);
  });

  it('rejects the destination itself', () => {
    expect(() => resolveInside('/tmp/d', '.')).toThrow(ValidationError);
  });

  it('accepts a nested path', () => {
    expect(resolveInside('/tmp/d', 'a/b')).toBe(path.resolve('/tmp/d/a/b'));
  });
});

describe('fileExtension()', () => {
  const cases: [string, string][] = [
    ['x_R1.fastq.gz', 'fastq.gz'],
    ['s.vcf.gz.tbi', 'vcf.gz.tbi'],
    ['a_qc.json', 'json'],
    ['noext', ''],
    ['trailing.', ''],
  ];
  for (const [name, want] of cases) {
    it(`gives ${JSON.stringify(want)} for ${name}`, () => {
      expect(fileExtension(name)).toBe(want);
    });
  }
});

describe('defaultFilename()', () => {
  const base = 'http://127.0.0.1:9999/downloads/f1/stored-name.bin';
  const cases: { url: string | null; want: string }[] = [
    {
      url: `${base}?response-content-disposition=${encodeURIComponent(`attachment; filename=${SAMPLE}_R1.fastq.gz`)}`,
      want: `${SAMPLE}_R1.fastq.gz`,
    },
    {
      url: `${base}?response-content-disposition=${encodeURIComponent('attachment; filename="with space.vcf.gz"')}`,
      want: 'with space.vcf.gz',
    },
    {
      url: `${base}?response-content-disposition=${encodeURIComponent("attachment; filename*=UTF-8''%C3%A9.bam")}`,
      want: 'é.bam',
    },
    {
      url: `${base}?X-Amz-Signature=abc&response-content-disposition=attachment%3B%20filename%3Dx.bai&X-Amz-Expires=60`,
      want: 'x.bai',
    },
    {
      url: `${base}?response-content-disposition=${encodeURIComponent('attachment; filename=../../evil.txt')}`,
      want: 'evil.txt',
    },
    { url: `${base}?response-content-disposition=attachment`, want: 'stored-name.bin' },
    { url: 'https://example.com/r1.fastq.gz', want: 'r1.fastq.gz' },
    { url: 'https://example.com/a/b%20c.txt?x=1', want: 'b c.txt' },
    { url: 'https://example.com/', want: 'fallback' },
    { url: 'not a url', want: 'fallback' },
    { url: null, want: 'fallback' },
  ];
  for (const { url, want } of cases) {
    it(`gives ${want} for ${url}`, () => {
      expect(defaultFilename(url, 'fallback')).toBe(want);
    });
  }
});
