import { describe, expect, it } from 'vitest';

import { NetworkError, ValidationError } from './errors.ts';
import { ManualClock } from './progress.ts';
import { JobFailure, Limiter, Scheduler } from './scheduler.ts';
import type { JobRun, JobStateStore, SchedulerParams } from './scheduler.ts';
import type { JobState } from '../../shared/domain.ts';

/** A worker the test finishes by hand; it rejects when its run is aborted. */
function controlledWorker() {
  const runs: {
    run: JobRun;
    succeed: () => void;
    fail: (err: unknown) => void;
  }[] = [];
  const worker = (run: JobRun) =>
    new Promise<void>((resolve, reject) => {
      run.signal.addEventListener('abort', () => reject(run.signal.reason), {
        once: true,
      });
      runs.push({ run, succeed: resolve, fail: reject });
    });
  return { worker, runs };
}

/** A store that records every write, for ordering checks. */
function recordingStore() {
  const writes: { id: string; state?: JobState }[] = [];
  const store: JobStateStore = {
    updateJob: (id, update) => {
      writes.push({ id, state: update.state });
    },
  };
  return { store, writes };
}

function makeScheduler(overrides: Partial<SchedulerParams> = {}) {
  const clock = new ManualClock(1_000_000);
  const { store, writes } = recordingStore();
  const scheduler = new Scheduler({
    concurrency: 2,
    store,
    clock,
    random: () => 0.5,
    ...overrides,
  });
  const states: string[] = [];
  scheduler.onDidChangeState((job) => states.push(`${job.id}:${job.state}`));
  return { scheduler, clock, writes, states };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Scheduler', () => {
  describe('add()', () => {
    it('runs at most `concurrency` jobs at once, in order', async () => {
      const { scheduler } = makeScheduler();
      const { worker, runs } = controlledWorker();

      scheduler.add('a', worker);
      scheduler.add('b', worker);
      scheduler.add('c', worker);
      const startedFirst = runs.map((r) => r.run.id);
      runs[0]!.succeed();
      await tick();
      const startedAfter = runs.map((r) => r.run.id);

      expect(startedFirst).toEqual(['a', 'b']);
      expect(startedAfter).toEqual(['a', 'b', 'c']);
      expect(scheduler.get('a')?.state).toBe('done');
      expect(scheduler.get('c')?.state).toBe('running');
    });

    it('writes each state to the store before listeners hear of it', async () => {
      const { scheduler, writes } = makeScheduler();
      const heard: string[] = [];
      scheduler.onDidChangeState((job) => {
        const last = writes[writes.length - 1];
        heard.push(`${job.state}=${last?.state}`);
      });

      scheduler.add('a', async () => {});
      await scheduler.whenIdle();

      expect(heard).toEqual(['queued=queued', 'running=running', 'done=done']);
    });

    it('does not start more jobs than allowed when a listener adds jobs (re-entrancy)', async () => {
      const { scheduler } = makeScheduler({ concurrency: 1 });
      const { worker, runs } = controlledWorker();
      let added = false;
      scheduler.onDidChangeState((job) => {
        if (job.id === 'a' && job.state === 'running' && !added) {
          added = true;
          scheduler.add('b', worker);
        }
      });

      scheduler.add('a', worker);

      expect(runs.map((r) => r.run.id)).toEqual(['a']);
      expect(scheduler.get('b')?.state).toBe('queued');
      runs[0]!.succeed();
      await tick();
      expect(runs.map((r) => r.run.id)).toEqual(['a', 'b']);
      runs[1]!.succeed();
      await scheduler.whenIdle();
    });

    it('refuses an id that is already scheduled', () => {
      const { scheduler } = makeScheduler();
      scheduler.add('a', async () => {});

      expect(() => scheduler.add('a', async () => {})).toThrow(
        /already scheduled/,
      );
    });
  });

  describe('failures', () => {
    it('retries a job whose error is retryable, after a backoff wait', async () => {
      const { scheduler, clock, states } = makeScheduler();
      const { worker, runs } = controlledWorker();

      scheduler.add('a', worker);
      runs[0]!.fail(
        new NetworkError('reset', 'example.test', { code: 'ECONNRESET' }),
      );
      await tick();
      const retrying = scheduler.get('a');
      clock.advance(retrying!.retryAt! - clock.now());
      runs[1]!.succeed();
      await scheduler.whenIdle();

      expect(retrying?.state).toBe('retrying');
      expect(retrying?.error?.code).toBe('network');
      expect(runs.map((r) => r.run.attempt)).toEqual([1, 2]);
      expect(states).toEqual([
        'a:queued',
        'a:running',
        'a:retrying',
        'a:queued',
        'a:running',
        'a:done',
      ]);
      expect(scheduler.get('a')?.error).toBeNull();
    });

    it('does not retry a fatal error', async () => {
      const { scheduler, clock } = makeScheduler();
      let calls = 0;

      scheduler.add('a', async () => {
        calls++;
        throw new ValidationError('plan', 'The plan is empty.');
      });
      await scheduler.whenIdle();
      clock.advance(10 * 60_000);

      expect(calls).toBe(1);
      expect(scheduler.get('a')).toMatchObject({
        state: 'failed',
        error: { code: 'validation', message: 'The plan is empty.' },
      });
      expect(scheduler.get('a')?.finishedAt).not.toBeNull();
    });

    it('honours a JobFailure that says it is not retryable', async () => {
      const { scheduler } = makeScheduler();

      scheduler.add('a', async () => {
        throw new JobFailure({
          code: 'invalid-fastq',
          message: 'x: truncated',
          isRetryable: false,
        });
      });
      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('failed');
      expect(scheduler.get('a')?.error).toEqual({
        code: 'invalid-fastq',
        message: 'x: truncated',
      });
    });

    it('waits at least the Retry-After delay before the next run', async () => {
      const { scheduler, clock } = makeScheduler();
      const { worker, runs } = controlledWorker();

      scheduler.add('a', worker);
      const failedAt = clock.now();
      runs[0]!.fail(
        new JobFailure({
          code: 'rate',
          message: 'slow down',
          isRetryable: true,
          retryAfterMs: 120_000,
        }),
      );
      await tick();
      clock.advance(119_000);
      const runsBeforeDelay = runs.length;
      clock.advance(1_000);
      const runsAfterDelay = runs.length;
      runs[1]!.succeed();
      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('done');
      expect(runsBeforeDelay).toBe(1);
      expect(runsAfterDelay).toBe(2);
      expect(clock.now() - failedAt).toBe(120_000);
    });

    it("gives up after the policy's number of runs", async () => {
      const { scheduler, clock } = makeScheduler({
        retryPolicy: {
          baseMs: 1000,
          maxMs: 1000,
          factor: 1,
          maxAttempts: 3,
          jitter: 'none',
        },
      });
      let calls = 0;

      scheduler.add('a', async () => {
        calls++;
        throw new NetworkError('reset', 'example.test', { code: 'ECONNRESET' });
      });
      for (let i = 0; i < 5; i++) {
        await tick();
        clock.advance(1000);
      }
      await scheduler.whenIdle();

      expect(calls).toBe(3);
      expect(scheduler.get('a')?.state).toBe('failed');
    });
  });

  describe('cancel()', () => {
    it('aborts a running job and ends it cancelled, never failed or retried', async () => {
      const { scheduler, clock, states } = makeScheduler();
      const { worker, runs } = controlledWorker();

      scheduler.add('a', worker);
      scheduler.cancel('a');
      await scheduler.whenIdle();
      clock.advance(10 * 60_000);

      expect(runs[0]!.run.signal.aborted).toBe(true);
      expect(runs).toHaveLength(1);
      expect(scheduler.get('a')?.state).toBe('cancelled');
      expect(scheduler.get('a')?.error).toBeNull();
      expect(states).toEqual(['a:queued', 'a:running', 'a:cancelled']);
    });

    it('cancels a queued job at once, and a retrying one without running it again', async () => {
      const { scheduler, clock } = makeScheduler({ concurrency: 1 });
      const { worker, runs } = controlledWorker();
      scheduler.add('a', worker);
      scheduler.add('b', worker);

      scheduler.cancel('b');
      runs[0]!.fail(
        new NetworkError('reset', 'example.test', { code: 'ECONNRESET' }),
      );
      await tick();
      scheduler.cancel('a');
      clock.advance(10 * 60_000);
      await scheduler.whenIdle();

      expect(scheduler.get('b')?.state).toBe('cancelled');
      expect(scheduler.get('a')?.state).toBe('cancelled');
      expect(runs).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });

    it('ends cancelled when cancel comes while a pause is still stopping the run', async () => {
      const { scheduler, states } = makeScheduler();
      let stop!: () => void;
      scheduler.add(
        'a',
        (run) =>
          new Promise<void>((_resolve, reject) => {
            // The run takes a moment to stop, as a transfer does.
            run.signal.addEventListener('abort', () => {
              stop = () => reject(run.signal.reason);
            });
          }),
      );

      scheduler.pause('a');
      scheduler.cancel('a');
      stop();
      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('cancelled');
      expect(states).toEqual(['a:queued', 'a:running', 'a:cancelled']);
    });

    it('runs again when resume comes while a pause is still stopping the run', async () => {
      const { scheduler, states } = makeScheduler();
      const stops: (() => void)[] = [];
      let runs = 0;
      scheduler.add('a', (run) => {
        runs++;
        return new Promise<void>((resolve, reject) => {
          if (runs === 2) {
            resolve();
            return;
          }
          run.signal.addEventListener('abort', () => {
            stops.push(() => reject(run.signal.reason));
          });
        });
      });

      scheduler.pause('a');
      expect(scheduler.resume('a')).toBe(true);
      stops[0]!();
      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('done');
      expect(runs).toBe(2);
      expect(states).not.toContain('a:paused');
    });

    it('reports done when the worker finished despite a late cancel', async () => {
      const { scheduler } = makeScheduler();
      let release!: () => void;

      scheduler.add(
        'a',
        () => new Promise<void>((resolve) => (release = resolve)),
      );
      scheduler.cancel('a');
      release();
      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('done');
    });
  });

  describe('pause() and resume()', () => {
    it('pauses a running job and runs it again on resume', async () => {
      const { scheduler, states } = makeScheduler();
      const { worker, runs } = controlledWorker();

      scheduler.add('a', worker);
      scheduler.pause('a');
      await tick();
      const paused = scheduler.get('a')?.state;
      await scheduler.whenIdle();
      scheduler.resume('a');
      runs[1]!.succeed();
      await scheduler.whenIdle();

      expect(paused).toBe('paused');
      expect(runs.map((r) => r.run.attempt)).toEqual([1, 2]);
      expect(states).toEqual([
        'a:queued',
        'a:running',
        'a:paused',
        'a:queued',
        'a:running',
        'a:done',
      ]);
    });

    it('pauses a retrying job and clears its timer', async () => {
      const { scheduler, clock } = makeScheduler();
      const { worker, runs } = controlledWorker();
      scheduler.add('a', worker);
      runs[0]!.fail(
        new NetworkError('reset', 'example.test', { code: 'ECONNRESET' }),
      );
      await tick();

      scheduler.pause('a');
      clock.advance(10 * 60_000);

      expect(scheduler.get('a')?.state).toBe('paused');
      expect(runs).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });
  });

  describe('retry()', () => {
    it('queues a failed job again with a fresh budget', async () => {
      const { scheduler } = makeScheduler();
      let calls = 0;
      scheduler.add('a', async () => {
        calls++;
        if (calls === 1) {
          throw new ValidationError('x', 'bad');
        }
      });
      await scheduler.whenIdle();

      const accepted = scheduler.retry('a');
      await scheduler.whenIdle();

      expect(accepted).toBe(true);
      expect(calls).toBe(2);
      expect(scheduler.get('a')).toMatchObject({
        state: 'done',
        attempt: 2,
        error: null,
      });
    });

    it('refuses a job that is running or done', async () => {
      const { scheduler } = makeScheduler();
      scheduler.add('a', async () => {});
      await scheduler.whenIdle();

      expect(scheduler.retry('a')).toBe(false);
      expect(scheduler.retry('unknown')).toBe(false);
    });
  });

  describe('stop()', () => {
    it('aborts running jobs, waits for them and leaves them queued', async () => {
      const { scheduler, writes } = makeScheduler({ concurrency: 1 });
      const { worker, runs } = controlledWorker();
      scheduler.add('a', worker);
      scheduler.add('b', worker);

      await scheduler.stop();
      await scheduler.whenIdle();

      expect(runs).toHaveLength(1);
      expect(runs[0]!.run.signal.aborted).toBe(true);
      expect(scheduler.get('a')?.state).toBe('queued');
      expect(scheduler.get('b')?.state).toBe('queued');
      expect(writes.filter((w) => w.id === 'a').map((w) => w.state)).toEqual([
        'queued',
        'running',
        'queued',
      ]);
      expect(scheduler.isStopped).toBe(true);
    });
  });

  describe('whenIdle()', () => {
    it('does not wait for paused jobs', async () => {
      const { scheduler } = makeScheduler();
      scheduler.add('p', async () => {}, { state: 'paused' });
      scheduler.add('a', async () => {});

      await scheduler.whenIdle();

      expect(scheduler.get('a')?.state).toBe('done');
      expect(scheduler.get('p')?.state).toBe('paused');
    });
  });

  describe('Limiter', () => {
    it('runs at most `limit` tasks at once, in order', async () => {
      const limiter = new Limiter(2);
      let running = 0;
      let peak = 0;
      const order: number[] = [];
      const task = (n: number) => async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(n);
        await tick();
        running--;
        return n;
      };

      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((n) => limiter.run(task(n))),
      );

      expect(results).toEqual([1, 2, 3, 4, 5]);
      expect(order).toEqual([1, 2, 3, 4, 5]);
      expect(peak).toBe(2);
      expect(limiter.active).toBe(0);
    });

    it('gives up a waiting place when its signal aborts', async () => {
      const limiter = new Limiter(1);
      let release!: () => void;
      const first = limiter.run(
        () => new Promise<void>((resolve) => (release = resolve)),
      );
      const controller = new AbortController();
      const second = limiter.run(async () => 'ran', controller.signal);

      controller.abort(new Error('stop waiting'));
      release();
      await first;

      await expect(second).rejects.toThrow('stop waiting');
      expect(limiter.active).toBe(0);
    });
  });
});

describe('Limiter.acquire()', () => {
  it('hands out at most `limit` slots, then in the order asked', async () => {
    const limiter = new Limiter(2);
    const order: string[] = [];
    const first = await limiter.acquire();
    const second = await limiter.acquire();
    const third = limiter.acquire().then((release) => {
      order.push('third');
      return release;
    });
    const fourth = limiter.acquire().then((release) => {
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

  it('frees the slot when released with nobody waiting', async () => {
    const limiter = new Limiter(1);
    (await limiter.acquire())();
    const again = await Promise.race([
      limiter.acquire().then(() => 'granted'),
      tick().then(() => 'waiting'),
    ]);

    expect(again).toBe('granted');
  });

  it('rejects a waiter with the abort reason, without taking a slot', async () => {
    const limiter = new Limiter(1);
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort();

    await expect(waiting).rejects.toBe(controller.signal.reason);
    held();
    const next = await Promise.race([
      limiter.acquire().then(() => 'granted'),
      tick().then(() => 'waiting'),
    ]);
    expect(next).toBe('granted');
    await expect(limiter.acquire(controller.signal)).rejects.toBe(
      controller.signal.reason,
    );
  });
});
