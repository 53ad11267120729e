/**
 * Temporary upload credentials, refreshed ahead of their expiry, and the S3
 * client built on them.
 *
 * The AWS SDK memoizes credential providers itself and would hold on to a
 * value until 5 minutes before its expiry, which is wrong for short-lived
 * credentials and would ignore a forced refresh. So our provider is marked
 * `memoized` (the SDK then calls it for every request) and does the caching:
 * it is cheap to call.
 */
import { S3Client } from '@aws-sdk/client-s3';

import type { UploadCredentials } from '../api/models.ts';
import type { ChecksumAlgorithm } from './checkedRead.ts';
import { UploadRequestHandler } from './requestHandler.ts';

/** Refresh this long before expiry, for credentials that live long enough. */
export const REFRESH_AHEAD_MS = 5 * 60_000;

/** Environment variable that points uploads at another S3 endpoint. */
export const S3_ENDPOINT_ENV = 'GENCOVE_S3_ENDPOINT';

/** The credentials as the AWS SDK wants them. */
export interface S3Identity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Where credentials come from (GencoveClient fits). */
export interface UploadCredentialsSource {
  getUploadCredentials(): Promise<UploadCredentials>;
}

/**
 * refreshTime returns when credentials issued at `issuedAt` and expiring at
 * `expiresAt` (epoch ms) should be replaced: 5 minutes before expiry, or at
 * half of their life when they live less than 10 minutes.
 */
export function refreshTime(issuedAt: number, expiresAt: number): number {
  const lifetime = expiresAt - issuedAt;
  if (lifetime <= 0) {
    return issuedAt;
  }
  return issuedAt + Math.max(lifetime / 2, lifetime - REFRESH_AHEAD_MS);
}

/**
 * parseExpiry reads `expiry_time` (ISO 8601 with an offset) as epoch ms.
 * Throws an Error naming the value when it is not a timestamp.
 */
export function parseExpiry(expiryTime: string): number {
  const at = Date.parse(expiryTime);
  if (!/^\d{4}-\d{2}-\d{2}/.test(expiryTime) || Number.isNaN(at)) {
    throw new Error(
      `The upload credentials have an unreadable expiry_time ${JSON.stringify(expiryTime)}`,
    );
  }
  return at;
}

/**
 * RefreshingCredentials fetches upload credentials on first use and again
 * when their refresh time has come (or on `forceRefresh`). Concurrent
 * callers share one request. `provider` is the function to hand to the S3
 * client.
 */
export class RefreshingCredentials {
  readonly #source: UploadCredentialsSource;
  readonly #now: () => number;
  #current: {
    identity: S3Identity;
    raw: UploadCredentials;
    refreshAt: number;
  } | null = null;
  #pending: Promise<S3Identity> | null = null;
  #fetchCount = 0;

  /** provider is an AWS SDK credential provider over this object. */
  readonly provider: (() => Promise<S3Identity>) & { memoized: true };

  constructor(source: UploadCredentialsSource, now: () => number = Date.now) {
    this.#source = source;
    this.#now = now;
    const provider = () => this.get();
    this.provider = Object.assign(provider, { memoized: true as const });
  }

  /** How many times credentials were fetched (for logs and tests). */
  get fetchCount(): number {
    return this.#fetchCount;
  }

  /** endpointUrl is the `endpoint_url` of the last credentials, if any. */
  get endpointUrl(): string | undefined {
    return this.#current?.raw.endpoint_url ?? undefined;
  }

  /** get returns valid credentials, fetching new ones when due. */
  async get(): Promise<S3Identity> {
    const current = this.#current;
    if (current && this.#now() < current.refreshAt) {
      return current.identity;
    }
    return this.#refresh();
  }

  /**
   * forceRefresh fetches new credentials now (S3 said the current ones
   * expired). Calls made while a refresh is running share it.
   */
  async forceRefresh(): Promise<S3Identity> {
    return this.#refresh();
  }

  #refresh(): Promise<S3Identity> {
    if (!this.#pending) {
      this.#pending = (async () => {
        try {
          const issuedAt = this.#now();
          const raw = await this.#source.getUploadCredentials();
          this.#fetchCount++;
          const expiresAt = parseExpiry(raw.expiry_time);
          const identity: S3Identity = {
            accessKeyId: raw.access_key,
            secretAccessKey: raw.secret_key,
            sessionToken: raw.token || undefined,
            expiration: new Date(expiresAt),
          };
          this.#current = {
            identity,
            raw,
            refreshAt: refreshTime(issuedAt, expiresAt),
          };
          return identity;
        } finally {
          this.#pending = null;
        }
      })();
    }
    return this.#pending;
  }
}

/**
 * resolveS3Endpoint picks the S3 endpoint: the explicit configuration, else
 * the GENCOVE_S3_ENDPOINT environment variable, else the `endpoint_url` that
 * came with the credentials, else undefined (AWS's own endpoint).
 */
export function resolveS3Endpoint(params: {
  configured?: string;
  env?: NodeJS.ProcessEnv;
  fromCredentials?: string;
}): string | undefined {
  const env = params.env ?? process.env;
  const candidates = [
    params.configured,
    env[S3_ENDPOINT_ENV],
    params.fromCredentials,
  ];
  for (const candidate of candidates) {
    const value = candidate?.trim();
    if (value) {
      return value;
    }
  }
  return undefined;
}

/**
 * checksumAlgorithmFor picks the checksum uploads send to `endpoint`
 * (undefined: AWS's own, over https). Bodies go with UNSIGNED-PAYLOAD, so
 * the signed checksum header is what binds them to the request: CRC32 where
 * TLS or the loopback interface already keeps the bytes from being altered
 * on the way, SHA-256 over plain http to another host.
 */
export function checksumAlgorithmFor(
  endpoint: string | undefined,
): ChecksumAlgorithm {
  if (endpoint === undefined) {
    return 'CRC32';
  }
  const url = new URL(endpoint);
  if (url.protocol === 'https:') {
    return 'CRC32';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const isLoopback =
    host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return isLoopback ? 'CRC32' : 'SHA256';
}

/**
 * createUploadS3Client fetches the first credentials, then builds the S3
 * client on the refreshing provider. Retries are left to the engine
 * (`maxAttempts: 1`) so that every attempt is counted and logged once.
 * Also returns the checksum algorithm uploads to that endpoint should use.
 */
export async function createUploadS3Client(params: {
  credentials: RefreshingCredentials;
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<{
  s3: S3Client;
  endpoint: string | undefined;
  checksumAlgorithm: ChecksumAlgorithm;
}> {
  await params.credentials.get();
  const endpoint = resolveS3Endpoint({
    configured: params.endpoint,
    env: params.env,
    fromCredentials: params.credentials.endpointUrl,
  });
  if (endpoint !== undefined) {
    try {
      new URL(endpoint);
    } catch {
      throw new Error(
        `The S3 endpoint ${JSON.stringify(endpoint)} is not a URL (set by the configuration, ${S3_ENDPOINT_ENV} or the upload credentials)`,
      );
    }
  }
  const s3 = new S3Client({
    region: 'us-east-1',
    ...(endpoint !== undefined ? { endpoint } : {}),
    forcePathStyle: true,
    credentials: params.credentials.provider,
    followRegionRedirects: true,
    maxAttempts: 1,
    // Sends part bodies from disk through reused buffers.
    requestHandler: new UploadRequestHandler(),
    // The uploader computes every body checksum itself (natively, once);
    // the SDK's own would be a second pass over the bytes in JavaScript.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // With Expect: 100-continue the SDK opens a new connection per request
    // (its own agent without keep-alive) and waits a round trip before the
    // body: per part, that costs more than a refused part would.
    expectContinueHeader: false,
    // The engine logs every failed attempt itself; without a logger the
    // SDK would print a warning to the console for each failed streamed
    // body.
    logger: SILENT_LOGGER,
  });
  s3.middlewareStack.add(unsignedPayloadWithChecksum, {
    step: 'build',
    name: 'gencoveUnsignedPayloadWithChecksum',
  });
  return { s3, endpoint, checksumAlgorithm: checksumAlgorithmFor(endpoint) };
}

const SILENT_LOGGER = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** Headers by which a request carries a checksum of its body. */
const BODY_CHECKSUM_HEADERS = new Set([
  'x-amz-checksum-crc32',
  'x-amz-checksum-sha256',
]);

/**
 * A build-step middleware: a request whose body already carries a checksum
 * header (the uploader's, see checksumAlgorithmFor) is signed with
 * `UNSIGNED-PAYLOAD`. The checksum header is itself signed and S3 verifies
 * it; hashing the body once more for the signature (the SDK's default over
 * http) would double the work on both sides.
 */
function unsignedPayloadWithChecksum<
  Input extends object,
  Output extends object,
>(
  next: (args: { input: Input; request: unknown }) => Promise<Output>,
): (args: { input: Input; request: unknown }) => Promise<Output> {
  return (args) => {
    const request = args.request as { headers?: Record<string, string> };
    const headers = request.headers;
    if (
      headers &&
      Object.keys(headers).some((h) =>
        BODY_CHECKSUM_HEADERS.has(h.toLowerCase()),
      )
    ) {
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    }
    return next(args);
  };
}
