import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { LocalFileError } from './checkedRead.ts';
import type { CheckedFile } from './checkedRead.ts';
import {
  FileRangeBody,
  UploadRequestHandler,
  readRange,
} from './requestHandler.ts';
import type { SdkHttpRequest } from './requestHandler.ts';
import { SHARED_DATA } from '../../../test/shared.ts';

const dataDir = SHARED_DATA;

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback server that records each request and answers `reply`. */
async function startServer(
  reply: (req: Received, res: http.ServerResponse) => void = (_, res) => {
    res.writeHead(200, { etag: '"e1"', 'x-multi': ['a', 'b'] });
    res.end('ok');
  },
) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      received.push(entry);
      reply(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function put(
  port: number,
  body: unknown,
  extra: Partial<SdkHttpRequest> = {},
): SdkHttpRequest {
  return {
    method: 'PUT',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: '/bucket/some%20key',
    headers: { host: `127.0.0.1:${port}` },
    body,
    ...extra,
  };
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

describe('requestHandler', () => {
  let tmp: string;
  let files: CheckedFile[];
  let joined: Buffer;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'request-handler-'));
    const sources = [
      'fastq/pairs/spades_ecoli_1K/ecoli_1K_1.fq.gz',
      'fastq/pairs/sequana_measles_Hm2/Hm2_GTGAAA_L005_R1_001.fastq.gz',
      'fastq/pairs/seqkit_hiseq2500/reads_1.fq.gz',
    ];
    files = sources.map((source, i) => {
      const target = path.join(tmp, `f${i}.fastq.gz`);
      copyFileSync(path.join(dataDir, source), target);
      return { path: target, size: statSync(target).size };
    });
    joined = Buffer.concat(files.map((f) => readFileSync(f.path)));
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('readRange()', () => {
    const cases = [
      { name: 'inside the first file', offset: 10, length: 1000 },
      { name: 'across the first two files', offset: 100_000, length: 50_000 },
      { name: 'across all three files', offset: 5, length: -10 },
      { name: 'the very end', offset: -1, length: 1 },
      { name: 'nothing', offset: 0, length: 0 },
    ];
    for (const c of cases) {
      it(`gives the bytes of a range ${c.name}`, async () => {
        const offset = c.offset < 0 ? joined.length + c.offset : c.offset;
        const length = c.length < 0 ? joined.length + c.length : c.length;
        const buffer = Buffer.alloc(7000);

        const got = await readAll(
          readRange(files, offset, length, () => buffer),
        );

        expect(got.equals(joined.subarray(offset, offset + length))).toBe(true);
      });
    }

    it('fails with LocalFileError naming the file when it ends early', async () => {
      const short = path.join(tmp, 'short.fastq.gz');
      copyFileSync(files[0]!.path, short);
      truncateSync(short, 100);

      const run = readAll(
        readRange([{ path: short, size: 5000 }], 0, 5000, () =>
          Buffer.alloc(1024),
        ),
      );

      await expect(run).rejects.toBeInstanceOf(LocalFileError);
      await expect(run).rejects.toThrow(
        /short\.fastq\.gz changed while it was being uploaded/,
      );
    });

    it('fails with LocalFileError when a file is missing', async () => {
      const gone = { path: path.join(tmp, 'gone.fastq.gz'), size: 10 };

      const run = readAll(readRange([gone], 0, 10, () => Buffer.alloc(1024)));

      await expect(run).rejects.toBeInstanceOf(LocalFileError);
      await expect(run).rejects.toThrow(/Cannot read .*gone\.fastq\.gz/);
    });
  });

  describe('FileRangeBody', () => {
    it('reads as a stream to the same bytes as its range', async () => {
      const body = new FileRangeBody(files, 1234, joined.length - 2000);

      const got = await readAll(body);

      expect(got.equals(joined.subarray(1234, joined.length - 766))).toBe(true);
    });
  });

  describe('UploadRequestHandler.handle()', () => {
    let server: Awaited<ReturnType<typeof startServer>>;
    let handler: UploadRequestHandler;

    afterEach(async () => {
      handler?.destroy();
      await server?.close();
    });

    it('sends a file range body byte for byte, with the headers and query as given', async () => {
      server = await startServer();
      handler = new UploadRequestHandler();
      const length = joined.length - 3;

      const { response } = await handler.handle(
        put(server.port, new FileRangeBody(files, 3, length), {
          headers: {
            host: `127.0.0.1:${server.port}`,
            'content-length': String(length),
            'x-amz-checksum-crc32': 'AAAAAA==',
          },
          query: { uploadId: 'a+b/c=d e', partNumber: '7', uploads: null },
        }),
      );
      const text = (await readAll(response.body)).toString();

      expect(response.statusCode).toBe(200);
      expect(response.headers.etag).toBe('"e1"');
      expect(response.headers['x-multi']).toBe('a, b');
      expect(text).toBe('ok');
      const [got] = server.received;
      expect(got!.url).toBe(
        '/bucket/some%20key?partNumber=7&uploadId=a%2Bb%2Fc%3Dd%20e&uploads',
      );
      expect(got!.headers['x-amz-checksum-crc32']).toBe('AAAAAA==');
      expect(createHash('sha256').update(got!.body).digest('hex')).toBe(
        createHash('sha256')
          .update(joined.subarray(3))
          .digest('hex'),
      );
    });

    it('sends many file bodies over kept-alive connections, reusing its buffers', async () => {
      server = await startServer();
      handler = new UploadRequestHandler();
      const part = Math.floor(joined.length / 6);

      await Promise.all(
        [0, 1, 2, 3, 4, 5].map(async (i) => {
          const { response } = await handler.handle(
            put(server.port, new FileRangeBody(files, i * part, part), {
              path: `/bucket/p${i}`,
              headers: {
                host: `127.0.0.1:${server.port}`,
                'content-length': String(part),
              },
            }),
          );
          await readAll(response.body);
        }),
      );

      for (const got of server.received) {
        const i = Number(got.url.slice('/bucket/p'.length));
        expect(got.body.equals(joined.subarray(i * part, (i + 1) * part))).toBe(
          true,
        );
      }
      expect(server.received).toHaveLength(6);
    });

    it('sends Buffer, string and empty bodies as they are', async () => {
      server = await startServer();
      handler = new UploadRequestHandler();

      for (const body of [Buffer.from('<xml/>'), 'text', undefined]) {
        const { response } = await handler.handle(
          put(server.port, body, { method: 'POST' }),
        );
        await readAll(response.body);
      }

      expect(server.received.map((r) => r.body.toString())).toEqual([
        '<xml/>',
        'text',
        '',
      ]);
    });

    it('rejects with the file error when a file body cannot be read', async () => {
      server = await startServer();
      handler = new UploadRequestHandler();
      const missing = { path: path.join(tmp, 'missing.fastq.gz'), size: 100 };

      const run = handler.handle(
        put(server.port, new FileRangeBody([missing], 0, 100), {
          headers: {
            host: `127.0.0.1:${server.port}`,
            'content-length': '100',
          },
        }),
      );

      await expect(run).rejects.toBeInstanceOf(LocalFileError);
    });

    it('rejects with an AbortError when the signal aborts', async () => {
      // A server that never answers.
      server = await startServer(() => {});
      handler = new UploadRequestHandler();
      const controller = new AbortController();

      const run = handler.handle(put(server.port, 'x'), {
        abortSignal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);

      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('rejects with a TimeoutError when the server stays silent', async () => {
      server = await startServer(() => {});
      handler = new UploadRequestHandler({ socketTimeoutMs: 100 });

      const run = handler.handle(put(server.port, 'x'));

      await expect(run).rejects.toMatchObject({
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
      });
    });
  });
});
