/**
 * Signed download URLs and the `/downloads/` endpoint that serves them.
 *
 * URL form: `<origin>/downloads/<file id>/<name>?expires=<unix seconds>
 * &signature=<hex>&response-content-disposition=attachment; filename=<name>`
 * (URL-encoded). The signature is HMAC-SHA256, keyed with a secret of the
 * data folder, over the file id, the name, the expiry and the disposition,
 * so none of them can be changed. Replies are served directly (no redirect),
 * always with Content-Length and `Accept-Ranges: bytes`; a single byte range
 * gets 206 with an exact Content-Range. Errors are JSON.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import type { SandboxContext, UrlSigner } from './context.ts';
import { isArchived, type FileRow, type SampleRow } from './records.ts';
import { isUuid } from './util.ts';

/** DownloadSigner creates and checks signed download URLs. */
export class DownloadSigner implements UrlSigner {
  private readonly secret: Buffer;
  private readonly origin: string;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(params: {
    secret: Buffer;
    origin: string;
    ttlSeconds: number;
    now: () => number;
  }) {
    this.secret = params.secret;
    this.origin = params.origin;
    this.ttlSeconds = params.ttlSeconds;
    this.now = params.now;
  }

  url(fileId: string, fileName: string): string {
    const expires = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const disposition = `attachment; filename=${fileName}`;
    const query = new URLSearchParams({
      expires: String(expires),
      signature: this.sign(fileId, fileName, String(expires), disposition),
      'response-content-disposition': disposition,
    });
    return `${this.origin}/downloads/${fileId}/${encodeURIComponent(fileName)}?${query.toString()}`;
  }

  /** check tells whether the URL parts carry a valid, unexpired signature. */
  check(
    fileId: string,
    fileName: string,
    query: URLSearchParams,
  ): 'ok' | 'expired' | 'bad-signature' {
    const expires = query.get('expires') ?? '';
    const signature = query.get('signature') ?? '';
    const disposition = query.get('response-content-disposition') ?? '';
    const expected = Buffer.from(
      this.sign(fileId, fileName, expires, disposition),
    );
    const actual = Buffer.from(signature);
    if (
      expected.length !== actual.length ||
      !timingSafeEqual(expected, actual)
    ) {
      return 'bad-signature';
    }
    if (!/^\d+$/.test(expires) || Number(expires) * 1000 <= this.now()) {
      return 'expired';
    }
    return 'ok';
  }

  private sign(
    fileId: string,
    fileName: string,
    expires: string,
    disposition: string,
  ): string {
    return createHmac('sha256', this.secret)
      .update([fileId, fileName, expires, disposition].join('\n'))
      .digest('hex');
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': payload.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}

/** Parsed `Range` header: a byte window, 'unsatisfiable', or null (ignore). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) {
    return null;
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    // Several ranges or another unit: RFC 9110 allows serving the whole file.
    return null;
  }
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) {
      return 'unsatisfiable';
    }
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) {
    return 'unsatisfiable';
  }
  return { start, end };
}

function fileLocation(ctx: SandboxContext, file: FileRow): string | null {
  if (file.storage_path) {
    return path.join(ctx.dataDir, ...file.storage_path.split('/'));
  }
  if (file.upload_id) {
    const upload = ctx.db
      .prepare('SELECT bucket, object_key FROM uploads WHERE id = ?')
      .get(file.upload_id) as
      { bucket: string; object_key: string } | undefined;
    return upload ? ctx.objectFile(upload.bucket, upload.object_key) : null;
  }
  return null;
}

/**
 * serveDownload answers `GET`/`HEAD /downloads/<file id>/<name>`. It resolves
 * once the reply has been sent (or the client went away).
 */
export async function serveDownload(
  ctx: SandboxContext,
  signer: DownloadSigner,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(
      res,
      405,
      { detail: `Method "${req.method}" not allowed.` },
      { Allow: 'GET, HEAD' },
    );
    return;
  }
  const m = /^\/downloads\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  let fileId = '';
  let name = '';
  try {
    fileId = m ? decodeURIComponent(m[1]) : '';
    name = m ? decodeURIComponent(m[2]) : '';
  } catch {
    fileId = '';
  }
  if (!isUuid(fileId)) {
    sendJson(res, 404, { detail: 'Not found.' });
    return;
  }
  const verdict = signer.check(fileId, name, url.searchParams);
  if (verdict !== 'ok') {
    sendJson(res, 403, {
      detail:
        verdict === 'expired'
          ? 'Request has expired: ask the API for a fresh download URL.'
          : 'Signature does not match: the download URL was changed or is not from this sandbox.',
      code:
        verdict === 'expired'
          ? 'AccessDenied.Expired'
          : 'SignatureDoesNotMatch',
    });
    return;
  }
  const file = ctx.db
    .prepare('SELECT * FROM files WHERE id = ?')
    .get(fileId) as FileRow | undefined;
  if (!file) {
    sendJson(res, 404, { detail: 'Not found.' });
    return;
  }
  if (file.sample_id) {
    const sample = ctx.db
      .prepare('SELECT * FROM samples WHERE id = ?')
      .get(file.sample_id) as SampleRow | undefined;
    if (!sample || sample.deleted === 1) {
      sendJson(res, 404, { detail: 'Not found.' });
      return;
    }
    if (isArchived(sample)) {
      sendJson(res, 403, {
        detail: 'The sample is archived: restore it before downloading.',
        code: 'InvalidObjectState',
      });
      return;
    }
  }
  const location = fileLocation(ctx, file);
  let info: Stats | null = null;
  try {
    info = location ? await stat(location) : null;
  } catch {
    info = null;
  }
  if (!location || !info || !info.isFile()) {
    sendJson(res, 404, {
      detail: 'The file is not stored yet.',
      code: 'NoSuchKey',
    });
    return;
  }
  const size = info.size;
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    'Content-Type': 'binary/octet-stream',
    'Last-Modified': info.mtime.toUTCString(),
    'Cache-Control': 'private, max-age=0',
  };
  if (file.checksum_sha256) {
    headers.ETag = `"${file.checksum_sha256}"`;
  }
  const disposition = url.searchParams.get('response-content-disposition');
  if (disposition) {
    // The signed value is echoed, as S3 does; non-ASCII is percent-encoded.
    headers['Content-Disposition'] = disposition.replace(/[^\x20-\x7e]/g, (c) =>
      encodeURIComponent(c),
    );
  }
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    sendJson(
      res,
      416,
      {
        detail: `Range ${req.headers.range} is outside the file (${size} bytes).`,
      },
      {
        'Content-Range': `bytes */${size}`,
        'Accept-Ranges': 'bytes',
      },
    );
    return;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : size - 1;
  headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
  if (range) {
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  res.writeHead(range ? 206 : 200, headers);
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(location, { start, end }), res);
  } catch (error) {
    // A client that closes early is normal for ranged, parallel downloads.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      ctx.log(`download ${fileId}: ${(error as Error).message}`);
    }
    res.destroy();
  }
}
