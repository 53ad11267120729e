/**
 * AppService's watch folders and settings against the real built-in
 * sandbox on loopback, with real journals, a real settings file and copies
 * of a real iSeq run folder (../shared/data/runs) in temp folders.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type {
  ContractError,
  EventMap,
  EventName,
  WatchRunFinished,
} from '../../shared/contract.ts';
import type {
  WatchFolderView,
  WatchRunState,
  WatchRunView,
} from '../../shared/domain.ts';
import type { WatchTimings } from '../engine/watch/watchService.ts';
import { AppService } from './appService.ts';
import type { AppServiceOptions, DesktopShell } from './appService.ts';
import { MemorySecretStore } from './secretStore.ts';
import { toContractError } from './serviceError.ts';
import { SETTINGS_FILE } from './settingsStore.ts';
import { SHARED_DATA } from '../../test/shared.ts';

const runsDir = path.join(SHARED_DATA, 'runs');
const ISEQ_RUN = '20200123_FS10000482_42_BPG80712-1010';

/** Short timings: the defaults poll every few seconds. */
const FAST: Partial<WatchTimings> = {
  eventDelayMs: 100,
  waitingPollMs: 200,
  settlingPollMinMs: 100,
  settlingPollMaxMs: 300,
  notRunPollMs: 200,
  rescanMs: 1_000,
  pollingIntervalMs: 200,
  minGapMs: 200,
  retryPolicy: {
    baseMs: 200,
    maxMs: 800,
    factor: 2,
    maxAttempts: Number.POSITIVE_INFINITY,
    jitter: 'none',
  },
};

/** Settle time of the folders here, seconds. */
const SETTLE_SECONDS = 0.3;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined> | T | null | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The contract error (as the dispatcher sends it) a call is refused with. */
function errorOf(promise: Promise<unknown>): Promise<ContractError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => toContractError(err),
  );
}

/** The client ids of a bcl2fastq FASTQ folder: the text before `_S<n>_`. */
async function sampleNamesIn(fastqDir: string): Promise<string[]> {
  const names = new Set<string>();
  for (const file of await fs.readdir(fastqDir)) {
    const match = /^(.+?)_S\d+_/.exec(file);
    if (match && match[1] !== 'Undetermined') names.add(match[1]);
  }
  return [...names].sort();
}

/** Every event of one name that the service emits, in order. */
function record<E extends EventName>(
  service: AppService,
  name: E,
): EventMap[E][] {
  const seen: EventMap[E][] = [];
  service.onDidEmit((event, payload) => {
    if ((event as EventName) === name) seen.push(payload as EventMap[E]);
  });
  return seen;
}

describe('AppService watch folders', () => {
  let root: string;
  const services: AppService[] = [];

  function makeService(overrides: Partial<AppServiceOptions> = {}): AppService {
    const service = new AppService({
      dataDir: path.join(root, `data-${services.length}`),
      mode: 'serve',
      secretStore: new MemorySecretStore(),
      sandboxStepMs: 50,
      watchTimings: FAST,
      ...overrides,
    });
    services.push(service);
    return service;
  }

  async function signedIn(
    overrides: Partial<AppServiceOptions> = {},
  ): Promise<{ service: AppService; projectId: string; projectName: string }> {
    const service = makeService(overrides);
    await service.handle('session:signIn', {
      host: { kind: 'sandbox' },
      credentials: { kind: 'sandbox-demo' },
      remember: true,
    });
    const [project] = await service.handle('projects:list', {});
    return { service, projectId: project.id, projectName: project.name };
  }

  async function tempDir(name: string): Promise<string> {
    return fs.mkdtemp(path.join(root, `${name}-`));
  }

  function folderOf(
    service: AppService,
    folderId: string,
  ): Promise<WatchFolderView | undefined> {
    return service
      .handle('watch:list', {})
      .then((list) => list.find((f) => f.id === folderId));
  }

  function untilRun(
    service: AppService,
    folderId: string,
    accept: (run: WatchRunView) => boolean,
    what: string,
  ): Promise<WatchRunView> {
    return waitFor(what, async () =>
      (await folderOf(service, folderId))?.runs.find(accept),
    );
  }

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'app-service-watch-'));
  });

  afterAll(async () => {
    for (const service of services) await service.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('watch:add', () => {
    it('uploads a run copied into the folder once, assigns its samples to the project and says so', async () => {
      const { service, projectId, projectName } = await signedIn();
      const watched = await tempDir('watched');
      const changes = record(service, 'watch:didChange');
      const finished = record(service, 'watch:didFinishRun');
      const before = await service.handle('samples:list', { projectId });

      const added = await service.handle('watch:add', {
        path: watched,
        projectId,
        metadata: { sequencer: 'iSeq 100', lab: 'test' },
        settleSeconds: SETTLE_SECONDS,
      });
      await fs.cp(path.join(runsDir, ISEQ_RUN), path.join(watched, ISEQ_RUN), {
        recursive: true,
      });
      const run = await untilRun(
        service,
        added.id,
        (r) => r.state === 'assigned' || r.state === 'failed',
        'the run to be delivered',
      );
      const expected = await sampleNamesIn(
        path.join(watched, ISEQ_RUN, 'Alignment_1', '20200124_110517', 'Fastq'),
      );
      const after = await service.handle('samples:list', { projectId });
      const transfers = await service.handle('transfers:list', {});
      const plan = await service.handle('watch:plan', {
        folderId: added.id,
        runId: run.runId!,
      });
      const detail = await service.handle('samples:get', {
        sampleId: run.assigned[0]!.sampleId,
      });
      await waitFor('the finished-run event', () => finished[0]);
      const statesSeen = () =>
        new Set(
          changes.flatMap((list) =>
            list.flatMap((f) => f.runs.map((r) => r.state)),
          ),
        );
      // The view events are throttled: the last one comes a moment later.
      await waitFor('a view event with the assigned run', () =>
        statesSeen().has('assigned') ? true : null,
      );

      expect(added).toMatchObject({
        path: watched,
        projectId,
        projectName,
        destination: null,
        isPolling: false,
        settleSeconds: SETTLE_SECONDS,
      });
      expect(run).toMatchObject({ state: 'assigned', name: ISEQ_RUN });
      expect(run.assigned.map((a) => a.clientId).sort()).toEqual(expected);
      expect(after.length - before.length).toBe(expected.length);
      expect(after.map((s) => s.id)).toEqual(
        expect.arrayContaining(run.assigned.map((a) => a.sampleId)),
      );
      expect(detail.metadata).toEqual({ sequencer: 'iSeq 100', lab: 'test' });
      expect(transfers.find((t) => t.id === run.jobId)).toMatchObject({
        kind: 'upload',
        state: 'done',
      });
      expect(service.isWatchJob(run.jobId!)).toBe(true);
      expect(plan?.destination).toBe(
        `gncv://${projectName.replace(/[^\p{L}\p{N}._-]+/gu, '-')}/${ISEQ_RUN}/`,
      );
      expect(plan?.samples.map((s) => s.clientId).sort()).toEqual(expected);
      expect(finished).toEqual([
        {
          folderId: added.id,
          folderPath: watched,
          projectId,
          projectName,
          run: expect.objectContaining({ state: 'assigned', jobId: run.jobId }),
        } satisfies WatchRunFinished,
      ]);
      // The view saw the run before it was delivered (which states in
      // between it shows depends on the throttle: a small run can be
      // uploaded and assigned within one view event).
      const beforeDelivery: WatchRunState[] = [
        'waiting-for-run',
        'settling',
        'planned',
        'uploading',
      ];
      expect(beforeDelivery.some((s) => statesSeen().has(s))).toBe(true);
    });

    it('refuses a relative path, a file and a project that does not exist, and adds nothing', async () => {
      const { service, projectId } = await signedIn();
      const dir = await tempDir('refusals');
      const file = path.join(dir, 'notes.txt');
      await fs.writeFile(file, 'not a folder\n');

      const relative = await errorOf(
        service.handle('watch:add', { path: 'runs/incoming', projectId }),
      );
      const aFile = await errorOf(
        service.handle('watch:add', { path: file, projectId }),
      );
      const noProject = await errorOf(
        service.handle('watch:add', {
          path: dir,
          projectId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
        }),
      );
      const badDestination = await errorOf(
        service.handle('watch:add', {
          path: dir,
          projectId,
          destination: 'gncv://a/../b/',
        }),
      );

      expect(relative).toMatchObject({ code: 'validation' });
      expect(aFile).toMatchObject({ code: 'validation' });
      expect(noProject).toMatchObject({ code: 'not-found' });
      expect(badDestination).toMatchObject({ code: 'validation' });
      expect(await service.handle('watch:list', {})).toEqual([]);
    });

    it('is refused before sign-in, and watch:list is empty then', async () => {
      const service = makeService();

      const error = await errorOf(
        service.handle('watch:add', {
          path: root,
          projectId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
        }),
      );

      expect(error).toMatchObject({ code: 'not-signed-in' });
      expect(await service.handle('watch:list', {})).toEqual([]);
    });
  });

  describe('folder and run controls', () => {
    it('shows missing markers, ignores a run, pauses, resumes and removes the folder without touching the disk', async () => {
      const { service, projectId } = await signedIn();
      const watched = await tempDir('controls');
      const runDir = path.join(watched, ISEQ_RUN);
      await fs.cp(path.join(runsDir, ISEQ_RUN), runDir, { recursive: true });
      // The instrument has not finished copying: one marker is missing.
      await fs.rm(path.join(runDir, 'CopyComplete.txt'));
      const added = await service.handle('watch:add', {
        path: watched,
        projectId,
        settleSeconds: SETTLE_SECONDS,
      });

      const waiting = await untilRun(
        service,
        added.id,
        (r) => r.state === 'waiting-for-run',
        'the run to wait for its markers',
      );
      const ignored = await service.handle('watch:ignoreRun', {
        folderId: added.id,
        runId: waiting.runId!,
      });
      const workWatching = service.backgroundWork();
      const paused = await service.handle('watch:pause', {
        folderId: added.id,
      });
      const workPaused = service.backgroundWork();
      const resumed = await service.handle('watch:resume', {
        folderId: added.id,
      });
      const watching = await waitFor(
        'the folder to be watched again',
        async () => {
          const f = await folderOf(service, added.id);
          return f?.status === 'watching' ? f : null;
        },
      );
      const removed = await service.handle('watch:remove', {
        folderId: added.id,
      });
      const afterRemove = await service.handle('watch:list', {});
      const filesLeft = await fs.readdir(runDir);

      expect(waiting.missingMarkers).toContain('CopyComplete.txt');
      expect(waiting.message).toMatch(/CopyComplete\.txt/);
      expect(ignored).toMatchObject({ state: 'ignored', runId: waiting.runId });
      expect(paused.status).toBe('paused');
      // Closing the last window keeps the app in the tray only while a
      // folder is watched.
      expect(workWatching).toEqual({ watchedFolders: 1, activeTransfers: 0 });
      expect(workPaused).toEqual({ watchedFolders: 0, activeTransfers: 0 });
      expect(resumed.id).toBe(added.id);
      expect(watching.runs.find((r) => r.runId === waiting.runId)?.state).toBe(
        'ignored',
      );
      expect(removed).toBeNull();
      expect(afterRemove).toEqual([]);
      expect(filesLeft).toEqual(
        expect.arrayContaining([
          'RunInfo.xml',
          'RTAComplete.txt',
          'Alignment_1',
        ]),
      );
    });

    it('answers not-found for unknown folders and runs, and validation for a run that cannot be ignored', async () => {
      const { service, projectId } = await signedIn();
      const watched = await tempDir('unknown');
      await fs.cp(path.join(runsDir, ISEQ_RUN), path.join(watched, ISEQ_RUN), {
        recursive: true,
      });
      const added = await service.handle('watch:add', {
        path: watched,
        projectId,
        settleSeconds: SETTLE_SECONDS,
      });
      const delivered = await untilRun(
        service,
        added.id,
        (r) => r.state === 'assigned',
        'the run to be assigned',
      );

      const codes = await Promise.all([
        errorOf(service.handle('watch:pause', { folderId: 'no-such-folder' })),
        errorOf(service.handle('watch:remove', { folderId: 'no-such-folder' })),
        errorOf(
          service.handle('watch:ignoreRun', {
            folderId: added.id,
            runId: 'NO_SUCH_RUN',
          }),
        ),
        errorOf(
          service.handle('watch:plan', {
            folderId: 'no-such-folder',
            runId: delivered.runId!,
          }),
        ),
        errorOf(
          service.handle('watch:ignoreRun', {
            folderId: added.id,
            runId: delivered.runId!,
          }),
        ),
      ]);

      expect(codes.map((e) => e.code)).toEqual([
        'not-found',
        'not-found',
        'not-found',
        'not-found',
        'validation',
      ]);
    });

    it('watches the folders of a remembered session again after a restart, before any call', async () => {
      const store = new MemorySecretStore();
      const dataDir = path.join(root, 'restart');
      const { service: first, projectId } = await signedIn({
        dataDir,
        secretStore: store,
      });
      const watched = await tempDir('restart-watched');
      const added = await first.handle('watch:add', {
        path: watched,
        projectId,
        polling: true,
        settleSeconds: SETTLE_SECONDS,
      });
      await first.close();

      const second = makeService({ dataDir, secretStore: store });
      const changes = record(second, 'watch:didChange');
      await second.start();
      const announced = await waitFor('the restored folder to be watched', () =>
        changes
          .flat()
          .find((f) => f.id === added.id && f.status === 'watching'),
      );

      expect(announced).toMatchObject({
        path: watched,
        projectId,
        isPolling: true,
      });
    });
  });
});

describe('AppService settings', () => {
  let root: string;
  const services: AppService[] = [];

  /** A desktop shell that records what the app asks of the system. */
  function recordingShell(calls: boolean[]): DesktopShell {
    return {
      pickFolder: async () => null,
      openFolder: async () => {},
      setOpenAtLogin: (isEnabled) => {
        calls.push(isEnabled);
      },
    };
  }

  function makeService(overrides: Partial<AppServiceOptions>): AppService {
    const service = new AppService({
      dataDir: path.join(root, 'data'),
      mode: 'desktop',
      secretStore: new MemorySecretStore(),
      ...overrides,
    });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'app-service-settings-'));
  });

  afterAll(async () => {
    for (const service of services) await service.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('turns start-at-login on and off through the system and keeps it in the data folder', async () => {
    const calls: boolean[] = [];
    const dataDir = path.join(root, 'login');
    const service = makeService({ dataDir, desktop: recordingShell(calls) });

    const initial = await service.handle('settings:get', {});
    const on = await service.handle('settings:set', { startAtLogin: true });
    const again = await service.handle('settings:set', { startAtLogin: true });
    const stored = JSON.parse(
      await fs.readFile(path.join(dataDir, SETTINGS_FILE), 'utf8'),
    ) as unknown;
    const restarted = makeService({ dataDir, desktop: recordingShell([]) });
    const read = await restarted.handle('settings:get', {});
    const off = await restarted.handle('settings:set', { startAtLogin: false });

    expect(initial).toEqual({ startAtLogin: false, canStartAtLogin: true });
    expect(on).toEqual({ startAtLogin: true, canStartAtLogin: true });
    expect(again).toEqual(on);
    expect(calls).toEqual([true]);
    expect(stored).toEqual({ version: 1, startAtLogin: true });
    expect(read.startAtLogin).toBe(true);
    expect(off.startAtLogin).toBe(false);
    expect(await service.loadSettings()).toEqual({ startAtLogin: false });
  });

  it('refuses start-at-login in serve mode, and reads a damaged settings file as the defaults', async () => {
    const dataDir = path.join(root, 'serve');
    await fs.mkdir(dataDir, { recursive: true });
    await fs.writeFile(
      path.join(dataDir, SETTINGS_FILE),
      '{"version": 1, "start',
    );
    const lines: string[] = [];
    const service = makeService({
      dataDir,
      mode: 'serve',
      log: (l) => lines.push(l),
    });

    const settings = await service.handle('settings:get', {});
    const error = await errorOf(
      service.handle('settings:set', { startAtLogin: true }),
    );

    expect(settings).toEqual({ startAtLogin: false, canStartAtLogin: false });
    expect(error).toMatchObject({ code: 'unsupported' });
    expect(lines.some((l) => l.includes('not valid JSON'))).toBe(true);
  });

  it('leaves the setting as it was when the system refuses the login item', async () => {
    const dataDir = path.join(root, 'refused');
    const service = makeService({
      dataDir,
      desktop: {
        pickFolder: async () => null,
        openFolder: async () => {},
        setOpenAtLogin: () => {
          throw new Error('login items are managed by the administrator');
        },
      },
    });

    const error = await errorOf(
      service.handle('settings:set', { startAtLogin: true }),
    );
    const settings = await service.handle('settings:get', {});

    expect(error).toMatchObject({ code: 'internal' });
    expect(settings.startAtLogin).toBe(false);
    await expect(
      fs.access(path.join(dataDir, SETTINGS_FILE)),
    ).rejects.toThrow();
  });
});
