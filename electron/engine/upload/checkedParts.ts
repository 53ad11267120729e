/**
 * Part checksums of objects whose content the plan has already checked.
 *
 * The plan's content check reads every byte of every file (gzip integrity
 * and FASTQ records). While it does, it can cut each object (the files of
 * one sample and read, in lane and chunk order) into the parts its upload
 * will use and keep the CRC32 of each part. An upload that starts while the
 * files are unchanged then sends its parts with those checksums instead of
 * decompressing everything a second time; S3 verifies each part against its
 * checksum, so the object is exactly the bytes that passed the check, or
 * the part fails. A file changed since the check (size or modification
 * time) is not taken from here: its upload checks it again in the stream.
 */
import { stat } from 'node:fs/promises';

import { PartDigester } from './checkedRead.ts';
import type { ChecksumAlgorithm, PartDigest } from './checkedRead.ts';
import { DEFAULT_PART_SIZE, digestPartSize } from './partSize.ts';

/** One file of an object, as the plan lists it. */
export interface ObjectFile {
  path: string;
  size: number;
}

/**
 * What the plan's content check feeds with an object's bytes: every chunk
 * of its files in upload order, then `end` once, `ok` only when every file
 * passed its check.
 */
export interface ObjectContentTap {
  update(chunk: Buffer): void;
  end(ok: boolean): void;
}

/** The checksum the plan computes: the one of uploads to S3 and the sandbox. */
const PLAN_ALGORITHM: ChecksumAlgorithm = 'CRC32';

/** Objects remembered at most; the oldest are forgotten first. */
const DEFAULT_MAX_OBJECTS = 20_000;

interface Entry {
  /** The object's files (see filesKeyOf). */
  files: string;
  /** Modification time of each file when the check started, in ms. */
  mtimes: number[];
  digests: PartDigest[];
}

/**
 * CheckedParts remembers, per object, the part checksums the plan's check
 * computed. One instance serves one engine: the plan feeds it through
 * `tap`, the uploads read it through `take`.
 */
export class CheckedParts {
  readonly #minPartSize: number;
  readonly #maxObjects: number;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: { minPartSize?: number; maxObjects?: number } = {}) {
    this.#minPartSize = opts.minPartSize ?? DEFAULT_PART_SIZE;
    this.#maxObjects = Math.max(1, opts.maxObjects ?? DEFAULT_MAX_OBJECTS);
  }

  /** The number of objects remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * tap returns what the check of `files` (one object, in upload order)
   * feeds. The files' modification times are read first, so a change made
   * while the check reads them is seen later. Returns null when a file
   * cannot be looked at (the check then reports it).
   */
  async tap(files: readonly ObjectFile[]): Promise<ObjectContentTap | null> {
    let mtimes: number[];
    try {
      mtimes = await Promise.all(
        files.map(async (f) => (await stat(f.path)).mtimeMs),
      );
    } catch {
      return null;
    }
    const size = files.reduce((sum, f) => sum + f.size, 0);
    const partSize = digestPartSize(size, this.#minPartSize);
    const key = keyOf(files, partSize, PLAN_ALGORITHM);
    // A check of the same files again replaces what an older one found.
    this.#entries.delete(key);
    const digester = new PartDigester(partSize, PLAN_ALGORITHM);
    let bytes = 0;
    let hasEnded = false;
    return {
      update: (chunk) => {
        if (!hasEnded) {
          bytes += chunk.length;
          digester.update(chunk);
        }
      },
      end: (ok) => {
        if (hasEnded) {
          return;
        }
        hasEnded = true;
        if (ok && bytes === size) {
          this.#remember(key, {
            files: filesKeyOf(files),
            mtimes,
            digests: digester.end(),
          });
        }
      },
    };
  }

  /**
   * take returns the part checksums of the object made of `files` (in
   * upload order) with parts of `partSize` bytes and `algorithm`, when the
   * plan checked exactly these files and none has changed since; otherwise
   * null, and the upload must check the content itself.
   */
  async take(
    files: readonly ObjectFile[],
    partSize: number,
    algorithm: ChecksumAlgorithm,
  ): Promise<PartDigest[] | null> {
    const key = keyOf(files, partSize, algorithm);
    const entry = this.#entries.get(key);
    if (!entry) {
      return null;
    }
    try {
      const now = await Promise.all(files.map((f) => stat(f.path)));
      const unchanged = now.every(
        (st, i) => st.size === files[i]!.size && st.mtimeMs === entry.mtimes[i],
      );
      if (unchanged) {
        return entry.digests;
      }
    } catch {
      // Gone or unreadable: the upload's own read says so.
    }
    this.#entries.delete(key);
    return null;
  }

  /**
   * forget drops what the check found for an object made of `files`
   * (whatever its part size): its bytes turned out to differ, so its next
   * upload must check the content itself.
   */
  forget(files: readonly ObjectFile[]): void {
    const wanted = filesKeyOf(files);
    for (const [key, entry] of this.#entries) {
      if (entry.files === wanted) {
        this.#entries.delete(key);
      }
    }
  }

  #remember(key: string, entry: Entry): void {
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxObjects) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

function keyOf(
  files: readonly ObjectFile[],
  partSize: number,
  algorithm: ChecksumAlgorithm,
): string {
  return JSON.stringify([partSize, algorithm, filesKeyOf(files)]);
}

function filesKeyOf(files: readonly ObjectFile[]): string {
  return JSON.stringify(files.map((f) => [f.path, f.size]));
}
