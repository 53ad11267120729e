import { describe, expect, it } from 'vitest';

import {
  CHECKSUM_ALGORITHMS,
  checksumOf,
  createHasher,
  decodeChecksumValue,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from './checksums.ts';

// Published check values: each algorithm applied to the ASCII text
// "123456789" (the CRC catalogue's check input), and the well-known digests.
const CHECK_VALUES: Record<ChecksumAlgorithm, string> = {
  CRC32: 'cbf43926',
  CRC32C: 'e3069283',
  CRC64NVME: 'ae8b14860a799888',
  SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
  SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
  SHA512:
    'd9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d499c95455b6b5bb503acf574fba8ffe85',
  MD5: '25f9e794323b453885f5181f1b624d0b',
};

describe('checksums', () => {
  describe('checksumOf()', () => {
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      it(`gives the published check value for ${algorithm}`, () => {
        expect(
          checksumOf(algorithm, Buffer.from('123456789')).toString('hex'),
        ).toBe(CHECK_VALUES[algorithm]);
      });
    }

    it('gives CRC32C 0 and CRC64NVME 0 for empty input', () => {
      expect(checksumOf('CRC32C', Buffer.alloc(0)).toString('hex')).toBe(
        '00000000',
      );
      expect(checksumOf('CRC64NVME', Buffer.alloc(0)).toString('hex')).toBe(
        '0000000000000000',
      );
    });
  });

  describe('createHasher()', () => {
    const data = Buffer.from(
      Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff),
    );

    for (const algorithm of CHECKSUM_ALGORITHMS) {
      for (const split of [1, 3, 8, 9, 500, 999]) {
        it(`${algorithm} fed in two pieces split at ${split} equals one-shot`, () => {
          const hasher = createHasher(algorithm);

          hasher.update(data.subarray(0, split));
          hasher.update(data.subarray(split));

          expect(hasher.digest()).toEqual(checksumOf(algorithm, data));
        });
      }
    }
  });

  describe('decodeChecksumValue()', () => {
    const cases: Array<[ChecksumAlgorithm, string, boolean]> = [
      ['CRC32', 'NSRBwg==', true],
      ['CRC32', 'NSRBwg=', false],
      ['CRC32', 'NSRBwgAA', false],
      ['CRC64NVME', 'rosUhgp5mIg=', true],
      ['SHA256', 'not base64!', false],
      ['CRC32', ' NSRBwg== ', true],
    ];
    for (const [algorithm, text, isValid] of cases) {
      it(`${isValid ? 'accepts' : 'refuses'} ${algorithm} value "${text}"`, () => {
        expect(decodeChecksumValue(algorithm, text) !== undefined).toBe(
          isValid,
        );
      });
    }
  });

  describe('parseChecksumAlgorithm()', () => {
    it('reads names in any case and refuses unknown ones', () => {
      expect(parseChecksumAlgorithm('crc64nvme')).toBe('CRC64NVME');
      expect(parseChecksumAlgorithm('XXHASH64')).toBeUndefined();
    });
  });
});
