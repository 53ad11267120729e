// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';

import {
  formatBytes,
  formatEta,
  formatPercent,
  parseTimestamp,
} from './format.ts';
import { isTerminalStatus, matchesStatusFilter } from './status.ts';
import {
  absolutePathError,
  exampleValues,
  expandTemplate,
  expandTemplateSafely,
  isReservedName,
  joinLocalPath,
  reservedNameNote,
  safeLocalSegment,
  templateError,
} from './template.ts';
import {
  clientIdError,
  destinationError,
  normalizeDestination,
} from './validate.ts';

describe('formatEta()', () => {
  const cases: [number | null, string][] = [
    // no answer
    [null, 'unknown'],
    [Number.NaN, 'unknown'],
    [Number.POSITIVE_INFINITY, 'unknown'],
    [-1, 'unknown'],
    // normal
    [0.4, 'less than 1 s'],
    [45, '45 s'],
    [120, '2 min'],
    [200, '3 min 20 s'],
    [7_500, '2 h 05 min'],
    // extremes
    [3 * 86_400 + 4 * 3600 + 59, '3 d 4 h'],
  ];
  for (const [input, want] of cases) {
    it(`renders ${input} s as "${want}"`, () => {
      expect(formatEta(input)).toBe(want);
    });
  }
});

describe('formatBytes()', () => {
  const cases: [number | null, string][] = [
    [null, '—'],
    [-5, '—'],
    [0, '0 B'],
    [999, '999 B'],
    [1_500, '1.5 kB'],
    [123_456_789, '123 MB'],
    [16_500_000, '16.5 MB'],
    [2e15, '2.0 PB'],
    [5e18, '5000 PB'],
  ];
  for (const [input, want] of cases) {
    it(`renders ${input} as "${want}"`, () => {
      expect(formatBytes(input)).toBe(want);
    });
  }
});

describe('formatPercent()', () => {
  it('is null for an unknown or zero total and clamps to 0..100', () => {
    expect(formatPercent(5, null)).toBeNull();
    expect(formatPercent(5, 0)).toBeNull();
    expect(formatPercent(1, 3)).toBe('33%');
    expect(formatPercent(12, 10)).toBe('100%');
  });
});

describe('parseTimestamp()', () => {
  it('reads the platform’s space-separated timestamps', () => {
    expect(parseTimestamp('2021-10-12 19:47:15.394485+00:00')).toBe(
      Date.parse('2021-10-12T19:47:15.394Z'),
    );
    expect(Number.isNaN(parseTimestamp('soon'))).toBe(true);
  });
});

describe('sample statuses', () => {
  it('treats anything starting with succeeded or failed as terminal', () => {
    expect(['succeeded', 'failed qc', 'Failed', 'succeeded ']).toSatisfy(
      (list: string[]) => list.every(isTerminalStatus),
    );
    expect(isTerminalStatus('running')).toBe(false);
    expect(isTerminalStatus('scheduled')).toBe(false);
  });

  it('filters completed as succeeded or failed qc, like the platform', () => {
    const row = (status: string) => ({
      id: 'x',
      clientId: 'x',
      status,
      archiveStatus: null,
      failedQc: false,
      created: '',
      modified: '',
    });
    expect(matchesStatusFilter(row('failed qc'), 'completed')).toBe(true);
    expect(matchesStatusFilter(row('failed'), 'completed')).toBe(false);
    expect(matchesStatusFilter(row('failed'), 'failed')).toBe(true);
    expect(matchesStatusFilter(row('scheduled'), 'running')).toBe(true);
  });
});

describe('clientIdError()', () => {
  const cases: [string, boolean][] = [
    ['S1', true],
    ['DOG-001.a', true],
    ['', false],
    [' S1', false],
    ['S_1', false],
    ['a/b', false],
    ['a\\b', false],
    ['a\tb', false],
    ['x'.repeat(257), false],
  ];
  for (const [value, ok] of cases) {
    it(`${ok ? 'accepts' : 'refuses'} ${JSON.stringify(value.slice(0, 12))}`, () => {
      expect(clientIdError(value) === null).toBe(ok);
    });
  }
});

describe('destinationError()', () => {
  it('accepts nested folders and normalises the trailing slash', () => {
    expect(destinationError('gncv://dogs/run-7')).toBeNull();
    expect(normalizeDestination('gncv://dogs/run-7')).toBe(
      'gncv://dogs/run-7/',
    );
    expect(normalizeDestination('gncv://dogs//')).toBe('gncv://dogs/');
  });

  it('refuses a folder name with spaces at its ends', () => {
    expect(destinationError('gncv://dogs/ run/')).toContain('" run"');
  });
});

describe('templates', () => {
  it('expands every token, in any path segment', () => {
    const values = exampleValues({ clientId: 'S1', id: 'uuid-1' });

    expect(
      expandTemplate(
        '{file_type}/{client_id}/{gencove_id}_{default_filename}',
        values,
      ),
    ).toBe('impute-vcf/S1/uuid-1_uuid-1_impute-vcf.vcf.gz');
    expect(
      templateError('{file_type}/{client_id}.{file_extension}'),
    ).toBeNull();
  });

  it('joins under Windows and POSIX folders with their own separator', () => {
    expect(joinLocalPath('C:\\Lab\\out\\', 'S1/a.gz')).toBe(
      'C:\\Lab\\out\\S1\\a.gz',
    );
    expect(joinLocalPath('/data/lab/', 'S1/a.gz')).toBe('/data/lab/S1/a.gz');
    expect(joinLocalPath('/', 'a.gz')).toBe('/a.gz');
  });
});

describe('absolutePathError()', () => {
  const absolute = ['/', '/data/lab', 'C:\\', 'c:/data', '\\\\nas\\share'];
  for (const value of absolute) {
    it(`takes ${JSON.stringify(value)}`, () => {
      expect(absolutePathError(value)).toBeNull();
    });
  }
  const relative = [
    { value: 'data', says: 'relative' },
    { value: 'C:data', says: 'drive but no folder' },
    { value: '~/data', says: '"~"' },
    { value: '\\\\nas', says: 'relative' },
    { value: '  ', says: 'Choose the folder' },
  ];
  for (const c of relative) {
    it(`refuses ${JSON.stringify(c.value)}`, () => {
      expect(absolutePathError(c.value)).toContain(c.says);
    });
  }
});

describe('Windows-safe names', () => {
  const cases = [
    { name: 'CON', reserved: true, safe: '_CON' },
    { name: 'nul.txt', reserved: true, safe: '_nul.txt' },
    { name: 'COM1.fastq.gz', reserved: true, safe: '_COM1.fastq.gz' },
    { name: 'lpt9', reserved: true, safe: '_lpt9' },
    { name: 'CONSOLE', reserved: false, safe: 'CONSOLE' },
    { name: 'a:b?.vcf', reserved: false, safe: 'a_b_.vcf' },
    { name: 'trailing. ', reserved: false, safe: 'trailing' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.name)} becomes ${JSON.stringify(c.safe)}`, () => {
      expect(isReservedName(c.name)).toBe(c.reserved);
      expect(safeLocalSegment(c.name)).toBe(c.safe);
    });
  }

  it('expands each segment before making it safe', () => {
    const values = exampleValues({ clientId: 'AUX', id: 'uuid-1' });

    expect(
      expandTemplateSafely('{client_id}/{file_type}.{file_extension}', values),
    ).toBe('_AUX/impute-vcf.vcf.gz');
  });

  it('names a reserved literal segment of a template, not a token', () => {
    expect(reservedNameNote('prn/{client_id}.{file_extension}')).toContain(
      '"_prn"',
    );
    expect(reservedNameNote('{client_id}/{file_type}')).toBeNull();
  });
});
