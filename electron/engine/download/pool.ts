/**
 * Bounded parallelism: a pool of lanes over a fixed list of work items, and
 * a FIFO semaphore for a resource the lanes share.
 */
import { CancelledError } from '../errors.ts';

/**
 * runPool calls `worker` for each item, at most `limit` at a time, in list
 * order. Once a worker throws, or `signal` aborts, no further item is
 * started; the pool waits for the running ones to settle, then rethrows the
 * first error (an abort alone ends the pool quietly: callers check the
 * signal).
 */
export async function runPool<T>(
  items: readonly T[],
  limit: number,
  worker: (item: T, index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (failure === null && !signal?.aborted && next < items.length) {
      const index = next++;
      try {
        await worker(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/**
 * Slots hands out at most `size` permits at a time, first come first
 * served. `acquire` resolves with a release function that is safe to call
 * more than once. It rejects with CancelledError when `signal` is aborted
 * before or while waiting (no permit is then taken).
 */
export class Slots {
  readonly #size: number;
  #taken = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = Math.max(1, Math.floor(size) || 1);
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new CancelledError();
    if (this.#taken < this.#size) {
      this.#taken++;
    } else {
      await new Promise<void>((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const at = this.#waiting.indexOf(grant);
          if (at >= 0) this.#waiting.splice(at, 1);
          reject(new CancelledError());
        };
        this.#waiting.push(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      // The permit passes straight to the next waiter, if any.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#taken--;
    };
  }
}
