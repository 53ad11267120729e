/**
 * Serve mode over real sockets on loopback: the HTTP guards, the WebSocket
 * guards (token, Host, Origin) and a real session through a real AppService
 * and the built-in sandbox.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

import type { ServerFrame } from '../shared/contract.ts';
import { startServe } from './serve.ts';
import type { ServeHandle } from './serve.ts';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An HTTP request with exactly the headers given (no automatic Host). */
function request(
  port: number,
  urlPath: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        headers,
        setHost: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
        );
      },
    );
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade request; resolves with the HTTP status of the answer. */
function upgrade(
  port: number,
  urlPath: string,
  headers: Record<string, string>,
): Promise<RawAnswer> {
  return request(port, urlPath, {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  });
}

/** A client that numbers calls and collects events. */
class Client {
  readonly events: ServerFrame[] = [];
  readonly #ws: WebSocket;
  readonly #waiting = new Map<number, (frame: ServerFrame) => void>();
  #nextId = 1;

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ServerFrame;
      if ('id' in frame) this.#waiting.get(frame.id)?.(frame);
      else this.events.push(frame);
    });
  }

  static async open(url: string, origin: string): Promise<Client> {
    const ws = new WebSocket(url, { headers: { Origin: origin } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Client(ws);
  }

  call(channel: string, request: unknown): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, (frame) =>
        resolve('result' in frame ? frame.result : null),
      );
      this.#ws.send(JSON.stringify({ id, channel, request }));
    });
  }

  sendRaw(text: string): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => {
      this.#ws.once('close', (code, reason) =>
        resolve({ code, reason: String(reason) }),
      );
      this.#ws.send(text);
    });
  }

  close(): void {
    this.#ws.close();
  }
}

describe('startServe()', () => {
  let dataDir: string;
  let rendererDir: string;
  let serve: ServeHandle;
  let token: string;
  let origin: string;
  let host: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'serve-test-'));
    rendererDir = path.join(dataDir, 'renderer');
    await fs.mkdir(path.join(rendererDir, 'assets'), { recursive: true });
    await fs.writeFile(
      path.join(rendererDir, 'index.html'),
      '<!doctype html><title>Gencove Desktop</title><script type="module" src="/assets/app.js"></script>',
    );
    await fs.writeFile(
      path.join(rendererDir, 'assets', 'app.js'),
      'export {};\n',
    );
    await fs.writeFile(
      path.join(dataDir, 'secret.txt'),
      'outside the renderer',
    );

    serve = await startServe({ dataDir, rendererDir, host: '127.0.0.1' });
    const url = new URL(serve.url);
    token = url.searchParams.get('token')!;
    host = `127.0.0.1:${serve.port}`;
    origin = `http://${host}`;
  });

  afterAll(async () => {
    await serve?.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('prints a loopback URL with a 256-bit token', () => {
    expect(serve.url).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/,
    );
  });

  it.each([['0.0.0.0'], ['::'], ['192.168.1.10'], ['localhost']])(
    'refuses to listen on %s',
    async (bind) => {
      await expect(
        startServe({ dataDir, rendererDir, host: bind }),
      ).rejects.toThrow('Serve mode listens on 127.0.0.1 only');
    },
  );

  it('refuses to start without a built renderer', async () => {
    await expect(
      startServe({ dataDir, rendererDir: path.join(dataDir, 'nothing-here') }),
    ).rejects.toThrow('The renderer is not built');
  });

  describe('HTTP', () => {
    it('serves index.html with a strict CSP naming this port, and no referrer', async () => {
      const answer = await request(serve.port, '/', { Host: host });

      expect(answer.status).toBe(200);
      expect(answer.body).toContain('<title>Gencove Desktop</title>');
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['content-security-policy']).toBe(
        `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self' ws://127.0.0.1:${serve.port} ws://localhost:${serve.port}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      );
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['cache-control']).toBe('no-store');
    });

    it('serves assets with their type, and index.html for client-side routes', async () => {
      const script = await request(serve.port, '/assets/app.js', {
        Host: host,
      });
      const route = await request(serve.port, '/projects/123', {
        Host: `localhost:${serve.port}`,
      });
      const missing = await request(serve.port, '/assets/missing.js', {
        Host: host,
      });

      expect(script.status).toBe(200);
      expect(script.headers['content-type']).toBe(
        'text/javascript; charset=utf-8',
      );
      expect(route.status).toBe(200);
      expect(route.body).toContain('<title>');
      expect(missing.status).toBe(404);
    });

    it.each([
      ['/../secret.txt'],
      ['/%2e%2e/secret.txt'],
      ['/assets/..%2f..%2fsecret.txt'],
      ['/%2e%2e%5csecret.txt'],
      ['/assets/app.js%00.png'],
    ])('never serves files outside the renderer (%s)', async (urlPath) => {
      const answer = await request(serve.port, urlPath, { Host: host });

      expect(answer.body).not.toContain('outside the renderer');
    });

    it.each([
      ['a rebound DNS name', 'attacker.example'],
      ['a rebound DNS name with our port', `attacker.example:${0}`],
      ['our address on another port', '127.0.0.1:1'],
      ['our address without the port', '127.0.0.1'],
    ])('refuses a request with %s in Host', async (_what, hostHeader) => {
      const value = hostHeader.endsWith(':0')
        ? hostHeader.replace(':0', `:${serve.port}`)
        : hostHeader;

      const answer = await request(serve.port, '/', { Host: value });

      expect(answer.status).toBe(403);
      expect(answer.body).toContain('unexpected Host header');
    });

    it('refuses a request without Host (Node answers 400 itself)', async () => {
      const answer = await request(serve.port, '/', {});

      expect(answer.status).toBe(400);
    });

    it('refuses methods other than GET and HEAD', async () => {
      const answer = await request(serve.port, '/', { Host: host }, 'POST');

      expect(answer.status).toBe(405);
    });
  });

  describe('WebSocket guards', () => {
    const good = () => ({ Host: host, Origin: origin });

    it.each([
      ['no token', () => '/ws', good, 401],
      ['a wrong token', () => `/ws?token=${'A'.repeat(43)}`, good, 401],
      ['a token of another length', () => `/ws?token=${token}x`, good, 401],
      ['an empty token', () => '/ws?token=', good, 401],
      [
        'a foreign Origin',
        () => `/ws?token=${token}`,
        () => ({ Host: host, Origin: 'http://attacker.example' }),
        403,
      ],
      [
        'our host on another port as Origin',
        () => `/ws?token=${token}`,
        () => ({ Host: host, Origin: 'http://127.0.0.1:1' }),
        403,
      ],
      [
        'an https Origin',
        () => `/ws?token=${token}`,
        () => ({ Host: host, Origin: `https://${host}` }),
        403,
      ],
      [
        'a file:// page as Origin',
        () => `/ws?token=${token}`,
        () => ({ Host: host, Origin: 'null' }),
        403,
      ],
      ['no Origin', () => `/ws?token=${token}`, () => ({ Host: host }), 403],
      [
        'a rebound Host',
        () => `/ws?token=${token}`,
        () => ({
          Host: `attacker.example:${serve.port}`,
          Origin: `http://attacker.example:${serve.port}`,
        }),
        403,
      ],
      ['another path', () => `/socket?token=${token}`, good, 404],
    ])(
      'refuses an upgrade with %s',
      async (_what, urlPath, headers, status) => {
        const answer = await upgrade(serve.port, urlPath(), headers());

        expect(answer.status).toBe(status);
      },
    );

    it('accepts localhost as Host and Origin', async () => {
      const client = await Client.open(
        `ws://localhost:${serve.port}/ws?token=${token}`,
        `http://localhost:${serve.port}`,
      );

      const session = await client.call('session:get', {});
      client.close();

      expect(session).toMatchObject({ ok: true, value: { mode: 'serve' } });
    });

    it('answers plain HTTP on /ws with 426', async () => {
      const answer = await request(serve.port, '/ws', { Host: host });

      expect(answer.status).toBe(426);
    });
  });

  describe('a session over the socket', () => {
    let client: Client;

    beforeAll(async () => {
      client = await Client.open(`ws://${host}/ws?token=${token}`, origin);
    });

    afterAll(() => {
      client.close();
    });

    it('signs in to the sandbox, lists projects, reports the session event, and signs out', async () => {
      const before = await client.call('session:get', {});
      const signIn = await client.call('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
      });
      const projects = (await client.call('projects:list', {})) as {
        ok: boolean;
        value: { id: string; name: string }[];
      };
      const signOut = await client.call('session:signOut', {});

      expect(before).toMatchObject({
        ok: true,
        value: { signedIn: false, mode: 'serve' },
      });
      expect(signIn).toMatchObject({
        ok: true,
        value: { signedIn: true, sandbox: true },
      });
      expect(projects.ok).toBe(true);
      expect(projects.value.length).toBeGreaterThan(0);
      expect(signOut).toMatchObject({ ok: true, value: { signedIn: false } });
      expect(client.events).toContainEqual({
        event: 'session:didChange',
        payload: expect.objectContaining({ signedIn: true }),
      });
    });

    it('validates payloads and channel names like IPC does', async () => {
      const unknown = await client.call('shell:exec', { command: 'ls' });
      const invalid = await client.call('samples:get', { sampleId: 'nope' });
      const unsupported = await client.call('fs:pickFolder', {});

      expect(unknown).toEqual({
        ok: false,
        error: {
          code: 'unknown-channel',
          message: 'Unknown channel "shell:exec".',
        },
      });
      expect(invalid).toMatchObject({
        ok: false,
        error: { code: 'invalid-request' },
      });
      expect(unsupported).toMatchObject({
        ok: false,
        error: { code: 'unsupported' },
      });
    });

    it('lists folders for the folder browser', async () => {
      const listing = await client.call('fs:list', { path: rendererDir });

      expect(listing).toEqual({
        ok: true,
        value: {
          path: rendererDir,
          parent: dataDir,
          entries: [
            {
              name: 'assets',
              path: path.join(rendererDir, 'assets'),
              kind: 'dir',
              size: null,
            },
            {
              name: 'index.html',
              path: path.join(rendererDir, 'index.html'),
              kind: 'file',
              size: expect.any(Number),
            },
          ],
        },
      });
    });

    it('closes the socket on a frame that cannot be answered', async () => {
      const other = await Client.open(`ws://${host}/ws?token=${token}`, origin);

      const closed = await other.sendRaw('this is not JSON');

      expect(closed).toEqual({ code: 1007, reason: 'Malformed frame' });
    });
  });
});
