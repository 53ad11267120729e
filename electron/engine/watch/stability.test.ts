/**
 * The stability rule (pure numbers, table-driven) and the listing of a run's
 * FASTQs (real run folders copied to a temp folder).
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeRunFolder } from '../scan/runFolder.ts';
import {
  FileStabilityTracker,
  isCopyInProgress,
  listRunFastqs,
} from './stability.ts';
import type { FileObservation } from './stability.ts';
import { RUNS, copyRun, makeTempDir, removeDir } from './testing.ts';

const SETTLE = { settleMs: 10_000, minGapMs: 1_000 };
const T0 = 1_000_000;

/** Observations of one file: [time of the look, size, mtime]. */
type Look = [at: number, size: number, mtimeMs: number];

function settledAfter(looks: Look[]): boolean[] {
  const tracker = new FileStabilityTracker();
  return looks.map(([at, size, mtimeMs]) => {
    const file: FileObservation = { path: 'a.fastq.gz', size, mtimeMs };
    return tracker.observe([file], at, SETTLE).settled.length === 1;
  });
}

let work: string;

beforeAll(async () => {
  work = await makeTempDir('stability');
});

afterAll(async () => {
  await removeDir(work);
});

describe('stability', () => {
  describe('FileStabilityTracker.observe()', () => {
    const cases: { name: string; looks: Look[]; expected: boolean[] }[] = [
      // Normal.
      {
        name: 'an old file is settled at the second look',
        looks: [
          [T0, 5, T0 - 60_000],
          [T0 + 1_000, 5, T0 - 60_000],
        ],
        expected: [false, true],
      },
      {
        name: 'a single look never settles',
        looks: [[T0, 5, T0 - 60_000]],
        expected: [false],
      },
      {
        name: 'a second look too soon does not settle',
        looks: [
          [T0, 5, T0 - 60_000],
          [T0 + 500, 5, T0 - 60_000],
        ],
        expected: [false, false],
      },
      {
        name: 'a fresh file settles a settle time after its mtime',
        looks: [
          [T0, 5, T0 - 100],
          [T0 + 5_000, 5, T0 - 100],
          [T0 + 9_900, 5, T0 - 100],
          [T0 + 10_000, 5, T0 - 100],
        ],
        expected: [false, false, true, true],
      },
      // Still being written.
      {
        name: 'a growing file restarts its quiet time',
        looks: [
          [T0, 5, T0 - 60_000],
          [T0 + 5_000, 9, T0 + 4_000],
          [T0 + 13_000, 9, T0 + 4_000],
          [T0 + 14_000, 9, T0 + 4_000],
        ],
        expected: [false, false, false, true],
      },
      {
        name: 'a rewrite with the same size but a new mtime restarts it',
        looks: [
          [T0, 5, T0 - 60_000],
          [T0 + 2_000, 5, T0 + 1_500],
          [T0 + 3_000, 5, T0 + 1_500],
          [T0 + 11_500, 5, T0 + 1_500],
        ],
        expected: [false, false, false, true],
      },
      // Clocks that disagree.
      {
        name: 'an mtime in the future counts from now',
        looks: [
          [T0, 5, T0 + 3_600_000],
          [T0 + 9_000, 5, T0 + 3_600_000],
          [T0 + 10_000, 5, T0 + 3_600_000],
        ],
        expected: [false, false, true],
      },
      {
        name: 'a change with an old mtime counts from the look before',
        looks: [
          [T0, 5, T0 - 60_000],
          [T0 + 1_000, 7, T0 - 50_000],
          [T0 + 9_900, 7, T0 - 50_000],
          [T0 + 10_000, 7, T0 - 50_000],
        ],
        expected: [false, false, false, true],
      },
    ];
    for (const { name, looks, expected } of cases) {
      it(`${name}: ${JSON.stringify(expected)}`, () => {
        expect(settledAfter(looks)).toEqual(expected);
      });
    }

    it('says when an unchanged file will settle and why it has not', () => {
      const tracker = new FileStabilityTracker();
      const file = { path: 'a.fastq.gz', size: 5, mtimeMs: T0 - 2_000 };

      tracker.observe([file], T0, SETTLE);
      const verdict = tracker.observe([file], T0 + 1_000, SETTLE);

      expect(verdict.unsettled).toEqual([
        {
          path: 'a.fastq.gz',
          reason: 'unchanged for less than the settle time (10 s)',
          readyAt: T0 + 8_000,
        },
      ]);
    });

    it('forgets files that are gone, so they start afresh when they come back', () => {
      const tracker = new FileStabilityTracker();
      const file = { path: 'a.fastq.gz', size: 5, mtimeMs: T0 - 60_000 };
      tracker.observe([file], T0, SETTLE);
      tracker.observe([], T0 + 1_000, SETTLE);

      const verdict = tracker.observe([file], T0 + 2_000, SETTLE);

      expect(verdict.settled).toEqual([]);
      expect(verdict.unsettled[0]?.reason).toMatch(/seen once/);
    });
  });

  describe('listRunFastqs()', () => {
    it('lists the FASTQs of a lane-split run, leaving Undetermined out', async () => {
      const dir = copyRun(RUNS.nextseq500, work, 'list-nextseq');
      const info = await describeRunFolder(dir);

      const listing = await listRunFastqs(dir, info.fastqDirs, false);

      expect(listing.files).toHaveLength(96);
      expect(listing.files.some((f) => /Undetermined/.test(f.path))).toBe(
        false,
      );
      expect(listing.files[0]).toMatchObject({
        path: 'Data/Intensities/BaseCalls/B3910/1_S1_L001_R1_001.fastq.gz',
        size: fs.statSync(
          path.join(
            dir,
            'Data/Intensities/BaseCalls/B3910/1_S1_L001_R1_001.fastq.gz',
          ),
        ).size,
      });
      expect(listing.inProgress).toEqual([]);
    });

    it('includes Undetermined when asked', async () => {
      const dir = copyRun(RUNS.iseq, work, 'list-iseq');
      const info = await describeRunFolder(dir);

      const listing = await listRunFastqs(dir, info.fastqDirs, true);

      expect(listing.files.map((f) => path.posix.basename(f.path))).toContain(
        'Undetermined_S0_L001_R1_001.fastq.gz',
      );
      expect(listing.files).toHaveLength(10);
    });

    it('reports temporary files of copies in progress', async () => {
      const dir = copyRun(RUNS.miseq, work, 'list-miseq');
      const info = await describeRunFolder(dir);
      const calls = path.join(dir, 'Data/Intensities/BaseCalls');
      fs.writeFileSync(
        path.join(calls, 'Extra_S9_L001_R1_001.fastq.gz.part'),
        'x',
      );
      fs.writeFileSync(
        path.join(calls, '.Extra_S9_L001_R2_001.fastq.gz.Ab12Cd'),
        'x',
      );

      const listing = await listRunFastqs(dir, info.fastqDirs, false);

      expect(listing.inProgress).toEqual([
        'Data/Intensities/BaseCalls/.Extra_S9_L001_R2_001.fastq.gz.Ab12Cd',
        'Data/Intensities/BaseCalls/Extra_S9_L001_R1_001.fastq.gz.part',
      ]);
      expect(listing.files).toHaveLength(8);
    });

    it('reports a folder that cannot be read instead of throwing', async () => {
      const listing = await listRunFastqs(
        work,
        [path.join(work, 'no-such-folder')],
        false,
      );

      expect(listing.unreadable).toEqual([
        { path: 'no-such-folder', reason: 'cannot be read (ENOENT)' },
      ]);
    });
  });

  describe('isCopyInProgress()', () => {
    const cases: [string, boolean][] = [
      ['S1_R1_001.fastq.gz.part', true],
      ['S1_R1_001.fastq.gz.filepart', true],
      ['.S1_R1_001.fastq.gz.x8Kq2Z', true],
      ['S1_R1_001.fastq.gz', false],
      ['.DS_Store', false],
      ['RunInfo.xml.tmp', false],
    ];
    for (const [name, expected] of cases) {
      it(`is ${expected} for ${name}`, () => {
        expect(isCopyInProgress(name)).toBe(expected);
      });
    }
  });
});
