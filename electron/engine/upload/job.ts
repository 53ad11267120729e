/**
 * The upload job worker: uploads every object of a plan (bounded number of
 * files at once), then assigns the batch to the project when one was given.
 * The scheduler runs it; the engine turns its callbacks into snapshots.
 */
import type { S3Client } from '@aws-sdk/client-s3';

import {
  CancelledError,
  classify,
  isCancellation,
  toUserMessage,
} from '../errors.ts';
import { JobFailure, toJobError } from '../scheduler.ts';
import type { Limiter } from '../scheduler.ts';
import { assignUploads, AssignTimeoutError } from './assign.ts';
import type { AssignApi, AssignedSample } from './assign.ts';
import type { CheckedParts } from './checkedParts.ts';
import { ContentError, LocalFileError } from './checkedRead.ts';
import type { ChecksumAlgorithm } from './checkedRead.ts';
import type { RefreshingCredentials } from './credentials.ts';
import type { UploadStore } from './store.ts';
import type {
  LogFn,
  UploadObjectResult,
  UploadSlotApi,
} from './uploader.ts';
import type {
  PlannedRead,
  PlannedSample,
  UploadPlan,
} from '../../../shared/domain.ts';

/** What an upload job's journal request holds. */
export interface UploadJobRequest {
  plan: UploadPlan;
  projectId?: string;
  /** Any JSON value; null when not given. */
  metadata?: unknown;
}

/** One object of the job, as the plan describes it. */
export interface PlannedObject {
  clientId: string;
  read: PlannedRead;
}

/** File-level events of a running upload job. */
export interface UploadJobEvents {
  onObjectState(
    destination: string,
    state: 'running' | 'done' | 'skipped' | 'failed',
    error?: string,
  ): void;
  onBytes(destination: string, bytes: number, isResumed: boolean): void;
}

export interface UploadJobParams {
  jobId: string;
  request: UploadJobRequest;
  client: UploadSlotApi & AssignApi;
  store: UploadStore;
  /**
   * Gives the S3 client (created once per engine, on first use) and the
   * checksum algorithm for new uploads (default CRC32).
   */
  getS3: () => Promise<{
    s3: S3Client;
    credentials: RefreshingCredentials;
    checksumAlgorithm?: ChecksumAlgorithm;
  }>;
  signal: AbortSignal;
  events: UploadJobEvents;
  fileConcurrency?: number;
  /** Shared bound on files in flight across jobs (optional). */
  fileLimiter?: Limiter;
  partConcurrency?: number;
  partSize?: number;
  /** Part checksums from the plan's content check (see uploader.ts). */
  checkedParts?: CheckedParts;
  assignWindowMs?: number;
  log?: LogFn;
}

/**
 * plannedObjects lists the objects of a plan: R1 then R2 of every sample
 * with `included: true`, in plan order.
 */
export function plannedObjects(plan: UploadPlan): PlannedObject[] {
  const objects: PlannedObject[] = [];
  for (const sample of plan.samples as PlannedSample[]) {
    if (!sample.included) {
      continue;
    }
    for (const read of [sample.r1, sample.r2]) {
      if (read) {
        objects.push({ clientId: sample.clientId, read });
      }
    }
  }
  return objects;
}

/**
 * runUploadJob uploads what is left of the job and assigns it. Resolves with
 * the samples the assignment created (empty without a project).
 *
 * Throws CancelledError when `signal` aborts; JobFailure when objects
 * failed (retryable only when every object's error was) or when the sample
 * sheet did not show the uploads in time; the assignment's own errors
 * otherwise.
 */
export async function runUploadJob(
  params: UploadJobParams,
): Promise<{ assigned: AssignedSample[] }> {
  const { jobId, request, store, signal, events } = params;
  const log = params.log ?? (() => {});
  const objects = plannedObjects(request.plan);
  const failures: { destination: string; error: unknown }[] = [];

  // A file's place is given up once its last part is stored: while S3
  // assembles the object, the next file is already being read and sent.
  const completions: Promise<void>[] = [];
  const settle = async (
    destination: string,
    finished: Promise<UploadObjectResult>,
  ): Promise<void> => {
    try {
      const result = await finished;
      events.onObjectState(destination, result.state);
    } catch (error) {
      if (isCancellation(error) || signal.aborted) {
        return;
      }
      failures.push({ destination, error });
      events.onObjectState(destination, 'failed', toUserMessage(error));
    }
  };
  await forEachLimited(
    objects,
    params.fileConcurrency ?? 2,
    async ({ read }) => {
      if (signal.aborted) {
        return;
      }
      const destination = read.destination;
      const untilPartsStored = async (): Promise<{
        finished: Promise<UploadObjectResult>;
      }> => {
        let partsStored = (): void => {};
        const stored = new Promise<void>((resolve) => {
          partsStored = resolve;
        });
        const finished = (async () => {
          const { s3, credentials, checksumAlgorithm } = await params.getS3();
          // Loaded here: it brings the AWS SDK, which only uploads need.
          const { uploadObject } = await import('./uploader.ts');
          return uploadObject({
            jobId,
            read,
            client: params.client,
            s3,
            credentials,
            store,
            signal,
            partSize: params.partSize,
            partConcurrency: params.partConcurrency,
            checksumAlgorithm,
            checkedParts: params.checkedParts,
            onStarted: () => events.onObjectState(destination, 'running'),
            onBytes: (bytes, isResumed) =>
              events.onBytes(destination, bytes, isResumed),
            onPartsStored: partsStored,
            log,
          });
        })();
        await Promise.race([stored, finished.then(ignore, ignore)]);
        return { finished };
      };
      try {
        const { finished } = params.fileLimiter
          ? await params.fileLimiter.run(untilPartsStored, signal)
          : await untilPartsStored();
        completions.push(settle(destination, finished));
      } catch (error) {
        // Only waiting for a place can fail here (the signal aborted).
        completions.push(settle(destination, Promise.reject(error)));
      }
    },
  );
  await Promise.all(completions);

  if (signal.aborted) {
    throw new CancelledError('Cancelled.', { cause: signal.reason });
  }
  if (failures.length > 0) {
    throw failureOf(failures, objects.length);
  }

  const projectId = request.projectId;
  if (!projectId) {
    return { assigned: [] };
  }
  const uploads = store
    .listObjects(jobId)
    .filter(
      (o) =>
        o.uploadId !== null && (o.state === 'done' || o.state === 'skipped'),
    )
    .map((o) => ({
      uploadId: o.uploadId as string,
      destination: o.destination,
    }));
  try {
    const assigned = await assignUploads({
      jobId,
      projectId,
      destinationFolder: request.plan.destination,
      uploads,
      metadata: request.metadata ?? null,
      client: params.client,
      store,
      signal,
      windowMs: params.assignWindowMs,
      log,
    });
    return { assigned };
  } catch (error) {
    if (error instanceof AssignTimeoutError) {
      throw new JobFailure({
        code: error.jobErrorCode,
        message: error.message,
        isRetryable: false,
        cause: error,
      });
    }
    throw error;
  }
}

function ignore(): void {}

function failureOf(
  failures: { destination: string; error: unknown }[],
  total: number,
): JobFailure {
  const first = failures[0]!;
  const isRetryable = failures.every(({ error }) => {
    if (error instanceof ContentError || error instanceof LocalFileError) {
      return false;
    }
    const action = classify(error).action;
    return action === 'retry' || action === 'retry-after';
  });
  const retryAfterMs = failures.reduce<number | null>((max, { error }) => {
    const c = classify(error);
    return c.action === 'retry-after' ? Math.max(max ?? 0, c.afterMs) : max;
  }, null);
  const summary =
    failures.length === 1
      ? toUserMessage(first.error)
      : `${failures.length} of ${total} files failed; first: ${toUserMessage(first.error)}`;
  return new JobFailure({
    code: toJobError(first.error).code,
    message: summary,
    isRetryable,
    retryAfterMs,
    cause: first.error,
  });
}

/**
 * forEachLimited runs `fn` over `items` with at most `limit` calls in
 * flight, in order of the items, and resolves when all have settled. `fn`
 * should not throw (a throw is rethrown after the others settle).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let thrown: { error: unknown } | null = null;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (error) {
        thrown ??= { error };
      }
    }
  };
  const lanes = Array.from(
    { length: Math.max(1, Math.min(Math.floor(limit), items.length)) },
    lane,
  );
  await Promise.all(lanes);
  if (thrown) {
    throw (thrown as { error: unknown }).error;
  }
}
