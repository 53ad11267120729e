/**
 * Test helpers for the API client (used only by tests): a recording
 * node:http server on 127.0.0.1, a vcrpy cassette reader, and a loopback
 * port that is certainly closed.
 */
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

import { isScalar, parse } from 'yaml';
import type { Tags } from 'yaml';

/** A request as the test server received it. */
export interface ReceivedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type TestHandler = (
  req: ReceivedRequest,
  res: http.ServerResponse,
) => void | Promise<void>;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * startTestServer listens on an ephemeral loopback port and hands every
 * request, body read, to `handler`. A handler that throws answers 500.
 */
export async function startTestServer(
  handler: TestHandler,
): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const received: ReceivedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      Promise.resolve()
        .then(() => handler(received, res))
        .catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500);
          res.end(String(err));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON answer. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One recorded exchange of a vcrpy cassette. */
export interface Interaction {
  request: {
    method: string;
    uri: string;
    /** Text body, or null (binary S3 bodies are decoded as UTF-8). */
    body: string | null;
    headers: Record<string, string[]>;
  };
  response: {
    status: number;
    message: string;
    headers: Record<string, string[]>;
    body: string;
  };
}

// vcrpy writes Python objects for S3 request bodies; read them as plain
// data. `!!binary` is the YAML 1.1 tag the yaml package knows by name.
const PYTHON_TAGS: Tags = [
  'binary',
  {
    tag: 'tag:yaml.org,2002:python/tuple',
    collection: 'seq',
    resolve: (seq) =>
      (seq as { items: unknown[] }).items.map((item) =>
        isScalar(item) ? item.value : item,
      ),
  },
  {
    tag: 'tag:yaml.org,2002:python/object/new:_io.BytesIO',
    collection: 'map',
    // The state tuple is (bytes, position, dict); keep the bytes.
    resolve: (map) => {
      const state = (map as { get(key: string): unknown }).get('state');
      return { bytesIO: Array.isArray(state) ? state[0] : null };
    },
  },
] as Tags;

/** loadCassette reads a vcrpy (version 1) cassette file. */
export function loadCassette(file: string): Interaction[] {
  const doc = parse(fs.readFileSync(file, 'utf8'), {
    customTags: PYTHON_TAGS,
  }) as { interactions?: unknown[] };
  if (!doc || !Array.isArray(doc.interactions)) {
    throw new Error(`${file}: no interactions list`);
  }
  return doc.interactions.map((raw, i) => {
    const item = raw as Record<string, any>;
    const request = item.request ?? {};
    const response = item.response ?? {};
    if (typeof request.method !== 'string' || typeof request.uri !== 'string') {
      throw new Error(`${file}: interaction ${i} has no method or uri`);
    }
    return {
      request: {
        method: request.method,
        uri: request.uri,
        body: toText(request.body),
        headers: toHeaders(request.headers),
      },
      response: {
        status: Number(response.status?.code ?? 0),
        message: String(response.status?.message ?? ''),
        headers: toHeaders(response.headers),
        body: toText(response.body?.string) ?? '',
      },
    };
  });
}

function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'object' && 'bytesIO' in value) {
    return toText((value as { bytesIO: unknown }).bytesIO);
  }
  return JSON.stringify(value);
}

function toHeaders(value: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [key, list] of Object.entries(value)) {
    const items = Array.isArray(list) ? list : [list];
    out[key] = items.map((v) => toText(v) ?? '');
  }
  return out;
}

/** Lists every `*.yaml` file under `dir`, recursively, sorted. */
export function listCassettes(dir: string): string[] {
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = `${at}/${entry.name}`;
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.yaml')) found.push(full);
    }
  };
  walk(dir);
  return found.sort();
}
