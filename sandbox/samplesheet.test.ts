import { describe, expect, it } from 'vitest';

import { groupSheetRows, type SheetUpload } from './samplesheet.ts';

function uploads(paths: string[]): SheetUpload[] {
  return paths.map((destinationPath, i) => ({
    id: `u${String(i).padStart(2, '0')}`,
    destinationPath,
    created: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000000Z`,
    modified: `2026-01-01T00:01:${String(i).padStart(2, '0')}.000000Z`,
  }));
}

function shape(rows: ReturnType<typeof groupSheetRows>): string[] {
  return rows.map((r) => `${r.clientId}:${r.r1?.id ?? '-'}/${r.r2?.id ?? '-'}`);
}

describe('samplesheet', () => {
  describe('groupSheetRows()', () => {
    it('pairs R1 and R2 of one client id in one folder', () => {
      const rows = groupSheetRows(
        uploads(['gncv://b/S1_R1.fastq.gz', 'gncv://b/S1_R2.fastq.gz']),
        'created',
        'asc',
      );

      expect(shape(rows)).toEqual(['S1:u00/u01']);
    });

    it('keeps the same client id in different folders apart', () => {
      const rows = groupSheetRows(
        uploads([
          'gncv://b/run1/S1_R1.fastq.gz',
          'gncv://b/run2/S1_R1.fastq.gz',
          'gncv://b/run2/S1_R2.fastq.gz',
        ]),
        'created',
        'asc',
      );

      expect(shape(rows)).toEqual(['S1:u00/-', 'S1:u01/u02']);
    });

    it('pairs repeated reads of one client id in upload order', () => {
      const rows = groupSheetRows(
        uploads([
          'gncv://b/S1_L001_R1.fastq.gz',
          'gncv://b/S1_L002_R1.fastq.gz',
          'gncv://b/S1_L001_R2.fastq.gz',
          'gncv://b/S1_L002_R2.fastq.gz',
        ]),
        'created',
        'asc',
      );

      expect(shape(rows)).toEqual(['S1:u00/u02', 'S1:u01/u03']);
    });

    it('makes a single-end row for a name without a read token and an r1-less row for a lone R2', () => {
      const rows = groupSheetRows(
        uploads(['gncv://b/test.fastq.gz', 'gncv://b/S2_R2.fastq.gz']),
        'created',
        'asc',
      );

      expect(shape(rows)).toEqual(['test:u00/-', 'S2:-/u01']);
    });

    it('sorts rows by created or modified in either order', () => {
      const list = uploads([
        'gncv://b/A_R1.fastq.gz',
        'gncv://b/B_R1.fastq.gz',
        'gncv://b/C_R1.fastq.gz',
      ]);
      list[0].modified = '2026-01-02T00:00:00.000000Z';

      expect(shape(groupSheetRows(list, 'created', 'desc'))).toEqual([
        'C:u02/-',
        'B:u01/-',
        'A:u00/-',
      ]);
      expect(shape(groupSheetRows(list, 'modified', 'desc'))).toEqual([
        'A:u00/-',
        'C:u02/-',
        'B:u01/-',
      ]);
    });
  });
});
