/**
 * Bounded parallelism for a fixed list of work items.
 */

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
