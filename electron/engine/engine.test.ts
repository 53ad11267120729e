/**
 * Engine integration tests: real sandbox on loopback, real journal files,
 * real FASTQs copied from ../shared/data into temporary folders.
 */
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from './engine.ts';
import type { EngineOptions } from './engine.ts';
import { Journal } from './journal/journal.ts';
import {
  RefreshingCredentials,
  createUploadS3Client,
} from './upload/credentials.ts';
import { UploadStore } from './upload/store.ts';
import {
  copyFixtures,
  getObjectBytes,
  planFor,
  sharedData,
  startRecordingProxy,
  startWorld,
  waitUntil,
} from './upload/testing.ts';
import type {
  RecordingProxy,
  SampleFiles,
  TestWorld,
} from './upload/testing.ts';
import type { UploadPlan } from '../../shared/domain.ts';

const MIB = 1024 * 1024;
/** The sandbox, like S3, refuses parts under 5 MiB (but the last). */
const PART = 5 * MIB;
const LARGE_R1 =
  'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz';
const LARGE_R2 =
  'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_2.fq.gz';
const GASIC = 'fastq/single_end/gasic_SRR059298/SRR059298_subset.fastq.gz';
const NEXTSEQ_RUN = 'runs/180723_NB500892_0277_AHJYM2BGX7';

let world: TestWorld;
let s3: S3Client;
let folderCount = 0;
let engineCount = 0;
const engines: Engine[] = [];

function newFolder(): string {
  folderCount++;
  return `gncv://engine-test-${folderCount}-${Date.now()}/`;
}

function makeEngine(overrides: Partial<EngineOptions> = {}): Engine {
  const engine = new Engine({
    dataDir: path.join(world.dir, `engine-${++engineCount}`),
    client: world.client,
    ...overrides,
  });
  engines.push(engine);
  return engine;
}

function objectsOf(engine: Engine, jobId: string) {
  return new UploadStore(engine.journal).listObjects(jobId);
}

async function expectObjectsMatchSources(
  engine: Engine,
  jobId: string,
  plan: UploadPlan,
): Promise<void> {
  const objects = objectsOf(engine, jobId);
  for (const sample of plan.samples) {
    for (const read of [sample.r1, sample.r2]) {
      if (!read) continue;
      const object = objects.find((o) => o.destination === read.destination)!;
      const stored = await getObjectBytes(s3, object.bucket!, object.key!);
      const source = Buffer.concat(read.files.map((f) => readFileSync(f.path)));
      expect(stored.length, read.destination).toBe(source.length);
      expect(stored.equals(source), read.destination).toBe(true);
    }
  }
}

async function waitUntilAsync(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  world = await startWorld();
  ({ s3 } = await createUploadS3Client({
    credentials: new RefreshingCredentials(world.client),
  }));
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

afterAll(async () => {
  s3?.destroy();
  await world?.close();
});

describe('Engine', () => {
  describe('enqueueUpload()', () => {
    it('uploads real pairs, assigns them, and the samples appear in the project', async () => {
      const dir = path.join(world.dir, 'pairs');
      const [e1, e2, k1, k2, h1, h2, l1, l2] = copyFixtures(
        [
          'fastq/pairs/spades_ecoli_1K/ecoli_1K_1.fq.gz',
          'fastq/pairs/spades_ecoli_1K/ecoli_1K_2.fq.gz',
          'fastq/pairs/seqkit_hiseq2500/reads_1.fq.gz',
          'fastq/pairs/seqkit_hiseq2500/reads_2.fq.gz',
          'fastq/pairs/sequana_measles_Hm2/Hm2_GTGAAA_L005_R1_001.fastq.gz',
          'fastq/pairs/sequana_measles_Hm2/Hm2_GTGAAA_L005_R2_001.fastq.gz',
          LARGE_R1,
          LARGE_R2,
        ],
        dir,
      );
      const plan = planFor(newFolder(), [
        { clientId: 'ECOLI', r1: [e1!], r2: [e2!] },
        { clientId: 'SEQKIT', r1: [k1!], r2: [k2!] },
        { clientId: 'HM2', r1: [h1!], r2: [h2!] },
        { clientId: 'SEQPREP', r1: [l1!], r2: [l2!] },
      ]);
      const projectId = world.sandbox.info.project_ids[0]!;
      const engine = makeEngine({ partSize: PART });
      const finished: string[] = [];
      engine.onDidFinish((snap) => finished.push(`${snap.id}:${snap.state}`));

      const id = engine.enqueueUpload(plan, {
        projectId,
        metadata: { batch: 7 },
      });
      const snap = await engine.waitFor(id);

      expect(snap.error).toBeUndefined();
      expect(snap.state).toBe('done');
      expect(finished).toEqual([`${id}:done`]);
      expect(snap.bytesDone).toBe(plan.totalBytes);
      expect(snap.bytesTotal).toBe(plan.totalBytes);
      expect(snap.files.map((f) => [f.clientId, f.state])).toEqual([
        ['ECOLI', 'done'],
        ['ECOLI', 'done'],
        ['SEQKIT', 'done'],
        ['SEQKIT', 'done'],
        ['HM2', 'done'],
        ['HM2', 'done'],
        ['SEQPREP', 'done'],
        ['SEQPREP', 'done'],
      ]);
      await expectObjectsMatchSources(engine, id, plan);
      const objects = objectsOf(engine, id);
      expect(
        objects.filter((o) => o.multipartId !== null).map((o) => o.clientId),
      ).toEqual(['SEQPREP', 'SEQPREP']);
      expect(snap.assigned?.map((a) => a.clientId).sort()).toEqual([
        'ECOLI',
        'HM2',
        'SEQKIT',
        'SEQPREP',
      ]);
      const samples = await world.client.listProjectSamples(projectId);
      for (const assigned of snap.assigned!) {
        const sample = samples.find((s) => s.id === assigned.sampleId);
        expect(sample?.client_id).toBe(assigned.clientId);
      }
    });

    it('plans, uploads and assigns the lane-split NextSeq run, concatenating lanes in order', async () => {
      const runDir = path.join(
        world.dir,
        'nextseq',
        path.basename(NEXTSEQ_RUN),
      );
      cpSync(path.join(sharedData, NEXTSEQ_RUN), runDir, { recursive: true });
      const projectId = world.sandbox.info.project_ids[0]!;
      const engine = makeEngine();
      const plan = await engine.plan([runDir], { destination: newFolder() });

      const id = engine.enqueueUpload(plan, { projectId });
      const snap = await engine.waitFor(id);

      expect(snap.error).toBeUndefined();
      expect(snap.state).toBe('done');
      expect(snap.files).toHaveLength(24);
      // The expected bytes come from the file names, not from the plan.
      const laneDir = path.join(runDir, 'Data/Intensities/BaseCalls/B3910');
      const names = readdirSync(laneDir);
      const objects = objectsOf(engine, id);
      for (const object of objects) {
        const sample = plan.samples.find(
          (s) => s.clientId === object.clientId,
        )!;
        const lanes = names
          .filter(
            (n) =>
              n.startsWith(`${sample.sourceName}_S`) &&
              n.includes(`_${object.read}_`),
          )
          .sort(
            (a, b) =>
              Number(/_L(\d+)_/.exec(a)![1]) - Number(/_L(\d+)_/.exec(b)![1]),
          );
        expect(lanes, object.destination).toHaveLength(4);
        const expected = Buffer.concat(
          lanes.map((n) => readFileSync(path.join(laneDir, n))),
        );
        const stored = await getObjectBytes(s3, object.bucket!, object.key!);
        expect(stored.equals(expected), object.destination).toBe(true);
      }
      expect(snap.assigned).toHaveLength(12);
      const samples = await world.client.listProjectSamples(projectId);
      const ids = new Set(samples.map((s) => s.id));
      expect(snap.assigned!.every((a) => ids.has(a.sampleId))).toBe(true);
    });

    it('never completes a truncated file as an object, multipart or not, and names it', async () => {
      const dir = path.join(world.dir, 'truncated');
      const [big, r1, r2] = copyFixtures(
        [
          LARGE_R1,
          'corrupt/TRUNCATED_R1.fastq.gz',
          'corrupt/TRUNCATED_R2.fastq.gz',
        ],
        dir,
      );
      // Multipart: a valid 8 MB lane before the truncated one, so parts are
      // sent before the checker finds the problem. Single PUT: the file alone.
      for (const lanes of [[big!, r1!], [r1!]]) {
        const plan = planFor(newFolder(), [
          { clientId: 'TRUNC', r1: lanes, r2: [r2!] },
        ]);
        const proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
        const engine = makeEngine({ partSize: PART, s3Endpoint: proxy.url });

        const id = engine.enqueueUpload(plan, {
          projectId: world.sandbox.info.project_ids[0],
        });
        const snap = await engine.waitFor(id);
        await proxy.close();

        expect(snap.state).toBe('failed');
        expect(snap.error?.code).toBe('invalid-fastq');
        expect(snap.error?.message).toContain('TRUNCATED_R1.fastq.gz');
        expect(snap.attempt).toBe(1);
        const [o1, o2] = objectsOf(engine, id);
        expect(o1!.state).toBe('failed');
        expect(o1!.multipartId).toBeNull();
        await expect(
          s3.send(
            new HeadObjectCommand({ Bucket: o1!.bucket!, Key: o1!.key! }),
          ),
        ).rejects.toMatchObject({ name: 'NotFound' });
        const onR1 = proxy.requests.filter((r) => r.path.endsWith(o1!.key!));
        const methods = onR1.map((r) =>
          r.query.has('partNumber')
            ? 'part'
            : r.query.has('uploads')
              ? 'create'
              : `${r.method}${r.query.has('uploadId') ? ' mpu' : ''}`,
        );
        if (lanes.length === 2) {
          expect(methods).toContain('create');
          expect(methods).toContain('DELETE mpu');
          expect(methods).not.toContain('POST mpu');
        } else {
          expect(methods).toEqual([]);
        }
        expect(o2!.state).toBe('done');
        expect(snap.files.find((f) => f.name === o1!.destination)?.state).toBe(
          'failed',
        );
        expect(snap.assigned).toBeUndefined();
      }
    });

    it('skips objects the platform already has ("already uploaded")', async () => {
      const dir = path.join(world.dir, 'skip');
      const [r1, r2] = copyFixtures(
        ['naming/SAMPLE1_R1.fastq.gz', 'naming/SAMPLE1_R2.fastq.gz'],
        dir,
      );
      const plan = planFor(newFolder(), [
        { clientId: 'SAMPLE1', r1: [r1!], r2: [r2!] },
      ]);
      const engine = makeEngine();
      await engine.waitFor(engine.enqueueUpload(plan));

      const again = await engine.waitFor(engine.enqueueUpload(plan));

      expect(again.state).toBe('done');
      expect(again.files.map((f) => f.state)).toEqual(['skipped', 'skipped']);
      expect(again.bytesDone).toBe(plan.totalBytes);
    });

    it('refuses a plan with nothing included, before recording anything', () => {
      const engine = makeEngine();
      const plan = planFor(newFolder(), []);

      expect(() => engine.enqueueUpload(plan)).toThrow(/no included sample/);
      expect(engine.journal.listJobs()).toEqual([]);
    });

    it('refuses a project id that is not a UUID and metadata that is not JSON', () => {
      const engine = makeEngine();
      const [r1] = copyFixtures(
        ['naming/SAMPLE12_R1.fastq.gz'],
        path.join(world.dir, 'bad-input'),
      );
      const plan = planFor(newFolder(), [{ clientId: 'SAMPLE12', r1: [r1!] }]);

      expect(() =>
        engine.enqueueUpload(plan, { projectId: 'not-a-uuid' }),
      ).toThrow(/not-a-uuid/);
      expect(() => engine.enqueueUpload(plan, { metadata: { n: 1n } })).toThrow(
        /metadata is not a JSON value/,
      );
      expect(engine.journal.listJobs()).toEqual([]);
    });
  });

  describe('enqueueDownload()', () => {
    it('downloads the FASTQs of an uploaded, analysed sample, then skips them', async () => {
      const [r1, r2] = copyFixtures(
        [
          'naming/SAMPLE2_LANE1_SEQUENCER1_R1.fastq.gz',
          'naming/SAMPLE2_LANE1_SEQUENCER1_R2.fastq.gz',
        ],
        path.join(world.dir, 'roundtrip'),
      );
      const plan = planFor(newFolder(), [
        { clientId: 'ROUNDTRIP', r1: [r1!], r2: [r2!] },
      ]);
      const engine = makeEngine();
      const upload = await engine.waitFor(
        engine.enqueueUpload(plan, {
          projectId: world.sandbox.info.project_ids[0],
        }),
      );
      const sampleId = upload.assigned![0]!.sampleId;
      await waitUntilAsync(async () => {
        const sample = await world.client.getSample(sampleId);
        return sample.last_status?.status === 'succeeded';
      }, 'the sample to succeed');
      const destination = path.join(world.dir, 'downloads');
      const request = {
        destination,
        sampleIds: [sampleId],
        fileTypes: ['fastq-r1', 'fastq-r2'],
      };

      const first = await engine.waitFor(engine.enqueueDownload(request));
      const second = await engine.waitFor(engine.enqueueDownload(request));

      expect(first.error).toBeUndefined();
      expect(first.state).toBe('done');
      expect(first.kind).toBe('download');
      const r1File = first.files.find((f) => f.name.includes('fastq-r1'))!;
      expect(r1File.state).toBe('done');
      const local = path.resolve(destination, r1File.name);
      expect(readFileSync(local).equals(readFileSync(r1!))).toBe(true);
      expect(first.bytesDone).toBe(first.bytesTotal);
      expect(second.state).toBe('done');
      expect(second.files.map((f) => f.state)).toEqual(['skipped', 'skipped']);
    });
  });

  describe('cancel(), pause() and resume()', () => {
    let proxy: RecordingProxy;

    beforeAll(async () => {
      proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
    });

    afterEach(() => {
      proxy.hook = () => ({ kind: 'forward' });
    });

    afterAll(async () => {
      await proxy.close();
    });

    function slowParts(delayMs = 300): void {
      proxy.hook = (req) =>
        req.query.has('partNumber')
          ? { kind: 'forward', delayMs }
          : { kind: 'forward' };
    }

    /** Three objects of two 5 MiB parts or so each. */
    function largePlan(sub: string): UploadPlan {
      const [r1, r2, single] = copyFixtures(
        [LARGE_R1, LARGE_R2, GASIC],
        path.join(world.dir, sub),
      );
      return planFor(newFolder(), [
        { clientId: 'SEQPREP', r1: [r1!], r2: [r2!] },
        { clientId: 'GASIC', r1: [single!] },
      ]);
    }

    const slowOptions = (): Partial<EngineOptions> => ({
      s3Endpoint: proxy.url,
      partSize: PART,
      partConcurrency: 1,
      fileConcurrency: 1,
    });

    it('cancels a running upload as cancelled (not failed), and a retry finishes it', async () => {
      slowParts();
      const plan = largePlan('cancel');
      const engine = makeEngine(slowOptions());
      const id = engine.enqueueUpload(plan);
      await waitUntil(
        () => engine.snapshots()[0]!.bytesDone > 0,
        20_000,
        'a first part',
      );

      engine.cancel(id);
      const cancelled = await engine.waitFor(id);
      proxy.hook = () => ({ kind: 'forward' });
      engine.retry(id);
      await engine.whenIdle();
      const done = engine.snapshots().find((s) => s.id === id)!;

      expect(cancelled.state).toBe('cancelled');
      expect(cancelled.error).toBeUndefined();
      expect(cancelled.bytesDone).toBeGreaterThan(0);
      expect(cancelled.bytesDone).toBeLessThan(plan.totalBytes);
      expect(done.state).toBe('done');
      expect(done.bytesDone).toBe(plan.totalBytes);
      await expectObjectsMatchSources(engine, id, plan);
    });

    it('lists finished transfers again after a restart, newest kept, without running them', async () => {
      const dataDir = path.join(world.dir, `engine-history-${Date.now()}`);
      const dir = path.join(world.dir, 'history');
      const [r1, r2] = copyFixtures(
        [
          'fastq/pairs/spades_ecoli_1K/ecoli_1K_1.fq.gz',
          'fastq/pairs/spades_ecoli_1K/ecoli_1K_2.fq.gz',
        ],
        dir,
      );
      const [broken] = copyFixtures(
        ['corrupt/TRUNCATED_R1.fastq.gz'],
        path.join(dir, 'broken'),
      );
      const first = makeEngine({ dataDir });
      // One after the other, so that the failed one is the newest.
      const good = first.enqueueUpload(
        planFor(newFolder(), [{ clientId: 'HIST', r1: [r1!], r2: [r2!] }]),
        {},
      );
      const goodSnap = await first.waitFor(good);
      const bad = first.enqueueUpload(
        planFor(newFolder(), [{ clientId: 'HISTBAD', r1: [broken!] }]),
        {},
      );
      const badSnap = await first.waitFor(bad);
      expect([goodSnap.state, badSnap.state]).toEqual(['done', 'failed']);
      const objectsBefore = objectsOf(first, good);
      await first.close();

      const second = makeEngine({ dataDir });
      expect(second.snapshots()).toEqual([]);
      expect(second.loadHistory()).toBe(2);
      expect(second.loadHistory()).toBe(0);
      const snaps = second.snapshots();
      expect(snaps.map((s) => [s.id, s.state])).toEqual([
        [good, 'done'],
        [bad, 'failed'],
      ]);
      expect(snaps[0]!.bytesDone).toBe(goodSnap.bytesDone);
      expect(snaps[0]!.files.map((f) => f.state)).toEqual(['done', 'done']);
      expect(snaps[1]!.error?.code).toBe('invalid-fastq');
      expect(snaps[1]!.files.map((f) => f.state)).toEqual(['failed']);
      // Nothing ran again: the journal's objects are as the first run left them.
      expect(objectsOf(second, good)).toEqual(objectsBefore);

      const third = makeEngine({ dataDir });
      expect(third.loadHistory(1)).toBe(1);
      expect(third.snapshots().map((s) => s.id)).toEqual([bad]);

      // Dismissed: gone from the list, here and after the next restart.
      third.dismiss(bad);
      expect(third.snapshots()).toEqual([]);
      expect(() => third.dismiss('no-such-job')).toThrow(/no transfer/i);
      await third.close();
      const fourth = makeEngine({ dataDir });
      expect(fourth.loadHistory()).toBe(1);
      expect(fourth.snapshots().map((s) => s.id)).toEqual([good]);
    });

    it('refuses to dismiss a transfer that is still active', async () => {
      const dir = path.join(world.dir, 'dismiss-active');
      const [r1] = copyFixtures([LARGE_R1], dir);
      const engine = makeEngine({ partSize: PART });
      const id = engine.enqueueUpload(
        planFor(newFolder(), [{ clientId: 'ACTIVE', r1: [r1!] }]),
        {},
      );

      expect(() => engine.dismiss(id)).toThrow(/only a finished one/);
      expect(engine.snapshots().map((s) => s.id)).toEqual([id]);
      expect((await engine.waitFor(id)).state).toBe('done');
      engine.dismiss(id);
      expect(engine.snapshots()).toEqual([]);
    });

    it('leaves running jobs queued on close, and a new engine finishes them', async () => {
      slowParts();
      const plan = largePlan('close');
      const dataDir = path.join(world.dir, 'close-engine');
      const engine = new Engine({
        dataDir,
        client: world.client,
        ...slowOptions(),
      });
      const id = engine.enqueueUpload(plan);
      const waiting = engine.waitFor(id).then(
        () => 'resolved',
        (err: Error) => err.message,
      );
      await waitUntil(
        () => engine.snapshots()[0]!.bytesDone > 0,
        30_000,
        'a part',
      );

      await engine.close();
      const journal = Journal.open(path.join(dataDir, 'journal.db'));
      const state = journal.getJob(id)?.state;
      journal.close();
      proxy.hook = () => ({ kind: 'forward' });
      const again = makeEngine({
        dataDir,
        s3Endpoint: proxy.url,
        partSize: PART,
      });
      const resumed = await again.resumeInterrupted();
      const done = await again.waitFor(id);

      expect(await waiting).toMatch(/closed before transfer/);
      expect(state).toBe('queued');
      expect(resumed).toEqual([id]);
      expect(done.state).toBe('done');
      expect(done.attempt).toBe(2);
      await expectObjectsMatchSources(again, id, plan);
    });

    it('pauses and resumes without sending a journaled part twice', async () => {
      // Slow enough that the meter's 1 s tick measures a speed before the
      // pause, however fast the machine sends the rest after the resume.
      slowParts(600);
      const plan = largePlan('pause');
      const engine = makeEngine(slowOptions());
      const seen: {
        at: number;
        bytes: number;
        speed: number | null;
        eta: number | null;
      }[] = [];
      engine.onDidChange((snaps) => {
        const snap = snaps[0]!;
        seen.push({
          at: Date.now(),
          bytes: snap.bytesDone,
          speed: snap.speed,
          eta: snap.etaSeconds,
        });
      });
      const before = proxy.requests.length;
      const id = engine.enqueueUpload(plan);
      await waitUntil(
        () =>
          engine.snapshots()[0]!.bytesDone >= 2 * PART &&
          seen.some((x) => x.speed !== null),
        30_000,
        'two parts and a measured speed',
      );

      engine.pause(id);
      await engine.whenIdle();
      const paused = engine.snapshots().find((s) => s.id === id)!;
      const store = new UploadStore(engine.journal);
      const journaled = objectsOf(engine, id)
        .filter((o) => o.multipartId !== null)
        .flatMap((o) =>
          store
            .listParts(id, o.destination, o.multipartId!)
            .map((p) => `${o.key}#${p.number}`),
        );
      const resumedAt = proxy.requests.length;
      proxy.hook = () => ({ kind: 'forward' });
      engine.resume(id);
      const done = await engine.waitFor(id);

      expect(paused.state).toBe('paused');
      expect(paused.files.map((f) => f.state)).toContain('paused');
      expect(paused.files.map((f) => f.state)).not.toContain('running');
      expect(journaled.length).toBeGreaterThanOrEqual(2);
      expect(done.state).toBe('done');
      const resent = proxy.requests
        .slice(resumedAt)
        .filter((r) => r.method === 'PUT' && r.query.has('partNumber'))
        .map(
          (r) =>
            `${r.path.split('/').slice(2).join('/')}#${r.query.get('partNumber')}`,
        );
      expect(resent.filter((p) => journaled.includes(p))).toEqual([]);
      // Snapshots: throttled, monotonic, with a speed and an ETA once measured.
      const gaps = seen.slice(1).map((x, i) => x.at - seen[i]!.at);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(240);
      const bytes = seen.map((x) => x.bytes);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
      expect(
        seen.some((x) => x.speed !== null && x.speed > 0 && x.eta !== null),
      ).toBe(true);
      expect(resent.length).toBeGreaterThan(0);
      expect(
        proxy.requests.slice(before).filter((r) => r.query.has('uploads'))
          .length,
      ).toBe(3);
      await expectObjectsMatchSources(engine, id, plan);
    });

    it('refreshes expired credentials and retries the part in the same multipart upload', async () => {
      let refusals = 0;
      proxy.hook = (req) => {
        if (req.query.get('partNumber') === '2' && refusals === 0) {
          refusals++;
          return {
            kind: 'respond',
            status: 400,
            headers: { 'content-type': 'application/xml' },
            body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>',
          };
        }
        return { kind: 'forward' };
      };
      const [r1] = copyFixtures([LARGE_R1], path.join(world.dir, 'expired'));
      const plan = planFor(newFolder(), [{ clientId: 'EXPIRED', r1: [r1!] }]);
      const engine = makeEngine({ s3Endpoint: proxy.url, partSize: PART });
      const before = proxy.requests.length;

      const snap = await engine.waitFor(engine.enqueueUpload(plan));

      const seen = proxy.requests.slice(before);
      expect(snap.state).toBe('done');
      expect(refusals).toBe(1);
      expect(seen.filter((r) => r.query.has('uploads')).length).toBe(1);
      expect(seen.filter((r) => r.query.get('partNumber') === '2').length).toBe(
        2,
      );
      expect(
        new Set(
          seen
            .filter((r) => r.query.has('uploadId'))
            .map((r) => r.query.get('uploadId')),
        ).size,
      ).toBe(1);
      await expectObjectsMatchSources(engine, snap.id, plan);
    });
  });

  describe('short-lived upload credentials', () => {
    it('refreshes them ahead of expiry during a long multipart upload', async () => {
      const lines: string[] = [];
      const shortWorld = await startWorld({
        credentialTtlSeconds: 3,
        log: (line: string) => lines.push(line),
      });
      const proxy = await startRecordingProxy(
        shortWorld.sandbox.info.s3_endpoint,
      );
      proxy.hook = (req) =>
        req.query.has('partNumber')
          ? { kind: 'forward', delayMs: 500 }
          : { kind: 'forward' };
      const engine = new Engine({
        dataDir: path.join(shortWorld.dir, 'engine'),
        client: shortWorld.client,
        s3Endpoint: proxy.url,
        partSize: PART,
        partConcurrency: 1,
        fileConcurrency: 1,
      });
      try {
        const [r1, r2] = copyFixtures(
          [LARGE_R1, LARGE_R2],
          path.join(shortWorld.dir, 'files'),
        );
        const plan = planFor('gncv://short-lived/', [
          { clientId: 'SHORT', r1: [r1!], r2: [r2!] },
        ]);

        const snap = await engine.waitFor(engine.enqueueUpload(plan));

        expect(snap.error).toBeUndefined();
        expect(snap.state).toBe('done');
        const issued = lines.filter((l) =>
          l.startsWith('POST /api/v2/upload-credentials/ 20'),
        );
        expect(issued.length).toBeGreaterThanOrEqual(2);
        const refused = proxy.requests.filter(
          (r) => r.status === 400 || r.status === 403,
        );
        expect(refused).toEqual([]);
      } finally {
        await engine.close();
        await proxy.close();
        await shortWorld.close();
      }
    });
  });

  describe('resumeInterrupted()', () => {
    it('continues a multipart upload after the process was killed, without re-sending journaled parts', async () => {
      const proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
      try {
        proxy.hook = (req) =>
          req.query.has('partNumber')
            ? { kind: 'forward', delayMs: 300 }
            : { kind: 'forward' };
        const dir = path.join(world.dir, 'crash');
        const [r1, r2] = copyFixtures([LARGE_R1, LARGE_R2], dir);
        const plan = planFor(newFolder(), [
          { clientId: 'CRASH', r1: [r1!], r2: [r2!] },
        ]);
        const dataDir = path.join(world.dir, 'crash-engine');
        const partSize = PART;

        const child = spawn(
          process.execPath,
          [
            path.join(import.meta.dirname, 'upload', 'testing-child.ts'),
            JSON.stringify({
              dataDir,
              apiUrl: world.sandbox.info.api_url,
              apiKey: world.sandbox.info.api_key,
              s3Endpoint: proxy.url,
              partSize,
              partConcurrency: 1,
              plan,
            }),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<void>((resolve) =>
          child.on('exit', () => resolve()),
        );
        const watcher = Journal.open(path.join(dataDir, 'journal.db'));
        const count = () =>
          (
            watcher.db
              .prepare('SELECT COUNT(*) AS n FROM upload_parts')
              .get() as { n: number }
          ).n;
        try {
          await waitUntil(
            () => {
              if (child.exitCode !== null)
                throw new Error(`child exited early: ${stderr}`);
              try {
                return count() >= 2;
              } catch {
                return false; // tables not created yet
              }
            },
            30_000,
            'two journaled parts',
          );
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
        const journaled = watcher.db
          .prepare('SELECT destination, number, etag FROM upload_parts')
          .all() as { destination: string; number: number; etag: string }[];
        watcher.close();
        const before = proxy.requests.length;
        proxy.hook = () => ({ kind: 'forward' });

        const engine = new Engine({
          dataDir,
          client: world.client,
          s3Endpoint: proxy.url,
          partSize,
        });
        engines.push(engine);
        const ids = await engine.resumeInterrupted();
        const snap = await engine.waitFor(ids[0]!);

        expect(ids).toHaveLength(1);
        expect(snap.state).toBe('done');
        expect(snap.bytesDone).toBe(plan.totalBytes);
        const resent = proxy.requests
          .slice(before)
          .filter((r) => r.method === 'PUT' && r.query.has('partNumber'))
          .map((r) => {
            const key = r.path;
            return { key, number: Number(r.query.get('partNumber')) };
          });
        const objects = objectsOf(engine, ids[0]!);
        for (const part of journaled) {
          const object = objects.find(
            (o) => o.destination === part.destination,
          )!;
          const again = resent.filter(
            (r) => r.number === part.number && r.key.endsWith(object.key!),
          );
          expect(again, `${part.destination} part ${part.number}`).toEqual([]);
        }
        expect(journaled.length).toBeGreaterThanOrEqual(2);
        expect(resent.length).toBeGreaterThan(0);
        await expectObjectsMatchSources(engine, ids[0]!, plan);
      } finally {
        await proxy.close();
      }
    });
  });
});
