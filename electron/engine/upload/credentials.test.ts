import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  CreateMultipartUploadCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';

import {
  RefreshingCredentials,
  checksumAlgorithmFor,
  createUploadS3Client,
  refreshTime,
  resolveS3Endpoint,
  parseExpiry,
} from './credentials.ts';
import { FileRangeBody } from './requestHandler.ts';
import type { UploadCredentials } from '../api/models.ts';

const MIN = 60_000;

/** A credential source that issues numbered credentials living `lifetimeMs`. */
function source(clock: { now: number }, lifetimeMs: number) {
  let issued = 0;
  return {
    get issued() {
      return issued;
    },
    async getUploadCredentials(): Promise<UploadCredentials> {
      issued++;
      return {
        version: 1,
        access_key: `AK${issued}`,
        secret_key: `SK${issued}`,
        token: `T${issued}`,
        expiry_time: new Date(clock.now + lifetimeMs)
          .toISOString()
          .replace('Z', '+00:00'),
      };
    },
  };
}

describe('credentials', () => {
  describe('refreshTime()', () => {
    const cases = [
      {
        name: '1 h credentials: 5 min before expiry',
        life: 60 * MIN,
        want: 55 * MIN,
      },
      {
        name: '10 min credentials: at half-life',
        life: 10 * MIN,
        want: 5 * MIN,
      },
      { name: '2 min credentials: at half-life', life: 2 * MIN, want: 1 * MIN },
      { name: 'already expired: now', life: -1 * MIN, want: 0 },
    ];
    for (const c of cases) {
      it(c.name, () => {
        expect(refreshTime(0, c.life)).toBe(c.want);
      });
    }
  });

  describe('parseExpiry()', () => {
    it('reads ISO 8601 with an offset', () => {
      expect(parseExpiry('2050-09-03T00:00:00+00:00')).toBe(
        Date.UTC(2050, 8, 3),
      );
    });

    it('rejects text that is not a timestamp, quoting it', () => {
      expect(() => parseExpiry('tomorrow')).toThrow(/"tomorrow"/);
    });
  });

  describe('RefreshingCredentials', () => {
    it('reuses credentials until their refresh time, then fetches new ones', async () => {
      const clock = { now: 1_000_000 };
      const src = source(clock, 60 * MIN);
      const creds = new RefreshingCredentials(src, () => clock.now);

      const first = await creds.get();
      clock.now += 54 * MIN;
      const stillFirst = await creds.get();
      clock.now += 2 * MIN;
      const second = await creds.get();

      expect(first.accessKeyId).toBe('AK1');
      expect(stillFirst.accessKeyId).toBe('AK1');
      expect(second.accessKeyId).toBe('AK2');
      expect(second.sessionToken).toBe('T2');
      expect(second.expiration?.getTime()).toBe(clock.now + 60 * MIN);
    });

    it('shares one request among concurrent callers', async () => {
      const clock = { now: 0 };
      const src = source(clock, 60 * MIN);
      const creds = new RefreshingCredentials(src, () => clock.now);

      const all = await Promise.all([
        creds.get(),
        creds.get(),
        creds.forceRefresh(),
      ]);

      expect(src.issued).toBe(1);
      expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['AK1']));
    });

    it('fetches new credentials on forceRefresh even when they look valid', async () => {
      const clock = { now: 0 };
      const src = source(clock, 60 * MIN);
      const creds = new RefreshingCredentials(src, () => clock.now);
      await creds.get();

      const refreshed = await creds.forceRefresh();

      expect(refreshed.accessKeyId).toBe('AK2');
      expect(creds.fetchCount).toBe(2);
    });

    it('is marked memoized so the AWS SDK calls it for every request', () => {
      const creds = new RefreshingCredentials(source({ now: 0 }, MIN));

      expect(creds.provider.memoized).toBe(true);
    });
  });

  describe('resolveS3Endpoint()', () => {
    it('prefers the configuration, then the environment, then the credentials', () => {
      const env = { GENCOVE_S3_ENDPOINT: 'http://127.0.0.1:2' };

      expect(
        resolveS3Endpoint({
          configured: 'http://127.0.0.1:1',
          env,
          fromCredentials: 'http://127.0.0.1:3',
        }),
      ).toBe('http://127.0.0.1:1');
      expect(
        resolveS3Endpoint({ env, fromCredentials: 'http://127.0.0.1:3' }),
      ).toBe('http://127.0.0.1:2');
      expect(
        resolveS3Endpoint({ env: {}, fromCredentials: 'http://127.0.0.1:3' }),
      ).toBe('http://127.0.0.1:3');
      expect(resolveS3Endpoint({ env: {} })).toBeUndefined();
    });
  });

  describe('checksumAlgorithmFor()', () => {
    const cases: { endpoint: string | undefined; want: 'CRC32' | 'SHA256' }[] =
      [
        { endpoint: undefined, want: 'CRC32' },
        { endpoint: 'https://s3.us-east-1.amazonaws.com', want: 'CRC32' },
        { endpoint: 'https://minio.lab.example:9000', want: 'CRC32' },
        { endpoint: 'http://127.0.0.1:9000', want: 'CRC32' },
        { endpoint: 'http://127.8.0.1', want: 'CRC32' },
        { endpoint: 'http://localhost:9000', want: 'CRC32' },
        { endpoint: 'http://[::1]:9000', want: 'CRC32' },
        { endpoint: 'http://10.0.0.5:9000', want: 'SHA256' },
        { endpoint: 'http://minio.lab.example', want: 'SHA256' },
      ];
    for (const c of cases) {
      it(`${c.endpoint ?? 'the AWS default endpoint'} -> ${c.want}`, () => {
        expect(checksumAlgorithmFor(c.endpoint)).toBe(c.want);
      });
    }
  });

  describe('createUploadS3Client()', () => {
    it('sends a checksummed body from disk unsigned and without Expect, other requests signed as usual', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 's3-client-'));
      const file = path.join(dir, 'part.bin');
      const bytes = Buffer.from('0123456789'.repeat(1000));
      writeFileSync(file, bytes);
      const received: { headers: http.IncomingHttpHeaders; body: Buffer }[] =
        [];
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(200, { etag: '"e"' });
          res.end(
            req.method === 'POST'
              ? '<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>'
              : '',
          );
        });
      });
      await new Promise<void>((resolve) =>
        server.listen(0, '127.0.0.1', resolve),
      );
      const { port } = server.address() as AddressInfo;
      const credentials = new RefreshingCredentials(
        source({ now: Date.now() }, 60 * MIN),
      );
      const { s3, checksumAlgorithm } = await createUploadS3Client({
        credentials,
        endpoint: `http://127.0.0.1:${port}`,
        env: {},
      });
      try {
        await s3.send(
          new PutObjectCommand({
            Bucket: 'b',
            Key: 'k',
            Body: new FileRangeBody(
              [{ path: file, size: bytes.length }],
              0,
              bytes.length,
            ),
            ContentLength: bytes.length,
            ChecksumCRC32: 'AAAAAA==',
          }),
        );
        await s3.send(
          new CreateMultipartUploadCommand({ Bucket: 'b', Key: 'k' }),
        );
      } finally {
        s3.destroy();
        server.closeAllConnections();
        server.close();
        rmSync(dir, { recursive: true, force: true });
      }

      const [putObject, create] = received;
      expect(checksumAlgorithm).toBe('CRC32');
      expect(putObject!.body.equals(bytes)).toBe(true);
      expect(putObject!.headers['x-amz-content-sha256']).toBe(
        'UNSIGNED-PAYLOAD',
      );
      expect(putObject!.headers['x-amz-checksum-crc32']).toBe('AAAAAA==');
      expect(putObject!.headers.expect).toBeUndefined();
      expect(putObject!.headers.authorization).toMatch(
        /SignedHeaders=[^,]*x-amz-checksum-crc32/,
      );
      expect(create!.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});
