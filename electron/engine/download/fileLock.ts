/**
 * One writer per downloaded file, across jobs and processes.
 *
 * Two downloads of the same project into the same folder (the app and the
 * command line, or the command line twice) would otherwise write the same
 * `.part` at once, and the second rename would find it gone. Before it
 * touches a file's `.part`, a transfer takes `<file>.lock`: created
 * exclusively, holding the owner's pid, and touched every few seconds
 * while held. A lock whose process is gone, or that was not touched for
 * LOCK_STALE_MS (a process that hangs, or a pid used again after a crash),
 * is taken over. Whoever waits takes the lock once it is released and then
 * finds the file finished (skip-existing) or continues its `.part`.
 */
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';

import { CancelledError } from '../errors.ts';

/** How often a held lock is touched, in ms. */
export const LOCK_TOUCH_MS = 5_000;

/** A lock not touched for this long is taken over, in ms. */
export const LOCK_STALE_MS = 30_000;

/** How often a waiter looks at a held lock again, in ms. */
const RETRY_MS = 200;

/** A held lock; `release` is idempotent. */
export interface FileLock {
  release(): Promise<void>;
}

/**
 * lockFile takes `<file>.lock`, waiting while another live writer holds it
 * (`onWait` is called once when waiting starts). Rejects with
 * CancelledError when `signal` aborts, and with the file system's error
 * when the lock cannot be created (an unwritable folder, say).
 */
export async function lockFile(
  file: string,
  signal: AbortSignal,
  onWait?: (ownerPid: number | null) => void,
): Promise<FileLock> {
  const lockPath = `${file}.lock`;
  let hasWaited = false;
  for (;;) {
    if (signal.aborted) {
      throw new CancelledError('Cancelled.', { cause: signal.reason });
    }
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return held(lockPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await ownerOf(lockPath);
    if (owner === undefined) {
      continue; // Released meanwhile.
    }
    if (owner.isStale) {
      // Whoever unlinks a stale lock first wins the next exclusive create.
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (!hasWaited) {
      hasWaited = true;
      onWait?.(owner.pid);
    }
    await sleep(RETRY_MS, signal);
  }
}

function held(lockPath: string): FileLock {
  const touch = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, LOCK_TOUCH_MS);
  touch.unref();
  let released: Promise<void> | null = null;
  return {
    release() {
      released ??= (async () => {
        clearInterval(touch);
        await unlink(lockPath).catch(() => undefined);
      })();
      return released;
    },
  };
}

/** The lock's owner, or undefined when the lock is gone. */
async function ownerOf(
  lockPath: string,
): Promise<{ pid: number | null; isStale: boolean } | undefined> {
  let text: string;
  let touchedAt: number;
  try {
    [text, touchedAt] = await Promise.all([
      readFile(lockPath, 'utf8'),
      stat(lockPath).then((info) => info.mtimeMs),
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
  const isOld = Date.now() - touchedAt > LOCK_STALE_MS;
  // An empty lock may be one being written right now: only age makes it
  // stale.
  return { pid, isStale: isOld || (pid !== null && !isAlive(pid)) };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError('Cancelled.', { cause: signal.reason }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
