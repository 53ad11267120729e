/**
 * File stability: has every FASTQ of a run stopped changing?
 *
 * The rule, so that callers and reviewers can rely on it: a file is
 * settled when
 *
 * 1. its size and modification time are the same in two observations at
 *    least `minGapMs` apart (so a single look never settles anything), and
 * 2. it has been quiet for `settleMs`. Quiet time starts at the file's
 *    modification time when it is first seen (never later than now, so a
 *    clock ahead of ours does not delay it forever), and at the
 *    observation that saw it change afterwards (the modification time
 *    then counts only when it falls between that observation and the one
 *    before).
 *
 * The tracker only keeps numbers; reading the disk is `listRunFastqs`.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import {
  classifyNonFastqName,
  parseFastqName,
  splitFastqExtension,
} from '../scan/names.ts';

/** One look at a file. */
export interface FileObservation {
  /** Key of the file (the run-relative path). */
  path: string;
  size: number;
  mtimeMs: number;
}

/** A file that is not settled yet. */
export interface UnsettledFile {
  path: string;
  reason: string;
  /** When it settles if it does not change again (ms since the epoch). */
  readyAt: number;
}

/** What one round of observations says. */
export interface StabilityVerdict {
  settled: FileObservation[];
  unsettled: UnsettledFile[];
}

/** Timing of the stability rule. */
export interface StabilityTiming {
  settleMs: number;
  minGapMs: number;
}

interface Tracked {
  size: number;
  mtimeMs: number;
  /** When this size and mtime were first seen. */
  versionSeenAt: number;
  /** Start of the current quiet period. */
  quietSince: number;
  lastSeenAt: number;
}

/**
 * FileStabilityTracker remembers the files of one run between rounds of
 * observations and applies the rule of this module.
 */
export class FileStabilityTracker {
  readonly #files = new Map<string, Tracked>();

  /**
   * observe records one round (all current files of the run; files not
   * listed are forgotten) taken at `now`, and returns which files are
   * settled.
   */
  observe(
    files: readonly FileObservation[],
    now: number,
    timing: StabilityTiming,
  ): StabilityVerdict {
    const seen = new Set<string>();
    const verdict: StabilityVerdict = { settled: [], unsettled: [] };
    for (const file of files) {
      seen.add(file.path);
      const before = this.#files.get(file.path);
      let tracked: Tracked;
      let reason: string;
      if (before === undefined) {
        tracked = {
          size: file.size,
          mtimeMs: file.mtimeMs,
          versionSeenAt: now,
          quietSince: Math.min(now, file.mtimeMs),
          lastSeenAt: now,
        };
        reason = 'seen once; checking that it no longer changes';
      } else if (before.size !== file.size || before.mtimeMs !== file.mtimeMs) {
        tracked = {
          size: file.size,
          mtimeMs: file.mtimeMs,
          versionSeenAt: now,
          quietSince: Math.min(now, Math.max(before.lastSeenAt, file.mtimeMs)),
          lastSeenAt: now,
        };
        reason =
          before.size !== file.size
            ? `still being written (size ${before.size} -> ${file.size} bytes)`
            : 'still being written (modified again)';
      } else {
        tracked = { ...before, lastSeenAt: now };
        reason =
          now < tracked.quietSince + timing.settleMs
            ? `unchanged for less than the settle time (${formatSeconds(timing.settleMs)})`
            : 'checking once more that it no longer changes';
      }
      this.#files.set(file.path, tracked);

      const readyAt = Math.max(
        tracked.quietSince + timing.settleMs,
        tracked.versionSeenAt + timing.minGapMs,
      );
      if (
        now >= readyAt &&
        before !== undefined &&
        tracked.versionSeenAt !== now
      ) {
        verdict.settled.push(file);
      } else {
        verdict.unsettled.push({ path: file.path, reason, readyAt });
      }
    }
    for (const key of [...this.#files.keys()]) {
      if (!seen.has(key)) this.#files.delete(key);
    }
    return verdict;
  }

  /** reset forgets every file (the next round starts afresh). */
  reset(): void {
    this.#files.clear();
  }
}

/** A FASTQ of a run on disk. */
export interface RunFastq extends FileObservation {
  /** Absolute path. */
  absolutePath: string;
}

/** The FASTQs of a run, and names that show a copy still in progress. */
export interface RunFastqListing {
  files: RunFastq[];
  /** Run-relative paths of temporary files of copies in progress. */
  inProgress: string[];
  /** Folders that could not be read, with the reason. */
  unreadable: { path: string; reason: string }[];
}

/**
 * listRunFastqs lists the FASTQs (accepted names only) in `dirs`, the
 * folders `describeRunFolder` chose, with their size and modification time.
 * Undetermined files are left out unless `includeUndetermined`. Temporary
 * names of copies in progress (`x.fastq.gz.part`, rsync's hidden
 * `.x.fastq.gz.AbC123`) are listed in `inProgress`. Never throws.
 */
export async function listRunFastqs(
  runDir: string,
  dirs: readonly string[],
  includeUndetermined: boolean,
): Promise<RunFastqListing> {
  const listing: RunFastqListing = {
    files: [],
    inProgress: [],
    unreadable: [],
  };
  for (const dir of dirs) {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      listing.unreadable.push({
        path: relativeOf(runDir, dir),
        reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      });
      continue;
    }
    for (const entry of entries) {
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const absolutePath = path.join(dir, entry.name);
      const relative = relativeOf(runDir, absolutePath);
      if (isCopyInProgress(entry.name)) {
        listing.inProgress.push(relative);
        continue;
      }
      if (
        entry.name.startsWith('.') ||
        splitFastqExtension(entry.name) === null
      )
        continue;
      const parsed = parseFastqName(entry.name);
      if (!('error' in parsed) && parsed.isUndetermined && !includeUndetermined)
        continue;
      try {
        const info = await stat(absolutePath);
        if (!info.isFile()) continue;
        listing.files.push({
          path: relative,
          absolutePath,
          size: info.size,
          mtimeMs: info.mtimeMs,
        });
      } catch {
        // Gone between the listing and the stat: the next round sees it.
      }
    }
  }
  listing.files.sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  listing.inProgress.sort();
  return listing;
}

/** True for temporary names that copy tools give a FASTQ while writing it. */
export function isCopyInProgress(name: string): boolean {
  if (name.startsWith('.')) {
    // rsync writes `.name.XXXXXX` next to the final name.
    return /\.(?:fastq|fq)\.b?gz\.[A-Za-z0-9]{6}$/i.test(name);
  }
  return classifyNonFastqName(name).kind === 'in-progress';
}

function relativeOf(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`;
}
