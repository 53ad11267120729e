/**
 * One storage transfer: GET a presigned URL into `<path>.part`, continuing
 * an existing `.part` when the server answers a Range request with 206,
 * starting over on 200, hashing (SHA-256) as bytes arrive and checking the
 * length against Content-Length / Content-Range.
 *
 * Plain node:http(s) streams: no redirects are followed, no platform
 * headers or credentials are sent (the URL carries its own signature), and
 * the body is never decompressed. Writes are batched and a few are in
 * flight at once (a few MiB held in memory at most), and the `.part` is
 * flushed to disk before this returns. Verification against the platform's
 * checksum and the final rename are the caller's (downloader.ts); this
 * module never renames anything.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';

import {
  ApiError,
  CancelledError,
  NetworkError,
  isCancellation,
  networkKindOf,
  parseRetryAfter,
} from '../errors.ts';

/** Idle time (no bytes either way) after which a transfer fails, in ms. */
export const DEFAULT_STORAGE_TIMEOUT_MS = 30_000;

/** Bytes of received chunks written to the `.part` with one writev. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** Bytes of `.part` writes a transfer keeps in flight while receiving. */
const WRITE_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Bytes written after which a transfer asks the disk to catch up (a flush
 * in the background, at most one at a time), so that the flush before the
 * rename has little left to do.
 */
const FLUSH_EVERY_BYTES = 8 * 1024 * 1024;

/**
 * IntegrityError means the bytes are not the file the platform describes
 * (wrong size or SHA-256). It is never retried as it is (classify treats
 * unknown errors as fatal); the caller decides whether to start over.
 */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** The keep-alive agents transfers share; see `createAgents`. */
export interface Agents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * createAgents returns keep-alive agents for storage requests, allowing
 * `maxSockets` connections per host. Call `destroyAgents` when done.
 */
export function createAgents(maxSockets: number): Agents {
  const options = { keepAlive: true, maxSockets, keepAliveMsecs: 1_000 };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

/** destroyAgents closes every socket of `agents`. */
export function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
}

/** What `fetchToPart` should do. */
export interface FetchToPartOptions {
  url: string;
  partPath: string;
  /**
   * Continue an existing `.part` (Range request). When false, or when the
   * server ignores the Range, the `.part` is started over.
   */
  resume: boolean;
  /** A strong ETag the existing `.part` was started from (sent as If-Range). */
  ifRange?: string | null;
  agents: Agents;
  signal: AbortSignal;
  timeoutMs?: number;
  /**
   * Called as bytes arrive: bytes of the `.part` so far (written or being
   * written), and the total.
   */
  onBytes?: (bytesDone: number, total: number | null) => void;
  /**
   * Called once the answer's headers have arrived and before anything is
   * written: whether the `.part` is started over, and how many of its bytes
   * are kept. Record what the `.part` belongs to here.
   */
  /**
   * Called once, as soon as every byte of the body has arrived (before the
   * last writes and the flush finish): the connection is no longer needed.
   * Not called when the transfer fails before that.
   */
  onReceived?: () => void;
  onStart?: (info: {
    total: number | null;
    etag: string | null;
    restarted: boolean;
    kept: number;
  }) => void;
}

/** What `fetchToPart` did. */
export interface FetchResult {
  /** Bytes in the `.part` (all of the file). */
  size: number;
  /** SHA-256 of the whole `.part`, lowercase hex. */
  sha256: string;
  /** True when earlier bytes of the `.part` were kept (206 or 416). */
  resumed: boolean;
  /** Total announced by the server, or null when it did not say. */
  total: number | null;
  etag: string | null;
}

/**
 * fetchToPart downloads `url` into `partPath` and returns the size and hash
 * of the complete `.part`. Existing bytes are kept only when `resume` is set
 * and the server answers 206 from exactly that offset (or 416 saying the
 * `.part` already has every byte); any other 2xx starts over.
 *
 * Throws ApiError for a non-2xx answer (3xx included: redirects are not
 * followed), NetworkError for connection failures and for a body that ends
 * before its announced length (the `.part` keeps what arrived, so a retry
 * continues), IntegrityError when more bytes arrive than announced (the
 * `.part` is deleted), CancelledError when `signal` aborts (the `.part` is
 * kept for a later resume).
 */
export async function fetchToPart(
  options: FetchToPartOptions,
): Promise<FetchResult> {
  const url = parseStorageUrl(options.url);
  let offset = options.resume ? await sizeOf(options.partPath) : 0;

  // At most two requests: a Range request that turns out unusable (wrong
  // offset, or 416 for a .part that is not complete) is followed by one
  // plain GET from the start.
  for (let round = 0; ; round++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (options.ifRange && !options.ifRange.startsWith('W/')) {
        headers['if-range'] = options.ifRange;
      }
    }
    const res = await request(url, headers, options);
    const etag = headerText(res, 'etag');

    if (res.statusCode === 416 && offset > 0) {
      const total = parseUnsatisfiedRange(headerText(res, 'content-range'));
      res.resume();
      if (total === offset) {
        options.onStart?.({ total, etag, restarted: false, kept: offset });
        options.onBytes?.(offset, total);
        const sha256 = await hashFile(options.partPath, options.signal);
        return { size: offset, sha256, resumed: true, total, etag };
      }
      if (round > 0) throw unexpected(res, url);
      offset = 0;
      continue;
    }
    if (res.statusCode === 206 && offset > 0) {
      const range = parseContentRange(headerText(res, 'content-range'));
      if (!range || range.start !== offset) {
        res.destroy();
        if (round > 0) throw unexpected(res, url);
        offset = 0;
        continue;
      }
      options.onStart?.({
        total: range.total,
        etag,
        restarted: false,
        kept: offset,
      });
      return await receive(res, url, options, offset, range.total, etag);
    }
    if (res.statusCode === 200) {
      const total = parseLength(headerText(res, 'content-length'));
      options.onStart?.({ total, etag, restarted: true, kept: 0 });
      return await receive(res, url, options, 0, total, etag);
    }
    throw await storageError(res, url);
  }
}

/**
 * probeSize asks the server for the total size of `url` with a one-byte
 * Range request (a presigned GET URL may not be valid for HEAD). Returns
 * null when the answer does not say. Throws like `fetchToPart`.
 */
export async function probeSize(options: {
  url: string;
  agents: Agents;
  signal: AbortSignal;
  timeoutMs?: number;
}): Promise<number | null> {
  const url = parseStorageUrl(options.url);
  const res = await request(
    url,
    { 'accept-encoding': 'identity', range: 'bytes=0-0' },
    options,
  );
  if (res.statusCode === 206) {
    res.resume();
    return parseContentRange(headerText(res, 'content-range'))?.total ?? null;
  }
  if (res.statusCode === 416) {
    res.resume();
    return parseUnsatisfiedRange(headerText(res, 'content-range'));
  }
  if (res.statusCode === 200) {
    res.destroy();
    return parseLength(headerText(res, 'content-length'));
  }
  throw await storageError(res, url);
}

/**
 * hashFile returns the SHA-256 (lowercase hex) of the file at `file`,
 * streaming it. Throws CancelledError when `signal` aborts.
 */
export async function hashFile(
  file: string,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash('sha256');
  await feedHash(hash, file, Infinity, signal);
  return hash.digest('hex');
}

async function receive(
  res: IncomingMessage,
  url: URL,
  options: FetchToPartOptions,
  offset: number,
  total: number | null,
  etag: string | null,
): Promise<FetchResult> {
  const hash = createHash('sha256');
  if (offset > 0) {
    try {
      await feedHash(hash, options.partPath, offset, options.signal);
    } catch (err) {
      res.destroy();
      throw err;
    }
  }

  // 'w' starts the .part over; 'r+' keeps the `offset` bytes already hashed.
  let handle: FileHandle;
  try {
    handle = await open(options.partPath, offset > 0 ? 'r+' : 'w');
  } catch (err) {
    res.destroy();
    throw err;
  }
  const writer = new PartWriter(handle, offset);
  let written = offset;
  try {
    options.onBytes?.(written, total);
    await pump(res, (chunk) => {
      if (total !== null && written + chunk.length > total) {
        throw new IntegrityError(
          `The storage server sent more than the announced ${total} bytes for ${describe(url)}.`,
        );
      }
      hash.update(chunk);
      written += chunk.length;
      const room = writer.write(chunk);
      options.onBytes?.(written, total);
      return room;
    });
    if (total === null || written >= total) options.onReceived?.();
    await writer.drain();
    if (total !== null && written < total) {
      throw new NetworkError('reset', url.host, {
        code: 'ERR_STREAM_PREMATURE_CLOSE',
      });
    }
    await writer.flush();
  } catch (err) {
    res.destroy();
    if (err instanceof IntegrityError) {
      await writer.abandon();
      await handle.close().catch(() => undefined);
      await unlink(options.partPath).catch(() => undefined);
      throw err;
    }
    // Keep what arrived: a later attempt continues from the .part's end.
    await writer.keep();
    await handle.close().catch(() => undefined);
    throw toTransferError(err, url, options.signal);
  }
  await handle.close();
  return {
    size: written,
    sha256: hash.digest('hex'),
    resumed: offset > 0,
    total,
    etag,
  };
}

/**
 * pump feeds every chunk of `res` to `take`, in order, and resolves at the
 * end of the body. When `take` returns a promise the body is paused until
 * it settles. Rejects with the first error: one `take` throws or a promise
 * it returned rejects with, or the stream's own (a body that stops before
 * its end rejects with ERR_STREAM_PREMATURE_CLOSE). Event handlers instead
 * of an async iterator: no promise per chunk on the hot path.
 */
function pump(
  res: IncomingMessage,
  take: (chunk: Buffer) => Promise<void> | null,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let isSettled = false;
    const settle = (error?: unknown) => {
      if (isSettled) return;
      isSettled = true;
      res.off('data', onData);
      res.off('end', onEnd);
      res.off('error', settle);
      res.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const resume = () => {
      if (!isSettled) res.resume();
    };
    const onData = (chunk: Buffer) => {
      if (isSettled) return;
      let room: Promise<void> | null;
      try {
        room = take(chunk);
      } catch (error) {
        settle(error);
        return;
      }
      if (room) {
        res.pause();
        room.then(resume, settle);
      }
    };
    const onEnd = () => settle();
    const onClose = () => {
      // 'close' without 'end' (or an error first): the body was cut short.
      const error = new Error('Premature close') as Error & { code: string };
      error.code = 'ERR_STREAM_PREMATURE_CLOSE';
      settle(error);
    };
    res.on('data', onData);
    res.on('end', onEnd);
    res.on('error', settle);
    res.on('close', onClose);
  });
}

/**
 * PartWriter writes a transfer's chunks to its `.part` in order, from a
 * given offset. Chunks are gathered into batches of WRITE_BATCH_BYTES (one
 * writev each) and up to WRITE_WINDOW_BYTES of batches are in flight, so
 * the socket keeps flowing while the disk works; waiting for each write
 * would stall it once per chunk. Every FLUSH_EVERY_BYTES a flush starts in
 * the background, so that the last one, which alone promises durability,
 * has little left to do.
 */
class PartWriter {
  readonly #handle: FileHandle;
  readonly #inFlight = new Set<Promise<void>>();
  #inFlightBytes = 0;
  #error: { error: unknown } | null = null;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  /** Where the next batch goes in the file. */
  #at: number;
  #flushing: Promise<void> | null = null;
  #unflushed = 0;

  constructor(handle: FileHandle, offset: number) {
    this.#handle = handle;
    this.#at = offset;
  }

  /**
   * write queues `chunk` (which must not change afterwards). When it
   * returns a promise, wait for it before writing more: it resolves once
   * there is room, or rejects with the first write error.
   */
  write(chunk: Buffer): Promise<void> | null {
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    if (this.#batchBytes < WRITE_BATCH_BYTES) {
      return null;
    }
    this.#writeBatch();
    if (this.#inFlightBytes <= WRITE_WINDOW_BYTES && this.#error === null) {
      // Room left: the body need not pause (pausing costs a round of
      // socket calls per batch).
      return null;
    }
    return this.#settle(WRITE_WINDOW_BYTES);
  }

  /** drain writes what is queued and waits for every write. */
  async drain(): Promise<void> {
    this.#writeBatch();
    await this.#settle(0);
  }

  /** flush waits until everything written is on disk. */
  async flush(): Promise<void> {
    await this.#flushing;
    await this.#handle.datasync();
  }

  /**
   * keep writes what is queued, unless a write already failed, and waits
   * for every write and flush, ignoring their errors (after a failure).
   */
  async keep(): Promise<void> {
    if (this.#error === null) {
      this.#writeBatch();
    }
    await this.abandon();
  }

  /** abandon drops what is queued and waits for what is in flight. */
  async abandon(): Promise<void> {
    this.#batch = [];
    this.#batchBytes = 0;
    await Promise.allSettled([...this.#inFlight, this.#flushing]);
  }

  #writeBatch(): void {
    const bytes = this.#batchBytes;
    if (bytes === 0) {
      return;
    }
    const write: Promise<void> = this.#handle
      .writev(this.#batch, this.#at)
      .then(
        () => {
          this.#unflushed += bytes;
          this.#maybeFlush();
        },
        (error: unknown) => {
          this.#error ??= { error };
        },
      )
      .finally(() => {
        this.#inFlight.delete(write);
        this.#inFlightBytes -= bytes;
      });
    this.#inFlight.add(write);
    this.#inFlightBytes += bytes;
    this.#at += bytes;
    this.#batch = [];
    this.#batchBytes = 0;
  }

  #maybeFlush(): void {
    if (this.#flushing !== null || this.#unflushed < FLUSH_EVERY_BYTES) {
      return;
    }
    this.#unflushed = 0;
    this.#flushing = this.#handle
      .datasync()
      .catch(() => {
        // The last flush, which the caller awaits, reports any problem.
      })
      .finally(() => {
        this.#flushing = null;
      });
  }

  async #settle(limit: number): Promise<void> {
    while (this.#inFlightBytes > limit && this.#inFlight.size > 0) {
      await Promise.race(this.#inFlight);
    }
    if (this.#error) {
      throw this.#error.error;
    }
  }
}

function request(
  url: URL,
  headers: Record<string, string>,
  options: { agents: Agents; signal: AbortSignal; timeoutMs?: number },
): Promise<IncomingMessage> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_STORAGE_TIMEOUT_MS;
  const isHttps = url.protocol === 'https:';
  const send = isHttps ? https.request : http.request;
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(new CancelledError());
      return;
    }
    const req = send(url, {
      method: 'GET',
      headers,
      agent: isHttps ? options.agents.https : options.agents.http,
      signal: options.signal,
    });
    req.setTimeout(timeoutMs, () => {
      const err = new NetworkError('timeout', url.host, {
        code: 'ETIMEDOUT',
        timeoutMs,
      });
      req.destroy(err);
    });
    req.on('response', (res) => {
      // The request timeout keeps watching the socket while the body flows.
      resolve(res);
    });
    req.on('error', (err) => reject(toTransferError(err, url, options.signal)));
    req.end();
  });
}

async function storageError(res: IncomingMessage, url: URL): Promise<ApiError> {
  const body = await readSmallBody(res);
  return new ApiError({
    status: res.statusCode ?? 0,
    method: 'GET',
    path: `${url.host}${url.pathname}`,
    body: parseBody(body),
    statusText:
      res.statusCode && res.statusCode >= 300 && res.statusCode < 400
        ? `${res.statusMessage ?? 'Redirect'} (redirects are not followed)`
        : res.statusMessage,
    retryAfterMs: parseRetryAfter(res.headers['retry-after']),
  });
}

function unexpected(res: IncomingMessage, url: URL): ApiError {
  return new ApiError({
    status: res.statusCode ?? 0,
    method: 'GET',
    path: `${url.host}${url.pathname}`,
    body: `unusable answer to a Range request (Content-Range: ${headerText(res, 'content-range') ?? 'none'})`,
    statusText: res.statusMessage,
  });
}

async function readSmallBody(res: IncomingMessage): Promise<string> {
  const limit = 4096;
  let text = '';
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      if (text.length < limit) text += chunk.toString('utf8');
    }
  } catch {
    // The status is what matters; a broken error body is not worth more.
  }
  return text.slice(0, limit);
}

function parseBody(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    // S3 answers XML: keep its <Message> when there is one.
    const message = /<Message>([^<]*)<\/Message>/.exec(trimmed);
    return message ? message[1] : trimmed;
  }
}

function toTransferError(err: unknown, url: URL, signal: AbortSignal): unknown {
  if (signal.aborted || isCancellation(err)) {
    return err instanceof CancelledError
      ? err
      : new CancelledError('Cancelled.', { cause: err });
  }
  if (err instanceof NetworkError || err instanceof ApiError) return err;
  const code =
    typeof (err as { code?: unknown })?.code === 'string'
      ? (err as { code: string }).code
      : '';
  const kind = networkKindOf(code);
  if (kind) return new NetworkError(kind, url.host, { code, cause: err });
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === '') {
    // A body cut short surfaces as "aborted" / premature close.
    const message = err instanceof Error ? err.message : '';
    if (/aborted|premature|socket hang up/i.test(message)) {
      return new NetworkError('reset', url.host, {
        code: code || 'ECONNRESET',
        cause: err,
      });
    }
  }
  return err;
}

function parseStorageUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new IntegrityError(`The download URL is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IntegrityError(
      `The download URL uses ${url.protocol}, only http and https are allowed.`,
    );
  }
  return url;
}

async function feedHash(
  hash: Hash,
  file: string,
  length: number,
  signal?: AbortSignal,
): Promise<void> {
  if (length === 0) return;
  const stream = createReadStream(file, {
    start: 0,
    end: Number.isFinite(length) ? length - 1 : undefined,
    signal,
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
    }
  } catch (err) {
    if (signal?.aborted || isCancellation(err)) {
      throw new CancelledError('Cancelled.', { cause: err });
    }
    throw err;
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    const info = await stat(file);
    return info.isFile() ? info.size : 0;
  } catch {
    return 0;
  }
}

function headerText(res: IncomingMessage, name: string): string | null {
  const value = res.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function parseLength(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value.trim());
}

/** `bytes <start>-<end>/<total|*>` → numbers (total null for `*`). */
function parseContentRange(
  value: string | null,
): { start: number; end: number; total: number | null } | null {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? null : Number(match[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}

/** The total of a 416 answer's Content-Range (`bytes *` slash total). */
function parseUnsatisfiedRange(value: string | null): number | null {
  const match = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(value ?? '');
  return match ? Number(match[1]) : null;
}

function describe(url: URL): string {
  return `${url.host}${url.pathname}`;
}
