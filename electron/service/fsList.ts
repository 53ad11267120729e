/**
 * Directory listing for serve mode's folder browser (a browser cannot reveal
 * the path of a dropped folder, so the user picks folders from this list).
 */
import fs from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { DirEntry, DirListing } from '../../shared/contract.ts';
import { ServiceError } from './serviceError.ts';

/** Stat calls in flight at once while listing one folder. */
const STAT_CONCURRENCY = 32;

const collator = new Intl.Collator(undefined, {
  numeric: true,
  sensitivity: 'base',
});

/**
 * listDirectory lists `dirPath` (the user's home folder when absent): dirs
 * first, then files, each group in natural, case-insensitive name order;
 * hidden entries (names starting with '.') are left out. Every path is
 * absolute. Symbolic links are listed as what they point to; broken ones
 * are left out. Throws a ServiceError with code 'validation' naming the
 * path when it is relative, missing, not a folder or not readable.
 */
export async function listDirectory(dirPath?: string): Promise<DirListing> {
  const target = dirPath === undefined ? os.homedir() : dirPath;
  if (!path.isAbsolute(target)) {
    throw new ServiceError(
      'validation',
      `Cannot list "${target}": the path must be absolute.`,
    );
  }
  const dir = path.resolve(target);

  let dirents: Dirent[];
  try {
    dirents = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw listingError(dir, err);
  }

  const visible = dirents.filter((d) => !d.name.startsWith('.'));
  const entries: DirEntry[] = [];
  for (let i = 0; i < visible.length; i += STAT_CONCURRENCY) {
    const batch = visible.slice(i, i + STAT_CONCURRENCY);
    const described = await Promise.all(
      batch.map((d) => describeEntry(dir, d)),
    );
    for (const entry of described) if (entry) entries.push(entry);
  }
  entries.sort(compareEntries);

  const parent = path.dirname(dir);
  return { path: dir, parent: parent === dir ? null : parent, entries };
}

async function describeEntry(
  dir: string,
  dirent: Dirent,
): Promise<DirEntry | null> {
  const entryPath = path.join(dir, dirent.name);
  if (dirent.isDirectory()) {
    return { name: dirent.name, path: entryPath, kind: 'dir', size: null };
  }
  try {
    // stat (not lstat): a link is shown as what it points to.
    const stat = await fs.stat(entryPath);
    if (stat.isDirectory()) {
      return { name: dirent.name, path: entryPath, kind: 'dir', size: null };
    }
    return {
      name: dirent.name,
      path: entryPath,
      kind: 'file',
      size: stat.isFile() ? stat.size : null,
    };
  } catch {
    // Broken link, or removed while listing.
    return null;
  }
}

function compareEntries(a: DirEntry, b: DirEntry): number {
  if (a.kind !== b.kind) return a.kind === 'dir' ? -1 : 1;
  const byName = collator.compare(a.name, b.name);
  if (byName !== 0) return byName;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function listingError(dir: string, err: unknown): ServiceError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return new ServiceError('validation', `Folder not found: ${dir}`);
    case 'ENOTDIR':
      return new ServiceError('validation', `Not a folder: ${dir}`);
    case 'EACCES':
    case 'EPERM':
      return new ServiceError(
        'validation',
        `Permission denied: cannot read the folder ${dir}`,
      );
    default:
      return new ServiceError(
        'validation',
        `Cannot read the folder ${dir}${code ? ` (${code})` : ''}.`,
      );
  }
}
