/**
 * Test support for the S3 endpoint's tests only (never imported by product
 * code): a SHA-256 constructor for @smithy/signature-v4, an SDK signer factory,
 * a loopback server around createS3Handler, a raw HTTP client, and credential
 * tables.
 */

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';

import {
  createS3Handler,
  type S3Credentials,
  type S3HandlerOptions,
} from './handler.ts';

/** NodeSha256 is the hash (or HMAC, given a secret) the SDK signer needs. */
export class NodeSha256 {
  readonly #secret: Buffer | undefined;
  #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#secret = secret === undefined ? undefined : toBuffer(secret);
    this.#hash = this.#fresh();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh() {
    return this.#secret === undefined
      ? createHash('sha256')
      : createHmac('sha256', this.#secret);
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') {
    return Buffer.from(data, 'utf8');
  }
  if (ArrayBuffer.isView(data)) {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return Buffer.from(data);
}

/** A key pair with a session token, as upload-credentials hands out. */
export interface TestKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** makeTestKey creates random temporary credentials. */
export function makeTestKey(): TestKey {
  return {
    accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(48).toString('base64'),
  };
}

/** sdkSigner builds the AWS SDK's own SigV4 signer for S3 with `key`. */
export function sdkSigner(
  key: Pick<TestKey, 'accessKeyId' | 'secretAccessKey'> & {
    sessionToken?: string;
  },
  region = 'us-east-1',
): SignatureV4 {
  return new SignatureV4({
    credentials: {
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      sessionToken: key.sessionToken,
    },
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
}

/** A running loopback S3 endpoint with its storage folder. */
export interface TestEndpoint {
  url: string;
  port: number;
  rootDir: string;
  /** Credentials the endpoint accepts, by access key id. */
  keys: Map<string, S3Credentials>;
  /** Every onObjectStored call, in order. */
  stored: Array<{ bucket: string; key: string; size: number }>;
  /** Method, URL and headers of every request received, in order. */
  requests: Array<{
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
  }>;
  close(): Promise<void>;
}

/** Overrides for startTestEndpoint; rootDir reuses a folder (a restart). */
export type TestEndpointOptions = Partial<
  Omit<S3HandlerOptions, 'lookupCredentials' | 'onObjectStored'>
> & { keys?: Map<string, S3Credentials> };

/**
 * startTestEndpoint serves createS3Handler on 127.0.0.1 (port 0) with a temp
 * rootDir (unless one is given) and bucket `test-bucket`. close() stops the
 * server and removes a rootDir it created.
 */
export async function startTestEndpoint(
  options: TestEndpointOptions = {},
): Promise<TestEndpoint> {
  const ownsRoot = options.rootDir === undefined;
  const rootDir =
    options.rootDir ??
    (await mkdtemp(path.join(os.tmpdir(), 'gencove-s3-test-')));
  const keys = options.keys ?? new Map<string, S3Credentials>();
  const stored: TestEndpoint['stored'] = [];
  const handler = createS3Handler({
    buckets: ['test-bucket'],
    ...options,
    rootDir,
    lookupCredentials: (id) => keys.get(id),
    onObjectStored: (bucket, key, size) => stored.push({ bucket, key, size }),
  });
  const requests: TestEndpoint['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: { ...req.headers },
    });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    rootDir,
    keys,
    stored,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsRoot) {
        await rm(rootDir, { recursive: true, force: true });
      }
    },
  };
}

/** addKey registers `key` with the endpoint, valid for `ttlMs` from now. */
export function addKey(
  endpoint: TestEndpoint,
  key: TestKey,
  ttlMs = 3_600_000,
): void {
  endpoint.keys.set(key.accessKeyId, {
    secretAccessKey: key.secretAccessKey,
    sessionToken: key.sessionToken,
    expiresAt: new Date(Date.now() + ttlMs),
  });
}

/**
 * s3Client builds the real AWS SDK client for the endpoint (path style,
 * us-east-1, one attempt so refusals surface as they are).
 */
export function s3Client(
  endpoint: TestEndpoint,
  key: Partial<TestKey> & Pick<TestKey, 'accessKeyId' | 'secretAccessKey'>,
  overrides: Partial<S3ClientConfig> = {},
): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: endpoint.url,
    forcePathStyle: true,
    credentials: {
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      sessionToken: key.sessionToken,
    },
    maxAttempts: 1,
    ...overrides,
  });
}

/** A raw HTTP exchange's result. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request as the SDK signer sees it. */
export interface RawRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[]>;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/**
 * rawRequest sends exactly `request` (path as given, query encoded strictly)
 * to the endpoint and collects the whole response.
 */
export function rawRequest(
  endpoint: TestEndpoint,
  request: RawRequest,
): Promise<RawResponse> {
  const search = encodeQuery(request.query ?? {});
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: endpoint.port,
        method: request.method,
        path: search ? `${request.path}?${search}` : request.path,
        headers: request.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

function encodeQuery(query: Record<string, string | string[]>): string {
  const strict = (text: string) =>
    encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  return Object.entries(query)
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map(
        (item) => `${strict(name)}=${strict(item)}`,
      ),
    )
    .join('&');
}

/**
 * signedRaw signs `request` with the SDK signer (host header added) and sends
 * it. `mutate` may tamper with the signed request before it is sent.
 */
export async function signedRaw(
  endpoint: TestEndpoint,
  key: TestKey | (Omit<TestKey, 'sessionToken'> & { sessionToken?: string }),
  request: RawRequest,
  options: {
    signingDate?: Date;
    mutate?: (signed: RawRequest) => void;
  } = {},
): Promise<RawResponse> {
  const signer = sdkSigner(key);
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: endpoint.port,
      path: request.path,
      query: request.query ?? {},
      headers: { ...request.headers, host: `127.0.0.1:${endpoint.port}` },
      body: request.body,
    },
    { signingDate: options.signingDate ?? new Date() },
  );
  const out: RawRequest = {
    method: signed.method,
    path: signed.path,
    query: (signed.query ?? {}) as Record<string, string | string[]>,
    headers: { ...(signed.headers as Record<string, string>) },
    body: request.body,
  };
  options.mutate?.(out);
  return rawRequest(endpoint, out);
}

/** errorCode extracts `<Code>` from an S3 error body. */
export function errorCode(body: Buffer | string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body.toString())?.[1];
}

/** md5Base64 is the Content-MD5 value of `data`. */
export function md5Base64(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

/** sha256HexOf is the hex SHA-256 of `data`. */
export function sha256HexOf(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
