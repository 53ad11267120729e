/**
 * Test support (never imported by product code): start a real sandbox on a
 * free loopback port with a temporary data folder, talk to its API over
 * HTTP, upload files through its S3 endpoint with the AWS SDK, and wait for
 * the pipeline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import {
  startSandbox,
  type RunningSandbox,
  type SandboxOptions,
} from '../server.ts';
import { SHARED_DATA, SHARED_REFERENCE } from '../../test/shared.ts';

/** The repository root, computed from this file. */
export const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..',
);
/** The team's reference folder (outside the repository). */
export const referenceDir = SHARED_REFERENCE;
/** The team's test data (outside the repository; never modify it). */
export const dataDir = SHARED_DATA;

/** makeTempDir creates an empty temporary folder. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gd-sandbox-${prefix}-`));
}

/**
 * copyData copies files of the shared data folder into `dest` and returns their
 * paths.
 */
export function copyData(relativePaths: string[], dest: string): string[] {
  return relativePaths.map((relative) => {
    const target = path.join(dest, path.basename(relative));
    fs.copyFileSync(path.join(dataDir, relative), target);
    return target;
  });
}

/** A parsed API response. */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  body: T;
}

/** Authorization header value, or null for none. */
export type Auth = string | null;

/** ApiClient sends requests to a sandbox with a default Authorization. */
export class ApiClient {
  readonly origin: string;
  auth: Auth;

  constructor(origin: string, auth: Auth) {
    this.origin = origin;
    this.auth = auth;
  }

  async request<T = any>(
    method: string,
    pathAndQuery: string,
    options: {
      body?: unknown;
      rawBody?: string;
      auth?: Auth;
      headers?: Record<string, string>;
    } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'Gencove-cli-version': '4.2.1',
      ...(options.headers ?? {}),
    };
    const auth = options.auth === undefined ? this.auth : options.auth;
    if (auth) {
      headers.Authorization = auth;
    }
    const response = await fetch(`${this.origin}${pathAndQuery}`, {
      method,
      headers,
      body:
        options.rawBody ??
        (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: body as T,
    };
  }

  get<T = any>(p: string, options?: { auth?: Auth }): Promise<ApiResponse<T>> {
    return this.request<T>('GET', p, options);
  }

  post<T = any>(
    p: string,
    body: unknown,
    options?: { auth?: Auth },
  ): Promise<ApiResponse<T>> {
    return this.request<T>('POST', p, { ...options, body });
  }
}

/** A sandbox started for a test, with an API-key client. */
export interface TestSandbox {
  sandbox: RunningSandbox;
  dataDir: string;
  api: ApiClient;
  /** Closes the sandbox; removes the data folder unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/**
 * startTestSandbox starts a sandbox on port 0 with a fresh (or given) data
 * folder.
 */
export async function startTestSandbox(
  options: Partial<SandboxOptions> = {},
): Promise<TestSandbox> {
  const folder = options.dataDir ?? makeTempDir('data');
  const sandbox = await startSandbox({
    pipelineStepMs: 50,
    ...options,
    dataDir: folder,
    port: 0,
  });
  const api = new ApiClient(
    sandbox.info.api_url,
    `Api-Key ${sandbox.info.api_key}`,
  );
  return {
    sandbox,
    dataDir: folder,
    api,
    close: async ({ keepData = false } = {}) => {
      await sandbox.close();
      if (!keepData) {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    },
  };
}

/** Upload credentials as the API returns them. */
export interface UploadCredentials {
  version: number;
  access_key: string;
  secret_key: string;
  token: string;
  expiry_time: string;
  endpoint_url: string;
}

/** s3Client builds an AWS SDK client for the sandbox's S3 endpoint. */
export function s3Client(credentials: UploadCredentials): S3Client {
  return new S3Client({
    endpoint: credentials.endpoint_url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: credentials.access_key,
      secretAccessKey: credentials.secret_key,
      sessionToken: credentials.token,
    },
  });
}

/** The uploads-post-data answer. */
export interface UploadSlot {
  id: string;
  destination_path: string;
  s3: { bucket: string; object_name: string };
  last_status: { id: string; status: string; note: string; created: string };
}

/**
 * uploadFile does what a platform client does for one file: it asks for an
 * upload slot, then PUTs the bytes to the sandbox's S3 endpoint with the SDK.
 */
export async function uploadFile(
  api: ApiClient,
  client: S3Client,
  localPath: string,
  destination: string,
): Promise<UploadSlot> {
  const slot = await api.post<UploadSlot>('/api/v2/uploads-post-data/', {
    destination_path: destination,
  });
  if (slot.status !== 201) {
    throw new Error(
      `uploads-post-data for ${destination} answered ${slot.status}: ${slot.text}`,
    );
  }
  await client.send(
    new PutObjectCommand({
      Bucket: slot.body.s3.bucket,
      Key: slot.body.s3.object_name,
      Body: fs.readFileSync(localPath),
    }),
  );
  return slot.body;
}

/** Sample-sheet row as the API returns it. */
export interface SheetRow {
  client_id: string;
  fastq: {
    r1?: {
      upload: string;
      destination_path: string;
      last_status: { status: string };
    };
    r2?: {
      upload: string;
      destination_path: string;
      last_status: { status: string };
    };
  };
}

/**
 * waitFor polls `probe` until it returns a value, or fails after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** waitForSampleStatus waits until a sample reaches one of `statuses`. */
export async function waitForSampleStatus(
  api: ApiClient,
  sampleId: string,
  statuses: string[],
  timeoutMs = 30_000,
): Promise<any> {
  return waitFor(
    `sample ${sampleId} to reach ${statuses.join(' or ')}`,
    async () => {
      const res = await api.get(`/api/v2/samples/${sampleId}`);
      return statuses.includes(res.body?.last_status?.status)
        ? res.body
        : undefined;
    },
    timeoutMs,
  );
}
