/**
 * Benchmark of the FASTQ gzip checks, for `npm run bench` or by hand:
 *
 *     node electron/engine/scan/benchFastq.ts <file.fastq.gz>...
 *
 * For each file it prints, from the same run, the raw limit (read and
 * gunzip only, no checks) beside verifyFastqGzip and the pass-through
 * checker, as compressed MB/s, and the process's peak resident memory. It
 * is a script, not a test: nothing fails when it is slow.
 */

import { createReadStream, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

import { createFastqGzipChecker, verifyFastqGzip } from './fastq.ts';

const ROUNDS = 3;

async function rawGunzip(file: string): Promise<void> {
  await pipeline(
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    zlib.createGunzip({ chunkSize: 256 * 1024 }),
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
}

async function checker(file: string): Promise<void> {
  await pipeline(
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
    createFastqGzipChecker(file),
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
}

async function verify(file: string): Promise<void> {
  const verdict = await verifyFastqGzip(file);
  if (!verdict.ok) throw new Error(`${file}: ${verdict.problem.message}`);
}

/** Best of ROUNDS, in compressed MB/s. */
async function measure(
  file: string,
  run: (file: string) => Promise<void>,
): Promise<number> {
  const size = statSync(file).size;
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    await run(file);
    best = Math.min(best, performance.now() - start);
  }
  return size / 1e6 / (best / 1000);
}

async function main(files: string[]): Promise<void> {
  if (files.length === 0) {
    console.error(
      'usage: node electron/engine/scan/benchFastq.ts <file.fastq.gz>...',
    );
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const raw = await measure(file, rawGunzip);
    const verified = await measure(file, verify);
    const checked = await measure(file, checker);
    const mb = (statSync(file).size / 1e6).toFixed(1);
    console.log(
      `${file} (${mb} MB): raw gunzip ${raw.toFixed(0)} MB/s, verifyFastqGzip ${verified.toFixed(0)} MB/s, checker ${checked.toFixed(0)} MB/s`,
    );
  }
  console.log(
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
}

await main(process.argv.slice(2));
