/**
 * Walking the dropped paths for the planner: which files are looked at, in
 * which order, and which are set aside before their names are read.
 *
 * Folders are walked recursively in sorted order. Symbolic links to folders
 * are not followed (listed as ignored); links to files are used. Hidden
 * folders are skipped and hidden files are ignored (macOS `._name` files on
 * exFAT drives look like FASTQs but are not). A path that is an Illumina run
 * folder is not walked: only the FASTQ folders of its layout are read (see
 * runFolder.ts) and its sample sheet is kept with each file. A file reached
 * twice (overlapping paths) is used once.
 */

import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';

import type { PlanProblem } from '../../../shared/domain.ts';
import { classifyNonFastqName, parseFastqName } from './names.ts';
import { describeRunFolder } from './runFolder.ts';
import type { SampleSheet } from './sampleSheet.ts';

/** A file found while walking, before it is given to a sample. */
export interface Found {
  path: string;
  relativePath: string;
  name: string;
  dir: string;
  size: number;
  /** '' for loose files, the run id for files of a run folder. */
  group: string;
  sheet: SampleSheet | null;
  sheetFile: string | null;
}

/** What a walk found, and what it set aside; filled in by {@link walkRoot}. */
export interface Walk {
  roots: string[];
  found: Found[];
  problems: PlanProblem[];
  ignored: { path: string; reason: string }[];
  seen: Set<string>;
  filesSeen: number;
  /** A sentence describing each run folder, by run id. */
  runs: Map<string, string>;
}

/** newWalk returns an empty walk for {@link walkRoot} to fill. */
export function newWalk(): Walk {
  return {
    roots: [],
    found: [],
    problems: [],
    ignored: [],
    seen: new Set(),
    filesSeen: 0,
    runs: new Map(),
  };
}

export function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join('/');
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * walkRoot adds one dropped path (file or folder) to the walk. It records
 * problems instead of throwing, except that it rejects with the signal's
 * reason when aborted; `onFile` is called for every file looked at.
 */
export async function walkRoot(
  walk: Walk,
  input: string,
  signal: AbortSignal | undefined,
  onFile: () => void,
): Promise<void> {
  const root = resolve(input);
  walk.roots.push(root);
  let info: Stats;
  try {
    info = await stat(root);
  } catch (err) {
    walk.problems.push({
      code: 'unreadable',
      severity: 'error',
      path: root,
      message: `${root} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
    });
    return;
  }

  if (info.isFile()) {
    addFile(
      walk,
      {
        path: root,
        relativePath: basename(root),
        name: basename(root),
        dir: dirname(root),
        size: info.size,
        group: '',
        sheet: null,
        sheetFile: null,
      },
      true,
    );
    onFile();
    return;
  }
  if (!info.isDirectory()) {
    walk.ignored.push({ path: root, reason: 'not a file or folder' });
    return;
  }

  const run = await describeRunFolder(root);
  signal?.throwIfAborted();
  if (!run.isRunFolder) {
    await walkDir(walk, root, root, signal, onFile);
    return;
  }

  const runId = run.runId ?? basename(root);
  if (run.sampleSheetError !== null) {
    walk.problems.push({
      code: 'unreadable',
      severity: 'warning',
      path: run.sampleSheetPath ?? undefined,
      message: `Run ${runId}: the sample sheet cannot be used (${run.sampleSheetError}); sample names come from the file names.`,
    });
  }
  if (run.fastqDirs.length === 0) {
    walk.problems.push({
      code: 'no-fastq',
      severity: 'error',
      path: root,
      message: `Run ${runId} (${run.instrument ?? 'unknown instrument'}) has no FASTQ files in any known layout (Data/Intensities/BaseCalls, Analysis/<n>/Data/fastq, Alignment_<n>/<time>/Fastq).`,
    });
    return;
  }
  const sheetFile =
    run.sampleSheetPath === null
      ? null
      : posixRelative(root, run.sampleSheetPath);
  const from = posixRelative(root, run.fastqRoot ?? root) || '.';
  const notes = run.notes.length === 0 ? '' : ` (${run.notes.join('; ')})`;
  walk.runs.set(
    runId,
    `Run ${runId}, ${run.instrument ?? 'unknown instrument'}, FASTQs from ${from}${notes}.`,
  );
  for (const dir of run.fastqDirs) {
    for (const entry of await listDir(walk, dir)) {
      signal?.throwIfAborted();
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      await addEntry(walk, root, dir, entry, runId, run.sampleSheet, sheetFile);
      onFile();
    }
  }
}

async function listDir(walk: Walk, dir: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) => compareNames(a.name, b.name));
  } catch (err) {
    walk.problems.push({
      code: 'unreadable',
      severity: 'error',
      path: dir,
      message: `The folder ${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
    });
    return [];
  }
}

async function walkDir(
  walk: Walk,
  root: string,
  dir: string,
  signal: AbortSignal | undefined,
  onFile: () => void,
): Promise<void> {
  for (const entry of await listDir(walk, dir)) {
    signal?.throwIfAborted();
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.'))
        await walkDir(walk, root, path, signal, onFile);
      continue;
    }
    if (entry.isFile() || entry.isSymbolicLink()) {
      await addEntry(walk, root, dir, entry, '', null, null);
      onFile();
    }
  }
}

async function addEntry(
  walk: Walk,
  root: string,
  dir: string,
  entry: Dirent,
  group: string,
  sheet: SampleSheet | null,
  sheetFile: string | null,
): Promise<void> {
  const path = join(dir, entry.name);
  let size = 0;
  try {
    const info = entry.isSymbolicLink() ? await stat(path) : await lstat(path);
    if (info.isDirectory()) {
      walk.ignored.push({
        path,
        reason: 'symbolic link to a folder: not followed',
      });
      return;
    }
    if (!info.isFile()) return;
    size = info.size;
  } catch (err) {
    // A broken link or a vanished file only matters when it looks like data.
    if (classifyNonFastqName(entry.name).kind === 'unrelated') return;
    walk.problems.push({
      code: 'unreadable',
      severity: 'error',
      path,
      message: `${posixRelative(root, path)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
    });
    return;
  }
  addFile(
    walk,
    {
      path,
      relativePath: posixRelative(root, path),
      name: entry.name,
      dir,
      size,
      group,
      sheet,
      sheetFile,
    },
    false,
  );
}

function addFile(walk: Walk, found: Found, isExplicit: boolean): void {
  walk.filesSeen++;
  if (walk.seen.has(found.path)) return;
  walk.seen.add(found.path);

  if (found.name.startsWith('.')) {
    const parsed = parseFastqName(found.name.replace(/^\.+(_)?/, ''));
    if (isExplicit || !('error' in parsed) || parsed.kind !== 'unrelated') {
      walk.ignored.push({
        path: found.path,
        reason: 'hidden file (for example macOS ._ metadata): skipped',
      });
    }
    return;
  }
  walk.found.push(found);
}
