import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { sharedData } from '../../../test/helpers.ts';
import {
  SampleSheetError,
  parseSampleSheet,
  readSampleSheet,
} from './sampleSheet.ts';

/** Real sheets from shared/data/metadata and what they must give. */
const REAL: {
  file: string;
  version: 1 | 2;
  rows: number;
  first: {
    sampleId: string;
    fastqPrefix: string;
    lane?: number;
    project?: string;
  };
  distinct: number;
}[] = [
  {
    file: 'MiSeq/120110_M00119_0068_AMS0002022-00300/SampleSheet.csv',
    version: 1,
    rows: 4,
    first: {
      sampleId: 'Nextera2BP_kapa',
      fastqPrefix: 'Nextera2BP_kapa',
      project: 'nexterav2 test',
    },
    distinct: 4,
  },
  {
    file: 'MiSeq/150602_M01270_0108_000000000-ADWKV/SampleSheet.csv',
    version: 1,
    rows: -1,
    first: {
      sampleId: '10044RB0001L01',
      fastqPrefix: '10044RBpool01',
      project: '10044',
    },
    distinct: -1,
  },
  {
    file: 'MiSeq/180430_M05898_0007_000000000-BR92R/SampleSheet.csv',
    version: 1,
    rows: 192,
    first: {
      sampleId: '11288HJpool10__11155GE0097L01',
      fastqPrefix: '11288HJpool10__11155GE0097L01',
      lane: 1,
    },
    distinct: 192,
  },
  {
    file: 'MiSeq/210827_M05898_0165_000000000-JVM38/SampleSheet.csv',
    version: 1,
    rows: -1,
    first: {
      sampleId: '18100SSpool01-N__18100SS0001L01',
      fastqPrefix: '18100SSpool01-N__18100SS0001L01',
      lane: 1,
      project: '18100',
    },
    distinct: -1,
  },
  {
    file: 'NovaSeq6000/210722_A00291_0378_AHFT2CDRXY/SampleSheet.csv',
    version: 1,
    rows: -1,
    first: {
      sampleId: '18720WMpool01__18720WM0001L01',
      fastqPrefix: '18720WMpool01__18720WM0001L01',
      lane: 1,
      project: '18720',
    },
    distinct: -1,
  },
  {
    file: 'NextSeq500/samplesheets/IEM5_NextSeq-MiniSeq_PE149_B3910.csv',
    version: 1,
    rows: 12,
    first: { sampleId: '1', fastqPrefix: '1', project: 'B3910' },
    distinct: 12,
  },
  {
    file: 'NextSeq500/samplesheets/IEM5_NextSeq_FASTQ_Only_SE75_B2933.csv',
    version: 1,
    rows: 12,
    first: { sampleId: 'woHHR1', fastqPrefix: 'woHHR1', project: 'B2933' },
    distinct: 12,
  },
  {
    file: 'NovaSeq6000/180619_A00291_0044_BH5WJJDMXX/SampleSheet.csv',
    version: 1,
    rows: -1,
    first: {
      sampleId: '11354SAPool01__11354SA0001L01',
      fastqPrefix: '11354SAPool01__11354SA0001L01',
      lane: 1,
    },
    distinct: -1,
  },
  {
    file: 'NextSeq2000/210628_VH00567_1_AAAGLG7HV/SampleSheet.csv',
    version: 2,
    rows: 1,
    first: { sampleId: 'PhiX', fastqPrefix: 'PhiX' },
    distinct: 1,
  },
  {
    file: 'NovaSeqX/samplesheets/BCLConvert_v2_DRAGEN_231206_47995_NVX1_A.csv',
    version: 2,
    rows: -1,
    first: {
      sampleId: '6050STDY14354621',
      fastqPrefix: '6050STDY14354621',
      lane: 3,
    },
    distinct: -1,
  },
  {
    file: 'iSeq100/20200123_FS10000482_42_BPG80712-1010/SampleSheet.csv',
    version: 1,
    rows: 4,
    first: { sampleId: '412', fastqPrefix: '412', project: 'B3202' },
    distinct: 4,
  },
];

/** Counts sample rows independently: non-blank lines after the table header. */
function countRows(text: string, heading: RegExp): number {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => heading.test(l));
  let count = 0;
  for (const line of lines.slice(start + 2)) {
    if (/^\[/.test(line)) break;
    if (line.replace(/,/g, '').trim() !== '') count++;
  }
  return count;
}

describe('sampleSheet', () => {
  describe('readSampleSheet()', () => {
    it('covers every real sample sheet of the metadata set', () => {
      const found: string[] = [];
      const visit = (dir: string): void => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) visit(p);
          else if (e.name.endsWith('.csv'))
            found.push(path.relative(path.join(sharedData, 'metadata'), p));
        }
      };
      visit(path.join(sharedData, 'metadata'));

      expect(REAL.map((r) => r.file).sort()).toEqual(found.sort());
    });

    for (const sheet of REAL) {
      it(`parses ${sheet.file} as v${sheet.version}`, async () => {
        const file = path.join(sharedData, 'metadata', sheet.file);
        const text = fs.readFileSync(file, 'utf8');

        const parsed = await readSampleSheet(file);

        expect(parsed.version).toBe(sheet.version);
        const heading =
          sheet.version === 2 ? /^\[BCLConvert_Data\]/ : /^\[Data\]/;
        expect(parsed.samples).toHaveLength(
          sheet.rows === -1 ? countRows(text, heading) : sheet.rows,
        );
        expect(parsed.samples[0]).toMatchObject(sheet.first);
        if (sheet.distinct !== -1)
          expect(parsed.sampleIds).toHaveLength(sheet.distinct);
        expect(parsed.fastqPrefixes.length).toBeGreaterThan(0);
        for (const s of parsed.samples) {
          expect(s.sampleId).not.toBe('');
          expect(text.split(/\r\n|\n|\r/)[s.line - 1]).toContain(s.sampleId);
        }
      });
    }

    it('keeps one row per lane and one id per sample (NovaSeq X)', async () => {
      const parsed = await readSampleSheet(
        path.join(
          sharedData,
          'metadata/NovaSeqX/samplesheets/BCLConvert_v2_DRAGEN_231206_47995_NVX1_A.csv',
        ),
      );

      const lanes = parsed.samples
        .filter((s) => s.sampleId === '6050STDY14354621')
        .map((s) => s.lane);
      expect(lanes).toEqual([3, 4]);
      expect(
        parsed.sampleIds.filter((id) => id === '6050STDY14354621'),
      ).toHaveLength(1);
      expect(parsed.header.FileFormatVersion).toBe('2');
    });

    it('reads the quoted header cell of an IEM v5 sheet', async () => {
      const parsed = await readSampleSheet(
        path.join(
          sharedData,
          'metadata/NextSeq500/samplesheets/IEM5_NextSeq-MiniSeq_PE149_B3910.csv',
        ),
      );

      expect(parsed.header['Index Adapters']).toBe(
        'IDT-ILMN Nextera DNA UD Indexes (384 Indexes)',
      );
      expect(parsed.samples[6]).toMatchObject({
        sampleId: 'CTR_1',
        index: 'CTAGTGCTCT',
        index2: 'TACTGTTCCA',
      });
    });
  });

  describe('parseSampleSheet()', () => {
    it('skips comment lines and accepts a byte order mark', () => {
      const text =
        '\uFEFF[Header]\r\n#index_trim,None\r\nIEMFileVersion,4\r\n[Data]\r\nSample_ID,Sample_Name\r\nA,\r\nB,bee\r\n';

      const parsed = parseSampleSheet(text);

      expect(
        parsed.samples.map((s) => [s.sampleId, s.fastqPrefix, s.line]),
      ).toEqual([
        ['A', 'A', 6],
        ['B', 'bee', 7],
      ]);
    });

    it('names Sample_ID as the FASTQ prefix in v2 even with a Sample_Name', () => {
      const text =
        '[Header]\nFileFormatVersion,2\n[BCLConvert_Data]\nSample_ID,Sample_Name\nX1,pretty\n';

      expect(parseSampleSheet(text).samples[0].fastqPrefix).toBe('X1');
    });

    const errors: {
      name: string;
      text: string;
      line: number | null;
      message: RegExp;
    }[] = [
      {
        name: 'no sample table',
        text: '[Header]\nIEMFileVersion,4\n',
        line: null,
        message: /no \[Data\] section/,
      },
      {
        name: 'v2 without its table',
        text: '[Header]\nFileFormatVersion,2\n[Data]\nSample_ID\nA\n',
        line: null,
        message: /no \[BCLConvert_Data\]/,
      },
      {
        name: 'empty table',
        text: '[Data]\n\n',
        line: 1,
        message: /section is empty/,
      },
      {
        name: 'no Sample_ID column',
        text: '[Data]\nLane,Sample\n1,A\n',
        line: 2,
        message: /no Sample_ID column/,
      },
      {
        name: 'empty Sample_ID',
        text: '[Data]\nSample_ID,Description\n,left blank\n',
        line: 3,
        message: /Sample_ID is empty/,
      },
      {
        name: 'bad lane',
        text: '[Data]\nLane,Sample_ID\nx,A\n',
        line: 3,
        message: /Lane must be a whole number/,
      },
      {
        name: 'too many cells',
        text: '[Data]\nSample_ID,Sample_Name\nA,B,C\n',
        line: 3,
        message: /3 cells/,
      },
      {
        name: 'duplicate sample in a lane',
        text: '[Data]\nLane,Sample_ID\n1,A\n2,A\n1,A\n',
        line: 5,
        message: /listed twice \(first on line 3\)/,
      },
      {
        name: 'text before any section',
        text: 'hello,world\n[Data]\n',
        line: 1,
        message: /before the first \[Section\]/,
      },
      {
        name: 'unclosed quote',
        text: '[Data]\nSample_ID\n"A\n',
        line: 3,
        message: /not closed/,
      },
    ];
    for (const c of errors) {
      it(`refuses a sheet with ${c.name}, naming the line`, () => {
        let caught: unknown;
        try {
          parseSampleSheet(c.text, 'Sheet.csv');
        } catch (err) {
          caught = err;
        }

        expect(caught).toBeInstanceOf(SampleSheetError);
        const err = caught as SampleSheetError;
        expect(err.line).toBe(c.line);
        expect(err.message).toMatch(c.message);
        expect(
          err.message.startsWith(
            c.line === null ? 'Sheet.csv:' : `Sheet.csv line ${c.line}:`,
          ),
        ).toBe(true);
      });
    }
  });
});
