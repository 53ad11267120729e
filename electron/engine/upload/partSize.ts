/**
 * Part sizing for S3 multipart uploads. S3 allows at most 10,000 parts per
 * object, parts of at most 5 GiB, and objects of at most 5 TiB.
 */

export const MIB = 1024 * 1024;

/**
 * Default (and smallest production) part size. Parts are streamed from
 * disk, so their size costs no memory; larger parts mean fewer requests and
 * journal writes per object.
 */
export const DEFAULT_PART_SIZE = 16 * MIB;

/** S3's limit on the number of parts of one object. */
export const MAX_PARTS = 10_000;

/** S3's largest object. */
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MIB;

/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MIB;

/**
 * computePartSize returns the part size for an object of `size` bytes:
 * `minPartSize` (default 16 MiB) or, when that would need more than 10,000
 * parts, ceil(size / 10,000) rounded up to a whole MiB. Throws RangeError
 * for a negative or non-integer size, or one above S3's 5 TiB limit.
 *
 * `minPartSize` below 8 MiB is meant for tests against the sandbox (real S3
 * rejects parts under 5 MiB except the last one).
 */
export function computePartSize(
  size: number,
  minPartSize: number = DEFAULT_PART_SIZE,
): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(
      `Object size must be a whole number of bytes, got ${size}`,
    );
  }
  if (size > MAX_OBJECT_SIZE) {
    throw new RangeError(
      `An object of ${size} bytes is larger than S3's limit of 5 TiB (${MAX_OBJECT_SIZE} bytes)`,
    );
  }
  if (!Number.isSafeInteger(minPartSize) || minPartSize < 1) {
    throw new RangeError(
      `Part size must be a positive whole number, got ${minPartSize}`,
    );
  }
  const needed = Math.ceil(size / MAX_PARTS);
  if (needed <= minPartSize) {
    return minPartSize;
  }
  return Math.ceil(needed / MIB) * MIB;
}

/** partCount returns how many parts an object of `size` bytes needs. */
export function partCount(size: number, partSize: number): number {
  return size === 0 ? 1 : Math.ceil(size / partSize);
}

/**
 * digestPartSize returns the part size an upload checks an object of
 * `size` bytes with: the whole object as one part when it is smaller than
 * one part (it goes as a single PutObject; an empty object still has one
 * empty part), else `computePartSize(size, minPartSize)`.
 */
export function digestPartSize(
  size: number,
  minPartSize: number = DEFAULT_PART_SIZE,
): number {
  const partSize = computePartSize(size, minPartSize);
  return size < partSize ? Math.max(1, size) : partSize;
}
