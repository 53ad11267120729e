import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inspectFastq, runSampleQc, QC_METRIC_TYPES } from './qc.ts';
import { dataDir, makeTempDir } from './testing/harness.ts';

/**
 * A deliberately simple reference: whole-file gunzip, split into lines,
 * count. It shares no code with the streaming inspector.
 */
function reference(file: string): {
  reads: number;
  bases: number;
  minLength: number;
  maxLength: number;
  gc: number;
  acgt: number;
  minQualityChar: number;
  qualitySum33: number;
} {
  const lines = gunzipSync(fs.readFileSync(file))
    .toString('latin1')
    .split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  let bases = 0;
  let gc = 0;
  let acgt = 0;
  let minLength = Infinity;
  let maxLength = 0;
  let minQualityChar = 255;
  let qualitySum33 = 0;
  for (let i = 0; i + 3 < lines.length; i += 4) {
    const seq = lines[i + 1].replace(/\r$/, '');
    const qual = lines[i + 3].replace(/\r$/, '');
    bases += seq.length;
    minLength = Math.min(minLength, seq.length);
    maxLength = Math.max(maxLength, seq.length);
    for (const c of seq.toUpperCase()) {
      if (c === 'G' || c === 'C') {
        gc += 1;
      }
      if ('ACGT'.includes(c)) {
        acgt += 1;
      }
    }
    for (let j = 0; j < qual.length; j += 1) {
      const code = qual.charCodeAt(j);
      minQualityChar = Math.min(minQualityChar, code);
      qualitySum33 += code - 33;
    }
  }
  return {
    reads: Math.floor(lines.length / 4),
    bases,
    minLength,
    maxLength,
    gc,
    acgt,
    minQualityChar,
    qualitySum33,
  };
}

let work: string;
const naming = (name: string): string => path.join(work, 'naming', name);
const corrupt = (name: string): string => path.join(work, 'corrupt', name);

beforeAll(() => {
  work = makeTempDir('qc');
  for (const folder of ['naming', 'corrupt']) {
    fs.cpSync(path.join(dataDir, folder), path.join(work, folder), {
      recursive: true,
    });
  }
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('qc', () => {
  describe('inspectFastq()', () => {
    // Every file of the naming set is valid gzipped FASTQ (data README).
    const validNames = fs.readdirSync(path.join(dataDir, 'naming')).sort();

    for (const name of validNames) {
      it(`measures naming/${name} like a whole-file reference does`, async () => {
        const file = naming(name);
        const expected = reference(file);

        const report = await inspectFastq(file);

        expect(report.problem).toBeNull();
        expect(report.stats.reads).toBe(expected.reads);
        expect(report.stats.bases).toBe(expected.bases);
        expect(report.stats.minLength).toBe(expected.minLength);
        expect(report.stats.maxLength).toBe(expected.maxLength);
        expect(report.stats.gcBases).toBe(expected.gc);
        expect(report.stats.acgtBases).toBe(expected.acgt);
        expect(report.stats.fileBytes).toBe(fs.statSync(file).size);
        expect(report.stats.sha256).toBe(
          createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
        );
        const offset = report.stats.encoding === 'phred+64' ? 64 : 33;
        const expectedMean =
          (expected.qualitySum33 - (offset - 33) * expected.bases) /
          expected.bases;
        expect(report.stats.meanQuality).toBeCloseTo(expectedMean, 9);
      });
    }

    it('detects Phred+64 in the velvet-derived files and Phred+33 in the others', async () => {
      // Data README: SAMPLE12..SAMPLE17 and Undetermined come from velvet
      // (+64).
      const velvet = validNames.filter((n) =>
        /^(SAMPLE1[2-7]|Undetermined)/.test(n),
      );
      const others = validNames.filter((n) => !velvet.includes(n));

      const velvetEncodings = await Promise.all(
        velvet.map(async (n) => (await inspectFastq(naming(n))).stats.encoding),
      );
      const otherEncodings = await Promise.all(
        others.map(async (n) => (await inspectFastq(naming(n))).stats.encoding),
      );

      expect(velvet.length).toBeGreaterThan(5);
      expect(new Set(velvetEncodings)).toEqual(new Set(['phred+64']));
      expect(new Set(otherEncodings)).toEqual(new Set(['phred+33']));
    });

    it('reads every member of a multi-member gzip (SAMPLE16), not just the first', async () => {
      const file = naming('SAMPLE16_R1.fastq.gz');
      const bytes = fs.readFileSync(file);
      // The first member ends where a prefix of the file gunzips cleanly.
      let firstMember: Buffer | null = null;
      for (
        let at = bytes.indexOf('\x1f\x8b\x08', 10, 'latin1');
        at !== -1;
        at = bytes.indexOf('\x1f\x8b\x08', at + 1, 'latin1')
      ) {
        try {
          firstMember = gunzipSync(bytes.subarray(0, at));
          break;
        } catch {
          // Not a member boundary: the signature bytes occurred inside data.
        }
      }
      const firstMemberReads = firstMember
        ? firstMember.toString('latin1').split('\n').length / 4
        : 0;

      const report = await inspectFastq(file);

      expect(report.problem).toBeNull();
      expect(firstMember).not.toBeNull();
      expect(Math.floor(firstMemberReads)).toBeLessThan(report.stats.reads);
      expect(report.stats.reads).toBe(reference(file).reads);
      expect(report.stats.bgzf).toBe(false);
    });

    it('recognises BGZF (SAMPLE17) and reads all of its blocks', async () => {
      const file = naming('SAMPLE17_R2.fastq.gz');

      const report = await inspectFastq(file);

      expect(report.problem).toBeNull();
      expect(report.stats.bgzf).toBe(true);
      expect(report.stats.reads).toBe(reference(file).reads);
    });

    const corruptCases: [string, string, string, RegExp][] = [
      ['EMPTY_R1.fastq.gz', 'gzip', 'empty-file', /empty file/],
      ['EMPTYGZ_R1.fastq.gz', 'reads', 'no-reads', /no reads/],
      ['TRUNCATED_R1.fastq.gz', 'gzip', 'truncated-gzip', /truncated/],
      ['INPROGRESS_R1.fastq.gz.part', 'gzip', 'truncated-gzip', /truncated/],
      ['BADCRC_R1.fastq.gz', 'gzip', 'bad-crc', /CRC/],
      [
        'MALFORMED_R1.fastq.gz',
        'format',
        'malformed-fastq',
        /record 499 .*quality/,
      ],
      ['UNCOMPRESSED_R1.fastq', 'gzip', 'not-gzip', /uncompressed FASTQ/],
      ['PLAINTEXT_R1.fastq.gz', 'gzip', 'not-gzip', /uncompressed FASTQ/],
      ['NOTFASTQ_GZIPPED_CSV_R1.fastq.gz', 'format', 'not-fastq', /not FASTQ/],
      [
        'NOTFASTQ_NOTGZIP_XML_R1.fastq.gz',
        'gzip',
        'not-gzip',
        /not a gzip file/,
      ],
    ];

    for (const [name, check, code, message] of corruptCases) {
      it(`reports corrupt/${name} as ${check}/${code}`, async () => {
        const report = await inspectFastq(corrupt(name));

        expect(report.problem).toMatchObject({ check, code });
        expect(report.problem?.message).toMatch(message);
      });
    }

    it('names other compressors and refuses content without line breaks', async () => {
      const bzip = path.join(work, 'x_R1.fastq.gz');
      fs.writeFileSync(
        bzip,
        Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64, 7)]),
      );
      const blob = path.join(work, 'blob_R1.fastq.gz');
      fs.writeFileSync(blob, gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x41)));

      const bzipReport = await inspectFastq(bzip);
      const blobReport = await inspectFastq(blob);

      expect(bzipReport.problem).toMatchObject({ code: 'not-gzip' });
      expect(bzipReport.problem?.message).toMatch(/bzip2/);
      expect(blobReport.problem).toMatchObject({
        check: 'format',
        code: 'malformed-fastq',
      });
      expect(blobReport.problem?.message).toMatch(/longer than/);
    });

    it('reports a missing file as unreadable instead of throwing', async () => {
      const report = await inspectFastq(
        path.join(work, 'does-not-exist.fastq.gz'),
      );

      expect(report.problem).toMatchObject({
        check: 'gzip',
        code: 'unreadable',
      });
      expect(report.stats.sha256).toBe('');
    });

    it('rejects when its signal is aborted', async () => {
      const controller = new AbortController();
      controller.abort();

      await expect(
        inspectFastq(naming('SAMPLE1_R1.fastq.gz'), {
          signal: controller.signal,
        }),
      ).rejects.toThrow();
    });
  });

  describe('runSampleQc()', () => {
    const keys = QC_METRIC_TYPES.map((t) => t.key);

    it('passes a valid pair and reports every metric with pooled values', async () => {
      const r1 = naming('SAMPLE1_R1.fastq.gz');
      const r2 = naming('SAMPLE1_R2.fastq.gz');
      const a = reference(r1);
      const b = reference(r2);

      const result = await runSampleQc({ r1, r2 });

      expect(result.passed).toBe(true);
      expect(result.failedChecks).toEqual([]);
      expect(result.metrics.map((m) => m.quality_control_type.key)).toEqual(
        keys,
      );
      const byKey = Object.fromEntries(
        result.metrics.map((m) => [
          m.quality_control_type.key,
          m.quality_control,
        ]),
      );
      expect(byKey.reads.value_measured).toBe(a.reads + b.reads);
      expect(byKey.bases.value_measured).toBe(a.bases + b.bases);
      expect(byKey.paired_read_counts).toMatchObject({
        status: 'succeeded',
        value_measured: 0,
      });
      expect(byKey.gc_content.value_measured).toBeCloseTo(
        (a.gc + b.gc) / (a.acgt + b.acgt),
        4,
      );
      expect(byKey.read_length_min.value_measured).toBe(
        Math.min(a.minLength, b.minLength),
      );
      expect(byKey.read_length_max.value_measured).toBe(
        Math.max(a.maxLength, b.maxLength),
      );
      expect(byKey.quality_encoding.value_string).toBe('phred+33');
      for (const m of result.metrics) {
        expect(m.quality_control.status, m.quality_control_type.key).toBe(
          'succeeded',
        );
      }
    });

    it('skips the pair check for a single-end sample and still passes', async () => {
      const result = await runSampleQc({ r1: naming('SAMPLE12_R1.fastq.gz') });

      expect(result.passed).toBe(true);
      const pair = result.metrics.find(
        (m) => m.quality_control_type.key === 'paired_read_counts',
      );
      expect(pair?.quality_control.status).toBe('skipped');
    });

    const failingPairs: [string, string | null, string][] = [
      ['TRUNCATED_R1.fastq.gz', 'TRUNCATED_R2.fastq.gz', 'gzip'],
      ['BADCRC_R1.fastq.gz', 'BADCRC_R2.fastq.gz', 'gzip'],
      ['EMPTY_R1.fastq.gz', 'EMPTY_R2.fastq.gz', 'gzip'],
      ['PLAINTEXT_R1.fastq.gz', 'PLAINTEXT_R2.fastq.gz', 'gzip'],
      ['MALFORMED_R1.fastq.gz', 'MALFORMED_R2.fastq.gz', 'format'],
      ['NOTFASTQ_GZIPPED_CSV_R1.fastq.gz', null, 'format'],
      ['EMPTYGZ_R1.fastq.gz', 'EMPTYGZ_R2.fastq.gz', 'reads'],
      ['MISMATCH_R1.fastq.gz', 'MISMATCH_R2.fastq.gz', 'paired_read_counts'],
    ];

    for (const [r1, r2, check] of failingPairs) {
      it(`fails ${r1}${r2 ? ` + ${r2}` : ''} on the ${check} check`, async () => {
        const result = await runSampleQc({
          r1: corrupt(r1),
          r2: r2 ? corrupt(r2) : null,
        });

        expect(result.passed).toBe(false);
        expect(result.failedChecks).toEqual([check]);
        const failed = result.metrics.find(
          (m) => m.quality_control_type.key === check,
        );
        expect(failed?.quality_control.status).toBe('failed');
        expect(failed?.quality_control.value_string).toMatch(/R1|R2/);
        expect(failed?.quality_control_type.name.length).toBeGreaterThan(0);
      });
    }

    it('names both read counts when R1 and R2 disagree', async () => {
      const r1 = corrupt('MISMATCH_R1.fastq.gz');
      const r2 = corrupt('MISMATCH_R2.fastq.gz');

      const result = await runSampleQc({ r1, r2 });

      const pair = result.metrics.find(
        (m) => m.quality_control_type.key === 'paired_read_counts',
      );
      expect(pair?.quality_control.value_string).toBe(
        `R1 ${reference(r1).reads} reads, R2 ${reference(r2).reads} reads`,
      );
      expect(pair?.quality_control.value_measured).toBe(
        Math.abs(reference(r1).reads - reference(r2).reads),
      );
    });
  });
});
