/**
 * Reading an object's local files through their content checkers, and
 * cutting the checked bytes into part digests.
 *
 * This module imports neither the AWS SDK nor anything of the engine's
 * network side, so the checker worker (checkWorker.ts) loads it quickly.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { crc32 } from 'node:zlib';

import { CancelledError } from '../errors.ts';
import type { PlanFile } from '../../../shared/domain.ts';

/** Bytes read from disk per chunk while checking. */
export const CHECK_READ_CHUNK_BYTES = 1024 * 1024;

/**
 * ContentError: a file's bytes are not complete, valid FASTQ gzip. The
 * message names the file and the problem. Never retried.
 */
export class ContentError extends Error {
  override readonly name = 'ContentError';
  readonly jobErrorCode = 'invalid-fastq';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/**
 * LocalFileError: a local file could not be read, or changed size since it
 * was planned. The message names the file. Never retried automatically.
 */
export class LocalFileError extends Error {
  override readonly name = 'LocalFileError';
  readonly jobErrorCode = 'local-file';
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }
}

/**
 * The S3 checksum algorithms the uploader sends: CRC32 (cheap, S3's and the
 * AWS SDKs' default) or SHA-256 (binds the bytes to the request signature
 * where no TLS protects them).
 */
export type ChecksumAlgorithm = 'CRC32' | 'SHA256';

/** The size and checksum of one part, as its bytes went through the check. */
export interface PartDigest {
  /** 1-based part number. */
  number: number;
  size: number;
  /** The part's checksum, base64 as S3 writes it (big-endian for CRC32). */
  checksum: string;
}

/** An incremental checksum of one algorithm. */
interface Checksum {
  update(data: Buffer): void;
  /** The base64 value; call once. */
  digest(): string;
}

/** createChecksum starts an incremental checksum of `algorithm`. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  if (algorithm === 'SHA256') {
    const hash = createHash('sha256');
    return {
      update: (data) => hash.update(data),
      digest: () => hash.digest('base64'),
    };
  }
  let value = 0;
  return {
    update: (data) => {
      value = crc32(data, value);
    },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out.toString('base64');
    },
  };
}

/** The fields of a plan file that reading needs. */
export type CheckedFile = Pick<PlanFile, 'path' | 'size'>;

/**
 * readCheckedFiles yields the bytes of `files`, in order, each file passed
 * through its own checker. Throws ContentError when a checker rejects a
 * file, LocalFileError when a file cannot be read or its size differs from
 * the plan, CancelledError when `signal` aborts.
 */
export async function* readCheckedFiles(
  files: readonly CheckedFile[],
  createChecker: (label: string) => Transform,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  for (const file of files) {
    throwIfCancelled(signal);
    const input = createReadStream(file.path, {
      highWaterMark: CHECK_READ_CHUNK_BYTES,
    });
    const checker = createChecker(file.path);
    input.on('error', (err) => {
      checker.destroy(
        new LocalFileError(
          file.path,
          `Cannot read ${file.path}: ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    });
    input.pipe(checker);
    let bytes = 0;
    try {
      for await (const chunk of checker as AsyncIterable<Buffer>) {
        throwIfCancelled(signal);
        bytes += chunk.length;
        if (bytes > file.size) {
          throw new LocalFileError(
            file.path,
            `${file.path} grew since it was planned (${file.size} bytes expected): is it still being written?`,
          );
        }
        yield chunk;
      }
    } catch (err) {
      throwIfCancelled(signal);
      if (err instanceof LocalFileError || err instanceof ContentError) {
        throw err;
      }
      throw new ContentError(file.path, withFileName(file.path, err), {
        cause: err,
      });
    } finally {
      input.destroy();
      checker.destroy();
    }
    if (bytes !== file.size) {
      throw new LocalFileError(
        file.path,
        `${file.path} changed since it was planned: ${file.size} bytes expected, ${bytes} read`,
      );
    }
  }
}

/**
 * PartDigester cuts the bytes given to `update` into parts of exactly
 * `partSize` bytes (the last one shorter; one empty part when no byte came)
 * and keeps each part's size and checksum, never the bytes themselves.
 * `take` hands out the parts finished so far; `end` finishes the last one.
 */
export class PartDigester {
  readonly #partSize: number;
  readonly #algorithm: ChecksumAlgorithm;
  #checksum: Checksum;
  #size = 0;
  #number = 1;
  #done: PartDigest[] = [];
  #hasEnded = false;

  constructor(partSize: number, algorithm: ChecksumAlgorithm) {
    if (!Number.isSafeInteger(partSize) || partSize < 1) {
      throw new RangeError(
        `Part size must be a positive whole number, got ${partSize}`,
      );
    }
    this.#partSize = partSize;
    this.#algorithm = algorithm;
    this.#checksum = createChecksum(algorithm);
  }

  update(chunk: Buffer): void {
    while (chunk.length > 0) {
      const take = Math.min(this.#partSize - this.#size, chunk.length);
      this.#checksum.update(
        take === chunk.length ? chunk : chunk.subarray(0, take),
      );
      this.#size += take;
      chunk = chunk.subarray(take);
      if (this.#size === this.#partSize) {
        this.#done.push({
          number: this.#number++,
          size: this.#size,
          checksum: this.#checksum.digest(),
        });
        this.#checksum = createChecksum(this.#algorithm);
        this.#size = 0;
      }
    }
  }

  /** Bytes given since the last finished part. */
  get pending(): number {
    return this.#size;
  }

  /** take returns the parts finished since the last call, in order. */
  take(): PartDigest[] {
    const done = this.#done;
    this.#done = [];
    return done;
  }

  /**
   * end finishes the last part (if bytes are pending, or no part was made
   * at all) and returns the parts not taken yet. Call it once.
   */
  end(): PartDigest[] {
    if (!this.#hasEnded) {
      this.#hasEnded = true;
      if (this.#size > 0 || this.#number === 1) {
        this.#done.push({
          number: this.#number++,
          size: this.#size,
          checksum: this.#checksum.digest(),
        });
      }
    }
    return this.take();
  }
}

/**
 * digestParts cuts a byte stream into parts of exactly `partSize` bytes
 * (the last one shorter; one empty part for an empty stream) and yields
 * each part's size and checksum, without holding the part's bytes. The
 * last part is yielded only once the source has ended without error (a
 * full part is held back until a byte of the next one arrives), so a
 * consumer that sees it knows the whole stream passed.
 */
export async function* digestParts(
  source: AsyncIterable<Buffer>,
  partSize: number,
  algorithm: ChecksumAlgorithm,
): AsyncGenerator<PartDigest> {
  const digester = new PartDigester(partSize, algorithm);
  let held: PartDigest | null = null;
  for await (const chunk of source) {
    if (chunk.length === 0) {
      continue;
    }
    if (held) {
      // A byte of the next part arrived: the held part is not the last.
      yield held;
      held = null;
    }
    digester.update(chunk);
    const parts = digester.take();
    // A part that ended exactly at the end of the chunk may be the last.
    held = digester.pending === 0 ? (parts.pop() ?? null) : null;
    yield* parts;
  }
  const rest = digester.end();
  if (held) {
    yield held;
  }
  yield* rest;
}

/**
 * checkedPartDigests reads `files` through their checkers (as
 * readCheckedFiles does, with the same errors) and yields the digest of
 * every part of their concatenation.
 */
export function checkedPartDigests(
  files: readonly CheckedFile[],
  partSize: number,
  algorithm: ChecksumAlgorithm,
  createChecker: (label: string) => Transform,
  signal: AbortSignal,
): AsyncGenerator<PartDigest> {
  return digestParts(
    readCheckedFiles(files, createChecker, signal),
    partSize,
    algorithm,
  );
}

function withFileName(path: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.includes(path) ? message : `${path}: ${message}`;
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new CancelledError('Cancelled.', { cause: signal.reason });
  }
}
