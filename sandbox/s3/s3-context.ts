/**
 * S3Context is what every operation of the endpoint receives: the request as
 * routed and authenticated, the stores, the options, and small helpers for
 * S3-style responses.
 */

import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { MultipartStore } from './multipart-store.ts';
import type { ObjectStore } from './object-store.ts';
import {
  planBody,
  receiveBody,
  type BodyPlan,
  type ReceivedBody,
} from './request-body.ts';
import { s3Errors } from './s3-error.ts';
import type { VerifiedAuth } from './sigv4.ts';
import { renderXmlDocument, type XmlNode } from './xml.ts';

/** The options an operation may consult, with defaults applied. */
export interface ResolvedS3Options {
  minPartSize: number;
  region: string;
  now: () => Date;
  onObjectStored(bucket: string, key: string, size: number): void;
}

/** One authenticated request, routed to a bucket and (maybe) a key. */
export interface S3Context {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  bucket: string;
  /** The object key, or undefined for a bucket-level request. */
  key: string | undefined;
  /** Decoded query parameters (first value of each name). */
  query: Map<string, string>;
  auth: VerifiedAuth;
  objects: ObjectStore;
  uploads: MultipartStore;
  options: ResolvedS3Options;
}

/** S3's limit for a single PUT and for one part: 5 GiB. */
export const MAX_SINGLE_UPLOAD = 5 * 1024 * 1024 * 1024;

/** S3's limit on x-amz-meta-* headers: 2 KiB of names and values. */
const MAX_USER_METADATA = 2048;

/** sendXml answers `status` with an S3 XML document. */
export function sendXml(
  ctx: S3Context,
  status: number,
  root: string,
  body: XmlNode,
  headers: Record<string, string> = {},
): void {
  const text = renderXmlDocument(root, body);
  ctx.res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(text),
  });
  ctx.res.end(text);
}

/** sendEmpty answers `status` with no body. */
export function sendEmpty(
  ctx: S3Context,
  status: number,
  headers: Record<string, string | number> = {},
): void {
  // HTTP forbids Content-Length on 204 and 304 answers.
  const hasLength = status !== 204 && status !== 304;
  ctx.res.writeHead(
    status,
    hasLength ? { ...headers, 'Content-Length': 0 } : headers,
  );
  ctx.res.end();
}

/** quoteEtag renders an ETag as S3 sends it, in double quotes. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** Content headers S3 stores with an object and returns on GET/HEAD. */
export interface StoredContentHeaders {
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  userMetadata: Record<string, string>;
}

/**
 * contentHeadersOf reads the headers S3 keeps with a new object (PutObject,
 * CreateMultipartUpload). The aws-chunked coding is transport framing and is
 * not kept. Throws MetadataTooLarge past S3's 2 KiB of user metadata.
 */
export function contentHeadersOf(req: IncomingMessage): StoredContentHeaders {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const encoding = (header('content-encoding') ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '' && token.toLowerCase() !== 'aws-chunked')
    .join(', ');
  const userMetadata: Record<string, string> = {};
  let metadataSize = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') {
      const short = name.slice('x-amz-meta-'.length);
      userMetadata[short] = value;
      metadataSize += Buffer.byteLength(short) + Buffer.byteLength(value);
    }
  }
  if (metadataSize > MAX_USER_METADATA) {
    throw s3Errors.metadataTooLarge(metadataSize, MAX_USER_METADATA);
  }
  return {
    contentType: header('content-type') ?? 'binary/octet-stream',
    contentEncoding: encoding === '' ? undefined : encoding,
    contentDisposition: header('content-disposition'),
    contentLanguage: header('content-language'),
    cacheControl: header('cache-control'),
    expires: header('expires'),
    userMetadata,
  };
}

/**
 * receiveToTempFile streams the request body (planned by planBody) into a new
 * flushed temp file on the storage volume and returns it with what was
 * verified. On any failure the temp file is removed before rethrowing.
 */
export async function receiveToTempFile(
  ctx: S3Context,
  plan: BodyPlan,
): Promise<{ tempPath: string; body: ReceivedBody }> {
  const tempPath = ctx.objects.tempFile();
  try {
    const body = await receiveBody(
      ctx.req,
      plan,
      createWriteStream(tempPath, { flush: true }),
    );
    return { tempPath, body };
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

/** planUpload plans a part or object body (5 GiB at most). */
export function planUpload(
  ctx: S3Context,
  extraAlgorithms: BodyPlan['algorithms'] = [],
): BodyPlan {
  return planBody(ctx.req, ctx.auth, {
    maxSize: MAX_SINGLE_UPLOAD,
    extraAlgorithms,
  });
}

/** notifyStored calls onObjectStored; a throwing callback becomes a 500. */
export function notifyStored(
  ctx: S3Context,
  bucket: string,
  key: string,
  size: number,
): void {
  try {
    ctx.options.onObjectStored(bucket, key, size);
  } catch (error) {
    throw s3Errors.internalError(
      `The object was stored, but the sandbox failed to record it: ${(error as Error).message ?? String(error)}`,
    );
  }
}

/** rejectCopySource refuses server-side copies, which are not implemented. */
export function rejectCopySource(ctx: S3Context, operation: string): void {
  if (ctx.req.headers['x-amz-copy-source'] !== undefined) {
    throw s3Errors.notImplemented(
      `${operation} with x-amz-copy-source (server-side copy) is not implemented by the sandbox.`,
    );
  }
}
