/**
 * The settings of a watch folder as the user gives them, checked; and
 * whether the folder can be watched right now.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { normalizeUuid } from '../api/client.ts';
import { ValidationError, toUserMessage } from '../errors.ts';
import { normaliseDestination } from '../scan/plan.ts';
import type { WatchFolderRecord } from './store.ts';

/** What `WatchService.addFolder` takes. */
export interface AddWatchFolderOptions {
  /** The folder the instrument writes run folders into (need not exist yet). */
  path: string;
  projectId: string;
  /** Base `gncv://` folder; each run goes to `<destination><run folder>/`. Default `gncv://<project name>/`. */
  destination?: string | null;
  /** JSON metadata attached to every assigned sample. */
  metadata?: unknown;
  /** Stat-based polling instead of file-system events (network shares). */
  polling?: boolean;
  /** How long FASTQs must stay unchanged, seconds (default 60). */
  settleSeconds?: number;
  /** Upload Undetermined reads as a sample (default false). */
  includeUndetermined?: boolean;
  /**
   * Record the runs already in the folder when it is first scanned as
   * 'ignored' instead of uploading them (for a folder full of old runs).
   */
  ignoreExistingRuns?: boolean;
}

/** The stored settings that `checkFolderOptions` gives. */
export type FolderSettings = Omit<
  WatchFolderRecord,
  'id' | 'isPaused' | 'firstScanAt' | 'createdAt'
>;

/** Why a folder cannot be watched now. */
export interface FolderAccessProblem {
  status: 'missing' | 'unreadable';
  message: string;
}

/**
 * checkFolderOptions returns the settings to store for `options`: the path
 * made absolute, the project id normalised, the destination normalised
 * (null for the default), the metadata copied as JSON. Throws a
 * ValidationError naming the option that is wrong.
 */
export function checkFolderOptions(
  options: AddWatchFolderOptions,
  defaultSettleSeconds: number,
): FolderSettings {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError('options', 'addFolder needs an options object.');
  }
  if (typeof options.path !== 'string' || options.path.trim() === '') {
    throw new ValidationError('path', 'A watch folder needs a folder path.');
  }
  const projectId = normalizeUuid(options.projectId, 'project id');
  const destination =
    options.destination === undefined ||
    options.destination === null ||
    options.destination === ''
      ? null
      : normaliseDestination(options.destination);
  const settleSeconds = options.settleSeconds ?? defaultSettleSeconds;
  if (
    typeof settleSeconds !== 'number' ||
    !Number.isFinite(settleSeconds) ||
    settleSeconds < 0
  ) {
    throw new ValidationError(
      'settleSeconds',
      `The settle time must be a number of seconds, 0 or more; got ${String(options.settleSeconds)}.`,
    );
  }
  let metadata: unknown = null;
  if (options.metadata !== undefined && options.metadata !== null) {
    try {
      const text = JSON.stringify(options.metadata);
      if (text === undefined) throw new Error('not a JSON value');
      metadata = JSON.parse(text) as unknown;
    } catch (err) {
      throw new ValidationError(
        'metadata',
        `The metadata is not a JSON value: ${toUserMessage(err)}`,
      );
    }
  }
  return {
    path: path.resolve(options.path.trim()),
    projectId,
    destination,
    metadata,
    isPolling: options.polling === true,
    settleSeconds,
    includeUndetermined: options.includeUndetermined === true,
    ignoreExistingRuns: options.ignoreExistingRuns === true,
  };
}

/**
 * checkFolderAccess says why `folder` cannot be watched now (it does not
 * exist, is not a folder, or cannot be listed), or null when it can.
 */
export async function checkFolderAccess(
  folder: string,
): Promise<FolderAccessProblem | null> {
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) {
      return { status: 'unreadable', message: `${folder} is not a folder.` };
    }
    await readdir(folder);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return {
        status: 'missing',
        message: `${folder} does not exist (not created yet, or a share that is not mounted).`,
      };
    }
    return {
      status: 'unreadable',
      message: `${folder} cannot be read (${code}).`,
    };
  }
}

/**
 * listChildren returns the child folders of `folder` (links included,
 * hidden ones left out), sorted, or null when it cannot be listed.
 */
export async function listChildren(folder: string): Promise<string[] | null> {
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries
      .filter(
        (e) =>
          !e.name.startsWith('.') && (e.isDirectory() || e.isSymbolicLink()),
      )
      .map((e) => path.join(folder, e.name))
      .sort();
  } catch {
    return null;
  }
}
