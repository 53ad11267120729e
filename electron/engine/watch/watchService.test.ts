/**
 * WatchService without uploads: folders, validation, persistence, states
 * that need no platform, and cleanup. Real journal files, real folders in
 * temp dirs, copies of real run folders. Uploads (and the sandbox) are in
 * test/integration/watch.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GencoveClient } from '../api/client.ts';
import { Engine } from '../engine.ts';
import { ValidationError } from '../errors.ts';
import { Journal } from '../journal/journal.ts';
import { ManualClock } from '../progress.ts';
import {
  RUNS,
  copyRun,
  copyRunAs,
  listTree,
  makeTempDir,
  removeDir,
  waitFor,
} from './testing.ts';
import { WatchService } from './watchService.ts';
import type { WatchServiceParams, WatchTimings } from './watchService.ts';

const PROJECT = '0f2b6a52-8d55-4f8e-9d55-6b7f1a0c2e11';
const OTHER_PROJECT = '7a1c3e9b-2f4d-4a6b-8c0e-1d2f3a4b5c6d';

const FAST: Partial<WatchTimings> = {
  eventDelayMs: 50,
  waitingPollMs: 100,
  settlingPollMinMs: 50,
  settlingPollMaxMs: 200,
  notRunPollMs: 100,
  rescanMs: 500,
  minGapMs: 100,
};

/** The platform is never reached in these tests: runs never get that far. */
const platform = { getProject: async () => ({ name: 'Unit project' }) };

let work: string;
let count = 0;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  work = await makeTempDir('service');
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

afterAll(async () => {
  await removeDir(work);
});

function makeApp(
  dataDir = path.join(work, `app-${++count}`),
  params: Partial<WatchServiceParams> = {},
) {
  // A client for a closed loopback port: the engine never calls it here.
  const client = new GencoveClient({
    host: 'http://127.0.0.1:9',
    auth: { kind: 'api-key', apiKey: 'unused' },
  });
  const engine = new Engine({ dataDir, client });
  const service = new WatchService({
    engine,
    client: platform,
    timings: FAST,
    ...params,
  });
  let isClosed = false;
  const close = async (): Promise<void> => {
    if (isClosed) return;
    isClosed = true;
    await service.stop();
    await engine.close();
    client.close();
  };
  closers.push(close);
  return { engine, service, dataDir, close };
}

function newRoot(): string {
  const root = path.join(work, `root-${++count}`);
  fs.mkdirSync(root, { recursive: true });
  return root;
}

describe('WatchService', () => {
  describe('constructor()', () => {
    it('refuses a journal other than the engine’s', async () => {
      const { engine } = makeApp();
      const other = Journal.open(path.join(work, 'other.db'));

      expect(
        () => new WatchService({ engine, journal: other, client: platform }),
      ).toThrow(/must be the engine's journal/);
      other.close();
    });
  });

  describe('addFolder()', () => {
    const bad: {
      name: string;
      options: Record<string, unknown>;
      field: string;
      message: RegExp;
    }[] = [
      {
        name: 'an empty path',
        options: { path: ' ', projectId: PROJECT },
        field: 'path',
        message: /needs a folder path/,
      },
      {
        name: 'a project id that is not a UUID',
        options: { path: '/x', projectId: 'abc' },
        field: 'project id',
        message: /abc/,
      },
      {
        name: 'a destination that is not gncv://',
        options: { path: '/x', projectId: PROJECT, destination: '/tmp/x' },
        field: 'destination',
        message: /must start with gncv:\/\//,
      },
      {
        name: 'a negative settle time',
        options: { path: '/x', projectId: PROJECT, settleSeconds: -1 },
        field: 'settleSeconds',
        message: /0 or more; got -1/,
      },
      {
        name: 'metadata that is not JSON',
        options: { path: '/x', projectId: PROJECT, metadata: { n: 1n } },
        field: 'metadata',
        message: /not a JSON value/,
      },
    ];
    for (const { name, options, field, message } of bad) {
      it(`refuses ${name}, naming the option`, () => {
        const { service } = makeApp();

        let error: unknown;
        try {
          service.addFolder(options as never);
        } catch (err) {
          error = err;
        }

        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe(field);
        expect((error as Error).message).toMatch(message);
        expect(service.listFolders()).toEqual([]);
      });
    }

    it('returns the same folder for the same path and project, with the new settings', () => {
      const { service } = makeApp();
      const root = newRoot();

      const first = service.addFolder({ path: root, projectId: PROJECT });
      const again = service.addFolder({
        path: `${root}/`,
        projectId: PROJECT.toUpperCase(),
        settleSeconds: 5,
        metadata: { a: 1 },
      });
      const other = service.addFolder({ path: root, projectId: OTHER_PROJECT });

      expect(again.id).toBe(first.id);
      expect(again).toMatchObject({
        settleSeconds: 5,
        metadata: { a: 1 },
        projectId: PROJECT,
      });
      expect(other.id).not.toBe(first.id);
      expect(service.listFolders()).toHaveLength(2);
    });
  });

  describe('start()', () => {
    it('shows each run with what it waits for, and folders that are not runs', async () => {
      const { service } = makeApp();
      const root = newRoot();
      const waiting = copyRun(RUNS.nextseq2000, root);
      fs.rmSync(
        path.join(waiting, 'Analysis/1/Data/Secondary_Analysis_Complete.txt'),
      );
      const notRun = copyRun(
        RUNS.miseq,
        root,
        '240101_M00119_0100_000000000-ABCDE',
      );
      fs.rmSync(path.join(notRun, 'RunInfo.xml'));
      fs.mkdirSync(path.join(root, 'Reports'));
      const folder = service.addFolder({
        path: root,
        projectId: PROJECT,
        settleSeconds: 0.2,
      });

      await service.start();
      const runs = await waitFor('the runs to be looked at', () => {
        const list = service.getFolder(folder.id).runs;
        return list.length === 2 &&
          list.some((r) => r.missingMarkers.length > 0)
          ? list
          : undefined;
      });

      expect(service.getFolder(folder.id).status).toBe('watching');
      expect(runs.find((r) => r.runId === RUNS.nextseq2000)).toMatchObject({
        state: 'waiting-for-run',
        instrument: 'NextSeq 1000/2000',
        missingMarkers: ['Analysis/1/Data/Secondary_Analysis_Complete.txt'],
        isPresent: true,
        jobId: null,
      });
      expect(runs.find((r) => r.runId === null)).toMatchObject({
        state: 'not-a-run',
        name: '240101_M00119_0100_000000000-ABCDE',
      });
    });

    it('watches only the folders asked for', async () => {
      const { service } = makeApp();
      const watched = service.addFolder({
        path: newRoot(),
        projectId: PROJECT,
      });
      const other = service.addFolder({ path: newRoot(), projectId: PROJECT });

      await service.start({ folderIds: [watched.id] });

      expect(service.getFolder(watched.id).status).toBe('watching');
      expect(service.getFolder(other.id).status).toBe('stopped');
    });

    it('records the runs already there as ignored with ignoreExistingRuns, and watches new ones', async () => {
      const { service } = makeApp();
      const root = newRoot();
      copyRun(RUNS.iseq, root);
      const folder = service.addFolder({
        path: root,
        projectId: PROJECT,
        ignoreExistingRuns: true,
      });
      await service.start();
      const late = copyRunAs(
        RUNS.nextseq500,
        root,
        'late',
        'LATE_NB500892_0277_AHJYM2BGX7',
      );
      fs.rmSync(path.join(late, 'RTAComplete.txt'));

      const runs = await waitFor('the late run', () => {
        const list = service.getFolder(folder.id).runs;
        return list.some(
          (r) =>
            r.runId === 'LATE_NB500892_0277_AHJYM2BGX7' &&
            r.state === 'waiting-for-run',
        )
          ? list
          : undefined;
      });

      expect(runs.find((r) => r.runId === RUNS.iseq)).toMatchObject({
        state: 'ignored',
        message: expect.stringMatching(/when it was added/),
      });
      expect(
        runs.find((r) => r.runId === 'LATE_NB500892_0277_AHJYM2BGX7')
          ?.missingMarkers,
      ).toEqual(['RTAComplete.txt']);
    });
  });

  describe('ignoreRun() and retryRun()', () => {
    it('ignores a waiting run, keeps it ignored across a restart, and retries it', async () => {
      const first = makeApp();
      const root = newRoot();
      const dir = copyRun(RUNS.nextseq500, root);
      fs.rmSync(path.join(dir, 'RTAComplete.txt'));
      const folder = first.service.addFolder({
        path: root,
        projectId: PROJECT,
      });
      await first.service.start();
      await waitFor('the run', () =>
        first.service
          .getFolder(folder.id)
          .runs.find((r) => r.missingMarkers.length > 0),
      );

      first.service.ignoreRun(folder.id, RUNS.nextseq500);
      await first.close();
      const second = makeApp(first.dataDir);
      await second.service.start();
      const ignored = second.service.getFolder(folder.id).runs[0]!;
      const retried = second.service.retryRun(folder.id, RUNS.nextseq500);
      const waiting = await waitFor('the run to wait again', () =>
        second.service
          .getFolder(folder.id)
          .runs.find((r) => r.missingMarkers.length > 0),
      );

      expect(ignored).toMatchObject({
        state: 'ignored',
        message: 'Ignored by the user.',
      });
      expect(retried.state).toBe('waiting-for-run');
      expect(waiting.missingMarkers).toEqual(['RTAComplete.txt']);
    });

    it('refuses unknown ids and runs that cannot be retried', async () => {
      const { service } = makeApp();
      const root = newRoot();
      const dir = copyRun(RUNS.nextseq500, root);
      fs.rmSync(path.join(dir, 'RTAComplete.txt'));
      const folder = service.addFolder({ path: root, projectId: PROJECT });
      await service.start();
      await waitFor('the run', () => service.getFolder(folder.id).runs[0]);

      expect(() => service.ignoreRun('nope', RUNS.nextseq500)).toThrow(
        /There is no watch folder nope/,
      );
      expect(() => service.ignoreRun(folder.id, 'NO_SUCH_RUN')).toThrow(
        /has no run NO_SUCH_RUN/,
      );
      expect(() => service.retryRun(folder.id, RUNS.nextseq500)).toThrow(
        /is waiting-for-run; only a failed or ignored run can be retried/,
      );
    });
  });

  describe('pauseFolder() and removeFolder()', () => {
    it('does not look at new runs while paused', async () => {
      const { service } = makeApp();
      const root = newRoot();
      const folder = service.addFolder({ path: root, projectId: PROJECT });
      await service.start();

      const paused = await service.pauseFolder(folder.id);
      copyRun(RUNS.iseq, root);
      await new Promise((r) => setTimeout(r, 800));

      expect(paused.status).toBe('paused');
      expect(service.getFolder(folder.id).runs).toEqual([]);
      service.resumeFolder(folder.id);
      await waitFor(
        'the run after resuming',
        () => service.getFolder(folder.id).runs[0],
      );
    });

    it('never deletes anything on disk', async () => {
      const { service } = makeApp();
      const root = newRoot();
      copyRun(RUNS.miseq, root);
      const before = listTree(root);
      const folder = service.addFolder({ path: root, projectId: PROJECT });
      await service.start();
      await waitFor('the run', () => service.getFolder(folder.id).runs[0]);

      await service.removeFolder(folder.id);

      expect(listTree(root)).toEqual(before);
      expect(service.listFolders()).toEqual([]);
    });
  });

  describe('stop()', () => {
    it('leaves no timer behind', async () => {
      const clock = new ManualClock(Date.now());
      const { service } = makeApp(undefined, { clock });
      const root = newRoot();
      const dir = copyRun(RUNS.nextseq2000, root);
      fs.rmSync(path.join(dir, 'CopyComplete.txt'));
      const folder = service.addFolder({ path: root, projectId: PROJECT });
      service.onDidChange(() => {});
      await service.start();
      await waitFor('the run to be polled', () => {
        clock.advance(0);
        return service
          .getFolder(folder.id)
          .runs.find((r) => r.missingMarkers.length > 0);
      });
      expect(clock.pendingTimers).toBeGreaterThan(0);

      await service.stop();

      expect(clock.pendingTimers).toBe(0);
      expect(service.getFolder(folder.id).status).toBe('stopped');
    });
  });
});
