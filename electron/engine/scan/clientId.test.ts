import { describe, expect, it } from 'vitest';

import {
  MAX_CLIENT_ID_LENGTH,
  clientIdKey,
  clientIdProblem,
  isValidClientId,
  toClientId,
} from './clientId.ts';

describe('clientId', () => {
  describe('toClientId()', () => {
    const groups: {
      heading: string;
      cases: [string, string, RegExp | null][];
    }[] = [
      {
        heading: 'unchanged',
        cases: [
          ['SAMPLE1', 'SAMPLE1', null],
          ['Échantillon-10', 'Échantillon-10', null],
          ['样本11', '样本11', null],
          ['412', '412', null],
          ['Illimina1.8', 'Illimina1.8', null],
        ],
      },
      {
        heading: 'underscores and spaces',
        cases: [
          ['CTR_5', 'CTR-5', /'_' became '-'/i],
          [
            '11288HJpool10__11155GE0097L01',
            '11288HJpool10--11155GE0097L01',
            /'_'/,
          ],
          ['SAMPLE 9', 'SAMPLE-9', /spaces became '-'/i],
          ['  a \t b  ', 'a-b', /surrounding spaces removed/i],
          ['_lead_', 'lead', /leading and trailing '-' removed/i],
        ],
      },
      {
        heading: 'unsafe characters',
        cases: [
          ['a/b\\c', 'a-b-c', /'\/' and '\\' became '-'/],
          [`a${String.fromCharCode(1)}b`, 'ab', /control characters removed/i],
          ['E\u0301chantillon', 'Échantillon', /NFC/],
        ],
      },
      {
        heading: 'extremes',
        cases: [
          ['', 'sample', /nothing was left/i],
          ['___', 'sample', /nothing was left/i],
          ['x'.repeat(300), 'x'.repeat(MAX_CLIENT_ID_LENGTH), /cut to 250/i],
          ['样'.repeat(251), '样'.repeat(MAX_CLIENT_ID_LENGTH), /cut to 250/i],
        ],
      },
    ];
    for (const { heading, cases } of groups) {
      describe(heading, () => {
        for (const [input, expected, why] of cases) {
          it(`turns ${JSON.stringify(input.slice(0, 40))} into ${JSON.stringify(expected.slice(0, 40))}`, () => {
            const result = toClientId(input);

            expect(result.clientId).toBe(expected);
            expect(result.changed).toBe(expected !== input);
            if (why === null) expect(result.why).toBe('');
            else expect(result.why).toMatch(why);
            expect(isValidClientId(result.clientId)).toBe(true);
          });
        }
      });
    }

    it('never cuts a character in half', () => {
      const emoji = '😀'.repeat(260);

      const { clientId } = toClientId(emoji);

      expect(Array.from(clientId)).toHaveLength(MAX_CLIENT_ID_LENGTH);
      expect(Buffer.from(clientId, 'utf8').toString('utf8')).toBe(clientId);
    });
  });

  describe('clientIdProblem()', () => {
    const cases: [string, RegExp | null][] = [
      ['good-id', null],
      ['SAMPLE 9', null],
      ['', /empty/],
      ['a_b', /'_'/],
      ['a/b', /'\/'/],
      [' a', /white space/],
      [`a${String.fromCharCode(0x7f)}`, /control/],
      ['x'.repeat(251), /longer than 250/],
    ];
    for (const [id, problem] of cases) {
      it(`${problem === null ? 'accepts' : 'refuses'} ${JSON.stringify(id.slice(0, 20))}`, () => {
        const found = clientIdProblem(id);

        if (problem === null) expect(found).toBeNull();
        else expect(found).toMatch(problem);
        expect(isValidClientId(id)).toBe(problem === null);
      });
    }
  });

  describe('clientIdKey()', () => {
    it('compares ids without regard to case or normal form', () => {
      expect(clientIdKey('SAMPLE6')).toBe(clientIdKey('sample6'));
      expect(clientIdKey('E\u0301')).toBe(clientIdKey('é'));
      expect(clientIdKey('a')).not.toBe(clientIdKey('b'));
    });
  });
});
