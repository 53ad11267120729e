/**
 * A generic job scheduler: bounded concurrency, one AbortController per run,
 * an explicit lifecycle, pause/resume, and a high-level retry of a whole job
 * when every error it met was retryable.
 *
 *   queued → running → done
 *                    → failed
 *                    → cancelled           (user cancel; never retried)
 *                    → paused → queued …   (pause aborts the run)
 *                    → retrying → queued … (retryable failure, then a wait)
 *
 * The scheduler knows nothing about uploads or downloads: a job is an id plus
 * a worker function. The worker gets an AbortSignal and must settle soon
 * after it aborts, by throwing unless its work is in fact complete (a
 * worker that returns is always 'done'). It reports failure by throwing; its
 * error decides what happens next (`JobFailure` says so explicitly; anything
 * else goes through errors.ts `classify`).
 */
import { computeDelay } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import {
  classify as defaultClassify,
  isCancellation,
  toErrorCode,
  toUserMessage,
} from './errors.ts';
import type { Classification } from './errors.ts';
import { systemClock } from './progress.ts';
import type { Clock } from './progress.ts';
import type { JobState } from '../../shared/domain.ts';

/**
 * JOB_RETRY_POLICY for rerunning a whole job. Caps of the waits between the
 * 4 runs: up to 5 s, 10 s, 20 s (35 s at most in total). Work already done
 * (uploaded parts, delivered files) is kept by the journal, so a rerun only
 * does what is left.
 */
export const JOB_RETRY_POLICY: BackoffPolicy = Object.freeze({
  baseMs: 5_000,
  maxMs: 60_000,
  factor: 2,
  maxAttempts: 4,
  jitter: 'full',
});

/** The stable error of a job, as it is shown and journaled. */
export interface JobError {
  code: string;
  message: string;
}

/**
 * JobFailure is what a worker throws to say exactly how it failed:
 * `isRetryable` true only when every error the run met was retryable;
 * `retryAfterMs` when the server said when to come back. `code` and the
 * message are what the user sees.
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  readonly code: string;
  readonly isRetryable: boolean;
  readonly retryAfterMs: number | null;

  constructor(params: {
    code: string;
    message: string;
    isRetryable: boolean;
    retryAfterMs?: number | null;
    cause?: unknown;
  }) {
    super(params.message, { cause: params.cause });
    this.code = params.code;
    this.isRetryable = params.isRetryable;
    this.retryAfterMs = params.retryAfterMs ?? null;
  }
}

/** What a worker receives for one run. */
export interface JobRun {
  id: string;
  /** 1 for the first run of the job, counting every run ever started. */
  attempt: number;
  /** Aborted on cancel, pause and stop; `signal.reason` says which. */
  signal: AbortSignal;
}

export type JobWorker = (run: JobRun) => Promise<void>;

/** isStoppingFor is true while the job's run is being stopped for `why`. */
function isStoppingFor(entry: Entry, why: JobAbort['why']): boolean {
  const signal = entry.controller?.signal;
  return (
    signal !== undefined &&
    signal.aborted &&
    signal.reason instanceof JobAbort &&
    signal.reason.why === why
  );
}

/** Why the scheduler aborted a run (the AbortSignal's reason). */
export class JobAbort extends Error {
  override readonly name = 'AbortError';
  readonly why: 'cancel' | 'pause' | 'stop';

  constructor(why: 'cancel' | 'pause' | 'stop') {
    super(
      why === 'cancel'
        ? 'Cancelled.'
        : why === 'pause'
          ? 'Paused.'
          : 'Stopped for shutdown.',
    );
    this.why = why;
  }
}

/** A job as the scheduler sees it. */
export interface ScheduledJob {
  id: string;
  state: JobState;
  attempt: number;
  error: JobError | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** When the next run of a 'retrying' job starts (epoch ms), else null. */
  retryAt: number | null;
}

/** Persists state changes; Journal.updateJob fits. */
export interface JobStateStore {
  updateJob(
    id: string,
    update: {
      state?: JobState;
      attempt?: number;
      error?: JobError | null;
      startedAt?: string | null;
      finishedAt?: string | null;
    },
  ): unknown;
}

export interface SchedulerParams {
  /** Jobs run at the same time (default 2). */
  concurrency?: number;
  /** Where state changes are written before they are reported. */
  store?: JobStateStore;
  retryPolicy?: BackoffPolicy;
  classify?: (err: unknown) => Classification;
  clock?: Clock;
  random?: () => number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

interface Entry {
  job: ScheduledJob;
  worker: JobWorker;
  controller: AbortController | null;
  running: Promise<void> | null;
  retryTimer: unknown;
  /** Runs since the job was added or the user last asked for a retry. */
  runsInBudget: number;
  /**
   * Set when cancel() comes while the run is stopping for another reason
   * (a pause): the run's signal keeps its first reason, the cancel wins.
   */
  isCancelRequested: boolean;
  /**
   * Set when resume() comes while a pause is still stopping the run: the
   * job is queued again instead of ending paused.
   */
  isResumeRequested: boolean;
}

/**
 * Scheduler runs jobs with bounded concurrency. All methods are safe to call
 * at any time; unknown ids are ignored by the control methods (cancel,
 * pause, resume, retry), which return false then.
 */
export class Scheduler {
  readonly #entries = new Map<string, Entry>();
  readonly #order: string[] = [];
  readonly #concurrency: number;
  readonly #store: JobStateStore | undefined;
  readonly #policy: BackoffPolicy;
  readonly #classify: (err: unknown) => Classification;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: NonNullable<SchedulerParams['log']>;
  readonly #listeners = new Set<(job: ScheduledJob) => void>();
  #idleWaiters: (() => void)[] = [];
  #runningCount = 0;
  #isPumping = false;
  #isStopped = false;

  constructor(params: SchedulerParams = {}) {
    this.#concurrency = Math.max(1, Math.floor(params.concurrency ?? 2));
    this.#store = params.store;
    this.#policy = params.retryPolicy ?? JOB_RETRY_POLICY;
    this.#classify = params.classify ?? ((err) => defaultClassify(err));
    this.#clock = params.clock ?? systemClock;
    this.#random = params.random ?? Math.random;
    this.#log = params.log ?? (() => {});
  }

  /** isStopped is true once `stop()` was called: no job starts after that. */
  get isStopped(): boolean {
    return this.#isStopped;
  }

  /**
   * add schedules a job. `initial` restores a job from the journal: its
   * attempt count, error and state ('paused' and the final states are kept,
   * 'running' and 'retrying' become 'queued' since no run is in progress).
   * Throws when the id is already scheduled.
   */
  add(
    id: string,
    worker: JobWorker,
    initial?: {
      attempt?: number;
      state?: JobState;
      error?: JobError | null;
      startedAt?: string | null;
      finishedAt?: string | null;
    },
  ): ScheduledJob {
    if (this.#entries.has(id)) {
      throw new Error(`Scheduler/add(${id}): job already scheduled`);
    }
    const given = initial?.state ?? 'queued';
    const state: JobState =
      given === 'paused' || isFinal(given) ? given : 'queued';
    const entry: Entry = {
      job: {
        id,
        state,
        attempt: initial?.attempt ?? 0,
        error: initial?.error ?? null,
        startedAt: initial?.startedAt ?? null,
        finishedAt: isFinal(state) ? (initial?.finishedAt ?? null) : null,
        retryAt: null,
      },
      worker,
      controller: null,
      running: null,
      retryTimer: null,
      runsInBudget: 0,
      isCancelRequested: false,
      isResumeRequested: false,
    };
    this.#entries.set(id, entry);
    this.#order.push(id);
    this.#setState(entry, { state });
    this.#maybeStartJobs();
    return { ...entry.job };
  }

  /** get returns a copy of the job, or undefined. */
  get(id: string): ScheduledJob | undefined {
    const entry = this.#entries.get(id);
    return entry ? { ...entry.job } : undefined;
  }

  /** list returns copies of all jobs in the order they were added. */
  list(): ScheduledJob[] {
    return this.#order.map((id) => ({ ...this.#entries.get(id)!.job }));
  }

  /**
   * onDidChangeState calls `listener` after every state change (already
   * persisted). Returns the unsubscribe function.
   */
  onDidChangeState(listener: (job: ScheduledJob) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * cancel ends the job as 'cancelled': at once when it is not running,
   * after its worker settles otherwise. Finished jobs are left alone.
   */
  cancel(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry || isFinal(entry.job.state)) {
      return false;
    }
    if (entry.job.state === 'running') {
      entry.isCancelRequested = true;
      entry.controller?.abort(new JobAbort('cancel'));
      return true;
    }
    this.#clearRetryTimer(entry);
    this.#finish(entry, 'cancelled', null);
    return true;
  }

  /**
   * pause moves a queued, retrying or running job to 'paused' (a running
   * one is aborted first; its journal keeps what was done).
   */
  pause(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) {
      return false;
    }
    const { state } = entry.job;
    if (state === 'running') {
      entry.isResumeRequested = false;
      entry.controller?.abort(new JobAbort('pause'));
      return true;
    }
    if (state !== 'queued' && state !== 'retrying') {
      return false;
    }
    this.#clearRetryTimer(entry);
    this.#setState(entry, { state: 'paused' });
    this.#maybeStartJobs();
    return true;
  }

  /** resume queues a paused job again. */
  resume(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) {
      return false;
    }
    if (entry.job.state === 'running' && isStoppingFor(entry, 'pause')) {
      entry.isResumeRequested = true;
      return true;
    }
    if (entry.job.state !== 'paused') {
      return false;
    }
    entry.runsInBudget = 0;
    this.#setState(entry, { state: 'queued', error: null });
    this.#maybeStartJobs();
    return true;
  }

  /**
   * retry queues a failed or cancelled job again (a user's decision, with a
   * fresh automatic-retry budget). A retrying job starts now.
   */
  retry(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) {
      return false;
    }
    const { state } = entry.job;
    if (state !== 'failed' && state !== 'cancelled' && state !== 'retrying') {
      return false;
    }
    this.#clearRetryTimer(entry);
    entry.runsInBudget = 0;
    this.#setState(entry, { state: 'queued', error: null, finishedAt: null });
    this.#maybeStartJobs();
    return true;
  }

  /**
   * remove forgets a job that is not active (done, failed, cancelled).
   * Returns false for active jobs.
   */
  remove(id: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry || !isFinal(entry.job.state)) {
      return false;
    }
    this.#entries.delete(id);
    this.#order.splice(this.#order.indexOf(id), 1);
    return true;
  }

  /**
   * whenIdle resolves when no job is running, queued or waiting to retry
   * (paused jobs do not count), or once the scheduler is stopped and its
   * runs have settled.
   */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
    });
  }

  /**
   * stop aborts every running job and waits for the workers to settle.
   * Interrupted jobs are left 'queued' (in the store as well), so a later
   * process resumes them; no job starts after stop.
   */
  async stop(): Promise<void> {
    this.#isStopped = true;
    const running: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.job.state === 'retrying') {
        this.#clearRetryTimer(entry);
        this.#setState(entry, { state: 'queued' });
      }
      if (entry.running) {
        entry.controller?.abort(new JobAbort('stop'));
        running.push(entry.running);
      }
    }
    await Promise.allSettled(running);
    this.#notifyIdle();
  }

  // Start more jobs. Called by add, pause, resume, retry, a finished run and
  // a retry timer. A listener of onDidChangeState may call back into the
  // scheduler from #setState while this loop runs; the flag makes such a
  // nested call return at once, and the loop below picks up its effect.
  #maybeStartJobs(): void {
    if (this.#isPumping) {
      return;
    }
    this.#isPumping = true;
    try {
      while (!this.#isStopped && this.#runningCount < this.#concurrency) {
        const next = this.#order
          .map((id) => this.#entries.get(id)!)
          .find((entry) => entry.job.state === 'queued');
        if (!next) {
          break;
        }
        this.#start(next);
      }
    } finally {
      this.#isPumping = false;
    }
    this.#notifyIdle();
  }

  #start(entry: Entry): void {
    const controller = new AbortController();
    entry.controller = controller;
    entry.runsInBudget++;
    this.#runningCount++;
    const attempt = entry.job.attempt + 1;
    this.#setState(entry, {
      state: 'running',
      attempt,
      error: null,
      startedAt:
        entry.job.startedAt ?? new Date(this.#clock.now()).toISOString(),
      finishedAt: null,
    });
    this.#log('debug', `Scheduler/start(${entry.job.id}): attempt ${attempt}`);
    const run: JobRun = {
      id: entry.job.id,
      attempt,
      signal: controller.signal,
    };
    entry.running = (async () => {
      try {
        await entry.worker(run);
        this.#settle(entry, controller, null);
      } catch (err) {
        this.#settle(entry, controller, { error: err });
      }
    })();
  }

  #settle(
    entry: Entry,
    controller: AbortController,
    failure: { error: unknown } | null,
  ): void {
    this.#runningCount--;
    entry.controller = null;
    entry.running = null;
    const reason = controller.signal.aborted ? controller.signal.reason : null;
    const why = entry.isCancelRequested
      ? 'cancel'
      : reason instanceof JobAbort
        ? reason.why
        : null;
    const isResumeRequested = entry.isResumeRequested;
    entry.isCancelRequested = false;
    entry.isResumeRequested = false;

    // A worker that returned normally finished its work, even when an abort
    // arrived too late to stop it: reporting it paused or cancelled would
    // hide that the work is done.
    if (!failure) {
      this.#finish(entry, 'done', null);
    } else if (why === 'cancel') {
      this.#finish(entry, 'cancelled', null);
    } else if (why === 'pause') {
      this.#setState(
        entry,
        isResumeRequested ? { state: 'queued', error: null } : { state: 'paused' },
      );
    } else if (why === 'stop') {
      this.#setState(entry, { state: 'queued' });
    } else {
      this.#handleFailure(entry, failure.error);
    }
    this.#maybeStartJobs();
  }

  #handleFailure(entry: Entry, err: unknown): void {
    const id = entry.job.id;
    const jobError = toJobError(err);
    if (isCancellation(err) && !(err instanceof JobFailure)) {
      // A cancellation nobody asked for (e.g. a worker's own abort): not a
      // user cancel, so it is a failure, but never retried.
      this.#finish(entry, 'failed', jobError);
      return;
    }
    const verdict = this.#retryVerdict(err);
    const attemptsLeft = this.#policy.maxAttempts - entry.runsInBudget;
    if (!verdict.isRetryable || attemptsLeft <= 0) {
      this.#log(
        'error',
        `Scheduler/run(${id}): failed after attempt ${entry.job.attempt}: ${jobError.message}`,
      );
      this.#finish(entry, 'failed', jobError);
      return;
    }
    const delayMs = Math.max(
      verdict.retryAfterMs ?? 0,
      computeDelay(this.#policy, entry.runsInBudget, this.#random),
    );
    this.#log(
      'debug',
      `Scheduler/run(${id}): attempt ${entry.runsInBudget}/${this.#policy.maxAttempts} failed, retrying in ${delayMs} ms: ${jobError.message}`,
    );
    const retryAt = this.#clock.now() + delayMs;
    this.#setState(entry, { state: 'retrying', error: jobError }, retryAt);
    entry.retryTimer = this.#clock.setTimeout(() => {
      entry.retryTimer = null;
      if (entry.job.state !== 'retrying' || this.#isStopped) {
        return;
      }
      this.#setState(entry, { state: 'queued' });
      this.#maybeStartJobs();
    }, delayMs);
  }

  #retryVerdict(err: unknown): {
    isRetryable: boolean;
    retryAfterMs: number | null;
  } {
    if (err instanceof JobFailure) {
      return { isRetryable: err.isRetryable, retryAfterMs: err.retryAfterMs };
    }
    const classification = this.#classify(err);
    if (classification.action === 'retry') {
      return { isRetryable: true, retryAfterMs: null };
    }
    if (classification.action === 'retry-after') {
      return { isRetryable: true, retryAfterMs: classification.afterMs };
    }
    return { isRetryable: false, retryAfterMs: null };
  }

  #finish(entry: Entry, state: JobState, error: JobError | null): void {
    this.#setState(entry, {
      state,
      error,
      finishedAt: new Date(this.#clock.now()).toISOString(),
    });
  }

  #clearRetryTimer(entry: Entry): void {
    if (entry.retryTimer !== null) {
      this.#clock.clearTimeout(entry.retryTimer);
      entry.retryTimer = null;
    }
    entry.job.retryAt = null;
  }

  // Writes to the store first, then updates memory, then tells listeners:
  // a state is never reported before it is durable.
  #setState(
    entry: Entry,
    update: Partial<Omit<ScheduledJob, 'id' | 'retryAt'>>,
    retryAt: number | null = null,
  ): void {
    this.#store?.updateJob(entry.job.id, update);
    Object.assign(entry.job, update);
    entry.job.retryAt = retryAt;
    const copy = { ...entry.job };
    for (const listener of [...this.#listeners]) {
      try {
        listener(copy);
      } catch (err) {
        this.#log(
          'error',
          `Scheduler/listener(${entry.job.id}): ${toUserMessage(err)}`,
        );
      }
    }
  }

  #isIdle(): boolean {
    if (this.#runningCount > 0) {
      return false;
    }
    if (this.#isStopped) {
      return true;
    }
    for (const entry of this.#entries.values()) {
      if (entry.job.state === 'queued' || entry.job.state === 'retrying') {
        return false;
      }
    }
    return true;
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) {
      return;
    }
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }
}

/** isFinal is true for states a job leaves only by a user's retry. */
export function isFinal(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

/** toJobError turns any error into the stable `{code, message}` of a job. */
export function toJobError(err: unknown): JobError {
  if (err instanceof JobFailure) {
    return { code: err.code, message: err.message };
  }
  if (isObject(err) && typeof err.jobErrorCode === 'string') {
    return { code: err.jobErrorCode, message: toUserMessage(err) };
  }
  return { code: toErrorCode(err), message: toUserMessage(err) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Limiter runs at most `limit` tasks at a time; the others wait in order.
 * Used to bound the files in flight across all jobs.
 */
export class Limiter {
  readonly limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /**
   * acquire waits for a free slot and resolves with the function that gives
   * it back (calling it again does nothing), first come first served; a
   * slot given back passes straight to the next waiter. Aborting `signal`
   * while waiting rejects with its reason and gives the place up.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.#take(signal);
    return this.#releaser();
  }

  /**
   * run calls `fn` once a slot is free (at once, in this tick, when one
   * is) and resolves (or rejects) with its result. Aborting `signal` while
   * waiting rejects with its reason and gives the place up.
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const waiting = this.#take(signal);
    if (waiting) {
      await waiting;
    }
    const release = this.#releaser();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Takes a slot now (null) or gives the promise of one. */
  #take(signal?: AbortSignal): Promise<void> | null {
    if (this.#active < this.limit) {
      this.#active++;
      return null;
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiting.indexOf(start);
        if (at !== -1) {
          this.#waiting.splice(at, 1);
        }
        reject(signal?.reason ?? new Error('Aborted'));
      };
      const start = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(start);
    });
  }

  #releaser(): () => void {
    let isReleased = false;
    return () => {
      if (isReleased) {
        return;
      }
      isReleased = true;
      const next = this.#waiting.shift();
      if (next) {
        // The slot passes to the next task without being released.
        next();
      } else {
        this.#active--;
      }
    };
  }
}
