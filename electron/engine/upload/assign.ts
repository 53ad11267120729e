/**
 * Assignment of a batch's uploads to a project, exactly once.
 *
 * After the objects are stored, the platform groups the uploads into
 * sample-sheet rows on its own schedule. We poll the sheet (unassigned rows
 * under the batch's folder) until every upload of ours is in a row whose
 * reads are all ours, then send the rows in batches of 200 with the
 * metadata.
 *
 * Exactly once: each batch is journaled as 'sending' before its request and
 * 'sent' with the answer after. A batch found 'sending' on resume may or may
 * not have reached the platform, so its rows are first looked up among the
 * assigned rows, and only those still unassigned are sent again.
 */
import { abortableSleep } from '../backoff.ts';
import { toUserMessage } from '../errors.ts';
import type {
  AssignResponse,
  SampleList,
  SampleSheetRow,
} from '../api/models.ts';
import type { LogFn } from './uploader.ts';
import type { AssignmentBatchRecord, UploadStore } from './store.ts';

/** Rows per assignment request (the platform's limit). */
export const ASSIGN_BATCH_SIZE = 200;

/** How long to wait for the sample sheet to show our uploads. */
export const DEFAULT_ASSIGN_WINDOW_MS = 300_000;

/**
 * Waits between sample-sheet polls: 0.5, 1, 2, 4, 8, then every 10 s until
 * the window closes. The first poll is immediate.
 */
export const ASSIGN_POLL_DELAYS_MS: readonly number[] = [
  500, 1_000, 2_000, 4_000, 8_000, 10_000,
];

/** The platform calls assignment needs (GencoveClient fits). */
export interface AssignApi {
  listSampleSheet(
    q: { search?: string; status?: 'all' | 'assigned' | 'unassigned' },
    options?: { signal?: AbortSignal },
  ): Promise<SampleSheetRow[]>;
  assignSamples(
    projectId: string,
    uploads: SampleSheetRow[],
    metadata: unknown,
    options?: { signal?: AbortSignal },
  ): Promise<AssignResponse>;
  listProjectSamples?(
    projectId: string,
    q?: { search?: string; sortBy?: 'created'; sortOrder?: 'desc' },
    options?: { signal?: AbortSignal },
  ): Promise<SampleList[]>;
}

/** A sample created by the assignment. */
export interface AssignedSample {
  clientId: string;
  sampleId: string;
}

/**
 * AssignTimeoutError: the sample sheet did not show all our uploads within
 * the window. The message names what is missing and the folder, so the user
 * can assign it later.
 */
export class AssignTimeoutError extends Error {
  override readonly name = 'AssignTimeoutError';
  readonly jobErrorCode = 'assign-timeout';
  readonly missing: string[];

  constructor(message: string, missing: string[]) {
    super(message);
    this.missing = missing;
  }
}

export interface AssignParams {
  jobId: string;
  projectId: string;
  /** The batch's `gncv://folder/` (the sample-sheet search prefix). */
  destinationFolder: string;
  /** Our uploads: platform upload id and destination path. */
  uploads: { uploadId: string; destination: string }[];
  /** Any JSON value, or null. */
  metadata: unknown;
  client: AssignApi;
  store: UploadStore;
  signal: AbortSignal;
  windowMs?: number;
  batchSize?: number;
  pollDelaysMs?: readonly number[];
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  log?: LogFn;
}

/**
 * assignUploads makes sure every upload in `uploads` is assigned to the
 * project, sending each sample-sheet row at most once across crashes and
 * restarts, and returns the samples created by this job (from the journal's
 * answers, so a repeated call returns the same list without sending).
 *
 * Uploads that someone else already assigned are left out with a warning.
 * Throws AssignTimeoutError when the sheet does not show our uploads in
 * time, the client's errors (ApiError, NetworkError...) when a request
 * fails, CancelledError when `signal` aborts.
 */
export async function assignUploads(
  params: AssignParams,
): Promise<AssignedSample[]> {
  const { jobId, store } = params;
  const log = params.log ?? (() => {});
  const tag = `Assign/job(${jobId})`;
  const batchSize = params.batchSize ?? ASSIGN_BATCH_SIZE;

  // 1. Finish batches an earlier run left 'sending'.
  for (const batch of store.listBatches(jobId)) {
    if (batch.state === 'sending') {
      await finishInterruptedBatch(params, batch, log, tag);
    }
  }

  // 2. Match and send what no batch holds yet.
  const covered = new Set<string>();
  for (const batch of store.listBatches(jobId)) {
    for (const row of batch.rows as SampleSheetRow[]) {
      for (const id of rowUploadIds(row)) {
        covered.add(id);
      }
    }
  }
  const remaining = params.uploads.filter((u) => !covered.has(u.uploadId));
  if (remaining.length > 0) {
    const rows = await waitForRows(params, remaining, log, tag);
    let nextIndex =
      store
        .listBatches(jobId)
        .reduce((max, b) => Math.max(max, b.batchIndex), -1) + 1;
    for (let at = 0; at < rows.length; at += batchSize) {
      const slice = rows.slice(at, at + batchSize);
      const index = nextIndex++;
      store.markBatchSending(jobId, index, slice);
      const response = await params.client.assignSamples(
        params.projectId,
        slice,
        params.metadata ?? null,
        { signal: params.signal },
      );
      store.markBatchSent(jobId, index, response);
      log(
        'info',
        `${tag}: assigned ${slice.length} sample(s) to project ${params.projectId} (batch ${index + 1})`,
      );
    }
  }

  return collectAssigned(store.listBatches(jobId));
}

async function finishInterruptedBatch(
  params: AssignParams,
  batch: AssignmentBatchRecord,
  log: LogFn,
  tag: string,
): Promise<void> {
  const rows = batch.rows as SampleSheetRow[];
  const assigned = await params.client.listSampleSheet(
    { search: params.destinationFolder, status: 'assigned' },
    { signal: params.signal },
  );
  const assignedIds = new Set(assigned.flatMap(rowUploadIds));
  const done = rows.filter((row) =>
    rowUploadIds(row).every((id) => assignedIds.has(id)),
  );
  const pending = rows.filter((row) => !done.includes(row));
  log(
    'debug',
    `${tag}: batch ${batch.batchIndex + 1} was interrupted; ${done.length} row(s) already assigned, ${pending.length} to send`,
  );

  const recovered = await recoverSampleIds(
    params,
    done,
    batch.updatedAt,
    log,
    tag,
  );
  let uploads: AssignResponse['uploads'] = recovered;
  let metadata: unknown = params.metadata ?? null;
  if (pending.length > 0) {
    const response = await params.client.assignSamples(
      params.projectId,
      pending,
      params.metadata ?? null,
      { signal: params.signal },
    );
    uploads = [...recovered, ...response.uploads];
    metadata = response.metadata ?? metadata;
  }
  params.store.markBatchSent(params.jobId, batch.batchIndex, {
    uploads,
    metadata,
  });
}

/**
 * The sample sheet does not say which sample a row became; the project's
 * samples with the row's client id, created since the batch was sent, do.
 */
async function recoverSampleIds(
  params: AssignParams,
  rows: SampleSheetRow[],
  sentAt: string,
  log: LogFn,
  tag: string,
): Promise<AssignResponse['uploads']> {
  const result: AssignResponse['uploads'] = [];
  if (rows.length === 0) {
    return result;
  }
  const since = Date.parse(sentAt) - 5 * 60_000;
  const used = new Set<string>();
  for (const row of rows) {
    let sampleId: string | undefined;
    if (params.client.listProjectSamples) {
      try {
        const samples = await params.client.listProjectSamples(
          params.projectId,
          { search: row.client_id, sortBy: 'created', sortOrder: 'desc' },
          { signal: params.signal },
        );
        sampleId = samples.find(
          (s) =>
            s.client_id === row.client_id &&
            !used.has(s.id) &&
            (!s.created ||
              Number.isNaN(since) ||
              Date.parse(s.created) >= since),
        )?.id;
      } catch (err) {
        log(
          'warn',
          `${tag}: could not look up the sample of ${row.client_id}: ${toUserMessage(err)}`,
        );
      }
    }
    if (!sampleId) {
      log(
        'warn',
        `${tag}: ${row.client_id} is assigned, but its sample id is unknown`,
      );
      continue;
    }
    used.add(sampleId);
    result.push({
      client_id: row.client_id,
      fastq: {
        r1: row.fastq.r1 ? { upload: row.fastq.r1.upload } : null,
        r2: row.fastq.r2 ? { upload: row.fastq.r2.upload } : null,
      },
      sample: sampleId,
    });
  }
  return result;
}

/**
 * Polls the sample sheet until every upload in `wanted` is in an unassigned
 * row made only of our uploads (or was assigned by someone else), and
 * returns those rows unchanged.
 */
async function waitForRows(
  params: AssignParams,
  wanted: { uploadId: string; destination: string }[],
  log: LogFn,
  tag: string,
): Promise<SampleSheetRow[]> {
  const now = params.now ?? Date.now;
  const sleep = params.sleep ?? abortableSleep;
  const delays = params.pollDelaysMs ?? ASSIGN_POLL_DELAYS_MS;
  const deadline = now() + (params.windowMs ?? DEFAULT_ASSIGN_WINDOW_MS);
  const wantedIds = new Set(wanted.map((u) => u.uploadId));
  const alreadyAssigned = new Set<string>();

  for (let poll = 0; ; poll++) {
    const sheet = await params.client.listSampleSheet(
      { search: params.destinationFolder, status: 'unassigned' },
      { signal: params.signal },
    );
    const rows: SampleSheetRow[] = [];
    const found = new Set<string>();
    let incomplete = 0;
    for (const row of sheet) {
      const ids = rowUploadIds(row);
      const ours = ids.filter((id) => wantedIds.has(id));
      if (ours.length === 0) {
        continue;
      }
      if (ours.length < ids.length) {
        // Grouped with an upload that is not ours: wait for the platform
        // to settle the grouping (e.g. an older upload in the same folder).
        incomplete++;
        continue;
      }
      rows.push(row);
      ours.forEach((id) => found.add(id));
    }
    let missing = wanted.filter(
      (u) => !found.has(u.uploadId) && !alreadyAssigned.has(u.uploadId),
    );
    if (missing.length > 0) {
      const assigned = await params.client.listSampleSheet(
        { search: params.destinationFolder, status: 'assigned' },
        { signal: params.signal },
      );
      const assignedIds = new Set(assigned.flatMap(rowUploadIds));
      for (const u of missing) {
        if (assignedIds.has(u.uploadId)) {
          alreadyAssigned.add(u.uploadId);
          log(
            'warn',
            `${tag}: ${u.destination} is already assigned to a project; left as it is`,
          );
        }
      }
      missing = missing.filter((u) => !alreadyAssigned.has(u.uploadId));
    }
    if (missing.length === 0 && incomplete === 0) {
      return rows;
    }

    const delay = delays[Math.min(poll, delays.length - 1)] ?? 1_000;
    if (now() + delay > deadline) {
      const names = missing.map((u) => u.destination);
      const what =
        names.length > 0
          ? `${names.length} upload(s) did not appear in the sample sheet (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''})`
          : `${incomplete} sample-sheet row(s) mix our uploads with others`;
      throw new AssignTimeoutError(
        `Assignment to project ${params.projectId} did not happen: ${what} within ${Math.round((params.windowMs ?? DEFAULT_ASSIGN_WINDOW_MS) / 1000)} s. The files are uploaded under ${params.destinationFolder}; retry the job or assign them later.`,
        names,
      );
    }
    log(
      'debug',
      `${tag}: sample sheet not ready (${missing.length} upload(s) missing, ${incomplete} mixed row(s)), polling again in ${delay} ms`,
    );
    await sleep(delay, params.signal);
  }
}

function collectAssigned(batches: AssignmentBatchRecord[]): AssignedSample[] {
  const result: AssignedSample[] = [];
  for (const batch of batches) {
    if (batch.state !== 'sent') {
      continue;
    }
    const response = batch.response as Partial<AssignResponse> | null;
    for (const entry of response?.uploads ?? []) {
      if (entry && typeof entry.sample === 'string') {
        result.push({ clientId: entry.client_id, sampleId: entry.sample });
      }
    }
  }
  return result;
}

/** The upload ids a sample-sheet row names (r1, and r2 when present). */
export function rowUploadIds(row: SampleSheetRow): string[] {
  // Typed as required, but a platform row may hold a lone R2.
  const fastq = row.fastq as {
    r1?: { upload?: string } | null;
    r2?: { upload?: string } | null;
  };
  const ids: string[] = [];
  if (fastq.r1?.upload) {
    ids.push(fastq.r1.upload);
  }
  if (fastq.r2?.upload) {
    ids.push(fastq.r2.upload);
  }
  return ids;
}
