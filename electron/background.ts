/**
 * What the desktop app does when its last window closes: work that runs
 * without a window (folders being watched, transfers still moving) keeps
 * the app running in the system tray on Windows and Linux, where closing
 * the last window would otherwise quit. macOS apps stay in the dock
 * anyway. Pure functions, so that main.ts only wires them to Electron.
 */
import type {
  TransferSnapshot,
  WatchFolderView,
} from '../shared/domain.ts';

/** The work that goes on without a window. */
export interface BackgroundWork {
  /** Watch folders not paused by the user (missing ones are retried). */
  watchedFolders: number;
  /** Transfers queued, running, retrying or paused. */
  activeTransfers: number;
}

/** What closing the last window leads to. */
export type AfterLastWindow = 'quit' | 'tray' | 'stay';

/**
 * backgroundWorkOf counts the work of `folders` and `transfers` that goes
 * on without a window. A paused transfer counts: it is the user's to
 * resume, and quitting would leave it for the next start anyway, but the
 * tray keeps it in view.
 */
export function backgroundWorkOf(
  folders: readonly WatchFolderView[],
  transfers: readonly TransferSnapshot[],
): BackgroundWork {
  return {
    watchedFolders: folders.filter((f) => f.status !== 'paused').length,
    activeTransfers: transfers.filter(
      (t) =>
        t.state === 'queued' ||
        t.state === 'running' ||
        t.state === 'retrying' ||
        t.state === 'paused',
    ).length,
  };
}

/**
 * afterLastWindowClosed: on macOS the app stays (as macOS apps do); else
 * it goes to the tray while there is background work, and quits when
 * there is none.
 */
export function afterLastWindowClosed(
  platform: NodeJS.Platform,
  work: BackgroundWork,
): AfterLastWindow {
  if (platform === 'darwin') {
    return 'stay';
  }
  return work.watchedFolders > 0 || work.activeTransfers > 0 ? 'tray' : 'quit';
}

/**
 * trayStatus says in a few words what goes on, for the tray's tooltip and
 * the first line of its menu: "Watching 2 folders, 1 transfer".
 */
export function trayStatus(work: BackgroundWork): string {
  const parts: string[] = [];
  if (work.watchedFolders > 0) {
    parts.push(
      `Watching ${work.watchedFolders} folder${work.watchedFolders === 1 ? '' : 's'}`,
    );
  }
  if (work.activeTransfers > 0) {
    parts.push(
      `${work.activeTransfers} transfer${work.activeTransfers === 1 ? '' : 's'}`,
    );
  }
  return parts.length > 0 ? parts.join(', ') : 'Nothing to do';
}
