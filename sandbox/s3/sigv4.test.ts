import { describe, expect, it } from 'vitest';

import type { S3Credentials } from './handler.ts';
import { S3Error } from './s3-error.ts';
import {
  chunkStringToSign,
  deriveSigningKey,
  hmacHex,
  sha256Hex,
  trailerStringToSign,
  verifyRequestSignature,
  type SignableRequest,
  type VerifyOptions,
} from './sigv4.ts';
import { makeTestKey, sdkSigner, type TestKey } from './testing.ts';

// The example credentials and time of the AWS S3 SigV4 documentation
// ("Signature Calculations for the Authorization Header" and its chunked and
// trailer pages, and "Authenticating Requests: Using Query Parameters").
const DOC_KEY = 'AKIAIOSFODNN7EXAMPLE';
const DOC_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DOC_NOW = new Date('2013-05-24T00:00:00Z');
const DOC_SCOPE = '20130524/us-east-1/s3/aws4_request';

function docOptions(now = DOC_NOW): VerifyOptions {
  return {
    now,
    region: 'us-east-1',
    lookupCredentials: (id) =>
      id === DOC_KEY
        ? {
            secretAccessKey: DOC_SECRET,
            sessionToken: '',
            expiresAt: new Date('2100-01-01T00:00:00Z'),
          }
        : undefined,
  };
}

function headerBag(
  headers: Record<string, string>,
): SignableRequest['headers'] {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [
      name.toLowerCase(),
      [value],
    ]),
  );
}

function docGetObject(): SignableRequest {
  return {
    method: 'GET',
    rawPath: '/test.txt',
    rawQuery: '',
    headers: headerBag({
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': sha256Hex(''),
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${DOC_KEY}/${DOC_SCOPE},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    }),
  };
}

function docPresignedGet(): SignableRequest {
  return {
    method: 'GET',
    rawPath: '/test.txt',
    rawQuery: [
      'X-Amz-Algorithm=AWS4-HMAC-SHA256',
      `X-Amz-Credential=${encodeURIComponent(`${DOC_KEY}/${DOC_SCOPE}`)}`,
      'X-Amz-Date=20130524T000000Z',
      'X-Amz-Expires=86400',
      'X-Amz-SignedHeaders=host',
      'X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    ].join('&'),
    headers: headerBag({ host: 'examplebucket.s3.amazonaws.com' }),
  };
}

function docChunkedPut(trailer: boolean): SignableRequest {
  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'content-encoding': 'aws-chunked',
    'x-amz-date': '20130524T000000Z',
    'x-amz-decoded-content-length': '66560',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
  };
  if (trailer) {
    headers['x-amz-content-sha256'] =
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${DOC_KEY}/${DOC_SCOPE},SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e`;
  } else {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    headers['content-length'] = '66824';
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${DOC_KEY}/${DOC_SCOPE},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`;
  }
  return {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    rawQuery: '',
    headers: headerBag(headers),
  };
}

function expectS3Error(run: () => unknown, status: number, code: string) {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(S3Error);
  expect({
    status: (caught as S3Error).status,
    code: (caught as S3Error).code,
  }).toEqual({ status, code });
  return caught as S3Error;
}

/** Signs with the AWS SDK's signer and returns what verify() receives. */
async function sdkSigned(
  key: Partial<TestKey> & Pick<TestKey, 'accessKeyId' | 'secretAccessKey'>,
  request: {
    method: string;
    path: string;
    query?: Record<string, string | string[]>;
    headers?: Record<string, string>;
    body?: string;
  },
  signingDate: Date,
  presignSeconds?: number,
): Promise<SignableRequest> {
  const signer = sdkSigner(key);
  const input = {
    method: request.method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 9000,
    path: request.path,
    query: request.query ?? {},
    headers: { host: '127.0.0.1:9000', ...(request.headers ?? {}) },
    body: request.body,
  };
  const signed =
    presignSeconds === undefined
      ? await signer.sign(input, { signingDate })
      : await signer.presign(
          {
            ...input,
            // As the SDK's S3 presigner does: the body stays unsigned.
            headers: {
              ...input.headers,
              'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
            },
          },
          { signingDate, expiresIn: presignSeconds },
        );
  const query = Object.entries(signed.query ?? {})
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value ?? '']).map(
        (item) =>
          `${encodeURIComponent(name)}=${encodeURIComponent(String(item))}`,
      ),
    )
    .join('&');
  return {
    method: signed.method,
    rawPath: signed.path,
    rawQuery: query,
    headers: headerBag(signed.headers as Record<string, string>),
  };
}

function optionsFor(key: TestKey, now: Date, ttlMs = 3_600_000): VerifyOptions {
  const credentials: S3Credentials = {
    secretAccessKey: key.secretAccessKey,
    sessionToken: key.sessionToken,
    expiresAt: new Date(now.getTime() + ttlMs),
  };
  return {
    now,
    region: 'us-east-1',
    lookupCredentials: (id) =>
      id === key.accessKeyId ? credentials : undefined,
  };
}

describe('sigv4', () => {
  describe('verifyRequestSignature() against the published AWS examples', () => {
    it('accepts the documented GET Object header signature', () => {
      const auth = verifyRequestSignature(docGetObject(), docOptions());

      expect(auth.kind).toBe('header');
      expect(auth.accessKeyId).toBe(DOC_KEY);
      expect(auth.scope).toBe(DOC_SCOPE);
    });

    it('refuses the documented request once its header changes', () => {
      const request = docGetObject();
      request.headers.range = ['bytes=0-10'];

      const error = expectS3Error(
        () => verifyRequestSignature(request, docOptions()),
        403,
        'SignatureDoesNotMatch',
      );
      expect(error.details.CanonicalRequest).toContain('range:bytes=0-10');
    });

    it('accepts the documented presigned URL until it expires', () => {
      const later = new Date(DOC_NOW.getTime() + 86_400_000);
      const tooLate = new Date(later.getTime() + 1000);

      expect(
        verifyRequestSignature(docPresignedGet(), docOptions(later)).kind,
      ).toBe('query');
      const error = expectS3Error(
        () => verifyRequestSignature(docPresignedGet(), docOptions(tooLate)),
        403,
        'AccessDenied',
      );
      expect(error.message).toBe('Request has expired');
    });

    it('accepts the documented seed signatures of chunked uploads', () => {
      const plain = verifyRequestSignature(docChunkedPut(false), docOptions());
      const trailer = verifyRequestSignature(docChunkedPut(true), docOptions());

      expect(plain.payloadHash).toBe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
      expect(trailer.signature).toBe(
        '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
      );
    });
  });

  describe('chunkStringToSign() and trailerStringToSign()', () => {
    const key = deriveSigningKey(DOC_SECRET, '20130524', 'us-east-1', 's3');
    const sign = (previous: string, data: Buffer) =>
      hmacHex(
        key,
        chunkStringToSign(
          '20130524T000000Z',
          DOC_SCOPE,
          previous,
          sha256Hex(data),
        ),
      );

    it('chain to the documented chunk signatures', () => {
      const first = sign(
        '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
        Buffer.alloc(65_536, 'a'),
      );
      const second = sign(first, Buffer.alloc(1024, 'a'));
      const last = sign(second, Buffer.alloc(0));

      expect([first, second, last]).toEqual([
        'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
        '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
        'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
      ]);
    });

    it('chain to the documented trailer signature', () => {
      const first = sign(
        '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
        Buffer.alloc(65_536, 'a'),
      );
      const second = sign(first, Buffer.alloc(1024, 'a'));
      const last = sign(second, Buffer.alloc(0));
      const trailer = hmacHex(
        key,
        trailerStringToSign(
          '20130524T000000Z',
          DOC_SCOPE,
          last,
          sha256Hex('x-amz-checksum-crc32c:sOO8/Q==\n'),
        ),
      );

      expect([first, second, last]).toEqual([
        'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
        '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
        '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
      ]);
      expect(trailer).toBe(
        'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435',
      );
    });
  });

  describe('verifyRequestSignature() against the AWS SDK signer', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const key = makeTestKey();

    const cases: Array<{
      name: string;
      request: Parameters<typeof sdkSigned>[1];
    }> = [
      { name: 'a plain GET', request: { method: 'GET', path: '/b/k' } },
      {
        name: 'a key with spaces, unicode, + ~ and reserved characters',
        request: {
          method: 'PUT',
          path: `/b/${['dir name', 'ünï cødé+plus~tilde', "q!'()*=@$,;"]
            .map(encodeURIComponent)
            .join('/')
            .replace(
              /[!'()*]/g,
              (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
            )}`,
          body: 'hello',
        },
      },
      {
        name: 'a query with repeated and reserved values',
        request: {
          method: 'GET',
          path: '/b',
          query: {
            uploads: '',
            prefix: 'a b/c+d',
            'max-uploads': '5',
            'key-marker': ['z', 'a'],
          },
        },
      },
      {
        name: 'headers with inner runs of spaces and metadata',
        request: {
          method: 'PUT',
          path: '/b/k',
          headers: {
            'x-amz-meta-note': '  two   spaces  ',
            'content-type': 'text/plain',
          },
          body: 'x',
        },
      },
    ];

    for (const { name, request } of cases) {
      it(`accepts ${name} signed in the header`, async () => {
        const signed = await sdkSigned(key, request, now);

        const auth = verifyRequestSignature(signed, optionsFor(key, now));

        expect(auth.accessKeyId).toBe(key.accessKeyId);
        expect(auth.payloadHash).toBe(sha256Hex(request.body ?? ''));
      });

      it(`accepts ${name} presigned`, async () => {
        const signed = await sdkSigned(key, request, now, 600);

        const auth = verifyRequestSignature(signed, optionsFor(key, now));

        expect(signed.rawQuery).toContain(
          'X-Amz-Content-Sha256=UNSIGNED-PAYLOAD',
        );
        expect(auth.kind).toBe('query');
        expect(auth.payloadHash).toBe('UNSIGNED-PAYLOAD');
      });
    }

    it('refuses a request whose method changed after signing', async () => {
      const signed = await sdkSigned(key, { method: 'GET', path: '/b/k' }, now);
      signed.method = 'DELETE';

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses a path encoded differently from the signed one', async () => {
      const signed = await sdkSigned(
        key,
        { method: 'GET', path: '/b/a%2Fb' },
        now,
      );
      signed.rawPath = '/b/a/b';

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses a signature made with another secret', async () => {
      const signed = await sdkSigned(
        { ...key, secretAccessKey: `${key.secretAccessKey}x` },
        { method: 'GET', path: '/b/k' },
        now,
      );

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses an unknown access key', async () => {
      const signed = await sdkSigned(
        makeTestKey(),
        { method: 'GET', path: '/b/k' },
        now,
      );

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'InvalidAccessKeyId',
      );
    });

    it('refuses a wrong session token', async () => {
      const signed = await sdkSigned(
        { ...key, sessionToken: 'not-the-token' },
        { method: 'GET', path: '/b/k' },
        now,
      );

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        400,
        'InvalidToken',
      );
    });

    it('answers a temporary key sent without its token as unknown', async () => {
      const signed = await sdkSigned(
        { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
        { method: 'GET', path: '/b/k' },
        now,
      );

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'InvalidAccessKeyId',
      );
    });

    it('refuses expired credentials with ExpiredToken', async () => {
      const signed = await sdkSigned(key, { method: 'GET', path: '/b/k' }, now);

      const error = expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now, -1)),
        400,
        'ExpiredToken',
      );
      expect(error.message).toBe('The provided token has expired.');
    });

    it('refuses a header signature more than 15 minutes off the clock', async () => {
      const stale = new Date(now.getTime() - 15 * 60_000 - 1000);
      const early = new Date(now.getTime() + 15 * 60_000 + 1000);
      const edge = new Date(now.getTime() - 15 * 60_000);

      for (const date of [stale, early]) {
        const signed = await sdkSigned(
          key,
          { method: 'GET', path: '/b/k' },
          date,
        );
        expectS3Error(
          () => verifyRequestSignature(signed, optionsFor(key, now)),
          403,
          'RequestTimeTooSkewed',
        );
      }
      const signed = await sdkSigned(
        key,
        { method: 'GET', path: '/b/k' },
        edge,
      );
      expect(verifyRequestSignature(signed, optionsFor(key, now)).kind).toBe(
        'header',
      );
    });

    it('refuses a scope for another region', async () => {
      const signer = sdkSigner(key, 'eu-west-1');
      const signed = await signer.sign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: 'h',
          path: '/b/k',
          query: {},
          headers: { host: 'h' },
        },
        { signingDate: now },
      );

      const error = expectS3Error(
        () =>
          verifyRequestSignature(
            {
              method: 'GET',
              rawPath: '/b/k',
              rawQuery: '',
              headers: headerBag(signed.headers as Record<string, string>),
            },
            optionsFor(key, now),
          ),
        400,
        'AuthorizationHeaderMalformed',
      );
      expect(error.details.Region).toBe('us-east-1');
    });

    it('refuses an x-amz- header added after signing', async () => {
      const signed = await sdkSigned(key, { method: 'GET', path: '/b/k' }, now);
      signed.headers['x-amz-meta-late'] = ['1'];

      const error = expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        403,
        'AccessDenied',
      );
      expect(error.details.HeadersNotSigned).toBe('x-amz-meta-late');
    });

    it('refuses a header-signed request without x-amz-content-sha256', async () => {
      const signer = sdkSigner(key);
      const signed = await signer.sign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: 'h',
          path: '/b/k',
          query: {},
          headers: { host: 'h' },
        },
        { signingDate: now },
      );
      const headers = headerBag(signed.headers as Record<string, string>);
      delete headers['x-amz-content-sha256'];
      const names = /SignedHeaders=([^,]+)/.exec(headers.authorization![0])![1];
      headers.authorization = [
        headers.authorization![0].replace(
          names,
          names.replace(';x-amz-content-sha256', ''),
        ),
      ];

      expectS3Error(
        () =>
          verifyRequestSignature(
            { method: 'GET', rawPath: '/b/k', rawQuery: '', headers },
            optionsFor(key, now),
          ),
        400,
        'InvalidRequest',
      );
    });

    it('refuses a presigned URL valid for more than a week', async () => {
      const signed = await sdkSigned(
        key,
        { method: 'GET', path: '/b/k' },
        now,
        604_800,
      );
      signed.rawQuery = signed.rawQuery.replace(
        'X-Amz-Expires=604800',
        'X-Amz-Expires=604801',
      );

      expectS3Error(
        () => verifyRequestSignature(signed, optionsFor(key, now)),
        400,
        'AuthorizationQueryParametersError',
      );
    });

    it('refuses a request with no authentication at all', () => {
      expectS3Error(
        () =>
          verifyRequestSignature(
            { method: 'GET', rawPath: '/b/k', rawQuery: '', headers: {} },
            optionsFor(key, now),
          ),
        403,
        'AccessDenied',
      );
    });
  });
});
