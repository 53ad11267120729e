/**
 * Which run a folder holds: the Run Id of its RunInfo.xml. The Run Id, not
 * the folder's name or path, is what makes a run the same run when it is
 * copied in again under another name.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** What `readRunIdentity` found in a folder. */
export type RunIdentity =
  | { kind: 'run'; runId: string }
  /** Looks like a run folder, but no usable RunInfo.xml: shown, never uploaded. */
  | { kind: 'not-a-run'; reason: string }
  /** Not a run folder at all (ignored silently). */
  | { kind: 'unrelated' };

/** Run folder names: `<date>_<instrument>_<run number>_<flow cell>`. */
const RUN_FOLDER_NAME = /^\d{6}(?:\d{2})?_[A-Za-z0-9-]+_\d+_[A-Za-z0-9-]+$/;

/** Entries (lower case) that only run folders have. */
const RUN_ENTRIES = new Set([
  'rtacomplete.txt',
  'copycomplete.txt',
  'runparameters.xml',
  'runcompletionstatus.xml',
  'samplesheet.csv',
  'interop',
  'completedjobinfo.xml',
]);

/**
 * readRunIdentity reads `dir`'s RunInfo.xml (any case) for its Run Id.
 * Never throws: an unreadable folder is 'not-a-run' with the reason when
 * its name looks like a run's, else 'unrelated'.
 */
export async function readRunIdentity(dir: string): Promise<RunIdentity> {
  const name = path.basename(dir);
  const isRunName = RUN_FOLDER_NAME.test(name);
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return isRunName
      ? { kind: 'not-a-run', reason: `The folder cannot be read (${code}).` }
      : { kind: 'unrelated' };
  }

  const runInfo = entries.find(
    (e) =>
      (e.isFile() || e.isSymbolicLink()) &&
      e.name.toLowerCase() === 'runinfo.xml',
  );
  if (runInfo !== undefined) {
    let text: string;
    try {
      text = await readFile(path.join(dir, runInfo.name), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      return {
        kind: 'not-a-run',
        reason: `${runInfo.name} cannot be read (${code}).`,
      };
    }
    const runId = /<Run\s[^>]*\bId="([^"]+)"/i.exec(text)?.[1]?.trim();
    if (runId === undefined || runId === '') {
      return {
        kind: 'not-a-run',
        reason: `${runInfo.name} has no Run Id (still being written, or damaged); not uploaded.`,
      };
    }
    return { kind: 'run', runId };
  }

  const clues = entries
    .map((e) => e.name)
    .filter((n) => RUN_ENTRIES.has(n.toLowerCase()));
  if (!isRunName && clues.length === 0) return { kind: 'unrelated' };
  const why = isRunName
    ? 'its name is a run folder name'
    : `it holds ${clues.join(', ')}`;
  return {
    kind: 'not-a-run',
    reason: `Looks like a run folder (${why}) but has no RunInfo.xml; not uploaded.`,
  };
}
