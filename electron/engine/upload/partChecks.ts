/**
 * The content check of a multipart object, and reading its parts back for
 * sending.
 *
 * `startPartChecks` reads the object's files through their FASTQ gzip
 * checkers and gives the size and SHA-256 of every part, in order. By
 * default that runs in a worker thread (checkWorker.ts): decompressing and
 * checking is most of an upload's CPU time, and the main thread then stays
 * free to send. The uploader sends each part with the SHA-256 of the bytes
 * the checker saw, read again from disk by `openPartBody`; S3 verifies the
 * checksum, so a byte that changed in between fails that part instead of
 * slipping into the object.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { CancelledError } from '../errors.ts';
import { createFastqGzipChecker } from '../scan/fastq.ts';
import {
  CHECK_READ_CHUNK_BYTES,
  ContentError,
  LocalFileError,
  checkedPartDigests,
} from './checkedRead.ts';
import type { CheckedFile, PartDigest } from './checkedRead.ts';

/** What the checker worker is started with. */
export interface CheckWorkerData {
  files: CheckedFile[];
  partSize: number;
  /** Parts the worker may report beyond the last one taken. */
  lookahead: number;
}

/** Messages from the checker worker. */
export type FromCheckWorker =
  | { type: 'ready' }
  | ({ type: 'part' } & PartDigest)
  | { type: 'done' }
  | {
      type: 'error';
      kind: 'content' | 'local' | 'other';
      path: string;
      message: string;
    };

/** Messages to the checker worker. */
export type ToCheckWorker = { type: 'taken'; number: number };

/** A running content check; see `startPartChecks`. */
export interface PartChecks {
  /**
   * The digest of every part, in order; iterate once. The last part comes
   * only after every file passed its check. Throws ContentError,
   * LocalFileError (as readCheckedFiles does) or CancelledError.
   */
  readonly digests: AsyncIterable<PartDigest>;
  /** Stops the check if it still runs and releases its thread. */
  close(): Promise<void>;
}

export interface PartChecksOptions {
  files: readonly CheckedFile[];
  partSize: number;
  signal: AbortSignal;
  /** Parts the check may run ahead of the parts taken (default 4). */
  lookahead?: number;
  /**
   * A checker factory to run in this thread instead of the worker's
   * FASTQ gzip checker (for tests).
   */
  createChecker?: (label: string) => Transform;
  /** Told when the worker could not start and the check runs here. */
  onFallback?: (reason: string) => void;
}

// Built output keeps the source layout with .js for .ts.
const WORKER_URL = new URL(
  `./checkWorker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * startPartChecks starts checking at once (the worker boots while the
 * caller opens the multipart upload) and returns the digests to iterate.
 * Call `close()` when done, whether or not the digests were read to the
 * end. A worker that cannot start (a broken installation) is reported
 * through `onFallback` and the check runs in this thread instead.
 */
export function startPartChecks(options: PartChecksOptions): PartChecks {
  if (options.createChecker) {
    const digests = checkedPartDigests(
      options.files,
      options.partSize,
      options.createChecker,
      options.signal,
    );
    return {
      digests,
      close: async () => {
        await digests.return(undefined);
      },
    };
  }
  return new WorkerPartChecks(options);
}

class WorkerPartChecks implements PartChecks {
  readonly digests: AsyncIterable<PartDigest>;
  readonly #options: PartChecksOptions;
  readonly #queue: FromCheckWorker[] = [];
  #worker: Worker | null = null;
  #isReady = false;
  #failure: Error | null = null;
  #hasExited = false;
  #wake: (() => void) | null = null;
  #fallback: AsyncGenerator<PartDigest> | null = null;

  constructor(options: PartChecksOptions) {
    this.#options = options;
    const data: CheckWorkerData = {
      files: options.files.map((f) => ({ path: f.path, size: f.size })),
      partSize: options.partSize,
      lookahead: Math.max(1, options.lookahead ?? 4),
    };
    try {
      const worker = new Worker(WORKER_URL, { workerData: data });
      worker.on('message', (message: FromCheckWorker) => {
        if (message.type === 'ready') {
          this.#isReady = true;
        } else {
          this.#queue.push(message);
        }
        this.#notify();
      });
      worker.on('error', (err) => {
        this.#failure ??= err;
        this.#notify();
      });
      worker.on('exit', () => {
        this.#hasExited = true;
        this.#notify();
      });
      this.#worker = worker;
    } catch (err) {
      this.#failure = err instanceof Error ? err : new Error(String(err));
      this.#hasExited = true;
    }
    this.digests = this.#read();
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    await this.#fallback?.return(undefined);
    if (worker) {
      await worker.terminate();
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *#read(): AsyncGenerator<PartDigest> {
    const { signal } = this.#options;
    const onAbort = () => this.#notify();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) {
          throw new CancelledError('Cancelled.', { cause: signal.reason });
        }
        const message = this.#queue.shift();
        if (message === undefined) {
          if (this.#failure !== null || this.#hasExited) {
            if (!this.#isReady) {
              yield* this.#runHere();
              return;
            }
            throw new Error(
              `The content check stopped unexpectedly${this.#failure ? `: ${this.#failure.message}` : ''}`,
              { cause: this.#failure },
            );
          }
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        if (message.type === 'part') {
          this.#worker?.postMessage({
            type: 'taken',
            number: message.number,
          } satisfies ToCheckWorker);
          yield {
            number: message.number,
            size: message.size,
            sha256: message.sha256,
          };
        } else if (message.type === 'done') {
          return;
        } else if (message.type === 'error') {
          throw message.kind === 'content'
            ? new ContentError(message.path, message.message)
            : message.kind === 'local'
              ? new LocalFileError(message.path, message.message)
              : new Error(message.message);
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      await this.close();
    }
  }

  /** The check in this thread, when the worker could not start. */
  #runHere(): AsyncGenerator<PartDigest> {
    const reason = this.#failure?.message ?? 'the worker thread exited';
    this.#options.onFallback?.(reason);
    this.#fallback = checkedPartDigests(
      this.#options.files,
      this.#options.partSize,
      createFastqGzipChecker,
      this.#options.signal,
    );
    return this.#fallback;
  }
}

/**
 * openPartBody returns a stream of `length` bytes of the concatenation of
 * `files`, from `offset`: the bytes of one part, read from disk. It fails
 * with LocalFileError when a file cannot be read or ends early.
 */
export function openPartBody(
  files: readonly CheckedFile[],
  offset: number,
  length: number,
): Readable {
  return Readable.from(rangeChunks(files, offset, length), {
    objectMode: false,
  });
}

async function* rangeChunks(
  files: readonly CheckedFile[],
  offset: number,
  length: number,
): AsyncGenerator<Buffer> {
  let fileStart = 0;
  let position = offset;
  let remaining = length;
  for (const file of files) {
    const fileEnd = fileStart + file.size;
    if (remaining > 0 && position < fileEnd) {
      const start = position - fileStart;
      const take = Math.min(fileEnd - position, remaining);
      let got = 0;
      try {
        const input = createReadStream(file.path, {
          start,
          end: start + take - 1,
          highWaterMark: CHECK_READ_CHUNK_BYTES,
        });
        for await (const chunk of input as AsyncIterable<Buffer>) {
          got += chunk.length;
          yield chunk;
        }
      } catch (err) {
        throw new LocalFileError(
          file.path,
          `Cannot read ${file.path}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (got !== take) {
        throw new LocalFileError(
          file.path,
          `${file.path} changed while it was being uploaded: ${take} bytes expected from byte ${start}, ${got} read`,
        );
      }
      position += take;
      remaining -= take;
    }
    fileStart = fileEnd;
  }
  if (remaining > 0) {
    const last = files[files.length - 1];
    throw new LocalFileError(
      last?.path ?? '',
      `The files end ${remaining} bytes before the part that should start at byte ${offset}`,
    );
  }
}
