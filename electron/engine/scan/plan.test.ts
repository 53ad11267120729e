import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PlannedSample, UploadPlan } from '../../../shared/domain.ts';
import { copyData, makeTempDir } from '../../../test/helpers.ts';
import { ValidationError } from '../errors.ts';
import {
  applyPlanEdits,
  buildPlan,
  formatPlan,
  generateDestination,
  normaliseDestination,
} from './plan.ts';

let tmp = '';

beforeAll(() => {
  tmp = makeTempDir('scan-plan');
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh folder under the test's temporary folder. */
function freshDir(prefix: string): string {
  return fs.mkdtempSync(path.join(tmp, `${prefix}-`));
}

/** Copies shared data (a file or a folder) into a fresh folder. */
function copy(relative: string): string {
  return copyData(relative, freshDir('copy'));
}

const DEST = 'gncv://tests/batch';

function byId(plan: UploadPlan, clientId: string): PlannedSample {
  const sample = plan.samples.find((s) => s.clientId === clientId);
  if (sample === undefined) {
    throw new Error(
      `no sample ${clientId} in ${plan.samples.map((s) => s.clientId).join(', ')}`,
    );
  }
  return sample;
}

const names = (s: PlannedSample, read: 'r1' | 'r2'): string[] =>
  (s[read]?.files ?? []).map((f) => path.basename(f.path));

const codes = (s: PlannedSample): string[] =>
  s.problems.map((p) => p.code).sort();

const lanes = (s: PlannedSample, read: 'r1' | 'r2'): (number | null)[] =>
  (s[read]?.files ?? []).map((f) => f.lane);

describe('plan', () => {
  let dataRoot = '';
  beforeAll(() => {
    dataRoot = path.dirname(copy('naming'));
  });

  /** A fresh copy of one shared data file. */
  function dataFile(relative: string): string {
    const dir = freshDir('one');
    return copyData(relative, dir);
  }

  describe('buildPlan()', () => {
    describe('naming data set', () => {
      const expected: Record<
        string,
        { r1: string[]; r2: string[]; codes?: string[] }
      > = {
        SAMPLE1: { r1: ['SAMPLE1_R1.fastq.gz'], r2: ['SAMPLE1_R2.fastq.gz'] },
        SAMPLE2: {
          r1: ['SAMPLE2_LANE1_SEQUENCER1_R1.fastq.gz'],
          r2: ['SAMPLE2_LANE1_SEQUENCER1_R2.fastq.gz'],
        },
        SAMPLE3: {
          r1: ['SAMPLE3_R1_L001.fastq.gz'],
          r2: ['SAMPLE3_R2_L001.fastq.gz'],
        },
        SAMPLE4: { r1: ['SAMPLE4_R1.fq.gz'], r2: ['SAMPLE4_R2.fq.gz'] },
        Sample: {
          r1: ['Sample_S1_L001_R1_001.fastq.gz'],
          r2: ['Sample_S1_L001_R2_001.fastq.gz'],
        },
        SAMPLE5: { r1: ['SAMPLE5_R1.FASTQ.GZ'], r2: ['SAMPLE5_R2.FASTQ.GZ'] },
        sample6: { r1: ['sample6_r1.fastq.gz'], r2: ['sample6_r2.fastq.gz'] },
        SAMPLE7: { r1: ['SAMPLE7_R1.Fq.Gz'], r2: ['SAMPLE7_R2.Fq.Gz'] },
        SAMPLE8: { r1: ['SAMPLE8_1.fastq.gz'], r2: ['SAMPLE8_2.fastq.gz'] },
        'SAMPLE-9': {
          r1: ['SAMPLE 9_R1.fastq.gz'],
          r2: ['SAMPLE 9_R2.fastq.gz'],
        },
        'Échantillon-10': {
          r1: ['Échantillon-10_R1.fastq.gz'],
          r2: ['Échantillon-10_R2.fastq.gz'],
        },
        样本11: { r1: ['样本11_R1.fastq.gz'], r2: ['样本11_R2.fastq.gz'] },
        SAMPLE12: {
          r1: ['SAMPLE12_R1.fastq.gz'],
          r2: [],
          codes: ['missing-r2'],
        },
        SAMPLE13: {
          r1: [1, 2, 3, 4].map((l) => `SAMPLE13_S13_L00${l}_R1_001.fastq.gz`),
          r2: [1, 2, 3, 4].map((l) => `SAMPLE13_S13_L00${l}_R2_001.fastq.gz`),
        },
        SAMPLE14: {
          r1: [
            'SAMPLE14_S14_L001_R1_001.fastq.gz',
            'SAMPLE14_S14_L001_R1_002.fastq.gz',
          ],
          r2: [
            'SAMPLE14_S14_L001_R2_001.fastq.gz',
            'SAMPLE14_S14_L001_R2_002.fastq.gz',
          ],
        },
        SAMPLE15: {
          r1: ['SAMPLE15.R1.fastq.gz'],
          r2: ['SAMPLE15.R2.fastq.gz'],
        },
        SAMPLE16: {
          r1: ['SAMPLE16_R1.fastq.gz'],
          r2: ['SAMPLE16_R2.fastq.gz'],
        },
        SAMPLE17: {
          r1: ['SAMPLE17_R1.fastq.gz'],
          r2: ['SAMPLE17_R2.fastq.gz'],
        },
      };
      let plan: UploadPlan;
      beforeAll(async () => {
        plan = await buildPlan([path.join(dataRoot, 'naming')], {
          destination: DEST,
        });
      });

      it('finds exactly the expected samples', () => {
        expect(plan.samples.map((s) => s.clientId).sort()).toEqual(
          Object.keys(expected).sort(),
        );
      });

      for (const [clientId, want] of Object.entries(expected)) {
        it(`plans ${clientId} with its files in lane/chunk order`, () => {
          const sample = byId(plan, clientId);

          expect(names(sample, 'r1').map((n) => n.normalize('NFC'))).toEqual(
            want.r1,
          );
          expect(names(sample, 'r2').map((n) => n.normalize('NFC'))).toEqual(
            want.r2,
          );
          expect(codes(sample)).toEqual(want.codes ?? []);
          expect(sample.included).toBe(true);
          expect(sample.r1?.destination).toBe(
            `gncv://tests/batch/${clientId}_R1.fastq.gz`,
          );
          if (want.r2.length > 0) {
            expect(sample.r2?.destination).toBe(
              `gncv://tests/batch/${clientId}_R2.fastq.gz`,
            );
          }
          const size = (sample.r1?.files ?? []).reduce(
            (n, f) => n + fs.statSync(f.path).size,
            0,
          );
          expect(sample.r1?.size).toBe(size);
          expect(sample.derivation).toContain(sample.sourceName);
        });
      }

      it('says clearly that SAMPLE12 is R1 without R2 and keeps it', () => {
        const sample = byId(plan, 'SAMPLE12');

        expect(sample.problems[0]).toMatchObject({
          severity: 'warning',
          clientId: 'SAMPLE12',
        });
        expect(sample.problems[0].message).toMatch(/R1 without R2/);
      });

      it('leaves Undetermined out and says so', () => {
        expect(plan.ignored.map((i) => path.basename(i.path)).sort()).toEqual([
          'Undetermined_S0_L001_R1_001.fastq.gz',
          'Undetermined_S0_L001_R2_001.fastq.gz',
        ]);
        expect(plan.problems.map((p) => p.code)).toEqual(['undetermined']);
      });

      it('explains how each name became its client id', () => {
        expect(byId(plan, 'SAMPLE-9').derivation).toMatch(/spaces became '-'/i);
        expect(byId(plan, 'SAMPLE2').derivation).toMatch(
          /LANE1, SEQUENCER1 ignored, as the platform does/,
        );
        expect(byId(plan, 'SAMPLE2').r1?.files[0].rule).toMatch(
          /Gencove convention/,
        );
      });

      it('totals the included bytes', () => {
        const total = plan.samples.reduce(
          (n, s) => n + (s.r1?.size ?? 0) + (s.r2?.size ?? 0),
          0,
        );

        expect(plan.totalBytes).toBe(total);
        expect(plan.roots).toEqual([path.join(dataRoot, 'naming')]);
        expect(plan.destination).toBe('gncv://tests/batch/');
      });

      it('includes Undetermined when asked to', async () => {
        const withUndetermined = await buildPlan(
          [path.join(dataRoot, 'naming')],
          {
            destination: DEST,
            includeUndetermined: true,
            verifyContents: false,
          },
        );

        expect(names(byId(withUndetermined, 'Undetermined'), 'r1')).toEqual([
          'Undetermined_S0_L001_R1_001.fastq.gz',
        ]);
        expect(withUndetermined.ignored).toEqual([]);
      });
    });

    describe('run folders', () => {
      const runs: {
        name: string;
        samples: Record<string, number[]>;
        undetermined: number;
      }[] = [
        {
          name: '120110_M00119_0068_AMS0002022-00300',
          samples: {
            'Nextera2BP-kapa': [1],
            'Nextera2SP-kapa': [1],
            'Nextera2TW20-kapa': [1],
            'Nextera23D7-kapa': [1],
          },
          undetermined: 2,
        },
        {
          name: '180723_NB500892_0277_AHJYM2BGX7',
          samples: Object.fromEntries(
            [
              '1',
              '3',
              '4',
              '5',
              '6',
              '7',
              'CTR-1',
              'CTR-2',
              'CTR-3',
              'CTR-4',
              'CTR-5',
              'CTR-6',
            ].map((id) => [id, [1, 2, 3, 4]]),
          ),
          undetermined: 8,
        },
        {
          name: '210628_VH00567_1_AAAGLG7HV',
          samples: { PhiX: [1, 2] },
          undetermined: 4,
        },
        {
          name: '20200123_FS10000482_42_BPG80712-1010',
          samples: { '412': [1], LMD666: [1], TaoP3: [1], TaoP10: [1] },
          undetermined: 2,
        },
      ];
      for (const run of runs) {
        it(`plans ${run.name}: ${Object.keys(run.samples).length} samples, lanes in order, Undetermined left out`, async () => {
          const dir = copy(`runs/${run.name}`);

          const plan = await buildPlan([dir], { destination: DEST });

          expect(plan.samples.map((s) => s.clientId).sort()).toEqual(
            Object.keys(run.samples).sort(),
          );
          for (const [clientId, wantLanes] of Object.entries(run.samples)) {
            const sample = byId(plan, clientId);
            expect(lanes(sample, 'r1')).toEqual(wantLanes);
            expect(lanes(sample, 'r2')).toEqual(wantLanes);
            expect(sample.problems).toEqual([]);
            expect(sample.included).toBe(true);
            expect(sample.key).toBe(`${run.name}/${sample.sourceName}`);
            expect(sample.derivation).toMatch(
              /listed in SampleSheet\.csv line \d+ as Sample_ID/,
            );
            for (const f of sample.r1?.files ?? [])
              expect(f.path.startsWith(dir)).toBe(true);
          }
          expect(plan.ignored).toHaveLength(run.undetermined);
          expect(
            plan.ignored.every((i) =>
              path.basename(i.path).startsWith('Undetermined_'),
            ),
          ).toBe(true);
          expect(plan.problems.map((p) => p.code)).toEqual(['undetermined']);
        });
      }

      it('merges CTR_5 of the NextSeq run from four lanes into CTR-5', async () => {
        const dir = copy('runs/180723_NB500892_0277_AHJYM2BGX7');

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        const sample = byId(plan, 'CTR-5');
        expect(sample.sourceName).toBe('CTR_5');
        expect(names(sample, 'r1')).toEqual(
          [1, 2, 3, 4].map((l) => `CTR_5_S11_L00${l}_R1_001.fastq.gz`),
        );
        expect(sample.r2?.files.map((f) => f.relativePath)).toEqual(
          [1, 2, 3, 4].map(
            (l) =>
              `Data/Intensities/BaseCalls/B3910/CTR_5_S11_L00${l}_R2_001.fastq.gz`,
          ),
        );
        expect(sample.derivation).toMatch(/'_' became '-'/);
        expect(sample.derivation).toMatch(/NextSeq 500\/550/);
      });

      it('uploads Undetermined of a run when asked to, without sheet warnings', async () => {
        const dir = copy('runs/180723_NB500892_0277_AHJYM2BGX7');

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
          includeUndetermined: true,
        });

        const sample = byId(plan, 'Undetermined');
        expect(lanes(sample, 'r1')).toEqual([1, 2, 3, 4]);
        expect(sample.problems).toEqual([]);
        expect(plan.problems).toEqual([]);
      });

      it('reports sheet samples without files and files without a sheet sample', async () => {
        const dir = copy('runs/180723_NB500892_0277_AHJYM2BGX7');
        const project = path.join(dir, 'Data/Intensities/BaseCalls/B3910');
        for (const f of fs.readdirSync(project)) {
          if (f.startsWith('CTR_6_')) fs.rmSync(path.join(project, f));
        }
        for (const read of ['R1', 'R2']) {
          fs.copyFileSync(
            path.join(project, `1_S1_L001_${read}_001.fastq.gz`),
            path.join(project, `EXTRA_S13_L001_${read}_001.fastq.gz`),
          );
        }

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        const missing = plan.problems.find(
          (p) => p.code === 'sample-sheet-missing-files',
        );
        expect(missing).toMatchObject({
          severity: 'warning',
          clientId: 'CTR-6',
        });
        expect(missing?.message).toMatch(
          /CTR_6 is listed in SampleSheet\.csv \(line 33\)/,
        );
        const extra = byId(plan, 'EXTRA');
        expect(codes(extra)).toEqual(['sample-sheet-unknown-sample']);
        expect(extra.included).toBe(true);
      });
    });

    describe('corrupt data set', () => {
      let plan: UploadPlan;
      beforeAll(async () => {
        plan = await buildPlan([copy('corrupt')], { destination: DEST });
      });

      const expected: Record<string, string[]> = {
        BADCRC: ['bad-crc'],
        EMPTY: ['empty-file', 'empty-file'],
        EMPTYGZ: ['no-reads', 'no-reads'],
        MALFORMED: ['malformed-fastq'],
        MISMATCH: ['read-count-mismatch'],
        'NOTFASTQ-GZIPPED-CSV': ['missing-r2', 'not-fastq'],
        'NOTFASTQ-NOTGZIP-XML': ['missing-r2', 'not-gzip'],
        PLAINTEXT: ['not-gzip', 'not-gzip'],
        TRUNCATED: ['truncated-gzip'],
      };
      for (const [clientId, want] of Object.entries(expected)) {
        it(`keeps ${clientId} out with ${want.join(', ')}`, () => {
          const sample = byId(plan, clientId);

          expect(codes(sample)).toEqual(want);
          expect(sample.included).toBe(false);
        });
      }

      it('names the broken file in each content problem', () => {
        const problem = byId(plan, 'TRUNCATED').problems[0];

        expect(problem.path?.endsWith('TRUNCATED_R1.fastq.gz')).toBe(true);
        expect(problem.message).toMatch(
          /^TRUNCATED_R1\.fastq\.gz: truncated gzip/,
        );
      });

      it('ignores the in-progress and uncompressed files with their reasons', () => {
        expect(plan.ignored.map((i) => path.basename(i.path)).sort()).toEqual([
          'INPROGRESS_R1.fastq.gz.part',
          'UNCOMPRESSED_R1.fastq',
          'UNCOMPRESSED_R2.fastq',
        ]);
        expect(
          plan.ignored.find((i) => i.path.endsWith('UNCOMPRESSED_R1.fastq'))
            ?.reason,
        ).toMatch(/not compressed: gzip it first/);
        expect(plan.problems.map((p) => p.code)).toEqual([
          'ignored-extension',
          'ignored-extension',
          'ignored-extension',
        ]);
        expect(plan.totalBytes).toBe(0);
      });

      it('still flags 0-byte files when contents are not verified', async () => {
        const quick = await buildPlan([copy('corrupt')], {
          destination: DEST,
          verifyContents: false,
        });

        expect(codes(byId(quick, 'EMPTY'))).toEqual([
          'empty-file',
          'empty-file',
        ]);
        expect(codes(byId(quick, 'BADCRC'))).toEqual([]);
      });
    });

    describe('fastq data set', () => {
      let plan: UploadPlan;
      beforeAll(async () => {
        plan = await buildPlan([copy('fastq')], { destination: DEST });
      });

      const expected: Record<
        string,
        { r1: string; r2?: string; rule: RegExp; codes?: string[] }
      > = {
        reads: { r1: 'reads_1.fq.gz', r2: 'reads_2.fq.gz', rule: /SRA\/ENA/ },
        'ecoli-1K': {
          r1: 'ecoli_1K_1.fq.gz',
          r2: 'ecoli_1K_2.fq.gz',
          rule: /SRA\/ENA/,
        },
        'velvet-gaii': {
          r1: 'read1.fq.gz',
          r2: 'read2.fq.gz',
          rule: /pairing fallback.*folder \(velvet_gaii\).*share the name/,
        },
        Hm2: {
          r1: 'Hm2_GTGAAA_L005_R1_001.fastq.gz',
          r2: 'Hm2_GTGAAA_L005_R2_001.fastq.gz',
          rule: /CASAVA/,
        },
        'multiplex-bad-contam': {
          r1: 'multiplex_bad_contam_1.fq.gz',
          r2: 'multiplex_bad_contam_2.fq.gz',
          rule: /SRA\/ENA/,
        },
        'SRR059298-subset': {
          r1: 'SRR059298_subset.fastq.gz',
          rule: /single-end/,
          codes: ['no-read-token'],
        },
        'Illimina1.8': {
          r1: 'Illimina1.8.fq.gz',
          rule: /single-end/,
          codes: ['no-read-token'],
        },
      };
      for (const [clientId, want] of Object.entries(expected)) {
        it(`plans ${clientId} from ${want.r1}${want.r2 ? ` and ${want.r2}` : ' alone'}`, () => {
          const sample = byId(plan, clientId);

          expect(names(sample, 'r1')).toEqual([want.r1]);
          expect(names(sample, 'r2')).toEqual(
            want.r2 === undefined ? [] : [want.r2],
          );
          expect(sample.r1?.files[0].rule).toMatch(want.rule);
          expect(codes(sample)).toEqual(want.codes ?? []);
          expect(sample.included).toBe(true);
        });
      }

      it('finds nothing else', () => {
        expect(plan.samples.map((s) => s.clientId).sort()).toEqual(
          Object.keys(expected).sort(),
        );
        expect(plan.ignored).toEqual([]);
        expect(plan.problems).toEqual([]);
      });

      it('refuses to pair 1/2 names whose first reads differ', async () => {
        const dir = freshDir('mispair');
        fs.copyFileSync(
          copyFromShared('fastq/pairs/velvet_gaii/read1.fq.gz'),
          path.join(dir, 'read1.fq.gz'),
        );
        fs.copyFileSync(
          copyFromShared('fastq/pairs/seqkit_hiseq2500/reads_2.fq.gz'),
          path.join(dir, 'read2.fq.gz'),
        );

        const result = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        expect(result.samples).toEqual([]);
        expect(result.problems.map((p) => [p.code, p.severity])).toEqual([
          ['no-read-token', 'error'],
          ['no-read-token', 'error'],
        ]);
        expect(result.problems[0].message).toMatch(
          /first reads have different names/,
        );
      });
    });

    function copyFromShared(relative: string): string {
      return dataFile(relative);
    }

    describe('structure problems', () => {
      const naming = (name: string): string => copyFromShared(`naming/${name}`);

      it('refuses two files for the same sample, read and lane', async () => {
        const dir = freshDir('dup');
        for (const sub of ['a', 'b']) {
          fs.mkdirSync(path.join(dir, sub));
          for (const r of ['R1', 'R2']) {
            fs.copyFileSync(
              naming(`SAMPLE1_${r}.fastq.gz`),
              path.join(dir, sub, `SAMPLE1_${r}.fastq.gz`),
            );
          }
        }

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        const sample = byId(plan, 'SAMPLE1');
        expect(codes(sample)).toEqual(['duplicate-file', 'duplicate-file']);
        expect(sample.problems[0].message).toMatch(
          /b\/SAMPLE1_R1\.fastq\.gz and a\/SAMPLE1_R1\.fastq\.gz both hold R1/,
        );
        expect(sample.included).toBe(false);
      });

      it('refuses a merged file next to lane-split ones', async () => {
        const dir = freshDir('merged');
        for (const l of [1, 2]) {
          for (const r of ['R1', 'R2']) {
            fs.copyFileSync(
              naming(`SAMPLE13_S13_L00${l}_${r}_001.fastq.gz`),
              path.join(dir, `SAMPLE13_S13_L00${l}_${r}_001.fastq.gz`),
            );
          }
        }
        fs.copyFileSync(
          naming('SAMPLE1_R1.fastq.gz'),
          path.join(dir, 'SAMPLE13_R1.fastq.gz'),
        );

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        const sample = byId(plan, 'SAMPLE13');
        expect(codes(sample)).toContain('duplicate-file');
        expect(
          sample.problems.find((p) => p.code === 'duplicate-file')?.message,
        ).toMatch(/SAMPLE13_R1\.fastq\.gz has no lane or chunk/);
      });

      it('refuses R1 and R2 with different lanes', async () => {
        const dir = freshDir('lanes');
        for (const l of [1, 2, 3, 4]) {
          fs.copyFileSync(
            naming(`SAMPLE13_S13_L00${l}_R1_001.fastq.gz`),
            path.join(dir, `SAMPLE13_S13_L00${l}_R1_001.fastq.gz`),
          );
          if (l < 4) {
            fs.copyFileSync(
              naming(`SAMPLE13_S13_L00${l}_R2_001.fastq.gz`),
              path.join(dir, `SAMPLE13_S13_L00${l}_R2_001.fastq.gz`),
            );
          }
        }

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        const sample = byId(plan, 'SAMPLE13');
        expect(sample.problems).toEqual([
          expect.objectContaining({ code: 'missing-r2', severity: 'error' }),
        ]);
        expect(sample.problems[0].message).toMatch(
          /R1 lane 4 chunk 1.*no R2 file for lane 4 chunk 1/,
        );
      });

      it('refuses R2 without R1', async () => {
        const dir = freshDir('r2only');
        fs.copyFileSync(
          naming('SAMPLE1_R2.fastq.gz'),
          path.join(dir, 'SAMPLE1_R2.fastq.gz'),
        );

        const plan = await buildPlan([dir], { destination: DEST });

        expect(byId(plan, 'SAMPLE1').problems).toEqual([
          expect.objectContaining({
            code: 'missing-r1',
            severity: 'error',
            message: expect.stringMatching(/R2 without R1/),
          }),
        ]);
      });

      it('makes client ids unique and says so', async () => {
        const dir = freshDir('collide');
        for (const r of ['R1', 'R2']) {
          fs.copyFileSync(
            naming(`SAMPLE1_${r}.fastq.gz`),
            path.join(dir, `A_B_S1_L001_${r}_001.fastq.gz`),
          );
          fs.copyFileSync(
            naming(`SAMPLE4_${r}.fq.gz`),
            path.join(dir, `A-B_${r}.fastq.gz`),
          );
          fs.copyFileSync(
            naming(`SAMPLE5_${r}.FASTQ.GZ`),
            path.join(dir, `sample6_${r}.fastq.gz`),
          );
          fs.copyFileSync(
            naming(`sample6_${r.toLowerCase()}.fastq.gz`),
            path.join(dir, `SAMPLE6_${r}.fastq.gz`),
          );
        }

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        expect(plan.samples.map((s) => [s.key, s.clientId])).toEqual([
          ['A_B', 'A-B-2'],
          ['A-B', 'A-B'],
          ['sample6', 'sample6'],
          ['SAMPLE6', 'SAMPLE6-2'],
        ]);
        const changed = byId(plan, 'A-B-2').problems;
        expect(changed).toEqual([
          expect.objectContaining({
            code: 'client-id-changed',
            severity: 'warning',
          }),
        ]);
        expect(changed[0].message).toMatch(
          /A-B is already the client id of sample A-B/,
        );
        expect(byId(plan, 'A-B-2').r1?.destination).toBe(
          'gncv://tests/batch/A-B-2_R1.fastq.gz',
        );
      });

      it('uses the whole prefix when the first token is shared by different samples', async () => {
        const dir = freshDir('prefix');
        for (const r of ['R1', 'R2']) {
          fs.copyFileSync(
            naming(`SAMPLE1_${r}.fastq.gz`),
            path.join(dir, `CTR_5_${r}.fastq.gz`),
          );
          fs.copyFileSync(
            naming(`SAMPLE4_${r}.fq.gz`),
            path.join(dir, `CTR_6_${r}.fastq.gz`),
          );
        }

        const plan = await buildPlan([dir], {
          destination: DEST,
          verifyContents: false,
        });

        expect(plan.samples.map((s) => s.clientId)).toEqual(['CTR-5', 'CTR-6']);
        expect(byId(plan, 'CTR-5').r1?.files[0].rule).toMatch(
          /whole prefix CTR_5 names the sample/,
        );
        expect(plan.samples.every((s) => s.problems.length === 0)).toBe(true);
      });
    });

    describe('walking', () => {
      it('skips hidden folders and files, does not follow folder links, uses file links', async () => {
        const dir = freshDir('walk');
        const data = path.join(dir, 'data');
        fs.mkdirSync(path.join(data, '.hidden'), { recursive: true });
        fs.copyFileSync(
          copyFromShared('naming/SAMPLE1_R1.fastq.gz'),
          path.join(data, '.hidden', 'H_R1.fastq.gz'),
        );
        fs.writeFileSync(
          path.join(data, '._SAMPLE1_R1.fastq.gz'),
          'resource fork',
        );
        fs.copyFileSync(
          copyFromShared('naming/SAMPLE12_R1.fastq.gz'),
          path.join(dir, 'target_R1.fastq.gz'),
        );
        fs.symlinkSync(
          path.join(dir, 'target_R1.fastq.gz'),
          path.join(data, 'LINKED_R1.fastq.gz'),
        );
        const other = path.join(dir, 'other');
        fs.mkdirSync(other);
        fs.copyFileSync(
          copyFromShared('naming/SAMPLE4_R1.fq.gz'),
          path.join(other, 'O_R1.fastq.gz'),
        );
        fs.symlinkSync(other, path.join(data, 'linked-folder'));
        fs.writeFileSync(path.join(data, 'notes.txt'), 'not data');

        const plan = await buildPlan([data], { destination: DEST });

        expect(plan.samples.map((s) => s.clientId)).toEqual(['LINKED']);
        expect(byId(plan, 'LINKED').r1?.size).toBe(
          fs.statSync(path.join(dir, 'target_R1.fastq.gz')).size,
        );
        expect(
          plan.ignored.map((i) => [path.basename(i.path), i.reason]),
        ).toEqual([
          ['._SAMPLE1_R1.fastq.gz', expect.stringMatching(/hidden file/)],
          ['linked-folder', expect.stringMatching(/symbolic link to a folder/)],
        ]);
      });

      it('uses a file reached through two paths once', async () => {
        const dir = copy('naming');

        const plan = await buildPlan(
          [dir, path.join(dir, 'SAMPLE1_R1.fastq.gz')],
          {
            destination: DEST,
            verifyContents: false,
          },
        );

        expect(codes(byId(plan, 'SAMPLE1'))).toEqual([]);
        expect(plan.roots).toHaveLength(2);
      });

      it('reports a missing path and an empty folder', async () => {
        const empty = freshDir('empty');
        const missing = path.join(empty, 'nope');

        const plan = await buildPlan([missing, empty], { destination: DEST });

        expect(plan.problems.map((p) => p.code)).toEqual([
          'unreadable',
          'no-fastq',
        ]);
        expect(plan.problems[0].message).toMatch(/ENOENT/);
        expect(plan.samples).toEqual([]);
      });

      it('lists a dropped file that is not FASTQ', async () => {
        const dir = freshDir('drop');
        fs.writeFileSync(path.join(dir, 'report.pdf'), 'x');

        const plan = await buildPlan([path.join(dir, 'report.pdf')], {
          destination: DEST,
        });

        expect(plan.ignored).toEqual([
          { path: path.join(dir, 'report.pdf'), reason: 'not a FASTQ file' },
        ]);
      });

      it('reports progress up to the number of files seen and checked', async () => {
        const dir = copy('naming');
        const seen: { filesSeen: number; filesChecked: number }[] = [];

        const plan = await buildPlan([dir], {
          destination: DEST,
          onProgress: (p) => seen.push(p),
        });

        const last = seen[seen.length - 1];
        const planned = plan.samples.reduce(
          (n, s) => n + (s.r1?.files.length ?? 0) + (s.r2?.files.length ?? 0),
          0,
        );
        expect(last).toEqual({
          filesSeen: fs.readdirSync(dir).length,
          filesChecked: planned,
        });
      });

      it('rejects with the abort reason when aborted', async () => {
        const dir = copy('fastq');
        const controller = new AbortController();
        const reason = new Error('stop');

        const pending = buildPlan([dir], {
          destination: DEST,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.filesChecked === 1) controller.abort(reason);
          },
        });

        await expect(pending).rejects.toBe(reason);
      });
    });

    describe('destination', () => {
      it('throws a ValidationError for a destination without gncv://', async () => {
        await expect(
          buildPlan([tmp], { destination: 's3://bucket/x' }),
        ).rejects.toBeInstanceOf(ValidationError);
        await expect(
          buildPlan([tmp], { destination: 's3://bucket/x' }),
        ).rejects.toThrow(/must start with gncv:\/\//);
      });

      it('generates a default destination', async () => {
        const plan = await buildPlan([freshDir('gen')], {
          now: new Date('2025-01-02T03:04:05Z'),
        });

        expect(plan.destination).toMatch(
          /^gncv:\/\/gencove-desktop-20250102030405-[0-9a-f]{8}\/$/,
        );
        expect(generateDestination()).not.toBe(generateDestination());
      });
    });
  });

  describe('normaliseDestination()', () => {
    const cases: [string, string | RegExp][] = [
      ['gncv://a', 'gncv://a/'],
      ['gncv://a/b///', 'gncv://a/b/'],
      [' gncv://proj/batch/ ', 'gncv://proj/batch/'],
      ['gncv://', /needs a folder name/],
      ['gncv:///x', /needs a folder name/],
      ['GNCV://a', /must start with gncv/],
      ['proj/batch', /must start with gncv/],
    ];
    for (const [input, want] of cases) {
      it(`${typeof want === 'string' ? 'normalises' : 'refuses'} ${JSON.stringify(input)}`, () => {
        if (typeof want === 'string')
          expect(normaliseDestination(input)).toBe(want);
        else expect(() => normaliseDestination(input)).toThrow(want);
      });
    }
  });

  describe('applyPlanEdits()', () => {
    let plan: UploadPlan;
    beforeAll(async () => {
      plan = await buildPlan([copy('naming')], {
        destination: DEST,
        verifyContents: false,
      });
    });

    it('renames a sample and moves its objects', () => {
      const edited = applyPlanEdits(plan, {
        renames: { SAMPLE1: 'patient-001' },
      });

      const sample = byId(edited, 'patient-001');
      expect(sample.key).toBe('SAMPLE1');
      expect(sample.r1?.destination).toBe(
        'gncv://tests/batch/patient-001_R1.fastq.gz',
      );
      expect(sample.r2?.destination).toBe(
        'gncv://tests/batch/patient-001_R2.fastq.gz',
      );
      expect(sample.derivation).toMatch(
        /Renamed by the user to patient-001\.$/,
      );
      expect(sample.included).toBe(true);
      expect(byId(plan, 'SAMPLE1').r1?.destination).toBe(
        'gncv://tests/batch/SAMPLE1_R1.fastq.gz',
      );
    });

    it('refuses an id with an underscore until it is fixed', () => {
      const bad = applyPlanEdits(plan, { renames: { SAMPLE1: 'patient_001' } });
      const fixed = applyPlanEdits(bad, {
        renames: { SAMPLE1: 'patient-001' },
      });

      const refused = bad.samples.find(
        (s) => s.key === 'SAMPLE1',
      ) as PlannedSample;
      expect(refused.problems).toEqual([
        expect.objectContaining({
          code: 'client-id-changed',
          severity: 'error',
          message: expect.stringMatching(/contains '_'/),
        }),
      ]);
      expect(refused.included).toBe(false);
      expect(bad.totalBytes).toBe(
        plan.totalBytes -
          (byId(plan, 'SAMPLE1').r1?.size ?? 0) -
          (byId(plan, 'SAMPLE1').r2?.size ?? 0),
      );
      expect(byId(fixed, 'patient-001').problems).toEqual([]);
      expect(byId(fixed, 'patient-001').included).toBe(true);
      expect(
        byId(fixed, 'patient-001').derivation.match(/Renamed by the user/g),
      ).toHaveLength(1);
      expect(fixed.totalBytes).toBe(plan.totalBytes);
    });

    it('refuses two samples with the same id', () => {
      const edited = applyPlanEdits(plan, { renames: { SAMPLE1: 'sample4' } });

      for (const key of ['SAMPLE1', 'SAMPLE4']) {
        const sample = edited.samples.find(
          (s) => s.key === key,
        ) as PlannedSample;
        expect(codes(sample)).toEqual(['client-id-changed']);
        expect(sample.included).toBe(false);
      }
    });

    it('leaves samples out and keeps them out', () => {
      const out = applyPlanEdits(plan, { excluded: ['SAMPLE1', 'SAMPLE4'] });
      const later = applyPlanEdits(out, { renames: { SAMPLE5: 'five' } });
      const back = applyPlanEdits(later, { excluded: [] });

      expect(out.samples.filter((s) => !s.included).map((s) => s.key)).toEqual([
        'SAMPLE1',
        'SAMPLE4',
      ]);
      expect(
        later.samples.filter((s) => !s.included).map((s) => s.key),
      ).toEqual(['SAMPLE1', 'SAMPLE4']);
      expect(back.samples.every((s) => s.included)).toBe(true);
      expect(out.totalBytes).toBeLessThan(plan.totalBytes);
      expect(back.totalBytes).toBe(plan.totalBytes);
    });

    it('changes the destination of every object', () => {
      const edited = applyPlanEdits(plan, { destination: 'gncv://other//' });

      expect(edited.destination).toBe('gncv://other/');
      expect(
        edited.samples.every((s) =>
          s.r1?.destination.startsWith('gncv://other/'),
        ),
      ).toBe(true);
    });

    it('throws for an unknown key or a bad destination', () => {
      expect(() => applyPlanEdits(plan, { renames: { nope: 'x' } })).toThrow(
        /No sample with key "nope"/,
      );
      expect(() => applyPlanEdits(plan, { excluded: ['nope'] })).toThrow(
        ValidationError,
      );
      expect(() => applyPlanEdits(plan, { destination: 'batch' })).toThrow(
        /must start with gncv/,
      );
    });
  });

  describe('formatPlan()', () => {
    it('shows samples, merged lanes, destinations, problems and ignored files', async () => {
      const naming = await buildPlan([copy('naming')], {
        destination: DEST,
        verifyContents: false,
      });
      const corrupt = await buildPlan([copy('corrupt')], { destination: DEST });

      const text = formatPlan(naming);
      const bad = formatPlan(corrupt);

      for (const s of naming.samples) expect(text).toContain(s.clientId);
      expect(text).toContain('Destination: gncv://tests/batch/');
      expect(text).toMatch(
        /R1 -> gncv:\/\/tests\/batch\/SAMPLE13_R1\.fastq\.gz .*4 files \(lanes 1, 2, 3, 4\) concatenated/,
      );
      expect(text).toMatch(/warning missing-r2: R1 without R2/);
      expect(text).toMatch(/Ignored files \(2\):/);
      expect(bad).toMatch(/\[ \] \(not uploaded: see errors\) TRUNCATED/);
      expect(bad).toMatch(/error truncated-gzip: TRUNCATED_R1\.fastq\.gz/);
      expect(bad).toMatch(
        /UNCOMPRESSED_R1\.fastq: not compressed: gzip it first/,
      );
    });
  });
});
