import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CancelledError } from '../errors.ts';
import { createFastqGzipChecker } from '../scan/fastq.ts';
import {
  ContentError,
  LocalFileError,
  checkedPartDigests,
} from './checkedRead.ts';
import type {
  CheckedFile,
  ChecksumAlgorithm,
  PartDigest,
} from './checkedRead.ts';
import { startPartChecks } from './partChecks.ts';
import { SHARED_DATA } from '../../../test/shared.ts';

const dataDir = SHARED_DATA;

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) {
    out.push(item);
  }
  return out;
}

/** The digests the same check gives in this thread. */
function inThread(
  files: CheckedFile[],
  partSize: number,
  algorithm: ChecksumAlgorithm,
): Promise<PartDigest[]> {
  return collect(
    checkedPartDigests(
      files,
      partSize,
      algorithm,
      createFastqGzipChecker,
      new AbortController().signal,
    ),
  );
}

describe('startPartChecks()', () => {
  let tmp: string;
  let lanes: CheckedFile[];
  let large: CheckedFile;

  const copy = (from: string, name: string): CheckedFile => {
    const target = path.join(tmp, name);
    copyFileSync(path.join(dataDir, from), target);
    return { path: target, size: statSync(target).size };
  };

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'part-checks-'));
    const run =
      'runs/180723_NB500892_0277_AHJYM2BGX7/Data/Intensities/BaseCalls/B3910';
    lanes = [1, 2, 3, 4].map((lane) =>
      copy(`${run}/1_S1_L00${lane}_R1_001.fastq.gz`, `L${lane}_R1.fastq.gz`),
    );
    large = copy(
      'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz',
      'large_R1.fastq.gz',
    );
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const algorithm of ['CRC32', 'SHA256'] as const) {
    it(`gives the same ${algorithm} part digests in the checker thread as in this thread, across lane files`, async () => {
      const partSize = 64 * 1024;
      const checks = startPartChecks({
        files: lanes,
        partSize,
        algorithm,
        signal: new AbortController().signal,
      });

      const digests = await collect(checks.digests);
      await checks.close();

      const total = lanes.reduce((n, f) => n + f.size, 0);
      expect(digests.length).toBe(Math.ceil(total / partSize));
      expect(digests.reduce((n, d) => n + d.size, 0)).toBe(total);
      expect(digests).toEqual(await inThread(lanes, partSize, algorithm));
    });
  }

  it('runs several checks at once, each with its own result', async () => {
    const signal = new AbortController().signal;
    const runs = [
      { files: [large], partSize: 1024 * 1024 },
      { files: lanes, partSize: 100_000 },
      { files: [lanes[2]!], partSize: 10_000_000 },
    ];

    const results = await Promise.all(
      runs.map(async ({ files, partSize }) => {
        const checks = startPartChecks({
          files,
          partSize,
          algorithm: 'CRC32',
          signal,
        });
        try {
          return await collect(checks.digests);
        } finally {
          await checks.close();
        }
      }),
    );

    for (const [i, { files, partSize }] of runs.entries()) {
      expect(results[i]).toEqual(await inThread(files, partSize, 'CRC32'));
    }
  });

  it('fails with ContentError naming the file when a lane is truncated, after the good lanes', async () => {
    const truncated = copy('corrupt/TRUNCATED_R1.fastq.gz', 'L5_R1.fastq.gz');
    const checks = startPartChecks({
      files: [...lanes, truncated],
      partSize: 1024 * 1024,
      algorithm: 'CRC32',
      signal: new AbortController().signal,
    });

    const run = collect(checks.digests);

    await expect(run).rejects.toBeInstanceOf(ContentError);
    await expect(run).rejects.toThrow(truncated.path);
    await expect(run).rejects.toMatchObject({ path: truncated.path });
    await checks.close();
  });

  it('never gives the last digest of a file that is not FASTQ', async () => {
    const csv = copy(
      'corrupt/NOTFASTQ_GZIPPED_CSV_R1.fastq.gz',
      'CSV_R1.fastq.gz',
    );
    const checks = startPartChecks({
      files: [csv],
      partSize: Math.max(1, csv.size),
      algorithm: 'CRC32',
      signal: new AbortController().signal,
    });
    const seen: PartDigest[] = [];

    const run = (async () => {
      for await (const digest of checks.digests) {
        seen.push(digest);
      }
    })();

    await expect(run).rejects.toBeInstanceOf(ContentError);
    expect(seen).toEqual([]);
    await checks.close();
  });

  it('fails with LocalFileError when a file is shorter than planned', async () => {
    const wrong = [{ ...lanes[0]!, size: lanes[0]!.size + 10 }];
    const checks = startPartChecks({
      files: wrong,
      partSize: 1024 * 1024,
      algorithm: 'CRC32',
      signal: new AbortController().signal,
    });

    const run = collect(checks.digests);

    await expect(run).rejects.toBeInstanceOf(LocalFileError);
    await expect(run).rejects.toThrow(/changed since it was planned/);
    await checks.close();
  });

  it('stops with CancelledError when the signal aborts, and close() waits for the check to end', async () => {
    const controller = new AbortController();
    const checks = startPartChecks({
      files: [large],
      partSize: 64 * 1024,
      algorithm: 'SHA256',
      signal: controller.signal,
      lookahead: 1,
    });
    const iterator = checks.digests[Symbol.asyncIterator]();

    const first = await iterator.next();
    controller.abort();

    expect(first.done).toBe(false);
    await expect(iterator.next()).rejects.toBeInstanceOf(CancelledError);
    await checks.close();
  });

  it('can be closed before its digests are read', async () => {
    const checks = startPartChecks({
      files: [large],
      partSize: 64 * 1024,
      algorithm: 'CRC32',
      signal: new AbortController().signal,
    });

    await checks.close();

    // A later check still runs normally on the same thread.
    const again = startPartChecks({
      files: [lanes[0]!],
      partSize: 64 * 1024,
      algorithm: 'CRC32',
      signal: new AbortController().signal,
    });
    expect(await collect(again.digests)).toEqual(
      await inThread([lanes[0]!], 64 * 1024, 'CRC32'),
    );
    await again.close();
  });
});
