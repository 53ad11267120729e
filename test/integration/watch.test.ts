/**
 * The sequencer folder watcher end to end: a real sandbox on loopback, real
 * journal files, real run folders (copied from ../shared/data) written into
 * a watched folder over time, the way instruments and copy tools write them.
 *
 * What must hold: a run is uploaded and assigned exactly once, whatever
 * happens around it (restarts, a crash mid-upload, the same run copied in
 * again under another name, the folder vanishing and coming back), and a
 * run that is not complete or not clean is never uploaded, with the reason
 * shown on the run.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GencoveClient } from '../../electron/engine/api/client.ts';
import { Engine } from '../../electron/engine/engine.ts';
import { startRecordingProxy } from '../../electron/engine/upload/testing.ts';
import type { RecordingProxy } from '../../electron/engine/upload/testing.ts';
import {
  RUNS,
  backdate,
  copyRun,
  copyRunAs,
  copyShared,
  makeTempDir,
  removeDir,
  repoRoot,
  startHoldingProxy,
  waitFor,
  writeRunLikeAnInstrument,
} from '../../electron/engine/watch/testing.ts';
import { WatchService } from '../../electron/engine/watch/watchService.ts';
import type {
  WatchRunEvent,
  WatchTimings,
} from '../../electron/engine/watch/watchService.ts';
import { watchCommand } from '../../electron/cli/watch.ts';
import { startSandbox } from '../../sandbox/server.ts';
import { cliEntry, runCli } from '../helpers.ts';
import type { RunningSandbox } from '../../sandbox/server.ts';
import type { WatchFolderView, WatchRunView } from '../../shared/domain.ts';
import { SHARED_DATA } from '../shared.ts';

/** Fast timings for tests (the defaults poll every few seconds). */
const FAST: Partial<WatchTimings> = {
  eventDelayMs: 100,
  waitingPollMs: 200,
  settlingPollMinMs: 100,
  settlingPollMaxMs: 400,
  notRunPollMs: 200,
  rescanMs: 1_000,
  pollingIntervalMs: 200,
  minGapMs: 300,
  retryPolicy: {
    baseMs: 200,
    maxMs: 800,
    factor: 2,
    maxAttempts: Number.POSITIVE_INFINITY,
    jitter: 'none',
  },
};

let work: string;
let sandbox: RunningSandbox;
let client: GencoveClient;
let projectIds: string[];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await makeTempDir('integration');
  sandbox = await startSandbox({
    dataDir: path.join(work, 'sandbox'),
    port: 0,
    pipelineStepMs: 50,
  });
  client = new GencoveClient({
    host: sandbox.info.api_url,
    auth: { kind: 'api-key', apiKey: sandbox.info.api_key },
  });
  projectIds = sandbox.info.project_ids;
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  client?.close();
  await sandbox?.close();
  await removeDir(work);
});

/** An engine and a watch service over one data folder ("one app process"). */
function startApp(dataDir: string, timings: Partial<WatchTimings> = FAST) {
  const engine = new Engine({ dataDir, client });
  const service = new WatchService({ engine, client, timings });
  const events: (WatchRunEvent & { at: number })[] = [];
  service.onDidChangeRun((e) => events.push({ ...e, at: Date.now() }));
  let isClosed = false;
  const close = async (): Promise<void> => {
    if (isClosed) return;
    isClosed = true;
    await service.stop();
    await engine.close();
  };
  cleanups.push(close);
  return { engine, service, events, close };
}

function runOf(
  service: WatchService,
  folderId: string,
  runId: string,
): WatchRunView | undefined {
  return service.getFolder(folderId).runs.find((r) => r.runId === runId);
}

function untilRunState(
  service: WatchService,
  folderId: string,
  runId: string,
  state: WatchRunView['state'],
  timeoutMs = 30_000,
) {
  return waitFor(
    `run ${runId} to be ${state}`,
    () => {
      const run = runOf(service, folderId, runId);
      return run?.state === state ? run : undefined;
    },
    timeoutMs,
    () => JSON.stringify(runOf(service, folderId, runId) ?? null),
  );
}

let projectCount = 0;

/** A new project of the sandbox, so that each test counts its own samples. */
async function newProject(): Promise<string> {
  const template = await client.getProject(projectIds[0]!);
  const project = await client.createProject(
    `Watch test ${++projectCount}`,
    template.pipeline_capabilities!,
  );
  return project.id;
}

async function samplesOf(projectId: string, clientIds: string[]) {
  const all = await client.listProjectSamples(projectId);
  return all.filter((s) => clientIds.includes(s.client_id));
}

function countRows(engine: Engine, sql: string, ...args: string[]): number {
  return (engine.journal.db.prepare(sql).get(...args) as { n: number }).n;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

describe('watch folders (integration)', () => {
  it('uploads a run that an instrument writes over time once, and never again after a restart or a copy under another name', async () => {
    const dir = path.join(work, 'once');
    const root = path.join(dir, 'instrument');
    fs.mkdirSync(root, { recursive: true });
    const source = copyRunAs(
      RUNS.nextseq2000,
      path.join(dir, 'src'),
      RUNS.nextseq2000,
      'ONCE_VH00567_1_AAAGLG7HV',
    );
    const projectId = await newProject();
    const dataDir = path.join(dir, 'app');
    const first = startApp(dataDir);
    const folder = first.service.addFolder({
      path: root,
      projectId,
      settleSeconds: 1,
    });
    const runId = 'ONCE_VH00567_1_AAAGLG7HV';

    // The instrument starts before the watcher: a FASTQ is half written
    // when it starts. Markers come last, and in the wrong order.
    let lastMarkerAt = 0;
    const writing = writeRunLikeAnInstrument({
      from: source,
      to: path.join(root, RUNS.nextseq2000),
      pieces: 4,
      pauseMs: 120,
      markerOrder: [
        'Analysis/1/Data/Secondary_Analysis_Complete.txt',
        'RTAComplete.txt',
        'Analysis/1/CopyComplete.txt',
        'CopyComplete.txt',
      ],
      onWrite: (file) => {
        if (/Complete/.test(file)) lastMarkerAt = Date.now();
      },
    });
    await waitFor(
      'a FASTQ being written',
      () =>
        fs.existsSync(
          path.join(
            root,
            RUNS.nextseq2000,
            'Analysis/1/Data/fastq/PhiX_S1_L001_R1_001.fastq.gz',
          ),
        ) || undefined,
    );
    await first.service.start();
    await writing;
    const assigned = await untilRunState(
      first.service,
      folder.id,
      runId,
      'assigned',
    );

    // Nothing was planned or uploaded before the last marker arrived.
    const early = first.events.filter(
      (e) => e.at < lastMarkerAt && e.run.runId === runId,
    );
    expect(early.length).toBeGreaterThan(0);
    expect(new Set(early.map((e) => e.run.state))).toEqual(
      new Set(['waiting-for-run']),
    );
    expect(
      early.some((e) => e.run.missingMarkers.includes('CopyComplete.txt')),
    ).toBe(true);
    const states = first.events
      .filter((e) => e.run.runId === runId)
      .map((e) => e.run.state);
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual([
      'waiting-for-run',
      'settling',
      'planned',
      'uploading',
      'assigned',
    ]);
    expect(assigned.assigned.map((a) => a.clientId)).toEqual(['PhiX']);
    expect(assigned.plan).toMatchObject({
      includedSamples: 1,
      destination: expect.stringMatching(
        /^gncv:\/\/Watch-test-\d+\/210628_VH00567_1_AAAGLG7HV\/$/,
      ),
    });
    expect(await samplesOf(projectId, ['PhiX'])).toHaveLength(1);
    const jobId = assigned.jobId!;

    // Restart: a new service (and engine) over the same journal, then the
    // same run copied in again under another name.
    await first.close();
    const second = startApp(dataDir);
    await second.service.start();
    expect(runOf(second.service, folder.id, runId)).toMatchObject({
      state: 'assigned',
      jobId,
    });
    fs.cpSync(source, path.join(root, 'copy of the run'), { recursive: true });
    const seen = await waitFor('the copy to be recognised', () => {
      const run = runOf(second.service, folder.id, runId);
      return run?.copies.some((c) => c.endsWith('copy of the run'))
        ? run
        : undefined;
    });
    await sleep(1_500);

    expect(seen).toMatchObject({ state: 'assigned', jobId });
    expect(runOf(second.service, folder.id, runId)).toMatchObject({
      state: 'assigned',
      jobId,
    });
    expect(await samplesOf(projectId, ['PhiX'])).toHaveLength(1);
    expect(
      countRows(
        second.engine,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'upload'",
      ),
    ).toBe(1);
    expect(
      countRows(
        second.engine,
        'SELECT COUNT(*) AS n FROM watch_runs WHERE run_id = ?',
        runId,
      ),
    ).toBe(1);
    expect(second.engine.snapshots().filter((s) => s.id !== jobId)).toEqual([]);

    // Another watch folder of the same project holding the same run (say,
    // the instrument's network copy) does not deliver it again either.
    const mirror = path.join(dir, 'mirror');
    fs.mkdirSync(mirror);
    fs.cpSync(source, path.join(mirror, RUNS.nextseq2000), { recursive: true });
    const other = second.service.addFolder({
      path: mirror,
      projectId,
      settleSeconds: 1,
    });
    const duplicate = await untilRunState(
      second.service,
      other.id,
      runId,
      'duplicate',
    );
    expect(duplicate.message).toContain(root);
    expect(duplicate.jobId).toBeNull();
    expect(await samplesOf(projectId, ['PhiX'])).toHaveLength(1);
  });

  it('continues an upload after the watcher process is killed mid-run, without sending anything twice', async () => {
    const dir = path.join(work, 'crash');
    const root = path.join(dir, 'instrument');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const dataDir = path.join(dir, 'app');
    const runId = 'CRASH_FS10000482_42_BPG80712-1010';
    const clientIds = ['412', 'LMD666', 'TaoP3', 'TaoP10'];
    copyRunAs(RUNS.iseq, root, 'crash-run', runId);
    backdate(path.join(root, 'crash-run'), 120);

    // The child goes through a proxy that slows every upload request, so
    // that it can be killed with some objects done and others not.
    const proxy: RecordingProxy = await startRecordingProxy(
      sandbox.info.api_url,
    );
    cleanups.push(() => proxy.close());
    proxy.hook = (req) =>
      req.path.startsWith('/api/')
        ? { kind: 'forward' }
        : { kind: 'forward', delayMs: 300 };
    const child = spawnWatcher(dir, {
      apiUrl: proxy.url,
      s3Endpoint: proxy.url,
      dataDir,
      root,
      projectId,
    });
    // An object is stored by a PutObject (small files) or by the
    // CompleteMultipartUpload of a multipart upload.
    const isStoring = (r: {
      path: string;
      method: string;
      query: URLSearchParams;
    }) =>
      !r.path.startsWith('/api/') &&
      ((r.method === 'PUT' && !r.query.has('partNumber')) ||
        (r.method === 'POST' && r.query.has('uploadId')));
    const completed = () =>
      proxy.requests.filter((r) => isStoring(r) && r.status === 200);
    await waitFor(
      'one object stored by the child',
      () => (completed().length > 0 ? true : undefined),
      30_000,
      () => child.output(),
    );
    child.kill();
    await child.exited;
    const doneBeforeCrash = completed().map((r) => r.path);
    expect(doneBeforeCrash.length).toBeLessThan(clientIds.length * 2);
    const requestsBeforeRestart = proxy.requests.length;

    // Restart in this process, through the same proxy.
    const engine = new Engine({
      dataDir,
      client: new GencoveClient({
        host: proxy.url,
        auth: { kind: 'api-key', apiKey: sandbox.info.api_key },
      }),
      s3Endpoint: proxy.url,
    });
    const service = new WatchService({ engine, client, timings: FAST });
    cleanups.push(async () => {
      await service.stop();
      await engine.close();
      engine.client.close();
    });
    const view = service.listFolders();
    expect(view).toHaveLength(1);
    const before = view[0]!.runs.find((r) => r.runId === runId)!;
    expect(before.state).toBe('uploading');
    await service.start();
    const assigned = await untilRunState(
      service,
      view[0]!.id,
      runId,
      'assigned',
      60_000,
    );

    expect(assigned.jobId).toBe(before.jobId);
    expect(assigned.assigned.map((a) => a.clientId).sort()).toEqual(
      [...clientIds].sort(),
    );
    const samples = await samplesOf(projectId, clientIds);
    expect(samples.map((s) => s.client_id).sort()).toEqual(
      [...clientIds].sort(),
    );
    const after = proxy.requests
      .slice(requestsBeforeRestart)
      .filter((r) => isStoring(r) || r.query.has('partNumber'));
    expect(after.length).toBeGreaterThan(0);
    for (const done of doneBeforeCrash) {
      expect(
        after.filter((r) => r.path === done).map((r) => r.method),
        `${done} is not sent again`,
      ).toEqual([]);
    }
    expect(
      countRows(engine, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'upload'"),
    ).toBe(1);
  });

  it('does not assign twice when the watcher dies while its assignment is in flight', async () => {
    const dir = path.join(work, 'crash-assign');
    const root = path.join(dir, 'instrument');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const dataDir = path.join(dir, 'app');
    const runId = 'ASSIGN_FS10000482_42_BPG80712-1010';
    const clientIds = ['412', 'LMD666', 'TaoP3', 'TaoP10'];
    copyRunAs(RUNS.iseq, root, 'assign-run', runId);
    backdate(path.join(root, 'assign-run'), 120);

    // The assignment request is held by the proxy; the child is killed
    // while it waits, and the proxy then delivers the request anyway: the
    // platform assigns, the child never learns it.
    const isAssign = (r: { method: string; path: string }) =>
      r.method === 'POST' &&
      r.path.startsWith(`/api/v2/project-samples/${projectId}`);
    const proxy = await startHoldingProxy(sandbox.info.api_url, (r) =>
      isAssign(r) ? 500 : null,
    );
    cleanups.push(() => proxy.close());
    const child = spawnWatcher(dir, {
      apiUrl: proxy.url,
      dataDir,
      root,
      projectId,
    });
    await waitFor(
      'the assignment request',
      () => (proxy.requests.some(isAssign) ? true : undefined),
      30_000,
      () => child.output(),
    );
    child.kill();
    await child.exited;
    const reached = await waitFor(
      'the held request to reach the platform',
      async () => {
        const samples = await samplesOf(projectId, clientIds);
        return samples.length === clientIds.length ? samples : undefined;
      },
    );

    const engine = new Engine({ dataDir, client });
    const service = new WatchService({ engine, client, timings: FAST });
    cleanups.push(async () => {
      await service.stop();
      await engine.close();
    });
    const folderId = service.listFolders()[0]!.id;
    expect(runOf(service, folderId, runId)?.state).toBe('uploading');
    await service.start();
    const assigned = await untilRunState(
      service,
      folderId,
      runId,
      'assigned',
      60_000,
    );

    expect(await samplesOf(projectId, clientIds)).toHaveLength(
      clientIds.length,
    );
    expect(assigned.assigned.map((a) => a.sampleId).sort()).toEqual(
      reached.map((s) => s.id).sort(),
    );
  });

  it('queues a run once when two watchers share one journal', async () => {
    const dir = path.join(work, 'two-watchers');
    const root = path.join(dir, 'instrument');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const runId = 'TWO_VH00567_1_AAAGLG7HV';
    const engine = new Engine({ dataDir: path.join(dir, 'app'), client });
    const services = [0, 1].map(
      () => new WatchService({ engine, client, timings: FAST }),
    );
    cleanups.push(async () => {
      for (const service of services) await service.stop();
      await engine.close();
    });
    const folders = services.map((service) =>
      service.addFolder({ path: root, projectId, settleSeconds: 1 }),
    );
    await Promise.all(services.map((service) => service.start()));
    copyRunAs(RUNS.nextseq2000, root, 'two', runId);

    const states = await waitFor('both watchers to pass the run on', () => {
      const runs = services.map((service, i) =>
        runOf(service, folders[i]!.id, runId),
      );
      return runs.some((r) => r?.state === 'assigned') &&
        runs.every((r) => r?.jobId)
        ? runs
        : undefined;
    });

    expect(folders[0]!.id).toBe(folders[1]!.id);
    expect(new Set(states.map((r) => r!.jobId)).size).toBe(1);
    expect(
      countRows(engine, "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'upload'"),
    ).toBe(1);
    expect(await samplesOf(projectId, ['PhiX'])).toHaveLength(1);
  });

  it('holds runs with bad input, says why on each, and uploads nothing', async () => {
    const dir = path.join(work, 'bad');
    const root = path.join(dir, 'instrument');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const app = startApp(path.join(dir, 'app'));
    const folder = app.service.addFolder({
      path: root,
      projectId,
      settleSeconds: 1,
    });
    const before = (await client.listProjectSamples(projectId)).length;

    // Markers never come: a NextSeq 2000 run without CopyComplete.txt.
    const noMarker = copyRunAs(
      RUNS.nextseq2000,
      root,
      'no-marker',
      'BAD1_VH00567_1_AAAGLG7HV',
    );
    fs.rmSync(path.join(noMarker, 'CopyComplete.txt'));
    // A FASTQ that never settles: it keeps growing (valid gzip members).
    const growing = copyRunAs(
      RUNS.iseq,
      root,
      'never-settles',
      'BAD2_FS10000482_42_BPG80712-1010',
    );
    const growingFile = path.join(
      growing,
      'Alignment_1/20200124_110517/Fastq/412_S1_L001_R1_001.fastq.gz',
    );
    const member = fs.readFileSync(
      path.join(SHARED_DATA, 'naming/SAMPLE1_R1.fastq.gz'),
    );
    const grower = setInterval(
      () => fs.appendFileSync(growingFile, member),
      150,
    );
    cleanups.push(async () => clearInterval(grower));
    // A run FASTQ whose last gzip member is truncated.
    const truncated = copyRunAs(
      RUNS.miseq,
      root,
      'truncated',
      'BAD3_M00119_0068_AMS0002022-00300',
    );
    copyShared(
      'corrupt/TRUNCATED_R1.fastq.gz',
      path.join(
        truncated,
        'Data/Intensities/BaseCalls/Nextera2BP_kapa_S1_L001_R1_001.fastq.gz',
      ),
    );
    // A sample of the sample sheet without files.
    const missingSample = copyRunAs(
      RUNS.iseq,
      root,
      'missing-sample',
      'BAD4_FS10000482_42_BPG80712-1010',
    );
    for (const read of ['R1', 'R2']) {
      fs.rmSync(
        path.join(
          missingSample,
          `Alignment_1/20200124_110517/Fastq/TaoP3_S3_L001_${read}_001.fastq.gz`,
        ),
      );
    }
    // Files that match no sample of the sheet.
    const stray = copyRunAs(
      RUNS.iseq,
      root,
      'stray-files',
      'BAD5_FS10000482_42_BPG80712-1010',
    );
    copyShared(
      'naming/SAMPLE1_R1.fastq.gz',
      path.join(
        stray,
        'Alignment_1/20200124_110517/Fastq/Stray_S9_L001_R1_001.fastq.gz',
      ),
    );
    copyShared(
      'naming/SAMPLE1_R2.fastq.gz',
      path.join(
        stray,
        'Alignment_1/20200124_110517/Fastq/Stray_S9_L001_R2_001.fastq.gz',
      ),
    );
    // A folder that looks like a run but has no RunInfo.xml.
    const notARun = copyRun(
      RUNS.nextseq500,
      root,
      '231001_NB500892_0300_AHXXXXXXXX',
    );
    fs.rmSync(path.join(notARun, 'RunInfo.xml'));
    for (const d of [
      noMarker,
      growing,
      truncated,
      missingSample,
      stray,
      notARun,
    ])
      backdate(d, 120);
    fs.appendFileSync(growingFile, member);

    await app.service.start();
    const byName = async (name: string, check: (r: WatchRunView) => boolean) =>
      waitFor(
        `run ${name}`,
        () => {
          const run = app.service
            .getFolder(folder.id)
            .runs.find((r) => r.name === name);
          return run !== undefined && check(run) ? run : undefined;
        },
        20_000,
        () =>
          JSON.stringify(
            app.service
              .getFolder(folder.id)
              .runs.find((r) => r.name === name) ?? null,
          ),
      );

    const waiting = await byName(
      'no-marker',
      (r) => r.state === 'waiting-for-run' && r.missingMarkers.length > 0,
    );
    const held = await byName('missing-sample', (r) => r.state === 'failed');
    const strayHeld = await byName('stray-files', (r) => r.state === 'failed');
    const cut = await byName(
      'truncated',
      (r) => r.state === 'settling' && /cut short/.test(r.message),
    );
    const notRun = await byName(
      '231001_NB500892_0300_AHXXXXXXXX',
      (r) => r.state === 'not-a-run',
    );
    await sleep(2_500);
    const unsettled = await byName(
      'never-settles',
      (r) => r.state === 'settling',
    );

    expect(waiting.missingMarkers).toEqual(['CopyComplete.txt']);
    expect(waiting.message).toMatch(
      /CopyComplete\.txt \(the run folder finished copying\) not found yet/,
    );
    expect(unsettled.unsettledFiles.map((f) => f.path)).toContain(
      'Alignment_1/20200124_110517/Fastq/412_S1_L001_R1_001.fastq.gz',
    );
    expect(
      unsettled.unsettledFiles.find((f) =>
        f.path.endsWith('412_S1_L001_R1_001.fastq.gz'),
      )?.reason,
    ).toMatch(/still being written/);
    expect(cut.message).toMatch(
      /Nextera2BP_kapa_S1_L001_R1_001\.fastq\.gz: the last gzip member is cut short/,
    );
    expect(held.problems.map((p) => p.code)).toContain(
      'sample-sheet-missing-files',
    );
    expect(held.message).toMatch(/^Held: .*sample TaoP3 is listed/);
    expect(held.plan).toMatchObject({ includedSamples: 3, totalSamples: 3 });
    expect(strayHeld.problems.map((p) => p.code)).toContain(
      'sample-sheet-unknown-sample',
    );
    expect(strayHeld.message).toMatch(/Sample Stray is not listed/);
    expect(notRun.message).toMatch(/no RunInfo\.xml; not uploaded/);
    // Nothing was queued or sent.
    const runs = app.service.getFolder(folder.id).runs;
    expect(runs).toHaveLength(6);
    expect(runs.map((r) => r.jobId)).toEqual(runs.map(() => null));
    expect(app.engine.snapshots()).toEqual([]);
    expect((await client.listProjectSamples(projectId)).length).toBe(before);

    // Fixing the files and retrying the held run uploads it.
    for (const read of ['R1', 'R2']) {
      copyShared(
        `runs/${RUNS.iseq}/Alignment_1/20200124_110517/Fastq/TaoP3_S3_L001_${read}_001.fastq.gz`,
        path.join(
          missingSample,
          `Alignment_1/20200124_110517/Fastq/TaoP3_S3_L001_${read}_001.fastq.gz`,
        ),
      );
    }
    app.service.retryRun(folder.id, held.runId!);
    const fixed = await untilRunState(
      app.service,
      folder.id,
      held.runId!,
      'assigned',
    );
    expect(fixed.assigned).toHaveLength(4);
  });

  it('says a watch folder is missing, picks it up once created, and survives it vanishing and coming back (polling)', async () => {
    const dir = path.join(work, 'missing');
    fs.mkdirSync(dir, { recursive: true });
    const root = path.join(dir, 'share');
    const projectId = await newProject();
    const app = startApp(path.join(dir, 'app'));
    const folderEvents: WatchFolderView[] = [];
    app.service.onDidChangeFolder((f) => folderEvents.push(f));
    const folder = app.service.addFolder({
      path: root,
      projectId,
      polling: true,
      settleSeconds: 1,
    });
    await app.service.start();

    const missing = app.service.getFolder(folder.id);
    expect(missing.status).toBe('missing');
    expect(missing.message).toMatch(/does not exist/);
    expect(missing.nextRetryAt).not.toBeNull();

    // The share is mounted: the folder appears with a finished run in it.
    fs.mkdirSync(path.join(dir, 'staging'));
    const staged = copyRunAs(
      RUNS.miseq,
      path.join(dir, 'staging'),
      'run',
      'GONE_M00119_0068_AMS0002022-00300',
    );
    backdate(staged, 120);
    fs.mkdirSync(root);
    fs.renameSync(staged, path.join(root, 'run'));
    await waitFor('the folder to be watched', () =>
      app.service.getFolder(folder.id).status === 'watching' ? true : undefined,
    );
    const run = await untilRunState(
      app.service,
      folder.id,
      'GONE_M00119_0068_AMS0002022-00300',
      'assigned',
    );
    expect(run.assigned).toHaveLength(4);

    // The share goes away and comes back.
    fs.renameSync(root, path.join(dir, 'unmounted'));
    await waitFor('the folder to be missing', () =>
      app.service.getFolder(folder.id).status === 'missing' ? true : undefined,
    );
    expect(runOf(app.service, folder.id, run.runId!)).toMatchObject({
      state: 'assigned',
      isPresent: false,
    });
    fs.renameSync(path.join(dir, 'unmounted'), root);
    await waitFor('the folder to be watched again', () =>
      app.service.getFolder(folder.id).status === 'watching' &&
      runOf(app.service, folder.id, run.runId!)?.isPresent
        ? true
        : undefined,
    );
    await sleep(1_000);

    expect(runOf(app.service, folder.id, run.runId!)).toMatchObject({
      state: 'assigned',
      jobId: run.jobId,
    });
    expect(
      countRows(
        app.engine,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'upload'",
      ),
    ).toBe(1);
    expect(
      await samplesOf(
        projectId,
        run.assigned.map((a) => a.clientId),
      ),
    ).toHaveLength(4);
    const statuses = folderEvents.map((f) => f.status);
    expect(statuses.filter((s, i) => s !== statuses[i - 1])).toEqual([
      'stopped',
      'missing',
      'watching',
      'missing',
      'watching',
    ]);
  });

  it('watch --once delivers the runs complete now and a second --once sends nothing', async () => {
    const dir = path.join(work, 'cli');
    const root = path.join(dir, 'runs');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const complete = copyRunAs(
      RUNS.nextseq500,
      root,
      RUNS.nextseq500,
      'CLI1_NB500892_0277_AHJYM2BGX7',
    );
    backdate(complete, 300);
    const unfinished = copyRunAs(
      RUNS.nextseq2000,
      root,
      'unfinished',
      'CLI2_VH00567_1_AAAGLG7HV',
    );
    fs.rmSync(path.join(unfinished, 'RTAComplete.txt'));
    const args = [
      'watch',
      root,
      '--project-id',
      projectId,
      '--once',
      '--settle-seconds',
      '1',
      '--metadata',
      '{"batch": "cron"}',
      '--host',
      sandbox.info.api_url,
      '--api-key',
      sandbox.info.api_key,
      '--data-dir',
      path.join(dir, 'home'),
    ];

    const first = await runCli(args, {});
    const second = await runCli([...args, '--json'], {});

    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(first.stdout).toMatch(
      /180723_NB500892_0277_AHJYM2BGX7 {2}assigned: /,
    );
    expect(first.stdout).toMatch(
      /unfinished {2}waiting-for-run: Waiting for the run to finish: RTAComplete\.txt/,
    );
    const summary = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as {
      event: string;
      folder: WatchFolderView;
    };
    expect(summary.event).toBe('summary');
    const delivered = summary.folder.runs.find(
      (r) => r.runId === 'CLI1_NB500892_0277_AHJYM2BGX7',
    )!;
    expect(delivered.state).toBe('assigned');
    expect(delivered.assigned).toHaveLength(12);
    expect(second.stdout).not.toMatch(/"state":"uploading"/);
    const samples = await samplesOf(
      projectId,
      delivered.assigned.map((a) => a.clientId),
    );
    expect(samples).toHaveLength(12);
    const detail = await client.getSample(samples[0]!.id);
    expect(detail).toBeTruthy();
  });

  it('watch in the foreground prints each state change and stops on Ctrl-C', async () => {
    const dir = path.join(work, 'cli-foreground');
    const root = path.join(dir, 'runs');
    fs.mkdirSync(root, { recursive: true });
    const projectId = await newProject();
    const child = spawn(
      process.execPath,
      [
        cliEntry,
        'watch',
        root,
        '--project-id',
        projectId,
        '--settle-seconds',
        '1',
        '--host',
        sandbox.info.api_url,
        '--api-key',
        sandbox.info.api_key,
        '--data-dir',
        path.join(dir, 'home'),
      ],
      { env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) =>
      child.once('close', (code) => resolve(code)),
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
      await exited;
    });
    await waitFor('the watcher to watch', () =>
      /watching: Watching for runs/.test(stdout) ? true : undefined,
    );

    // The run appears at once, complete (copied aside, then moved in).
    const staged = copyRunAs(
      RUNS.iseq,
      path.join(dir, 'staging'),
      'foreground',
      'FG_FS10000482_42_BPG80712-1010',
    );
    fs.renameSync(staged, path.join(root, 'foreground'));
    await waitFor(
      'the run to be assigned',
      () => (/foreground {2}assigned: /.test(stdout) ? true : undefined),
      30_000,
      () => stdout + stderr,
    );
    child.kill('SIGINT');
    const code = await exited;

    expect(code).toBe(0);
    const states = [...stdout.matchAll(/foreground {2}([a-z-]+):/g)].map(
      (m) => m[1],
    );
    expect(states.filter((st, i) => st !== states[i - 1])).toEqual([
      'settling',
      'planned',
      'uploading',
      'assigned',
    ]);
    expect(stderr).toMatch(/Stopping: uploads in progress continue/);
    expect(
      await samplesOf(projectId, ['412', 'LMD666', 'TaoP3', 'TaoP10']),
    ).toHaveLength(4);
  });

  it('refuses bad watch arguments with a message naming the option', async () => {
    const base = {
      projectId: projectIds[0]!,
      host: sandbox.info.api_url,
      apiKey: sandbox.info.api_key,
      once: true,
    };

    await expect(
      watchCommand(work, { ...base, projectId: 'not-a-uuid' }),
    ).rejects.toThrow(/--project-id "not-a-uuid" is not a project UUID/);
    await expect(
      watchCommand(work, { ...base, destination: 's3://x/' }),
    ).rejects.toThrow(/--destination "s3:\/\/x\/" must start with gncv:\/\//);
    await expect(
      watchCommand(work, { ...base, metadata: '{oops' }),
    ).rejects.toThrow(/--metadata is not valid JSON/);
    await expect(
      watchCommand(work, { ...base, settleSeconds: '-3' }),
    ).rejects.toThrow(/--settle-seconds "-3"/);
  });
});

/** Starts a watcher (engine + service) in a child process, as the app does. */
function spawnWatcher(
  dir: string,
  args: {
    apiUrl: string;
    /** S3 endpoint; default: the one the upload credentials name. */
    s3Endpoint?: string;
    dataDir: string;
    root: string;
    projectId: string;
  },
) {
  const moduleUrl = (relative: string) =>
    pathToFileURL(path.join(repoRoot, relative)).href;
  const script = path.join(dir, 'watcher-child.ts');
  fs.writeFileSync(
    script,
    [
      `import { GencoveClient } from '${moduleUrl('electron/engine/api/client.ts')}';`,
      `import { Engine } from '${moduleUrl('electron/engine/engine.ts')}';`,
      `import { WatchService } from '${moduleUrl('electron/engine/watch/watchService.ts')}';`,
      'const { apiUrl, s3Endpoint, apiKey, dataDir, root, projectId, timings } = JSON.parse(process.env.WATCHER_ARGS);',
      "const client = new GencoveClient({ host: apiUrl, auth: { kind: 'api-key', apiKey } });",
      'const engine = new Engine({ dataDir, client, ...(s3Endpoint ? { s3Endpoint } : {}) });',
      'const service = new WatchService({ engine, client, timings });',
      'service.onDidChangeRun((e) => console.log(`${e.run.name} ${e.run.state} ${e.run.message}`));',
      'service.addFolder({ path: root, projectId, settleSeconds: 1 });',
      'await service.start();',
      'setInterval(() => {}, 60_000);',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      WATCHER_ARGS: JSON.stringify({
        ...args,
        apiKey: sandbox.info.api_key,
        timings: FAST,
      }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => resolve()),
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null)
      child.kill('SIGKILL');
    await exited;
  });
  return {
    kill: () => child.kill('SIGKILL'),
    exited,
    output: () => output,
  };
}
