/** Which plans of watched runs go ahead by themselves, on real run folders. */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildPlan } from '../scan/plan.ts';
import { reviewPlan } from './planReview.ts';
import {
  RUNS,
  copyRun,
  copyShared,
  makeTempDir,
  removeDir,
} from './testing.ts';

let work: string;

beforeAll(async () => {
  work = await makeTempDir('review');
});

afterAll(async () => {
  await removeDir(work);
});

const plan = (dir: string) => buildPlan([dir], { destination: 'gncv://p/r/' });

describe('planReview', () => {
  describe('reviewPlan()', () => {
    it('accepts a clean run (Undetermined left out is only a note)', async () => {
      const dir = copyRun(RUNS.iseq, work, 'clean');

      const review = reviewPlan(await plan(dir), false);

      expect(review.isAccepted).toBe(true);
      expect(review.blocking).toEqual([]);
      expect(review.problems.map((p) => p.code)).toEqual(['undetermined']);
      expect(review.summary).toMatchObject({
        destination: 'gncv://p/r/',
        includedSamples: 4,
        totalSamples: 4,
      });
    });

    it('holds a run whose sample sheet lists a sample without files', async () => {
      const dir = copyRun(RUNS.iseq, work, 'missing-sample');
      for (const read of ['R1', 'R2']) {
        fs.rmSync(
          path.join(
            dir,
            `Alignment_1/20200124_110517/Fastq/TaoP3_S3_L001_${read}_001.fastq.gz`,
          ),
        );
      }

      const review = reviewPlan(await plan(dir), false);

      expect(review.isAccepted).toBe(false);
      expect(review.blocking.map((p) => p.code)).toEqual([
        'sample-sheet-missing-files',
      ]);
      expect(review.reason).toMatch(
        /^Held: Run 20200123_FS10000482_42_BPG80712-1010: sample TaoP3 is listed/,
      );
    });

    it('holds a run with files of a sample the sheet does not list', async () => {
      const dir = copyRun(RUNS.iseq, work, 'unknown-sample');
      const fastq = path.join(dir, 'Alignment_1/20200124_110517/Fastq');
      copyShared(
        'naming/SAMPLE1_R1.fastq.gz',
        path.join(fastq, 'Stray_S9_L001_R1_001.fastq.gz'),
      );
      copyShared(
        'naming/SAMPLE1_R2.fastq.gz',
        path.join(fastq, 'Stray_S9_L001_R2_001.fastq.gz'),
      );

      const review = reviewPlan(await plan(dir), false);

      expect(review.isAccepted).toBe(false);
      expect(review.blocking.map((p) => p.code)).toEqual([
        'sample-sheet-unknown-sample',
      ]);
    });

    it('holds a run with a corrupt FASTQ, and with force uploads the other samples', async () => {
      const dir = copyRun(RUNS.iseq, work, 'corrupt');
      copyShared(
        'corrupt/BADCRC_R1.fastq.gz',
        path.join(
          dir,
          'Alignment_1/20200124_110517/Fastq/412_S1_L001_R1_001.fastq.gz',
        ),
      );
      const planned = await plan(dir);

      const held = reviewPlan(planned, false);
      const forced = reviewPlan(planned, true);

      expect(held.isAccepted).toBe(false);
      expect(held.blocking.map((p) => p.code)).toContain('bad-crc');
      expect(forced.isAccepted).toBe(true);
      expect(forced.summary.includedSamples).toBe(3);
    });

    it('never accepts a plan with nothing to upload, even forced', async () => {
      const dir = copyRun(RUNS.miseq, work, 'no-fastq');
      fs.rmSync(path.join(dir, 'Data'), { recursive: true });

      const review = reviewPlan(await plan(dir), true);

      expect(review.isAccepted).toBe(false);
      expect(review.reason).toMatch(/^Nothing to upload/);
    });
  });
});
