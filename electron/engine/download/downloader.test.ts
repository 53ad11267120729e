/**
 * downloadDeliverables against a real local node:http server that plays the
 * platform (sample JSON, QC, metadata, file types, checksums) and its
 * storage (presigned-looking URLs with Range support and faults on demand),
 * with the real GencoveClient, a real journal file and real temp folders.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { FileProgress } from '../../../shared/domain.ts';
import { GencoveClient } from '../api/client.ts';
import type { BackoffPolicy } from '../backoff.ts';
import { CancelledError, ValidationError } from '../errors.ts';
import { Journal } from '../journal/journal.ts';
import { downloadDeliverables } from './downloader.ts';
import type { DownloadDeps, DownloadProgress } from './downloader.ts';
import { DownloadStore } from './store.ts';

// ---------------------------------------------------------------------------
// The fake platform

const API_KEY = 'test-api-key';
const PROJECT = 'aaaaaaaa-0000-4000-8000-000000000001';

interface FakeFile {
  id: string;
  fileType: string;
  name: string;
  content: Buffer;
  /** Where the platform tells the checksum. */
  checksumIn: 'field' | 'endpoint' | 'none';
  /** A checksum that does not match the content. */
  wrongChecksum?: boolean;
  /** Whether `size` is given in the sample JSON. */
  sizeInApi: boolean;
  /** Storage ignores Range headers (always 200). */
  noRange?: boolean;
  /** URLs of an older generation than this answer 403 (expired). */
  validFromGeneration?: number;
  /** The next N full answers stop after half the body. */
  interruptions?: number;
  /** Milliseconds between 16 KiB chunks. */
  slowMs?: number;
}

interface FakeSample {
  id: string;
  clientId: string;
  status: string;
  archive: string;
  files: FakeFile[];
  qc: unknown[];
  metadata: unknown;
  /** How many times `samples/{id}` was read (URL generation). */
  reads: number;
}

interface StorageRequest {
  fileId: string;
  range: string | undefined;
  headers: http.IncomingHttpHeaders;
  status: number;
  bytesSent: number;
}

interface FakePlatform {
  url: string;
  samples: Map<string, FakeSample>;
  fileTypes: string[];
  storage: StorageRequest[];
  apiPaths: string[];
  /** Storage answers being sent right now, and the most at once. */
  active: { now: number; peak: number };
  close(): Promise<void>;
}

let idCounter = 0;
function uuid(): string {
  idCounter++;
  const hex = idCounter.toString(16).padStart(12, '0');
  return `5a000000-0000-4000-8000-${hex}`;
}

function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function makeFile(fileType: string, sampleId: string, overrides: Partial<FakeFile> = {}): FakeFile {
  const ext = fileType.startsWith('fastq') ? 'fastq.gz' : fileType === 'alignment-bam' ? 'bam' : 'vcf.gz';
  const suffix = fileType === 'fastq-r1' ? 'R1' : fileType === 'fastq-r2' ? 'R2' : fileType;
  return {
    id: uuid(),
    fileType,
    name: `${sampleId}_${suffix}.${ext}`,
    content: bytes(50_000 + idCounter * 777, idCounter),
    checksumIn: 'field',
    sizeInApi: true,
    ...overrides,
  };
}

function makeSample(overrides: Partial<FakeSample> = {}, files?: (id: string) => FakeFile[]): FakeSample {
  const id = overrides.id ?? uuid();
  return {
    id,
    clientId: 'S1',
    status: 'succeeded',
    archive: 'available',
    files: files ? files(id) : [makeFile('fastq-r1', id), makeFile('fastq-r2', id)],
    qc: [
      {
        quality_control_type: { key: 'bases', type: 'int', name: 'Bases' },
        quality_control: { value_expected: 1000, value_measured: 4242, value_string: '', status: 'succeeded' },
      },
      {
        quality_control_type: { key: 'format', type: 'bool', name: 'Valid FASTQ' },
        quality_control: { value_expected: null, value_measured: null, value_string: 'ok', status: 'succeeded' },
      },
    ],
    metadata: { batch: 7 },
    reads: 0,
    ...overrides,
  };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function page(results: unknown[]): unknown {
  return { meta: { count: results.length, next: null, previous: null }, results };
}

async function startPlatform(): Promise<FakePlatform> {
  const samples = new Map<string, FakeSample>();
  const storage: StorageRequest[] = [];
  const apiPaths: string[] = [];
  const platform: FakePlatform = {
    url: '',
    samples,
    fileTypes: ['fastq-r1', 'fastq-r2', 'alignment-bam', 'impute-vcf', 'impute-vcf_subset'],
    storage,
    apiPaths,
    active: { now: 0, peak: 0 },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const findFile = (fileId: string): FakeFile | undefined => {
    for (const sample of samples.values()) {
      const file = sample.files.find((f) => f.id === fileId);
      if (file) return file;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const parts = url.pathname.split('/').filter(Boolean);

    if (parts[0] === 'storage') {
      platform.active.now++;
      platform.active.peak = Math.max(platform.active.peak, platform.active.now);
      res.on('close', () => platform.active.now--);
      serveStorage(req, res, url, findFile(parts[1] ?? ''), storage);
      return;
    }
    apiPaths.push(url.pathname);
    if (req.headers.authorization !== `Api-Key ${API_KEY}`) {
      json(res, 401, { detail: 'Authentication credentials were not provided.' });
      return;
    }
    const [api, v2, kind, rawId] = parts;
    if (api !== 'api' || v2 !== 'v2') return json(res, 404, { detail: 'Not found.' });
    const id = rawId ?? '';
    if (kind === 'project-samples') {
      if (id !== PROJECT) return json(res, 404, { detail: 'Not found.' });
      return json(
        res,
        200,
        page(
          [...samples.values()].map((s) => ({
            id: s.id,
            client_id: s.clientId,
            last_status: { id: uuid(), status: s.status, note: '', created: '2024-01-01T00:00:00Z' },
            archive_last_status: {
              id: uuid(),
              status: s.archive,
              created: '2024-01-01 00:00:00+00:00',
              transition_cutoff: null,
            },
          })),
        ),
      );
    }
    if (kind === 'samples') {
      const sample = samples.get(id);
      if (!sample) return json(res, 404, { detail: 'Not found.' });
      sample.reads++;
      const isArchived = !/^(available|restored)/.test(sample.archive);
      return json(res, 200, {
        id: sample.id,
        project: PROJECT,
        client_id: sample.clientId,
        last_status: { id: uuid(), status: sample.status, note: '', created: '2024-01-01T00:00:00Z' },
        archive_last_status: {
          id: uuid(),
          status: sample.archive,
          created: '2024-01-01T00:00:00Z',
          transition_cutoff: null,
        },
        files: sample.files.map((f) => ({
          id: f.id,
          s3_path: `x/${f.name}`,
          size: f.sizeInApi ? f.content.length : null,
          file_type: f.fileType,
          checksum_sha256: f.checksumIn === 'field' ? (f.wrongChecksum ? sha256('nope') : sha256(f.content)) : '',
          download_url: isArchived
            ? null
            : `${platform.url}/storage/${f.id}/stored.bin?${new URLSearchParams({
                gen: String(sample.reads),
                'X-Amz-Signature': 's3cr3t',
                'response-content-disposition': `attachment; filename=${f.name}`,
              })}`,
        })),
      });
    }
    if (kind === 'sample-quality-controls') {
      const sample = samples.get(id);
      return sample ? json(res, 200, page(sample.qc)) : json(res, 404, { detail: 'Not found.' });
    }
    if (kind === 'sample-metadata') {
      const sample = samples.get(id);
      return sample ? json(res, 200, { metadata: sample.metadata }) : json(res, 404, { detail: 'Not found.' });
    }
    if (kind === 'file-types') {
      return json(res, 200, page(platform.fileTypes.map((key) => ({ key, description: '' }))));
    }
    if (kind === 'files' && id.endsWith('.sha256')) {
      const file = findFile(id.replace(/\.sha256$/, ''));
      if (!file) return json(res, 404, { detail: 'Not found.' });
      if (file.checksumIn !== 'endpoint') return json(res, 400, { detail: 'File does not have checksum.' });
      const hex = file.wrongChecksum ? sha256('nope') : sha256(file.content);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`${hex} *${url.searchParams.get('filename') ?? file.name}\n`);
      return;
    }
    json(res, 404, { detail: 'Not found.' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  platform.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return platform;
}

function serveStorage(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  file: FakeFile | undefined,
  log: StorageRequest[],
): void {
  const record: StorageRequest = {
    fileId: file?.id ?? '',
    range: req.headers.range,
    headers: req.headers,
    status: 0,
    bytesSent: 0,
  };
  log.push(record);
  if (!file) {
    record.status = 404;
    res.writeHead(404).end();
    return;
  }
  const generation = Number(url.searchParams.get('gen'));
  if (file.validFromGeneration && generation < file.validFromGeneration) {
    record.status = 403;
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    return;
  }
  const total = file.content.length;
  let start = 0;
  let status = 200;
  const headers: Record<string, string | number> = {
    'accept-ranges': 'bytes',
    etag: `"${sha256(file.content).slice(0, 32)}"`,
    'content-type': 'application/octet-stream',
  };
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (range && !file.noRange) {
    start = Number(range[1]);
    if (start >= total) {
      record.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${total - 1}/${total}`;
  }
  const body = file.content.subarray(start);
  headers['content-length'] = body.length;
  record.status = status;
  res.writeHead(status, headers);
  if (status === 200 && (file.interruptions ?? 0) > 0) {
    file.interruptions! -= 1;
    const half = body.subarray(0, Math.floor(body.length / 2));
    record.bytesSent = half.length;
    res.write(half, () => setTimeout(() => res.destroy(), 20));
    return;
  }
  if (file.slowMs) {
    let offset = 0;
    const tick = (): void => {
      if (res.destroyed) return;
      const chunk = body.subarray(offset, offset + 16_384);
      offset += chunk.length;
      record.bytesSent += chunk.length;
      if (offset >= body.length) {
        res.end(chunk);
        return;
      }
      res.write(chunk);
      setTimeout(tick, file.slowMs);
    };
    tick();
    return;
  }
  record.bytesSent = body.length;
  res.end(body);
}

// ---------------------------------------------------------------------------
// Test harness

const FAST_RETRY: BackoffPolicy = { baseMs: 1, maxMs: 5, factor: 2, maxAttempts: 4, jitter: 'none' };

let platform: FakePlatform;
let root: string;
let dest: string;
let journal: Journal;
let client: GencoveClient;
let logs: string[];

beforeEach(async () => {
  platform = await startPlatform();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'gd-download-'));
  dest = path.join(root, 'dest');
  journal = Journal.open(path.join(root, 'state', 'journal.sqlite'));
  client = new GencoveClient({
    host: platform.url,
    auth: { kind: 'api-key', apiKey: API_KEY },
    retry: FAST_RETRY,
  });
  logs = [];
});

afterEach(async () => {
  client.close();
  journal.close();
  await platform.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function addSample(sample: FakeSample): FakeSample {
  platform.samples.set(sample.id, sample);
  return sample;
}

/** A sample whose only file is a `fastq-r1` with these overrides. */
function addR1Sample(overrides: Partial<FakeFile> = {}): FakeSample {
  return addSample(makeSample({}, (id) => [makeFile('fastq-r1', id, overrides)]));
}

async function run(
  req: Partial<Parameters<typeof downloadDeliverables>[0]> = {},
  deps: Partial<DownloadDeps> = {},
) {
  const snapshots: DownloadProgress[] = [];
  const result = await downloadDeliverables(
    { destination: dest, projectId: PROJECT, ...req },
    {
      client,
      journal,
      signal: new AbortController().signal,
      onProgress: (p) => snapshots.push(p),
      log: (level, msg) => logs.push(`${level}: ${msg}`),
      retryPolicy: FAST_RETRY,
      ...deps,
    },
  );
  return { result, snapshots };
}

function localPath(sample: FakeSample, file: FakeFile): string {
  const extension = file.name.slice(file.name.indexOf('.') + 1);
  const name = `${sample.id}_${file.fileType}.${extension}`;
  return path.join(dest, sample.clientId, sample.id, name);
}

function entryFor(files: FileProgress[], sample: FakeSample, file: FakeFile): FileProgress {
  const rel = path.relative(dest, localPath(sample, file)).split(path.sep).join('/');
  const entry = files.find((f) => f.name === rel);
  if (!entry) throw new Error(`no progress entry for ${rel}: ${files.map((f) => f.name).join(', ')}`);
  return entry;
}

function storageFor(file: FakeFile): StorageRequest[] {
  return platform.storage.filter((r) => r.fileId === file.id);
}

/** Every path under `folder`, relative, '/' separated. */
function listTree(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return (fs.readdirSync(folder, { recursive: true }) as string[])
    .map((p) => p.split(path.sep).join('/'))
    .sort();
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

// ---------------------------------------------------------------------------

describe('downloadDeliverables()', () => {
  describe('a project download', () => {
    it('writes every deliverable, the QC and metadata files, and journals them', async () => {
      const s1 = addSample(makeSample({ clientId: 'S1' }));
      const s2 = addSample(makeSample({ clientId: 'S2', status: 'failed qc' }));

      const { result, snapshots } = await run();

      for (const sample of [s1, s2]) {
        for (const file of sample.files) {
          expect(fs.readFileSync(localPath(sample, file)).equals(file.content)).toBe(true);
          expect(entryFor(result.files, sample, file).state).toBe('done');
        }
        const folder = path.join(dest, sample.clientId, sample.id);
        const qc = JSON.parse(fs.readFileSync(path.join(folder, `${sample.id}_qc.json`), 'utf8'));
        expect(qc).toEqual([
          {
            quality_control_type: { key: 'bases', type: 'int' },
            quality_control: { value_expected: 1000, value_measured: 4242, value_string: '', status: 'succeeded' },
          },
          {
            quality_control_type: { key: 'format', type: 'bool' },
            quality_control: { value_string: 'ok', status: 'succeeded' },
          },
        ]);
        const metadata = path.join(folder, `${sample.id}_metadata.json`);
        expect(fs.readFileSync(metadata, 'utf8')).toBe('{"metadata":{"batch":7}}');
      }
      expect(result).toMatchObject({ downloaded: 8, skipped: 0, failed: 0 });
      expect(listTree(dest).filter((p) => p.endsWith('.part'))).toEqual([]);

      const store = new DownloadStore(journal);
      const r1 = s1.files[0]!;
      expect(store.delivered(localPath(s1, r1))).toEqual({
        path: localPath(s1, r1),
        sampleId: s1.id,
        fileId: r1.id,
        fileType: 'fastq-r1',
        size: r1.content.length,
        sha256: sha256(r1.content),
      });
      expect(store.deliveredForSample(s2.id)).toHaveLength(4);

      const last = snapshots.at(-1)!;
      const total = [...s1.files, ...s2.files].reduce((n, f) => n + f.content.length, 0);
      expect(last.bytesDone).toBe(total);
      expect(last.bytesTotal).toBe(total);
      expect(last.files.every((f) => f.state === 'done')).toBe(true);
      expect(snapshots[0]!.files.every((f) => f.state === 'queued')).toBe(true);
    });

    it('sends no platform credentials or headers to storage', async () => {
      addSample(makeSample());

      await run();

      expect(platform.storage.length).toBeGreaterThan(0);
      for (const request of platform.storage) {
        expect(request.headers.authorization).toBeUndefined();
        expect(Object.keys(request.headers).filter((h) => /gencove/i.test(h))).toEqual([]);
      }
    });

    it('skips archived and unfinished samples with the reason', async () => {
      const archived = addSample(makeSample({ clientId: 'old', archive: 'archived' }));
      const running = addSample(makeSample({ clientId: 'busy', status: 'running' }));
      const restored = addSample(makeSample({ clientId: 'back', archive: 'restored' }));

      const { result } = await run();

      expect(result.files.find((f) => f.name === `old (${archived.id})`)).toMatchObject({
        state: 'skipped',
        error: 'archived: restore it first',
        clientId: 'old',
      });
      expect(result.files.find((f) => f.name === `busy (${running.id})`)).toMatchObject({
        state: 'skipped',
        error: 'still running: no deliverables yet',
      });
      expect(entryFor(result.files, restored, restored.files[0]!).state).toBe('done');
      expect(listTree(dest).some((p) => p.startsWith('old') || p.startsWith('busy'))).toBe(false);
      expect(archived.reads).toBe(0);
    });

    it('rejects an unknown project before writing anything', async () => {
      const err = await rejection(run({ projectId: 'aaaaaaaa-0000-4000-8000-0000000000ff' }));

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('was not found');
      expect(fs.existsSync(dest)).toBe(false);
    });
  });

  describe('free space', () => {
    it('refuses a download that does not fit, before fetching anything', async () => {
      const sample = addSample(makeSample({ clientId: 'BIG' }));
      const needed = sample.files.reduce((n, f) => n + f.content.length, 0);
      const asked: string[] = [];

      const err = await rejection(
        run({}, {
          freeSpace: async (folder) => {
            asked.push(folder);
            return needed - 1;
          },
        }),
      );

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/needs .* but .* has .* free/);
      expect((err as Error).message).toContain(dest);
      expect(asked).toEqual([dest]);
      expect(platform.storage).toEqual([]);
      expect(listTree(dest).filter((p) => !p.endsWith('/'))).toEqual([]);
    });

    it('counts only what is not on disk yet: finished files and kept .part bytes', async () => {
      const sample = addSample(makeSample({ clientId: 'HALF' }));
      const [first, second] = sample.files;
      await run({}, { freeSpace: async () => null });
      fs.rmSync(localPath(sample, second!));
      const kept = Math.floor(second!.content.length / 2);
      fs.writeFileSync(
        `${localPath(sample, second!)}.part`,
        second!.content.subarray(0, kept),
      );

      const tooSmall = await rejection(
        run({}, { freeSpace: async () => second!.content.length - kept - 1 }),
      );
      const { result } = await run(
        {},
        { freeSpace: async () => second!.content.length - kept },
      );

      expect(tooSmall).toBeInstanceOf(ValidationError);
      expect(entryFor(result.files, sample, first!).state).toBe('skipped');
      expect(entryFor(result.files, sample, second!).state).toBe('done');
      expect(
        fs.readFileSync(localPath(sample, second!)).equals(second!.content),
      ).toBe(true);
    });
  });

  describe('file type filter', () => {
    it('takes only the requested types, by prefix', async () => {
      const sample = addSample(
        makeSample({}, (id) => [
          makeFile('fastq-r1', id),
          makeFile('impute-vcf', id),
          makeFile('impute-vcf_subset', id),
        ]),
      );

      const { result } = await run({ fileTypes: ['impute-vcf'] });

      expect(result.files.map((f) => f.name).sort()).toEqual(
        [
          `S1/${sample.id}/${sample.id}_impute-vcf.vcf.gz`,
          `S1/${sample.id}/${sample.id}_impute-vcf_subset.vcf.gz`,
        ].sort(),
      );
    });

    it('writes only the QC file when asked for qc', async () => {
      const sample = addSample(makeSample());

      const { result } = await run({ fileTypes: ['qc'] });

      expect(result.files.map((f) => f.name)).toEqual([`S1/${sample.id}/${sample.id}_qc.json`]);
      expect(platform.storage).toEqual([]);
    });

    it('rejects unknown types, listing them, before any download', async () => {
      addSample(makeSample());

      const err = await rejection(run({ fileTypes: ['fastq-r1', 'bogus', 'nope-vcf'] }));

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('bogus, nope-vcf');
      expect(platform.storage).toEqual([]);
    });
  });

  describe('sample ids', () => {
    it('downloads the given samples, failing one that does not exist', async () => {
      const sample = addSample(makeSample());
      const missing = 'bbbbbbbb-0000-4000-8000-000000000009';

      const { result } = await run({
        projectId: undefined,
        sampleIds: [sample.id.replace(/-/g, '').toUpperCase(), missing],
        fileTypes: ['fastq-r2'],
      });

      expect(entryFor(result.files, sample, sample.files[1]!).state).toBe('done');
      expect(result.files.find((f) => f.name.includes(missing))).toMatchObject({ state: 'failed' });
      expect(result.failed).toBe(1);
    });

    it('rejects ids that are not UUIDs', async () => {
      const err = await rejection(
        run({ projectId: undefined, sampleIds: ['x1', PROJECT] }),
      );

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('"x1"');
    });

    it('rejects a request with both a project and sample ids', async () => {
      await expect(run({ sampleIds: [PROJECT] })).rejects.toThrow(/exactly one/);
    });
  });

  describe('skip-existing', () => {
    it('skips a file of the right size and checksum without fetching it', async () => {
      const sample = addSample(makeSample());
      await run({ fileTypes: ['fastq-r1'] });
      const before = platform.storage.length;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, sample.files[0]!).state).toBe('skipped');
      expect(result.skipped).toBe(1);
      expect(platform.storage.length).toBe(before);
    });

    it('uses the cached checksum while size and mtime are unchanged', async () => {
      const sample = addSample(makeSample());
      const file = sample.files[0]!;
      await run({ fileTypes: ['fastq-r1'] });
      const target = localPath(sample, file);
      const when = new Date('2024-05-01T10:00:00Z');
      fs.utimesSync(target, when, when);
      const verified = await run({ fileTypes: ['fastq-r1'] });
      // Same size, same mtime, other bytes: only a rehash could notice.
      fs.writeFileSync(target, Buffer.alloc(file.content.length, 1));
      fs.utimesSync(target, when, when);

      const cached = await run({ fileTypes: ['fastq-r1'] });
      const later = new Date(when.getTime() + 5_000);
      fs.utimesSync(target, later, later);
      const rehashed = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(verified.result.files, sample, file).state).toBe('skipped');

      expect(entryFor(cached.result.files, sample, file).state).toBe('skipped');
      expect(entryFor(rehashed.result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(target).equals(file.content)).toBe(true);
    });

    it('downloads again a file of the wrong size', async () => {
      const sample = addSample(makeSample());
      const file = sample.files[0]!;
      fs.mkdirSync(path.dirname(localPath(sample, file)), { recursive: true });
      fs.writeFileSync(localPath(sample, file), file.content.subarray(0, 100));

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(localPath(sample, file)).equals(file.content)).toBe(true);
    });

    it('asks storage for the size when the platform does not give it', async () => {
      const sample = addR1Sample({ sizeInApi: false, checksumIn: 'none' });
      const file = sample.files[0]!;
      await run({ fileTypes: ['fastq-r1'] });
      platform.storage.length = 0;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('skipped');
      expect(platform.storage.map((r) => r.range)).toEqual(['bytes=0-0']);
    });

    it('downloads and replaces everything with skipExisting false', async () => {
      const sample = addSample(makeSample());
      await run();
      const qcPath = path.join(dest, 'S1', sample.id, `${sample.id}_qc.json`);
      fs.writeFileSync(qcPath, 'stale');
      platform.storage.length = 0;

      const { result } = await run({ skipExisting: false });

      expect(result).toMatchObject({ downloaded: 4, skipped: 0 });
      expect(platform.storage.filter((r) => r.status === 200)).toHaveLength(2);
      expect(fs.readFileSync(qcPath, 'utf8')).not.toBe('stale');
    });

    it('keeps an existing non-empty QC file with skip-existing on', async () => {
      const sample = addSample(makeSample());
      const qcPath = path.join(dest, 'S1', sample.id, `${sample.id}_qc.json`);
      fs.mkdirSync(path.dirname(qcPath), { recursive: true });
      fs.writeFileSync(qcPath, '[]');

      const { result } = await run({ fileTypes: ['qc'] });

      expect(result.skipped).toBe(1);
      expect(fs.readFileSync(qcPath, 'utf8')).toBe('[]');
    });
  });

  describe('.part files', () => {
    it('continues a .part when storage answers 206', async () => {
      const sample = addSample(makeSample());
      const file = sample.files[0]!;
      const target = localPath(sample, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(`${target}.part`, file.content.subarray(0, 20_000));

      const { result, snapshots } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(target).equals(file.content)).toBe(true);
      expect(fs.existsSync(`${target}.part`)).toBe(false);
      expect(storageFor(file)).toMatchObject([
        { range: 'bytes=20000-', status: 206, bytesSent: file.content.length - 20_000 },
      ]);
      expect(snapshots.at(-1)).toMatchObject({ bytesDone: file.content.length, bytesResumed: 20_000 });
    });

    it('starts over when storage answers 200 to the Range request', async () => {
      const sample = addR1Sample({ noRange: true });
      const file = sample.files[0]!;
      const target = localPath(sample, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(`${target}.part`, Buffer.alloc(30_000, 7));

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(target).equals(file.content)).toBe(true);
      expect(storageFor(file)).toMatchObject([{ range: 'bytes=30000-', status: 200 }]);
    });

    it('starts over once when a continued .part fails the checksum', async () => {
      const sample = addSample(makeSample());
      const file = sample.files[0]!;
      const target = localPath(sample, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(`${target}.part`, Buffer.alloc(10_000, 9));

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(target).equals(file.content)).toBe(true);
      expect(storageFor(file).map((r) => [r.range, r.status])).toEqual([
        ['bytes=10000-', 206],
        [undefined, 200],
      ]);
    });

    it('finishes a complete .part that storage answers with 416', async () => {
      const sample = addSample(makeSample());
      const file = sample.files[0]!;
      const target = localPath(sample, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(`${target}.part`, file.content);

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(target).equals(file.content)).toBe(true);
      expect(storageFor(file).map((r) => r.status)).toEqual([416]);
    });

    it('deletes the .part and fails the file when the checksum is wrong', async () => {
      const sample = addSample(
        makeSample({}, (id) => [
          makeFile('fastq-r1', id, { wrongChecksum: true }),
          makeFile('fastq-r2', id),
        ]),
      );
      const [bad, good] = sample.files as [FakeFile, FakeFile];

      const { result } = await run({ fileTypes: ['fastq-r1', 'fastq-r2'] });

      const entry = entryFor(result.files, sample, bad);
      expect(entry.state).toBe('failed');
      expect(entry.error).toMatch(/SHA-256 mismatch/);
      expect(entry.error).toContain(sha256('nope'));
      expect(fs.existsSync(localPath(sample, bad))).toBe(false);
      expect(fs.existsSync(`${localPath(sample, bad)}.part`)).toBe(false);
      expect(entryFor(result.files, sample, good).state).toBe('done');
      expect(result).toMatchObject({ downloaded: 1, failed: 1 });
    });

    it('verifies with the checksum endpoint when the field is empty', async () => {
      const sample = addR1Sample({ checksumIn: 'endpoint', wrongChecksum: true });

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, sample.files[0]!).error).toMatch(/SHA-256 mismatch/);
      expect(platform.apiPaths.some((p) => p.endsWith('.sha256'))).toBe(true);
    });

    it('accepts a file without checksum (endpoint 400) and says so at debug level', async () => {
      const sample = addR1Sample({ checksumIn: 'none' });

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, sample.files[0]!).state).toBe('done');
      expect(logs.some((l) => l.startsWith('debug:') && l.includes('no checksum'))).toBe(true);
    });
  });

  describe('storage faults', () => {
    it('asks for a fresh URL after a 403 and completes', async () => {
      const sample = addR1Sample({ validFromGeneration: 2 });
      const file = sample.files[0]!;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(storageFor(file).map((r) => r.status)).toEqual([403, 200]);
      expect(sample.reads).toBe(2);
      expect(fs.readFileSync(localPath(sample, file)).equals(file.content)).toBe(true);
    });

    it('gives up after a bounded number of fresh URLs', async () => {
      const sample = addR1Sample({ validFromGeneration: 1000 });
      const file = sample.files[0]!;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      const entry = entryFor(result.files, sample, file);
      expect(entry.state).toBe('failed');
      expect(entry.error).toMatch(/403/);
      expect(storageFor(file).length).toBe(4);
    });

    it('continues an interrupted body with a Range request', async () => {
      const sample = addR1Sample({ interruptions: 1 });
      const file = sample.files[0]!;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(fs.readFileSync(localPath(sample, file)).equals(file.content)).toBe(true);
      const requests = storageFor(file);
      expect(requests[0]).toMatchObject({ status: 200, range: undefined });
      expect(requests[1]!.status).toBe(206);
      expect(requests[1]!.range).toMatch(/^bytes=[1-9]\d*-$/);
    });

    it('fails the file when the body keeps breaking, keeping the .part', async () => {
      const sample = addR1Sample({ interruptions: 99, noRange: true });
      const file = sample.files[0]!;

      const { result } = await run({ fileTypes: ['fastq-r1'] });

      const entry = entryFor(result.files, sample, file);
      expect(entry.state).toBe('failed');
      expect(entry.error).toMatch(/connection to 127\.0\.0\.1:\d+ was lost/);
      expect(fs.existsSync(localPath(sample, file))).toBe(false);
      expect(fs.statSync(`${localPath(sample, file)}.part`).size).toBeLessThan(file.content.length);
      expect(storageFor(file)).toHaveLength(FAST_RETRY.maxAttempts);
    });
  });

  describe('paths', () => {
    it('rejects a template that puts two files on one path before downloading', async () => {
      addSample(makeSample());

      const err = await rejection(run({ template: '{client_id}/{gencove_id}.{file_extension}' }));

      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/two files on S1\/.*\.fastq\.gz/);
      expect(platform.storage).toEqual([]);
      expect(fs.existsSync(dest)).toBe(false);
    });

    it('rejects paths that differ only by case', async () => {
      addSample(makeSample({ clientId: 'abc' }));
      addSample(makeSample({ clientId: 'ABC' }));

      await expect(run({ template: '{client_id}_{file_type}.{file_extension}' })).rejects.toThrow(/two files on/);
    });

    it('rejects an unknown template token', async () => {
      addSample(makeSample());

      await expect(run({ template: '{client_id}/{sample_id}' })).rejects.toThrow(/\{sample_id\}/);
    });

    it('writes nothing outside the destination folder, whatever the names', async () => {
      const sample = addSample(
        makeSample({ clientId: '../../escape' }, (id) => [
          makeFile('fastq-r1', id, { name: '../../../outside.fastq.gz' }),
          makeFile('fastq-r2', id, { name: '..' }),
        ]),
      );
      const outside = listTree(root).filter((p) => !p.startsWith('dest'));

      const { result } = await run({ template: '{client_id}/{default_filename}' });

      expect(result.failed).toBe(0);
      expect(listTree(root).filter((p) => !p.startsWith('dest') && !p.startsWith('state/'))).toEqual(
        outside.filter((p) => !p.startsWith('state/')),
      );
      expect(listTree(dest)).toEqual(
        [
          '.._.._escape',
          '.._.._escape/_',
          '.._.._escape/outside.fastq.gz',
          `.._.._escape/${sample.id}_qc.json`,
          `.._.._escape/${sample.id}_metadata.json`,
        ].sort(),
      );
    });

    it('makes names from the download URL safe', async () => {
      const sample = addSample(
        makeSample({ clientId: 'CON' }, (id) => [
          makeFile('fastq-r1', id, { name: 'a:b?.fastq.gz' }),
        ]),
      );

      const { result } = await run({ template: '{client_id}/{default_filename}', fileTypes: ['fastq-r1'] });

      expect(result.files.map((f) => f.name)).toEqual(['_CON/a_b_.fastq.gz']);
      expect(fs.readFileSync(path.join(dest, '_CON', 'a_b_.fastq.gz')).equals(sample.files[0]!.content)).toBe(true);
    });
  });

  describe('concurrency and cancellation', () => {
    it('transfers at most fileConcurrency files at a time', async () => {
      addSample(
        makeSample({}, (id) =>
          [1, 2, 3, 4, 5].map((n) =>
            makeFile('alignment-bam', id, { slowMs: 10, name: `part${n}.bam` }),
          ),
        ),
      );

      const { result } = await run(
        { template: '{client_id}/{gencove_id}/{default_filename}', fileTypes: ['alignment-bam'] },
        { fileConcurrency: 3 },
      );

      expect(result.downloaded).toBe(5);
      expect(platform.active.peak).toBe(3);
    });

    it('stops on abort with CancelledError, keeps the .part, and a later run continues it', async () => {
      const sample = addSample(
        makeSample({}, (id) => [makeFile('fastq-r1', id, { slowMs: 20, content: bytes(400_000, 3) })]),
      );
      const file = sample.files[0]!;
      const controller = new AbortController();
      const snapshots: DownloadProgress[] = [];

      const err = await rejection(
        run(
          { fileTypes: ['fastq-r1'] },
          {
            signal: controller.signal,
            onProgress: (p) => {
              snapshots.push(p);
              if (p.bytesDone > 0) controller.abort();
            },
          },
        ),
      );
      const kept = fs.statSync(`${localPath(sample, file)}.part`).size;
      const finalAfterCancel = fs.existsSync(localPath(sample, file));
      file.slowMs = 0;
      const { result } = await run({ fileTypes: ['fastq-r1'] });

      expect(err).toBeInstanceOf(CancelledError);
      expect(snapshots.at(-1)!.files[0]!.state).toBe('cancelled');
      expect(finalAfterCancel).toBe(false);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(file.content.length);
      expect(entryFor(result.files, sample, file).state).toBe('done');
      expect(storageFor(file).at(-1)!.range).toBe(`bytes=${kept}-`);
      expect(fs.readFileSync(localPath(sample, file)).equals(file.content)).toBe(true);
    });
  });
});
