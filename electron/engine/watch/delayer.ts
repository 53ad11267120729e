/**
 * Delayer runs one async task for one subject (a run folder), coalescing
 * requests. Think of a lift: people who press the button while it is on
 * its way all ride the same trip, and someone who presses while it is
 * moving gets the next trip, not a second lift.
 *
 * - `trigger(delayMs)` asks for a run after `delayMs`; when a run is
 *   already due sooner, that one stays, so a burst of events gives one run,
 *   and a poll never postpones an earlier event-driven run.
 * - Runs never overlap: a trigger during a run asks for one more run,
 *   due `delayMs` after the current one ends.
 * - `dispose()` cancels the pending run and waits for a running one.
 */
import type { Clock } from '../progress.ts';

/**
 * Delayer: see the module comment. `task` errors go to `onError` (the
 * delayer keeps working); timers come from `clock`.
 */
export class Delayer {
  readonly #task: () => Promise<void>;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  #timer: unknown = null;
  #dueAt = Number.POSITIVE_INFINITY;
  #running: Promise<void> | null = null;
  /** Delay asked for while running; null when no trigger came. */
  #nextDelayMs: number | null = null;
  #isDisposed = false;

  constructor(
    task: () => Promise<void>,
    clock: Clock,
    onError: (err: unknown) => void,
  ) {
    this.#task = task;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** isScheduled is true while a run is due or running. */
  get isScheduled(): boolean {
    return this.#timer !== null || this.#running !== null;
  }

  /** trigger asks for a run after `delayMs` (see the class comment). */
  trigger(delayMs: number): void {
    if (this.#isDisposed) return;
    const delay = Math.max(0, delayMs);
    if (this.#running !== null) {
      this.#nextDelayMs = Math.min(this.#nextDelayMs ?? delay, delay);
      return;
    }
    const dueAt = this.#clock.now() + delay;
    if (this.#timer !== null && this.#dueAt <= dueAt) return;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#dueAt = dueAt;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), delay);
  }

  /** runNow runs the task at once (or right after the current run) and resolves when it ran. */
  async runNow(): Promise<void> {
    while (this.#running !== null) await this.#running;
    if (this.#isDisposed) return;
    this.#cancelTimer();
    await this.#fire();
  }

  /** dispose cancels a pending run and resolves when a running one ended. */
  async dispose(): Promise<void> {
    this.#isDisposed = true;
    this.#cancelTimer();
    this.#nextDelayMs = null;
    while (this.#running !== null) await this.#running;
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }

  #fire(): Promise<void> {
    this.#timer = null;
    this.#dueAt = Number.POSITIVE_INFINITY;
    const running = (async () => {
      try {
        await this.#task();
      } catch (err) {
        this.#onError(err);
      }
    })();
    this.#running = running;
    return running.finally(() => {
      this.#running = null;
      const next = this.#nextDelayMs;
      this.#nextDelayMs = null;
      if (next !== null) this.trigger(next);
    });
  }
}
