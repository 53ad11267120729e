import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { CancelledError, NetworkError } from '../errors.ts';
import { createAgents, destroyAgents, fetchToPart } from './transfer.ts';
import type { Agents } from './transfer.ts';

const MIB = 1024 * 1024;

/**
 * A loopback storage server for `body`: it honours `Range: bytes=N-`, and
 * when `cutAfter` is set it sends only that many bytes of a full answer
 * before closing the connection.
 */
async function startStorage(body: Buffer, cutAfter?: number) {
  const ranges: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    ranges.push(req.headers.range);
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    const headers = {
      'content-length': String(body.length - start),
      ...(match
        ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` }
        : {}),
    };
    res.writeHead(match ? 206 : 200, headers);
    if (cutAfter !== undefined && !match) {
      res.write(body.subarray(0, cutAfter), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bucket/file.bam`,
    ranges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('fetchToPart()', () => {
  let tmp: string;
  let agents: Agents;
  let storage: Awaited<ReturnType<typeof startStorage>> | null = null;
  const body = randomBytes(9 * MIB + 12345);
  const sha256 = createHash('sha256').update(body).digest('hex');

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'transfer-'));
    agents = createAgents(2);
  });

  afterEach(async () => {
    await storage?.close();
    storage = null;
  });

  afterAll(() => {
    destroyAgents(agents);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a body of many write batches byte for byte, with its SHA-256', async () => {
    storage = await startStorage(body);
    const partPath = path.join(tmp, 'whole.part');
    const progress: number[] = [];

    const result = await fetchToPart({
      url: storage.url,
      partPath,
      resume: false,
      agents,
      signal: new AbortController().signal,
      onBytes: (done) => progress.push(done),
    });

    expect(result).toMatchObject({
      size: body.length,
      sha256,
      resumed: false,
      total: body.length,
    });
    expect(readFileSync(partPath).equals(body)).toBe(true);
    expect(progress.at(-1)).toBe(body.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('keeps every byte that arrived before the connection broke, and continues from there', async () => {
    const cutAfter = 3 * MIB + 777;
    storage = await startStorage(body, cutAfter);
    const partPath = path.join(tmp, 'broken.part');
    const options = {
      url: storage.url,
      partPath,
      resume: true,
      agents,
      signal: new AbortController().signal,
    };

    const first = fetchToPart(options);

    await expect(first).rejects.toBeInstanceOf(NetworkError);
    expect(statSync(partPath).size).toBe(cutAfter);
    const again = await fetchToPart(options);
    expect(again).toMatchObject({ size: body.length, sha256, resumed: true });
    expect(storage.ranges).toEqual([undefined, `bytes=${cutAfter}-`]);
    expect(readFileSync(partPath).equals(body)).toBe(true);
  });

  it('says the body has arrived once, after the last byte, before it returns', async () => {
    storage = await startStorage(body);
    const partPath = path.join(tmp, 'received.part');
    const events: string[] = [];
    let bytesAtReceived = -1;
    let lastBytes = 0;

    const pending = fetchToPart({
      url: storage.url,
      partPath,
      resume: false,
      agents,
      signal: new AbortController().signal,
      onBytes: (done) => {
        lastBytes = done;
      },
      onReceived: () => {
        events.push('received');
        bytesAtReceived = lastBytes;
      },
    });
    const result = await pending;
    events.push('returned');

    expect(events).toEqual(['received', 'returned']);
    expect(bytesAtReceived).toBe(body.length);
    expect(result.sha256).toBe(sha256);
  });

  it('does not say the body has arrived when the connection breaks', async () => {
    storage = await startStorage(body, 2 * MIB + 5);
    const partPath = path.join(tmp, 'cut.part');
    let received = 0;

    const attempt = fetchToPart({
      url: storage.url,
      partPath,
      resume: false,
      agents,
      signal: new AbortController().signal,
      onReceived: () => received++,
    });

    await expect(attempt).rejects.toBeInstanceOf(NetworkError);
    expect(received).toBe(0);
    expect(statSync(partPath).size).toBe(2 * MIB + 5);
  });

  it('stops with CancelledError when aborted mid-body and keeps what was written', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      // Half the body, then nothing: the abort has to end the transfer.
      res.write(body.subarray(0, 4 * MIB));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const partPath = path.join(tmp, 'aborted.part');
    const controller = new AbortController();
    try {
      const attempt = fetchToPart({
        url: `http://127.0.0.1:${port}/bucket/slow.bam`,
        partPath,
        resume: false,
        agents,
        signal: controller.signal,
        onBytes: (done) => {
          if (done >= 4 * MIB) controller.abort();
        },
      });

      await expect(attempt).rejects.toBeInstanceOf(CancelledError);
      expect(statSync(partPath).size).toBe(4 * MIB);
      expect(readFileSync(partPath).equals(body.subarray(0, 4 * MIB))).toBe(
        true,
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
