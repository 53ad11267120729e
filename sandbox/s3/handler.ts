/**
 * The sandbox's S3-compatible endpoint (path style, e.g.
 * `PUT /<bucket>/<key>`), mounted by the sandbox server for every request
 * outside `/api/` and `/downloads/`. It authenticates every request with AWS
 * Signature V4 against the temporary credentials the sandbox issued, and
 * implements PutObject, the multipart operations, HeadObject, GetObject (with
 * Range), DeleteObject and HeadBucket, answering errors with S3's XML bodies,
 * codes and statuses. State lives under rootDir and survives restarts.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
} from './multipart-operations.ts';
import { MultipartStore, UploadGoneError } from './multipart-store.ts';
import { deleteObject, getObject, putObject } from './object-operations.ts';
import {
  bucketNameProblem,
  objectKeyProblem,
  ObjectConflictError,
  objectPath as storedObjectPath,
  ObjectStore,
  MAX_KEY_BYTES,
} from './object-store.ts';
import { ClientGoneError } from './request-body.ts';
import {
  sendEmpty,
  type ResolvedS3Options,
  type S3Context,
} from './s3-context.ts';
import { renderErrorXml, S3Error, s3Errors } from './s3-error.ts';
import { parseQuery, percentDecode, verifyRequestSignature } from './sigv4.ts';

/** The secret side of credentials issued by upload-credentials. */
export interface S3Credentials {
  secretAccessKey: string;
  /**
   * The session token requests must carry (X-Amz-Security-Token). An empty
   * string marks long-term credentials: requests must then carry no token.
   */
  sessionToken: string;
  /** From this instant on, requests fail with 400 ExpiredToken. */
  expiresAt: Date;
  /**
   * When set, the credentials reach only keys starting with this prefix (as
   * an STS session policy scopes temporary credentials to one area); any
   * other key is refused with 403 AccessDenied.
   */
  keyPrefix?: string;
}

/** Options of createS3Handler. */
export interface S3HandlerOptions {
  /** Objects are stored under rootDir/<bucket>/<key> (keys may contain '/'). */
  rootDir: string;
  /** Known bucket names; requests for others get 404 NoSuchBucket. */
  buckets: string[];
  /** The credentials of an access key id, or undefined when unknown. */
  lookupCredentials(accessKeyId: string): S3Credentials | undefined;
  /**
   * Called after PutObject or CompleteMultipartUpload has durably stored an
   * object, before the client gets its answer. If it throws, the client gets
   * 500 InternalError (the object stays stored), so a retry calls it again.
   */
  onObjectStored(bucket: string, key: string, size: number): void;
  /** The clock for signature, skew and expiry checks (default: real time). */
  now?: () => Date;
  /** Reserved for later fault injection; ignored for now. */
  faults?: unknown;
  /** Smallest size of every part but the last (default 5 MiB, as S3). */
  minPartSize?: number;
  /** The region signatures must be scoped to (default 'us-east-1'). */
  region?: string;
  /**
   * How a hard link is made (default: the file system's). A file system
   * without hard links fails with EPERM or ENOTSUP; Complete then copies.
   */
  linkFile?: (existingPath: string, newPath: string) => Promise<void>;
}

/** S3's minimum part size. */
export const DEFAULT_MIN_PART_SIZE = 5 * 1024 * 1024;

/** Bytes of an unread request body discarded after an error before closing. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * objectPath returns where the object `bucket`/`key` is stored under
 * `rootDir` (rootDir/<bucket>/<key segments>). Throws an Error naming the
 * problem when the key cannot be a file path (empty, '.' or '..' segments,
 * control characters, backslashes, or over 1024 bytes); the result is always
 * inside rootDir.
 */
export function objectPath(
  rootDir: string,
  bucket: string,
  key: string,
): string {
  return storedObjectPath(rootDir, bucket, key);
}

/**
 * createS3Handler returns the request listener of the S3 endpoint. It
 * creates its folders under rootDir at once and throws for invalid options
 * (an unusable bucket name, a bad minPartSize). The listener never throws:
 * every failure becomes an S3 error response.
 */
export function createS3Handler(
  opts: S3HandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof opts.rootDir !== 'string' || opts.rootDir === '') {
    throw new Error('createS3Handler: rootDir must be a non-empty path.');
  }
  for (const bucket of opts.buckets) {
    const problem = bucketNameProblem(bucket);
    if (problem) {
      throw new Error(
        `createS3Handler: bucket "${bucket}" is not usable: ${problem}.`,
      );
    }
  }
  const minPartSize = opts.minPartSize ?? DEFAULT_MIN_PART_SIZE;
  if (!Number.isSafeInteger(minPartSize) || minPartSize < 1) {
    throw new Error(
      `createS3Handler: minPartSize must be a positive integer, got ${String(opts.minPartSize)}.`,
    );
  }

  const now = opts.now ?? (() => new Date());
  const objects = new ObjectStore(opts.rootDir, now);
  objects.ensureBucketFolders(opts.buckets);
  const uploads = new MultipartStore(
    opts.rootDir,
    objects.tmpDir,
    now,
    opts.linkFile,
  );
  const buckets = new Set(opts.buckets);
  const options: ResolvedS3Options = {
    minPartSize,
    region: opts.region ?? 'us-east-1',
    now,
    onObjectStored: (bucket, key, size) =>
      opts.onObjectStored(bucket, key, size),
  };

  const endpoint: Endpoint = {
    objects,
    uploads,
    buckets,
    options,
    lookup: (accessKeyId) => opts.lookupCredentials(accessKeyId),
  };

  return (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const hostId = randomBytes(24).toString('base64');
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);
    res.setHeader('Server', 'GencoveSandboxS3');
    handle(req, res, requestId, endpoint).catch((error: unknown) => {
      try {
        sendFailure(req, res, error, requestId, hostId);
      } catch {
        res.destroy();
      }
    });
  };
}

interface Endpoint {
  objects: ObjectStore;
  uploads: MultipartStore;
  buckets: Set<string>;
  options: ResolvedS3Options;
  lookup: S3HandlerOptions['lookupCredentials'];
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  endpoint: Endpoint,
): Promise<void> {
  const url = req.url ?? '/';
  if (!url.startsWith('/')) {
    throw s3Errors.invalidUri();
  }
  const mark = url.indexOf('?');
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const rawQuery = mark === -1 ? '' : url.slice(mark + 1);

  const auth = verifyRequestSignature(
    {
      method: req.method ?? 'GET',
      rawPath,
      rawQuery,
      headers: req.headersDistinct,
    },
    {
      lookupCredentials: endpoint.lookup,
      now: endpoint.options.now(),
      region: endpoint.options.region,
    },
  );

  const slash = rawPath.indexOf('/', 1);
  const bucket = percentDecode(
    slash === -1 ? rawPath.slice(1) : rawPath.slice(1, slash),
  );
  const rawKey = slash === -1 ? '' : rawPath.slice(slash + 1);
  const key = rawKey === '' ? undefined : percentDecode(rawKey);
  if (bucket === '') {
    throw s3Errors.notImplemented(
      'ListBuckets is not implemented by the sandbox.',
    );
  }
  if (!endpoint.buckets.has(bucket)) {
    throw s3Errors.noSuchBucket(bucket);
  }
  if (key !== undefined) {
    checkKey(key);
  }
  const prefix = auth.credentials.keyPrefix;
  if (prefix !== undefined && (key === undefined || !key.startsWith(prefix))) {
    throw s3Errors.accessDenied(
      'These credentials reach only their own upload area.',
    );
  }

  const query = new Map<string, string>();
  for (const [name, value] of parseQuery(rawQuery)) {
    if (!query.has(name)) {
      query.set(name, value);
    }
  }
  const ctx: S3Context = {
    req,
    res,
    requestId,
    bucket,
    key,
    query,
    auth,
    objects: endpoint.objects,
    uploads: endpoint.uploads,
    options: endpoint.options,
  };
  await route(ctx, req.method ?? 'GET');
}

function checkKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw s3Errors.keyTooLong(bytes);
  }
  const problem = objectKeyProblem(key);
  if (problem) {
    throw s3Errors.invalidArgument(
      `The sandbox stores object keys as file paths and cannot store this key: ${problem}.`,
      'key',
      key,
    );
  }
}

/** Subresources of S3 that this endpoint does not implement. */
const UNSUPPORTED_SUBRESOURCES = [
  'acl',
  'attributes',
  'legal-hold',
  'retention',
  'restore',
  'select',
  'tagging',
  'torrent',
  'versionId',
  'versions',
  'lifecycle',
  'policy',
  'cors',
  'website',
  'encryption',
  'replication',
  'notification',
  'object-lock',
];

async function route(ctx: S3Context, method: string): Promise<void> {
  for (const name of UNSUPPORTED_SUBRESOURCES) {
    if (ctx.query.has(name)) {
      throw s3Errors.notImplemented(
        `The "${name}" subresource is not implemented by the sandbox.`,
      );
    }
  }
  const { key, query } = ctx;
  const hasUploadId = query.has('uploadId');

  if (key === undefined) {
    drainBody(ctx.req);
    if (method === 'HEAD') {
      sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.options.region });
      return;
    }
    if (method === 'GET' && query.has('uploads')) {
      await listMultipartUploads(ctx);
      return;
    }
    if (method === 'GET' || method === 'PUT' || method === 'DELETE') {
      throw s3Errors.notImplemented(
        'Bucket listing and bucket management are not implemented by the sandbox.',
      );
    }
    throw s3Errors.methodNotAllowed(method, 'BUCKET');
  }

  switch (method) {
    case 'PUT':
      if (query.has('partNumber') || hasUploadId) {
        await uploadPart(ctx, key);
      } else {
        await putObject(ctx, key);
      }
      return;
    case 'POST':
      if (query.has('uploads')) {
        drainBody(ctx.req);
        await createMultipartUpload(ctx, key);
      } else if (hasUploadId) {
        await completeMultipartUpload(ctx, key);
      } else {
        throw s3Errors.methodNotAllowed(method, 'OBJECT');
      }
      return;
    case 'GET':
    case 'HEAD':
      drainBody(ctx.req);
      if (hasUploadId && method === 'GET') {
        await listParts(ctx, key);
      } else {
        await getObject(ctx, key, method === 'HEAD');
      }
      return;
    case 'DELETE':
      drainBody(ctx.req);
      if (hasUploadId) {
        await abortMultipartUpload(ctx, key);
      } else {
        await deleteObject(ctx, key);
      }
      return;
    default:
      throw s3Errors.methodNotAllowed(method, 'OBJECT');
  }
}

/** drainBody discards the body of a request whose operation takes none. */
function drainBody(req: IncomingMessage): void {
  req.resume();
}

/**
 * sendFailure answers an error. An S3Error keeps its status and code; a lost
 * client gets nothing; anything else is a 500 InternalError. The unread rest
 * of the request body is discarded so the connection can be reused, up to a
 * limit past which the connection is closed instead.
 */
function sendFailure(
  req: IncomingMessage,
  res: ServerResponse,
  failure: unknown,
  requestId: string,
  hostId: string,
): void {
  if (failure instanceof ClientGoneError || res.destroyed || res.headersSent) {
    // Nothing can be told any more: the client left, or a response (a
    // download) was already under way.
    res.destroy();
    return;
  }
  const error = toS3Error(failure);
  if (!req.complete) {
    let drained = 0;
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > MAX_DRAIN_BYTES) {
        req.socket.destroy();
      }
    });
    req.on('error', () => undefined);
    req.resume();
  }
  const isHead = req.method === 'HEAD';
  const body = isHead ? '' : renderErrorXml(error, requestId, hostId);
  res.writeHead(error.status, {
    ...error.headers,
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

function toS3Error(failure: unknown): S3Error {
  if (failure instanceof S3Error) {
    return failure;
  }
  if (failure instanceof UploadGoneError) {
    return s3Errors.noSuchUpload(failure.message);
  }
  if (failure instanceof ObjectConflictError) {
    return s3Errors.invalidArgument(failure.message, 'key');
  }
  const message = failure instanceof Error ? failure.message : String(failure);
  return s3Errors.internalError(
    `The sandbox S3 endpoint failed unexpectedly: ${message}`,
  );
}
