import { describe, expect, it } from 'vitest';

import {
  computePartSize,
  DEFAULT_PART_SIZE,
  MAX_OBJECT_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIB,
  partCount,
} from './partSize.ts';

const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

describe('partSize', () => {
  describe('computePartSize()', () => {
    const cases: { group: string; size: number; want: number }[] = [
      { group: 'small', size: 0, want: DEFAULT_PART_SIZE },
      { group: 'small', size: 1, want: DEFAULT_PART_SIZE },
      { group: 'small', size: 100 * MIB, want: DEFAULT_PART_SIZE },
      {
        group: 'boundary',
        size: DEFAULT_PART_SIZE * MAX_PARTS,
        want: DEFAULT_PART_SIZE,
      },
      {
        group: 'boundary',
        size: DEFAULT_PART_SIZE * MAX_PARTS + 1,
        want: 17 * MIB,
      },
      { group: 'large', size: 100 * GIB, want: DEFAULT_PART_SIZE },
      { group: 'large', size: 200 * GIB, want: 21 * MIB },
      { group: 'large', size: TIB, want: 105 * MIB },
      { group: 'extreme', size: MAX_OBJECT_SIZE, want: 525 * MIB },
    ];
    for (const c of cases) {
      it(`${c.group}: ${c.size} bytes -> ${c.want / MIB} MiB`, () => {
        expect(computePartSize(c.size)).toBe(c.want);
      });
    }

    it('never needs more than 10,000 parts, up to 5 TiB', () => {
      const sizes = [
        DEFAULT_PART_SIZE * MAX_PARTS + 1,
        50 * GIB + 12345,
        777 * GIB - 1,
        TIB + 1,
        3 * TIB + 999,
        MAX_OBJECT_SIZE - 1,
        MAX_OBJECT_SIZE,
      ];
      for (const size of sizes) {
        const partSize = computePartSize(size);

        expect(partCount(size, partSize)).toBeLessThanOrEqual(MAX_PARTS);
        expect(partSize % MIB).toBe(0);
        expect(partSize).toBeLessThanOrEqual(MAX_PART_SIZE);
      }
    });

    it('uses a smaller minimum when one is given (tests)', () => {
      expect(computePartSize(1000, 64 * 1024)).toBe(64 * 1024);
    });

    it('rejects sizes S3 cannot store, naming the size', () => {
      expect(() => computePartSize(MAX_OBJECT_SIZE + 1)).toThrow(
        /larger than S3's limit/,
      );
      expect(() => computePartSize(-1)).toThrow(/got -1/);
      expect(() => computePartSize(1.5)).toThrow(RangeError);
    });
  });

  describe('partCount()', () => {
    it('counts one part for an empty object', () => {
      expect(partCount(0, MIB)).toBe(1);
      expect(partCount(MIB, MIB)).toBe(1);
      expect(partCount(MIB + 1, MIB)).toBe(2);
    });
  });
});
