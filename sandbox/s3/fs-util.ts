/**
 * File-system helpers for crash-safe storage: every file is written to a
 * temporary name on the same volume and renamed into place, so a reader (or a
 * restarted server) sees either the old file or the complete new one.
 */

import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

const RENAME_RETRIES = 5;

/** tempName returns a fresh file name inside `dir` (nothing is created). */
export function tempName(dir: string, suffix = '.tmp'): string {
  return path.join(
    dir,
    `${Date.now()}-${randomBytes(8).toString('hex')}${suffix}`,
  );
}

/**
 * renameReplacing moves `from` onto `to`, replacing it. Windows refuses to
 * replace a file another handle holds for a moment (a concurrent GET), so a
 * few short retries absorb that; other errors are thrown at once.
 */
export async function renameReplacing(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const isTransient =
        code === 'EPERM' || code === 'EBUSY' || code === 'EACCES';
      if (
        !isTransient ||
        attempt >= RENAME_RETRIES ||
        process.platform !== 'win32'
      ) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)));
    }
  }
}

/**
 * writeJsonAtomic writes `value` as JSON to `file` through a flushed temp
 * file in `tmpDir` (which must be on the same volume) and a rename.
 */
export async function writeJsonAtomic(
  file: string,
  value: unknown,
  tmpDir: string,
): Promise<void> {
  const temp = tempName(tmpDir, '.json');
  try {
    await writeFile(temp, `${JSON.stringify(value)}\n`, { flush: true });
    await renameReplacing(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** readJson returns the parsed file, or undefined when it does not exist. */
export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`Sandbox storage file ${file} is not valid JSON.`);
  }
}

/** isErrno tells whether `error` is a Node system error with `code`. */
export function isErrno(error: unknown, ...codes: string[]): boolean {
  return codes.includes(
    (error as NodeJS.ErrnoException | undefined)?.code ?? '',
  );
}
