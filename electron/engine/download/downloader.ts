/**
 * downloadDeliverables: one download job, from request to verified files on
 * disk.
 *
 * Order of work: check the request, plan every file and its local path
 * (plan.ts; nothing is written before the plan is complete and free of
 * collisions), then deliver files: `fileConcurrency` of them receive at a
 * time, and a file that has received its last byte gives its connection to
 * the next one while it is flushed, checked and renamed. Each file is
 * written to `<path>.part`, checked for size and SHA-256, renamed, and
 * recorded in the journal, in that order, before it is reported done. A
 * `.part` is continued only when the server answers 206 from its exact
 * length; it never gets its final name unverified.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, stat, statfs, unlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';

import type { FileProgress, DownloadRequest } from '../../../shared/domain.ts';
import { parseChecksumLine } from '../api/client.ts';
import type { SampleQc } from '../api/models.ts';
import { TRANSFER_POLICY, throwIfAborted, withRetry } from '../backoff.ts';
import type { BackoffPolicy } from '../backoff.ts';
import {
  ApiError,
  CancelledError,
  ValidationError,
  isCancellation,
  toLogString,
  toUserMessage,
} from '../errors.ts';
import type { Journal } from '../journal/journal.ts';
import {
  NO_URL_REASON,
  checkRequest,
  planDownload,
} from './plan.ts';
import type { DownloadClient, DownloadPlan, PlannedFile } from './plan.ts';
import { formatBytes } from '../scan/formatPlan.ts';
import { Limiter } from '../scheduler.ts';
import { lockFile } from './fileLock.ts';
import { runPool } from './pool.ts';
import { DownloadStore } from './store.ts';
import {
  IntegrityError,
  createAgents,
  destroyAgents,
  fetchToPart,
  hashFile,
  probeSize,
} from './transfer.ts';
import type { Agents, FetchResult } from './transfer.ts';

export type { DownloadClient } from './plan.ts';

/** Files receiving at the same time unless the caller says otherwise. */
export const DEFAULT_FILE_CONCURRENCY = 2;

/** Fresh download URLs asked for per file after 403 answers. */
export const MAX_URL_REFRESHES = 3;

/** Progress snapshots are sent at most this often (ms), plus a final one. */
export const PROGRESS_INTERVAL_MS = 250;

/** Log levels: debug = retries and internals, info = each finished file. */
export type DownloadLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One progress snapshot of a download job. */
export interface DownloadProgress {
  files: FileProgress[];
  /** Bytes of platform files written so far (skipped files not counted). */
  bytesDone: number;
  /** Bytes to write in total, or null while a size is unknown. */
  bytesTotal: number | null;
  /**
   * Part of `bytesDone` that was already on disk in `.part` files when
   * their transfer was continued (not moved by this run: leave it out of
   * speed figures).
   */
  bytesResumed: number;
}

/** What `downloadDeliverables` needs from the engine. */
export interface DownloadDeps {
  client: DownloadClient;
  journal: Journal;
  /** Aborting it stops the job: `downloadDeliverables` throws CancelledError. */
  signal: AbortSignal;
  onProgress: (progress: DownloadProgress) => void;
  /**
   * Files receiving from storage at the same time (default
   * DEFAULT_FILE_CONCURRENCY); as many more may be finishing meanwhile
   * (flush, checks, rename) or checking an existing copy.
   */
  fileConcurrency?: number;
  log?: (level: DownloadLogLevel, msg: string) => void;
  /** Retry policy of each storage transfer (default TRANSFER_POLICY). */
  retryPolicy?: BackoffPolicy;
  /** Idle timeout of storage connections in ms (default 30 s). */
  storageTimeoutMs?: number;
  /**
   * Bytes free for this process on the volume of a folder, or null when
   * the file system does not say (default: statfs).
   */
  freeSpace?: (folder: string) => Promise<number | null>;
}

/** The outcome of a download job. */
export interface DownloadResult {
  /** One entry per file, and one per sample that delivered nothing. */
  files: FileProgress[];
  skipped: number;
  downloaded: number;
  failed: number;
}

/**
 * downloadDeliverables downloads what `req` selects into
 * `req.destination` and resolves with every file's final state once all
 * have settled: a file that fails does not stop the others and is reported
 * with its error.
 *
 * Rejects, before anything is written, with ValidationError for a bad
 * request (ids, file types, template, colliding paths, unknown project)
 * and with the client's errors for failures that concern every file
 * (authentication, network, maintenance). Rejects with CancelledError when
 * `deps.signal` aborts; `.part` files are then kept so that a later run
 * continues them.
 */
export async function downloadDeliverables(
  req: DownloadRequest,
  deps: DownloadDeps,
): Promise<DownloadResult> {
  const log = deps.log ?? (() => undefined);
  const request = checkRequest(req);
  throwIfAborted(deps.signal);
  const store = new DownloadStore(deps.journal);
  await checkDestination(request.destination);

  const plan = await planDownload(request, {
    client: deps.client,
    signal: deps.signal,
    log,
  });
  throwIfAborted(deps.signal);
  await mkdir(request.destination, { recursive: true });
  await checkWritable(request.destination);

  const { entries, work } = buildEntries(plan);
  await checkFreeSpace(
    request.destination,
    work.map((job) => job.file),
    request.skipExisting,
    deps.freeSpace ?? freeSpaceOf,
  );
  const counted = new Set(
    work.filter((job) => job.file.kind === 'file').map((job) => job.entry),
  );
  const progress = new ProgressReporter(entries, counted, deps.onProgress);
  const concurrency = Math.max(
    1,
    Math.floor(deps.fileConcurrency ?? DEFAULT_FILE_CONCURRENCY),
  );
  const agents = createAgents(concurrency + 1);
  const context: Context = {
    client: deps.client,
    store,
    agents,
    slots: new Limiter(concurrency),
    signal: deps.signal,
    log,
    progress,
    policy: deps.retryPolicy ?? TRANSFER_POLICY,
    timeoutMs: deps.storageTimeoutMs,
    skipExisting: request.skipExisting,
    checksums: new Map(),
  };
  log(
    'info',
    `download: ${work.length} files of ${plan.samples.length} samples planned`,
  );
  progress.changed(true);
  try {
    // Twice as many lanes as connections: while one file finishes, the
    // next one is already receiving.
    await runPool(
      work,
      concurrency * 2,
      (job) => deliver(context, job.file, job.entry),
      deps.signal,
    );
  } finally {
    destroyAgents(agents);
    if (deps.signal.aborted) {
      for (const entry of entries) {
        const isSettled = ['done', 'skipped', 'failed'].includes(entry.state);
        if (!isSettled) entry.state = 'cancelled';
      }
    }
    progress.close();
  }
  throwIfAborted(deps.signal);

  const count = (state: FileProgress['state']) =>
    entries.filter((entry) => entry.state === state).length;
  const result: DownloadResult = {
    files: entries.map((entry) => ({ ...entry })),
    skipped: count('skipped'),
    downloaded: count('done'),
    failed: count('failed'),
  };
  log(
    result.failed > 0 ? 'warn' : 'info',
    `download: finished: ${result.downloaded} downloaded, ${result.skipped} skipped, ${result.failed} failed`,
  );
  return result;
}

interface Context {
  client: DownloadClient;
  store: DownloadStore;
  agents: Agents;
  /** One permit per storage connection receiving a file. */
  slots: Limiter;
  signal: AbortSignal;
  log: (level: DownloadLogLevel, msg: string) => void;
  progress: ProgressReporter;
  policy: BackoffPolicy;
  timeoutMs: number | undefined;
  skipExisting: boolean;
  /** Expected SHA-256 per file id once looked up (null: none known). */
  checksums: Map<string, string | null>;
}

interface Work {
  file: PlannedFile;
  entry: FileProgress;
}

function buildEntries(plan: DownloadPlan): {
  entries: FileProgress[];
  work: Work[];
} {
  const entries: FileProgress[] = [];
  const work: Work[] = [];
  for (const sample of plan.samples) {
    if (sample.skipped || sample.failed) {
      entries.push({
        name: `${sample.clientId || '?'} (${sample.sampleId})`,
        clientId: sample.clientId || undefined,
        bytesDone: 0,
        bytesTotal: null,
        state: sample.skipped ? 'skipped' : 'failed',
        error: sample.skipped ?? sample.failed,
      });
      continue;
    }
    for (const file of sample.files) {
      const entry: FileProgress = {
        name: file.relPath,
        clientId: file.clientId,
        bytesDone: 0,
        bytesTotal: file.size,
        state: 'queued',
      };
      entries.push(entry);
      work.push({ file, entry });
    }
  }
  return { entries, work };
}

/** deliver settles one file; only a cancellation escapes. */
async function deliver(
  ctx: Context,
  file: PlannedFile,
  entry: FileProgress,
): Promise<void> {
  if (ctx.signal.aborted) return;
  if (file.kind === 'file' && file.url === null) {
    entry.state = 'skipped';
    entry.error = NO_URL_REASON;
    ctx.log('warn', `download: ${file.relPath}: ${NO_URL_REASON}`);
    ctx.progress.changed();
    return;
  }
  entry.state = 'running';
  ctx.progress.changed();
  try {
    await mkdir(path.dirname(file.absPath), { recursive: true });
    // Another job or process writing the same file goes first; this one
    // then finds the file finished (or continues its .part).
    const lock = await lockFile(file.absPath, ctx.signal, (pid) =>
      ctx.log(
        'info',
        `download: ${file.relPath}: another download${pid === null ? '' : ` (process ${pid})`} is writing this file; waiting for it`,
      ),
    );
    try {
      const outcome =
        file.kind === 'file'
          ? await deliverPlatformFile(ctx, file, entry)
          : await deliverJsonFile(ctx, file, entry);
      entry.state = outcome;
      delete entry.error;
    } finally {
      await lock.release();
    }
  } catch (err) {
    if (isCancellation(err) || ctx.signal.aborted) {
      throw err instanceof CancelledError ? err : new CancelledError();
    }
    entry.state = 'failed';
    entry.error = toUserMessage(err);
    ctx.log('error', `download: ${file.relPath}: failed: ${toLogString(err)}`);
  } finally {
    ctx.progress.changed();
  }
}

async function deliverPlatformFile(
  ctx: Context,
  file: PlannedFile,
  entry: FileProgress,
): Promise<'done' | 'skipped'> {
  const existing = await statOrNull(file.absPath);
  if (existing && !existing.isFile()) {
    throw new IntegrityError(
      `${file.relPath} exists and is not a file: move it away to download this file.`,
    );
  }
  if (existing && ctx.skipExisting) {
    if (await isAlreadyThere(ctx, file, entry, existing)) {
      ctx.log('debug', `download: ${file.relPath}: already there, skipped`);
      return 'skipped';
    }
  }

  const partPath = `${file.absPath}.part`;
  await forgetForeignPart(ctx, file, partPath);
  // A resumed .part that fails the checksum may hold bytes of an older
  // version of the file: it is deleted and the file fetched once more in
  // full. A full download that fails the checksum is an error.
  for (let round = 0; ; round++) {
    const result = await fetchWithFreshUrls(ctx, file, entry, partPath);
    const expected = await expectedChecksum(ctx, file);
    if (expected !== null && expected !== result.sha256) {
      await unlink(partPath).catch(() => undefined);
      ctx.store.clearPartial(partPath);
      if (result.resumed && round === 0) {
        ctx.log(
          'warn',
          `download: ${file.relPath}: the continued .part does not match the platform's SHA-256; downloading it again from the start`,
        );
        entry.bytesDone = 0;
        continue;
      }
      throw new IntegrityError(
        `SHA-256 mismatch for ${file.relPath}: the platform says ${expected}, the downloaded bytes give ${result.sha256}. The partial file was deleted.`,
      );
    }
    if (file.size !== null && result.size !== file.size) {
      ctx.log(
        'warn',
        `download: ${file.relPath}: the platform lists ${file.size} bytes, storage delivered ${result.size}`,
      );
    }
    if (expected === null) {
      ctx.log('debug', `download: ${file.relPath}: no checksum from the platform; size checked only`);
    }
    await rename(partPath, file.absPath);
    ctx.store.clearPartial(partPath);
    const info = await stat(file.absPath);
    ctx.store.recordDelivered(
      {
        path: file.absPath,
        sampleId: file.sampleId,
        fileId: file.fileId,
        fileType: file.fileType,
        size: info.size,
        sha256: result.sha256,
      },
      info.mtimeMs,
    );
    entry.bytesDone = info.size;
    entry.bytesTotal = info.size;
    ctx.log(
      'info',
      `download: ${file.relPath}: done (${info.size} bytes, ${expected === null ? 'size' : 'SHA-256'} verified${result.resumed ? ', continued from a .part' : ''})`,
    );
    return 'done';
  }
}

/**
 * isAlreadyThere is the skip-existing rule: the existing file has the
 * platform's size (asked from storage when the platform does not say) and,
 * when a checksum is known, its SHA-256 (cached by path, size and mtime).
 */
async function isAlreadyThere(
  ctx: Context,
  file: PlannedFile,
  entry: FileProgress,
  existing: Stats,
): Promise<boolean> {
  const size =
    file.size ??
    (await withFreshUrl(ctx, file, (url) =>
      withRetry(
        () =>
          probeSize({
            url,
            agents: ctx.agents,
            signal: ctx.signal,
            timeoutMs: ctx.timeoutMs,
          }),
        retryOptions(ctx, file, entry),
      ),
    ));
  if (size === null || existing.size !== size) {
    ctx.log(
      'info',
      `download: ${file.relPath}: exists with ${existing.size} bytes, expected ${size ?? 'an unknown size'}: downloading it again`,
    );
    return false;
  }
  const expected = await expectedChecksum(ctx, file);
  if (expected !== null) {
    const { size: bytes, mtimeMs } = existing;
    let actual = ctx.store.cachedChecksum(file.absPath, bytes, mtimeMs);
    if (actual === undefined) {
      actual = await hashFile(file.absPath, ctx.signal);
      ctx.store.rememberChecksum(file.absPath, bytes, mtimeMs, actual);
    }
    if (actual !== expected) {
      ctx.log(
        'info',
        `download: ${file.relPath}: exists with the right size but another SHA-256: downloading it again`,
      );
      return false;
    }
  }
  entry.bytesDone = existing.size;
  entry.bytesTotal = existing.size;
  return true;
}

/** Deletes a `.part` the journal says belongs to another file or size. */
async function forgetForeignPart(
  ctx: Context,
  file: PlannedFile,
  partPath: string,
): Promise<void> {
  const record = ctx.store.partial(partPath);
  if (!record) return;
  const isForeign =
    record.fileId !== file.fileId ||
    (file.size !== null && record.total !== null && record.total !== file.size);
  if (isForeign) {
    ctx.log('debug', `download: ${file.relPath}: the .part belongs to another file; starting over`);
    await unlink(partPath).catch((err: { code?: string }) => {
      if (err.code !== 'ENOENT') throw err;
    });
    ctx.store.clearPartial(partPath);
  }
}

async function fetchWithFreshUrls(
  ctx: Context,
  file: PlannedFile,
  entry: FileProgress,
  partPath: string,
): Promise<FetchResult> {
  const receiveOnce = (url: string, release: () => void) => {
    const record = ctx.store.partial(partPath);
    return fetchToPart({
      url,
      partPath,
      resume: true,
      ifRange: record?.etag ?? null,
      agents: ctx.agents,
      signal: ctx.signal,
      timeoutMs: ctx.timeoutMs,
      onStart: ({ total, etag, restarted, kept }) => {
        ctx.progress.resumed(kept);
        if (restarted || !record) {
          const fileId = file.fileId!;
          ctx.store.setPartial(partPath, { fileId, total, etag });
        }
        if (restarted && record) {
          ctx.log('debug', `download: ${file.relPath}: the server did not continue the .part; starting over`);
        }
      },
      // The connection goes to the next file while this one is flushed.
      onReceived: release,
      onBytes: (done, total) => {
        entry.bytesDone = done;
        if (total !== null) entry.bytesTotal = total;
        ctx.progress.changed();
      },
    });
  };
  return withFreshUrl(ctx, file, (url) =>
    withRetry(async () => {
      entry.state = 'running';
      const release = await ctx.slots.acquire(ctx.signal).catch((err) => {
        throw new CancelledError('Cancelled.', { cause: err });
      });
      try {
        return await receiveOnce(url, release);
      } finally {
        release();
      }
    }, retryOptions(ctx, file, entry)),
  );
}

/**
 * withFreshUrl runs `fn` with the file's download URL; when storage answers
 * 403 (the presigned URL expired or was revoked) it re-reads the sample for
 * a fresh URL and tries again, at most MAX_URL_REFRESHES times.
 */
async function withFreshUrl<T>(
  ctx: Context,
  file: PlannedFile,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  for (let refresh = 0; ; refresh++) {
    try {
      return await fn(file.url!);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 403)) throw err;
      if (refresh >= MAX_URL_REFRESHES) {
        throw new IntegrityError(
          `Storage refused the download of ${file.relPath} (403) even with ${MAX_URL_REFRESHES} fresh URLs: ${err.message}`,
          { cause: err },
        );
      }
      ctx.log(
        'debug',
        `download: ${file.relPath}: storage answered 403 (expired URL?); asking for a fresh URL (${refresh + 1}/${MAX_URL_REFRESHES})`,
      );
      const sample = await ctx.client.getSample(file.sampleId, {
        signal: ctx.signal,
      });
      const fresh = sample.files.find((f) => f.id === file.fileId);
      if (!fresh?.download_url) {
        throw new IntegrityError(
          `${file.relPath} is no longer available for download (the platform gives no URL now; is the sample archived?).`,
        );
      }
      file.url = fresh.download_url;
    }
  }
}

function retryOptions(ctx: Context, file: PlannedFile, entry: FileProgress) {
  return {
    policy: ctx.policy,
    signal: ctx.signal,
    onRetry: (info: { attempt: number; delayMs: number; error: unknown }) => {
      entry.state = 'retrying';
      ctx.progress.changed();
      ctx.log(
        'debug',
        `download: ${file.relPath}: attempt ${info.attempt}/${ctx.policy.maxAttempts} failed (${toUserMessage(info.error)}); retrying in ${info.delayMs} ms`,
      );
    },
  };
}

/**
 * expectedChecksum is the platform's SHA-256 for the file: the sample's
 * `checksum_sha256`, else the checksum endpoint. A 400 there means the file
 * has none (not an error); other failures are logged and verification is
 * left to the size.
 */
async function expectedChecksum(
  ctx: Context,
  file: PlannedFile,
): Promise<string | null> {
  if (file.checksum) return file.checksum;
  const key = file.fileId!;
  const cached = ctx.checksums.get(key);
  if (cached !== undefined) return cached;
  let value: string | null = null;
  try {
    const name = path.basename(file.absPath);
    const text = await ctx.client.getFileChecksum(key, name, {
      signal: ctx.signal,
    });
    const line = parseChecksumLine(text);
    if (line) {
      value = line.sha256;
    } else {
      ctx.log('warn', `download: ${file.relPath}: the checksum endpoint answered something that is not a SHA-256; size checked only`);
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof ApiError && err.status === 400) {
      ctx.log('debug', `download: ${file.relPath}: the platform has no checksum for this file; SHA-256 not verified`);
    } else {
      ctx.log('warn', `download: ${file.relPath}: cannot read the checksum (${toUserMessage(err)}); size checked only`);
    }
  }
  ctx.checksums.set(key, value);
  return value;
}

/**
 * deliverJsonFile writes the QC or metadata pseudo file (reference 7.5):
 * compact JSON, through a `.part` and a rename. With skip-existing, an
 * existing non-empty file is kept.
 */
async function deliverJsonFile(
  ctx: Context,
  file: PlannedFile,
  entry: FileProgress,
): Promise<'done' | 'skipped'> {
  const existing = await statOrNull(file.absPath);
  if (existing && !existing.isFile()) {
    throw new IntegrityError(
      `${file.relPath} exists and is not a file: move it away to write the ${file.kind} file.`,
    );
  }
  if (existing && ctx.skipExisting && existing.size > 0) {
    entry.bytesDone = existing.size;
    entry.bytesTotal = existing.size;
    return 'skipped';
  }
  let json: string;
  if (file.kind === 'qc') {
    const qc = await ctx.client.getSampleQc(file.sampleId, {
      signal: ctx.signal,
    });
    json = JSON.stringify(qc.map(reduceQc));
  } else {
    const { metadata } = await ctx.client.getSampleMetadata(file.sampleId, {
      signal: ctx.signal,
    });
    json = JSON.stringify({ metadata: metadata ?? null });
  }
  throwIfAborted(ctx.signal);
  const bytes = Buffer.from(json, 'utf8');
  const partPath = `${file.absPath}.part`;
  const handle = await open(partPath, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(partPath, file.absPath);
  const info = await stat(file.absPath);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  ctx.store.recordDelivered(
    {
      path: file.absPath,
      sampleId: file.sampleId,
      fileId: null,
      fileType: file.fileType,
      size: info.size,
      sha256,
    },
    info.mtimeMs,
  );
  entry.bytesDone = info.size;
  entry.bytesTotal = info.size;
  ctx.log('info', `download: ${file.relPath}: written (${info.size} bytes)`);
  return 'done';
}

/**
 * reduceQc keeps what the reference's QC file holds: the check's key and
 * type, and the measured/expected values, string and status, without nulls.
 */
export function reduceQc(item: SampleQc): Record<string, unknown> {
  const type = item.quality_control_type;
  const qc = item.quality_control;
  return {
    quality_control_type: dropNulls({ key: type.key, type: type.type }),
    quality_control: dropNulls({
      value_expected: qc.value_expected,
      value_measured: qc.value_measured,
      value_string: qc.value_string,
      status: qc.status,
    }),
  };
}

function dropNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(
      ([, value]) => value !== null && value !== undefined,
    ),
  );
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
}

async function checkDestination(folder: string): Promise<void> {
  const info = await statOrNull(folder);
  if (info && !info.isDirectory()) {
    throw new ValidationError(
      'destination',
      `The download destination ${folder} exists and is not a folder.`,
    );
  }
}

/**
 * checkFreeSpace refuses, before any transfer, a download whose files of
 * known size need more room than the destination's volume has: the bytes
 * of each file not yet on disk (a finished file that will be skipped, or
 * the part of a `.part` a transfer continues, needs none).
 */
async function checkFreeSpace(
  folder: string,
  files: PlannedFile[],
  skipExisting: boolean,
  freeSpace: (folder: string) => Promise<number | null>,
): Promise<void> {
  let needed = 0;
  for (const file of files) {
    if (file.kind !== 'file' || file.size === null) continue;
    const existing = skipExisting ? await statOrNull(file.absPath) : null;
    if (existing?.isFile() && existing.size === file.size) continue;
    const part = await statOrNull(`${file.absPath}.part`);
    const kept = part?.isFile() && part.size <= file.size ? part.size : 0;
    needed += file.size - kept;
  }
  const free = await freeSpace(folder);
  // Not every file system says; the writes will tell then.
  if (free !== null && needed > free) {
    throw new ValidationError(
      'destination',
      `The download needs ${formatBytes(needed)} but ${folder} has ${formatBytes(free)} free: make room or choose another folder.`,
    );
  }
}

async function freeSpaceOf(folder: string): Promise<number | null> {
  try {
    const volume = await statfs(folder);
    return volume.bavail * volume.bsize;
  } catch {
    return null;
  }
}

/**
 * checkWritable creates and removes a file in `folder`, so that a folder
 * that cannot be written fails once, before any transfer, rather than once
 * per file.
 */
async function checkWritable(folder: string): Promise<void> {
  const probe = path.join(folder, `.gencove-write-check-${process.pid}`);
  try {
    const handle = await open(probe, 'w');
    await handle.close();
    await unlink(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ValidationError(
      'destination',
      `The download destination ${folder} cannot be written (${code}): choose another folder or change its permissions.`,
    );
  }
}

/**
 * ProgressReporter sends snapshots of the entries: at most one per
 * PROGRESS_INTERVAL_MS (a trailing one catches the last change), and a
 * final one on close. Aggregate bytes count platform files only, skipped
 * ones excluded.
 */
class ProgressReporter {
  readonly #entries: FileProgress[];
  readonly #counted: ReadonlySet<FileProgress>;
  readonly #send: (progress: DownloadProgress) => void;
  #lastSent = 0;
  #bytesResumed = 0;
  #timer: NodeJS.Timeout | null = null;
  #isClosed = false;

  constructor(
    entries: FileProgress[],
    counted: ReadonlySet<FileProgress>,
    send: (progress: DownloadProgress) => void,
  ) {
    this.#entries = entries;
    this.#counted = counted;
    this.#send = send;
  }

  changed(force = false): void {
    if (this.#isClosed) return;
    const wait = this.#lastSent + PROGRESS_INTERVAL_MS - Date.now();
    if (force || wait <= 0) {
      this.#emit();
      return;
    }
    if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#isClosed) this.#emit();
      }, wait);
      this.#timer.unref();
    }
  }

  /** resumed counts `bytes` kept from a `.part` as done but not moved. */
  resumed(bytes: number): void {
    this.#bytesResumed += bytes;
  }

  close(): void {
    if (this.#isClosed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#emit();
    this.#isClosed = true;
  }

  #emit(): void {
    this.#lastSent = Date.now();
    let bytesDone = 0;
    let bytesTotal: number | null = 0;
    for (const entry of this.#counted) {
      if (entry.state === 'skipped') continue;
      bytesDone += entry.bytesDone;
      bytesTotal =
        bytesTotal === null || entry.bytesTotal === null
          ? null
          : bytesTotal + entry.bytesTotal;
    }
    try {
      this.#send({
        files: this.#entries.map((entry) => ({ ...entry })),
        bytesDone,
        bytesTotal,
        bytesResumed: this.#bytesResumed,
      });
    } catch {
      // A listener's failure must not break the transfer.
    }
  }
}
