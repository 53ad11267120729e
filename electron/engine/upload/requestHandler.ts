/**
 * The HTTP transport of the upload S3 client.
 *
 * The AWS SDK prepares and signs every request as usual; this handler only
 * sends it. What it adds: a part body that is a range of local files
 * (`FileRangeBody`) is read into a few reused buffers and each buffer is
 * refilled only once the socket has taken it, so sending a file costs no
 * memory per byte (the SDK's own handler would pipe a stream of fresh
 * buffers, which the garbage collector then has to catch up with). Other
 * bodies are sent as the SDK's handler sends them.
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

import { LocalFileError } from './checkedRead.ts';
import type { CheckedFile } from './checkedRead.ts';

/** Bytes read from disk per write of a file body. */
export const FILE_BODY_CHUNK_BYTES = 1024 * 1024;

/** Idle time (no byte either way) after which a request fails, in ms. */
export const DEFAULT_SOCKET_TIMEOUT_MS = 60_000;

/** A request as the SDK hands it to its HTTP handler. */
export interface SdkHttpRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
  username?: string;
  password?: string;
  fragment?: string;
}

/**
 * The abort signal the SDK passes on: a DOM AbortSignal, or the SDK's own
 * older shape with only `aborted` and `onabort`.
 */
export interface SdkAbortSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  // Typed as the SDK types it.
  onabort?: Function | null;
  addEventListener?: (
    type: 'abort',
    listener: () => void,
    options?: { once?: boolean },
  ) => void;
  removeEventListener?: (type: 'abort', listener: () => void) => void;
}

/** A response as the SDK expects it from its HTTP handler. */
export interface SdkHttpResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: IncomingMessage;
}

/**
 * FileRangeBody is a request body made of `length` bytes of the
 * concatenation of `files`, from `offset`. UploadRequestHandler sends it
 * with reused buffers; read as a stream (by any other consumer) it gives the
 * same bytes. Either way, a file that cannot be read or ends early fails
 * with LocalFileError.
 */
export class FileRangeBody extends Readable {
  readonly files: readonly CheckedFile[];
  readonly offset: number;
  readonly length: number;
  #chunks: AsyncGenerator<Buffer> | null = null;

  constructor(files: readonly CheckedFile[], offset: number, length: number) {
    super();
    this.files = files;
    this.offset = offset;
    this.length = length;
  }

  override _read(): void {
    this.#chunks ??= readRange(this.files, this.offset, this.length, () =>
      Buffer.allocUnsafe(FILE_BODY_CHUNK_BYTES),
    );
    this.#chunks.next().then(
      ({ value, done }) => {
        this.push(done ? null : value);
      },
      (err: unknown) => this.destroy(err as Error),
    );
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    const chunks = this.#chunks;
    this.#chunks = null;
    if (chunks) {
      chunks.return(undefined).then(
        () => callback(error),
        () => callback(error),
      );
    } else {
      callback(error);
    }
  }
}

/**
 * UploadRequestHandler sends the SDK's requests over keep-alive
 * connections (see the module comment). `destroy()` closes them.
 */
export class UploadRequestHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  readonly #socketTimeoutMs: number;
  /** Spare buffers for file bodies (a few per request in flight). */
  readonly #spare: Buffer[] = [];

  constructor(options: { socketTimeoutMs?: number } = {}) {
    this.#socketTimeoutMs =
      options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS;
  }

  /**
   * handle sends `request` and resolves with the response once its headers
   * arrived (its body still to be read). Rejects with the socket's error,
   * a TimeoutError after the idle timeout, an AbortError when the signal
   * aborts, or the body's own error (LocalFileError for a file body).
   */
  handle(
    request: SdkHttpRequest,
    options: { abortSignal?: SdkAbortSignal } = {},
  ): Promise<{ response: SdkHttpResponse }> {
    const signal = options.abortSignal;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const isHttps = request.protocol === 'https:';
      const send = isHttps ? https.request : http.request;
      const query = request.query ? buildQuery(request.query) : '';
      const req = send({
        method: request.method,
        host: request.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: request.port,
        path: `${request.path}${query ? `?${query}` : ''}${request.fragment ? `#${request.fragment}` : ''}`,
        headers: request.headers,
        agent: isHttps ? this.#httpsAgent : this.#httpAgent,
        ...(request.username !== undefined || request.password !== undefined
          ? { auth: `${request.username ?? ''}:${request.password ?? ''}` }
          : {}),
      });
      let isSettled = false;
      const fail = (err: unknown): void => {
        if (!isSettled) {
          isSettled = true;
          reject(err);
        }
        req.destroy();
      };
      if (signal) {
        const onAbort = (): void => fail(abortError(signal));
        if (signal.addEventListener) {
          signal.addEventListener('abort', onAbort, { once: true });
          req.once('close', () =>
            signal.removeEventListener?.('abort', onAbort),
          );
        } else {
          signal.onabort = onAbort;
        }
      }
      req.setTimeout(this.#socketTimeoutMs, () => {
        fail(
          Object.assign(
            new Error(
              `No data from ${request.hostname} for ${this.#socketTimeoutMs} ms`,
            ),
            { name: 'TimeoutError', code: 'ETIMEDOUT' },
          ),
        );
      });
      req.on('error', fail);
      req.on('response', (res) => {
        if (isSettled) {
          res.resume();
          return;
        }
        isSettled = true;
        resolve({
          response: {
            statusCode: res.statusCode ?? -1,
            reason: res.statusMessage,
            headers: flattenHeaders(res.headers),
            body: res,
          },
        });
      });
      this.#writeBody(req, request.body).catch(fail);
    });
  }

  /** For the SDK: this handler has no settings to change. */
  updateHttpClientConfig(): void {}

  /** For the SDK: this handler has no settings to report. */
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  /** destroy closes every connection. */
  destroy(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#spare.length = 0;
  }

  async #writeBody(req: http.ClientRequest, body: unknown): Promise<void> {
    if (body instanceof FileRangeBody) {
      await this.#writeFileRange(req, body);
      return;
    }
    if (body instanceof Readable) {
      body.once('error', (err) => req.destroy(err));
      body.pipe(req);
      return;
    }
    if (body === undefined || body === null) {
      req.end();
    } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else if (body instanceof Uint8Array) {
      req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    } else {
      throw new TypeError(
        'The S3 request body has a type this handler cannot send',
      );
    }
  }

  /**
   * Writes the file range with two buffers: one is filled from disk while
   * the socket takes the other, and a buffer is filled again only after
   * its write callback (the socket no longer needs its bytes).
   */
  async #writeFileRange(
    req: http.ClientRequest,
    body: FileRangeBody,
  ): Promise<void> {
    const buffers = [this.#take(), this.#take()];
    const writes: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let slot = 0;
    try {
      for await (const chunk of readRange(
        body.files,
        body.offset,
        body.length,
        () => buffers[slot]!,
        () => writes[slot]!,
      )) {
        if (req.destroyed) {
          return;
        }
        writes[slot] = new Promise<void>((resolve, reject) => {
          req.write(chunk, (err) => (err ? reject(err) : resolve()));
        });
        // A failed write also destroys the request, which rejects handle().
        writes[slot]!.catch(() => {});
        slot = 1 - slot;
      }
      if (!req.destroyed) {
        req.end();
      }
      await Promise.allSettled(writes);
    } finally {
      await Promise.allSettled(writes);
      for (const buffer of buffers) {
        this.#give(buffer);
      }
    }
  }

  #take(): Buffer {
    return this.#spare.pop() ?? Buffer.allocUnsafeSlow(FILE_BODY_CHUNK_BYTES);
  }

  #give(buffer: Buffer): void {
    if (this.#spare.length < 32) {
      this.#spare.push(buffer);
    }
  }
}

/**
 * readRange yields `length` bytes of the concatenation of `files` from
 * `offset`, each chunk read into the buffer `bufferFor()` returns, once
 * `whenFree()` (when given) has resolved for it. A yielded chunk is valid
 * until the next one is requested. Throws LocalFileError when a file cannot
 * be read or ends early.
 */
export async function* readRange(
  files: readonly CheckedFile[],
  offset: number,
  length: number,
  bufferFor: () => Buffer,
  whenFree?: () => Promise<void>,
): AsyncGenerator<Buffer> {
  let fileStart = 0;
  let position = offset;
  let remaining = length;
  for (const file of files) {
    const fileEnd = fileStart + file.size;
    if (remaining > 0 && position < fileEnd) {
      const start = position - fileStart;
      const take = Math.min(fileEnd - position, remaining);
      let handle: FileHandle;
      try {
        handle = await open(file.path, 'r');
      } catch (err) {
        throw cannotRead(file.path, err);
      }
      try {
        let done = 0;
        while (done < take) {
          await whenFree?.();
          const buffer = bufferFor();
          const want = Math.min(buffer.length, take - done);
          let got: number;
          try {
            ({ bytesRead: got } = await handle.read(
              buffer,
              0,
              want,
              start + done,
            ));
          } catch (err) {
            throw cannotRead(file.path, err);
          }
          if (got === 0) {
            throw new LocalFileError(
              file.path,
              `${file.path} changed while it was being uploaded: ${take} bytes expected from byte ${start}, ${done} read`,
            );
          }
          done += got;
          yield buffer.subarray(0, got);
        }
      } finally {
        await handle.close().catch(() => {});
      }
      position += take;
      remaining -= take;
    }
    fileStart = fileEnd;
  }
  if (remaining > 0) {
    const last = files[files.length - 1];
    throw new LocalFileError(
      last?.path ?? '',
      `The files end ${remaining} bytes before the part that should start at byte ${offset}`,
    );
  }
}

function cannotRead(path: string, err: unknown): LocalFileError {
  return new LocalFileError(
    path,
    `Cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

/** The query string exactly as the SDK's own handler writes it. */
function buildQuery(query: Record<string, string | string[] | null>): string {
  const parts: string[] = [];
  for (const key of Object.keys(query).sort()) {
    const value = query[key];
    const name = escapeUri(key);
    if (Array.isArray(value)) {
      for (const item of value) {
        parts.push(`${name}=${escapeUri(item)}`);
      }
    } else if (typeof value === 'string') {
      parts.push(`${name}=${escapeUri(value)}`);
    } else {
      parts.push(name);
    }
  }
  return parts.join('&');
}

/** RFC 3986 escaping, as SigV4 canonicalizes. */
function escapeUri(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function flattenHeaders(
  headers: http.IncomingHttpHeaders,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      out[name] = Array.isArray(value) ? value.join(',') : value;
    }
  }
  return out;
}

function abortError(signal: SdkAbortSignal): Error {
  const reason: unknown = signal.reason;
  return Object.assign(
    new Error('The request was aborted', { cause: reason }),
    { name: 'AbortError' },
  );
}
