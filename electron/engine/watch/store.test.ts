/** The watch tables in a real journal file. */
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Journal } from '../journal/journal.ts';
import { WatchStore, emptyRunDetail } from './store.ts';
import type { WatchFolderRecord, WatchRunRecord } from './store.ts';
import { makeTempDir, removeDir } from './testing.ts';

let work: string;

beforeAll(async () => {
  work = await makeTempDir('store');
});

afterAll(async () => {
  await removeDir(work);
});

const PROJECT = '11111111-2222-3333-4444-555555555555';

function folder(overrides: Partial<WatchFolderRecord> = {}): WatchFolderRecord {
  return {
    id: 'f1',
    path: '/data/runs',
    projectId: PROJECT,
    destination: null,
    metadata: { lab: 'north' },
    isPolling: false,
    settleSeconds: 60,
    includeUndetermined: false,
    ignoreExistingRuns: false,
    isPaused: false,
    firstScanAt: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function run(overrides: Partial<WatchRunRecord> = {}): WatchRunRecord {
  return {
    folderId: 'f1',
    runId: 'RUN1',
    path: '/data/runs/RUN1',
    state: 'waiting-for-run',
    message: 'Waiting.',
    detail: emptyRunDetail(),
    jobId: null,
    assigned: [],
    firstSeenAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('WatchStore', () => {
  it('keeps folders and runs across a reopen of the journal file', () => {
    const file = path.join(work, 'reopen.db');
    const journal = Journal.open(file);
    const store = new WatchStore(journal);
    store.addFolder(folder());
    store.putRun(
      run({
        state: 'assigned',
        jobId: 'job-1',
        assigned: [{ clientId: 'A', sampleId: 's-1' }],
      }),
    );
    journal.close();

    const again = Journal.open(file);
    const reopened = new WatchStore(again);

    expect(reopened.listFolders()).toEqual([folder()]);
    expect(reopened.listRuns('f1')).toEqual([
      run({
        state: 'assigned',
        jobId: 'job-1',
        assigned: [{ clientId: 'A', sampleId: 's-1' }],
      }),
    ]);
    again.close();
  });

  it('keeps one row per (folder, Run Id): a second put updates it', () => {
    const journal = Journal.open(path.join(work, 'one-row.db'));
    const store = new WatchStore(journal);
    store.addFolder(folder());

    store.putRun(run());
    store.putRun(
      run({
        path: '/data/runs/RUN1-copy',
        state: 'settling',
        message: 'Settling.',
      }),
    );

    expect(store.listRuns('f1')).toHaveLength(1);
    expect(store.getRun('f1', 'RUN1')).toMatchObject({
      path: '/data/runs/RUN1-copy',
      state: 'settling',
    });
    journal.close();
  });

  it('keeps a stored plan when later puts do not pass one', () => {
    const journal = Journal.open(path.join(work, 'plan.db'));
    const store = new WatchStore(journal);
    store.addFolder(folder());
    const plan = {
      roots: ['/x'],
      destination: 'gncv://p/r/',
      samples: [],
      problems: [],
      ignored: [],
      totalBytes: 0,
      createdAt: 'now',
    };

    store.putRun(run({ state: 'planned' }), plan);
    store.putRun(run({ state: 'uploading', jobId: 'job-2' }));

    expect(store.getPlan('f1', 'RUN1')).toEqual(plan);
    journal.close();
  });

  it('does not let a writer that has not seen the job make the row forget it', () => {
    const journal = Journal.open(path.join(work, 'guard.db'));
    const store = new WatchStore(journal);
    store.addFolder(folder());
    store.putRun(run({ state: 'uploading', jobId: 'job-1' }));

    const isStaleWritten = store.putRun(run({ state: 'planned' }));
    const isOwnerWritten = store.putRun(
      run({ state: 'assigned', jobId: 'job-1' }),
    );

    expect(isStaleWritten).toBe(false);
    expect(isOwnerWritten).toBe(true);
    expect(store.getRun('f1', 'RUN1')).toMatchObject({
      state: 'assigned',
      jobId: 'job-1',
    });
    journal.close();
  });

  it('finds a run delivered to the same project from another folder, removed folders included', () => {
    const journal = Journal.open(path.join(work, 'elsewhere.db'));
    const store = new WatchStore(journal);
    store.addFolder(folder());
    store.addFolder(folder({ id: 'f2', path: '/mnt/share' }));
    store.addFolder(
      folder({
        id: 'f3',
        path: '/other',
        projectId: '99999999-2222-3333-4444-555555555555',
      }),
    );
    store.putRun(run({ state: 'assigned', jobId: 'job-1' }));
    store.removeFolder('f1', '2026-02-01T00:00:00.000Z');

    expect(store.findDeliveredElsewhere('RUN1', PROJECT, 'f2')).toMatchObject({
      folderPath: '/data/runs',
      run: { jobId: 'job-1' },
    });
    expect(
      store.findDeliveredElsewhere(
        'RUN1',
        '99999999-2222-3333-4444-555555555555',
        'f3',
      ),
    ).toBeUndefined();
    expect(store.findDeliveredElsewhere('RUN2', PROJECT, 'f2')).toBeUndefined();
    expect(store.listFolders().map((f) => f.id)).toEqual(['f2', 'f3']);
    journal.close();
  });
});
