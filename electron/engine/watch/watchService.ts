/**
 * The watch-folder service: watches the folders sequencers write to and
 * uploads each finished run once, assigning it to the folder's project.
 *
 * For each watch folder, run folders are the folder's direct children
 * (rootWatcher.ts). A run found there goes through:
 *
 *   waiting-for-run  its instrument's completion markers (markers.ts) are
 *                    missing, or it has no FASTQ yet;
 *   settling         FASTQs still change, or one ends inside a gzip member
 *                    (stability.ts, gzipTail.ts);
 *   planned          the upload plan is made and accepted (planReview.ts);
 *   uploading        an upload job of the engine runs (`jobId`);
 *   assigned         the job uploaded and assigned it (`assigned`);
 *
 * or ends 'failed' (held plan, failed job), 'ignored' (by the user) or
 * 'duplicate' (delivered to this project from another watch folder).
 *
 * Exactly once: runs are journal rows keyed by (watch folder, Run Id), and
 * the row gets its job id in the same transaction that creates the job, so
 * no crash can leave a job without its row or a row that forgets its job.
 * A run seen again (restart, remount, a copy under another name) finds its
 * row and is never planned twice; a job left mid-way is continued through
 * `engine.waitFor`, whose upload skips finished objects and whose
 * assignment journal never sends a batch twice. One watcher per journal
 * is the intended setup; a second one (the app and a `watch` command on
 * the same data folder) never queues a run the first one queued: the
 * queueing transaction checks the row, and a row that names a job is
 * never overwritten by a writer that has not seen that job (store.ts).
 *
 * Work is driven by events and timers, never by recursive watches: one
 * delayer per child path (coalescing events into one look at the folder)
 * and one per run (markers and FASTQ stats, re-polled while the run waits
 * or settles; runs in a final state cost nothing).
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { computeDelay } from '../backoff.ts';
import type { BackoffPolicy } from '../backoff.ts';
import type { Engine } from '../engine.ts';
import { ValidationError, toUserMessage } from '../errors.ts';
import type { Journal } from '../journal/journal.ts';
import { createLogger } from '../log.ts';
import type { Logger, LogSink } from '../log.ts';
import { SNAPSHOT_THROTTLE_MS, systemClock } from '../progress.ts';
import type { Clock } from '../progress.ts';
import { describeRunFolder } from '../scan/runFolder.ts';
import { Limiter } from '../scheduler.ts';
import { Delayer } from './delayer.ts';
import { runDestination } from './destination.ts';
import {
  checkFolderAccess,
  checkFolderOptions,
  listChildren,
} from './folderSettings.ts';
import type { AddWatchFolderOptions } from './folderSettings.ts';
import { checkGzipTail } from './gzipTail.ts';
import type { GzipTailVerdict } from './gzipTail.ts';
import {
  completionFacts,
  completionRule,
  findMissingMarkers,
} from './markers.ts';
import { reviewPlan } from './planReview.ts';
import { RootWatcher } from './rootWatcher.ts';
import { readRunIdentity } from './runIdentity.ts';
import { FileStabilityTracker, listRunFastqs } from './stability.ts';
import type { RunFastq, UnsettledFile } from './stability.ts';
import { WatchStore, emptyRunDetail } from './store.ts';
import type { WatchFolderRecord, WatchRunRecord } from './store.ts';
import { folderViewOf, notRunViewOf, runViewOf } from './views.ts';
import type {
  TransferSnapshot,
  UploadPlan,
  WatchFolderStatus,
  WatchFolderView,
  WatchRunState,
  WatchRunView,
} from '../../../shared/domain.ts';

export type { AddWatchFolderOptions } from './folderSettings.ts';

/** The engine calls the service makes (Engine fits). */
export type WatchEngine = Pick<
  Engine,
  'journal' | 'plan' | 'enqueueUpload' | 'waitFor' | 'retry'
>;

/** The platform calls the service makes (GencoveClient fits). */
export interface WatchProjectApi {
  getProject(id: string): Promise<{ name: string }>;
}

/**
 * Timings of the service, in ms unless said otherwise. The waits of a
 * missing or unreadable folder follow `retryPolicy`: 1, 2, 4, 8, 16, 32,
 * then every 60 s, for as long as the folder is watched.
 */
export interface WatchTimings {
  /** Settle time of folders that do not set one, seconds. */
  settleSeconds: number;
  /** Delay that coalesces a burst of events on one child of the folder. */
  eventDelayMs: number;
  /** Polls of a run waiting for its completion markers. */
  waitingPollMs: number;
  /** Bounds of the polls of a settling run (it is polled when it could settle). */
  settlingPollMinMs: number;
  settlingPollMaxMs: number;
  /** Polls of a new folder without RunInfo.xml, during `notRunPollWindowMs`. */
  notRunPollMs: number;
  notRunPollWindowMs: number;
  /** Full re-listing of the watch folder (catches missed events). */
  rescanMs: number;
  /** Poll interval of the watch folder itself in polling mode. */
  pollingIntervalMs: number;
  /** Smallest gap between the two looks that settle a file. */
  minGapMs: number;
  /** Waits before looking again at a missing or unreadable folder. */
  retryPolicy: BackoffPolicy;
  /** Wait before asking the platform again for the project's name after a failure. */
  platformRetryMs: number;
}

/** The default timings (see {@link WatchTimings}). */
export const WATCH_DEFAULTS: Readonly<WatchTimings> = Object.freeze({
  settleSeconds: 60,
  eventDelayMs: 300,
  waitingPollMs: 2_000,
  settlingPollMinMs: 250,
  settlingPollMaxMs: 5_000,
  notRunPollMs: 5_000,
  notRunPollWindowMs: 10 * 60_000,
  rescanMs: 30_000,
  pollingIntervalMs: 2_000,
  minGapMs: 1_000,
  retryPolicy: Object.freeze({
    baseMs: 1_000,
    maxMs: 60_000,
    factor: 2,
    maxAttempts: Number.POSITIVE_INFINITY,
    jitter: 'none',
  }),
  platformRetryMs: 10_000,
});

/** Parameters of {@link WatchService}. */
export interface WatchServiceParams {
  engine: WatchEngine;
  /**
   * The journal for the watch tables; must be `engine.journal` (the default),
   * since a run's row and its upload job are written in one transaction.
   */
  journal?: Journal;
  client: WatchProjectApi;
  log?: LogSink;
  clock?: Clock;
  timings?: Partial<WatchTimings>;
}

/** A run's state changed (or something else the user sees about it). */
export interface WatchRunEvent {
  folderId: string;
  run: WatchRunView;
  /** State before this change; null for a run seen for the first time. */
  previousState: WatchRunState | null;
}

interface RunEntry {
  record: WatchRunRecord;
  delayer: Delayer;
  tracker: FileStabilityTracker;
  /** Tail verdicts by run-relative path, valid for one size and mtime. */
  tails: Map<string, { version: string; verdict: GzipTailVerdict }>;
  unsettled: UnsettledFile[];
  follow: Promise<void> | null;
  lastView: string | null;
  /**
   * False for a run just found, until its first look is done: views then
   * show what it waits for, never a state without its reasons.
   */
  isShown: boolean;
}

interface NotRunEntry {
  path: string;
  reason: string;
  firstSeenAt: number;
  lastView: string | null;
}

interface FolderRuntime {
  record: WatchFolderRecord;
  status: WatchFolderStatus;
  message: string;
  nextRetryAt: number | null;
  /** 'watching' after start(), 'once' inside deliverOnce(), else 'idle'. */
  mode: 'idle' | 'watching' | 'once';
  /** Bumped whenever the folder is opened or closed; stale work checks it. */
  generation: number;
  watcher: RootWatcher | null;
  rescanTimer: unknown;
  retryTimer: unknown;
  failedOpens: number;
  wasUnavailable: boolean;
  runs: Map<string, RunEntry>;
  /** Child folders on disk now that hold a run, and their Run Id. */
  presentPaths: Map<string, string>;
  notRuns: Map<string, NotRunEntry>;
  pathDelayers: Map<string, Delayer>;
  /** Children of the first scan, while it runs (for ignoreExistingRuns). */
  firstScanPaths: Set<string> | null;
  projectName: string | null;
  projectError: string | null;
  projectTriedAt: number;
  lastStatusView: string | null;
}

/** At most this many run folders are looked at at once. */
const INSPECT_CONCURRENCY = 4;

/**
 * WatchService keeps the watch folders of one journal. Construct it once,
 * then `start()`; `stop()` before closing the engine. Methods that change
 * folders or runs throw a ValidationError naming what is wrong (unknown id,
 * bad option, a run in a state where the action makes no sense).
 */
export class WatchService {
  readonly #engine: WatchEngine;
  readonly #journal: Journal;
  readonly #store: WatchStore;
  readonly #client: WatchProjectApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timings: WatchTimings;
  readonly #folders = new Map<string, FolderRuntime>();
  readonly #inspectLimiter = new Limiter(INSPECT_CONCURRENCY);
  /** Planning reads every FASTQ; one run at a time. */
  readonly #planLimiter = new Limiter(1);
  readonly #viewListeners = new Set<(folders: WatchFolderView[]) => void>();
  /** Pending delivery to view listeners (views are built once per delivery). */
  #viewTimer: unknown = null;
  readonly #runListeners = new Set<(event: WatchRunEvent) => void>();
  readonly #folderListeners = new Set<(folder: WatchFolderView) => void>();
  #isStarted = false;
  /** The folders `start` watches; null for all of them. */
  #watchedIds: Set<string> | null = null;

  /**
   * The constructor creates the watch tables when missing and loads the
   * folders and runs of the journal; nothing is watched before `start()`.
   * Throws when `journal` is not the engine's journal.
   */
  constructor(params: WatchServiceParams) {
    this.#engine = params.engine;
    this.#journal = params.journal ?? params.engine.journal;
    if (this.#journal !== params.engine.journal) {
      throw new Error(
        "WatchService: the journal must be the engine's journal (a run and its upload job are written together)",
      );
    }
    this.#client = params.client;
    this.#clock = params.clock ?? systemClock;
    this.#log = createLogger('Watch', params.log);
    this.#timings = { ...WATCH_DEFAULTS, ...params.timings };
    this.#store = new WatchStore(this.#journal);
    for (const record of this.#store.listFolders()) {
      this.#load(record);
    }
  }

  // --- folders --------------------------------------------------------------

  /**
   * addFolder starts watching a folder for the project (at once when the
   * service is started) and returns its view. The same path and project
   * again returns the existing folder with the new settings, so repeated
   * `watch --once` runs share their runs. The folder need not exist yet.
   */
  addFolder(options: AddWatchFolderOptions): WatchFolderView {
    const settings = checkFolderOptions(options, this.#timings.settleSeconds);
    const isSame = (r: WatchFolderRecord): boolean =>
      r.path === settings.path && r.projectId === settings.projectId;
    let existing = [...this.#folders.values()].find((f) => isSame(f.record));
    if (existing === undefined) {
      // Another process on the same journal may have added it meanwhile.
      const stored = this.#store.listFolders().find(isSame);
      if (stored !== undefined) existing = this.#load(stored);
    }
    if (existing !== undefined) {
      const before = existing.record;
      existing.record = {
        ...before,
        destination: settings.destination,
        metadata: settings.metadata,
        isPolling: settings.isPolling,
        settleSeconds: settings.settleSeconds,
        includeUndetermined: settings.includeUndetermined,
      };
      this.#store.updateFolder(existing.record);
      if (
        before.isPolling !== settings.isPolling &&
        existing.mode === 'watching'
      ) {
        void this.#reopen(existing);
      }
      this.#emitFolder(existing);
      return this.#folderView(existing);
    }

    const record: WatchFolderRecord = {
      id: randomUUID(),
      ...settings,
      isPaused: false,
      firstScanAt: null,
      createdAt: new Date(this.#clock.now()).toISOString(),
    };
    this.#store.addFolder(record);
    const folder = this.#load(record);
    this.#log.info(
      `Watch/addFolder(${shortId(record.id)}): watching for project ${record.projectId}`,
    );
    if (this.#isStarted) void this.#open(folder);
    this.#emitFolder(folder);
    return this.#folderView(folder);
  }

  /**
   * removeFolder stops watching the folder and forgets it. Nothing is
   * deleted on disk; uploads already queued go on; its runs stay known, so
   * adding the folder again later uploads none of them twice.
   */
  async removeFolder(id: string): Promise<void> {
    const folder = this.#folder(id);
    this.#folders.delete(id);
    this.#store.removeFolder(id, new Date(this.#clock.now()).toISOString());
    await this.#close(folder, 'stopped', 'Removed.');
    this.#log.info(`Watch/removeFolder(${shortId(id)}): removed`);
    this.#emitViews();
  }

  /** pauseFolder stops new work in the folder (uploads already queued go on). */
  async pauseFolder(id: string): Promise<WatchFolderView> {
    const folder = this.#folder(id);
    folder.record = { ...folder.record, isPaused: true };
    this.#store.updateFolder(folder.record);
    await this.#close(
      folder,
      'paused',
      'Paused: no new run is uploaded until it is resumed.',
    );
    return this.#folderView(folder);
  }

  /** resumeFolder undoes `pauseFolder`. */
  resumeFolder(id: string): WatchFolderView {
    const folder = this.#folder(id);
    if (!folder.record.isPaused) return this.#folderView(folder);
    folder.record = { ...folder.record, isPaused: false };
    this.#store.updateFolder(folder.record);
    if (this.#isStarted) {
      void this.#open(folder);
    } else {
      this.#setStatus(folder, 'stopped', 'Not watched now.');
    }
    return this.#folderView(folder);
  }

  /** listFolders returns every watch folder with its runs. */
  listFolders(): WatchFolderView[] {
    return [...this.#folders.values()].map((f) => this.#folderView(f));
  }

  /** getFolder returns one watch folder with its runs. */
  getFolder(id: string): WatchFolderView {
    return this.#folderView(this.#folder(id));
  }

  // --- runs -----------------------------------------------------------------

  /**
   * ignoreRun leaves a run out for good (until `retryRun`). Refused for a
   * run that is uploading (cancel its transfer instead) or delivered.
   */
  ignoreRun(folderId: string, runId: string): WatchRunView {
    const folder = this.#folder(folderId);
    const entry = this.#run(folder, runId);
    const { state, jobId } = entry.record;
    if (state === 'uploading') {
      throw new ValidationError(
        'runId',
        `Run ${runId} is uploading as transfer ${jobId}; cancel that transfer to stop it.`,
      );
    }
    if (state === 'assigned' || state === 'duplicate') {
      throw new ValidationError(
        'runId',
        `Run ${runId} is already delivered; there is nothing to ignore.`,
      );
    }
    this.#update(folder, entry, {
      state: 'ignored',
      message: 'Ignored by the user.',
    });
    return this.#runView(folder, entry);
  }

  /**
   * retryRun gives a failed or ignored run another chance. When it has an
   * upload job, that job is retried (finished objects and assignments are
   * kept, so nothing is sent twice); otherwise the run is looked at again
   * from the start. `force` accepts the plan's blocking problems (samples
   * with errors still stay out).
   */
  retryRun(
    folderId: string,
    runId: string,
    opts: { force?: boolean } = {},
  ): WatchRunView {
    const folder = this.#folder(folderId);
    const entry = this.#run(folder, runId);
    const { state, jobId } = entry.record;
    if (state !== 'failed' && state !== 'ignored') {
      throw new ValidationError(
        'runId',
        `Run ${runId} is ${state}; only a failed or ignored run can be retried.`,
      );
    }
    if (jobId !== null) {
      this.#engine.retry(jobId);
      this.#update(folder, entry, {
        state: 'uploading',
        message: `Uploading again (transfer ${jobId}).`,
        detail: { ...entry.record.detail, jobErrorCode: null },
      });
      this.#follow(folder, entry);
      return this.#runView(folder, entry);
    }
    entry.tracker.reset();
    entry.tails.clear();
    this.#update(folder, entry, {
      state: 'waiting-for-run',
      message: 'Looking at the run again.',
      detail: {
        ...emptyRunDetail(),
        instrument: entry.record.detail.instrument,
        isForced: opts.force === true,
      },
    });
    this.#maybePoll(folder, entry, 0);
    return this.#runView(folder, entry);
  }

  /** getPlan returns the upload plan made for a run, or null before it was planned. */
  getPlan(folderId: string, runId: string): UploadPlan | null {
    this.#run(this.#folder(folderId), runId);
    return this.#store.getPlan(folderId, runId);
  }

  // --- events ---------------------------------------------------------------

  /**
   * onDidChange calls `listener` with every folder and its runs when
   * something changed, at most about 4 times a second. Returns the
   * unsubscribe function.
   */
  onDidChange(listener: (folders: WatchFolderView[]) => void): () => void {
    this.#viewListeners.add(listener);
    return () => {
      this.#viewListeners.delete(listener);
    };
  }

  /** onDidChangeRun calls `listener` at once for every visible change of a run. */
  onDidChangeRun(listener: (event: WatchRunEvent) => void): () => void {
    this.#runListeners.add(listener);
    return () => {
      this.#runListeners.delete(listener);
    };
  }

  /** onDidChangeFolder calls `listener` when a folder's status or settings change. */
  onDidChangeFolder(listener: (folder: WatchFolderView) => void): () => void {
    this.#folderListeners.add(listener);
    return () => {
      this.#folderListeners.delete(listener);
    };
  }

  // --- lifecycle ------------------------------------------------------------

  /**
   * start watches every folder that is not paused (or only `folderIds`,
   * for a command line that watches one folder of a shared journal) and
   * continues the upload jobs that their runs left mid-way. Resolves once
   * each folder was opened (or found missing); calling it again while
   * started does nothing. Folders added later are watched only when all
   * are. Throws a ValidationError for an unknown folder id.
   */
  async start(options: { folderIds?: readonly string[] } = {}): Promise<void> {
    if (this.#isStarted) return;
    const ids = options.folderIds;
    for (const id of ids ?? []) this.#folder(id);
    this.#watchedIds = ids === undefined ? null : new Set(ids);
    this.#isStarted = true;
    await Promise.all([...this.#folders.values()].map((f) => this.#open(f)));
  }

  /**
   * stop stops watching (timers, watchers, polls) and waits for looks in
   * progress to end. Upload jobs are the engine's: they go on until the
   * engine is closed, and are continued by the next start.
   */
  async stop(): Promise<void> {
    this.#isStarted = false;
    await Promise.all(
      [...this.#folders.values()].map((f) =>
        this.#close(f, 'stopped', 'Not watched now.'),
      ),
    );
    if (this.#viewTimer !== null) {
      this.#clock.clearTimeout(this.#viewTimer);
      this.#deliverViews();
    }
  }

  /**
   * deliverOnce looks at the folder now (without watching it), uploads the
   * runs that are complete now, waits for their uploads (and for those left
   * mid-way earlier) to end, and returns the folder's view. Runs whose files
   * changed within the settle time are left for a later call. Refused while
   * the service is started (it already does this continuously).
   */
  async deliverOnce(folderId: string): Promise<WatchFolderView> {
    const folder = this.#folder(folderId);
    if (this.#isStarted) {
      throw new ValidationError(
        'folderId',
        'The service is watching already; deliverOnce is for a stopped service.',
      );
    }
    if (folder.record.isPaused) {
      this.#setStatus(
        folder,
        'paused',
        'Paused: no new run is uploaded until it is resumed.',
      );
      return this.#folderView(folder);
    }
    await this.#stopWatching(folder);
    folder.mode = 'once';
    const generation = folder.generation;
    try {
      const problem = await checkFolderAccess(folder.record.path);
      if (problem !== null) {
        this.#setStatus(folder, problem.status, problem.message);
        return this.#folderView(folder);
      }
      this.#setStatus(folder, 'watching', 'Looking for complete runs.');
      this.#resumeJobs(folder);
      await this.#ensureProjectName(folder);
      await this.#scan(folder, generation);
      if (
        [...folder.runs.values()].some((e) => e.record.state === 'settling')
      ) {
        // The second look that can settle files seen once.
        await this.#sleep(this.#timing(folder).minGapMs);
        await this.#advanceAll(folder, (e) => e.record.state === 'settling');
      }
      let followers = this.#followers(folder);
      while (followers.length > 0) {
        await Promise.all(followers);
        followers = this.#followers(folder);
      }
      this.#setStatus(folder, 'stopped', 'Looked once.');
      return this.#folderView(folder);
    } finally {
      folder.mode = 'idle';
      await this.#stopWatching(folder);
    }
  }

  // --- opening and closing folders -------------------------------------------

  #load(record: WatchFolderRecord): FolderRuntime {
    const folder: FolderRuntime = {
      record,
      status: record.isPaused ? 'paused' : 'stopped',
      message: record.isPaused
        ? 'Paused: no new run is uploaded until it is resumed.'
        : 'Not watched now.',
      nextRetryAt: null,
      mode: 'idle',
      generation: 0,
      watcher: null,
      rescanTimer: null,
      retryTimer: null,
      failedOpens: 0,
      wasUnavailable: false,
      runs: new Map(),
      presentPaths: new Map(),
      notRuns: new Map(),
      pathDelayers: new Map(),
      firstScanPaths: null,
      projectName: null,
      projectError: null,
      projectTriedAt: Number.NEGATIVE_INFINITY,
      lastStatusView: null,
    };
    for (const run of this.#store.listRuns(record.id)) {
      const entry = this.#newEntry(folder, run);
      folder.runs.set(run.runId, entry);
    }
    this.#folders.set(record.id, folder);
    return folder;
  }

  #newEntry(folder: FolderRuntime, record: WatchRunRecord): RunEntry {
    const entry: RunEntry = {
      record,
      tracker: new FileStabilityTracker(),
      tails: new Map(),
      unsettled: [],
      follow: null,
      lastView: null,
      isShown: true,
      delayer: new Delayer(
        () => this.#advance(folder, entry),
        this.#clock,
        (err) =>
          this.#log.error(`Watch/run(${record.runId}): ${toUserMessage(err)}`),
      ),
    };
    return entry;
  }

  /** Opens a folder for watching: checks it, watches it, scans it. */
  async #open(folder: FolderRuntime): Promise<void> {
    const { id } = folder.record;
    if (!this.#isStarted || !this.#folders.has(id)) return;
    if (this.#watchedIds !== null && !this.#watchedIds.has(id)) return;
    if (folder.record.isPaused) {
      this.#setStatus(
        folder,
        'paused',
        'Paused: no new run is uploaded until it is resumed.',
      );
      return;
    }
    await this.#stopWatching(folder);
    folder.mode = 'watching';
    const generation = folder.generation;
    this.#resumeJobs(folder);

    const problem = await checkFolderAccess(folder.record.path);
    if (generation !== folder.generation) return;
    if (problem !== null) {
      this.#makeUnavailable(folder, problem.status, problem.message);
      return;
    }
    const watcher = new RootWatcher({
      root: folder.record.path,
      isPolling: folder.record.isPolling,
      pollingIntervalMs: this.#timings.pollingIntervalMs,
      onChild: (child) => this.#onChildEvent(folder, generation, child),
      onTrouble: (reason) => void this.#onTrouble(folder, generation, reason),
    });
    folder.watcher = watcher;
    await watcher.start();
    if (generation !== folder.generation) return;

    const wasUnavailable = folder.wasUnavailable;
    folder.failedOpens = 0;
    folder.wasUnavailable = false;
    this.#setStatus(folder, 'watching', 'Watching for runs.');
    folder.rescanTimer = this.#clock.setInterval(
      () => void this.#rescan(folder, generation),
      this.#timings.rescanMs,
    );
    void this.#ensureProjectName(folder);
    await this.#scan(folder, generation);
    if (generation !== folder.generation) return;
    if (wasUnavailable) this.#retryLocalFailures(folder);
    await this.#maybeNoteRootIsRun(folder);
  }

  /** Tells the user who picked a run folder instead of the folder that holds runs. */
  async #maybeNoteRootIsRun(folder: FolderRuntime): Promise<void> {
    const identity = await readRunIdentity(folder.record.path);
    if (identity.kind === 'run' && folder.status === 'watching') {
      this.#setStatus(
        folder,
        'watching',
        `Watching; note that this folder is itself a run folder (${identity.runId}): runs are looked for in its subfolders, so watch the folder that holds the run folders instead.`,
      );
    }
  }

  /** Stops the folder's watcher, re-listing and child looks (run polls stay). */
  async #stopWatching(folder: FolderRuntime): Promise<void> {
    folder.generation++;
    this.#clearRetry(folder);
    if (folder.rescanTimer !== null)
      this.#clock.clearInterval(folder.rescanTimer);
    folder.rescanTimer = null;
    const watcher = folder.watcher;
    folder.watcher = null;
    const delayers = [...folder.pathDelayers.values()];
    folder.pathDelayers.clear();
    folder.presentPaths.clear();
    folder.notRuns.clear();
    await watcher?.close();
    await Promise.all(delayers.map((d) => d.dispose()));
  }

  /** Closes what watches a folder and waits for looks in progress. */
  async #close(
    folder: FolderRuntime,
    status: WatchFolderStatus,
    message: string,
  ): Promise<void> {
    folder.mode = 'idle';
    await this.#stopWatching(folder);
    await Promise.all(
      [...folder.runs.values()].map((e) => e.delayer.dispose()),
    );
    // Run delayers are kept with their runs: make fresh ones for next time.
    for (const entry of folder.runs.values()) {
      entry.delayer = new Delayer(
        () => this.#advance(folder, entry),
        this.#clock,
        (err) =>
          this.#log.error(
            `Watch/run(${entry.record.runId}): ${toUserMessage(err)}`,
          ),
      );
    }
    this.#setStatus(folder, status, message);
  }

  async #reopen(folder: FolderRuntime): Promise<void> {
    await this.#close(folder, 'stopped', 'Restarting the watch.');
    await this.#open(folder);
  }

  /**
   * The folder is missing or unreadable: stop watching it and look again
   * after the retry policy's wait. Runs keep their states; when the folder
   * is back, it is scanned again and nothing delivered is sent twice.
   */
  #makeUnavailable(
    folder: FolderRuntime,
    status: 'missing' | 'unreadable',
    message: string,
  ): void {
    void this.#stopWatching(folder);
    folder.wasUnavailable = true;
    folder.failedOpens++;
    const waitMs = computeDelay(this.#timings.retryPolicy, folder.failedOpens);
    folder.nextRetryAt = this.#clock.now() + waitMs;
    folder.retryTimer = this.#clock.setTimeout(() => {
      folder.retryTimer = null;
      folder.nextRetryAt = null;
      void this.#open(folder);
    }, waitMs);
    this.#log.warn(
      `Watch/folder(${shortId(folder.record.id)}): ${status}; looking again in ${Math.round(waitMs / 1000)} s`,
    );
    this.#setStatus(
      folder,
      status,
      `${message} Looking again in ${formatWait(waitMs)}.`,
    );
    for (const entry of folder.runs.values())
      this.#emitRunIfChanged(folder, entry, entry.record.state);
  }

  #clearRetry(folder: FolderRuntime): void {
    if (folder.retryTimer !== null) this.#clock.clearTimeout(folder.retryTimer);
    folder.retryTimer = null;
    folder.nextRetryAt = null;
  }

  async #onTrouble(
    folder: FolderRuntime,
    generation: number,
    reason: string,
  ): Promise<void> {
    if (generation !== folder.generation) return;
    const problem = await checkFolderAccess(folder.record.path);
    if (generation !== folder.generation) return;
    if (problem !== null) {
      this.#makeUnavailable(folder, problem.status, problem.message);
    } else {
      this.#log.warn(
        `Watch/folder(${shortId(folder.record.id)}): watcher error (${reason}); rescanning`,
      );
      void this.#rescan(folder, generation);
    }
  }

  // --- scanning ---------------------------------------------------------------

  /** Lists the folder and looks at every child (awaited). */
  async #scan(folder: FolderRuntime, generation: number): Promise<void> {
    const children = await listChildren(folder.record.path);
    if (generation !== folder.generation) return;
    if (children === null) {
      const problem = (await checkFolderAccess(folder.record.path)) ?? {
        status: 'unreadable' as const,
        message: 'The folder cannot be listed.',
      };
      if (generation === folder.generation && folder.mode === 'watching') {
        this.#makeUnavailable(folder, problem.status, problem.message);
      } else if (generation === folder.generation) {
        this.#setStatus(folder, problem.status, problem.message);
      }
      return;
    }
    const isFirstScan = folder.record.firstScanAt === null;
    if (isFirstScan) folder.firstScanPaths = new Set(children);
    await Promise.all(
      children.map((child) => this.#pathDelayer(folder, child).runNow()),
    );
    if (isFirstScan && generation === folder.generation) {
      folder.firstScanPaths = null;
      folder.record = {
        ...folder.record,
        firstScanAt: new Date(this.#clock.now()).toISOString(),
      };
      this.#store.updateFolder(folder.record);
    }
  }

  /** The periodic re-listing: new children, vanished ones, late RunInfo.xml. */
  async #rescan(folder: FolderRuntime, generation: number): Promise<void> {
    if (generation !== folder.generation) return;
    const children = await listChildren(folder.record.path);
    if (generation !== folder.generation) return;
    if (children === null) {
      await this.#onTrouble(folder, generation, 'the folder cannot be listed');
      return;
    }
    const listed = new Set(children);
    for (const child of children) {
      if (!folder.presentPaths.has(child))
        this.#pathDelayer(folder, child).trigger(0);
    }
    for (const known of [
      ...folder.presentPaths.keys(),
      ...folder.notRuns.keys(),
    ]) {
      if (!listed.has(known)) this.#pathDelayer(folder, known).trigger(0);
    }
  }

  #onChildEvent(
    folder: FolderRuntime,
    generation: number,
    child: string,
  ): void {
    if (generation !== folder.generation) return;
    this.#pathDelayer(folder, child).trigger(this.#timings.eventDelayMs);
  }

  #pathDelayer(folder: FolderRuntime, child: string): Delayer {
    let delayer = folder.pathDelayers.get(child);
    if (delayer === undefined) {
      const generation = folder.generation;
      delayer = new Delayer(
        () =>
          this.#inspectLimiter.run(() =>
            this.#inspectChild(folder, generation, child),
          ),
        this.#clock,
        (err) =>
          this.#log.error(
            `Watch/folder(${shortId(folder.record.id)}): ${toUserMessage(err)}`,
          ),
      );
      folder.pathDelayers.set(child, delayer);
    }
    return delayer;
  }

  /** Works out which run (if any) a child folder holds and moves that run on. */
  async #inspectChild(
    folder: FolderRuntime,
    generation: number,
    child: string,
  ): Promise<void> {
    if (generation !== folder.generation) return;
    const isDirectory = await stat(child).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const identity = isDirectory ? await readRunIdentity(child) : null;
    if (generation !== folder.generation) return;

    const previousRunId = folder.presentPaths.get(child);
    if (
      identity === null ||
      identity.kind !== 'run' ||
      identity.runId !== previousRunId
    ) {
      folder.presentPaths.delete(child);
      if (previousRunId !== undefined)
        this.#onRunPathGone(folder, previousRunId, child);
    }
    if (identity === null || identity.kind === 'unrelated') {
      folder.notRuns.delete(child);
      if (identity === null) {
        folder.pathDelayers.delete(child);
        await this.#maybeFolderGone(folder, generation);
      }
      this.#emitViews();
      return;
    }
    if (identity.kind === 'not-a-run') {
      this.#noteNotRun(folder, child, identity.reason);
      return;
    }

    folder.notRuns.delete(child);
    folder.presentPaths.set(child, identity.runId);
    let entry = folder.runs.get(identity.runId);
    if (entry === undefined) {
      entry = this.#recordNewRun(folder, identity.runId, child);
    } else if (
      entry.record.path !== child &&
      folder.presentPaths.get(entry.record.path) !== identity.runId
    ) {
      // The run moved (or its first folder is gone): follow it here.
      this.#update(folder, entry, { path: child });
    } else {
      this.#emitRunIfChanged(folder, entry, entry.record.state);
    }
    if (folder.mode === 'once') {
      await entry.delayer.runNow();
    } else {
      entry.delayer.trigger(0);
    }
  }

  #recordNewRun(folder: FolderRuntime, runId: string, child: string): RunEntry {
    const now = new Date(this.#clock.now()).toISOString();
    const record: WatchRunRecord = {
      folderId: folder.record.id,
      runId,
      path: child,
      state: 'waiting-for-run',
      message: 'Found; looking at the run.',
      detail: emptyRunDetail(),
      jobId: null,
      assigned: [],
      firstSeenAt: now,
      updatedAt: now,
    };
    const elsewhere = this.#store.findDeliveredElsewhere(
      runId,
      folder.record.projectId,
      folder.record.id,
    );
    if (elsewhere !== undefined) {
      record.state = 'duplicate';
      record.message = duplicateMessage(
        elsewhere.folderPath,
        elsewhere.run.jobId,
      );
    } else if (
      folder.record.ignoreExistingRuns &&
      folder.firstScanPaths?.has(child)
    ) {
      record.state = 'ignored';
      record.message =
        'Already in the folder when it was added; retry the run to upload it.';
    }
    this.#store.putRun(record);
    const entry = this.#newEntry(folder, record);
    entry.isShown = record.state !== 'waiting-for-run';
    folder.runs.set(runId, entry);
    this.#log.info(
      `Watch/run(${runId}): found in folder ${shortId(folder.record.id)} (${record.state})`,
    );
    this.#emitRunIfChanged(folder, entry, null);
    return entry;
  }

  #onRunPathGone(folder: FolderRuntime, runId: string, child: string): void {
    const entry = folder.runs.get(runId);
    if (entry === undefined) return;
    if (entry.record.path === child) {
      // Another copy of the same run, when there is one, takes over.
      const copy = [...folder.presentPaths].find(([, id]) => id === runId)?.[0];
      if (copy !== undefined) {
        this.#update(folder, entry, { path: copy });
        return;
      }
    }
    this.#emitRunIfChanged(folder, entry, entry.record.state);
  }

  #noteNotRun(folder: FolderRuntime, child: string, reason: string): void {
    const known = folder.notRuns.get(child);
    const entry: NotRunEntry = known ?? {
      path: child,
      reason,
      firstSeenAt: this.#clock.now(),
      lastView: null,
    };
    entry.reason = reason;
    folder.notRuns.set(child, entry);
    const view = this.#notRunView(folder, entry);
    const text = JSON.stringify(view);
    if (text !== entry.lastView) {
      entry.lastView = text;
      this.#emitRun(
        folder.record.id,
        view,
        known === undefined ? null : 'not-a-run',
      );
    }
    // RunInfo.xml is written soon after the folder: look again for a while.
    const age = this.#clock.now() - entry.firstSeenAt;
    if (folder.mode === 'watching' && age < this.#timings.notRunPollWindowMs) {
      this.#pathDelayer(folder, child).trigger(this.#timings.notRunPollMs);
    }
  }

  async #maybeFolderGone(
    folder: FolderRuntime,
    generation: number,
  ): Promise<void> {
    if (folder.mode !== 'watching') return;
    const problem = await checkFolderAccess(folder.record.path);
    if (problem !== null && generation === folder.generation) {
      this.#makeUnavailable(folder, problem.status, problem.message);
    }
  }

  // --- moving a run on ----------------------------------------------------------

  async #advanceAll(
    folder: FolderRuntime,
    filter: (e: RunEntry) => boolean,
  ): Promise<void> {
    await Promise.all(
      [...folder.runs.values()].filter(filter).map((e) => e.delayer.runNow()),
    );
  }

  /** One look at a run that is not final yet; schedules the next look. */
  async #advance(folder: FolderRuntime, entry: RunEntry): Promise<void> {
    try {
      await this.#look(folder, entry);
    } finally {
      if (!entry.isShown) {
        entry.isShown = true;
        this.#emitRunIfChanged(folder, entry, null);
      }
    }
  }

  /** The work of `#advance`. */
  async #look(folder: FolderRuntime, entry: RunEntry): Promise<void> {
    const { state, runId } = entry.record;
    if (
      state !== 'waiting-for-run' &&
      state !== 'settling' &&
      state !== 'planned'
    )
      return;
    if (folder.mode === 'idle' || folder.record.isPaused) return;
    const generation = folder.generation;
    const runPath = entry.record.path;
    if (folder.presentPaths.get(runPath) !== runId) {
      this.#emitRunIfChanged(folder, entry, state);
      return;
    }

    const info = await describeRunFolder(runPath);
    if (generation !== folder.generation) return;
    if (!info.isRunFolder) {
      this.#update(folder, entry, {
        message: 'RunInfo.xml is gone from the run folder; waiting for it.',
      });
      this.#maybePoll(folder, entry, this.#timings.waitingPollMs);
      return;
    }
    const detail = { ...entry.record.detail, instrument: info.instrument };
    const missing = await findMissingMarkers(
      runPath,
      completionRule(await completionFacts(info)),
    );
    if (generation !== folder.generation) return;
    if (missing.length > 0) {
      entry.unsettled = [];
      this.#update(folder, entry, {
        state: 'waiting-for-run',
        message: `Waiting for the run to finish: ${missing.map((m) => `${m.path} (${m.meaning})`).join(', ')} not found yet.`,
        detail: { ...detail, missingMarkers: missing.map((m) => m.path) },
      });
      this.#maybePoll(folder, entry, this.#timings.waitingPollMs);
      return;
    }
    if (info.fastqDirs.length === 0) {
      entry.unsettled = [];
      this.#update(folder, entry, {
        state: 'waiting-for-run',
        message:
          'The run is finished but has no FASTQ files yet (looked in Analysis/<n>/Data/fastq, Alignment_<n>/<time>/Fastq and Data/Intensities/BaseCalls).',
        detail: { ...detail, missingMarkers: [] },
      });
      this.#maybePoll(folder, entry, this.#timings.waitingPollMs);
      return;
    }

    const settled = await this.#settle(folder, entry, runPath, info.fastqDirs);
    if (generation !== folder.generation) return;
    if (settled === null) return;

    const destination = await this.#destinationOf(folder, runPath);
    if (generation !== folder.generation) return;
    if (destination === null) {
      this.#update(folder, entry, {
        state: 'settling',
        message: `Ready, waiting for the platform to name project ${folder.record.projectId}: ${folder.projectError ?? 'no answer yet'}.`,
        detail: { ...detail, missingMarkers: [] },
      });
      this.#maybePoll(folder, entry, this.#timings.platformRetryMs);
      return;
    }
    this.#update(folder, entry, {
      state: 'settling',
      message: 'Every FASTQ has settled; checking them all before the upload.',
      detail: { ...detail, missingMarkers: [] },
    });
    await this.#planAndEnqueue(folder, entry, generation, destination, settled);
  }

  /**
   * Observes the run's FASTQs; returns them when all are settled and end
   * in a complete gzip member, else records why not, schedules the next
   * look and returns null.
   */
  async #settle(
    folder: FolderRuntime,
    entry: RunEntry,
    runPath: string,
    dirs: string[],
  ): Promise<RunFastq[] | null> {
    const listing = await listRunFastqs(
      runPath,
      dirs,
      folder.record.includeUndetermined,
    );
    const now = this.#clock.now();
    const verdict = entry.tracker.observe(
      listing.files,
      now,
      this.#timing(folder),
    );
    const unsettled: UnsettledFile[] = [...verdict.unsettled];
    for (const file of listing.inProgress) {
      unsettled.push({
        path: file,
        reason: 'temporary file of a copy still in progress',
        readyAt: Number.NaN,
      });
    }
    for (const dir of listing.unreadable) {
      unsettled.push({
        path: dir.path,
        reason: dir.reason,
        readyAt: Number.NaN,
      });
    }
    for (const file of verdict.settled) {
      const version = `${file.size}:${file.mtimeMs}`;
      let tail = entry.tails.get(file.path);
      if (tail === undefined || tail.version !== version) {
        const absolute = listing.files.find(
          (f) => f.path === file.path,
        )!.absolutePath;
        tail = { version, verdict: await checkGzipTail(absolute) };
        entry.tails.set(file.path, tail);
      }
      if (tail.verdict.kind === 'incomplete') {
        unsettled.push({
          path: file.path,
          reason: tail.verdict.reason,
          readyAt: Number.NaN,
        });
      }
    }
    if (listing.files.length === 0 && unsettled.length === 0) {
      unsettled.push({
        path: '.',
        reason: folder.record.includeUndetermined
          ? 'no FASTQ file found yet'
          : 'no FASTQ file found yet (Undetermined files are left out)',
        readyAt: Number.NaN,
      });
    }
    entry.unsettled = unsettled;
    if (unsettled.length === 0) return listing.files;

    const incomplete = unsettled.find((u) => Number.isNaN(u.readyAt));
    this.#update(folder, entry, {
      state: 'settling',
      message:
        incomplete !== undefined
          ? `Waiting for ${incomplete.path}: ${incomplete.reason}.`
          : `Waiting for the FASTQ files to stop changing (settle time ${formatWait(this.#timing(folder).settleMs)}).`,
      detail: { ...entry.record.detail, missingMarkers: [] },
    });
    const readyAt = Math.max(
      ...unsettled.map((u) => (Number.isNaN(u.readyAt) ? 0 : u.readyAt)),
    );
    const { settlingPollMinMs, settlingPollMaxMs } = this.#timings;
    const delay =
      incomplete !== undefined
        ? settlingPollMaxMs
        : Math.min(
            settlingPollMaxMs,
            Math.max(settlingPollMinMs, readyAt - now),
          );
    this.#maybePoll(folder, entry, delay);
    return null;
  }

  async #planAndEnqueue(
    folder: FolderRuntime,
    entry: RunEntry,
    generation: number,
    destination: string,
    settled: RunFastq[],
  ): Promise<void> {
    const { runId } = entry.record;
    const runPath = entry.record.path;
    let plan: UploadPlan;
    try {
      plan = await this.#planLimiter.run(() =>
        this.#engine.plan([runPath], {
          destination,
          includeUndetermined: folder.record.includeUndetermined,
          verifyContents: true,
        }),
      );
    } catch (err) {
      this.#update(folder, entry, {
        state: 'failed',
        message: `The run could not be planned: ${toUserMessage(err)}`,
      });
      return;
    }
    if (generation !== folder.generation || folder.record.isPaused) return;

    // Reading every file took a while: anything that changed meanwhile
    // sends the run back to settling.
    const again = await listRunFastqs(
      runPath,
      [...new Set(settled.map((f) => path.dirname(f.absolutePath)))],
      folder.record.includeUndetermined,
    );
    if (!sameFiles(settled, again.files)) {
      entry.tracker.observe(
        again.files,
        this.#clock.now(),
        this.#timing(folder),
      );
      this.#update(folder, entry, {
        state: 'settling',
        message:
          'FASTQs changed while they were checked; waiting for them to settle again.',
      });
      this.#maybePoll(folder, entry, this.#timings.settlingPollMinMs);
      return;
    }

    const review = reviewPlan(plan, entry.record.detail.isForced);
    const detail = {
      ...entry.record.detail,
      problems: review.problems,
      planSummary: review.summary,
    };
    if (!review.isAccepted) {
      this.#update(
        folder,
        entry,
        {
          state: 'failed',
          message: review.reason ?? 'The plan was not accepted.',
          detail,
        },
        plan,
      );
      this.#log.warn(`Watch/run(${runId}): held: ${review.reason}`);
      return;
    }
    this.#update(
      folder,
      entry,
      {
        state: 'planned',
        message: `Planned: ${review.summary.includedSamples} sample${review.summary.includedSamples === 1 ? '' : 's'} to ${plan.destination}.`,
        detail,
      },
      plan,
    );

    // The job and the row that names it commit together (see the module
    // comment); the change is reported after the commit.
    const uploading: WatchRunRecord = { ...entry.record, state: 'uploading' };
    let takenBy: WatchRunRecord | null = null;
    try {
      this.#journal.transaction(() => {
        // Another process on the same journal may have queued the run since
        // this one read it: the IMMEDIATE transaction makes the check final.
        const current = this.#store.getRun(folder.record.id, runId);
        if (current !== undefined && current.jobId !== null) {
          takenBy = current;
          return;
        }
        const elsewhere = this.#store.findDeliveredElsewhere(
          runId,
          folder.record.projectId,
          folder.record.id,
        );
        if (elsewhere !== undefined) {
          takenBy = {
            ...entry.record,
            state: 'duplicate',
            message: duplicateMessage(
              elsewhere.folderPath,
              elsewhere.run.jobId,
            ),
            updatedAt: new Date(this.#clock.now()).toISOString(),
          };
          this.#store.putRun(takenBy);
          return;
        }
        const jobId = this.#engine.enqueueUpload(plan, {
          projectId: folder.record.projectId,
          metadata: folder.record.metadata,
          title: `Run ${runId} (${review.summary.includedSamples} sample${review.summary.includedSamples === 1 ? '' : 's'}) to ${plan.destination}`,
        });
        uploading.jobId = jobId;
        uploading.message = `Uploading to ${plan.destination} (transfer ${jobId}).`;
        uploading.updatedAt = new Date(this.#clock.now()).toISOString();
        this.#store.putRun(uploading);
      });
    } catch (err) {
      this.#update(folder, entry, {
        state: 'failed',
        message: `The upload could not be queued: ${toUserMessage(err)}`,
        jobId: null,
      });
      return;
    }
    if (takenBy !== null) {
      const taken: WatchRunRecord = takenBy;
      this.#log.warn(
        `Watch/run(${runId}): already queued as transfer ${taken.jobId ?? '(another folder)'} by another watcher on this journal; not queued again`,
      );
      entry.record = taken;
      this.#emitRunIfChanged(folder, entry, 'planned');
      return;
    }
    entry.record = uploading;
    this.#emitRunIfChanged(folder, entry, 'planned');
    this.#log.info(
      `Watch/run(${runId}): queued as transfer ${uploading.jobId}`,
    );
    this.#follow(folder, entry);
  }

  async #destinationOf(
    folder: FolderRuntime,
    runPath: string,
  ): Promise<string | null> {
    const runFolderName = path.basename(runPath);
    if (folder.record.destination !== null) {
      return runDestination({
        base: folder.record.destination,
        projectName: '',
        runFolderName,
      });
    }
    const name = await this.#ensureProjectName(folder);
    return name === null
      ? null
      : runDestination({ base: null, projectName: name, runFolderName });
  }

  async #ensureProjectName(folder: FolderRuntime): Promise<string | null> {
    if (folder.projectName !== null) return folder.projectName;
    const now = this.#clock.now();
    if (now - folder.projectTriedAt < this.#timings.platformRetryMs)
      return null;
    folder.projectTriedAt = now;
    try {
      const project = await this.#client.getProject(folder.record.projectId);
      folder.projectName = project.name;
      folder.projectError = null;
      this.#emitFolder(folder);
    } catch (err) {
      folder.projectError = toUserMessage(err);
      this.#log.warn(
        `Watch/folder(${shortId(folder.record.id)}): project name: ${folder.projectError}`,
      );
    }
    return folder.projectName;
  }

  // --- upload jobs --------------------------------------------------------------

  /** Follows the upload jobs of runs left 'uploading' (continuing them). */
  #resumeJobs(folder: FolderRuntime): void {
    for (const entry of folder.runs.values()) {
      if (entry.record.state === 'uploading' && entry.record.jobId !== null) {
        this.#follow(folder, entry);
      }
    }
  }

  /** After the folder was missing, jobs that failed on unreadable files run again. */
  #retryLocalFailures(folder: FolderRuntime): void {
    for (const entry of folder.runs.values()) {
      const { state, jobId, detail } = entry.record;
      if (
        state === 'failed' &&
        jobId !== null &&
        detail.jobErrorCode === 'local-file'
      ) {
        this.#log.info(
          `Watch/run(${entry.record.runId}): the folder is back; retrying transfer ${jobId}`,
        );
        this.retryRun(folder.record.id, entry.record.runId);
      }
    }
  }

  #follow(folder: FolderRuntime, entry: RunEntry): void {
    const jobId = entry.record.jobId;
    if (jobId === null || entry.follow !== null) return;
    const done = this.#engine.waitFor(jobId).then(
      (snap) => this.#onJobFinished(folder, entry, jobId, snap),
      (err: unknown) => {
        if (this.#journal.isClosed) return; // The engine closed: resumed next start.
        if (err instanceof ValidationError) {
          this.#update(folder, entry, {
            state: 'failed',
            message: `Its upload (transfer ${jobId}) is not in the journal any more; it is not sent again by itself.`,
          });
        } else {
          this.#log.warn(
            `Watch/run(${entry.record.runId}): following transfer ${jobId}: ${toUserMessage(err)}`,
          );
        }
      },
    );
    entry.follow = done.finally(() => {
      entry.follow = null;
    });
  }

  #onJobFinished(
    folder: FolderRuntime,
    entry: RunEntry,
    jobId: string,
    snap: TransferSnapshot,
  ): void {
    if (this.#journal.isClosed || entry.record.jobId !== jobId) return;
    const { runId } = entry.record;
    if (snap.state === 'done') {
      const assigned = snap.assigned ?? [];
      this.#update(folder, entry, {
        state: 'assigned',
        message: `Uploaded and assigned to the project: ${assigned.length} sample${assigned.length === 1 ? '' : 's'}.`,
        assigned,
        detail: { ...entry.record.detail, jobErrorCode: null },
      });
      this.#log.info(
        `Watch/run(${runId}): assigned ${assigned.length} sample(s)`,
      );
    } else if (snap.state === 'cancelled') {
      this.#update(folder, entry, {
        state: 'ignored',
        message: `The upload was cancelled (transfer ${jobId}); retry the run to continue it.`,
      });
    } else {
      this.#update(folder, entry, {
        state: 'failed',
        message: `The upload failed: ${snap.error?.message ?? 'unknown error'}`,
        detail: {
          ...entry.record.detail,
          jobErrorCode: snap.error?.code ?? null,
        },
      });
      this.#log.error(
        `Watch/run(${runId}): transfer ${jobId} failed: ${snap.error?.message ?? 'unknown error'}`,
      );
    }
  }

  #followers(folder: FolderRuntime): Promise<void>[] {
    return [...folder.runs.values()].flatMap((e) =>
      e.follow === null ? [] : [e.follow],
    );
  }

  // --- state, views and events ----------------------------------------------------

  /** Changes a run; writes the journal when a stored field changed; emits. */
  #update(
    folder: FolderRuntime,
    entry: RunEntry,
    patch: Partial<
      Pick<
        WatchRunRecord,
        'state' | 'message' | 'detail' | 'jobId' | 'assigned' | 'path'
      >
    >,
    plan?: UploadPlan,
  ): void {
    const before = entry.record;
    const next: WatchRunRecord = { ...before, ...patch };
    const isStoredChange =
      plan !== undefined ||
      next.state !== before.state ||
      next.message !== before.message ||
      next.jobId !== before.jobId ||
      next.path !== before.path ||
      JSON.stringify(next.detail) !== JSON.stringify(before.detail) ||
      JSON.stringify(next.assigned) !== JSON.stringify(before.assigned);
    if (isStoredChange) {
      next.updatedAt = new Date(this.#clock.now()).toISOString();
      if (!this.#store.putRun(next, plan)) {
        // Another watcher on this journal queued the run meanwhile.
        const current = this.#store.getRun(next.folderId, next.runId);
        if (current !== undefined) {
          this.#log.warn(
            `Watch/run(${next.runId}): queued as transfer ${current.jobId} by another watcher on this journal`,
          );
          entry.record = current;
          this.#emitRunIfChanged(folder, entry, before.state);
          return;
        }
      }
    }
    entry.record = next;
    if (next.state !== before.state) {
      this.#log.debug(
        `Watch/run(${next.runId}): ${before.state} -> ${next.state}`,
      );
    }
    this.#emitRunIfChanged(folder, entry, before.state);
  }

  #maybePoll(folder: FolderRuntime, entry: RunEntry, delayMs: number): void {
    if (folder.mode === 'watching') entry.delayer.trigger(delayMs);
  }

  #timing(folder: FolderRuntime): { settleMs: number; minGapMs: number } {
    const settleMs = folder.record.settleSeconds * 1000;
    return { settleMs, minGapMs: Math.min(this.#timings.minGapMs, settleMs) };
  }

  #emitRunIfChanged(
    folder: FolderRuntime,
    entry: RunEntry,
    previousState: WatchRunState | null,
  ): void {
    if (!entry.isShown) return;
    const view = this.#runView(folder, entry);
    const text = JSON.stringify(view);
    if (text === entry.lastView) return;
    entry.lastView = text;
    this.#emitRun(folder.record.id, view, previousState);
  }

  #emitRun(
    folderId: string,
    run: WatchRunView,
    previousState: WatchRunState | null,
  ): void {
    for (const listener of [...this.#runListeners]) {
      try {
        listener({ folderId, run, previousState });
      } catch (err) {
        this.#log.error(
          `Watch/onDidChangeRun: a listener threw: ${toUserMessage(err)}`,
        );
      }
    }
    this.#emitViews();
  }

  #setStatus(
    folder: FolderRuntime,
    status: WatchFolderStatus,
    message: string,
  ): void {
    folder.status = status;
    folder.message = message;
    this.#emitFolder(folder);
  }

  #emitFolder(folder: FolderRuntime): void {
    const view = this.#folderView(folder);
    const text = JSON.stringify({ ...view, runs: [] });
    if (text !== folder.lastStatusView) {
      folder.lastStatusView = text;
      for (const listener of [...this.#folderListeners]) {
        try {
          listener(view);
        } catch (err) {
          this.#log.error(
            `Watch/onDidChangeFolder: a listener threw: ${toUserMessage(err)}`,
          );
        }
      }
    }
    this.#emitViews();
  }

  // Changes within SNAPSHOT_THROTTLE_MS are delivered together, so a burst
  // of run changes builds the views once.
  #emitViews(): void {
    if (this.#viewListeners.size === 0 || this.#viewTimer !== null) return;
    this.#viewTimer = this.#clock.setTimeout(
      () => this.#deliverViews(),
      SNAPSHOT_THROTTLE_MS,
    );
  }

  #deliverViews(): void {
    this.#viewTimer = null;
    const views = this.listFolders();
    for (const listener of [...this.#viewListeners]) {
      try {
        listener(views);
      } catch (err) {
        this.#log.error(
          `Watch/onDidChange: a listener threw: ${toUserMessage(err)}`,
        );
      }
    }
  }

  #folderView(folder: FolderRuntime): WatchFolderView {
    const runs = [...folder.runs.values()]
      .filter((e) => e.isShown)
      .map((e) => this.#runView(folder, e));
    const notRuns = [...folder.notRuns.values()].map((n) =>
      this.#notRunView(folder, n),
    );
    return folderViewOf(folder.record, folder, [...runs, ...notRuns]);
  }

  #runView(folder: FolderRuntime, entry: RunEntry): WatchRunView {
    return runViewOf(entry.record, entry.unsettled, folder.presentPaths);
  }

  #notRunView(folder: FolderRuntime, entry: NotRunEntry): WatchRunView {
    return notRunViewOf(folder.record.id, entry);
  }

  #folder(id: string): FolderRuntime {
    const folder = this.#folders.get(id);
    if (folder === undefined) {
      throw new ValidationError('folderId', `There is no watch folder ${id}.`);
    }
    return folder;
  }

  #run(folder: FolderRuntime, runId: string): RunEntry {
    const entry = folder.runs.get(runId);
    if (entry === undefined) {
      throw new ValidationError(
        'runId',
        `The watch folder ${folder.record.path} has no run ${runId}.`,
      );
    }
    return entry;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#clock.setTimeout(resolve, ms);
    });
  }
}

// --- helpers -----------------------------------------------------------

function sameFiles(a: readonly RunFastq[], b: readonly RunFastq[]): boolean {
  if (a.length !== b.length) return false;
  const byPath = new Map(a.map((f) => [f.path, f]));
  return b.every((f) => {
    const other = byPath.get(f.path);
    return (
      other !== undefined &&
      other.size === f.size &&
      other.mtimeMs === f.mtimeMs
    );
  });
}

function duplicateMessage(folderPath: string, jobId: string | null): string {
  return `Already sent to this project from the watch folder ${folderPath} (transfer ${jobId}); not uploaded again.`;
}

function formatWait(ms: number): string {
  const s = Math.round(ms / 100) / 10;
  return s < 60 ? `${s} s` : `${Math.round(s / 60)} min`;
}

function shortId(id: string): string {
  return id.slice(0, 8);
}
