// @vitest-environment jsdom
import type { AddressInfo } from 'node:net';

import { cleanup, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient, WebSocketServer } from 'ws';

import { createWsBridge } from '../bridge/wsBridge.ts';
import type { WsBridge } from '../bridge/wsBridge.ts';
import { createFakeBridge } from '../test/fakeBridge.ts';
import { renderApp } from '../test/renderApp.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';

// jsdom's WebSocket fails under vitest (see wsBridge.test.ts); use ws's.
const ClientSocket = WsClient as unknown as typeof WebSocket;

const bridges: WsBridge[] = [];
const servers: WebSocketServer[] = [];

afterEach(async () => {
  cleanup();
  for (const b of bridges.splice(0)) {
    b.close();
  }
  for (const s of servers.splice(0)) {
    for (const c of s.clients) {
      c.terminate();
    }
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function freePort(): Promise<number> {
  const s = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => s.once('listening', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function wsBridge(port: number, token: string | null): WsBridge {
  const b = createWsBridge({
    url: `ws://127.0.0.1:${port}/ws${token ? `?token=${token}` : ''}`,
    token,
    WebSocketImpl: ClientSocket,
    reconnectDelaysMs: [20],
  });
  bridges.push(b);
  return b;
}

describe('ConnectionBanner', () => {
  it('says nothing on the desktop', () => {
    renderApp(<ConnectionBanner />, createFakeBridge());

    expect(screen.queryByTestId('connection-banner')).toBeNull();
  });

  it('says the server cannot be reached when it never connected', async () => {
    const port = await freePort();
    renderApp(<ConnectionBanner />, wsBridge(port, 'tok'));

    const banner = await screen.findByTestId('connection-banner');
    expect(banner.textContent).toContain(
      'Cannot reach the gencove-desktop server',
    );
  });

  it('asks for the serve link when the page has no token', async () => {
    const port = await freePort();
    renderApp(<ConnectionBanner />, wsBridge(port, null));

    expect(
      (await screen.findByTestId('connection-banner')).textContent,
    ).toContain('no access token');
  });

  it('shows a lost connection and disappears once reconnected', async () => {
    const port = await freePort();
    const first = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise((resolve) => first.once('listening', resolve));
    const bridge = wsBridge(port, 'tok');
    renderApp(<ConnectionBanner />, bridge);
    await waitFor(() => expect(bridge.connection().status).toBe('open'));
    expect(screen.queryByTestId('connection-banner')).toBeNull();

    for (const c of first.clients) {
      c.terminate();
    }
    await new Promise<void>((resolve) => first.close(() => resolve()));
    const banner = await screen.findByTestId('connection-banner');
    expect(banner.textContent).toContain('reconnecting');
    const second = new WebSocketServer({ host: '127.0.0.1', port });
    servers.push(second);

    await waitFor(() =>
      expect(screen.queryByTestId('connection-banner')).toBeNull(),
    );
  });
});
