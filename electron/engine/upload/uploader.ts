/**
 * Uploads one PlannedRead (one sample's R1 or R2, possibly several lane and
 * chunk files) as one S3 object.
 *
 * The files are read in lane/chunk order, each through its own FASTQ gzip
 * checker, and concatenated on the fly (gzip members concatenate into a
 * valid gzip): no temporary copy. The check runs in the checker thread
 * (partChecks.ts) and gives the size and checksum of each part as its bytes
 * went through; each part is then streamed from disk with that checksum,
 * which S3 verifies, so bytes that changed after the check fail the part.
 * Memory use grows neither with the part size nor with the file size.
 *
 * Small objects go as one PutObject once the whole content was checked;
 * larger ones as a multipart upload whose parts go out in parallel, each
 * journaled when S3 accepts it, and which is completed only after the last
 * checker finished without complaint. A checker error aborts the multipart
 * upload: bad bytes never become an object.
 *
 * Resume: a journaled multipart UploadId is reused, with the checksum
 * algorithm it was opened with. ListParts confirms the journaled parts;
 * their bytes are still read (the checkers must see every byte) and
 * compared by checksum, but not sent again.
 */
import { basename } from 'node:path';
import type { Readable, Transform } from 'node:stream';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

import { DEFAULT_POLICY, TRANSFER_POLICY, withRetry } from '../backoff.ts';
import type { BackoffPolicy } from '../backoff.ts';
import { CancelledError, isCancellation, toUserMessage } from '../errors.ts';
import { inUploadOrder } from '../scan/plan.ts';
import { ContentError, LocalFileError } from './checkedRead.ts';
import type { ChecksumAlgorithm, PartDigest } from './checkedRead.ts';
import type { CheckedParts } from './checkedParts.ts';
import { startPartChecks } from './partChecks.ts';
import { FileRangeBody } from './requestHandler.ts';
import { computePartSize, DEFAULT_PART_SIZE } from './partSize.ts';
import type { RefreshingCredentials } from './credentials.ts';
import type { ObjectRecord, PartRecord, UploadStore } from './store.ts';
import type { UploadSlot } from '../api/models.ts';
import type { PlanFile, PlannedRead } from '../../../shared/domain.ts';

export {
  ContentError,
  LocalFileError,
  digestParts,
  readCheckedFiles,
} from './checkedRead.ts';
export type { ChecksumAlgorithm, PartDigest } from './checkedRead.ts';

/**
 * PartMismatchError: bytes of a part already uploaded in an earlier run
 * differ from the local file now. The multipart upload is dropped and the
 * object starts over (once, within the same call).
 */
export class PartMismatchError extends LocalFileError {}

/** The platform calls the uploader needs (GencoveClient fits). */
export interface UploadSlotApi {
  createUploadSlot(
    destinationPath: string,
    options?: { signal?: AbortSignal },
  ): Promise<UploadSlot>;
}

/** Log sink: level and message. */
export type LogFn = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
) => void;

export interface UploadObjectParams {
  jobId: string;
  read: PlannedRead;
  client: UploadSlotApi;
  s3: S3Client;
  credentials: RefreshingCredentials;
  store: UploadStore;
  signal: AbortSignal;
  /** Smallest part size (default 16 MiB); grows for very large objects. */
  partSize?: number;
  /** Parts in flight at once (default 4). */
  partConcurrency?: number;
  /**
   * The checksum sent with new objects and multipart uploads (default
   * CRC32); a multipart upload resumed from the journal keeps its own.
   */
  checksumAlgorithm?: ChecksumAlgorithm;
  /**
   * Called with bytes that reached S3 (monotonic sum per object).
   * `isResumed` marks bytes that were already there from an earlier run.
   */
  onBytes?: (bytes: number, isResumed: boolean) => void;
  /** Called once the object is journaled as 'uploading', before any byte. */
  onStarted?: () => void;
  /**
   * Called when every part of a multipart upload is stored and only its
   * completion is left (S3 may take a while to assemble the object); the
   * caller may start other work then. Not called for a single PutObject.
   */
  onPartsStored?: () => void;
  /**
   * Makes the content checker for one file, run in this thread (default:
   * scan's FASTQ gzip checker, run in the checker thread).
   */
  createChecker?: (label: string) => Transform;
  /**
   * Part checksums from the plan's content check: an object found there
   * unchanged is sent with them and not decompressed again.
   */
  checkedParts?: CheckedParts;
  partRetryPolicy?: BackoffPolicy;
  log?: LogFn;
}

export interface UploadObjectResult {
  /** 'skipped': the platform already had this object ("already uploaded"). */
  state: 'done' | 'skipped';
  /** The platform's upload id. */
  uploadId: string;
}

/**
 * uploadObject uploads `read` to its destination and records the outcome
 * in the journal (object state 'done' or 'skipped') before returning.
 *
 * Throws ContentError or LocalFileError (the object is marked 'failed', any
 * multipart upload aborted), CancelledError when `signal` aborts (journal
 * kept for a later resume), or the last S3 / API error after retries
 * (journal kept as well).
 */
export async function uploadObject(
  params: UploadObjectParams,
): Promise<UploadObjectResult> {
  const { jobId, read, store, signal } = params;
  const destination = read.destination;
  const log = params.log ?? (() => {});
  const tag = `Uploader/object(${jobId}:${destinationName(destination)})`;

  let object = mustGetObject(store, jobId, destination);
  if (
    (object.state === 'done' || object.state === 'skipped') &&
    object.uploadId
  ) {
    return { state: object.state, uploadId: object.uploadId };
  }

  // The client retries this request itself (it is safe to repeat).
  const slot = await params.client.createUploadSlot(destination, { signal });
  if (slot.last_status?.status === 'succeeded') {
    // 'completing' means we sent the completion and then lost track of it.
    const state = object.state === 'completing' ? 'done' : 'skipped';
    store.updateObject(jobId, destination, {
      uploadId: slot.id,
      bucket: slot.s3.bucket,
      key: slot.s3.object_name,
      state,
      error: null,
    });
    log(
      'info',
      `${tag}: ${state === 'skipped' ? 'already uploaded, skipped' : 'done'}`,
    );
    params.onBytes?.(read.size, true);
    return { state, uploadId: slot.id };
  }

  const isSameTarget =
    object.bucket === slot.s3.bucket && object.key === slot.s3.object_name;
  const isRestart = object.state === 'failed' || !isSameTarget;
  object = store.updateObject(jobId, destination, {
    uploadId: slot.id,
    bucket: slot.s3.bucket,
    key: slot.s3.object_name,
    state: 'uploading',
    error: null,
    ...(isRestart ? { multipartId: null, partSize: null } : {}),
  });
  params.onStarted?.();

  const partSize =
    object.partSize ??
    computePartSize(read.size, params.partSize ?? DEFAULT_PART_SIZE);
  const context: ObjectContext = {
    ...params,
    object,
    partSize,
    bucket: slot.s3.bucket,
    key: slot.s3.object_name,
    log,
    tag,
    files: inUploadOrder(read.files),
    customChecker: params.createChecker,
    preferredAlgorithm: params.checksumAlgorithm ?? 'CRC32',
    partConcurrency: Math.max(1, params.partConcurrency ?? 4),
    partRetryPolicy: params.partRetryPolicy ?? TRANSFER_POLICY,
    reported: 0,
  };

  try {
    try {
      await putObjectOrParts(context);
    } catch (err) {
      if (!(err instanceof PartMismatchError)) {
        throw err;
      }
      log('warn', `${tag}: ${err.message}; starting this object over`);
      const fresh = mustGetObject(store, jobId, destination);
      await putObjectOrParts({
        ...context,
        object: fresh,
        partSize: computePartSize(
          read.size,
          params.partSize ?? DEFAULT_PART_SIZE,
        ),
      });
    }
  } catch (err) {
    if (err instanceof ContentError || err instanceof LocalFileError) {
      store.updateObject(jobId, destination, {
        state: 'failed',
        error: err.message,
      });
      // The log gets the file's name, not its full local path.
      log(
        'error',
        `${tag}: ${err.message.split(err.path).join(basename(err.path))}`,
      );
    } else if (isCancellation(err) || signal.aborted) {
      throw new CancelledError('Cancelled.', { cause: err });
    }
    throw err;
  }
  store.updateObject(jobId, destination, { state: 'done', error: null });
  log('info', `${tag}: uploaded ${read.size} bytes`);
  return { state: 'done', uploadId: slot.id };
}

function putObjectOrParts(ctx: ObjectContext): Promise<void> {
  return ctx.read.size < ctx.partSize && ctx.object.multipartId === null
    ? putSingle(ctx)
    : putMultipart(ctx);
}

interface ObjectContext extends UploadObjectParams {
  object: ObjectRecord;
  partSize: number;
  bucket: string;
  key: string;
  log: LogFn;
  tag: string;
  files: PlanFile[];
  /** The checker the caller gave, if any (checked in this thread then). */
  customChecker: ((label: string) => Transform) | undefined;
  /** The checksum of new uploads. */
  preferredAlgorithm: ChecksumAlgorithm;
  partConcurrency: number;
  partRetryPolicy: BackoffPolicy;
  /** Bytes reported through onBytes so far (kept monotonic). */
  reported: number;
}

/**
 * Checks the whole object (the single digest comes only once every file
 * passed), then sends it as one PutObject streamed from disk.
 */
async function putSingle(ctx: ObjectContext): Promise<void> {
  const size = ctx.read.size;
  // One part: the whole object (an empty one still has one empty part).
  const partSize = Math.max(1, size);
  const checks = startPartChecks({
    files: ctx.files,
    partSize,
    algorithm: ctx.preferredAlgorithm,
    known: await knownDigests(ctx, partSize, ctx.preferredAlgorithm),
    signal: ctx.signal,
    createChecker: ctx.customChecker,
    onFallback: (reason) => logFallback(ctx, reason),
  });
  let digest: PartDigest | undefined;
  try {
    for await (const part of checks.digests) {
      digest = part;
    }
  } finally {
    await checks.close();
  }
  if (!digest) {
    throw new Error(
      `The content check of ${ctx.read.destination} gave no digest`,
    );
  }
  // Every checker has finished without error: the content is valid.
  ctx.store.updateObject(ctx.jobId, ctx.read.destination, {
    state: 'completing',
  });
  await sendChecked(ctx, 'PutObject', 0, size, ctx.signal, (body, signal) =>
    ctx.s3.send(
      new PutObjectCommand({
        Bucket: ctx.bucket,
        Key: ctx.key,
        Body: body,
        ContentLength: size,
        ...checksumField(ctx.preferredAlgorithm, digest.checksum),
      }),
      { abortSignal: signal },
    ),
  );
  report(ctx, size, false);
}

/**
 * The part digests the plan's check already computed for this object, or
 * undefined when the upload must check the content itself.
 */
async function knownDigests(
  ctx: ObjectContext,
  partSize: number,
  algorithm: ChecksumAlgorithm,
): Promise<PartDigest[] | undefined> {
  if (!ctx.checkedParts || ctx.customChecker) {
    return undefined;
  }
  const known = await ctx.checkedParts.take(ctx.files, partSize, algorithm);
  if (known) {
    ctx.log('debug', `${ctx.tag}: content checked by the plan, not again`);
  }
  return known ?? undefined;
}

function logFallback(ctx: ObjectContext, reason: string): void {
  ctx.log(
    'warn',
    `${ctx.tag}: the content check runs in the main thread (${reason})`,
  );
}

async function putMultipart(ctx: ObjectContext): Promise<void> {
  const partsController = new AbortController();
  const onAbort = (): void => partsController.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) {
    onAbort();
  }
  const algorithm = multipartAlgorithm(ctx);
  const known = await knownDigests(ctx, ctx.partSize, algorithm);
  // Started first: the check runs while S3 opens the multipart upload.
  const checks = startPartChecks({
    files: ctx.files,
    partSize: ctx.partSize,
    algorithm,
    known,
    signal: partsController.signal,
    lookahead: ctx.partConcurrency,
    createChecker: ctx.customChecker,
    onFallback: (reason) => logFallback(ctx, reason),
  });
  try {
    await sendParts(ctx, checks.digests, partsController);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await checks.close();
  }
}

/**
 * Sends the parts the checker reports (those S3 does not have yet), at most
 * `partConcurrency` at a time, and completes the multipart upload once the
 * check has passed.
 */
async function sendParts(
  ctx: ObjectContext,
  digests: AsyncIterable<PartDigest>,
  partsController: AbortController,
): Promise<void> {
  const { store, jobId } = ctx;
  const destination = ctx.read.destination;
  const { multipartId, confirmed, serverOnly } = await openMultipart(ctx);
  const confirmedBytes = [...confirmed.values()].reduce(
    (n, p) => n + p.size,
    0,
  );
  report(ctx, confirmedBytes, true);

  const done = new Map<number, PartRecord>(confirmed);
  const inFlight = new Set<Promise<void>>();
  let partError: { error: unknown } | null = null;

  const sendPart = async (digest: PartDigest) => {
    const etag = await uploadPart(
      ctx,
      multipartId,
      digest,
      partsController.signal,
    );
    const part: PartRecord = { ...digest, etag };
    // Journal first, report after.
    store.recordPart(jobId, destination, multipartId, part);
    done.set(digest.number, part);
    report(ctx, digest.size, false);
  };

  let loopError: { error: unknown } | null = null;
  try {
    for await (const digest of digests) {
      if (partError) {
        break;
      }
      const { number, size, checksum } = digest;
      const known = confirmed.get(number);
      if (known) {
        if (known.checksum !== checksum || known.size !== size) {
          const changed = filesInRange(
            ctx.files,
            (number - 1) * ctx.partSize,
            Math.max(size, known.size),
          );
          throw new PartMismatchError(
            changed[0]?.path ?? destination,
            `${describeFiles(changed)} changed since part ${number} of ${destinationName(destination)} was uploaded`,
          );
        }
        continue;
      }
      const onServer = serverOnly.get(number);
      if (
        onServer &&
        onServer.size === size &&
        onServer.checksum === checksum
      ) {
        // Sent before a crash but not journaled: S3 has exactly these bytes.
        const part: PartRecord = { ...digest, etag: onServer.etag };
        store.recordPart(jobId, destination, multipartId, part);
        done.set(number, part);
        report(ctx, size, true);
        continue;
      }
      while (inFlight.size >= ctx.partConcurrency && !partError) {
        await Promise.race(inFlight);
      }
      if (partError) {
        break;
      }
      const task: Promise<void> = sendPart(digest).then(
        () => {
          inFlight.delete(task);
        },
        (error: unknown) => {
          inFlight.delete(task);
          if (!partError) {
            partError = { error };
            partsController.abort(error);
          }
        },
      );
      inFlight.add(task);
    }
  } catch (error) {
    loopError = { error };
    // Stop the parts still in flight: this object will not complete now.
    partsController.abort(error);
  } finally {
    await Promise.allSettled([...inFlight]);
  }

  // A failed part stops the reading (as a cancellation): report the part's
  // error, not the side effect. Bad content always wins, since it decides
  // that the multipart upload must go.
  const failure =
    loopError &&
    (loopError.error instanceof ContentError ||
      loopError.error instanceof LocalFileError)
      ? loopError
      : (partError ?? loopError);
  if (failure) {
    const { error } = failure as { error: unknown };
    if (error instanceof ContentError || error instanceof LocalFileError) {
      await abortMultipart(ctx, multipartId);
      store.updateObject(jobId, destination, {
        multipartId: null,
        ...(error instanceof PartMismatchError ? { partSize: null } : {}),
      });
    }
    throw error;
  }
  throwIfCancelled(ctx.signal);

  // Every checker finished without error: only now may the object exist.
  const parts = [...done.values()].sort((a, b) => a.number - b.number);
  store.updateObject(jobId, destination, { state: 'completing' });
  ctx.onPartsStored?.();
  await completeMultipart(ctx, multipartId, parts);
}

/** Uploads one part with the checker's checksum; returns its ETag. */
async function uploadPart(
  ctx: ObjectContext,
  multipartId: string,
  digest: PartDigest,
  signal: AbortSignal,
): Promise<string> {
  const result = await sendChecked(
    ctx,
    `UploadPart ${digest.number}`,
    (digest.number - 1) * ctx.partSize,
    digest.size,
    signal,
    (body, s) =>
      ctx.s3.send(
        new UploadPartCommand({
          Bucket: ctx.bucket,
          Key: ctx.key,
          UploadId: multipartId,
          PartNumber: digest.number,
          Body: body,
          ContentLength: digest.size,
          ...checksumField(multipartAlgorithm(ctx), digest.checksum),
        }),
        { abortSignal: s },
      ),
  );
  if (!result.ETag) {
    throw new Error(
      `S3 accepted part ${digest.number} of ${ctx.read.destination} without an ETag`,
    );
  }
  return result.ETag;
}

/**
 * Sends `length` bytes of the object from `offset`, streamed from disk,
 * with retries (s3Call). The request carries the checksum of the bytes the
 * checker saw; S3 refusing it (BadDigest) means the bytes read now differ:
 * after one more try, that is a LocalFileError.
 */
async function sendChecked<T>(
  ctx: ObjectContext,
  what: string,
  offset: number,
  length: number,
  signal: AbortSignal,
  send: (body: Readable, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return await s3Call(
        ctx,
        what,
        ctx.partRetryPolicy,
        (abortSignal) =>
          sendWithPartBody(ctx, offset, length, abortSignal, send),
        signal,
      );
    } catch (err) {
      if (errorName(err) !== 'BadDigest' || signal.aborted) {
        throw err;
      }
      if (round === 0) {
        ctx.log(
          'debug',
          `${ctx.tag}: ${what}: S3 computed another checksum; reading the bytes again`,
        );
        continue;
      }
      // The next attempt must check the content again, not trust the plan.
      ctx.checkedParts?.forget(ctx.files);
      const changed = filesInRange(ctx.files, offset, length);
      throw new LocalFileError(
        changed[0]?.path ?? ctx.read.destination,
        `The bytes of ${describeFiles(changed)} (${what} of ${destinationName(ctx.read.destination)}) changed between the content check and the upload: is a file still being written?`,
        { cause: err },
      );
    }
  }
}

/**
 * Runs `send` with a fresh stream of the part's bytes. A read error of
 * the stream aborts the request and is what this throws.
 */
async function sendWithPartBody<T>(
  ctx: ObjectContext,
  offset: number,
  length: number,
  signal: AbortSignal,
  send: (body: Readable, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const attempt = new AbortController();
  const onAbort = (): void => attempt.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) {
    onAbort();
  }
  const body = new FileRangeBody(ctx.files, offset, length);
  let bodyError: { error: unknown } | null = null;
  body.once('error', (error) => {
    bodyError = { error };
    attempt.abort(error);
  });
  try {
    return await send(body, attempt.signal);
  } catch (err) {
    throw bodyError ? (bodyError as { error: unknown }).error : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    body.destroy();
  }
}

/** Opens (or reopens from the journal) the object's multipart upload. */
async function openMultipart(ctx: ObjectContext): Promise<{
  multipartId: string;
  confirmed: Map<number, PartRecord>;
  serverOnly: Map<
    number,
    { size: number; etag: string; checksum: string | null }
  >;
}> {
  const { store, jobId } = ctx;
  const destination = ctx.read.destination;
  const confirmed = new Map<number, PartRecord>();
  const serverOnly = new Map<
    number,
    { size: number; etag: string; checksum: string | null }
  >();
  const existing = ctx.object.multipartId;
  if (existing) {
    const onServer = await listServerParts(ctx, existing);
    if (onServer) {
      for (const part of store.listParts(jobId, destination, existing)) {
        const server = onServer.get(part.number);
        if (
          server &&
          server.size === part.size &&
          sameEtag(server.etag, part.etag)
        ) {
          confirmed.set(part.number, part);
          onServer.delete(part.number);
        } else {
          store.deletePart(jobId, destination, part.number);
        }
      }
      for (const [number, server] of onServer) {
        serverOnly.set(number, server);
      }
      ctx.log(
        'debug',
        `${ctx.tag}: resuming multipart upload with ${confirmed.size} part(s) already stored`,
      );
      return { multipartId: existing, confirmed, serverOnly };
    }
    ctx.log(
      'warn',
      `${ctx.tag}: the earlier multipart upload is gone, starting over`,
    );
  }
  const created = await s3Call(
    ctx,
    'CreateMultipartUpload',
    DEFAULT_POLICY,
    (abortSignal) =>
      ctx.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: ctx.bucket,
          Key: ctx.key,
          ChecksumAlgorithm: multipartAlgorithm(ctx),
        }),
        { abortSignal },
      ),
  );
  if (!created.UploadId) {
    throw new Error(`S3 did not return an UploadId for ${destination}`);
  }
  store.updateObject(jobId, destination, {
    multipartId: created.UploadId,
    partSize: ctx.partSize,
    checksumAlgorithm: multipartAlgorithm(ctx),
  });
  return { multipartId: created.UploadId, confirmed, serverOnly };
}

/**
 * Lists the parts S3 holds for `multipartId`; null when the multipart upload
 * no longer exists.
 */
async function listServerParts(
  ctx: ObjectContext,
  multipartId: string,
): Promise<Map<
  number,
  { size: number; etag: string; checksum: string | null }
> | null> {
  const parts = new Map<
    number,
    { size: number; etag: string; checksum: string | null }
  >();
  let marker: string | undefined;
  try {
    for (;;) {
      const page = await s3Call(
        ctx,
        'ListParts',
        DEFAULT_POLICY,
        (abortSignal) =>
          ctx.s3.send(
            new ListPartsCommand({
              Bucket: ctx.bucket,
              Key: ctx.key,
              UploadId: multipartId,
              ...(marker !== undefined ? { PartNumberMarker: marker } : {}),
            }),
            { abortSignal },
          ),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber === undefined || !part.ETag) {
          continue;
        }
        parts.set(part.PartNumber, {
          size: part.Size ?? -1,
          etag: part.ETag,
          checksum:
            (multipartAlgorithm(ctx) === 'CRC32'
              ? part.ChecksumCRC32
              : part.ChecksumSHA256) ?? null,
        });
      }
      if (!page.IsTruncated || !page.NextPartNumberMarker) {
        break;
      }
      marker = page.NextPartNumberMarker;
    }
  } catch (err) {
    if (errorName(err) === 'NoSuchUpload') {
      return null;
    }
    throw err;
  }
  return parts;
}

async function completeMultipart(
  ctx: ObjectContext,
  multipartId: string,
  parts: PartRecord[],
): Promise<void> {
  try {
    await s3Call(
      ctx,
      'CompleteMultipartUpload',
      DEFAULT_POLICY,
      (abortSignal) =>
        ctx.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: ctx.bucket,
            Key: ctx.key,
            UploadId: multipartId,
            MultipartUpload: {
              Parts: parts.map((part) => ({
                PartNumber: part.number,
                ETag: part.etag,
                ...checksumField(multipartAlgorithm(ctx), part.checksum),
              })),
            },
          }),
          { abortSignal },
        ),
    );
  } catch (err) {
    // An earlier attempt may have completed it before its answer was lost.
    if (errorName(err) === 'NoSuchUpload' && (await objectHasSize(ctx))) {
      return;
    }
    throw err;
  }
}

async function objectHasSize(ctx: ObjectContext): Promise<boolean> {
  try {
    const head = await ctx.s3.send(
      new HeadObjectCommand({ Bucket: ctx.bucket, Key: ctx.key }),
      { abortSignal: ctx.signal },
    );
    return head.ContentLength === ctx.read.size;
  } catch {
    return false;
  }
}

/** Aborts a multipart upload, best effort (a leftover only costs storage). */
async function abortMultipart(
  ctx: ObjectContext,
  multipartId: string,
): Promise<void> {
  try {
    await withRetry(
      () =>
        ctx.s3.send(
          new AbortMultipartUploadCommand({
            Bucket: ctx.bucket,
            Key: ctx.key,
            UploadId: multipartId,
          }),
        ),
      {
        policy: { ...DEFAULT_POLICY, maxAttempts: 3 },
        reauth: async () => {
          await ctx.credentials.forceRefresh();
        },
      },
    );
  } catch (err) {
    if (errorName(err) !== 'NoSuchUpload') {
      ctx.log(
        'warn',
        `${ctx.tag}: could not abort the multipart upload: ${toUserMessage(err)}`,
      );
    }
  }
}

/**
 * One S3 request with retries: backoff for retryable errors, a forced
 * credential refresh for expired ones (then the same request again, in the
 * same multipart upload).
 */
function s3Call<T>(
  ctx: ObjectContext,
  what: string,
  policy: BackoffPolicy,
  send: (abortSignal: AbortSignal) => Promise<T>,
  signal: AbortSignal = ctx.signal,
): Promise<T> {
  return withRetry(() => send(signal), {
    policy,
    signal,
    reauth: async () => {
      ctx.log('debug', `${ctx.tag}: ${what}: credentials expired, refreshing`);
      await ctx.credentials.forceRefresh();
    },
    onRetry: (info) =>
      ctx.log(
        'debug',
        `${ctx.tag}: ${what} attempt ${info.attempt}/${policy.maxAttempts} failed (${toUserMessage(info.error)}), retrying in ${info.delayMs} ms`,
      ),
  });
}

function report(ctx: ObjectContext, bytes: number, isResumed: boolean): void {
  if (bytes <= 0) {
    return;
  }
  const capped = Math.min(bytes, ctx.read.size - ctx.reported);
  if (capped <= 0) {
    return;
  }
  ctx.reported += capped;
  ctx.onBytes?.(capped, isResumed);
}

/** The files of an object that hold some of its bytes [offset, offset + length). */
function filesInRange(
  files: readonly PlanFile[],
  offset: number,
  length: number,
): PlanFile[] {
  const found: PlanFile[] = [];
  let start = 0;
  for (const file of files) {
    const end = start + file.size;
    if (end > offset && start < offset + Math.max(1, length)) {
      found.push(file);
    }
    start = end;
  }
  return found;
}

/** "A.fastq.gz" or "A.fastq.gz or B.fastq.gz" (file names, not paths). */
function describeFiles(files: readonly PlanFile[]): string {
  const names = files.map((f) => basename(f.path));
  return names.length === 0 ? 'the local files' : names.join(' or ');
}

function mustGetObject(
  store: UploadStore,
  jobId: string,
  destination: string,
): ObjectRecord {
  const object = store.getObject(jobId, destination);
  if (!object) {
    throw new Error(`Job ${jobId} has no object ${destination} in the journal`);
  }
  return object;
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) {
    throw new CancelledError('Cancelled.', { cause: signal.reason });
  }
}

function errorName(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { name, Code } = err as { name?: unknown; Code?: unknown };
    if (typeof Code === 'string') {
      return Code;
    }
    if (typeof name === 'string') {
      return name;
    }
  }
  return '';
}

function sameEtag(a: string, b: string): boolean {
  return a.replace(/"/g, '') === b.replace(/"/g, '');
}

/**
 * The checksum algorithm of the object's multipart upload: its journaled
 * one when it has an open upload, else the one for new uploads.
 */
function multipartAlgorithm(ctx: ObjectContext): ChecksumAlgorithm {
  return ctx.object.multipartId !== null
    ? (ctx.object.checksumAlgorithm ?? 'SHA256')
    : ctx.preferredAlgorithm;
}

/** The request field that carries `checksum` (base64) of `algorithm`. */
function checksumField(
  algorithm: ChecksumAlgorithm,
  checksum: string,
): { ChecksumCRC32: string } | { ChecksumSHA256: string } {
  return algorithm === 'CRC32'
    ? { ChecksumCRC32: checksum }
    : { ChecksumSHA256: checksum };
}

/** The last path segment of a gncv:// destination, for log lines. */
export function destinationName(destination: string): string {
  const at = destination.lastIndexOf('/');
  return at === -1 ? destination : destination.slice(at + 1);
}
