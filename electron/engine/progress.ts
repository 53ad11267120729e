/**
 * Transfer accounting: bytes done and total per job, speed as a moving
 * average sampled on a fixed tick, ETA, and a throttle for listeners.
 *
 * Per-job numbers live in a TransferMeter; aggregate numbers are computed
 * from snapshots by `summarizeSnapshots` and are never stored in a meter.
 */
import type { TransferSnapshot } from '../../shared/domain.ts';

/** How often meters are sampled for speed, in ms. */
export const PROGRESS_TICK_MS = 1_000;

/**
 * Weight of the newest sample in the speed average. With a 1 s tick, 0.3
 * gives the last ~3 s about two thirds of the weight: steady enough to read,
 * quick enough to follow a stall.
 */
export const SPEED_EWMA_ALPHA = 0.3;

/** Listeners get at most one call per this many ms (about 4 per second). */
export const SNAPSHOT_THROTTLE_MS = 250;

/** The timer functions progress code uses; tests pass fakes. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/**
 * The real clock: Date.now and Node timers, unref'd so that they never keep
 * the process alive.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/**
 * computeEta returns the seconds left to move `bytesTotal - bytesDone` at
 * `speed` bytes per second, rounded up; 0 when nothing is left; null when it
 * cannot be known (no total, no speed yet, or a stalled transfer).
 */
export function computeEta(
  bytesDone: number,
  bytesTotal: number | null,
  speed: number | null,
): number | null {
  if (bytesTotal === null || !Number.isFinite(bytesTotal)) {
    return null;
  }
  const left = bytesTotal - bytesDone;
  if (left <= 0) {
    return 0;
  }
  if (speed === null || !Number.isFinite(speed) || speed <= 0) {
    return null;
  }
  const seconds = Math.ceil(left / speed);
  return Number.isFinite(seconds) ? seconds : null;
}

/**
 * ewma folds `sample` into the moving average `previous` (null before the
 * first sample, which then becomes the average).
 */
export function ewma(
  previous: number | null,
  sample: number,
  alpha: number = SPEED_EWMA_ALPHA,
): number {
  return previous === null ? sample : alpha * sample + (1 - alpha) * previous;
}

/**
 * TransferMeter accounts one job's bytes. Bytes only ever go up
 * (`add` ignores negative counts, `setDone` ignores lower values) so the
 * numbers a user sees are monotonic. Call `sample()` on a fixed tick; the
 * speed is an EWMA of the rate between samples, null until two samples span
 * some bytes or time.
 */
export class TransferMeter {
  #bytesDone = 0;
  #bytesTotal: number | null;
  #speed: number | null = null;
  #lastSampleAt: number | null = null;
  #lastSampleBytes = 0;
  readonly #alpha: number;
  readonly #now: () => number;

  constructor(
    params: {
      bytesTotal?: number | null;
      bytesDone?: number;
      now?: () => number;
      alpha?: number;
    } = {},
  ) {
    this.#bytesTotal = params.bytesTotal ?? null;
    this.#bytesDone = Math.max(0, params.bytesDone ?? 0);
    this.#lastSampleBytes = this.#bytesDone;
    this.#now = params.now ?? Date.now;
    this.#alpha = params.alpha ?? SPEED_EWMA_ALPHA;
  }

  get bytesDone(): number {
    return this.#bytesDone;
  }

  get bytesTotal(): number | null {
    return this.#bytesTotal;
  }

  /** Bytes per second (moving average), or null while unknown. */
  get speed(): number | null {
    return this.#speed;
  }

  /** Seconds left, or null while unknown. */
  get etaSeconds(): number | null {
    return computeEta(this.#bytesDone, this.#bytesTotal, this.#speed);
  }

  /** setTotal sets the job's size (null when unknown). */
  setTotal(bytesTotal: number | null): void {
    this.#bytesTotal = bytesTotal;
  }

  /** add counts `bytes` more as done (ignored unless positive). */
  add(bytes: number): void {
    if (bytes > 0 && Number.isFinite(bytes)) {
      this.#bytesDone += bytes;
    }
  }

  /**
   * addResumed counts `bytes` that were already transferred by an earlier
   * run: they raise bytesDone but never count as speed.
   */
  addResumed(bytes: number): void {
    if (bytes > 0 && Number.isFinite(bytes)) {
      this.#bytesDone += bytes;
      this.#lastSampleBytes += bytes;
    }
  }

  /** setDone raises the done count to `bytesDone` (never lowers it). */
  setDone(bytesDone: number): void {
    if (bytesDone > this.#bytesDone && Number.isFinite(bytesDone)) {
      this.#bytesDone = bytesDone;
    }
  }

  /**
   * sample measures the rate since the previous sample and folds it into
   * the speed. The first call only starts the measurement. Bytes that were
   * already done when measuring started (a resumed job) never count as speed.
   */
  sample(now: number = this.#now()): void {
    if (this.#lastSampleAt === null) {
      this.#lastSampleAt = now;
      this.#lastSampleBytes = this.#bytesDone;
      return;
    }
    const elapsedMs = now - this.#lastSampleAt;
    if (elapsedMs <= 0) {
      return;
    }
    const rate = ((this.#bytesDone - this.#lastSampleBytes) * 1000) / elapsedMs;
    this.#speed = ewma(this.#speed, rate, this.#alpha);
    this.#lastSampleAt = now;
    this.#lastSampleBytes = this.#bytesDone;
  }

  /**
   * pauseSampling forgets the speed and the last sample (the job stopped
   * moving bytes on purpose: paused, retrying, finished).
   */
  pauseSampling(): void {
    this.#speed = null;
    this.#lastSampleAt = null;
    this.#lastSampleBytes = this.#bytesDone;
  }
}

/**
 * ProgressTicker samples a set of meters every `tickMs` while at least one
 * is registered, and calls `onTick` after each round.
 */
export class ProgressTicker {
  readonly #meters = new Set<TransferMeter>();
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #onTick: () => void;
  #handle: unknown = null;

  constructor(
    params: {
      clock?: Clock;
      tickMs?: number;
      onTick?: () => void;
    } = {},
  ) {
    this.#clock = params.clock ?? systemClock;
    this.#tickMs = params.tickMs ?? PROGRESS_TICK_MS;
    this.#onTick = params.onTick ?? (() => {});
  }

  /** add starts sampling `meter` (its first sample is taken now). */
  add(meter: TransferMeter): void {
    if (this.#meters.has(meter)) {
      return;
    }
    meter.sample(this.#clock.now());
    this.#meters.add(meter);
    if (this.#handle === null) {
      this.#handle = this.#clock.setInterval(() => this.#tick(), this.#tickMs);
    }
  }

  /** remove stops sampling `meter`; the timer stops with the last meter. */
  remove(meter: TransferMeter): void {
    if (!this.#meters.delete(meter)) {
      return;
    }
    meter.pauseSampling();
    if (this.#meters.size === 0) {
      this.dispose();
    }
  }

  /** dispose stops the timer (meters stay registered until removed). */
  dispose(): void {
    if (this.#handle !== null) {
      this.#clock.clearInterval(this.#handle);
      this.#handle = null;
    }
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const meter of this.#meters) {
      meter.sample(now);
    }
    this.#onTick();
  }
}

/**
 * Throttled wraps a listener so that it runs at most once per `intervalMs`:
 * the first call goes through at once, later calls within the interval are
 * folded into one trailing call with the latest value. `flush()` delivers a
 * pending value now; `dispose()` drops it.
 */
export class Throttled<T> {
  readonly #fn: (value: T) => void;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  #lastCallAt = Number.NEGATIVE_INFINITY;
  #pending: { value: T } | null = null;
  #timer: unknown = null;

  constructor(
    fn: (value: T) => void,
    intervalMs: number = SNAPSHOT_THROTTLE_MS,
    clock: Clock = systemClock,
  ) {
    this.#fn = fn;
    this.#intervalMs = intervalMs;
    this.#clock = clock;
  }

  /** isPending is true while a trailing call is waiting. */
  get isPending(): boolean {
    return this.#pending !== null;
  }

  call(value: T): void {
    const now = this.#clock.now();
    const wait = this.#lastCallAt + this.#intervalMs - now;
    if (wait <= 0 && this.#timer === null) {
      this.#deliver(value, now);
      return;
    }
    this.#pending = { value };
    if (this.#timer === null) {
      this.#timer = this.#clock.setTimeout(
        () => {
          this.#timer = null;
          this.flush();
        },
        Math.max(0, wait),
      );
    }
  }

  flush(): void {
    if (this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    const pending = this.#pending;
    if (pending) {
      this.#deliver(pending.value, this.#clock.now());
    }
  }

  dispose(): void {
    if (this.#timer !== null) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#pending = null;
  }

  #deliver(value: T, now: number): void {
    this.#pending = null;
    this.#lastCallAt = now;
    this.#fn(value);
  }
}

/** Aggregate numbers over several jobs. */
export interface TransferSummary {
  /** Jobs queued, running, retrying or paused. */
  activeJobs: number;
  bytesDone: number;
  /** null when any active job's size is unknown. */
  bytesTotal: number | null;
  /** Sum of the running jobs' speeds; null when none is known. */
  speed: number | null;
  etaSeconds: number | null;
}

const ACTIVE_STATES = new Set(['queued', 'running', 'retrying', 'paused']);

/**
 * summarizeSnapshots adds up the jobs that are still active (finished jobs
 * are left out so the total does not grow forever).
 */
export function summarizeSnapshots(
  snapshots: readonly TransferSnapshot[],
): TransferSummary {
  let activeJobs = 0;
  let bytesDone = 0;
  let bytesTotal: number | null = 0;
  let speed: number | null = null;
  for (const snap of snapshots) {
    if (!ACTIVE_STATES.has(snap.state)) {
      continue;
    }
    activeJobs++;
    bytesDone += snap.bytesDone;
    bytesTotal =
      bytesTotal === null || snap.bytesTotal === null
        ? null
        : bytesTotal + snap.bytesTotal;
    if (snap.state === 'running' && snap.speed !== null) {
      speed = (speed ?? 0) + snap.speed;
    }
  }
  return {
    activeJobs,
    bytesDone,
    bytesTotal,
    speed,
    etaSeconds: computeEta(bytesDone, bytesTotal, speed),
  };
}

/**
 * ManualClock is a Clock whose time moves only when `advance` is called,
 * running due timers in order. Exists for tests.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<
    number,
    { at: number; fn: () => void; everyMs: number | null }
  >();

  constructor(start = 0) {
    this.#now = start;
  }

  /** How many timers are pending (a test can check nothing leaked). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, {
      at: this.#now + Math.max(0, ms),
      fn,
      everyMs: null,
    });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    const everyMs = Math.max(1, ms);
    this.#timers.set(id, { at: this.#now + everyMs, fn, everyMs });
    return id;
  }

  clearInterval(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** advance moves time forward by `ms`, running every timer that falls due. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId: number | null = null;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.#timers) {
        if (timer.at <= end && timer.at < nextAt) {
          nextAt = timer.at;
          nextId = id;
        }
      }
      if (nextId === null) {
        break;
      }
      const timer = this.#timers.get(nextId)!;
      this.#now = Math.max(this.#now, timer.at);
      if (timer.everyMs === null) {
        this.#timers.delete(nextId);
      } else {
        timer.at += timer.everyMs;
      }
      timer.fn();
    }
    this.#now = end;
  }
}
