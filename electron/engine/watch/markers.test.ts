/**
 * Completion rules per instrument and layout, on copies of the team's real
 * run folders and real metadata (RunInfo.xml, RunParameters.xml, markers).
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeRunFolder } from '../scan/runFolder.ts';
import {
  completionFacts,
  completionRule,
  findMissingMarkers,
} from './markers.ts';
import type { CompletionFacts } from './markers.ts';
import {
  RUNS,
  copyRun,
  copyShared,
  makeTempDir,
  removeDir,
} from './testing.ts';

let work: string;

beforeAll(async () => {
  work = await makeTempDir('markers');
});

afterAll(async () => {
  await removeDir(work);
});

async function missingIn(dir: string): Promise<string[]> {
  const info = await describeRunFolder(dir);
  const rule = completionRule(await completionFacts(info));
  return (await findMissingMarkers(dir, rule)).map((m) => m.path);
}

describe('markers', () => {
  describe('completionRule()', () => {
    const cases: {
      name: string;
      facts: CompletionFacts;
      expected: string[];
    }[] = [
      // Sequencing only.
      {
        name: 'HiSeq, offline',
        facts: {
          instrument: 'HiSeq 3000/4000',
          layout: 'none',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt'],
      },
      {
        name: 'NextSeq 500, bcl2fastq',
        facts: {
          instrument: 'NextSeq 500/550',
          layout: 'bcl2fastq',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt'],
      },
      {
        name: 'unknown instrument',
        facts: { instrument: null, layout: 'bcl2fastq', analysisDir: null },
        expected: ['RTAComplete.txt'],
      },
      // Copy finished as well.
      {
        name: 'NovaSeq 6000, offline',
        facts: {
          instrument: 'NovaSeq 6000',
          layout: 'bcl2fastq',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt', 'CopyComplete.txt'],
      },
      {
        name: 'NovaSeq X Plus, no analysis yet',
        facts: {
          instrument: 'NovaSeq X Plus',
          layout: 'none',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt', 'CopyComplete.txt'],
      },
      {
        name: 'MiniSeq, bcl2fastq',
        facts: {
          instrument: 'MiniSeq',
          layout: 'bcl2fastq',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt', 'CopyComplete.txt'],
      },
      // On-instrument analysis.
      {
        name: 'NextSeq 2000, DRAGEN on board',
        facts: {
          instrument: 'NextSeq 1000/2000',
          layout: 'bclconvert-onboard',
          analysisDir: 'Analysis/2',
        },
        expected: [
          'RTAComplete.txt',
          'CopyComplete.txt',
          'Analysis/2/CopyComplete.txt',
          'Analysis/2/Data/Secondary_Analysis_Complete.txt',
        ],
      },
      {
        name: 'NextSeq 2000, analysis still running (no FASTQ yet)',
        facts: {
          instrument: 'NextSeq 1000/2000',
          layout: 'none',
          analysisDir: 'Analysis/1',
        },
        expected: [
          'RTAComplete.txt',
          'CopyComplete.txt',
          'Analysis/1/CopyComplete.txt',
          'Analysis/1/Data/Secondary_Analysis_Complete.txt',
        ],
      },
      {
        name: 'MiSeq, MiSeq Reporter',
        facts: {
          instrument: 'MiSeq',
          layout: 'miseq-reporter',
          analysisDir: null,
        },
        expected: ['RTAComplete.txt', 'CompletedJobInfo.xml'],
      },
      {
        name: 'iSeq 100, Local Run Manager',
        facts: {
          instrument: 'iSeq 100',
          layout: 'lrm',
          analysisDir: 'Alignment_1/20200124_110517',
        },
        expected: [
          'RTAComplete.txt',
          'CopyComplete.txt',
          'CompletedJobInfo.xml',
        ],
      },
    ];
    for (const { name, facts, expected } of cases) {
      it(`needs ${expected.join(' + ')} for ${name}`, () => {
        expect(completionRule(facts).map((m) => m.path)).toEqual(expected);
      });
    }

    it('accepts CompletedJobInfo.xml in the Local Run Manager analysis folder too', () => {
      const rule = completionRule({
        instrument: 'MiSeq',
        layout: 'lrm',
        analysisDir: 'Alignment_2/20240101_101010',
      });

      const job = rule.find((m) => m.path === 'CompletedJobInfo.xml');

      expect(job?.alternatives).toEqual([
        'Alignment_2/20240101_101010/CompletedJobInfo.xml',
        'Alignment_2/CompletedJobInfo.xml',
      ]);
    });
  });

  describe('findMissingMarkers() on the real run folders', () => {
    const runs: { key: keyof typeof RUNS; markers: string[] }[] = [
      { key: 'miseq', markers: ['RTAComplete.txt', 'CompletedJobInfo.xml'] },
      { key: 'nextseq500', markers: ['RTAComplete.txt'] },
      {
        key: 'iseq',
        markers: [
          'RTAComplete.txt',
          'CopyComplete.txt',
          'CompletedJobInfo.xml',
        ],
      },
      {
        key: 'nextseq2000',
        markers: [
          'RTAComplete.txt',
          'CopyComplete.txt',
          'Analysis/1/CopyComplete.txt',
          'Analysis/1/Data/Secondary_Analysis_Complete.txt',
        ],
      },
    ];
    for (const { key, markers } of runs) {
      it(`finds nothing missing in the complete ${key} run`, async () => {
        const dir = copyRun(RUNS[key], path.join(work, `complete-${key}`));

        expect(await missingIn(dir)).toEqual([]);
      });

      for (const marker of markers) {
        it(`reports ${marker} missing from the ${key} run when it is removed`, async () => {
          const dir = copyRun(
            RUNS[key],
            path.join(work, `without-${key}-${marker.replace(/\//g, '_')}`),
          );
          fs.rmSync(path.join(dir, marker));

          expect(await missingIn(dir)).toEqual([marker]);
        });
      }
    }

    it('matches marker names without regard to case', async () => {
      const dir = copyRun(RUNS.nextseq2000, path.join(work, 'case'));
      fs.renameSync(
        path.join(dir, 'RTAComplete.txt'),
        path.join(dir, 'rtacomplete.TXT'),
      );
      fs.renameSync(path.join(dir, 'Analysis'), path.join(dir, 'analysis'));
      fs.renameSync(
        path.join(dir, 'analysis/1/Data/Secondary_Analysis_Complete.txt'),
        path.join(dir, 'analysis/1/Data/SECONDARY_ANALYSIS_COMPLETE.txt'),
      );

      expect(await missingIn(dir)).toEqual([]);
    });

    it('does not take a folder named like a marker for the marker', async () => {
      const dir = copyRun(RUNS.nextseq500, path.join(work, 'dir-marker'));
      fs.rmSync(path.join(dir, 'RTAComplete.txt'));
      fs.mkdirSync(path.join(dir, 'RTAComplete.txt'));

      expect(await missingIn(dir)).toEqual(['RTAComplete.txt']);
    });
  });

  describe('findMissingMarkers() on real metadata of other instruments', () => {
    const cases: { name: string; source: string; expected: string[] }[] = [
      // RTA3 writes CopyComplete about an hour after RTAComplete: wait for it.
      {
        name: 'NovaSeq 6000 with only RTAComplete',
        source: 'NovaSeq6000/210722_A00291_0378_AHFT2CDRXY',
        expected: ['CopyComplete.txt'],
      },
      {
        name: 'HiSeq 4000 with RTAComplete',
        source: 'HiSeq4000/160606_K00166_0102_BHF22YBBXX',
        expected: [],
      },
      {
        name: 'NovaSeq X Plus without markers',
        source: 'NovaSeqX/20230628_LH00210_0008_B225TGJLT3',
        expected: ['RTAComplete.txt', 'CopyComplete.txt'],
      },
      {
        name: 'NextSeq 2000 without markers',
        source: 'NextSeq2000/211012_VH00567_4_AAAMT2KM5',
        expected: ['RTAComplete.txt', 'CopyComplete.txt'],
      },
      {
        name: 'MiSeq (RTA 1.18) with RTAComplete',
        source: 'MiSeq/210827_M05898_0165_000000000-JVM38',
        expected: [],
      },
      {
        name: 'MiSeq with only Netcopy files',
        source: 'MiSeq/150602_M01270_0108_000000000-ADWKV',
        expected: ['RTAComplete.txt'],
      },
    ];
    for (const { name, source, expected } of cases) {
      it(`reports ${expected.length === 0 ? 'nothing' : expected.join(' + ')} missing for ${name}`, async () => {
        const dir = copyShared(
          `metadata/${source}`,
          path.join(work, 'meta', path.basename(source)),
        );

        expect(await missingIn(dir)).toEqual(expected);
      });
    }

    it('asks for the analysis markers once a NextSeq 2000 analysis folder appears', async () => {
      const dir = copyShared(
        'metadata/NextSeq2000/211012_VH00567_4_AAAMT2KM5',
        path.join(work, 'meta-analysis', '211012_VH00567_4_AAAMT2KM5'),
      );
      fs.writeFileSync(path.join(dir, 'RTAComplete.txt'), '');
      fs.writeFileSync(path.join(dir, 'CopyComplete.txt'), '');
      fs.mkdirSync(path.join(dir, 'Analysis', '1', 'Data'), {
        recursive: true,
      });
      fs.mkdirSync(path.join(dir, 'Analysis', '3', 'Data'), {
        recursive: true,
      });

      expect(await missingIn(dir)).toEqual([
        'Analysis/3/CopyComplete.txt',
        'Analysis/3/Data/Secondary_Analysis_Complete.txt',
      ]);
    });
  });
});
