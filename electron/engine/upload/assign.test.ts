/**
 * Assignment against a real sandbox: uploads made by a real Engine, the
 * sample sheet and the project as the sandbox keeps them, and a recording
 * proxy in front of the API to count what is sent.
 */
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GencoveClient } from '../api/client.ts';
import type { SampleSheetRow } from '../api/models.ts';
import { Engine } from '../engine.ts';
import { assignUploads, AssignTimeoutError, rowUploadIds } from './assign.ts';
import { UploadStore } from './store.ts';
import {
  copyFixtures,
  planFor,
  startRecordingProxy,
  startWorld,
} from './testing.ts';
import type { RecordingProxy, TestWorld } from './testing.ts';

let world: TestWorld;
let proxy: RecordingProxy;
let proxiedClient: GencoveClient;
let engine: Engine;
let store: UploadStore;
let runCount = 0;

const NAMING = ['SAMPLE1', 'SAMPLE4', 'SAMPLE16', 'SAMPLE17', 'sample6'];

/** Uploads naming fixtures to a new folder (no project); returns the job. */
async function uploadBatch(count: number) {
  runCount++;
  const dir = path.join(world.dir, `batch-${runCount}`);
  const samples = NAMING.slice(0, count).map((name) => {
    const ext = name === 'SAMPLE4' ? 'fq.gz' : 'fastq.gz';
    const tag = name === 'sample6' ? 'r' : 'R';
    const [r1, r2] = copyFixtures(
      [`naming/${name}_${tag}1.${ext}`, `naming/${name}_${tag}2.${ext}`],
      dir,
    );
    return { clientId: name.toUpperCase(), r1: [r1!], r2: [r2!] };
  });
  const folder = `gncv://assign-test-${runCount}-${Date.now()}/`;
  const plan = planFor(folder, samples);
  const jobId = engine.enqueueUpload(plan);
  const snap = await engine.waitFor(jobId);
  expect(snap.state).toBe('done');
  const uploads = store
    .listObjects(jobId)
    .map((o) => ({ uploadId: o.uploadId!, destination: o.destination }));
  return { jobId, folder, uploads };
}

function assignRequests(): number {
  return proxy.requests.filter(
    (r) => r.method === 'POST' && r.path.includes('/project-samples/'),
  ).length;
}

beforeAll(async () => {
  world = await startWorld();
  proxy = await startRecordingProxy(world.sandbox.info.api_url);
  proxiedClient = new GencoveClient({
    host: proxy.url,
    auth: { kind: 'api-key', apiKey: world.sandbox.info.api_key },
  });
  engine = new Engine({
    dataDir: path.join(world.dir, 'engine'),
    client: world.client,
  });
  store = new UploadStore(engine.journal);
});

afterEach(() => {
  proxy.hook = () => ({ kind: 'forward' });
});

afterAll(async () => {
  await engine?.close();
  proxiedClient?.close();
  await proxy?.close();
  await world?.close();
});

describe('assignUploads()', () => {
  it('sends rows in batches of the given size, never an empty one, and returns the samples', async () => {
    const { jobId, folder, uploads } = await uploadBatch(4);
    const projectId = world.sandbox.info.project_ids[0]!;
    const before = assignRequests();

    const assigned = await assignUploads({
      jobId,
      projectId,
      destinationFolder: folder,
      uploads,
      metadata: ['lab', 7],
      client: proxiedClient,
      store,
      signal: new AbortController().signal,
      batchSize: 2,
    });

    expect(assignRequests() - before).toBe(2);
    expect(
      store.listBatches(jobId).map((b) => [b.state, b.rows.length]),
    ).toEqual([
      ['sent', 2],
      ['sent', 2],
    ]);
    expect(assigned.map((a) => a.clientId).sort()).toEqual([
      'SAMPLE1',
      'SAMPLE16',
      'SAMPLE17',
      'SAMPLE4',
    ]);
    const samples = await world.client.listProjectSamples(projectId);
    for (const a of assigned) {
      expect(
        samples.filter((s) => s.id === a.sampleId).map((s) => s.client_id),
      ).toEqual([a.clientId]);
    }
    const unassigned = await world.client.listSampleSheet({
      search: folder,
      status: 'unassigned',
    });
    expect(unassigned).toEqual([]);
  });

  it('returns the journaled samples on a second call without sending anything', async () => {
    const { jobId, folder, uploads } = await uploadBatch(1);
    const params = {
      jobId,
      projectId: world.sandbox.info.project_ids[0]!,
      destinationFolder: folder,
      uploads,
      metadata: null,
      client: proxiedClient,
      store,
      signal: new AbortController().signal,
    };
    const first = await assignUploads(params);
    const before = assignRequests();

    const second = await assignUploads(params);

    expect(second).toEqual(first);
    expect(assignRequests()).toBe(before);
  });

  it('does not send twice a batch that reached the platform before it was recorded as sent', async () => {
    const { jobId, folder, uploads } = await uploadBatch(2);
    const projectId = world.sandbox.info.project_ids[0]!;
    // The interrupted run: journaled 'sending', request sent, answer lost.
    const rows = (await world.client.listSampleSheet({
      search: folder,
      status: 'unassigned',
    })) as SampleSheetRow[];
    store.markBatchSending(jobId, 0, rows);
    const lost = await world.client.assignSamples(projectId, rows, null);
    const before = assignRequests();

    const assigned = await assignUploads({
      jobId,
      projectId,
      destinationFolder: folder,
      uploads,
      metadata: null,
      client: proxiedClient,
      store,
      signal: new AbortController().signal,
    });

    expect(assignRequests()).toBe(before);
    expect(assigned.map((a) => a.sampleId).sort()).toEqual(
      lost.uploads.map((u) => u.sample).sort(),
    );
    expect(store.listBatches(jobId).map((b) => b.state)).toEqual(['sent']);
    const samples = await world.client.listProjectSamples(projectId);
    for (const row of rows) {
      expect(
        samples.filter((s) => s.client_id === row.client_id).length,
      ).toBeGreaterThanOrEqual(1);
      expect(
        lost.uploads.filter((u) => u.client_id === row.client_id),
      ).toHaveLength(1);
    }
  });

  it('sends a batch left "sending" that never reached the platform', async () => {
    const { jobId, folder, uploads } = await uploadBatch(2);
    const projectId = world.sandbox.info.project_ids[0]!;
    const rows = await world.client.listSampleSheet({
      search: folder,
      status: 'unassigned',
    });
    store.markBatchSending(jobId, 0, rows);
    const before = assignRequests();

    const assigned = await assignUploads({
      jobId,
      projectId,
      destinationFolder: folder,
      uploads,
      metadata: null,
      client: proxiedClient,
      store,
      signal: new AbortController().signal,
    });

    expect(assignRequests() - before).toBe(1);
    expect(assigned).toHaveLength(2);
    const ids = rows.flatMap(rowUploadIds).sort();
    expect(ids).toEqual(uploads.map((u) => u.uploadId).sort());
  });

  it('gives up with AssignTimeoutError naming the missing uploads when the sheet never shows them', async () => {
    const { jobId, folder, uploads } = await uploadBatch(1);
    const ghost = {
      uploadId: '00000000-0000-4000-8000-000000000000',
      destination: `${folder}GHOST_R1.fastq.gz`,
    };

    const run = assignUploads({
      jobId,
      projectId: world.sandbox.info.project_ids[0]!,
      destinationFolder: folder,
      uploads: [...uploads, ghost],
      metadata: null,
      client: proxiedClient,
      store,
      signal: new AbortController().signal,
      windowMs: 600,
      pollDelaysMs: [100],
    });

    await expect(run).rejects.toBeInstanceOf(AssignTimeoutError);
    await expect(run).rejects.toThrow(/GHOST_R1\.fastq\.gz/);
    expect(store.listBatches(jobId)).toEqual([]);
  });
});
