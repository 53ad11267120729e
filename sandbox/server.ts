/**
 * The built-in sandbox: a local server that speaks the Gencove API v2 on
 * loopback, with its data in one folder (`<dataDir>/sandbox.db` plus object
 * files under `<dataDir>/objects/`).
 *
 * One origin serves three things:
 * - `/api/...`: the platform API (JSON; see routes/);
 * - `/downloads/...`: signed download URLs of deliverables (downloads.ts);
 * - everything else: the path-style S3 endpoint of the upload area
 *   (sandbox/s3/handler.ts), which checks SigV4 against the temporary
 *   credentials `upload-credentials` issued.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';

import { TokenService, authenticate, type AuthUser } from './auth.ts';
import {
  DELIVERABLES_DIR,
  UPLOAD_BUCKET,
  type SandboxContext,
} from './context.ts';
import { openDatabase } from './db.ts';
import { DownloadSigner, serveDownload } from './downloads.ts';
import {
  ApiError,
  Router,
  errorReply,
  notFound,
  readBody,
  sendReply,
  type ApiRequest,
} from './http.ts';
import { Pipeline } from './pipeline.ts';
import { authRoutes } from './routes/auth.ts';
import { fileRoutes } from './routes/files.ts';
import { projectRoutes } from './routes/projects.ts';
import { sampleRoutes } from './routes/samples.ts';
import {
  lookupCredentials,
  onObjectStored,
  uploadRoutes,
} from './routes/uploads.ts';
import { createS3Handler, objectPath } from './s3/handler.ts';
import { seed } from './seed.ts';
import { errorText } from './util.ts';

/** Demo account email, MFA account email and its fixed one-time password. */
export { DEMO_EMAIL, MFA_EMAIL, MFA_OTP } from './seed.ts';

/** Options of `startSandbox`. */
export interface SandboxOptions {
  /** Data folder; created if missing. */
  dataDir: string;
  /** TCP port; 0 or undefined picks a free port. */
  port?: number;
  /**
   * Loopback address to listen on (default 127.0.0.1); anything else is
   * refused.
   */
  hostname?: string;
  /**
   * Clock: time per pipeline status step, ms (default 2000; tests use ~100).
   */
  pipelineStepMs?: number;
  /** Lifetime of upload credentials, seconds (default 3600). */
  credentialTtlSeconds?: number;
  /** Lifetime of signed download URLs, seconds (default 3600). */
  downloadUrlTtlSeconds?: number;
  /** Lifetime of JWT access tokens, seconds (default 900). */
  accessTokenTtlSeconds?: number;
  /** Lifetime of JWT refresh tokens, seconds (default 86400). */
  refreshTokenTtlSeconds?: number;
  /**
   * Seed the second account `mfa@sandbox.local` (same password as the demo
   * account, one-time password `123456`). Once seeded it stays.
   */
  mfaUser?: boolean;
  /** Receives one line per request and per notable event. */
  log?: (line: string) => void;
}

/**
 * What a running sandbox reports. The same object (same snake_case keys) is
 * written to `<dataDir>/sandbox.json` (owner-only) when the sandbox starts
 * and removed again by `close()`, so the file exists only while it runs.
 */
export interface SandboxInfo {
  /** e.g. `http://127.0.0.1:43123` (no trailing slash, no path). */
  api_url: string;
  /** Same origin: S3 is path-style on the same server. */
  s3_endpoint: string;
  email: string;
  password: string;
  api_key: string;
  project_ids: string[];
}

/** A started sandbox. */
export interface RunningSandbox {
  info: SandboxInfo;
  /**
   * Stops listening, ends connections, stops the pipeline, closes the database.
   */
  close(): Promise<void>;
}

/** Defaults of the options above. */
export const SANDBOX_DEFAULTS = {
  hostname: '127.0.0.1',
  pipelineStepMs: 2000,
  credentialTtlSeconds: 3600,
  downloadUrlTtlSeconds: 3600,
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 86_400,
} as const;

/** How long close() lets requests in progress finish before cutting them. */
const CLOSE_GRACE_MS = 2000;

/** isLoopbackHost is true for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare =
    host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') {
    return true;
  }
  if (net.isIPv4(bare)) {
    return bare.split('.')[0] === '127';
  }
  if (net.isIPv6(bare)) {
    return (
      bare === '::1' ||
      bare.toLowerCase() === '0:0:0:0:0:0:0:1' ||
      /^::ffff:127\./i.test(bare)
    );
  }
  return false;
}

function hostOfHeader(header: string | undefined): string | null {
  if (!header) {
    return null;
  }
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return m ? m[1] : null;
}

function positive(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(
      `sandbox option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`,
    );
  }
  return value;
}

async function listen(
  server: http.Server,
  port: number,
  hostname: string,
): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `sandbox cannot listen on ${hostname}:${port}: the port is already in use`,
            )
          : error,
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, hostname);
  });
  return server.address() as AddressInfo;
}

async function writeInfo(file: string, info: SandboxInfo): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  // The file holds the demo password and API key: owner-only.
  await writeFile(temp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
}

/**
 * startSandbox opens (or creates) the data folder, seeds the demo account on
 * first start, listens on a loopback port and starts the pipeline clock.
 * It rejects with a clear message for a non-loopback hostname, bad options,
 * a port in use or a data folder it cannot use.
 */
export async function startSandbox(
  opts: SandboxOptions,
): Promise<RunningSandbox> {
  if (!opts || typeof opts.dataDir !== 'string' || opts.dataDir.trim() === '') {
    throw new Error('sandbox option dataDir is required');
  }
  const hostname = opts.hostname ?? SANDBOX_DEFAULTS.hostname;
  if (!isLoopbackHost(hostname)) {
    throw new Error(
      `sandbox hostname ${hostname} is not a loopback address; the sandbox listens on loopback only (127.0.0.1, ::1, localhost)`,
    );
  }
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `sandbox option port must be an integer from 0 to 65535, got ${port}`,
    );
  }
  const pipelineStepMs = positive(
    'pipelineStepMs',
    opts.pipelineStepMs,
    SANDBOX_DEFAULTS.pipelineStepMs,
    true,
  );
  const credentialTtlSeconds = positive(
    'credentialTtlSeconds',
    opts.credentialTtlSeconds,
    SANDBOX_DEFAULTS.credentialTtlSeconds,
  );
  const downloadUrlTtlSeconds = positive(
    'downloadUrlTtlSeconds',
    opts.downloadUrlTtlSeconds,
    SANDBOX_DEFAULTS.downloadUrlTtlSeconds,
  );
  const accessTtl = positive(
    'accessTokenTtlSeconds',
    opts.accessTokenTtlSeconds,
    SANDBOX_DEFAULTS.accessTokenTtlSeconds,
  );
  const refreshTtl = positive(
    'refreshTokenTtlSeconds',
    opts.refreshTokenTtlSeconds,
    SANDBOX_DEFAULTS.refreshTokenTtlSeconds,
  );
  const log = opts.log ?? (() => {});
  const now = (): number => Date.now();

  const dataDir = path.resolve(opts.dataDir);
  const objectsDir = path.join(dataDir, 'objects');
  const s3Root = path.join(objectsDir, 's3');
  let db: ReturnType<typeof openDatabase>;
  try {
    await mkdir(path.join(objectsDir, DELIVERABLES_DIR), { recursive: true });
    await mkdir(s3Root, { recursive: true });
    db = openDatabase(path.join(dataDir, 'sandbox.db'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `sandbox data folder ${dataDir} cannot be used: ${reason}`,
      { cause: error },
    );
  }
  let server: http.Server | null = null;
  let pipeline: Pipeline | null = null;
  try {
    const seeded = await seed(db, {
      now: now(),
      mfaUser: opts.mfaUser === true,
    });
    const tokens = new TokenService({
      db,
      secret: seeded.jwtSecret,
      accessTtlSeconds: accessTtl,
      refreshTtlSeconds: refreshTtl,
      now,
    });

    server = http.createServer();
    server.keepAliveTimeout = 5000;
    const address = await listen(
      server,
      port,
      hostname === 'localhost' ? '127.0.0.1' : hostname,
    );
    const host =
      address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const origin = `http://${host}:${address.port}`;
    const signer = new DownloadSigner({
      secret: seeded.downloadSecret,
      origin,
      ttlSeconds: downloadUrlTtlSeconds,
      now,
    });

    const ctx: SandboxContext = {
      db,
      tokens,
      signer,
      origin,
      dataDir,
      objectsDir,
      pipelineStepMs,
      credentialTtlSeconds,
      downloadUrlTtlSeconds,
      now,
      log,
      objectFile: (bucket, key) => objectPath(s3Root, bucket, key),
      wakePipeline: () => pipeline?.wake(),
    };
    pipeline = new Pipeline(ctx);

    const router = new Router<AuthUser>();
    router.add(
      ...authRoutes(ctx),
      ...projectRoutes(ctx),
      ...sampleRoutes(ctx),
      ...fileRoutes(ctx),
      ...uploadRoutes(ctx),
    );

    const s3 = createS3Handler({
      rootDir: s3Root,
      buckets: [UPLOAD_BUCKET],
      lookupCredentials: (accessKeyId) => lookupCredentials(ctx, accessKeyId),
      onObjectStored: (bucket, key, size) =>
        onObjectStored(ctx, bucket, key, size),
      now: () => new Date(now()),
    });

    server.on('request', (req, res) => {
      const started = Date.now();
      res.on('finish', () => {
        // Paths only: query strings can hold signatures.
        log(
          `${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode} ${Date.now() - started}ms`,
        );
      });
      const host = hostOfHeader(req.headers.host);
      if (!host || !isLoopbackHost(host)) {
        // Refusing other Host names keeps DNS-rebinding pages away from the
        // API.
        sendReply(
          res,
          {
            status: 403,
            json: {
              detail: `Host ${req.headers.host ?? '(none)'} is not allowed: the sandbox answers on loopback names only.`,
            },
          },
          {},
          false,
        );
        return;
      }
      const url = new URL(req.url ?? '/', origin);
      if (url.pathname.startsWith('/api/')) {
        void handleApi(ctx, router, req, res, url);
      } else if (url.pathname.startsWith('/downloads/')) {
        serveDownload(ctx, signer, req, res, url).catch((error: unknown) => {
          log(`download failed: ${errorText(error)}`);
          if (!res.headersSent) {
            sendReply(
              res,
              { status: 500, json: { detail: 'A server error occurred.' } },
              {},
              false,
            );
          } else {
            res.destroy();
          }
        });
      } else {
        try {
          s3(req, res);
        } catch (error) {
          log(`s3 handler failed: ${errorText(error)}`);
          if (!res.headersSent) {
            sendReply(
              res,
              { status: 500, json: { detail: 'A server error occurred.' } },
              {},
              false,
            );
          } else {
            res.destroy();
          }
        }
      }
    });

    const info: SandboxInfo = {
      api_url: origin,
      s3_endpoint: origin,
      email: seeded.email,
      password: seeded.password,
      api_key: seeded.apiKey,
      project_ids: seeded.projectIds,
    };
    const infoFile = path.join(dataDir, 'sandbox.json');
    await writeInfo(infoFile, info);
    pipeline.wake();
    log(`sandbox listening on ${origin} (data in ${dataDir})`);

    const running = server;
    const runningPipeline = pipeline;
    let closing: Promise<void> | null = null;
    return {
      info,
      close: () => {
        closing ??= (async () => {
          await closeServer(running);
          await runningPipeline.close();
          db.close();
          await rm(infoFile, { force: true });
          log('sandbox stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await pipeline?.close();
    if (server?.listening) {
      await closeServer(server);
    }
    db.close();
    throw error;
  }
}

async function closeServer(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
  await closed;
  clearTimeout(timer);
}

async function handleApi(
  ctx: SandboxContext,
  router: Router<AuthUser>,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const match = router.match(url.pathname);
  let allow: Record<string, string> = {};
  try {
    if (match.kind === 'none') {
      throw notFound();
    }
    allow = { Allow: match.allow };
    if (method === 'OPTIONS') {
      sendReply(res, { status: 200, json: {} }, allow, false);
      return;
    }
    const verb = method === 'HEAD' ? 'GET' : method;
    const handler =
      match.route.methods[verb as keyof typeof match.route.methods];
    if (!handler) {
      throw new ApiError(405, { detail: `Method "${method}" not allowed.` });
    }
    const user =
      match.route.auth === false
        ? (undefined as unknown as AuthUser)
        : authenticate(ctx.db, ctx.tokens, req.headers.authorization);
    let bodyPromise: Promise<unknown> | null = null;
    const request: ApiRequest<AuthUser> = {
      method,
      url,
      query: url.searchParams,
      params: match.params,
      headers: req.headers,
      user,
      body: () => (bodyPromise ??= readBody(req)),
    };
    const reply = await handler(request);
    sendReply(res, reply, allow, method === 'HEAD');
  } catch (error) {
    if (error instanceof ApiError) {
      sendReply(res, errorReply(error), allow, method === 'HEAD');
      if (error.status === 413) {
        // The rest of an oversized body is not read; drop the connection.
        res.on('finish', () => req.destroy());
      }
      return;
    }
    ctx.log(`${method} ${url.pathname}: ${errorText(error)}`);
    if (!res.headersSent) {
      sendReply(
        res,
        { status: 500, json: { detail: 'A server error occurred.' } },
        allow,
        method === 'HEAD',
      );
    } else {
      res.destroy();
    }
  } finally {
    // Bodies a handler did not read are drained, so keep-alive stays usable.
    if (!req.readableEnded) {
      req.resume();
    }
  }
}
