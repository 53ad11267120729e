import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { sharedData } from '../../../test/helpers.ts';
import { toClientId } from './clientId.ts';
import {
  RULES,
  classifyNonFastqName,
  findDigitPairs,
  parseFastqName,
  type NameErrorKind,
  type ParsedName,
} from './names.ts';

interface Expected {
  sample: string;
  clientId: string;
  read: 'R1' | 'R2';
  lane: number | null;
  chunk: number | null;
  rule: string;
  undetermined?: boolean;
}

function pair(
  stemR1: string,
  stemR2: string,
  ext: string,
  fields: Omit<Expected, 'read'>,
): [string, Expected][] {
  return [
    [`${stemR1}${ext}`, { ...fields, read: 'R1' }],
    [`${stemR2}${ext}`, { ...fields, read: 'R2' }],
  ];
}

/** Every file of shared/data/naming, with what its name must give. */
const NAMING: [string, Expected][] = [
  ...pair('SAMPLE1_R1', 'SAMPLE1_R2', '.fastq.gz', {
    sample: 'SAMPLE1',
    clientId: 'SAMPLE1',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair(
    'SAMPLE2_LANE1_SEQUENCER1_R1',
    'SAMPLE2_LANE1_SEQUENCER1_R2',
    '.fastq.gz',
    {
      sample: 'SAMPLE2',
      clientId: 'SAMPLE2',
      lane: null,
      chunk: null,
      rule: `${RULES.platform}; tokens LANE1, SEQUENCER1 ignored, as the platform does`,
    },
  ),
  ...pair('SAMPLE3_R1_L001', 'SAMPLE3_R2_L001', '.fastq.gz', {
    sample: 'SAMPLE3',
    clientId: 'SAMPLE3',
    lane: 1,
    chunk: null,
    rule: RULES.readBeforeLane,
  }),
  ...pair('SAMPLE4_R1', 'SAMPLE4_R2', '.fq.gz', {
    sample: 'SAMPLE4',
    clientId: 'SAMPLE4',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('Sample_S1_L001_R1_001', 'Sample_S1_L001_R2_001', '.fastq.gz', {
    sample: 'Sample',
    clientId: 'Sample',
    lane: 1,
    chunk: 1,
    rule: RULES.illumina,
  }),
  ...pair('SAMPLE5_R1', 'SAMPLE5_R2', '.FASTQ.GZ', {
    sample: 'SAMPLE5',
    clientId: 'SAMPLE5',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('sample6_r1', 'sample6_r2', '.fastq.gz', {
    sample: 'sample6',
    clientId: 'sample6',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('SAMPLE7_R1', 'SAMPLE7_R2', '.Fq.Gz', {
    sample: 'SAMPLE7',
    clientId: 'SAMPLE7',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('SAMPLE8_1', 'SAMPLE8_2', '.fastq.gz', {
    sample: 'SAMPLE8',
    clientId: 'SAMPLE8',
    lane: null,
    chunk: null,
    rule: RULES.sra,
  }),
  ...pair('SAMPLE 9_R1', 'SAMPLE 9_R2', '.fastq.gz', {
    sample: 'SAMPLE 9',
    clientId: 'SAMPLE-9',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('Échantillon-10_R1', 'Échantillon-10_R2', '.fastq.gz', {
    sample: 'Échantillon-10',
    clientId: 'Échantillon-10',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('样本11_R1', '样本11_R2', '.fastq.gz', {
    sample: '样本11',
    clientId: '样本11',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  [
    'SAMPLE12_R1.fastq.gz',
    {
      sample: 'SAMPLE12',
      clientId: 'SAMPLE12',
      read: 'R1',
      lane: null,
      chunk: null,
      rule: RULES.plain,
    },
  ],
  ...[1, 2, 3, 4].flatMap((lane) =>
    pair(
      `SAMPLE13_S13_L00${lane}_R1_001`,
      `SAMPLE13_S13_L00${lane}_R2_001`,
      '.fastq.gz',
      {
        sample: 'SAMPLE13',
        clientId: 'SAMPLE13',
        lane,
        chunk: 1,
        rule: RULES.illumina,
      },
    ),
  ),
  ...[1, 2].flatMap((chunk) =>
    pair(
      `SAMPLE14_S14_L001_R1_00${chunk}`,
      `SAMPLE14_S14_L001_R2_00${chunk}`,
      '.fastq.gz',
      {
        sample: 'SAMPLE14',
        clientId: 'SAMPLE14',
        lane: 1,
        chunk,
        rule: RULES.illumina,
      },
    ),
  ),
  ...pair('SAMPLE15.R1', 'SAMPLE15.R2', '.fastq.gz', {
    sample: 'SAMPLE15',
    clientId: 'SAMPLE15',
    lane: null,
    chunk: null,
    rule: RULES.dots,
  }),
  ...pair('SAMPLE16_R1', 'SAMPLE16_R2', '.fastq.gz', {
    sample: 'SAMPLE16',
    clientId: 'SAMPLE16',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair('SAMPLE17_R1', 'SAMPLE17_R2', '.fastq.gz', {
    sample: 'SAMPLE17',
    clientId: 'SAMPLE17',
    lane: null,
    chunk: null,
    rule: RULES.plain,
  }),
  ...pair(
    'Undetermined_S0_L001_R1_001',
    'Undetermined_S0_L001_R2_001',
    '.fastq.gz',
    {
      sample: 'Undetermined',
      clientId: 'Undetermined',
      lane: 1,
      chunk: 1,
      rule: RULES.illumina,
      undetermined: true,
    },
  ),
];

/** Names not in the data set: more layouts and edge cases. */
const EXTRA: [string, Expected][] = [
  [
    'CTR_5_S11_L002_R2_001.fastq.gz',
    {
      sample: 'CTR_5',
      clientId: 'CTR-5',
      read: 'R2',
      lane: 2,
      chunk: 1,
      rule: RULES.illumina,
    },
  ],
  [
    'CTR_5_S11_R1_001.fastq.gz',
    {
      sample: 'CTR_5',
      clientId: 'CTR-5',
      read: 'R1',
      lane: null,
      chunk: 1,
      rule: RULES.illuminaNoLane,
    },
  ],
  [
    'Hm2_GTGAAA_L005_R1_001.fastq.gz',
    {
      sample: 'Hm2',
      clientId: 'Hm2',
      read: 'R1',
      lane: 5,
      chunk: 1,
      rule: RULES.casava,
    },
  ],
  [
    'P1_ACGTAC-TTGACA_L003_R2_002.fq.bgz',
    {
      sample: 'P1',
      clientId: 'P1',
      read: 'R2',
      lane: 3,
      chunk: 2,
      rule: RULES.casava,
    },
  ],
  [
    'lane1_Undetermined_L001_R1_001.fastq.gz',
    {
      sample: 'lane1',
      clientId: 'lane1',
      read: 'R1',
      lane: 1,
      chunk: 1,
      rule: `${RULES.platform}; tokens Undetermined ignored, as the platform does`,
    },
  ],
  [
    'S1_L001_R1_001.fastq.gz',
    {
      sample: 'S1',
      clientId: 'S1',
      read: 'R1',
      lane: 1,
      chunk: 1,
      rule: RULES.platform,
    },
  ],
  [
    'ecoli_1K_1.fq.gz',
    {
      sample: 'ecoli_1K',
      clientId: 'ecoli-1K',
      read: 'R1',
      lane: null,
      chunk: null,
      rule: RULES.sra,
    },
  ],
  [
    'reads_2.fq.gz',
    {
      sample: 'reads',
      clientId: 'reads',
      read: 'R2',
      lane: null,
      chunk: null,
      rule: RULES.sra,
    },
  ],
  [
    'S_1_R2.fastq.gz',
    {
      sample: 'S',
      clientId: 'S',
      read: 'R2',
      lane: null,
      chunk: null,
      rule: `${RULES.platform}; tokens 1 ignored, as the platform does`,
    },
  ],
  [
    'Undetermined_S0_R2_001.fastq.bgz',
    {
      sample: 'Undetermined',
      clientId: 'Undetermined',
      read: 'R2',
      lane: null,
      chunk: 1,
      rule: RULES.illuminaNoLane,
      undetermined: true,
    },
  ],
];

/** Names that must be refused, with the kind of refusal. */
const REFUSED: [string, NameErrorKind][] = [
  ['UNCOMPRESSED_R1.fastq', 'uncompressed'],
  ['x_R1.fq', 'uncompressed'],
  ['INPROGRESS_R1.fastq.gz.part', 'in-progress'],
  ['S1_R1.fastq.gz.tmp', 'in-progress'],
  ['S1_R1.fastq.gz.md5', 'side-file'],
  ['S1_R1.fastq.bz2', 'other-compression'],
  ['S1_R1.fq.zst', 'other-compression'],
  ['S1_R1.fastq.gzip', 'bad-extension'],
  ['RunInfo.xml', 'unrelated'],
  ['s_1_1101.bcl.gz', 'unrelated'],
  ['.fastq.gz', 'bad-extension'],
  ['S1_S1_L001_I1_001.fastq.gz', 'not-r1-r2'],
  ['S1_S1_L001_R3_001.fastq.gz', 'not-r1-r2'],
  ['read1.fq.gz', 'no-read-token'],
  ['SRR059298_subset.fastq.gz', 'no-read-token'],
  ['S1_R10.fastq.gz', 'no-read-token'],
  ['S1_R1-trimmed.fastq.gz', 'no-read-token'],
  ['_R1.fastq.gz', 'no-read-token'],
];

function expectParsed(name: string, expected: Expected): void {
  const parsed = parseFastqName(name);
  expect(parsed, name).not.toHaveProperty('error');
  const p = parsed as ParsedName;
  expect({
    sample: p.sampleName,
    clientId: toClientId(p.sampleName).clientId,
    read: p.read,
    lane: p.lane,
    chunk: p.chunk,
    rule: p.rule,
    undetermined: p.isUndetermined,
  }).toEqual({ undetermined: false, ...expected });
}

describe('names', () => {
  describe('parseFastqName()', () => {
    it('covers every file of the naming data set', () => {
      const onDisk = fs
        .readdirSync(path.join(sharedData, 'naming'))
        .map((n) => n.normalize('NFC'))
        .sort();
      const table = NAMING.map(([n]) => n.normalize('NFC')).sort();

      expect(table).toEqual(onDisk);
    });

    for (const [name, expected] of NAMING) {
      it(`reads ${name} as ${expected.clientId} ${expected.read} lane ${expected.lane} chunk ${expected.chunk}`, () => {
        expectParsed(name, expected);
      });
    }

    for (const [name, expected] of EXTRA) {
      it(`reads ${name} as ${expected.sample} ${expected.read} lane ${expected.lane} chunk ${expected.chunk}`, () => {
        expectParsed(name, expected);
      });
    }

    for (const [name, kind] of REFUSED) {
      it(`refuses ${name} as ${kind}`, () => {
        const parsed = parseFastqName(name);

        expect(parsed).toMatchObject({ kind });
        expect((parsed as { error: string }).error.length).toBeGreaterThan(5);
      });
    }

    it('tells the user to gzip an uncompressed FASTQ', () => {
      expect(classifyNonFastqName('A_R1.fastq').error).toMatch(
        /not compressed: gzip it first/,
      );
    });

    it('keeps the whole prefix as the long name for platform-style names', () => {
      const parsed = parseFastqName('CTR_5_L002_R1.fastq.gz') as ParsedName;

      expect(parsed.sampleName).toBe('CTR');
      expect(parsed.longSampleName).toBe('CTR_5');
      expect(parsed.lane).toBe(2);
    });

    it('records the S number of Illumina names', () => {
      const parsed = parseFastqName(
        'CTR_5_S11_L002_R2_001.fastq.gz',
      ) as ParsedName;

      expect(parsed.sampleNumber).toBe(11);
    });
  });

  describe('findDigitPairs()', () => {
    const cases: {
      name: string;
      files: string[];
      folder: string;
      expected: { r1: string; r2: string; sampleName: string }[];
    }[] = [
      {
        name: 'pairs read1/read2 and names the sample after the folder',
        files: ['read1.fq.gz', 'read2.fq.gz'],
        folder: 'velvet_gaii',
        expected: [
          { r1: 'read1.fq.gz', r2: 'read2.fq.gz', sampleName: 'velvet_gaii' },
        ],
      },
      {
        name: 'uses the common part when it is a real name',
        files: ['patientA.2.fq.gz', 'patientA.1.fq.gz'],
        folder: 'x',
        expected: [
          {
            r1: 'patientA.1.fq.gz',
            r2: 'patientA.2.fq.gz',
            sampleName: 'patientA',
          },
        ],
      },
      {
        name: 'does not pair a numbered series of three',
        files: ['s1.fq.gz', 's2.fq.gz', 's3.fq.gz'],
        folder: 'x',
        expected: [],
      },
      {
        name: 'does not pair digits next to other digits',
        files: ['s11.fq.gz', 's12.fq.gz'],
        folder: 'x',
        expected: [],
      },
      {
        name: 'does not pair 1 with 3',
        files: ['a1.fq.gz', 'a3.fq.gz'],
        folder: 'x',
        expected: [],
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const pairs = findDigitPairs(c.files, c.folder);

        expect(
          pairs.map(({ r1, r2, sampleName }) => ({ r1, r2, sampleName })),
        ).toEqual(c.expected);
        for (const p of pairs) expect(p.rule).toMatch(/pairing fallback/);
      });
    }
  });
});
