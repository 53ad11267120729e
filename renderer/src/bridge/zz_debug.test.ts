// @vitest-environment jsdom
import { it } from 'vitest';
import { WebSocketServer } from 'ws';
it('dbg', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as any).port;
  wss.on('connection', (s, req) => console.log('server got', req.url, req.headers.origin));
  console.log('WS impl', String(globalThis.WebSocket).slice(0, 80));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise<void>((resolve) => {
    ws.addEventListener('open', () => { console.log('open'); resolve(); });
    ws.addEventListener('error', (e) => { console.log('error', (e as any).message, (e as any).error); });
    ws.addEventListener('close', (e) => { console.log('close', e.code, e.reason); resolve(); });
  });
  wss.close();
});
