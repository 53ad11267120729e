/**
 * Breaking the transfers history (Engine.loadHistory), Dismiss
 * (Engine.dismiss, `transfers:dismiss`) and the pause/cancel race of the
 * scheduler. Real sandbox on loopback, real journal files in temp folders,
 * copies of ../shared/data; S3 traffic goes through a recording proxy on
 * 127.0.0.1 so that uploads are slow enough to race and every completed
 * object can be counted.
 *
 * The invariant: nothing is uploaded twice, no job gets stuck non-final,
 * and the list says the truth (also after a restart).
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';

import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from '../../electron/engine/engine.ts';
import type { EngineOptions } from '../../electron/engine/engine.ts';
import { Journal } from '../../electron/engine/journal/journal.ts';
import {
  RefreshingCredentials,
  createUploadS3Client,
} from '../../electron/engine/upload/credentials.ts';
import { UploadStore } from '../../electron/engine/upload/store.ts';
import {
  copyFixtures,
  getObjectBytes,
  planFor,
  startRecordingProxy,
  startWorld,
  waitUntil,
} from '../../electron/engine/upload/testing.ts';
import type {
  RecordingProxy,
  TestWorld,
} from '../../electron/engine/upload/testing.ts';
import type { JobState, UploadPlan } from '../../shared/domain.ts';

const MIB = 1024 * 1024;
/** The sandbox, like S3, refuses parts under 5 MiB (but the last). */
const PART = 5 * MIB;
const LARGE_R1 =
  'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz';
const SMALL_R1 = 'fastq/pairs/spades_ecoli_1K/ecoli_1K_1.fq.gz';
const SMALL_R2 = 'fastq/pairs/spades_ecoli_1K/ecoli_1K_2.fq.gz';
const TRUNCATED = 'corrupt/TRUNCATED_R1.fastq.gz';

let world: TestWorld;
let proxy: RecordingProxy;
let s3: S3Client;
let count = 0;
const engines: Engine[] = [];

beforeAll(async () => {
  world = await startWorld();
  proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
  ({ s3 } = await createUploadS3Client({
    credentials: new RefreshingCredentials(world.client),
    endpoint: world.sandbox.info.s3_endpoint,
  }));
});

afterEach(async () => {
  proxy.hook = () => ({ kind: 'forward' });
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await world?.close();
});

function next(): number {
  return ++count;
}

function newDataDir(): string {
  return path.join(world.dir, `engine-${next()}`);
}

function newFolder(): string {
  return `gncv://history-break-${next()}-${Date.now()}/`;
}

/** An engine whose S3 requests go through the recording proxy. */
function makeEngine(dataDir: string, extra: Partial<EngineOptions> = {}) {
  const engine = new Engine({
    dataDir,
    client: world.client,
    s3Endpoint: proxy.url,
    partSize: PART,
    ...extra,
  });
  engines.push(engine);
  return engine;
}

/** Slows every S3 part upload down by `ms`. */
function slowParts(ms: number): void {
  proxy.hook = (req) =>
    req.method === 'PUT' && req.query.has('partNumber')
      ? { kind: 'forward', delayMs: ms }
      : { kind: 'forward' };
}

/**
 * Completed objects per S3 key seen by the proxy: multipart completes
 * (POST ?uploadId) and single PutObjects (PUT without partNumber).
 */
function completesOf(keyPart: string): number {
  return proxy.requests.filter(
    (r) =>
      r.path.includes(keyPart) &&
      r.status !== null &&
      r.status < 300 &&
      ((r.method === 'POST' && r.query.has('uploadId')) ||
        (r.method === 'PUT' &&
          !r.query.has('partNumber') &&
          !r.query.has('uploadId'))),
  ).length;
}

function partPutsOf(keyPart: string): number {
  return proxy.requests.filter(
    (r) =>
      r.path.includes(keyPart) &&
      r.method === 'PUT' &&
      r.query.has('partNumber'),
  ).length;
}

function largePlan(tag: string): { plan: UploadPlan; source: string } {
  const [r1] = copyFixtures([LARGE_R1], path.join(world.dir, `src-${tag}`));
  return {
    plan: planFor(newFolder(), [{ clientId: tag, r1: [r1!] }]),
    source: r1!,
  };
}

function smallPlan(tag: string): UploadPlan {
  const [r1, r2] = copyFixtures(
    [SMALL_R1, SMALL_R2],
    path.join(world.dir, `src-${tag}`),
  );
  return planFor(newFolder(), [{ clientId: tag, r1: [r1!], r2: [r2!] }]);
}

function brokenPlan(tag: string): UploadPlan {
  const [broken] = copyFixtures([TRUNCATED], path.join(world.dir, `src-${tag}`));
  return planFor(newFolder(), [{ clientId: tag, r1: [broken!] }]);
}

function ids(engine: Engine): string[] {
  return engine.snapshots().map((s) => s.id);
}

function stateOf(engine: Engine, id: string): JobState | undefined {
  return engine.snapshots().find((s) => s.id === id)?.state;
}

/** The S3 key of the job's only object, once the journal has it. */
function keyOf(engine: Engine, jobId: string): string | null {
  const [object] = new UploadStore(engine.journal).listObjects(jobId);
  return object?.key ?? null;
}

/** Waits until a part of the job's object went out through the proxy. */
async function waitForFirstPart(engine: Engine, jobId: string): Promise<void> {
  await waitUntil(
    () => {
      const key = keyOf(engine, jobId);
      return key !== null && partPutsOf(key) > 0;
    },
    10_000,
    'a part request of the upload',
  );
}

async function expectObjectIs(
  engine: Engine,
  jobId: string,
  source: string,
): Promise<void> {
  const [object] = new UploadStore(engine.journal).listObjects(jobId);
  expect(object?.state).toBe('done');
  const stored = await getObjectBytes(s3, object!.bucket!, object!.key!);
  expect(stored.equals(readFileSync(source))).toBe(true);
}

describe('Dismiss', () => {
  it('keeps a dismissed job off the list when it is cancelled, paused or resumed by id', async () => {
    const dataDir = newDataDir();
    const engine = makeEngine(dataDir);
    const id = engine.enqueueUpload(smallPlan('DISMISSCTL'));
    expect((await engine.waitFor(id)).state).toBe('done');
    engine.dismiss(id);
    expect(ids(engine)).not.toContain(id);

    // A late click of the renderer (or the CLI) names the id again.
    engine.cancel(id);
    engine.pause(id);
    engine.resume(id);
    expect(ids(engine)).not.toContain(id);
  });

  it('dismissing twice keeps it dismissed (refused or a no-op), here and after a restart', async () => {
    const dataDir = newDataDir();
    const engine = makeEngine(dataDir);
    const id = engine.enqueueUpload(smallPlan('TWICE'));
    await engine.waitFor(id);
    engine.dismiss(id);
    try {
      engine.dismiss(id);
    } catch (err) {
      expect(String(err)).toMatch(/no transfer/i);
    }
    expect(ids(engine)).not.toContain(id);
    await engine.close();
    const again = makeEngine(dataDir);
    expect(again.loadHistory()).toBe(0);
    expect(ids(again)).toEqual([]);
  });

  it('a dismissed failed upload that is retried and fails again is in the history again', async () => {
    const dataDir = newDataDir();
    const app = makeEngine(dataDir);
    const id = app.enqueueUpload(brokenPlan('REFAIL'));
    expect((await app.waitFor(id)).state).toBe('failed');
    app.dismiss(id);
    await app.close();

    // The CLI re-runs the same command: findUnfinishedUpload takes the job
    // up (it looks at failed jobs, dismissed or not) and it fails anew.
    const cli = makeEngine(dataDir);
    expect(cli.resumeJob(id)).toBe(true);
    const snap = await cli.waitFor(id);
    expect(snap.state).toBe('failed');
    expect(snap.attempt).toBe(2);
    await cli.close();

    // That new failure is news: the app's list must show it after a start.
    const next = makeEngine(dataDir);
    next.loadHistory();
    expect(ids(next)).toContain(id);
  });

  it('retry of a dismissed upload by id in the same engine that is then cancelled is listed after a restart as it was before', async () => {
    const dataDir = newDataDir();
    const engine = makeEngine(dataDir);
    slowParts(400);
    const { plan } = largePlan('RETRYCANCEL');
    const id = engine.enqueueUpload(plan);
    engine.cancel(id);
    expect((await engine.waitFor(id)).state).toBe('cancelled');
    engine.dismiss(id);
    engine.retry(id);
    // Active again: listed.
    expect(ids(engine)).toContain(id);
    await waitUntil(() => stateOf(engine, id) === 'running', 10_000);
    engine.cancel(id);
    expect((await engine.waitFor(id)).state).toBe('cancelled');
    const listedBefore = ids(engine).includes(id);
    await engine.close();

    const next = makeEngine(dataDir);
    next.loadHistory();
    expect(ids(next).includes(id)).toBe(listedBefore);
  });

  it('refuses to dismiss a history job that another engine on the same journal is running', async () => {
    const dataDir = newDataDir();
    const { plan, source } = largePlan('TWOENGINES');
    const first = makeEngine(dataDir);
    const id = first.enqueueUpload(plan);
    first.cancel(id);
    expect((await first.waitFor(id)).state).toBe('cancelled');
    await first.close();

    const app = makeEngine(dataDir);
    expect(app.loadHistory()).toBe(1);
    expect(stateOf(app, id)).toBe('cancelled');

    slowParts(1500);
    const cli = makeEngine(dataDir);
    expect(cli.resumeJob(id)).toBe(true);
    await waitForFirstPart(cli, id);
    expect(cli.journal.getJob(id)?.state).toBe('running');

    // The journal says running: the app must not call it finished.
    expect(() => app.dismiss(id)).toThrow();
    proxy.hook = () => ({ kind: 'forward' });
    expect((await cli.waitFor(id)).state).toBe('done');
    await expectObjectIs(cli, id, source);
  });

  it('does not run a history job a second time while another engine on the same journal runs it', async () => {
    const dataDir = newDataDir();
    const { plan, source } = largePlan('DOUBLERUN');
    const first = makeEngine(dataDir);
    const id = first.enqueueUpload(plan);
    first.cancel(id);
    expect((await first.waitFor(id)).state).toBe('cancelled');
    await first.close();

    const app = makeEngine(dataDir);
    app.loadHistory();
    slowParts(800);
    const cli = makeEngine(dataDir);
    expect(cli.resumeJob(id)).toBe(true);
    await waitForFirstPart(cli, id);

    // The app still shows it cancelled, with a Retry button: a click.
    try {
      app.retry(id);
    } catch {
      // Refusing is fine.
    }
    proxy.hook = () => ({ kind: 'forward' });
    const end = await cli.waitFor(id);
    expect(end.error ?? null).toBeNull();
    expect(end.state).toBe('done');
    await app.whenIdle();
    await expectObjectIs(cli, id, source);
    expect(completesOf(keyOf(cli, id)!)).toBe(1);
  });
});

describe('loadHistory', () => {
  /** Records finished download jobs straight into a real journal file. */
  function craftFinished(dataDir: string, n: number): string[] {
    const journal = Journal.open(path.join(dataDir, 'journal.db'));
    try {
      const made: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `job-${String(i).padStart(3, '0')}`;
        journal.createJob({
          id,
          kind: 'download',
          title: `Download ${i}`,
          request: {
            projectId: '11111111-2222-3333-4444-555555555555',
            destination: path.join(world.dir, 'dl'),
          },
        });
        journal.updateJob(id, {
          state: i % 3 === 0 ? 'failed' : 'done',
          attempt: 1,
          error:
            i % 3 === 0 ? { code: 'download-failed', message: 'no' } : null,
          result: { files: [] },
          startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          finishedAt: new Date(Date.UTC(2026, 0, 1, 0, i, 30)).toISOString(),
        });
        made.push(id);
      }
      return made;
    } finally {
      journal.close();
    }
  }

  it('keeps the newest 50 of 60 finished jobs, oldest first, and skips dismissed ones', async () => {
    const dataDir = newDataDir();
    const made = craftFinished(dataDir, 60);
    const engine = makeEngine(dataDir);
    expect(engine.loadHistory()).toBe(50);
    expect(ids(engine)).toEqual(made.slice(10));

    engine.dismiss(made[59]!);
    engine.dismiss(made[58]!);
    await engine.close();
    const again = makeEngine(dataDir);
    expect(again.loadHistory()).toBe(50);
    expect(ids(again)).toEqual(made.slice(8, 58));
  });

  it('loads nothing for a limit of 0', () => {
    const dataDir = newDataDir();
    craftFinished(dataDir, 5);
    const engine = makeEngine(dataDir);
    expect(engine.loadHistory(0)).toBe(0);
    expect(ids(engine)).toEqual([]);
  });

  it('keeps the job that finished last even when it was created first', () => {
    const dataDir = newDataDir();
    const made = craftFinished(dataDir, 55);
    // The oldest job was retried today and just finished.
    const journal = Journal.open(path.join(dataDir, 'journal.db'));
    journal.updateJob(made[0]!, {
      state: 'done',
      error: null,
      attempt: 2,
      finishedAt: new Date(Date.UTC(2026, 5, 1)).toISOString(),
    });
    journal.close();
    const engine = makeEngine(dataDir);
    engine.loadHistory();
    expect(ids(engine)).toContain(made[0]);
  });

  /** A finished upload whose result says `assigned: 5` (not a list). */
  function addFinishedUploadWithNumberAssigned(
    journal: Journal,
    id: string,
  ): void {
    journal.createJob({
      id,
      kind: 'upload',
      title: 'Upload with an odd result',
      request: { plan: { destination: 'gncv://odd/', samples: [] } },
    });
    journal.updateJob(id, {
      state: 'done',
      result: { assigned: 5 },
      finishedAt: new Date().toISOString(),
    });
  }

  it('a job whose result JSON has an odd shape does not break the list', () => {
    const dataDir = newDataDir();
    const made = craftFinished(dataDir, 3);
    const journal = Journal.open(path.join(dataDir, 'journal.db'));
    addFinishedUploadWithNumberAssigned(journal, 'odd-upload');
    journal.updateJob(made[1]!, { result: { files: 7 } });
    journal.close();

    const engine = makeEngine(dataDir);
    try {
      engine.loadHistory();
    } catch {
      // A clear error is acceptable; a broken list is not (below).
    }
    expect(() => engine.snapshots()).not.toThrow();
    // The well-formed jobs are listed whatever the odd ones do.
    const listed = engine.snapshots().map((s) => s.id);
    expect(listed).toContain(made[0]);
    expect(listed).toContain(made[2]);
  });

  it('an upload whose result has a non-list "assigned" does not break snapshots()', () => {
    const dataDir = newDataDir();
    const made = craftFinished(dataDir, 2);
    const journal = Journal.open(path.join(dataDir, 'journal.db'));
    addFinishedUploadWithNumberAssigned(journal, 'odd-assigned');
    journal.close();

    const engine = makeEngine(dataDir);
    try {
      engine.loadHistory();
    } catch {
      // A clear error is acceptable; a broken list is not (below).
    }
    expect(() => engine.snapshots()).not.toThrow();
    expect(ids(engine)).toEqual(expect.arrayContaining(made));
  });

  it('one job whose result is not JSON does not hide the rest of the history', () => {
    const dataDir = newDataDir();
    const made = craftFinished(dataDir, 4);
    const journal = Journal.open(path.join(dataDir, 'journal.db'));
    journal.db
      .prepare('UPDATE jobs SET result = ? WHERE id = ?')
      .run('{"files": [', made[2]!);
    journal.close();

    const engine = makeEngine(dataDir);
    let error: unknown = null;
    try {
      engine.loadHistory();
    } catch (err) {
      error = err;
    }
    if (error) {
      // If it says so, it says where.
      expect(String(error)).toContain(made[2]!);
    }
    const listed = ids(engine);
    expect(listed).toEqual(
      expect.arrayContaining([made[0], made[1], made[3]]),
    );
  });
});

describe('pause and cancel races on a real upload', () => {
  it('pause then cancel while the run is stopping ends cancelled; a retry finishes once', async () => {
    const engine = makeEngine(newDataDir());
    slowParts(500);
    const { plan, source } = largePlan('PAUSECANCEL');
    const id = engine.enqueueUpload(plan);
    await waitForFirstPart(engine, id);
    engine.pause(id);
    engine.cancel(id);
    const snap = await engine.waitFor(id);
    expect(snap.state).toBe('cancelled');
    expect(engine.journal.getJob(id)?.state).toBe('cancelled');
    expect(snap.files.every((f) => f.state !== 'paused')).toBe(true);

    proxy.hook = () => ({ kind: 'forward' });
    engine.retry(id);
    expect((await engine.waitFor(id)).state).toBe('done');
    await expectObjectIs(engine, id, source);
    expect(completesOf(keyOf(engine, id)!)).toBe(1);
  });

  it('pause then resume while the run is stopping does not leave the job paused', async () => {
    const engine = makeEngine(newDataDir());
    slowParts(500);
    const { plan, source } = largePlan('PAUSERESUME');
    const id = engine.enqueueUpload(plan);
    await waitForFirstPart(engine, id);
    // Two quick clicks: Pause, then Resume before the run has stopped.
    engine.pause(id);
    engine.resume(id);
    proxy.hook = () => ({ kind: 'forward' });
    await engine.whenIdle();
    // The last click was Resume: the upload goes on and finishes.
    expect(stateOf(engine, id)).toBe('done');
    await expectObjectIs(engine, id, source);
  });

  it('many quick pause/resume/cancel/retry clicks end final, the list matches the journal, one object', async () => {
    const engine = makeEngine(newDataDir());
    slowParts(150);
    const { plan, source } = largePlan('CLICKS');
    const id = engine.enqueueUpload(plan);
    const clicks: ((id: string) => void)[] = [
      (j) => engine.pause(j),
      (j) => engine.resume(j),
      (j) => engine.cancel(j),
      (j) => engine.retry(j),
      (j) => engine.pause(j),
      (j) => engine.cancel(j),
      (j) => engine.resume(j),
      (j) => engine.retry(j),
    ];
    for (let round = 0; round < 3; round++) {
      for (const click of clicks) {
        click(id);
        await new Promise((r) => setTimeout(r, round * 40));
      }
    }
    await engine.whenIdle();
    const state = stateOf(engine, id)!;
    // The last click was a retry of a cancelled job: it must finish.
    expect(['done', 'cancelled', 'paused']).toContain(state);
    expect(engine.journal.getJob(id)?.state).toBe(state);
    if (state !== 'done') {
      proxy.hook = () => ({ kind: 'forward' });
      if (state === 'paused') engine.resume(id);
      else engine.retry(id);
      expect((await engine.waitFor(id)).state).toBe('done');
    }
    expect(engine.journal.getJob(id)?.state).toBe('done');
    await expectObjectIs(engine, id, source);
    expect(completesOf(keyOf(engine, id)!)).toBe(1);
  });
});
