/**
 * Serve mode: the built renderer and the contract (over a WebSocket) on
 * 127.0.0.1, for browsers on the same machine. Guards, in order:
 *
 * 1. the server listens on the loopback interface only;
 * 2. every request must name us in its Host header (`127.0.0.1:PORT` or
 *    `localhost:PORT`), which defeats DNS rebinding;
 * 3. the WebSocket upgrade must come from our own origin (Origin header),
 *    which defeats cross-site WebSocket hijacking;
 * 4. and must carry the random token of the URL printed at start-up,
 *    compared in constant time.
 *
 * Behind the socket, calls go through the same dispatcher as Electron IPC.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';

import type { ServerFrame } from '../shared/contract.ts';
import { ValidationError } from './engine/errors.ts';
import { AppService } from './service/appService.ts';
import { createDispatcher } from './service/dispatcher.ts';
import type { ContractService, Dispatch } from './service/dispatcher.ts';
import { forwardEvents } from './service/eventForwarder.ts';
import { MemorySecretStore } from './service/secretStore.ts';

/** The only address serve mode listens on. */
export const SERVE_HOST = '127.0.0.1';

/** Path of the WebSocket endpoint. */
export const SOCKET_PATH = '/ws';

/**
 * Largest client frame accepted: a plan:create of 10,000 paths of 4,096
 * characters fits.
 */
const MAX_FRAME_BYTES = 48 * 1024 * 1024;

/** Options of {@link startServe}. */
export interface ServeOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  /** The app's data folder (journal, built-in sandbox). */
  dataDir: string;
  /** Must be '127.0.0.1' when given: serve mode never listens elsewhere. */
  host?: string;
  /** Folder of the built renderer (holding index.html). */
  rendererDir: string;
  /**
   * The service to serve instead of a new AppService over `dataDir`. The
   * caller then owns it: `close()` does not close it.
   */
  service?: ContractService;
  /** Receives the detail of failures (never shown to users). */
  log?: (line: string) => void;
  /** Start signed in to the built-in sandbox (for a service made here). */
  startInSandbox?: boolean;
}

/** A running serve mode. */
export interface ServeHandle {
  /** Address to open in a browser, with the token: `http://127.0.0.1:P/?token=…`. */
  url: string;
  port: number;
  /** Stops accepting, closes every socket and the service it created. */
  close(): Promise<void>;
}

/**
 * startServe listens on 127.0.0.1 and resolves once it accepts connections.
 * Rejects with a ValidationError for another bind address, a bad port, or a
 * `rendererDir` without index.html (the renderer is not built), and with the
 * listen error (port in use...) otherwise.
 */
export async function startServe(opts: ServeOptions): Promise<ServeHandle> {
  const host = opts.host ?? SERVE_HOST;
  if (host !== SERVE_HOST) {
    throw new ValidationError(
      'host',
      `Serve mode listens on ${SERVE_HOST} only, not on "${host}": it must not be reachable from other machines.`,
    );
  }
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ValidationError(
      'port',
      `Port ${String(port)} is not a TCP port (0 to 65535).`,
    );
  }
  const rendererDir = path.resolve(opts.rendererDir);
  if (!fs.existsSync(path.join(rendererDir, 'index.html'))) {
    throw new ValidationError(
      'rendererDir',
      `The renderer is not built: ${path.join(rendererDir, 'index.html')} is missing (run \`npm run build:renderer\`).`,
    );
  }

  const log = opts.log ?? (() => {});
  const ownedService = opts.service
    ? null
    : new AppService({
        dataDir: opts.dataDir,
        mode: 'serve',
        secretStore: new MemorySecretStore(),
        startInSandbox: opts.startInSandbox,
        log,
      });
  const service: ContractService = opts.service ?? ownedService!;
  // Sign in now (the remembered or first-run session), so that watch folders
  // are watched before any browser connects; failures only get logged.
  void ownedService?.start().catch((err: unknown) => {
    log(`serve: start: ${err instanceof Error ? err.message : String(err)}`);
  });
  const dispatch = createDispatcher(service, log);
  const token = randomBytes(32).toString('base64url');

  // The port is known only after listen(); the guards read it from here.
  const state = { port: 0 };
  const server = http.createServer((req, res) => {
    void serveHttp(req, res, rendererDir, state.port).catch((err) => {
      log(`Serve/http: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
  });
  server.on('upgrade', (req, socket, head) => {
    const refusal = checkUpgrade(req, state.port, token);
    if (refusal) {
      refuseUpgrade(socket, refusal.status, refusal.reason);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      serveSocket(ws, service, dispatch);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, SERVE_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch(async (err) => {
    await ownedService?.close();
    throw err;
  });
  state.port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${SERVE_HOST}:${state.port}/?token=${token}`,
    port: state.port,
    close() {
      closing ??= (async () => {
        for (const ws of sockets.clients) ws.close(1001, 'Server stopping');
        await new Promise<void>((resolve) => sockets.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        for (const ws of sockets.clients) ws.terminate();
        await ownedService?.close();
      })();
      return closing;
    },
  };
}

/** True when the Host header names this server. */
export function isOurHost(
  hostHeader: string | undefined,
  port: number,
): boolean {
  return (
    hostHeader === `${SERVE_HOST}:${port}` || hostHeader === `localhost:${port}`
  );
}

/** True when the Origin header is one of this server's own origins. */
export function isOurOrigin(origin: string | undefined, port: number): boolean {
  return (
    origin === `http://${SERVE_HOST}:${port}` ||
    origin === `http://localhost:${port}`
  );
}

/** Compares two tokens in time independent of where they differ. */
function tokensMatch(given: string, expected: string): boolean {
  // Hashing first makes the lengths equal, as timingSafeEqual requires.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function checkUpgrade(
  req: http.IncomingMessage,
  port: number,
  token: string,
): { status: number; reason: string } | null {
  if (!isOurHost(req.headers.host, port)) {
    return { status: 403, reason: 'unexpected Host header' };
  }
  const url = new URL(req.url ?? '/', `http://${SERVE_HOST}:${port}`);
  if (url.pathname !== SOCKET_PATH) {
    return { status: 404, reason: 'no such endpoint' };
  }
  if (!isOurOrigin(req.headers.origin, port)) {
    return { status: 403, reason: 'unexpected Origin header' };
  }
  const given = url.searchParams.get('token');
  if (given === null || !tokensMatch(given, token)) {
    return { status: 401, reason: 'missing or wrong token' };
  }
  return null;
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = `${http.STATUS_CODES[status] ?? 'Refused'}: ${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Refused'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** One browser tab: calls in, results and events out. */
function serveSocket(
  ws: WebSocket,
  service: ContractService,
  dispatch: Dispatch,
): void {
  const send = (frame: ServerFrame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  const stopEvents = forwardEvents(service, (event, payload) => {
    send({ event, payload });
  });
  ws.on('close', stopEvents);
  ws.on('error', () => ws.terminate());

  ws.on('message', (data: RawData, isBinary: boolean) => {
    const frame = isBinary ? null : parseClientFrame(data);
    if (!frame) {
      // Without an id there is nothing to answer to.
      ws.close(1007, 'Malformed frame');
      return;
    }
    void dispatch(frame.channel, frame.request).then((result) => {
      send({ id: frame.id, result });
    });
  });
}

/** A client frame with a usable id, or null. */
function parseClientFrame(
  data: RawData,
): { id: number; channel: unknown; request: unknown } | null {
  let value: unknown;
  try {
    value = JSON.parse(rawText(data));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return null;
  }
  const frame = value as Record<string, unknown>;
  if (!Number.isSafeInteger(frame.id)) return null;
  return {
    id: frame.id as number,
    channel: frame.channel,
    request: frame.request,
  };
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers of every HTTP answer. */
function securityHeaders(port: number): Record<string, string> {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${SERVE_HOST}:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    // The page URL holds the token: never send it anywhere.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
}

async function serveHttp(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  rendererDir: string,
  port: number,
): Promise<void> {
  const headers = securityHeaders(port);
  const reply = (status: number, text: string, extra = {}) => {
    res.writeHead(status, {
      ...headers,
      'Content-Type': 'text/plain; charset=utf-8',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
  };

  if (!isOurHost(req.headers.host, port)) {
    reply(403, 'Forbidden: unexpected Host header');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
    return;
  }
  const url = new URL(req.url ?? '/', `http://${SERVE_HOST}:${port}`);
  if (url.pathname === SOCKET_PATH) {
    reply(426, 'Upgrade Required: this is a WebSocket endpoint', {
      Upgrade: 'websocket',
    });
    return;
  }

  const file = await resolveStaticFile(rendererDir, url.pathname);
  if (!file) {
    reply(404, 'Not Found');
    return;
  }
  const isIndex = path.basename(file.path) === 'index.html';
  res.writeHead(200, {
    ...headers,
    'Content-Type':
      CONTENT_TYPES[path.extname(file.path).toLowerCase()] ??
      'application/octet-stream',
    'Content-Length': String(file.size),
    'Cache-Control': isIndex ? 'no-store' : 'no-cache',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(fs.createReadStream(file.path), res);
}

/**
 * The file under `root` that a URL path names; index.html for `/` and for
 * extension-less paths that name no file (client-side routes); null when
 * nothing matches or the path leaves `root`.
 */
async function resolveStaticFile(
  root: string,
  urlPath: string,
): Promise<{ path: string; size: number } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;

  const candidate = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  if (candidate !== root && !candidate.startsWith(root + path.sep)) {
    return null;
  }
  const found = await statFile(candidate);
  if (found) return found;
  if (path.extname(decoded) === '') {
    return statFile(path.join(root, 'index.html'));
  }
  return null;
}

async function statFile(
  filePath: string,
): Promise<{ path: string; size: number } | null> {
  try {
    const stat = await fs.promises.stat(filePath);
    if (stat.isFile()) return { path: filePath, size: stat.size };
    if (stat.isDirectory()) return statFile(path.join(filePath, 'index.html'));
    return null;
  } catch {
    return null;
  }
}
