import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { CancelledError } from '../errors.ts';
import { LOCK_STALE_MS, lockFile } from './fileLock.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gencove-file-lock-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(
    process.execPath,
    ['-e', 'process.stdout.write(String(process.pid))'],
    { encoding: 'utf8' },
  );
  return Number(child.stdout);
}

describe('lockFile()', () => {
  it('makes a second writer wait until the first releases', async () => {
    const file = path.join(dir, 'a.fastq.gz');
    const first = await lockFile(file, new AbortController().signal);
    const waits: (number | null)[] = [];
    let isSecondHeld = false;
    const second = lockFile(file, new AbortController().signal, (pid) =>
      waits.push(pid),
    ).then((lock) => {
      isSecondHeld = true;
      return lock;
    });
    await new Promise((r) => setTimeout(r, 450));

    expect(isSecondHeld).toBe(false);
    expect(waits).toEqual([process.pid]);
    await first.release();
    const lock = await second;
    expect(isSecondHeld).toBe(true);
    await lock.release();
    await lock.release();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('takes over the lock of a process that is gone', async () => {
    const file = path.join(dir, 'b.fastq.gz');
    writeFileSync(`${file}.lock`, `${deadPid()}\n`);
    const waits: unknown[] = [];

    const lock = await lockFile(file, new AbortController().signal, (pid) =>
      waits.push(pid),
    );

    expect(waits).toEqual([]);
    await lock.release();
  });

  it('takes over a lock nobody touched for a long time, even of a live process', async () => {
    const file = path.join(dir, 'c.fastq.gz');
    writeFileSync(`${file}.lock`, `${process.pid}\n`);
    const old = new Date(Date.now() - LOCK_STALE_MS - 5_000);
    utimesSync(`${file}.lock`, old, old);

    const lock = await lockFile(file, new AbortController().signal);

    await lock.release();
  });

  it('stops waiting when cancelled', async () => {
    const file = path.join(dir, 'd.fastq.gz');
    const first = await lockFile(file, new AbortController().signal);
    const controller = new AbortController();
    const waiting = lockFile(file, controller.signal);
    setTimeout(() => controller.abort(), 100);

    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(`${file}.lock`)).toBe(true);
    await first.release();
  });

  it('fails with the file system error when the folder is missing', async () => {
    const file = path.join(dir, 'missing', 'e.fastq.gz');
    await expect(
      lockFile(file, new AbortController().signal),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
