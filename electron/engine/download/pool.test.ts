import { describe, expect, it } from 'vitest';

import { runPool } from './pool.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runPool()', () => {
  it('runs every item, at most limit at a time, starting them in order', async () => {
    const started: number[] = [];
    let running = 0;
    let peak = 0;

    await runPool([0, 1, 2, 3, 4, 5, 6], 3, async (item) => {
      started.push(item);
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
    });

    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
  });

  it('starts nothing more after a failure and rethrows the first error', async () => {
    const started: number[] = [];
    const failure = new Error('boom');

    const run = runPool([0, 1, 2, 3, 4], 1, async (item) => {
      started.push(item);
      if (item === 1) throw failure;
    });

    await expect(run).rejects.toBe(failure);
    expect(started).toEqual([0, 1]);
  });
});
