import { describe, expect, it } from 'vitest';

import {
  computeEta,
  ewma,
  ManualClock,
  ProgressTicker,
  summarizeSnapshots,
  Throttled,
  TransferMeter,
} from './progress.ts';
import type { TransferSnapshot } from '../../shared/domain.ts';

describe('progress', () => {
  describe('computeEta()', () => {
    const cases: {
      group: string;
      done: number;
      total: number | null;
      speed: number | null;
      want: number | null;
    }[] = [
      { group: 'normal', done: 0, total: 100, speed: 10, want: 10 },
      { group: 'normal', done: 50, total: 100, speed: 10, want: 5 },
      { group: 'normal', done: 99, total: 100, speed: 10, want: 1 },
      { group: 'normal', done: 0, total: 1000, speed: 3, want: 334 },
      { group: 'finished', done: 100, total: 100, speed: null, want: 0 },
      { group: 'finished', done: 120, total: 100, speed: 5, want: 0 },
      { group: 'no answer', done: 0, total: null, speed: 10, want: null },
      { group: 'no answer', done: 0, total: 100, speed: null, want: null },
      { group: 'no answer', done: 0, total: 100, speed: 0, want: null },
      { group: 'no answer', done: 0, total: 100, speed: -5, want: null },
      { group: 'extremes', done: 0, total: 100, speed: Number.NaN, want: null },
      { group: 'extremes', done: 0, total: 100, speed: Infinity, want: null },
      { group: 'extremes', done: 0, total: Infinity, speed: 1, want: null },
      {
        group: 'extremes',
        done: 0,
        total: 5 * 2 ** 40,
        speed: 1e-300,
        want: null,
      },
      {
        group: 'extremes',
        done: 0,
        total: 5 * 2 ** 40,
        speed: 1,
        want: 5 * 2 ** 40,
      },
    ];
    for (const c of cases) {
      it(`${c.group}: done=${c.done} total=${c.total} speed=${c.speed} -> ${c.want}`, () => {
        expect(computeEta(c.done, c.total, c.speed)).toBe(c.want);
      });
    }
  });

  describe('ewma()', () => {
    it('takes the first sample as the average', () => {
      expect(ewma(null, 42)).toBe(42);
    });

    it('weights the new sample by alpha', () => {
      expect(ewma(100, 200, 0.25)).toBe(125);
    });
  });

  describe('TransferMeter', () => {
    it('has no speed until two samples span some time', () => {
      const meter = new TransferMeter({ bytesTotal: 1000 });

      meter.sample(0);
      meter.add(100);

      expect(meter.speed).toBeNull();
      expect(meter.etaSeconds).toBeNull();
    });

    const speedCases: {
      name: string;
      steps: { atMs: number; add: number }[];
      want: number;
    }[] = [
      {
        name: 'steady 100 B/s',
        steps: [
          { atMs: 1000, add: 100 },
          { atMs: 2000, add: 100 },
          { atMs: 3000, add: 100 },
        ],
        want: 100,
      },
      {
        name: 'a stall pulls the average down by alpha',
        steps: [
          { atMs: 1000, add: 100 },
          { atMs: 2000, add: 0 },
        ],
        want: 70,
      },
      {
        name: 'a burst pulls it up by alpha',
        steps: [
          { atMs: 1000, add: 100 },
          { atMs: 2000, add: 1100 },
        ],
        want: 400,
      },
      {
        name: 'uneven ticks use the elapsed time',
        steps: [{ atMs: 500, add: 100 }],
        want: 200,
      },
    ];
    for (const c of speedCases) {
      it(`speed: ${c.name}`, () => {
        const meter = new TransferMeter({ bytesTotal: 10_000, alpha: 0.3 });
        meter.sample(0);

        for (const step of c.steps) {
          meter.add(step.add);
          meter.sample(step.atMs);
        }

        expect(meter.speed).toBeCloseTo(c.want, 6);
      });
    }

    it('computes the ETA from the average', () => {
      const meter = new TransferMeter({ bytesTotal: 1000 });
      meter.sample(0);
      meter.add(100);
      meter.sample(1000);

      expect(meter.etaSeconds).toBe(9);
    });

    it('never goes down', () => {
      const meter = new TransferMeter({ bytesTotal: 100 });

      meter.add(50);
      meter.add(-10);
      meter.setDone(20);
      meter.add(Number.NaN);

      expect(meter.bytesDone).toBe(50);
    });

    it('does not count resumed bytes as speed', () => {
      const meter = new TransferMeter({ bytesTotal: 10_000 });
      meter.sample(0);

      meter.addResumed(5000);
      meter.add(100);
      meter.sample(1000);

      expect(meter.bytesDone).toBe(5100);
      expect(meter.speed).toBe(100);
    });

    it('forgets its speed when sampling pauses', () => {
      const meter = new TransferMeter({ bytesTotal: 10_000 });
      meter.sample(0);
      meter.add(100);
      meter.sample(1000);

      meter.pauseSampling();

      expect(meter.speed).toBeNull();
    });
  });

  describe('ProgressTicker', () => {
    it('samples meters on the tick and stops its timer with the last meter', () => {
      const clock = new ManualClock();
      let ticks = 0;
      const ticker = new ProgressTicker({
        clock,
        tickMs: 1000,
        onTick: () => ticks++,
      });
      const meter = new TransferMeter({
        bytesTotal: 1000,
        now: () => clock.now(),
      });

      ticker.add(meter);
      meter.add(300);
      clock.advance(1000);
      const speed = meter.speed;
      ticker.remove(meter);

      expect(speed).toBe(300);
      expect(ticks).toBe(1);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('Throttled', () => {
    it('delivers the first value at once and folds the rest into one trailing call', () => {
      const clock = new ManualClock();
      const seen: number[] = [];
      const throttled = new Throttled<number>((v) => seen.push(v), 250, clock);

      throttled.call(1);
      throttled.call(2);
      throttled.call(3);
      const beforeWait = [...seen];
      clock.advance(250);

      expect(beforeWait).toEqual([1]);
      expect(seen).toEqual([1, 3]);
      expect(clock.pendingTimers).toBe(0);
    });

    it('keeps calls at least 250 ms apart under a flood (at most 4 per second)', () => {
      const clock = new ManualClock();
      const times: number[] = [];
      const throttled = new Throttled<number>(
        () => times.push(clock.now()),
        250,
        clock,
      );

      for (let ms = 0; ms < 2000; ms += 10) {
        throttled.call(ms);
        clock.advance(10);
      }
      throttled.dispose();
      const gaps = times.slice(1).map((t, i) => t - times[i]!);

      expect(times.length).toBeGreaterThanOrEqual(7);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    });

    it('drops a pending value on dispose', () => {
      const clock = new ManualClock();
      const seen: number[] = [];
      const throttled = new Throttled<number>((v) => seen.push(v), 250, clock);

      throttled.call(1);
      throttled.call(2);
      throttled.dispose();
      clock.advance(1000);

      expect(seen).toEqual([1]);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('summarizeSnapshots()', () => {
    const snap = (overrides: Partial<TransferSnapshot>): TransferSnapshot => ({
      id: 'x',
      kind: 'upload',
      title: 't',
      state: 'running',
      bytesDone: 0,
      bytesTotal: 0,
      speed: null,
      etaSeconds: null,
      files: [],
      attempt: 1,
      startedAt: null,
      finishedAt: null,
      ...overrides,
    });

    it('adds up active jobs and leaves finished ones out', () => {
      const summary = summarizeSnapshots([
        snap({ bytesDone: 100, bytesTotal: 1000, speed: 50 }),
        snap({ bytesDone: 200, bytesTotal: 1000, speed: 50 }),
        snap({ state: 'queued', bytesDone: 0, bytesTotal: 1000 }),
        snap({ state: 'done', bytesDone: 5000, bytesTotal: 5000, speed: 999 }),
      ]);

      expect(summary).toEqual({
        activeJobs: 3,
        bytesDone: 300,
        bytesTotal: 3000,
        speed: 100,
        etaSeconds: 27,
      });
    });

    it('has an unknown total and ETA when one job has no size', () => {
      const summary = summarizeSnapshots([
        snap({ bytesDone: 100, bytesTotal: null, speed: 10 }),
        snap({ bytesDone: 100, bytesTotal: 1000, speed: 10 }),
      ]);

      expect(summary.bytesTotal).toBeNull();
      expect(summary.etaSeconds).toBeNull();
    });
  });
});
