import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { checksumOf } from './checksums.ts';
import { objectPath } from './handler.ts';
import {
  addKey,
  errorCode,
  makeTestKey,
  md5Base64,
  rawRequest,
  sdkSigner,
  sha256HexOf,
  signedRaw,
  startTestEndpoint,
  type RawRequest,
  type TestEndpoint,
  type TestKey,
} from './testing.ts';

const BUCKET = 'test-bucket';

async function isStored(endpoint: TestEndpoint, key: string): Promise<boolean> {
  try {
    await stat(objectPath(endpoint.rootDir, BUCKET, key));
    return true;
  } catch {
    return false;
  }
}

/**
 * signedChunkedPut builds a STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]
 * request: the SDK signer makes the seed signature and signs each chunk's
 * string to sign (built here from the AWS documentation, independently of
 * the endpoint's code).
 */
async function signedChunkedPut(
  endpoint: TestEndpoint,
  key: TestKey,
  objectKey: string,
  chunks: Buffer[],
  options: { trailer?: boolean; tamper?: (body: Buffer) => void } = {},
): Promise<RawRequest> {
  const signer = sdkSigner(key);
  const signingDate = new Date();
  const decodedLength = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const headers: Record<string, string> = {
    host: `127.0.0.1:${endpoint.port}`,
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(decodedLength),
    'x-amz-content-sha256': options.trailer
      ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
      : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  };
  if (options.trailer) {
    headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
  }
  const signed = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: endpoint.port,
      path: `/${BUCKET}/${objectKey}`,
      query: {},
      headers,
    },
    { signingDate },
  );
  const authorization = String(signed.headers.authorization);
  let previous = /Signature=([0-9a-f]{64})/.exec(authorization)![1];
  const amzDate = String(signed.headers['x-amz-date']);
  const scope = /Credential=[^/]+\/([^,]+)/.exec(authorization)![1];
  const emptyHash = sha256HexOf('');

  const pieces: Buffer[] = [];
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      amzDate,
      scope,
      previous,
      emptyHash,
      sha256HexOf(chunk),
    ].join('\n');
    previous = await signer.sign(stringToSign, { signingDate });
    pieces.push(
      Buffer.from(
        `${chunk.length.toString(16)};chunk-signature=${previous}\r\n`,
      ),
      chunk,
    );
    if (chunk.length > 0) {
      pieces.push(Buffer.from('\r\n'));
    }
  }
  if (options.trailer) {
    const crc = checksumOf('CRC32C', Buffer.concat(chunks)).toString('base64');
    const trailer = `x-amz-checksum-crc32c:${crc}\n`;
    const stringToSign = [
      'AWS4-HMAC-SHA256-TRAILER',
      amzDate,
      scope,
      previous,
      sha256HexOf(trailer),
    ].join('\n');
    const signature = await signer.sign(stringToSign, { signingDate });
    pieces.push(
      Buffer.from(
        `x-amz-checksum-crc32c:${crc}\r\nx-amz-trailer-signature:${signature}\r\n`,
      ),
    );
  }
  pieces.push(Buffer.from('\r\n'));
  const body = Buffer.concat(pieces);
  options.tamper?.(body);
  return {
    method: 'PUT',
    path: `/${BUCKET}/${objectKey}`,
    headers: {
      ...(signed.headers as Record<string, string>),
      'content-length': String(body.length),
    },
    body,
  };
}

describe('createS3Handler() on raw HTTP requests', () => {
  let endpoint: TestEndpoint;
  let key: TestKey;

  beforeEach(async () => {
    endpoint = await startTestEndpoint({ minPartSize: 64 * 1024 });
    key = makeTestKey();
    addKey(endpoint, key);
  });

  afterEach(async () => {
    await endpoint.close();
  });

  describe('authentication', () => {
    it('refuses an unsigned request with AccessDenied as S3 XML', async () => {
      const response = await rawRequest(endpoint, {
        method: 'GET',
        path: `/${BUCKET}/anything`,
        headers: {},
      });

      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/xml');
      const body = response.body.toString();
      expect(errorCode(body)).toBe('AccessDenied');
      expect(body).toContain('<Message>Access Denied</Message>');
      expect(body).toContain(
        `<RequestId>${response.headers['x-amz-request-id']}</RequestId>`,
      );
    });

    it('refuses an unsigned upload and stores nothing', async () => {
      const response = await rawRequest(endpoint, {
        method: 'PUT',
        path: `/${BUCKET}/unsigned.txt`,
        headers: { 'content-type': 'text/plain' },
        body: 'data nobody signed',
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'AccessDenied',
      ]);
      expect(await isStored(endpoint, 'unsigned.txt')).toBe(false);
      expect(endpoint.stored).toEqual([]);
    });

    it('refuses an X-Amz-Date 16 minutes old with RequestTimeTooSkewed', async () => {
      const response = await signedRaw(
        endpoint,
        key,
        { method: 'PUT', path: `/${BUCKET}/stale.txt`, headers: {}, body: 'x' },
        { signingDate: new Date(Date.now() - 16 * 60_000) },
      );

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'RequestTimeTooSkewed',
      ]);
      expect(response.body.toString()).toContain(
        '<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>',
      );
      expect(await isStored(endpoint, 'stale.txt')).toBe(false);
    });

    it('uses the injected clock for skew and expiry', async () => {
      const later = new Date(Date.now() + 2 * 3_600_000);
      const clocked = await startTestEndpoint({ now: () => later });
      addKey(clocked, key, 3 * 3_600_000);
      const shortLived = makeTestKey();
      addKey(clocked, shortLived, 3_600_000);

      try {
        const skewed = await signedRaw(clocked, key, {
          method: 'GET',
          path: `/${BUCKET}/k`,
          headers: {},
        });
        const expired = await signedRaw(
          clocked,
          shortLived,
          { method: 'GET', path: `/${BUCKET}/k`, headers: {} },
          { signingDate: later },
        );

        expect([skewed.status, errorCode(skewed.body)]).toEqual([
          403,
          'RequestTimeTooSkewed',
        ]);
        expect([expired.status, errorCode(expired.body)]).toEqual([
          400,
          'ExpiredToken',
        ]);
      } finally {
        await clocked.close();
      }
    });

    it('refuses a signature over a different body hash (XAmzContentSHA256Mismatch)', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/hash.txt`,
        headers: { 'x-amz-content-sha256': sha256HexOf('declared body') },
        body: 'actual body',
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'XAmzContentSHA256Mismatch',
      ]);
      expect(await isStored(endpoint, 'hash.txt')).toBe(false);
    });

    it('refuses a body changed after signing (SignatureDoesNotMatch)', async () => {
      const response = await signedRaw(
        endpoint,
        key,
        {
          method: 'PUT',
          path: `/${BUCKET}/k.txt`,
          headers: {},
          body: 'original',
        },
        {
          mutate: (signed) => {
            signed.path = `/${BUCKET}/other.txt`;
          },
        },
      );

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'SignatureDoesNotMatch',
      ]);
      expect(response.body.toString()).toContain(
        '<CanonicalRequest>PUT\n/test-bucket/other.txt',
      );
    });

    it('refuses an x-amz- header that was not signed', async () => {
      const response = await signedRaw(
        endpoint,
        key,
        { method: 'GET', path: `/${BUCKET}/k`, headers: {} },
        {
          mutate: (signed) => {
            signed.headers['x-amz-meta-added'] = 'late';
          },
        },
      );

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'AccessDenied',
      ]);
      expect(response.body.toString()).toContain(
        '<HeadersNotSigned>x-amz-meta-added</HeadersNotSigned>',
      );
    });

    it('answers HEAD errors with the status and no body', async () => {
      const response = await rawRequest(endpoint, {
        method: 'HEAD',
        path: `/${BUCKET}/k`,
        headers: {},
      });

      expect(response.status).toBe(403);
      expect(response.body.length).toBe(0);
    });
  });

  describe('presigned URLs', () => {
    async function presigned(
      method: string,
      objectKey: string,
      signingDate: Date,
      expiresIn: number,
    ): Promise<RawRequest> {
      const signer = sdkSigner(key);
      const request = await signer.presign(
        {
          method,
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: endpoint.port,
          path: `/${BUCKET}/${objectKey}`,
          query: {},
          headers: {
            host: `127.0.0.1:${endpoint.port}`,
            // As the SDK's S3 presigner does: the body is left unsigned.
            'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
          },
        },
        { signingDate, expiresIn },
      );
      return {
        method,
        path: request.path,
        query: request.query as Record<string, string>,
        headers: {},
      };
    }

    it('accepts a presigned PUT and a presigned GET', async () => {
      const put = await presigned('PUT', 'presigned/file.txt', new Date(), 600);
      const get = await presigned('GET', 'presigned/file.txt', new Date(), 600);

      const stored = await rawRequest(endpoint, {
        ...put,
        body: 'via a presigned URL',
      });
      const fetched = await rawRequest(endpoint, get);

      expect(stored.status).toBe(200);
      expect(fetched.status).toBe(200);
      expect(fetched.body.toString()).toBe('via a presigned URL');
      expect(put.query!['X-Amz-Security-Token']).toBe(key.sessionToken);
    });

    it('refuses a presigned URL after it expires', async () => {
      const get = await presigned(
        'GET',
        'presigned/file.txt',
        new Date(Date.now() - 3_600_000),
        3000,
      );

      const response = await rawRequest(endpoint, get);

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'AccessDenied',
      ]);
      expect(response.body.toString()).toContain(
        '<Message>Request has expired</Message>',
      );
    });
  });

  describe('bodies', () => {
    it('refuses a Content-MD5 mismatch with BadDigest and stores nothing', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/md5.txt`,
        headers: { 'content-md5': md5Base64('not this') },
        body: 'this',
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'BadDigest',
      ]);
      expect(await isStored(endpoint, 'md5.txt')).toBe(false);
    });

    it('accepts an unsigned payload with a matching Content-MD5', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/unsigned-payload.txt`,
        headers: {
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'content-md5': md5Base64('AAABBB'),
        },
        body: 'AAABBB',
      });

      // The ETag of the recorded botocore PUT of these bytes.
      expect(response.status).toBe(200);
      expect(response.headers.etag).toBe(
        `"${createHash('md5').update('AAABBB').digest('hex')}"`,
      );
    });

    it('stores a body sent with signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', async () => {
      const chunks = [
        Buffer.alloc(65_536, 'a'),
        Buffer.alloc(9000, 'b'),
        Buffer.alloc(1024, 'c'),
      ];

      const response = await rawRequest(
        endpoint,
        await signedChunkedPut(endpoint, key, 'signed.bin', chunks),
      );

      expect(response.status).toBe(200);
      expect(
        await readFile(objectPath(endpoint.rootDir, BUCKET, 'signed.bin')),
      ).toEqual(Buffer.concat(chunks));
    });

    it('stores signed chunks with a signed CRC32C trailer', async () => {
      const chunks = [Buffer.alloc(10_000, 'x'), Buffer.alloc(500, 'y')];

      const response = await rawRequest(
        endpoint,
        await signedChunkedPut(endpoint, key, 'trailer.bin', chunks, {
          trailer: true,
        }),
      );

      expect(response.status).toBe(200);
      expect(response.headers['x-amz-checksum-crc32c']).toBe(
        checksumOf('CRC32C', Buffer.concat(chunks)).toString('base64'),
      );
    });

    it('refuses signed chunks whose data changed (SignatureDoesNotMatch)', async () => {
      const chunks = [Buffer.alloc(65_536, 'a'), Buffer.alloc(1024, 'c')];
      const request = await signedChunkedPut(
        endpoint,
        key,
        'tampered.bin',
        chunks,
        {
          tamper: (body) => {
            body[body.length - 200] ^= 1;
          },
        },
      );

      const response = await rawRequest(endpoint, request);

      expect([response.status, errorCode(response.body)]).toEqual([
        403,
        'SignatureDoesNotMatch',
      ]);
      expect(await isStored(endpoint, 'tampered.bin')).toBe(false);
    });

    it('refuses an aws-chunked body with a small chunk before the last (InvalidChunkSizeError)', async () => {
      const body = Buffer.concat([
        Buffer.from('10\r\n'),
        Buffer.alloc(16, 'a'),
        Buffer.from('\r\n2000\r\n'),
        Buffer.alloc(0x2000, 'b'),
        Buffer.from('\r\n0\r\n\r\n'),
      ]);

      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/small-chunk.bin`,
        headers: {
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(16 + 0x2000),
        },
        body,
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'InvalidChunkSizeError',
      ]);
    });

    it('stores nothing and keeps serving when a client disconnects mid-upload', async () => {
      const signer = sdkSigner(key);
      const signed = await signer.sign(
        {
          method: 'PUT',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: endpoint.port,
          path: `/${BUCKET}/cut.bin`,
          query: {},
          headers: {
            host: `127.0.0.1:${endpoint.port}`,
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
            'content-length': String(1024 * 1024),
          },
        },
        { signingDate: new Date() },
      );

      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port: endpoint.port,
          method: 'PUT',
          path: `/${BUCKET}/cut.bin`,
          headers: signed.headers as Record<string, string>,
          agent: false,
        });
        req.on('error', () => resolve());
        req.write(Buffer.alloc(100_000, 1), () => {
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 50);
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const after = await signedRaw(endpoint, key, {
        method: 'GET',
        path: `/${BUCKET}/cut.bin`,
        headers: {},
      });

      expect([after.status, errorCode(after.body)]).toEqual([404, 'NoSuchKey']);
      expect(await readdir(path.join(endpoint.rootDir, '.s3-tmp'))).toEqual([]);
      expect(endpoint.stored).toEqual([]);
    });
  });

  describe('routing and validation', () => {
    it('answers an unknown bucket with NoSuchBucket', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'GET',
        path: '/no-such-bucket/k',
        headers: {},
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        404,
        'NoSuchBucket',
      ]);
      expect(response.body.toString()).toContain(
        '<BucketName>no-such-bucket</BucketName>',
      );
    });

    it('refuses a key that cannot be a file path', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/a/../../escape.txt`,
        headers: {},
        body: 'x',
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'InvalidArgument',
      ]);
      await expect(
        stat(path.join(endpoint.rootDir, 'escape.txt')),
      ).rejects.toThrow();
    });

    it('refuses a malformed CompleteMultipartUpload body (MalformedXML)', async () => {
      const created = await signedRaw(endpoint, key, {
        method: 'POST',
        path: `/${BUCKET}/mp.bin`,
        query: { uploads: '' },
        headers: {},
      });
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(
        created.body.toString(),
      )![1];

      const response = await signedRaw(endpoint, key, {
        method: 'POST',
        path: `/${BUCKET}/mp.bin`,
        query: { uploadId },
        headers: { 'content-type': 'application/xml' },
        body: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>',
      });

      expect(created.status).toBe(200);
      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'MalformedXML',
      ]);
    });

    it('refuses an out-of-range part number (InvalidArgument)', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/mp.bin`,
        query: { partNumber: '10001', uploadId: 'x'.repeat(43) },
        headers: {},
        body: 'x',
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        400,
        'InvalidArgument',
      ]);
    });

    it('answers an unknown upload id with NoSuchUpload', async () => {
      const response = await signedRaw(endpoint, key, {
        method: 'GET',
        path: `/${BUCKET}/mp.bin`,
        query: { uploadId: '../../etc' },
        headers: {},
      });

      expect([response.status, errorCode(response.body)]).toEqual([
        404,
        'NoSuchUpload',
      ]);
    });
  });
});
