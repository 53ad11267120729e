/**
 * The single-object operations: PutObject, GetObject (with Range and
 * conditional headers), HeadObject and DeleteObject.
 */

import { pipeline } from 'node:stream/promises';

import { headerOf } from './http-headers.ts';
import { checksumHeaderName, type ChecksumAlgorithm } from './checksums.ts';
import {
  etagMatches,
  type ObjectMeta,
  type WriteCondition,
} from './object-store.ts';
import {
  contentHeadersOf,
  notifyStored,
  planUpload,
  quoteEtag,
  receiveToTempFile,
  rejectCopySource,
  sendEmpty,
  type S3Context,
} from './s3-context.ts';
import { s3Errors } from './s3-error.ts';

/** putObject stores the request body as the object (PUT /bucket/key). */
export async function putObject(ctx: S3Context, key: string): Promise<void> {
  rejectCopySource(ctx, 'PutObject');
  const condition = writeConditionOf(ctx);
  const content = contentHeadersOf(ctx.req);
  const plan = planUpload(ctx);

  const { tempPath, body } = await receiveToTempFile(ctx, plan);
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  if (body.clientAlgorithm) {
    checksums[body.clientAlgorithm] = body.checksums[body.clientAlgorithm];
  }
  const stored = await ctx.objects.commit(
    ctx.bucket,
    key,
    tempPath,
    {
      ...content,
      bucket: ctx.bucket,
      key,
      etag: body.md5Hex,
      checksums,
      checksumType: body.clientAlgorithm ? 'FULL_OBJECT' : undefined,
    },
    condition,
  );
  throwIfRefused(stored, key);

  notifyStored(ctx, ctx.bucket, key, stored.size);
  const headers: Record<string, string> = { ETag: quoteEtag(stored.etag) };
  if (body.clientAlgorithm) {
    headers[checksumHeaderName(body.clientAlgorithm)] =
      checksums[body.clientAlgorithm]!;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  sendEmpty(ctx, 200, headers);
}

/**
 * writeConditionOf reads If-None-Match / If-Match of a write. S3 supports
 * only `If-None-Match: *` for writes.
 */
export function writeConditionOf(ctx: S3Context): WriteCondition {
  const ifNoneMatch = ctx.req.headers['if-none-match'];
  const ifMatch = ctx.req.headers['if-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw s3Errors.notImplemented(
      'A header you provided implies functionality that is not implemented: If-None-Match on a write accepts only "*".',
    );
  }
  return {
    ifNoneMatchAny: ifNoneMatch !== undefined,
    ifMatch: ifMatch ?? undefined,
  };
}

/** throwIfRefused turns a refused conditional commit into S3's error. */
export function throwIfRefused(
  stored: ObjectMeta | 'exists' | 'etag-mismatch' | 'missing',
  key: string,
): asserts stored is ObjectMeta {
  if (stored === 'exists') {
    throw s3Errors.preconditionFailed('If-None-Match');
  }
  if (stored === 'etag-mismatch') {
    throw s3Errors.preconditionFailed('If-Match');
  }
  if (stored === 'missing') {
    throw s3Errors.noSuchKey(key);
  }
}

/**
 * getObject answers GET and HEAD of an object: 200 with the whole object,
 * 206 with one satisfiable byte range, 304/412 for conditional requests, 416
 * for a range past the end.
 */
export async function getObject(
  ctx: S3Context,
  key: string,
  isHead: boolean,
): Promise<void> {
  if (ctx.query.has('partNumber')) {
    throw s3Errors.notImplemented(
      'GetObject and HeadObject with partNumber are not implemented by the sandbox.',
    );
  }
  const opened = await ctx.objects.open(ctx.bucket, key);
  if (!opened) {
    throw s3Errors.noSuchKey(key);
  }
  let isStreaming = false;
  try {
    const { meta } = opened;
    const precondition = checkReadConditions(ctx, meta);
    if (precondition === 304) {
      sendEmpty(ctx, 304, {
        ETag: quoteEtag(meta.etag),
        'Last-Modified': httpDate(meta.lastModified),
      });
      return;
    }

    const rangeHeader = ctx.req.headers.range;
    const range =
      rangeHeader === undefined
        ? undefined
        : parseRange(rangeHeader, meta.size);
    if (range === 'unsatisfiable') {
      throw s3Errors.invalidRange(meta.size, rangeHeader!);
    }

    const headers = objectHeaders(ctx, meta, range === undefined);
    const start = range?.start ?? 0;
    const end = range?.end ?? meta.size - 1;
    const length = meta.size === 0 ? 0 : end - start + 1;
    headers['Content-Length'] = String(length);
    if (range) {
      headers['Content-Range'] = `bytes ${start}-${end}/${meta.size}`;
    }
    ctx.res.writeHead(range ? 206 : 200, headers);
    if (isHead || length === 0) {
      ctx.res.end();
      return;
    }
    isStreaming = true;
    try {
      await pipeline(ctx.objects.readStream(opened, start, end), ctx.res);
    } catch {
      // The client went away mid-download; nothing more to tell it.
      ctx.res.destroy();
    }
  } finally {
    if (!isStreaming) {
      await opened.handle.close();
    }
  }
}

/** The response headers of GET/HEAD, with response-* overrides applied. */
function objectHeaders(
  ctx: S3Context,
  meta: ObjectMeta,
  isWholeObject: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': meta.contentType,
    ETag: quoteEtag(meta.etag),
    'Last-Modified': httpDate(meta.lastModified),
    'Accept-Ranges': 'bytes',
  };
  const optional: Array<[string, string | undefined]> = [
    ['Content-Encoding', meta.contentEncoding],
    ['Content-Disposition', meta.contentDisposition],
    ['Content-Language', meta.contentLanguage],
    ['Cache-Control', meta.cacheControl],
    ['Expires', meta.expires],
  ];
  for (const [name, value] of optional) {
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  for (const [name, value] of Object.entries(meta.userMetadata)) {
    headers[`x-amz-meta-${name}`] = value;
  }
  const overrides: Array<[string, string]> = [
    ['response-content-type', 'Content-Type'],
    ['response-content-language', 'Content-Language'],
    ['response-expires', 'Expires'],
    ['response-cache-control', 'Cache-Control'],
    ['response-content-disposition', 'Content-Disposition'],
    ['response-content-encoding', 'Content-Encoding'],
  ];
  for (const [param, name] of overrides) {
    const value = ctx.query.get(param);
    if (value !== undefined) {
      headers[name] = value;
    }
  }
  // S3 reports stored checksums only when asked, and only for whole objects.
  const wantsChecksums =
    (headerOf(ctx.req.headers, 'x-amz-checksum-mode') ?? '').toUpperCase() ===
    'ENABLED';
  if (wantsChecksums && isWholeObject) {
    for (const [algorithm, value] of Object.entries(meta.checksums)) {
      headers[checksumHeaderName(algorithm as ChecksumAlgorithm)] = value;
    }
    if (meta.checksumType && Object.keys(meta.checksums).length > 0) {
      headers['x-amz-checksum-type'] = meta.checksumType;
    }
  }
  return headers;
}

/**
 * checkReadConditions applies If-Match, If-Unmodified-Since (412) and
 * If-None-Match, If-Modified-Since (304) with S3's precedence: a matching
 * If-Match overrides If-Unmodified-Since, a failing If-None-Match overrides
 * If-Modified-Since.
 */
function checkReadConditions(
  ctx: S3Context,
  meta: ObjectMeta,
): 304 | undefined {
  const headers = ctx.req.headers;
  const modifiedSeconds = Math.floor(Date.parse(meta.lastModified) / 1000);
  const since = (name: string): number | undefined => {
    const value = headers[name];
    const ms = typeof value === 'string' ? Date.parse(value) : NaN;
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  };
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, meta.etag)) {
      throw s3Errors.preconditionFailed('If-Match');
    }
  } else {
    const unmodifiedSince = since('if-unmodified-since');
    if (unmodifiedSince !== undefined && modifiedSeconds > unmodifiedSince) {
      throw s3Errors.preconditionFailed('If-Unmodified-Since');
    }
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    return etagMatches(ifNoneMatch, meta.etag) ? 304 : undefined;
  }
  const modifiedSince = since('if-modified-since');
  if (modifiedSince !== undefined && modifiedSeconds <= modifiedSince) {
    return 304;
  }
  return undefined;
}

/**
 * parseRange reads a single `bytes=` range against an object of `size`
 * bytes. Returns the inclusive byte span, 'unsatisfiable' (416), or
 * undefined when the header is not a single valid byte range (which HTTP
 * says to ignore, serving the whole object).
 */
export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) {
    return undefined;
  }
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) {
      return 'unsatisfiable';
    }
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  if (match[2] !== '' && Number(match[2]) < start) {
    return undefined;
  }
  if (start >= size) {
    return 'unsatisfiable';
  }
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return { start, end };
}

/** deleteObject removes the object; S3 answers 204 even for a missing key. */
export async function deleteObject(ctx: S3Context, key: string): Promise<void> {
  await ctx.objects.delete(ctx.bucket, key);
  sendEmpty(ctx, 204);
}

function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}
