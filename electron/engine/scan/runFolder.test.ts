import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyData, makeTempDir } from '../../../test/helpers.ts';
import { describeRunFolder, type RunLayout } from './runFolder.ts';

let tmp = '';

beforeAll(() => {
  tmp = makeTempDir('scan-run');
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh copy of one run folder of shared/data/runs. */
function copyRun(name: string): string {
  const dest = fs.mkdtempSync(path.join(tmp, 'run-'));
  return copyData(`runs/${name}`, dest);
}

const RUNS: {
  name: string;
  layout: RunLayout;
  instrument: string;
  instrumentId: string;
  laneCount: number;
  fastqDirs: string[];
  sheetVersion: 1 | 2;
  sampleIds: string[];
}[] = [
  {
    name: '120110_M00119_0068_AMS0002022-00300',
    layout: 'miseq-reporter',
    instrument: 'MiSeq',
    instrumentId: 'M00119',
    laneCount: 1,
    fastqDirs: ['Data/Intensities/BaseCalls'],
    sheetVersion: 1,
    sampleIds: [
      'Nextera2BP_kapa',
      'Nextera2SP_kapa',
      'Nextera2TW20_kapa',
      'Nextera23D7_kapa',
    ],
  },
  {
    name: '180723_NB500892_0277_AHJYM2BGX7',
    layout: 'bcl2fastq',
    instrument: 'NextSeq 500/550',
    instrumentId: 'NB500892',
    laneCount: 4,
    fastqDirs: [
      'Data/Intensities/BaseCalls',
      'Data/Intensities/BaseCalls/B3910',
    ],
    sheetVersion: 1,
    sampleIds: [
      '1',
      '3',
      '4',
      '5',
      '6',
      '7',
      'CTR_1',
      'CTR_2',
      'CTR_3',
      'CTR_4',
      'CTR_5',
      'CTR_6',
    ],
  },
  {
    name: '210628_VH00567_1_AAAGLG7HV',
    layout: 'bclconvert-onboard',
    instrument: 'NextSeq 1000/2000',
    instrumentId: 'VH00567',
    laneCount: 2,
    fastqDirs: ['Analysis/1/Data/fastq'],
    sheetVersion: 2,
    sampleIds: ['PhiX'],
  },
  {
    name: '20200123_FS10000482_42_BPG80712-1010',
    layout: 'lrm',
    instrument: 'iSeq 100',
    instrumentId: 'FS10000482',
    laneCount: 1,
    fastqDirs: ['Alignment_1/20200124_110517/Fastq'],
    sheetVersion: 1,
    sampleIds: ['412', 'LMD666', 'TaoP3', 'TaoP10'],
  },
];

describe('runFolder', () => {
  describe('describeRunFolder()', () => {
    for (const run of RUNS) {
      it(`finds the ${run.layout} FASTQs of ${run.name} (${run.instrument})`, async () => {
        const dir = copyRun(run.name);

        const info = await describeRunFolder(dir);

        expect(info).toMatchObject({
          isRunFolder: true,
          runId: run.name,
          instrument: run.instrument,
          instrumentId: run.instrumentId,
          laneCount: run.laneCount,
          layout: run.layout,
          sampleSheetError: null,
        });
        expect(
          info.fastqDirs.map((d) =>
            path.relative(dir, d).split(path.sep).join('/'),
          ),
        ).toEqual(run.fastqDirs);
        expect(info.sampleSheet?.version).toBe(run.sheetVersion);
        expect(info.sampleSheet?.sampleIds).toEqual(run.sampleIds);
        expect(info.runParametersPath).not.toBeNull();
      });
    }

    it('says a plain folder is not a run folder', async () => {
      const dir = copyData('naming', fs.mkdtempSync(path.join(tmp, 'plain-')));

      const info = await describeRunFolder(dir);

      expect(info).toMatchObject({
        isRunFolder: false,
        runId: null,
        layout: 'none',
        fastqDirs: [],
      });
    });

    it('chooses the newest of several on-instrument analyses and says so', async () => {
      const dir = copyRun('210628_VH00567_1_AAAGLG7HV');
      const newer = path.join(dir, 'Analysis/2/Data/BCLConvert/fastq');
      fs.mkdirSync(newer, { recursive: true });
      fs.cpSync(path.join(dir, 'Analysis/1/Data/fastq'), newer, {
        recursive: true,
      });
      fs.writeFileSync(
        path.join(dir, 'Analysis/2/Data/SampleSheet.csv'),
        '[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\nSample_ID\nPhiX\nExtra\n',
      );

      const info = await describeRunFolder(dir);

      expect(info.fastqRoot).toBe(newer);
      expect(info.notes.join(' ')).toMatch(
        /2 analyses have FASTQs \(1, 2\); using the newest, Analysis\/2/,
      );
      expect(info.sampleSheetPath).toBe(
        path.join(dir, 'Analysis/2/Data/SampleSheet.csv'),
      );
      expect(info.sampleSheet?.sampleIds).toEqual(['PhiX', 'Extra']);
    });

    it('chooses the latest Local Run Manager analysis and says so', async () => {
      const dir = copyRun('20200123_FS10000482_42_BPG80712-1010');
      const later = path.join(dir, 'Alignment_2/20200125_090000/Fastq');
      fs.mkdirSync(later, { recursive: true });
      fs.cpSync(path.join(dir, 'Alignment_1/20200124_110517/Fastq'), later, {
        recursive: true,
      });

      const info = await describeRunFolder(dir);

      expect(info.layout).toBe('lrm');
      expect(info.fastqRoot).toBe(later);
      expect(info.notes.join(' ')).toMatch(
        /2 Local Run Manager analyses.*Alignment_2\/20200125_090000\/Fastq/,
      );
    });

    it('prefers on-instrument FASTQs and mentions the others', async () => {
      const dir = copyRun('210628_VH00567_1_AAAGLG7HV');
      const baseCalls = path.join(dir, 'Data/Intensities/BaseCalls');
      fs.mkdirSync(baseCalls, { recursive: true });
      fs.copyFileSync(
        path.join(dir, 'Analysis/1/Data/fastq/PhiX_S1_L001_R1_001.fastq.gz'),
        path.join(baseCalls, 'PhiX_S1_L001_R1_001.fastq.gz'),
      );

      const info = await describeRunFolder(dir);

      expect(info.layout).toBe('bclconvert-onboard');
      expect(info.notes.join(' ')).toMatch(
        /also found under Data\/Intensities\/BaseCalls; not used/,
      );
    });

    it('skips BCL lane folders and reports under BaseCalls', async () => {
      const dir = copyRun('180723_NB500892_0277_AHJYM2BGX7');
      const lane = path.join(dir, 'Data/Intensities/BaseCalls/L001/C1.1');
      fs.mkdirSync(lane, { recursive: true });
      fs.writeFileSync(path.join(lane, 's_1_1101.bcl.gz'), 'x');
      fs.mkdirSync(path.join(dir, 'Data/Intensities/BaseCalls/Reports'));
      fs.writeFileSync(
        path.join(dir, 'Data/Intensities/BaseCalls/Reports/x_R1.fastq.gz'),
        'x',
      );

      const info = await describeRunFolder(dir);

      expect(info.fastqDirs.map((d) => path.basename(d))).toEqual([
        'BaseCalls',
        'B3910',
      ]);
    });

    it('finds RunParameters.xml in any case', async () => {
      const dir = copyRun('210628_VH00567_1_AAAGLG7HV');
      fs.renameSync(
        path.join(dir, 'RunParameters.xml'),
        path.join(dir, 'RUNPARAMETERS.XML'),
      );

      const info = await describeRunFolder(dir);

      expect(info.runParametersPath).toBe(path.join(dir, 'RUNPARAMETERS.XML'));
      expect(info.instrument).toBe('NextSeq 1000/2000');
    });

    it('guesses the instrument from its id without RunParameters.xml', async () => {
      const dir = copyRun('120110_M00119_0068_AMS0002022-00300');
      fs.rmSync(path.join(dir, 'runParameters.xml'));

      const info = await describeRunFolder(dir);

      expect(info.runParametersPath).toBeNull();
      expect(info.instrument).toBe('MiSeq');
    });

    it('reports a broken sample sheet with its line and keeps going', async () => {
      const dir = copyRun('20200123_FS10000482_42_BPG80712-1010');
      fs.writeFileSync(
        path.join(dir, 'SampleSheet.csv'),
        '[Data]\nSample_ID,Lane\nA,zero\n',
      );

      const info = await describeRunFolder(dir);

      expect(info.sampleSheet).toBeNull();
      expect(info.sampleSheetError).toMatch(/SampleSheet.csv line 3: Lane/);
      expect(info.fastqDirs).toHaveLength(1);
    });

    it('says when a run folder has no FASTQs yet', async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'empty-run-'));
      fs.copyFileSync(
        path.join(copyRun('210628_VH00567_1_AAAGLG7HV'), 'RunInfo.xml'),
        path.join(dir, 'RunInfo.xml'),
      );

      const info = await describeRunFolder(dir);

      expect(info).toMatchObject({
        isRunFolder: true,
        layout: 'none',
        fastqDirs: [],
        sampleSheet: null,
      });
      expect(info.notes.join(' ')).toMatch(/no FASTQ files found/);
    });
  });
});
