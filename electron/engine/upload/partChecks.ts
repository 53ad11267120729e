/**
 * The content check of an object, run in the process's checker thread.
 *
 * `startPartChecks` reads the object's files through their FASTQ gzip
 * checkers and gives the size and checksum of every part, in order. That
 * runs in a worker thread (checkWorker.ts): decompressing and checking is
 * most of an upload's CPU time, and the main thread then stays free to
 * send. One thread serves every check of the process, so its memory is
 * that of one JavaScript heap however many files are checked at once (a
 * second thread would cost some 90 MiB of resident memory). The
 * uploader sends each part with the checksum of the bytes the checker saw,
 * read again from disk (requestHandler.ts); S3 verifies the checksum, so a
 * byte that changed in between fails that part instead of slipping into
 * the object.
 */
import path from 'node:path';
import type { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { CancelledError } from '../errors.ts';
import { createFastqGzipChecker } from '../scan/fastq.ts';
import {
  ContentError,
  LocalFileError,
  checkedPartDigests,
} from './checkedRead.ts';
import type {
  CheckedFile,
  ChecksumAlgorithm,
  PartDigest,
} from './checkedRead.ts';

/** One content check, as the checker thread is asked to run it. */
export interface CheckJob {
  id: number;
  files: CheckedFile[];
  partSize: number;
  algorithm: ChecksumAlgorithm;
  /** Parts the job may report beyond the last one taken. */
  lookahead: number;
}

/** Messages to the checker thread. */
export type ToCheckWorker =
  | { type: 'start'; job: CheckJob }
  | { type: 'taken'; id: number; number: number }
  | { type: 'cancel'; id: number };

/** Messages from the checker thread. */
export type FromCheckWorker =
  | { type: 'ready' }
  | ({ type: 'part'; id: number } & PartDigest)
  | { type: 'done'; id: number }
  | { type: 'cancelled'; id: number }
  | {
      type: 'error';
      id: number;
      kind: 'content' | 'local' | 'other';
      path: string;
      message: string;
    };

/** A running content check; see `startPartChecks`. */
export interface PartChecks {
  /**
   * The digest of every part, in order; iterate once. The last part comes
   * only after every file passed its check. Throws ContentError,
   * LocalFileError (as readCheckedFiles does) or CancelledError.
   */
  readonly digests: AsyncIterable<PartDigest>;
  /** Stops the check if it still runs; resolves once it has stopped. */
  close(): Promise<void>;
}

export interface PartChecksOptions {
  files: readonly CheckedFile[];
  partSize: number;
  /** The checksum of each part. */
  algorithm: ChecksumAlgorithm;
  signal: AbortSignal;
  /** Parts the check may run ahead of the parts taken (default 4). */
  lookahead?: number;
  /**
   * A checker factory to run in this thread instead of the checker
   * thread's FASTQ gzip checker (for tests).
   */
  createChecker?: (label: string) => Transform;
  /** Told when the checker thread could not start and the check runs here. */
  onFallback?: (reason: string) => void;
  /**
   * The part digests of a check already made of exactly these files, part
   * size and algorithm (checkedParts.ts): they are given as they are and
   * nothing is read again.
   */
  known?: readonly PartDigest[];
}

// Built output keeps the source layout with .js for .ts.
const WORKER_URL = new URL(
  `./checkWorker${path.extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/**
 * startPartChecks starts checking at once (so that it runs while the
 * caller opens the multipart upload) and returns the digests to iterate.
 * Call `close()` when done, whether or not the digests were read to the
 * end. The check runs in the process's checker thread; when that thread
 * cannot start (a broken installation), `onFallback` is told and the check
 * runs in this thread instead.
 */
export function startPartChecks(options: PartChecksOptions): PartChecks {
  if (options.known) {
    return alreadyChecked(options.known, options.signal);
  }
  if (options.createChecker) {
    return inThisThread(options, options.createChecker);
  }
  return new ThreadPartChecks(options, checkerThread());
}

function inThisThread(
  options: PartChecksOptions,
  createChecker: (label: string) => Transform,
): PartChecks {
  const digests = checkedPartDigests(
    options.files,
    options.partSize,
    options.algorithm,
    createChecker,
    options.signal,
  );
  return {
    digests,
    close: async () => {
      await digests.return(undefined);
    },
  };
}

function alreadyChecked(
  known: readonly PartDigest[],
  signal: AbortSignal,
): PartChecks {
  async function* digests(): AsyncGenerator<PartDigest> {
    for (const digest of known) {
      if (signal.aborted) {
        throw new CancelledError('Cancelled.', { cause: signal.reason });
      }
      yield { ...digest };
    }
  }
  const iterator = digests();
  return {
    digests: iterator,
    close: async () => {
      await iterator.return(undefined);
    },
  };
}

/** What the checker thread reports to one check. */
interface CheckListener {
  onMessage(message: FromCheckWorker): void;
  /** The thread is gone; `beforeReady` when it never started. */
  onThreadLost(error: Error, beforeReady: boolean): void;
}

/**
 * CheckerThread owns the worker thread that runs the checks of this
 * process. It is started on first use, does not keep the process alive
 * while no check runs, and is started again after a crash.
 */
class CheckerThread {
  readonly #listeners = new Map<number, CheckListener>();
  #worker: Worker | null = null;
  #isReady = false;
  #nextId = 1;

  /** start runs `job` (its id is assigned here) and returns the id. */
  start(job: Omit<CheckJob, 'id'>, listener: CheckListener): number {
    const id = this.#nextId++;
    const worker = this.#spawn();
    this.#listeners.set(id, listener);
    worker.ref();
    worker.postMessage({
      type: 'start',
      job: { ...job, id },
    } satisfies ToCheckWorker);
    return id;
  }

  taken(id: number, number: number): void {
    this.#worker?.postMessage({
      type: 'taken',
      id,
      number,
    } satisfies ToCheckWorker);
  }

  cancel(id: number): void {
    this.#worker?.postMessage({ type: 'cancel', id } satisfies ToCheckWorker);
  }

  /** forget stops reporting to check `id` (it has ended). */
  forget(id: number): void {
    this.#listeners.delete(id);
    if (this.#listeners.size === 0) {
      this.#worker?.unref();
    }
  }

  #spawn(): Worker {
    if (this.#worker) {
      return this.#worker;
    }
    const worker = new Worker(WORKER_URL);
    this.#isReady = false;
    worker.on('message', (message: FromCheckWorker) => {
      if (message.type === 'ready') {
        this.#isReady = true;
        return;
      }
      this.#listeners.get(message.id)?.onMessage(message);
    });
    const lose = (error: Error) => {
      if (this.#worker !== worker) {
        return;
      }
      this.#worker = null;
      const listeners = [...this.#listeners.values()];
      this.#listeners.clear();
      for (const listener of listeners) {
        listener.onThreadLost(error, !this.#isReady);
      }
    };
    worker.on('error', (err: unknown) =>
      lose(err instanceof Error ? err : new Error(String(err))),
    );
    worker.on('exit', (code) =>
      lose(new Error(`the checker thread exited with code ${code}`)),
    );
    this.#worker = worker;
    return worker;
  }
}

let sharedThread: CheckerThread | null = null;

function checkerThread(): CheckerThread {
  sharedThread ??= new CheckerThread();
  return sharedThread;
}

class ThreadPartChecks implements PartChecks {
  readonly digests: AsyncIterable<PartDigest>;
  readonly #options: PartChecksOptions;
  readonly #thread: CheckerThread;
  readonly #queue: FromCheckWorker[] = [];
  readonly #id: number;
  #lost: { error: Error; beforeReady: boolean } | null = null;
  #hasEnded = false;
  readonly #waiters = new Set<() => void>();
  #fallback: PartChecks | null = null;

  constructor(options: PartChecksOptions, thread: CheckerThread) {
    this.#options = options;
    this.#thread = thread;
    let id = 0;
    try {
      id = thread.start(
        {
          files: options.files.map((f) => ({ path: f.path, size: f.size })),
          partSize: options.partSize,
          algorithm: options.algorithm,
          lookahead: Math.max(1, options.lookahead ?? 4),
        },
        {
          onMessage: (message) => {
            if (message.type !== 'part') {
              this.#end();
            }
            this.#queue.push(message);
            this.#notify();
          },
          onThreadLost: (error, beforeReady) => {
            this.#lost = { error, beforeReady };
            this.#end();
            this.#notify();
          },
        },
      );
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#lost = { error, beforeReady: true };
      this.#hasEnded = true;
    }
    this.#id = id;
    this.digests = this.#read();
  }

  async close(): Promise<void> {
    if (!this.#hasEnded) {
      this.#thread.cancel(this.#id);
      while (!this.#hasEnded) {
        await this.#changed();
      }
    }
    await this.#fallback?.close();
  }

  #end(): void {
    if (!this.#hasEnded) {
      this.#hasEnded = true;
      this.#thread.forget(this.#id);
    }
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) {
      wake();
    }
  }

  /** Resolves at the next message or loss of the thread. */
  #changed(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters.add(resolve);
    });
  }

  async *#read(): AsyncGenerator<PartDigest> {
    const { signal } = this.#options;
    const onAbort = () => {
      if (!this.#hasEnded) {
        this.#thread.cancel(this.#id);
      }
      this.#notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) {
          throw new CancelledError('Cancelled.', { cause: signal.reason });
        }
        const message = this.#queue.shift();
        if (message === undefined) {
          const lost = this.#lost;
          if (lost?.beforeReady) {
            this.#options.onFallback?.(lost.error.message);
            this.#fallback = inThisThread(
              this.#options,
              createFastqGzipChecker,
            );
            yield* this.#fallback.digests;
            return;
          }
          if (lost) {
            throw new Error(
              `The content check stopped unexpectedly: ${lost.error.message}`,
              { cause: lost.error },
            );
          }
          await this.#changed();
          continue;
        }
        switch (message.type) {
          case 'part':
            this.#thread.taken(this.#id, message.number);
            yield {
              number: message.number,
              size: message.size,
              checksum: message.checksum,
            };
            break;
          case 'done':
            return;
          case 'cancelled':
            throw new CancelledError('Cancelled.', { cause: signal.reason });
          case 'error':
            throw message.kind === 'content'
              ? new ContentError(message.path, message.message)
              : message.kind === 'local'
                ? new LocalFileError(message.path, message.message)
                : new Error(message.message);
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
