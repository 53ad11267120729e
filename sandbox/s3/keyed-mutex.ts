/**
 * KeyedMutex serialises async critical sections per key within this process:
 * run(key, fn) starts fn only after every earlier run() for the same key has
 * settled, and never blocks other keys. It guards read-check-rename sequences
 * on one object or one multipart upload; it is not a cross-process lock.
 */
export class KeyedMutex {
  /** The tail of each key's queue; removed when the queue drains. */
  readonly #tails = new Map<string, Promise<void>>();

  /** run executes `fn` exclusively for `key` and returns its result. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) {
        this.#tails.delete(key);
      }
    }
  }
}
