/**
 * Benchmark of the FASTQ gzip checks, run by hand:
 *
 *     node electron/engine/scan/benchFastq.ts [--rounds N] [--seconds S]
 *       [--multi-member-mb MB] <file.fastq.gz>...
 *
 * for instance, from the repository root, with the team's large pair:
 *
 *     node electron/engine/scan/benchFastq.ts --multi-member-mb 200 \
 *       ../shared/data/fastq/large_pair/seqprep_hiseq2000/*.fq.gz
 *
 * For each file it prints, from the same run, plain gunzip (read and
 * inflate only, no checks) beside verifyFastqGzip and the pass-through
 * checker, as compressed MB/s, with each check's ratio to plain gunzip, and
 * at the end the process's peak resident memory. The methods take turns
 * round by round after a warm-up, for at least N rounds (default 5) and S
 * seconds (default 2) per file, and the best round of each counts, so load
 * from other processes hits them alike and mostly drops out.
 *
 * `--multi-member-mb` also measures a generated file of about that size: the
 * given files' FASTQ text cut into 1 MiB pieces, each gzipped as its own
 * member (so members end inside records), repeated until the size is
 * reached. It is built in a temporary folder, streaming, and removed at the
 * end. It is a script, not a test: nothing fails when it is slow.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

import { createFastqGzipChecker, verifyFastqGzip } from './fastq.ts';

const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Output chunk size of plain gunzip: the checker's own, since larger chunks
 * alone make gunzip faster (16 KiB, zlib's default, is much slower).
 */
const GUNZIP_CHUNK_BYTES = 512 * 1024;

/** Decompressed bytes per gzip member of the generated file. */
const MEMBER_BYTES = 1024 * 1024;

const USAGE =
  'usage: node electron/engine/scan/benchFastq.ts [--rounds N] [--seconds S] [--multi-member-mb MB] <file.fastq.gz>...';

/** A stream that throws its input away. */
const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

async function plainGunzip(file: string): Promise<void> {
  await pipeline(
    fs.createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }),
    zlib.createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }),
    sink(),
  );
}

async function checker(file: string): Promise<void> {
  await pipeline(
    fs.createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }),
    createFastqGzipChecker(file),
    sink(),
  );
}

async function verify(file: string): Promise<void> {
  const verdict = await verifyFastqGzip(file);
  if (!verdict.ok) throw new Error(`${file}: ${verdict.problem.message}`);
}

const METHODS = [
  ['plain gunzip', plainGunzip],
  ['verifyFastqGzip', verify],
  ['checker', checker],
] as const;

/**
 * Best compressed MB/s of each method, after one warm-up run each, over at
 * least `rounds` rounds and `seconds` seconds; the methods alternate within
 * every round.
 */
async function measure(
  file: string,
  rounds: number,
  seconds: number,
): Promise<number[]> {
  const size = fs.statSync(file).size;
  const best = METHODS.map(() => Infinity);
  for (const [, run] of METHODS) await run(file);
  const until = performance.now() + seconds * 1000;
  for (let round = 0; round < rounds || performance.now() < until; round++) {
    for (const [i, [, run]] of METHODS.entries()) {
      const start = performance.now();
      await run(file);
      best[i] = Math.min(best[i], performance.now() - start);
    }
  }
  return best.map((ms) => size / 1e6 / (ms / 1000));
}

/**
 * Writes `out` as gzip members of MEMBER_BYTES decompressed bytes each,
 * holding the FASTQ text of `sources` in order, then appends copies of that
 * until the file has at least `minBytes`. Memory stays at a few MiB.
 */
async function writeMultiMember(
  sources: string[],
  out: string,
  minBytes: number,
): Promise<void> {
  const fd = fs.openSync(out, 'w+');
  try {
    let piece: Buffer[] = [];
    let pieceBytes = 0;
    const flush = (): void => {
      if (pieceBytes === 0) return;
      fs.writeSync(fd, zlib.gzipSync(Buffer.concat(piece)));
      piece = [];
      pieceBytes = 0;
    };
    for (const source of sources) {
      const gunzip = fs.createReadStream(source).pipe(zlib.createGunzip());
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        piece.push(chunk);
        pieceBytes += chunk.length;
        if (pieceBytes >= MEMBER_BYTES) flush();
      }
    }
    flush();

    // Each copy holds whole files, so every copy starts with a record.
    const once = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(READ_CHUNK_BYTES);
    let size = once;
    while (size < minBytes) {
      for (let at = 0; at < once; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, once - at), at);
        fs.writeSync(fd, buf, 0, n, size);
        at += n;
        size += n;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        rounds: { type: 'string', default: '5' },
        seconds: { type: 'string', default: '2' },
        'multi-member-mb': { type: 'string' },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const files = parsed.positionals;
  const rounds = Number(parsed.values.rounds);
  const seconds = Number(parsed.values.seconds);
  const multiMb =
    parsed.values['multi-member-mb'] === undefined
      ? 0
      : Number(parsed.values['multi-member-mb']);
  if (
    files.length === 0 ||
    !Number.isInteger(rounds) ||
    rounds < 1 ||
    !(seconds >= 0) ||
    !(multiMb >= 0)
  ) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  for (const file of files) {
    const verdict = await verifyFastqGzip(file);
    if (!verdict.ok) {
      console.error(`${file}: ${verdict.problem.message}`);
      process.exitCode = 2;
      return;
    }
  }

  const tmp =
    multiMb > 0 ? fs.mkdtempSync(path.join(os.tmpdir(), 'gd-bench-')) : '';
  try {
    const targets = [...files];
    if (multiMb > 0) {
      const generated = path.join(tmp, 'multi-member.fastq.gz');
      await writeMultiMember(files, generated, multiMb * 1e6);
      targets.push(generated);
    }
    for (const file of targets) {
      const [plain, verified, checked] = await measure(
        file,
        rounds,
        seconds,
      );
      const mb = (fs.statSync(file).size / 1e6).toFixed(1);
      const ratio = (x: number): string =>
        `${((x / plain) * 100).toFixed(0)} %`;
      console.log(
        `${path.basename(file)} (${mb} MB): plain gunzip ${plain.toFixed(0)} MB/s, checker ${checked.toFixed(0)} MB/s (${ratio(checked)}), verifyFastqGzip ${verified.toFixed(0)} MB/s (${ratio(verified)})`,
      );
    }
    console.log(
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
    );
  } finally {
    if (tmp !== '') fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main(process.argv.slice(2));
