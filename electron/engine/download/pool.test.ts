import { describe, expect, it } from 'vitest';

import { CancelledError } from '../errors.ts';
import { Slots, runPool } from './pool.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Slots', () => {
  it('hands out at most its size of permits, then in the order asked', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    const third = slots.acquire().then((release) => {
      order.push('third');
      return release;
    });
    const fourth = slots.acquire().then((release) => {
      order.push('fourth');
      return release;
    });

    await tick();
    const waitedWhileFull = [...order];
    first();
    first(); // a second call gives nothing more
    await tick();
    const afterOneRelease = [...order];
    second();
    await Promise.all([third, fourth]);

    expect(waitedWhileFull).toEqual([]);
    expect(afterOneRelease).toEqual(['third']);
    expect(order).toEqual(['third', 'fourth']);
  });

  it('frees the permit when released with nobody waiting', async () => {
    const slots = new Slots(1);
    (await slots.acquire())();
    const again = await Promise.race([
      slots.acquire().then(() => 'granted'),
      tick().then(() => 'waiting'),
    ]);

    expect(again).toBe('granted');
  });

  it('rejects a waiter with CancelledError on abort, without taking a permit', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort();

    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    held();
    const next = await Promise.race([
      slots.acquire().then(() => 'granted'),
      tick().then(() => 'waiting'),
    ]);
    expect(next).toBe('granted');
    await expect(slots.acquire(controller.signal)).rejects.toBeInstanceOf(
      CancelledError,
    );
  });
});

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
