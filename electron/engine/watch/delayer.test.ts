/** Delayer, driven by the manual clock. */
import { describe, expect, it } from 'vitest';

import { ManualClock } from '../progress.ts';
import { Delayer } from './delayer.ts';

function setup() {
  const clock = new ManualClock(0);
  const runs: number[] = [];
  let release: (() => void) | null = null;
  let isBlocking = false;
  const delayer = new Delayer(
    async () => {
      runs.push(clock.now());
      if (isBlocking) await new Promise<void>((resolve) => (release = resolve));
    },
    clock,
    () => {},
  );
  return {
    clock,
    runs,
    delayer,
    block: () => (isBlocking = true),
    release: () => {
      isBlocking = false;
      release?.();
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('Delayer', () => {
  describe('trigger()', () => {
    it('runs once for a burst of triggers', async () => {
      const { clock, runs, delayer } = setup();

      delayer.trigger(100);
      clock.advance(50);
      delayer.trigger(100);
      delayer.trigger(100);
      clock.advance(60);
      await flush();

      expect(runs).toEqual([100]);
    });

    it('keeps the sooner of two requested times', async () => {
      const { clock, runs, delayer } = setup();

      delayer.trigger(1_000);
      delayer.trigger(10);
      clock.advance(10);
      await flush();
      clock.advance(2_000);
      await flush();

      expect(runs).toEqual([10]);
    });

    it('does not overlap runs: a trigger during a run gives one more run after it', async () => {
      const { clock, runs, delayer, block, release } = setup();
      block();
      delayer.trigger(0);
      clock.advance(0);
      await flush();

      delayer.trigger(5);
      delayer.trigger(5);
      clock.advance(100);
      await flush();
      expect(runs).toEqual([0]);
      release();
      await flush();
      clock.advance(5);
      await flush();

      expect(runs).toEqual([0, 105]);
    });
  });

  describe('dispose()', () => {
    it('cancels a pending run and leaves no timer', async () => {
      const { clock, runs, delayer } = setup();
      delayer.trigger(100);

      await delayer.dispose();
      delayer.trigger(1);
      clock.advance(1_000);
      await flush();

      expect(runs).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('runNow()', () => {
    it('runs at once and resolves after the run', async () => {
      const { runs, delayer } = setup();

      await delayer.runNow();

      expect(runs).toEqual([0]);
      expect(delayer.isScheduled).toBe(false);
    });
  });
});
