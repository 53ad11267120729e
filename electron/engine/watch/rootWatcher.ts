/**
 * RootWatcher watches one watch folder's top level with chokidar: run
 * folders appear there as direct children. It watches depth 0 only (one
 * OS watch for the folder, whatever the size of the run trees below), with
 * stat-based polling for network shares. Everything inside a run folder is
 * looked at by periodic stats of the few files that matter (markers and
 * FASTQs), never by recursive watches.
 */
import path from 'node:path';

import chokidar from 'chokidar';
import type { FSWatcher } from 'chokidar';

import { toUserMessage } from '../errors.ts';

/** What a RootWatcher watches and whom it tells. */
export interface RootWatcherParams {
  /** The watch folder (absolute). */
  root: string;
  isPolling: boolean;
  /** Poll interval of the polling backend, ms. */
  pollingIntervalMs: number;
  /** A direct child appeared, changed or went away (folders and files). */
  onChild: (childPath: string) => void;
  /** The folder itself went away, or the backend reported an error. */
  onTrouble: (reason: string) => void;
}

/**
 * RootWatcher reports changes among the direct children of one folder
 * (see the module comment). Create one per opening of a watch folder;
 * `close()` ends it for good.
 */
export class RootWatcher {
  readonly #params: RootWatcherParams;
  #watcher: FSWatcher | null = null;

  constructor(params: RootWatcherParams) {
    this.#params = params;
  }

  /**
   * start begins watching and resolves once chokidar has read the folder
   * (entries already there are not reported: the caller scans them).
   */
  start(): Promise<void> {
    const { root, isPolling, pollingIntervalMs, onChild, onTrouble } =
      this.#params;
    const watcher = chokidar.watch(root, {
      depth: 0,
      ignoreInitial: true,
      persistent: true,
      followSymlinks: true,
      backend: isPolling ? 'polling' : 'native',
      pollingInterval: pollingIntervalMs,
      pollingBinaryInterval: pollingIntervalMs,
      // Hidden entries (.DS_Store, rsync temporaries) are never runs.
      ignored: (p: string) => p !== root && path.basename(p).startsWith('.'),
    });
    this.#watcher = watcher;
    watcher.on('all', (event, changed) => {
      const resolved = path.resolve(changed);
      if (resolved === root) {
        if (event === 'unlinkDir' || event === 'unlink')
          onTrouble('the folder was removed');
        return;
      }
      if (path.dirname(resolved) === root) onChild(resolved);
    });
    watcher.on('error', (err) => onTrouble(toUserMessage(err)));
    // An error before 'ready' is reported through onTrouble; start ends.
    return new Promise((resolve) => {
      watcher.once('ready', () => resolve());
      watcher.once('error', () => resolve());
    });
  }

  /** close stops watching; safe to call more than once. */
  async close(): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = null;
    await watcher?.close();
  }
}
