import { getEventListeners } from 'node:events';

import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  DEFAULT_POLICY,
  TRANSFER_POLICY,
  abortableSleep,
  computeDelay,
  withRetry,
} from './backoff.ts';
import type { BackoffPolicy, RetryInfo } from './backoff.ts';
import { ApiError, CancelledError, ValidationError } from './errors.ts';
import type { Classification } from './errors.ts';

const policy = (overrides: Partial<BackoffPolicy> = {}): BackoffPolicy => ({
  baseMs: 1000,
  maxMs: 30_000,
  factor: 2,
  maxAttempts: 6,
  jitter: 'full',
  ...overrides,
});

const api = (status: number, retryAfterMs: number | null = null) =>
  new ApiError({
    status,
    method: 'GET',
    path: '/api/v2/x/',
    body: null,
    retryAfterMs,
  });

/** A function failing with `errors` in turn, then answering 'ok'. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    if (errors.length > 0) throw errors.shift();
    return 'ok';
  };
  return { fn, calls };
}

function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('backoff', () => {
  describe('computeDelay()', () => {
    describe('normal', () => {
      it.each([
        [1, 1000],
        [2, 2000],
        [3, 4000],
        [4, 8000],
        [5, 16_000],
        [6, 30_000],
        [7, 30_000],
      ])('attempt %i without jitter waits %i ms', (attempt, expected) => {
        expect(computeDelay(policy({ jitter: 'none' }), attempt)).toBe(
          expected,
        );
      });

      it.each([
        [1, 0.5, 500],
        [3, 0.25, 1000],
        [5, 0.999, 15_984],
        [9, 0.5, 15_000],
      ])(
        'attempt %i with full jitter and random %f waits %i ms',
        (attempt, r, expected) => {
          expect(computeDelay(policy(), attempt, () => r)).toBe(expected);
        },
      );
    });

    describe('no answer from random', () => {
      it('waits 0 when random gives 0', () => {
        expect(computeDelay(policy(), 4, () => 0)).toBe(0);
      });

      it('stays below the cap when random gives 1 or more', () => {
        expect(computeDelay(policy(), 1, () => 1)).toBe(999);
        expect(computeDelay(policy(), 1, () => 7)).toBe(999);
      });
    });

    describe('extremes', () => {
      it.each([
        ['attempt 0 counts as 1', 0, 1000],
        ['negative attempt counts as 1', -3, 1000],
        ['huge attempt is capped', 10_000, 30_000],
        ['fractional attempt is floored', 2.7, 2000],
      ])('%s', (_name, attempt, expected) => {
        expect(computeDelay(policy({ jitter: 'none' }), attempt)).toBe(
          expected,
        );
      });

      it('never waits with a zero base', () => {
        expect(computeDelay(policy({ baseMs: 0, jitter: 'none' }), 5)).toBe(0);
      });
    });

    it('gives the schedule written on DEFAULT_POLICY and TRANSFER_POLICY', () => {
      const caps = (p: BackoffPolicy) =>
        Array.from({ length: p.maxAttempts - 1 }, (_, i) =>
          computeDelay({ ...p, jitter: 'none' }, i + 1),
        );

      expect(caps(DEFAULT_POLICY)).toEqual([1000, 2000, 4000, 8000, 16_000]);
      expect(caps(TRANSFER_POLICY)).toEqual([
        2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000,
      ]);
    });
  });

  describe('withRetry()', () => {
    it('retries retryable errors and returns the first success', async () => {
      const { fn, calls } = failing(api(502), api(500));
      const { delays, sleep } = recordingSleep();
      const seen: RetryInfo[] = [];

      const result = await withRetry(fn, {
        policy: policy({ jitter: 'none' }),
        sleep,
        onRetry: (info) => seen.push(info),
      });

      expect(result).toBe('ok');
      expect(calls).toEqual([1, 2, 3]);
      expect(delays).toEqual([1000, 2000]);
      expect(
        seen.map((i) => [i.attempt, i.delayMs, i.classification.action]),
      ).toEqual([
        [1, 1000, 'retry'],
        [2, 2000, 'retry'],
      ]);
    });

    it('waits exactly the Retry-After delay', async () => {
      const { fn } = failing(api(429, 42_000));
      const { delays, sleep } = recordingSleep();

      await withRetry(fn, { policy: policy(), sleep, random: () => 0.1 });

      expect(delays).toEqual([42_000]);
    });

    it('does not wait for a Retry-After longer than allowed', async () => {
      const err = api(429, 3_600_000);
      const { fn, calls } = failing(err);
      const { delays, sleep } = recordingSleep();

      await expect(withRetry(fn, { sleep })).rejects.toBe(err);
      expect(calls).toEqual([1]);
      expect(delays).toEqual([]);
    });

    it('stops at once on a fatal error', async () => {
      const err = new ValidationError('x', 'bad');
      const { fn, calls } = failing(err);

      await expect(withRetry(fn, { sleep: async () => {} })).rejects.toBe(err);
      expect(calls).toEqual([1]);
    });

    it('throws the last error when the attempts are used up', async () => {
      const last = api(503);
      const { fn, calls } = failing(api(500), api(502), last);

      await expect(
        withRetry(fn, {
          policy: policy({ maxAttempts: 3 }),
          sleep: async () => {},
        }),
      ).rejects.toBe(last);
      expect(calls).toEqual([1, 2, 3]);
    });

    it('calls reauth and retries without waiting on a reauth classification', async () => {
      const { fn, calls } = failing(api(401));
      const { delays, sleep } = recordingSleep();
      const reauth = vi.fn(async () => {});

      await expect(withRetry(fn, { sleep, reauth })).resolves.toBe('ok');
      expect(reauth).toHaveBeenCalledTimes(1);
      expect(calls).toEqual([1, 2]);
      expect(delays).toEqual([]);
    });

    it('throws a reauth error when there is no reauth handler', async () => {
      const err = api(401);
      const { fn } = failing(err);

      await expect(withRetry(fn, { sleep: async () => {} })).rejects.toBe(err);
    });

    it('uses the given classification', async () => {
      const { fn, calls } = failing(new Error('odd'));
      const classify = (): Classification => ({ action: 'retry' });

      await expect(
        withRetry(fn, { classify, sleep: async () => {} }),
      ).resolves.toBe('ok');
      expect(calls).toEqual([1, 2]);
    });

    it('never retries a cancellation', async () => {
      const { fn, calls } = failing(new DOMException('aborted', 'AbortError'));

      await expect(
        withRetry(fn, { sleep: async () => {} }),
      ).rejects.toBeInstanceOf(CancelledError);
      expect(calls).toEqual([1]);
    });

    it('does not call fn when the signal is already aborted', async () => {
      const { fn, calls } = failing();

      await expect(
        withRetry(fn, { signal: AbortSignal.abort() }),
      ).rejects.toBeInstanceOf(CancelledError);
      expect(calls).toEqual([]);
    });

    it('stops during the wait when the signal aborts, leaving no timer', async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const { fn, calls } = failing(api(500), api(500));

      const pending = withRetry(fn, {
        policy: policy({ jitter: 'none' }),
        signal: controller.signal,
      });
      const outcome = pending.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(500);
      controller.abort();
      const err = await outcome;

      expect(err).toBeInstanceOf(CancelledError);
      expect(calls).toEqual([1]);
      expect(vi.getTimerCount()).toBe(0);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('sleeps with real timers when none is injected (fake clock)', async () => {
      vi.useFakeTimers();
      const { fn, calls } = failing(api(500));

      const pending = withRetry(fn, { policy: policy({ jitter: 'none' }) });
      await vi.advanceTimersByTimeAsync(999);
      expect(calls).toEqual([1]);
      await vi.advanceTimersByTimeAsync(1);

      await expect(pending).resolves.toBe('ok');
      expect(calls).toEqual([1, 2]);
    });
  });

  describe('abortableSleep()', () => {
    it('resolves after the delay and removes its abort listener', async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      let done = false;

      const sleeping = abortableSleep(1000, controller.signal).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await sleeping;

      expect(done).toBe(true);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    });

    it('rejects at once for an aborted signal, keeping a CancelledError reason', async () => {
      const reason = new CancelledError('Stopped by the user.');
      const controller = new AbortController();
      controller.abort(reason);

      await expect(abortableSleep(10_000, controller.signal)).rejects.toBe(
        reason,
      );
    });
  });
});
