import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { NetworkError } from '../errors.ts';
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
});
