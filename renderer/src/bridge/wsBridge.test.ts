// @vitest-environment jsdom
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as WsClient, WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';

import type { ClientFrame } from '../../../shared/contract.ts';
import {
  TOKEN_STORAGE_KEY,
  createWsBridge,
  serveSocketUrl,
  takeServeToken,
} from './wsBridge.ts';
import type { ConnectionState, WsBridge } from './wsBridge.ts';

/** A real WebSocket server on loopback that records what it gets. */
class TestServer {
  readonly wss: WebSocketServer;
  readonly frames: ClientFrame[] = [];
  readonly urls: string[] = [];
  readonly sockets: ServerSocket[] = [];
  onFrame: (frame: ClientFrame, socket: ServerSocket) => void = (
    frame,
    socket,
  ) =>
    socket.send(
      JSON.stringify({
        id: frame.id,
        result: { ok: true, value: frame.channel },
      }),
    );

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (socket, req) => {
      this.urls.push(req.url ?? '');
      this.sockets.push(socket);
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data)) as ClientFrame;
        this.frames.push(frame);
        this.onFrame(frame, socket);
      });
    });
  }

  static async start(port = 0): Promise<TestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new TestServer(wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  url(token = 'tok'): string {
    return `ws://127.0.0.1:${this.port}/ws?token=${token}`;
  }

  broadcast(frame: unknown): void {
    for (const s of this.sockets) {
      s.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) {
      s.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

const servers: TestServer[] = [];
const bridges: WsBridge[] = [];

async function server(port = 0): Promise<TestServer> {
  const s = await TestServer.start(port);
  servers.push(s);
  return s;
}

/*
 * The client socket is the `ws` package's WebSocket (same browser-style API:
 * addEventListener, readyState, send, close). jsdom's own WebSocket cannot be
 * used under vitest: its undici socket dispatches an Event from another realm
 * and throws ERR_INVALID_ARG_TYPE before 'open' fires.
 */
const ClientSocket = WsClient as unknown as typeof WebSocket;

function bridge(
  url: string,
  extra: Parameters<typeof createWsBridge>[0] = {},
): WsBridge {
  const b = createWsBridge({
    url,
    token: 'tok',
    WebSocketImpl: ClientSocket,
    reconnectDelaysMs: [20, 40, 80],
    random: () => 0.5,
    ...extra,
  });
  bridges.push(b);
  return b;
}

function until(b: WsBridge, status: ConnectionState['status']): Promise<void> {
  if (b.connection().status === status) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const off = b.onConnectionChange((s) => {
      if (s.status === status) {
        off();
        resolve();
      }
    });
  });
}

afterEach(async () => {
  for (const b of bridges.splice(0)) {
    b.close();
  }
  for (const s of servers.splice(0)) {
    await s.stop();
  }
});

describe('takeServeToken()', () => {
  it('takes the token from ?token=, keeps it for the tab and removes it from the URL', () => {
    sessionStorage.clear();
    history.replaceState(null, '', '/app/?view=projects&token=s3cr3t#section');

    const token = takeServeToken(window);

    expect(token).toBe('s3cr3t');
    expect(sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe('s3cr3t');
    expect(location.search).toBe('?view=projects');
    expect(location.hash).toBe('#section');
  });

  it('takes the token from #token= too', () => {
    sessionStorage.clear();
    history.replaceState(null, '', '/#token=from-hash');

    expect(takeServeToken(window)).toBe('from-hash');
    expect(location.hash).toBe('');
    expect(location.href).not.toContain('from-hash');
  });

  it('falls back to the token kept in sessionStorage after a reload', () => {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, 'kept');
    history.replaceState(null, '', '/');

    expect(takeServeToken(window)).toBe('kept');
  });

  it('returns null when there is no token anywhere', () => {
    sessionStorage.clear();
    history.replaceState(null, '', '/');

    expect(takeServeToken(window)).toBeNull();
  });
});

describe('serveSocketUrl()', () => {
  it('uses ws:// for http pages and wss:// for https pages, with the token encoded', () => {
    expect(
      serveSocketUrl({ protocol: 'http:', host: '127.0.0.1:8123' }, 'a b&c'),
    ).toBe('ws://127.0.0.1:8123/ws?token=a%20b%26c');
    expect(serveSocketUrl({ protocol: 'https:', host: 'lab.local' }, 't')).toBe(
      'wss://lab.local/ws?token=t',
    );
    expect(serveSocketUrl({ protocol: 'http:', host: 'h' }, null)).toBe(
      'ws://h/ws',
    );
  });
});

describe('createWsBridge()', () => {
  it('sends frames with request ids and matches answers that arrive out of order', async () => {
    const s = await server();
    const held: { frame: ClientFrame; socket: ServerSocket }[] = [];
    s.onFrame = (frame, socket) => {
      held.push({ frame, socket });
      if (held.length === 2) {
        for (const h of [...held].reverse()) {
          h.socket.send(
            JSON.stringify({
              id: h.frame.id,
              result: { ok: true, value: { echo: h.frame.request } },
            }),
          );
        }
      }
    };
    const b = bridge(s.url());

    const [first, second] = await Promise.all([
      b.invoke('projects:list', { search: 'dog' }),
      b.invoke('samples:get', {
        sampleId: '3f2a9c1e-0b7d-4c55-9e61-2a8f5d0c7b14',
      }),
    ]);

    expect(first).toEqual({ ok: true, value: { echo: { search: 'dog' } } });
    expect(second).toEqual({
      ok: true,
      value: { echo: { sampleId: '3f2a9c1e-0b7d-4c55-9e61-2a8f5d0c7b14' } },
    });
    expect(s.frames.map((f) => f.channel)).toEqual([
      'projects:list',
      'samples:get',
    ]);
    expect(new Set(s.frames.map((f) => f.id)).size).toBe(2);
    expect(s.urls).toEqual(['/ws?token=tok']);
    expect(b.mode).toBe('serve');
  });

  it('passes error results through unchanged', async () => {
    const s = await server();
    s.onFrame = (frame, socket) =>
      socket.send(
        JSON.stringify({
          id: frame.id,
          result: {
            ok: false,
            error: { code: 'not-signed-in', message: 'Sign in first.' },
          },
        }),
      );
    const b = bridge(s.url());

    const result = await b.invoke('projects:list', {});

    expect(result).toEqual({
      ok: false,
      error: { code: 'not-signed-in', message: 'Sign in first.' },
    });
  });

  it('delivers events to listeners until they unsubscribe, and ignores junk frames', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const s = await server();
    const b = bridge(s.url());
    await until(b, 'open');
    const seen: unknown[] = [];
    const off = b.on('transfers:didChange', (payload) => seen.push(payload));
    const session: unknown[] = [];
    b.on('session:didChange', (payload) => session.push(payload));

    s.broadcast('not json');
    s.broadcast({ event: 'not:an-event', payload: 1 });
    s.broadcast({ event: 'transfers:didChange', payload: [{ id: 'j1' }] });
    s.broadcast({ event: 'session:didChange', payload: { signedIn: false } });
    await b.invoke('session:get', {});
    off();
    s.broadcast({ event: 'transfers:didChange', payload: [{ id: 'j2' }] });
    await b.invoke('session:get', {});

    expect(seen).toEqual([[{ id: 'j1' }]]);
    expect(session).toEqual([{ signedIn: false }]);
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      'wsBridge: ignored a frame that is not JSON',
      'wsBridge: ignored a frame of unknown shape',
    ]);
    warn.mockRestore();
  });

  it('answers a malformed result with an internal error naming the channel', async () => {
    const s = await server();
    s.onFrame = (frame, socket) =>
      socket.send(JSON.stringify({ id: frame.id, result: 'yes' }));
    const b = bridge(s.url());

    const result = await b.invoke('fs:list', {});

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('internal');
    expect(!result.ok && result.error.message).toContain('"fs:list"');
  });

  it('fails pending requests with a clear network error when the connection drops', async () => {
    const s = await server();
    s.onFrame = (_frame, socket) => socket.terminate();
    const b = bridge(s.url());

    const result = await b.invoke('upload:start', { planId: 'p1' });

    expect(result).toEqual({
      ok: false,
      error: {
        code: 'network',
        message:
          'The connection to the gencove-desktop server closed before "upload:start" was answered; it may or may not have been carried out.',
      },
    });
  });

  it('reconnects with backoff and sends requests made while it was down', async () => {
    const s = await server();
    const port = s.port;
    const b = bridge(s.url());
    await until(b, 'open');
    const states: string[] = [];
    b.onConnectionChange((st) => states.push(st.status));

    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    await until(b, 'reconnecting');
    const waiting = b.invoke('session:get', {});
    const again = await server(port);
    const result = await waiting;

    expect(result).toEqual({ ok: true, value: 'session:get' });
    expect(again.frames.map((f) => f.channel)).toEqual(['session:get']);
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('open');
    expect(b.connection().everConnected).toBe(true);
    expect(b.connection().failedAttempts).toBe(0);
  });

  it('fails a request made while disconnected once the wait runs out', async () => {
    const s = await server();
    const port = s.port;
    await s.stop();
    servers.splice(0);
    const b = bridge(`ws://127.0.0.1:${port}/ws?token=tok`, {
      queueTimeoutMs: 150,
    });

    const result = await b.invoke('projects:list', {});

    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toEqual({
      code: 'network',
      message:
        'Not connected to the gencove-desktop server; "projects:list" was not sent.',
    });
    expect(b.connection().status).toBe('reconnecting');
    expect(b.connection().everConnected).toBe(false);
    expect(b.connection().failedAttempts).toBeGreaterThan(0);
  });

  it('mentions the serve link when the page has no token', async () => {
    const s = await server();
    const port = s.port;
    await s.stop();
    servers.splice(0);
    const b = bridge(`ws://127.0.0.1:${port}/ws`, {
      token: null,
      queueTimeoutMs: 50,
    });

    const result = await b.invoke('session:get', {});

    expect(!result.ok && result.error.message).toContain(
      'gencove-desktop serve',
    );
    expect(b.connection().hasToken).toBe(false);
  });

  it('stops for good on close(), failing what was pending', async () => {
    const s = await server();
    s.onFrame = () => undefined;
    const b = bridge(s.url());
    await until(b, 'open');

    const pending = b.invoke('transfers:list', {});
    await new Promise((r) => setTimeout(r, 20));
    b.close();
    const result = await pending;
    const after = await b.invoke('transfers:list', {});

    expect(!result.ok && result.error.code).toBe('network');
    expect(!after.ok && after.error.message).toContain('was closed');
    expect(b.connection().status).toBe('closed');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.urls).toHaveLength(1);
  });
});
