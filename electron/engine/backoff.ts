/**
 * Retry policy as data, the delay it produces, and a retry loop that follows
 * the error classification of errors.ts.
 *
 * Times are injectable (`sleep`, `random`, `now`) so tests drive the loop
 * without real waiting.
 */
import {
  CancelledError,
  classify as defaultClassify,
  isCancellation,
} from './errors.ts';
import type { Classification } from './errors.ts';

/**
 * BackoffPolicy is exponential backoff: the wait after failed attempt n
 * (1-based) is drawn from [0, min(maxMs, baseMs * factor^(n-1))) with full
 * jitter, or is exactly that cap with jitter 'none'. `maxAttempts` counts
 * every try, the first one included.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
  maxAttempts: number;
  jitter: 'full' | 'none';
}

/**
 * DEFAULT_POLICY for API requests. Caps of the waits between the 6 attempts:
 *
 *   after try 1: up to 1 s, 2: up to 2 s, 3: up to 4 s, 4: up to 8 s,
 *   5: up to 16 s; then the last error is thrown.
 *
 * So at most 31 s of waiting in total (about 15.5 s on average), unless the
 * server asks for longer with Retry-After.
 */
export const DEFAULT_POLICY: BackoffPolicy = Object.freeze({
  baseMs: 1000,
  maxMs: 30_000,
  factor: 2,
  maxAttempts: 6,
  jitter: 'full',
});

/**
 * TRANSFER_POLICY for long transfers (parts, downloads), where giving up is
 * expensive. Caps: 2, 4, 8, 16, 32, 60, 60, 60, 60 s between 10 attempts
 * (at most about 5 min of waiting in total).
 */
export const TRANSFER_POLICY: BackoffPolicy = Object.freeze({
  baseMs: 2000,
  maxMs: 60_000,
  factor: 2,
  maxAttempts: 10,
  jitter: 'full',
});

/** NO_RETRY: one attempt only. */
export const NO_RETRY: BackoffPolicy = Object.freeze({
  baseMs: 0,
  maxMs: 0,
  factor: 1,
  maxAttempts: 1,
  jitter: 'none',
});

/** Longest Retry-After we wait for by default; longer asks end the retrying. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * computeDelay returns the wait in ms after failed attempt `attempt`
 * (1-based), as an integer in [0, cap). `random` must return [0, 1).
 * Never negative, never above `policy.maxMs`; a non-finite cap (huge
 * attempt numbers) is clamped to `maxMs`.
 */
export function computeDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  const raw = policy.baseMs * Math.pow(policy.factor, n - 1);
  const cap = Math.max(
    0,
    Math.min(policy.maxMs, Number.isFinite(raw) ? raw : policy.maxMs),
  );
  if (policy.jitter === 'none') return Math.round(cap);
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * cap);
}

/** What a retry loop reports before it waits. */
export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  attempt: number;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
  error: unknown;
  classification: Classification;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  policy?: BackoffPolicy;
  /** Aborting it stops the loop (also during a wait) with CancelledError. */
  signal?: AbortSignal;
  /** Called before each wait (log it at debug level). */
  onRetry?: (info: RetryInfo) => void;
  /** Defaults to errors.ts `classify`. */
  classify?: (err: unknown) => Classification;
  /**
   * Called for a 'reauth' classification; when it resolves, the call is
   * tried again at once (counting as an attempt). Without it a 'reauth'
   * error is thrown to the caller.
   */
  reauth?: (err: unknown) => Promise<void>;
  /** Retry-After longer than this is not waited for: the error is thrown. */
  maxRetryAfterMs?: number;
  sleep?: Sleep;
  random?: () => number;
}

/**
 * withRetry calls `fn` until it succeeds, the classification says 'fatal'
 * (or 'reauth' without a `reauth` handler), the policy's attempts are used
 * up, or the signal aborts. It throws the last error as it is, except that a
 * cancellation always comes out as CancelledError. 'retry-after' waits
 * exactly the server's delay (not jittered); 'retry' waits computeDelay.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_POLICY;
  const classifyError =
    options.classify ?? ((err: unknown) => defaultClassify(err));
  const sleep = options.sleep ?? abortableSleep;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));

  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (isCancellation(error) || options.signal?.aborted) {
        throw asCancelled(error, options.signal);
      }
      const classification = classifyError(error);
      if (classification.action === 'fatal' || attempt >= maxAttempts) {
        throw error;
      }
      if (classification.action === 'reauth') {
        if (!options.reauth) throw error;
        options.onRetry?.({ attempt, delayMs: 0, error, classification });
        await options.reauth(error);
        continue;
      }
      let delayMs: number;
      if (classification.action === 'retry-after') {
        if (classification.afterMs > maxRetryAfterMs) throw error;
        delayMs = Math.max(0, classification.afterMs);
      } else {
        delayMs = computeDelay(policy, attempt, options.random);
      }
      options.onRetry?.({ attempt, delayMs, error, classification });
      await sleep(delayMs, options.signal);
    }
  }
}

/**
 * abortableSleep resolves after `ms` (via setTimeout, so fake timers work)
 * or rejects with CancelledError as soon as `signal` aborts. It leaves no
 * timer or listener behind either way.
 */
export function abortableSleep(
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(asCancelled(signal.reason, signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(asCancelled(signal?.reason, signal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Throws CancelledError when `signal` is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw asCancelled(signal.reason, signal);
}

function asCancelled(error: unknown, signal?: AbortSignal): CancelledError {
  if (error instanceof CancelledError) return error;
  const reason = signal?.reason;
  if (reason instanceof CancelledError) return reason;
  return new CancelledError('Cancelled.', { cause: error ?? reason });
}
