/**
 * Benchmark of the sequencer folder watcher (run by `npm run bench`, or
 * alone: `node scripts/bench-watch.ts`). Prints `ROW {json}` lines that
 * scripts/bench.ts puts in its table.
 *
 * A watch folder holds BENCH_WATCH_FILES small files (default 100,000)
 * spread over old run folders, already known when the watcher starts (the
 * folder is added with `ignoreExistingRuns`); it is built on tmpfs when the
 * machine has one (see `treeParent`). The watcher runs in this
 * process with its default timings against a sandbox child process on
 * loopback. Measured:
 *
 * - open file descriptors of this process before the watcher starts, once
 *   it watches the tree, and after an upload: they must not grow with the
 *   tree;
 * - CPU seconds per idle minute (measured over BENCH_WATCH_IDLE_S seconds,
 *   default 20, and scaled), natively and with polling (network shares);
 * - the time from a new run's last completion marker to its upload
 *   starting (the run's job is queued), against 5 s plus the settle time.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import { GencoveClient } from '../electron/engine/api/client.ts';
import { Engine } from '../electron/engine/engine.ts';
import { WatchService } from '../electron/engine/watch/watchService.ts';
import type { WatchRunView } from '../shared/domain.ts';

const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
);
const cli = path.join(repoRoot, 'bin', 'gencove-desktop.js');

const totalFiles = Number(process.env.BENCH_WATCH_FILES ?? '100000');
const idleSeconds = Number(process.env.BENCH_WATCH_IDLE_S ?? '20');
const settleSeconds = Number(process.env.BENCH_WATCH_SETTLE_S ?? '2');
const RUNS = 200;

interface Row {
  name: string;
  value: string;
  limit: string;
  ratio: string;
  bar: string;
  pass: boolean | null;
}

function printRow(row: Row): void {
  process.stdout.write(`ROW ${JSON.stringify(row)}\n`);
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function runInfo(runId: string, instrument: string): string {
  return [
    '<?xml version="1.0"?>',
    '<RunInfo Version="2">',
    `  <Run Id="${runId}" Number="1">`,
    '    <Flowcell>BENCHFC</Flowcell>',
    `    <Instrument>${instrument}</Instrument>`,
    '  </Run>',
    '</RunInfo>',
    '',
  ].join('\n');
}

/** Old run folders: RunInfo, RTAComplete, BCL-like files in cycle folders. */
function buildTree(root: string): number {
  let written = 0;
  const perRun = Math.ceil(totalFiles / RUNS);
  for (let r = 0; r < RUNS && written < totalFiles; r++) {
    const runId = `2401${String(r % 100).padStart(2, '0')}_NB501234_${String(r).padStart(4, '0')}_AHBENCH${r}`;
    const dir = path.join(root, runId);
    const lane = path.join(dir, 'Data', 'Intensities', 'BaseCalls', 'L001');
    fs.mkdirSync(lane, { recursive: true });
    fs.writeFileSync(path.join(dir, 'RunInfo.xml'), runInfo(runId, 'NB501234'));
    fs.writeFileSync(path.join(dir, 'RTAComplete.txt'), '');
    written += 2;
    const body = Buffer.alloc(64, r);
    for (let i = 0; written < totalFiles && i < perRun - 2; i++) {
      const cycle = path.join(lane, `C${Math.floor(i / 100) + 1}.1`);
      if (i % 100 === 0) fs.mkdirSync(cycle, { recursive: true });
      fs.writeFileSync(path.join(cycle, `s_1_${1101 + (i % 100)}.bcl`), body);
      written++;
    }
  }
  return written;
}

/** A small gzip of FASTQ records (several members, as bcl2fastq writes). */
function fastq(seed: number, reads: number, mate: 1 | 2): Buffer {
  const members: Buffer[] = [];
  let rng = seed;
  const next = (): number => {
    rng = (rng * 1103515245 + 12345) >>> 0;
    return rng;
  };
  for (let m = 0; m < 4; m++) {
    let text = '';
    for (let i = 0; i < reads / 4; i++) {
      let seq = '';
      for (let b = 0; b < 100; b++) seq += 'ACGT'[next() & 3];
      text += `@BENCH:1:FC:1:1101:${m}:${i} ${mate}:N:0:ACGT\n${seq}\n+\n${'F'.repeat(100)}\n`;
    }
    members.push(zlib.gzipSync(text, { level: 1 }));
  }
  return Buffer.concat(members);
}

async function startSandboxProcess(dataDir: string) {
  const child = spawn(
    process.execPath,
    [cli, 'sandbox', '--port', '0', '--data', dataDir, '--step-ms', '200'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (!output.includes('running at')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the sandbox did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const info = JSON.parse(
    fs.readFileSync(path.join(dataDir, 'sandbox.json'), 'utf8'),
  ) as {
    api_url: string;
    api_key: string;
    project_ids: string[];
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('close', () => resolve());
      child.kill('SIGTERM');
    });
  return { info, stop };
}

/** CPU seconds this process uses over `seconds` of idle time, per minute. */
async function idleCpuPerMinute(seconds: number): Promise<number> {
  const start = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(start);
  return ((used.user + used.system) / 1e6) * (60 / seconds);
}

/**
 * Where the tree of small files goes: BENCH_WATCH_DIR, else tmpfs
 * (/dev/shm) when there is one, so that writing and removing 100,000 files
 * does not dominate the run on a busy disk; else the temp folder. The
 * watcher's journal and the sandbox stay in the temp folder.
 */
function treeParent(): string {
  if (process.env.BENCH_WATCH_DIR) return process.env.BENCH_WATCH_DIR;
  return fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
}

/**
 * Removes the work folder; `rm -rf` is many times faster than Node's own
 * walk on 100,000 files.
 */
function removeTree(dir: string): void {
  if (
    process.platform !== 'win32' &&
    spawnSync('rm', ['-rf', dir]).status === 0
  )
    return;
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gd-bench-watch-'));
  const treeBase = fs.mkdtempSync(path.join(treeParent(), 'gd-bench-tree-'));
  const sandbox = await startSandboxProcess(path.join(work, 'sandbox'));
  const client = new GencoveClient({
    host: sandbox.info.api_url,
    auth: { kind: 'api-key', apiKey: sandbox.info.api_key },
  });
  try {
    const root = path.join(treeBase, 'instrument');
    const t0 = performance.now();
    const files = buildTree(root);
    process.stdout.write(
      `bench-watch: built ${files} files in ${RUNS} old runs under ${treeBase} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );

    // Native events (local disk).
    const fdsBefore = openFds();
    const engine = new Engine({ dataDir: path.join(work, 'app'), client });
    const service = new WatchService({ engine, client });
    const projectId = sandbox.info.project_ids[0]!;
    const folder = service.addFolder({
      path: root,
      projectId,
      settleSeconds,
      ignoreExistingRuns: true,
    });
    const t1 = performance.now();
    await service.start();
    const known = service
      .getFolder(folder.id)
      .runs.filter((r) => r.state === 'ignored').length;
    process.stdout.write(
      `bench-watch: watching; ${known} old runs known in ${((performance.now() - t1) / 1000).toFixed(1)} s\n`,
    );
    const fdsWatching = openFds();
    const cpuNative = await idleCpuPerMinute(idleSeconds);

    // A new run: metadata first, FASTQs, then the completion marker.
    const runId = '240601_NB501234_0999_AHNEWRUN01';
    const runDir = path.join(root, runId);
    const calls = path.join(runDir, 'Data', 'Intensities', 'BaseCalls');
    fs.mkdirSync(calls, { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'RunInfo.xml'),
      runInfo(runId, 'NB501234'),
    );
    for (const [n, sample] of ['ALPHA', 'BETA'].entries()) {
      for (const mate of [1, 2] as const) {
        fs.writeFileSync(
          path.join(calls, `${sample}_S${n + 1}_L001_R${mate}_001.fastq.gz`),
          fastq(n + 1, 2000, mate),
        );
      }
    }
    let uploadingAt = 0;
    let final: WatchRunView | null = null;
    const done = new Promise<void>((resolve) => {
      service.onDidChangeRun((e) => {
        if (e.run.runId !== runId) return;
        if (e.run.state === 'uploading' && uploadingAt === 0)
          uploadingAt = performance.now();
        if (e.run.state === 'assigned' || e.run.state === 'failed') {
          final = e.run;
          resolve();
        }
      });
    });
    const markerAt = performance.now();
    fs.writeFileSync(
      path.join(runDir, 'RTAComplete.txt'),
      'RTA 2.4.11 completed\n',
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const run = service
          .getFolder(folder.id)
          .runs.find((r) => r.runId === runId);
        reject(
          new Error(
            `the new run was not delivered in 60 s: ${JSON.stringify(run)}`,
          ),
        );
      }, 60_000);
    });
    await Promise.race([done, late]);
    clearTimeout(timer);
    const delivered = final as WatchRunView | null;
    if (delivered === null || delivered.state !== 'assigned') {
      throw new Error(
        `the new run was not assigned: ${JSON.stringify(delivered)}`,
      );
    }
    const latency = (uploadingAt - markerAt) / 1000;
    const fdsAfterUpload = openFds();
    await service.stop();
    await engine.close();

    // Stat polling (network shares), same tree, a fresh journal.
    const pollingEngine = new Engine({
      dataDir: path.join(work, 'app-polling'),
      client,
    });
    const polling = new WatchService({ engine: pollingEngine, client });
    polling.addFolder({
      path: root,
      projectId,
      settleSeconds,
      polling: true,
      ignoreExistingRuns: true,
    });
    await polling.start();
    const cpuPolling = await idleCpuPerMinute(idleSeconds);
    await polling.stop();
    await pollingEngine.close();

    const latencyBar = 5 + settleSeconds;
    printRow({
      name: `watch: last marker to upload start (settle ${settleSeconds} s)`,
      value: `${latency.toFixed(2)} s`,
      limit: '-',
      ratio: '-',
      bar: `< ${latencyBar} s`,
      pass: latency < latencyBar,
    });
    printRow({
      name: `watch: CPU per idle minute, ${files} files`,
      value: `${cpuNative.toFixed(3)} s`,
      limit: '-',
      ratio: '-',
      bar: '< 1 s',
      pass: cpuNative < 1,
    });
    printRow({
      name: `watch: CPU per idle minute, polling, ${files} files`,
      value: `${cpuPolling.toFixed(3)} s`,
      limit: '-',
      ratio: '-',
      bar: '< 1 s',
      pass: cpuPolling < 1,
    });
    const growth = Math.max(fdsWatching, fdsAfterUpload) - fdsBefore;
    printRow({
      name: `watch: open fds before/watching/after upload, ${files} files`,
      value: `${fdsBefore}/${fdsWatching}/${fdsAfterUpload}`,
      limit: '-',
      ratio: '-',
      bar: 'growth < 32',
      pass: growth < 32,
    });
  } finally {
    client.close();
    await sandbox.stop();
    removeTree(treeBase);
    removeTree(work);
  }
}

await main();
