/**
 * Helpers for the watcher's tests (used only by tests): temporary folders,
 * copies of the team's real run folders and metadata, and an "instrument"
 * that writes a run folder over time the way sequencers and copy tools do.
 */
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SHARED_DATA } from '../../../test/shared.ts';

/** The repository root, computed from this file. */
export const repoRoot = path.resolve(import.meta.dirname, '../../..');

/** The team's shared test data (read only: copy before use). */
export const sharedData = SHARED_DATA;

/** The four real run folders of the shared data, by layout. */
export const RUNS = {
  miseq: '120110_M00119_0068_AMS0002022-00300',
  nextseq500: '180723_NB500892_0277_AHJYM2BGX7',
  iseq: '20200123_FS10000482_42_BPG80712-1010',
  nextseq2000: '210628_VH00567_1_AAAGLG7HV',
} as const;

/** makeTempDir creates an empty temporary folder; remove it with removeDir. */
export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `gd-watch-${prefix}-`));
}

/** removeDir removes a folder tree (no error when it is gone). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * copyRun copies the shared run folder `name` into `intoDir` (as `asName`
 * when given) and returns the copy's path.
 */
export function copyRun(
  name: string,
  intoDir: string,
  asName: string = name,
): string {
  const target = path.join(intoDir, asName);
  fs.cpSync(path.join(sharedData, 'runs', name), target, { recursive: true });
  return target;
}

/** copyShared copies one file or folder of the shared data to `target`. */
export function copyShared(relative: string, target: string): string {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(path.join(sharedData, relative), target, { recursive: true });
  return target;
}

/** listTree returns every file under `dir`, run-relative with '/', sorted. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** Marker files (lower case) instruments write; the rest is run content. */
const MARKERS = new Set([
  'rtacomplete.txt',
  'copycomplete.txt',
  'completedjobinfo.xml',
  'secondary_analysis_complete.txt',
]);

/** isMarkerFile is true for the completion markers' names. */
export function isMarkerFile(relative: string): boolean {
  return MARKERS.has(path.posix.basename(relative).toLowerCase());
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/** How {@link writeRunLikeAnInstrument} writes. */
export interface InstrumentScript {
  /** Source run folder (a copy in a temp dir or the shared data). */
  from: string;
  /** The run folder to create. */
  to: string;
  /** Writes per FASTQ (the file grows in this many pieces). */
  pieces?: number;
  /** Pause between pieces and between files, ms. */
  pauseMs?: number;
  /** Marker order (run-relative paths); default: as listed, RTAComplete first. */
  markerOrder?: string[];
  /** Called after the content is written and before the markers. */
  beforeMarkers?: () => Promise<void>;
  /** Called after each write (run-relative path). */
  onWrite?: (relative: string) => void;
}

/**
 * writeRunLikeAnInstrument writes `from` as `to` over time: RunInfo.xml and
 * the other metadata first, then every FASTQ in several appends, then the
 * completion markers last (in `markerOrder`). Resolves when all is written.
 */
export async function writeRunLikeAnInstrument(
  script: InstrumentScript,
): Promise<void> {
  const pieces = script.pieces ?? 3;
  const pauseMs = script.pauseMs ?? 50;
  const files = listTree(script.from);
  const markers = files.filter(isMarkerFile);
  const order = script.markerOrder ?? markers;
  const content = files.filter((f) => !isMarkerFile(f));
  const metadata = content.filter((f) => !/\.gz$/i.test(f));
  const fastqs = content.filter((f) => /\.gz$/i.test(f));

  for (const file of metadata) {
    copyFile(path.join(script.from, file), path.join(script.to, file));
    script.onWrite?.(file);
  }
  for (const file of fastqs) {
    const bytes = fs.readFileSync(path.join(script.from, file));
    const target = path.join(script.to, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const step = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += step) {
      fs.appendFileSync(target, bytes.subarray(at, at + step));
      script.onWrite?.(file);
      await sleep(pauseMs);
    }
  }
  await script.beforeMarkers?.();
  for (const marker of order) {
    copyFile(path.join(script.from, marker), path.join(script.to, marker));
    script.onWrite?.(marker);
    await sleep(pauseMs);
  }
}

function copyFile(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/**
 * waitFor polls `check` every 50 ms until it returns a value other than
 * undefined, or rejects after `timeoutMs` with `what` and the last state.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 20_000,
  describe: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}. ${describe()}`);
    }
    await sleep(50);
  }
}

/**
 * copyRunAs copies the shared run `name` to `<intoDir>/<folderName>` and,
 * when `runId` is given, gives the copy that Run Id in its RunInfo.xml (so
 * that several copies of one real run are different runs).
 */
export function copyRunAs(
  name: string,
  intoDir: string,
  folderName: string,
  runId?: string,
): string {
  const dir = copyRun(name, intoDir, folderName);
  if (runId !== undefined) {
    const file = path.join(dir, 'RunInfo.xml');
    const text = fs.readFileSync(file, 'utf8');
    const changed = text.replace(
      /(<Run\s[^>]*\bId=")[^"]+(")/i,
      `$1${runId}$2`,
    );
    if (changed === text) throw new Error(`No Run Id to change in ${file}`);
    fs.writeFileSync(file, changed);
  }
  return dir;
}

/**
 * backdate sets the access and modification times of every file under
 * `dir` to `secondsAgo` seconds ago.
 */
export function backdate(dir: string, secondsAgo: number): void {
  const when = new Date(Date.now() - secondsAgo * 1000);
  for (const file of listTree(dir))
    fs.utimesSync(path.join(dir, file), when, when);
}

/** A request that went through a {@link HoldingProxy}. */
export interface HeldRequest {
  method: string;
  path: string;
  /** The platform's answer status; null until it answered. */
  status: number | null;
}

/** A loopback proxy that can hold requests and deliver them after the caller died. */
export interface HoldingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: HeldRequest[];
  close(): Promise<void>;
}

/**
 * startHoldingProxy forwards every request to `target` (loopback only)
 * unchanged. Requests for which `holdMs` returns a number are read whole
 * first and forwarded that many ms later, even when the caller has gone
 * by then: the platform acts on a request whose answer nobody receives.
 */
export async function startHoldingProxy(
  target: string,
  holdMs: (req: { method: string; path: string }) => number | null,
): Promise<HoldingProxy> {
  const upstream = new URL(target);
  if (upstream.hostname !== '127.0.0.1') {
    throw new Error(
      `The test proxy forwards to 127.0.0.1 only, not ${upstream.hostname}`,
    );
  }
  const sockets = new Set<Socket>();
  const requests: HeldRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: HeldRequest = {
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
      status: null,
    };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (): void => {
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
            if (res.destroyed) {
              answer.resume();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        outgoing.on('error', () => res.destroy());
        outgoing.end(Buffer.concat(chunks));
      };
      const hold = holdMs(record);
      if (hold === null) send();
      else setTimeout(send, hold);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
