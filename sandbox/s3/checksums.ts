/**
 * Checksums the S3 endpoint verifies and reports: the flexible-checksum
 * algorithms of the `x-amz-checksum-*` headers and trailers (CRC32, CRC32C,
 * CRC64NVME, SHA1, SHA256, SHA512, MD5), plus helpers for their wire form.
 *
 * CRC32 comes from node:zlib; CRC32C and CRC64NVME are not in Node, so they are
 * table-driven implementations here (reflected, as S3 defines them).
 */

import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** A flexible-checksum algorithm, spelled as in `x-amz-checksum-algorithm`. */
export type ChecksumAlgorithm =
  'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256' | 'SHA512' | 'MD5';

/** Every algorithm this endpoint can verify, in S3's priority order. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  'CRC64NVME',
  'CRC32',
  'CRC32C',
  'SHA1',
  'SHA256',
  'SHA512',
  'MD5',
];

/** Algorithms S3 defines that this endpoint does not implement. */
export const UNSUPPORTED_CHECKSUM_ALGORITHMS: readonly string[] = [
  'XXHASH64',
  'XXHASH3',
  'XXHASH128',
];

const DIGEST_LENGTH: Record<ChecksumAlgorithm, number> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
  SHA512: 64,
  MD5: 16,
};

/** An incremental hash: feed bytes with update(), read the result once. */
export interface Hasher {
  update(data: Uint8Array): void;
  /** The raw digest, big-endian for the CRCs (as S3 encodes them). */
  digest(): Buffer;
}

/**
 * parseChecksumAlgorithm returns the algorithm named by `value` (any case), or
 * undefined when the name is not one this endpoint implements.
 */
export function parseChecksumAlgorithm(
  value: string,
): ChecksumAlgorithm | undefined {
  const upper = value.trim().toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper)
    ? (upper as ChecksumAlgorithm)
    : undefined;
}

/** checksumHeaderName gives the header (and trailer) carrying `algorithm`. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** checksumXmlName gives the XML element name, e.g. `ChecksumCRC32`. */
export function checksumXmlName(algorithm: ChecksumAlgorithm): string {
  return `Checksum${algorithm}`;
}

/**
 * decodeChecksumValue parses a base64 checksum as sent by clients. Returns the
 * raw digest, or undefined when the text is not canonical base64 of the
 * algorithm's digest length.
 */
export function decodeChecksumValue(
  algorithm: ChecksumAlgorithm,
  text: string,
): Buffer | undefined {
  const value = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    return undefined;
  }
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== DIGEST_LENGTH[algorithm]) {
    return undefined;
  }
  return raw.toString('base64') === value ? raw : undefined;
}

/** createHasher returns a fresh incremental hasher for `algorithm`. */
export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Hasher();
    case 'CRC32C':
      return new Crc32cHasher();
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
    case 'SHA1':
      return new NodeHasher(createHash('sha1'));
    case 'SHA256':
      return new NodeHasher(createHash('sha256'));
    case 'SHA512':
      return new NodeHasher(createHash('sha512'));
    case 'MD5':
      return new NodeHasher(createHash('md5'));
  }
}

/** checksumOf hashes a whole buffer at once (for small bodies and tests). */
export function checksumOf(
  algorithm: ChecksumAlgorithm,
  data: Uint8Array,
): Buffer {
  const hasher = createHasher(algorithm);
  hasher.update(data);
  return hasher.digest();
}

class NodeHasher implements Hasher {
  readonly #hash: Hash;

  constructor(hash: Hash) {
    this.#hash = hash;
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  digest(): Buffer {
    return this.#hash.digest();
  }
}

class Crc32Hasher implements Hasher {
  #value = 0;

  update(data: Uint8Array): void {
    this.#value = crc32(data, this.#value);
  }

  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.#value >>> 0);
    return out;
  }
}

/** Reflected CRC-32C (Castagnoli) polynomial. */
const CRC32C_POLY = 0x82f63b78;

/**
 * Slicing-by-8 tables for CRC32C: table k (at offset 256*k) gives the CRC of a
 * byte followed by k zero bytes, so eight input bytes fold in one step.
 */
const CRC32C_TABLES = buildCrc32cTables();

function buildCrc32cTables(): Uint32Array {
  const tables = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    }
    tables[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n];
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ tables[c & 0xff];
      tables[k * 256 + n] = c >>> 0;
    }
  }
  return tables;
}

class Crc32cHasher implements Hasher {
  #crc = 0xffffffff;

  update(data: Uint8Array): void {
    const t = CRC32C_TABLES;
    let crc = this.#crc;
    let i = 0;
    const fast = data.length - (data.length % 8);
    while (i < fast) {
      const lo =
        (crc ^
          (data[i] |
            (data[i + 1] << 8) |
            (data[i + 2] << 16) |
            (data[i + 3] << 24))) >>>
        0;
      crc =
        t[7 * 256 + (lo & 0xff)] ^
        t[6 * 256 + ((lo >>> 8) & 0xff)] ^
        t[5 * 256 + ((lo >>> 16) & 0xff)] ^
        t[4 * 256 + (lo >>> 24)] ^
        t[3 * 256 + data[i + 4]] ^
        t[2 * 256 + data[i + 5]] ^
        t[256 + data[i + 6]] ^
        t[data[i + 7]];
      i += 8;
    }
    for (; i < data.length; i++) {
      crc = (crc >>> 8) ^ t[(crc ^ data[i]) & 0xff];
    }
    this.#crc = crc >>> 0;
  }

  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE((this.#crc ^ 0xffffffff) >>> 0);
    return out;
  }
}

/** Reflected CRC-64/NVME polynomial. */
const CRC64NVME_POLY = 0x9a6c9329ac4bc9b5n;

/**
 * The CRC64NVME byte table split into 32-bit halves, so the hot loop works on
 * plain numbers instead of BigInt.
 */
const CRC64NVME_TABLE = buildCrc64NvmeTable();

function buildCrc64NvmeTable(): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let bit = 0; bit < 8; bit++) {
      c = c & 1n ? (c >> 1n) ^ CRC64NVME_POLY : c >> 1n;
    }
    hi[n] = Number(c >> 32n);
    lo[n] = Number(c & 0xffffffffn);
  }
  return { hi, lo };
}

class Crc64NvmeHasher implements Hasher {
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  update(data: Uint8Array): void {
    const { hi: tHi, lo: tLo } = CRC64NVME_TABLE;
    let hi = this.#hi;
    let lo = this.#lo;
    for (let i = 0; i < data.length; i++) {
      const index = (lo ^ data[i]) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ tLo[index]) >>> 0;
      hi = ((hi >>> 8) ^ tHi[index]) >>> 0;
    }
    this.#hi = hi;
    this.#lo = lo;
  }

  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE((this.#hi ^ 0xffffffff) >>> 0, 0);
    out.writeUInt32BE((this.#lo ^ 0xffffffff) >>> 0, 4);
    return out;
  }
}
