/**
 * The engine facade used by the CLI, the Electron IPC handlers and serve
 * mode: plan, enqueue, control and observe uploads and downloads.
 *
 * It owns one journal (`<dataDir>/journal.db`), one scheduler, one S3
 * client (made on first upload) and the progress accounting. Everything it
 * reports has been written to the journal first.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { normalizeUuid } from './api/client.ts';
import type { GencoveClient } from './api/client.ts';
import { downloadDeliverables } from './download/downloader.ts';
import { ValidationError, toUserMessage } from './errors.ts';
import { Journal } from './journal/journal.ts';
import type { JobKind, JobRecord } from './journal/journal.ts';
import { createLogger } from './log.ts';
import type { Logger, LogSink } from './log.ts';
import {
  ProgressTicker,
  SNAPSHOT_THROTTLE_MS,
  Throttled,
  TransferMeter,
  systemClock,
} from './progress.ts';
import type { Clock } from './progress.ts';
import { JobFailure, Limiter, Scheduler, isFinal } from './scheduler.ts';
import type { JobRun, ScheduledJob } from './scheduler.ts';
import { buildPlan } from './scan/plan.ts';
import type { AssignedSample } from './upload/assign.ts';
import type { RefreshingCredentials } from './upload/credentials.ts';
import { CheckedParts } from './upload/checkedParts.ts';
import { plannedObjects, runUploadJob } from './upload/job.ts';
import type { UploadJobRequest } from './upload/job.ts';
import { UploadStore } from './upload/store.ts';
import type { ChecksumAlgorithm } from './upload/checkedRead.ts';
import type { ObjectRecord } from './upload/store.ts';
import type {
  DownloadRequest,
  FileProgress,
  JobState,
  PlanOptions,
  TransferSnapshot,
  UploadPlan,
} from '../../shared/domain.ts';

export interface EngineOptions {
  /** Folder of the journal (created when missing). */
  dataDir: string;
  client: GencoveClient;
  /** S3 endpoint; else GENCOVE_S3_ENDPOINT, else the credentials' URL. */
  s3Endpoint?: string;
  /** Jobs running at once (default 2); within an upload job, files at once. */
  fileConcurrency?: number;
  /** Parts of one object in flight at once (default 4). */
  partConcurrency?: number;
  /** Smallest part size in bytes (default 16 MiB); for tests. */
  partSize?: number;
  /** How long to wait for the sample sheet before assigning (default 300 s). */
  assignWindowMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Timers and time; for tests. */
  clock?: Clock;
}

interface JobRuntime {
  id: string;
  kind: JobKind;
  title: string;
  projectId?: string;
  request: unknown;
  meter: TransferMeter;
  files: FileProgress[];
  fileIndex: Map<string, number>;
  /** Bytes reported per file in the current run (uploads). */
  runBytes: Map<string, number>;
  assigned?: AssignedSample[];
}

/** Finished jobs `loadHistory` brings back by default. */
export const DEFAULT_HISTORY_LIMIT = 50;

/**
 * Engine is the one entry point to transfers. Construct it once per data
 * folder; call `close()` before exit (jobs still running are left queued in
 * the journal and resumed by `resumeInterrupted()` next time).
 */
export class Engine {
  readonly journal: Journal;
  readonly client: GencoveClient;

  readonly #opts: EngineOptions;
  readonly #uploads: UploadStore;
  readonly #scheduler: Scheduler;
  readonly #ticker: ProgressTicker;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #jobs = new Map<string, JobRuntime>();
  readonly #changeListeners = new Set<Throttled<TransferSnapshot[]>>();
  readonly #finishListeners = new Set<(snap: TransferSnapshot) => void>();
  readonly #fileLimiter: Limiter;
  readonly #checkedParts: CheckedParts;
  readonly #waiters = new Map<
    string,
    {
      resolve: (snap: TransferSnapshot) => void;
      reject: (err: Error) => void;
    }[]
  >();
  #credentials: RefreshingCredentials | null = null;
  #s3: Promise<{
    s3: S3Client;
    credentials: RefreshingCredentials;
    checksumAlgorithm: ChecksumAlgorithm;
  }> | null = null;
  #closing: Promise<void> | null = null;

  /**
   * The constructor opens `<dataDir>/journal.db` (throws JournalError when
   * it cannot) and makes sure the upload tables exist. No job starts until
   * one is enqueued or `resumeInterrupted()` is called.
   */
  constructor(opts: EngineOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.#clock = opts.clock ?? systemClock;
    this.#log = createLogger('Engine', opts.log as LogSink | undefined);
    this.journal = Journal.open(path.join(opts.dataDir, 'journal.db'));
    this.#uploads = new UploadStore(this.journal);
    this.#fileLimiter = new Limiter(opts.fileConcurrency ?? 2);
    this.#checkedParts = new CheckedParts({ minPartSize: opts.partSize });
    this.#scheduler = new Scheduler({
      concurrency: opts.fileConcurrency ?? 2,
      store: this.journal,
      clock: this.#clock,
      log: createLogger('Scheduler', opts.log as LogSink | undefined).sink,
    });
    this.#ticker = new ProgressTicker({
      clock: this.#clock,
      onTick: () => this.#emitChange(),
    });
    this.#scheduler.onDidChangeState((job) => this.#onJobState(job));
  }

  /**
   * plan scans `paths` into an upload plan (nothing is uploaded). When it
   * checks contents, it keeps each object's part checksums, so that an
   * upload of the unchanged files does not decompress them again.
   */
  plan(paths: string[], opts?: PlanOptions): Promise<UploadPlan> {
    return buildPlan(paths, {
      tapObject: (files) => this.#checkedParts.tap(files),
      ...opts,
    });
  }

  /**
   * enqueueUpload records an upload job for the plan's included samples and
   * queues it; returns the job id. Throws ValidationError (nothing recorded)
   * when the plan has nothing to upload, a destination is not `gncv://` or
   * repeats, the project id is not a UUID, or the metadata is not JSON.
   */
  enqueueUpload(
    plan: UploadPlan,
    opts: { projectId?: string; metadata?: unknown; title?: string } = {},
  ): string {
    this.#assertOpen();
    const objects = plannedObjects(plan);
    checkUploadPlan(plan, objects);
    const projectId =
      opts.projectId === undefined || opts.projectId === ''
        ? undefined
        : normalizeUuid(opts.projectId, 'project id');
    const metadata = checkMetadata(opts.metadata);
    const request: UploadJobRequest = {
      plan,
      ...(projectId ? { projectId } : {}),
      metadata,
    };
    const samples = new Set(objects.map((o) => o.clientId)).size;
    const title =
      opts.title ??
      `Upload of ${samples} sample${samples === 1 ? '' : 's'} to ${plan.destination}`;
    const id = randomUUID();
    this.journal.transaction(() => {
      this.journal.createJob({ id, kind: 'upload', title, request });
      this.#uploads.addObjects(
        id,
        objects.map((o) => ({
          destination: o.read.destination,
          clientId: o.clientId,
          read: o.read.read,
          size: o.read.size,
        })),
      );
    });
    const record = this.journal.getJob(id)!;
    this.#register(record);
    return id;
  }

  /** enqueueDownload records and queues a download job; returns its id. */
  enqueueDownload(req: DownloadRequest, opts: { title?: string } = {}): string {
    this.#assertOpen();
    if (!req || typeof req.destination !== 'string' || req.destination === '') {
      throw new ValidationError(
        'destination',
        'A download needs a destination folder.',
      );
    }
    if (!req.projectId && (!req.sampleIds || req.sampleIds.length === 0)) {
      throw new ValidationError(
        'projectId',
        'A download needs a project id or at least one sample id.',
      );
    }
    const title =
      opts.title ??
      `Download of ${req.projectId ? `project ${req.projectId}` : `${req.sampleIds!.length} sample(s)`} to ${req.destination}`;
    const id = randomUUID();
    this.journal.createJob({ id, kind: 'download', title, request: req });
    this.#register(this.journal.getJob(id)!);
    return id;
  }

  /** cancel ends a job as cancelled (never failed, never retried). */
  cancel(id: string): void {
    this.#ensureLoaded(id);
    this.#scheduler.cancel(id);
  }

  /** pause stops a job, keeping its progress for `resume`. */
  pause(id: string): void {
    this.#ensureLoaded(id);
    this.#scheduler.pause(id);
  }

  /** resume queues a paused job again. */
  resume(id: string): void {
    this.#ensureLoaded(id);
    this.#scheduler.resume(id);
  }

  /**
   * retry queues a failed or cancelled job again; finished work is kept. A
   * dismissed job is listed again. Throws ValidationError when the journal
   * says another process runs the job now (this engine's copy is stale).
   */
  retry(id: string): void {
    this.#ensureLoaded(id, { isRevived: true });
    this.#refuseIfRunElsewhere(id);
    this.#undismiss(id);
    this.#scheduler.retry(id);
  }

  /**
   * dismiss takes a finished job (done, failed or cancelled) off the list
   * `snapshots()` gives, now and after a restart (`loadHistory` skips it).
   * Its journal stays: an upload's parts and assignment are kept as they
   * are. Throws ValidationError for an unknown or still active job.
   */
  dismiss(id: string): void {
    this.#assertOpen();
    this.#ensureLoaded(id);
    const job = this.#scheduler.get(id);
    const record = this.journal.getJob(id);
    if (!job || !record || !this.#jobs.has(id)) {
      throw new ValidationError('id', `There is no transfer ${id}.`);
    }
    if (!isFinal(job.state) || !isFinal(record.state)) {
      const state = isFinal(job.state) ? record.state : job.state;
      throw new ValidationError(
        'id',
        `Transfer ${id} is ${state}: only a finished one can be dismissed.`,
      );
    }
    const result =
      record.result !== null && typeof record.result === 'object'
        ? record.result
        : {};
    this.journal.updateJob(id, { result: { ...result, dismissed: true } });
    this.#scheduler.remove(id);
    this.#jobs.delete(id);
    this.#emitChange();
  }

  /** snapshots returns every job known to this engine, oldest first. */
  snapshots(): TransferSnapshot[] {
    return this.#scheduler
      .list()
      .filter((job) => this.#jobs.has(job.id))
      .map((job) => this.#snapshot(job));
  }

  /**
   * onDidChange calls `listener` with all snapshots when something changed,
   * at most about 4 times a second. Returns the unsubscribe function.
   */
  onDidChange(listener: (snaps: TransferSnapshot[]) => void): () => void {
    const throttled = new Throttled(
      listener,
      SNAPSHOT_THROTTLE_MS,
      this.#clock,
    );
    this.#changeListeners.add(throttled);
    return () => {
      throttled.dispose();
      this.#changeListeners.delete(throttled);
    };
  }

  /** onDidFinish calls `listener` once per job done, failed or cancelled. */
  onDidFinish(listener: (snap: TransferSnapshot) => void): () => void {
    this.#finishListeners.add(listener);
    return () => {
      this.#finishListeners.delete(listener);
    };
  }

  /**
   * waitFor resolves with the job's snapshot once it is done, failed or
   * cancelled (at once if it already is). Rejects for an unknown id, and
   * when the engine is closed first.
   */
  waitFor(id: string): Promise<TransferSnapshot> {
    this.#ensureLoaded(id);
    const job = this.#scheduler.get(id);
    if (!job || !this.#jobs.has(id)) {
      return Promise.reject(
        new ValidationError('id', `There is no transfer ${id}.`),
      );
    }
    if (isFinal(job.state)) {
      return Promise.resolve(this.#snapshot(job));
    }
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(id, list);
    });
  }

  /**
   * resumeInterrupted loads the journal's unfinished jobs (left queued,
   * running or retrying by an earlier process) and queues them again; paused
   * ones are loaded and stay paused. Returns the ids queued.
   */
  async resumeInterrupted(): Promise<string[]> {
    this.#assertOpen();
    const ids: string[] = [];
    for (const record of this.journal.listJobs([
      'queued',
      'running',
      'retrying',
      'paused',
    ])) {
      if (this.#jobs.has(record.id)) {
        continue;
      }
      this.#register(record);
      if (record.state !== 'paused') {
        ids.push(record.id);
      }
    }
    if (ids.length > 0) {
      this.#log.info(
        `Engine/resumeInterrupted: ${ids.length} job(s) queued again`,
      );
    }
    return ids;
  }

  /**
   * loadHistory makes the journal's finished jobs (done, failed or
   * cancelled, not dismissed) that finished last, `limit` at most, known
   * again (listed in the order they were created), so that
   * `snapshots()` lists them after a restart as it did before. Nothing is
   * queued; a failed or cancelled one can be retried. Returns how many were
   * loaded.
   */
  loadHistory(limit = DEFAULT_HISTORY_LIMIT): number {
    this.#assertOpen();
    const count = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
    if (count === 0) {
      return 0;
    }
    const endOf = (r: JobRecord): string => r.finishedAt ?? r.createdAt;
    const finished = this.journal
      .listJobs(['done', 'failed', 'cancelled'])
      .filter((record) => !isDismissed(record))
      .sort((a, b) => (endOf(a) < endOf(b) ? -1 : endOf(a) > endOf(b) ? 1 : 0))
      .slice(-count)
      .sort((a, b) =>
        a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0,
      );
    let loaded = 0;
    for (const record of finished) {
      if (!this.#jobs.has(record.id)) {
        this.#register(record);
        loaded++;
      }
    }
    return loaded;
  }

  /**
   * resumeJob takes up one unfinished job of the journal, whatever stopped
   * it: left queued or running by a process that died (queued again), paused
   * (resumed), cancelled or failed (retried). Finished work is kept: parts
   * already uploaded are not sent again and an assignment is never repeated.
   * Returns false when the job is unknown, done, or already active here.
   */
  resumeJob(id: string): boolean {
    this.#assertOpen();
    if (this.#jobs.has(id)) {
      const state = this.#scheduler.get(id)?.state;
      if (state === 'paused') return this.#scheduler.resume(id);
      return this.#scheduler.retry(id);
    }
    const record = this.journal.getJob(id);
    if (!record || record.state === 'done') {
      return false;
    }
    this.#undismiss(id);
    this.#register(record);
    if (record.state === 'paused') return this.#scheduler.resume(id);
    if (record.state === 'failed' || record.state === 'cancelled') {
      return this.#scheduler.retry(id);
    }
    return true;
  }

  /** whenIdle resolves when no job is queued, running or waiting to retry. */
  whenIdle(): Promise<void> {
    return this.#scheduler.whenIdle();
  }

  /**
   * close stops running jobs (they stay queued in the journal), stops the
   * timers and closes the journal. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#scheduler.stop();
      for (const [id, waiters] of this.#waiters) {
        for (const waiter of waiters) {
          waiter.reject(
            new Error(
              `The engine closed before transfer ${id} finished; it resumes on the next start.`,
            ),
          );
        }
      }
      this.#waiters.clear();
      this.#ticker.dispose();
      for (const throttled of this.#changeListeners) {
        throttled.dispose();
      }
      this.#changeListeners.clear();
      this.#finishListeners.clear();
      const s3 = this.#s3;
      this.#s3 = null;
      if (s3) {
        await s3.then(({ s3: client }) => client.destroy()).catch(() => {});
      }
      this.journal.close();
    })();
    return this.#closing;
  }

  // --- jobs -----------------------------------------------------------------

  #register(record: JobRecord): void {
    const runtime = this.#runtimeOf(record);
    this.#jobs.set(record.id, runtime);
    this.#scheduler.add(
      record.id,
      (run) =>
        record.kind === 'upload'
          ? this.#runUpload(runtime, run)
          : this.#runDownload(runtime, run),
      {
        attempt: record.attempt,
        state: record.state,
        error: record.error,
        startedAt: record.startedAt,
        finishedAt: record.finishedAt,
      },
    );
  }

  #runtimeOf(record: JobRecord): JobRuntime {
    const runtime: JobRuntime = {
      id: record.id,
      kind: record.kind,
      title: record.title,
      request: record.request,
      meter: new TransferMeter({ now: () => this.#clock.now() }),
      files: [],
      fileIndex: new Map(),
      runBytes: new Map(),
    };
    // A result of an unexpected shape (an older version, a hand edit) is
    // ignored rather than allowed to break the list.
    const raw = record.result as {
      assigned?: unknown;
      files?: unknown;
    } | null;
    const result =
      raw !== null && typeof raw === 'object'
        ? {
            assigned: Array.isArray(raw.assigned)
              ? (raw.assigned as AssignedSample[])
              : undefined,
            files: Array.isArray(raw.files)
              ? (raw.files as FileProgress[])
              : undefined,
          }
        : null;
    if (record.kind === 'upload') {
      const request = record.request as UploadJobRequest;
      runtime.projectId = request.projectId;
      const objects = this.#uploads.listObjects(record.id);
      for (const object of objects) {
        runtime.fileIndex.set(object.destination, runtime.files.length);
        runtime.files.push(this.#fileOf(record.id, object, record.state));
      }
      runtime.meter.setTotal(objects.reduce((n, o) => n + o.size, 0));
      runtime.meter.setDone(runtime.files.reduce((n, f) => n + f.bytesDone, 0));
      runtime.assigned = result?.assigned;
    } else {
      const request = record.request as DownloadRequest;
      runtime.projectId = request.projectId;
      if (result?.files) {
        runtime.files = result.files;
        runtime.meter.setTotal(sumTotals(result.files));
        runtime.meter.setDone(
          result.files.reduce((n, f) => n + f.bytesDone, 0),
        );
      }
    }
    return runtime;
  }

  #fileOf(
    jobId: string,
    object: ObjectRecord,
    jobState: JobState,
  ): FileProgress {
    let bytesDone = 0;
    if (object.state === 'done' || object.state === 'skipped') {
      bytesDone = object.size;
    } else if (object.multipartId) {
      bytesDone = this.#uploads
        .listParts(jobId, object.destination, object.multipartId)
        .reduce((n, p) => n + p.size, 0);
    }
    const state: FileProgress['state'] =
      object.state === 'done' ||
      object.state === 'skipped' ||
      object.state === 'failed'
        ? object.state
        : jobState === 'paused' || jobState === 'cancelled'
          ? jobState
          : 'queued';
    return {
      name: object.destination,
      clientId: object.clientId,
      bytesDone: Math.min(bytesDone, object.size),
      bytesTotal: object.size,
      state,
      ...(object.error ? { error: object.error } : {}),
    };
  }

  async #runUpload(runtime: JobRuntime, run: JobRun): Promise<void> {
    runtime.runBytes.clear();
    for (const file of runtime.files) {
      if (file.state !== 'done' && file.state !== 'skipped') {
        file.state = 'queued';
        delete file.error;
      }
    }
    const { assigned } = await runUploadJob({
      jobId: runtime.id,
      request: runtime.request as UploadJobRequest,
      client: this.client,
      store: this.#uploads,
      getS3: () => this.#getS3(),
      signal: run.signal,
      fileConcurrency: this.#opts.fileConcurrency,
      fileLimiter: this.#fileLimiter,
      partConcurrency: this.#opts.partConcurrency,
      partSize: this.#opts.partSize,
      checkedParts: this.#checkedParts,
      assignWindowMs: this.#opts.assignWindowMs,
      log: createLogger('Upload', this.#opts.log as LogSink | undefined).sink,
      events: {
        onObjectState: (destination, state, error) => {
          const file = this.#file(runtime, destination);
          if (!file) {
            return;
          }
          file.state = state;
          if (state === 'done' || state === 'skipped') {
            this.#addFileBytes(runtime, file, file.bytesTotal ?? 0, true, true);
          }
          if (error) {
            file.error = error;
          } else {
            delete file.error;
          }
          this.#emitChange();
        },
        onBytes: (destination, bytes, isResumed) => {
          const file = this.#file(runtime, destination);
          if (file) {
            this.#addFileBytes(runtime, file, bytes, isResumed, false);
            this.#emitChange();
          }
        },
      },
    });
    runtime.assigned = request(runtime).projectId ? assigned : undefined;
    // Journal the result before the scheduler reports 'done'.
    this.journal.updateJob(runtime.id, { result: { assigned } });
  }

  async #runDownload(runtime: JobRuntime, run: JobRun): Promise<void> {
    let isFirstReport = true;
    const result = await downloadDeliverables(
      runtime.request as DownloadRequest,
      {
        client: this.client,
        journal: this.journal,
        signal: run.signal,
        fileConcurrency: this.#opts.fileConcurrency,
        log: createLogger('Download', this.#opts.log as LogSink | undefined)
          .sink,
        onProgress: (p) => {
          runtime.files = p.files;
          runtime.meter.setTotal(p.bytesTotal);
          const delta = p.bytesDone - runtime.meter.bytesDone;
          if (isFirstReport) {
            // Files continued from .part count as done, not as speed.
            runtime.meter.addResumed(delta);
            isFirstReport = false;
          } else {
            runtime.meter.add(delta);
          }
          this.#emitChange();
        },
      },
    );
    runtime.files = result.files;
    this.journal.updateJob(runtime.id, { result: { files: result.files } });
    if (result.failed > 0) {
      const firstError = result.files.find((f) => f.state === 'failed')?.error;
      throw new JobFailure({
        code: 'download-failed',
        message: `${result.failed} of ${result.files.length} file(s) could not be downloaded${firstError ? `; first: ${firstError}` : ''}`,
        isRetryable: false,
      });
    }
  }

  #file(runtime: JobRuntime, name: string): FileProgress | undefined {
    const index = runtime.fileIndex.get(name);
    return index === undefined ? undefined : runtime.files[index];
  }

  // Per-file numbers are monotonic: a run counts its bytes from zero, and a
  // file shows the larger of that and what it showed before (parts journaled
  // by an earlier run).
  #addFileBytes(
    runtime: JobRuntime,
    file: FileProgress,
    bytes: number,
    isResumed: boolean,
    isAbsolute: boolean,
  ): void {
    const total = file.bytesTotal ?? Number.POSITIVE_INFINITY;
    const runBytes = isAbsolute
      ? bytes
      : (runtime.runBytes.get(file.name) ?? 0) + bytes;
    runtime.runBytes.set(file.name, runBytes);
    const next = Math.min(total, Math.max(file.bytesDone, runBytes));
    const delta = next - file.bytesDone;
    if (delta <= 0) {
      return;
    }
    file.bytesDone = next;
    if (isResumed) {
      runtime.meter.addResumed(delta);
    } else {
      runtime.meter.add(delta);
    }
  }

  async #getS3(): Promise<{
    s3: S3Client;
    credentials: RefreshingCredentials;
    checksumAlgorithm: ChecksumAlgorithm;
  }> {
    if (!this.#s3) {
      this.#s3 = (async () => {
        // Loaded on first use: it brings the AWS SDK, which only uploads
        // need.
        const { RefreshingCredentials, createUploadS3Client } = await import(
          './upload/credentials.ts'
        );
        this.#credentials ??= new RefreshingCredentials(this.client);
        const credentials = this.#credentials;
        const { s3, endpoint, checksumAlgorithm } = await createUploadS3Client(
          { credentials, endpoint: this.#opts.s3Endpoint },
        );
        this.#log.debug(
          `Engine/s3: using ${endpoint ?? 'the AWS default endpoint'} with ${checksumAlgorithm} checksums`,
        );
        return { s3, credentials, checksumAlgorithm };
      })();
      // A failed creation (network down) is tried again by the next job.
      this.#s3.catch(() => {
        this.#s3 = null;
      });
    }
    return this.#s3;
  }

  // --- events ---------------------------------------------------------------

  #onJobState(job: ScheduledJob): void {
    const runtime = this.#jobs.get(job.id);
    if (!runtime) {
      return;
    }
    if (job.state === 'running') {
      this.#ticker.add(runtime.meter);
    } else {
      this.#ticker.remove(runtime.meter);
    }
    if (job.state === 'paused' || job.state === 'cancelled') {
      for (const file of runtime.files) {
        if (file.state === 'queued' || file.state === 'running') {
          file.state = job.state;
        }
      }
    }
    if (isFinal(job.state)) {
      const snap = this.#snapshot(job);
      if (job.state === 'failed') {
        this.#log.error(
          `Engine/job(${job.id}): ${runtime.title} failed: ${job.error?.message ?? 'unknown error'}`,
        );
      } else {
        this.#log.info(`Engine/job(${job.id}): ${runtime.title} ${job.state}`);
      }
      for (const listener of [...this.#finishListeners]) {
        try {
          listener(snap);
        } catch (err) {
          this.#log.error(
            `Engine/onDidFinish: a listener threw: ${toUserMessage(err)}`,
          );
        }
      }
      const waiters = this.#waiters.get(job.id) ?? [];
      this.#waiters.delete(job.id);
      for (const waiter of waiters) {
        waiter.resolve(snap);
      }
    }
    this.#emitChange();
  }

  #emitChange(): void {
    if (this.#changeListeners.size === 0) {
      return;
    }
    const snaps = this.snapshots();
    for (const throttled of this.#changeListeners) {
      throttled.call(snaps);
    }
  }

  #snapshot(job: ScheduledJob): TransferSnapshot {
    const runtime = this.#jobs.get(job.id)!;
    const isRunning = job.state === 'running';
    return {
      id: job.id,
      kind: runtime.kind,
      title: runtime.title,
      state: job.state,
      ...(runtime.projectId ? { projectId: runtime.projectId } : {}),
      bytesDone: runtime.meter.bytesDone,
      bytesTotal: runtime.meter.bytesTotal,
      speed: isRunning ? runtime.meter.speed : null,
      etaSeconds: isRunning
        ? runtime.meter.etaSeconds
        : job.state === 'done'
          ? 0
          : null,
      files: runtime.files.map((f) => ({ ...f })),
      attempt: job.attempt,
      ...(job.error ? { error: { ...job.error } } : {}),
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      ...(runtime.assigned
        ? { assigned: runtime.assigned.map((a) => ({ ...a })) }
        : {}),
    };
  }

  /**
   * Registers job `id` from the journal when this engine does not know it
   * yet. A dismissed job is left alone unless it is being run again
   * (`isRevived`).
   */
  #ensureLoaded(id: string, opts: { isRevived?: boolean } = {}): void {
    if (this.#jobs.has(id) || this.journal.isClosed) {
      return;
    }
    const record = this.journal.getJob(id);
    if (record && (opts.isRevived || !isDismissed(record))) {
      this.#register(record);
    }
  }

  /** Clears the dismissed mark of a job that runs again. */
  #undismiss(id: string): void {
    const record = this.journal.getJob(id);
    if (!record || !isDismissed(record)) {
      return;
    }
    const { dismissed: _dismissed, ...rest } = record.result as Record<
      string,
      unknown
    >;
    this.journal.updateJob(id, { result: rest });
  }

  /**
   * Throws when this engine holds job `id` as finished but the journal
   * says it is active: another process (the command line, another window)
   * took it up meanwhile.
   */
  #refuseIfRunElsewhere(id: string): void {
    const job = this.#scheduler.get(id);
    const record = this.journal.getJob(id);
    if (job && record && isFinal(job.state) && !isFinal(record.state)) {
      throw new ValidationError(
        'id',
        `Transfer ${id} is ${record.state} in another process: wait for it there.`,
      );
    }
  }

  #assertOpen(): void {
    if (this.#closing) {
      throw new Error('The engine is closed.');
    }
  }
}

/** isDismissed is true for a job `dismiss` took off the list. */
function isDismissed(record: JobRecord): boolean {
  const result = record.result as { dismissed?: unknown } | null;
  return result !== null && typeof result === 'object' && result.dismissed === true;
}

function request(runtime: JobRuntime): UploadJobRequest {
  return runtime.request as UploadJobRequest;
}

function sumTotals(files: FileProgress[]): number | null {
  let total = 0;
  for (const file of files) {
    if (file.bytesTotal === null) {
      return null;
    }
    total += file.bytesTotal;
  }
  return total;
}

function checkUploadPlan(
  plan: UploadPlan,
  objects: ReturnType<typeof plannedObjects>,
): void {
  if (!plan || !Array.isArray(plan.samples)) {
    throw new ValidationError(
      'plan',
      'The upload plan is missing or has no sample list.',
    );
  }
  if (
    typeof plan.destination !== 'string' ||
    !plan.destination.startsWith('gncv://')
  ) {
    throw new ValidationError(
      'plan.destination',
      `The destination "${String(plan.destination)}" does not start with gncv://.`,
    );
  }
  if (objects.length === 0) {
    throw new ValidationError(
      'plan',
      'The plan has no included sample to upload.',
    );
  }
  const seen = new Set<string>();
  for (const { clientId, read } of objects) {
    if (!read.destination.startsWith('gncv://')) {
      throw new ValidationError(
        'plan.samples',
        `Sample ${clientId} ${read.read} has the destination "${read.destination}", which does not start with gncv://.`,
      );
    }
    if (seen.has(read.destination)) {
      throw new ValidationError(
        'plan.samples',
        `Two files of the plan would be uploaded to ${read.destination}.`,
      );
    }
    seen.add(read.destination);
    if (!Array.isArray(read.files) || read.files.length === 0) {
      throw new ValidationError(
        'plan.samples',
        `Sample ${clientId} ${read.read} has no file to upload.`,
      );
    }
    const size = read.files.reduce((n, f) => n + f.size, 0);
    if (size !== read.size) {
      throw new ValidationError(
        'plan.samples',
        `Sample ${clientId} ${read.read}: the plan says ${read.size} bytes but its files add up to ${size}.`,
      );
    }
  }
}

function checkMetadata(metadata: unknown): unknown {
  if (metadata === undefined || metadata === null) {
    return null;
  }
  try {
    const text = JSON.stringify(metadata);
    if (text === undefined) {
      throw new Error('not a JSON value');
    }
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ValidationError(
      'metadata',
      `The metadata is not a JSON value: ${toUserMessage(err)}`,
    );
  }
}
