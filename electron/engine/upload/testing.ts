/**
 * Helpers for the upload engine's tests (used only by tests): a sandbox
 * with a signed-in client, copies of the team's real FASTQ fixtures, plans
 * built from explicit file lists, an S3 reader, and a recording HTTP proxy
 * on 127.0.0.1 that can delay or break requests on purpose.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';

import { GencoveClient } from '../api/client.ts';
import type {
  PlanFile,
  PlannedRead,
  PlannedSample,
  Read,
  UploadPlan,
} from '../../../shared/domain.ts';
import { SHARED_DATA } from '../../../test/shared.ts';

/** The repository root, computed from this file. */
export const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** The team's shared test data (read only: copy before use). */
export const sharedData = SHARED_DATA;

/** What startSandbox returns, as far as these tests need it. */
export interface SandboxHandle {
  info: {
    api_url: string;
    s3_endpoint: string;
    email: string;
    password: string;
    api_key: string;
    project_ids: string[];
  };
  close(): Promise<void>;
}

/** A running sandbox, a client for it and a temporary folder. */
export interface TestWorld {
  sandbox: SandboxHandle;
  client: GencoveClient;
  /** Temporary folder, removed by close(). */
  dir: string;
  close(): Promise<void>;
}

/**
 * startWorld starts a sandbox on a free loopback port with its data in a
 * new temporary folder, and signs a client in with the sandbox's API key.
 * `options` are passed to startSandbox as they are.
 */
export async function startWorld(
  options: Record<string, unknown> = {},
): Promise<TestWorld> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gencove-upload-test-'));
  const modulePath = path.join(repoRoot, 'sandbox', 'server.ts');
  const { startSandbox } = (await import(modulePath)) as {
    startSandbox: (opts: Record<string, unknown>) => Promise<SandboxHandle>;
  };
  const sandbox = await startSandbox({
    dataDir: path.join(dir, 'sandbox'),
    port: 0,
    pipelineStepMs: 50,
    ...options,
  });
  const client = new GencoveClient({
    host: sandbox.info.api_url,
    auth: { kind: 'api-key', apiKey: sandbox.info.api_key },
  });
  return {
    sandbox,
    client,
    dir,
    close: async () => {
      client.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * copyFixtures copies files of ../shared/data (paths relative to it) into
 * `intoDir`, keeping their names, and returns the copies' paths.
 */
export function copyFixtures(
  relativePaths: string[],
  intoDir: string,
): string[] {
  mkdirSync(intoDir, { recursive: true });
  return relativePaths.map((relative) => {
    const target = path.join(intoDir, path.basename(relative));
    copyFileSync(path.join(sharedData, relative), target);
    return target;
  });
}

/** One sample of planFor: local files of R1 and (optionally) R2, in order. */
export interface SampleFiles {
  clientId: string;
  r1: string[];
  r2?: string[];
}

/**
 * planFor builds an UploadPlan for explicit files (lanes and chunks read
 * from Illumina-style names), every sample included, objects named
 * `<destination><clientId>_<read>.fastq.gz`.
 */
export function planFor(
  destination: string,
  samples: SampleFiles[],
): UploadPlan {
  const folder = destination.endsWith('/') ? destination : `${destination}/`;
  const planned: PlannedSample[] = samples.map((sample) => {
    const readOf = (
      read: Read,
      files: string[] | undefined,
    ): PlannedRead | undefined => {
      if (!files || files.length === 0) {
        return undefined;
      }
      const planFiles: PlanFile[] = files.map((file) => {
        const name = path.basename(file);
        const lane = /_L0*(\d+)_/.exec(name);
        const chunk = /_(\d{3})\.f(ast)?q\.gz$/i.exec(name);
        return {
          path: file,
          relativePath: name,
          size: statSync(file).size,
          read,
          lane: lane ? Number(lane[1]) : null,
          chunk: chunk ? Number(chunk[1]) : null,
          rule: 'test fixture',
        };
      });
      return {
        read,
        files: planFiles,
        size: planFiles.reduce((n, f) => n + f.size, 0),
        destination: `${folder}${sample.clientId}_${read}.fastq.gz`,
      };
    };
    return {
      key: sample.clientId,
      clientId: sample.clientId,
      sourceName: sample.clientId,
      derivation: 'test fixture',
      r1: readOf('R1', sample.r1),
      r2: readOf('R2', sample.r2),
      problems: [],
      included: true,
    };
  });
  return {
    roots: [],
    destination: folder,
    samples: planned,
    problems: [],
    ignored: [],
    totalBytes: planned.reduce(
      (n, s) => n + (s.r1?.size ?? 0) + (s.r2?.size ?? 0),
      0,
    ),
    createdAt: new Date().toISOString(),
  };
}

/** getObjectBytes reads a whole S3 object. */
export async function getObjectBytes(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<Buffer> {
  const answer = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key }),
  );
  const bytes = await answer.Body!.transformToByteArray();
  return Buffer.from(bytes);
}

/** A request that passed through the proxy. */
export interface ProxiedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number | null;
}

/** What a proxy hook may ask for. */
export type ProxyAction =
  | { kind: 'forward'; delayMs?: number }
  | {
      kind: 'respond';
      status: number;
      headers?: Record<string, string>;
      body?: string;
    }
  | { kind: 'drop' };

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: ProxiedRequest[];
  /** Decides per request; default: forward. */
  hook: (req: ProxiedRequest) => ProxyAction;
  close(): Promise<void>;
}

/**
 * startRecordingProxy forwards every request to `target` (loopback only)
 * unchanged, Host header included, so SigV4 signatures made for the proxy
 * stay valid, and records method, path, query and status.
 */
export async function startRecordingProxy(
  target: string,
): Promise<RecordingProxy> {
  const upstream = new URL(target);
  if (upstream.hostname !== '127.0.0.1' && upstream.hostname !== 'localhost') {
    throw new Error(
      `The test proxy forwards to loopback only, not ${upstream.hostname}`,
    );
  }
  const sockets = new Set<Socket>();
  const proxy: RecordingProxy = {
    url: '',
    requests: [],
    hook: () => ({ kind: 'forward' }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) {
          socket.destroy();
        }
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      status: null,
    };
    proxy.requests.push(record);
    const action = proxy.hook(record);
    if (action.kind === 'drop') {
      req.resume();
      req.socket.destroy();
      return;
    }
    if (action.kind === 'respond') {
      req.resume();
      req.on('end', () => {
        record.status = action.status;
        res.writeHead(action.status, action.headers ?? {});
        res.end(action.body ?? '');
      });
      return;
    }
    const forward = (): void => {
      const outgoing = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          record.status = answer.statusCode ?? null;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      outgoing.on('error', () => {
        res.destroy();
      });
      req.pipe(outgoing);
    };
    if (action.delayMs) {
      req.pause();
      setTimeout(forward, action.delayMs);
    } else {
      forward();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** waitUntil polls `condition` every 20 ms until true or `timeoutMs` passed. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
