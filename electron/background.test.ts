import { describe, expect, it } from 'vitest';

import type {
  JobState,
  TransferSnapshot,
  WatchFolderStatus,
  WatchFolderView,
} from '../shared/domain.ts';
import {
  afterLastWindowClosed,
  backgroundWorkOf,
  trayStatus,
} from './background.ts';
import {
  makeSnapshot,
  makeWatchFolder,
} from '../renderer/src/test/factories.ts';

function folder(status: WatchFolderStatus): WatchFolderView {
  return makeWatchFolder({ id: `f-${status}`, path: `/data/${status}`, status });
}

function transfer(state: JobState): TransferSnapshot {
  return makeSnapshot({ id: `t-${state}`, title: state, state });
}

describe('backgroundWorkOf()', () => {
  it('counts folders not paused and transfers not finished', () => {
    const work = backgroundWorkOf(
      [
        folder('watching'),
        folder('missing'),
        folder('unreadable'),
        folder('paused'),
      ],
      (
        [
          'queued',
          'running',
          'retrying',
          'paused',
          'done',
          'failed',
          'cancelled',
        ] as const
      ).map(transfer),
    );

    expect(work).toEqual({ watchedFolders: 3, activeTransfers: 4 });
  });
});

describe('afterLastWindowClosed()', () => {
  const none = { watchedFolders: 0, activeTransfers: 0 };
  const cases = [
    { platform: 'linux', work: none, want: 'quit' },
    { platform: 'win32', work: none, want: 'quit' },
    { platform: 'linux', work: { ...none, watchedFolders: 1 }, want: 'tray' },
    { platform: 'win32', work: { ...none, activeTransfers: 2 }, want: 'tray' },
    { platform: 'darwin', work: none, want: 'stay' },
    { platform: 'darwin', work: { ...none, watchedFolders: 1 }, want: 'stay' },
  ] as const;
  for (const c of cases) {
    it(`${c.platform} with ${JSON.stringify(c.work)} -> ${c.want}`, () => {
      expect(afterLastWindowClosed(c.platform, c.work)).toBe(c.want);
    });
  }
});

describe('trayStatus()', () => {
  it.each([
    [{ watchedFolders: 0, activeTransfers: 0 }, 'Nothing to do'],
    [{ watchedFolders: 1, activeTransfers: 0 }, 'Watching 1 folder'],
    [{ watchedFolders: 2, activeTransfers: 1 }, 'Watching 2 folders, 1 transfer'],
    [{ watchedFolders: 0, activeTransfers: 3 }, '3 transfers'],
  ])('%j -> %s', (work, want) => {
    expect(trayStatus(work)).toBe(want);
  });
});
