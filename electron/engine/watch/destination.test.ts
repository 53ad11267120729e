/** Batch folders of watched runs. */
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../errors.ts';
import { runDestination, safeGncvSegment } from './destination.ts';

describe('destination', () => {
  describe('safeGncvSegment()', () => {
    const cases: [input: string, expected: string][] = [
      // Kept as they are.
      ['210628_VH00567_1_AAAGLG7HV', '210628_VH00567_1_AAAGLG7HV'],
      [
        '120110_M00119_0068_AMS0002022-00300',
        '120110_M00119_0068_AMS0002022-00300',
      ],
      ['Échantillon.v2', 'Échantillon.v2'],
      // Made safe.
      ['Sandbox Human low-pass', 'Sandbox-Human-low-pass'],
      ['a/b\\c?d#e', 'a-b-c-d-e'],
      ['  --.hidden.--  ', 'hidden'],
      ['Cafe\u0301', 'Café'],
      // Nothing left, or too long.
      ['///', 'fallback'],
      ['', 'fallback'],
      ['x'.repeat(150), 'x'.repeat(100)],
    ];
    for (const [input, expected] of cases) {
      it(`turns ${JSON.stringify(input.slice(0, 30))} into ${JSON.stringify(expected.slice(0, 30))}`, () => {
        expect(safeGncvSegment(input, 'fallback')).toBe(expected);
      });
    }
  });

  describe('runDestination()', () => {
    it('uses the project name and the run folder by default', () => {
      expect(
        runDestination({
          base: null,
          projectName: 'Sandbox Human low-pass',
          runFolderName: '210628_VH00567_1_AAAGLG7HV',
        }),
      ).toBe('gncv://Sandbox-Human-low-pass/210628_VH00567_1_AAAGLG7HV/');
    });

    it('puts the run folder under a destination the user gave', () => {
      expect(
        runDestination({
          base: 'gncv://lab/runs//',
          projectName: 'ignored',
          runFolderName: 'RUN 7',
        }),
      ).toBe('gncv://lab/runs/RUN-7/');
    });

    it('refuses a destination that is not gncv://', () => {
      expect(() =>
        runDestination({
          base: 's3://bucket/',
          projectName: 'p',
          runFolderName: 'r',
        }),
      ).toThrow(ValidationError);
    });
  });
});
