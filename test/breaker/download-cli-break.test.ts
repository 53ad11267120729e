/**
 * Breaking downloads (SIGKILL mid-transfer, tampered .part files, files of
 * the right size with the wrong bytes) and the CLI's start-up (compile
 * cache, lazy commands, --help and bad options). Real CLI and sandbox
 * processes on loopback, copies of ../shared/data in temp folders.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  cliEnv,
  cliEntry,
  listFiles,
  makeTempDir,
  runCli,
  sha256Of,
  sharedData,
  startSandboxProcess,
} from '../helpers.ts';
import type { SandboxProcess } from '../helpers.ts';

const BIG_1 = 'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz';
const BIG_2 = 'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_2.fq.gz';

let work: string;
let sandbox: SandboxProcess;
let env: Record<string, string>;
let project: string;

beforeAll(async () => {
  work = makeTempDir('breaker-dl');
  sandbox = await startSandboxProcess(path.join(work, 'sandbox'), [
    '--step-ms',
    '50',
  ]);
  env = cliEnv(path.join(work, 'home'), sandbox.dataDir);
  project = sandbox.info.project_ids[0]!;
  const input = path.join(work, 'in');
  fs.mkdirSync(input);
  fs.copyFileSync(path.join(sharedData, BIG_1), path.join(input, 'BIG_R1.fastq.gz'));
  fs.copyFileSync(path.join(sharedData, BIG_2), path.join(input, 'BIG_R2.fastq.gz'));
  const up = await runCli(['upload', input, '--run-project-id', project], env);
  expect(up.code, up.stderr).toBe(0);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const s = await runCli(['samples', project, '--json'], env);
    if (s.stdout.includes('succeeded')) break;
    if (Date.now() > deadline) throw new Error(`no analysis: ${s.stdout}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The downloaded R1/R2 FASTQ deliverables below `dir`. */
function fastqsOf(dir: string): { r1: string; r2: string } {
  const files = listFiles(dir);
  const r1 = files.find((f) => f.endsWith('fastq-r1.fastq.gz'));
  const r2 = files.find((f) => f.endsWith('fastq-r2.fastq.gz'));
  expect(r1, files.join('\n')).toBeDefined();
  return { r1: path.join(dir, r1!), r2: path.join(dir, r2!) };
}

/** Every file below dir with its sha256, .part files included. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of listFiles(dir)) out[f] = await sha256Of([path.join(dir, f)]);
  return out;
}

let reference: Record<string, string>;
let referenceDir: string;

describe('download', () => {
  it('downloads the deliverables; the FASTQs are the uploaded bytes', async () => {
    referenceDir = path.join(work, 'ref');
    const r = await runCli(['download', referenceDir, '--project-id', project], env);
    expect(r.code, r.stderr).toBe(0);
    const { r1, r2 } = fastqsOf(referenceDir);
    expect(await sha256Of([r1])).toBe(await sha256Of([path.join(sharedData, BIG_1)]));
    expect(await sha256Of([r2])).toBe(await sha256Of([path.join(sharedData, BIG_2)]));
    reference = await snapshot(referenceDir);
    expect(Object.keys(reference).some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('after a SIGKILL mid-transfer, a re-run gives byte-identical files and no .part', async () => {
    const dest = path.join(work, 'killed');
    const child = spawn(
      process.execPath,
      [cliEntry, 'download', dest, '--project-id', project],
      { env: { ...process.env, CI: '1', ...env }, stdio: 'ignore' },
    );
    const deadline = Date.now() + 20_000;
    let killedMid = false;
    while (Date.now() < deadline && child.exitCode === null) {
      const parts = listFiles(dest).filter((f) => f.endsWith('.part'));
      const grown = parts.some(
        (f) => fs.statSync(path.join(dest, f)).size > 64 * 1024,
      );
      if (grown) {
        child.kill('SIGKILL');
        killedMid = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('close', r)));
    expect(killedMid).toBe(true);
    // What the kill left: no final file may hold less than its bytes.
    for (const f of listFiles(dest)) {
      if (!f.endsWith('.part') && reference[f] !== undefined) {
        expect(await sha256Of([path.join(dest, f)])).toBe(reference[f]);
      }
    }
    const again = await runCli(['download', dest, '--project-id', project], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await snapshot(dest)).toEqual(reference);
  });

  it('does not keep a tampered .part: the resumed file is byte-identical', async () => {
    const dest = path.join(work, 'tampered-part');
    fs.cpSync(referenceDir, dest, { recursive: true });
    const { r1 } = fastqsOf(dest);
    // A .part of the first 3 MB with one byte flipped, as a stopped run
    // whose bytes were then damaged on disk.
    const data = fs.readFileSync(r1).subarray(0, 3_000_000);
    data[1_000_000]! ^= 0xff;
    fs.writeFileSync(`${r1}.part`, data);
    fs.rmSync(r1);
    const r = await runCli(['download', dest, '--project-id', project], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshot(dest)).toEqual(reference);
  });

  it('replaces destination files of the right size but the wrong bytes', async () => {
    const dest = path.join(work, 'wrong-bytes');
    fs.cpSync(referenceDir, dest, { recursive: true });
    const { r1, r2 } = fastqsOf(dest);
    for (const f of [r1, r2]) {
      const data = fs.readFileSync(f);
      data[data.length - 100]! ^= 0x01;
      fs.writeFileSync(f, data);
    }
    const r = await runCli(['download', dest, '--project-id', project], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshot(dest)).toEqual(reference);
  });

  it('fails with a clear message naming the destination when it is a file, not a folder', async () => {
    const dest = path.join(work, 'a-file');
    fs.writeFileSync(dest, 'not a folder');
    const r = await runCli(['download', dest, '--project-id', project], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(dest);
    expect(fs.readFileSync(dest, 'utf8')).toBe('not a folder');
  });
});

const COMMANDS = ['sandbox', 'projects', 'samples', 'upload', 'download', 'serve', 'watch'];

describe('CLI start-up', () => {
  it('prints --help of every command with exit 0, also with a broken compile cache and temp dir', async () => {
    const cacheFile = path.join(work, 'cache-is-a-file');
    fs.writeFileSync(cacheFile, 'x');
    const envs: Record<string, string>[] = [
      {},
      { NODE_COMPILE_CACHE: cacheFile },
      { TMPDIR: path.join(work, 'no-such-tmp') },
      { TMPDIR: cacheFile },
    ];
    for (const extra of envs) {
      const top = await runCli(['--help'], { ...env, ...extra });
      expect(top.code, JSON.stringify(extra) + top.stderr).toBe(0);
      for (const c of COMMANDS) expect(top.stdout).toContain(c);
      for (const command of COMMANDS) {
        const r = await runCli([command, '--help'], { ...env, ...extra });
        expect(r.code, `${command} ${JSON.stringify(extra)}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain(command);
        expect(r.stderr).not.toMatch(/Error|warning/i);
      }
    }
    expect(fs.readFileSync(cacheFile, 'utf8')).toBe('x');
  }, 120_000);

  it('gives exit 2 and names the bad option of every command', async () => {
    // Every required argument given, so the bad option is the one mistake.
    const valid: Record<string, string[]> = {
      sandbox: [],
      projects: [],
      samples: [project],
      upload: [work],
      download: [path.join(work, 'x'), '--project-id', project],
      serve: [],
      watch: [work, '--project-id', project],
    };
    for (const command of COMMANDS) {
      const r = await runCli([command, ...valid[command]!, '--no-such-option'], env);
      expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('--no-such-option');
    }
    const unknown = await runCli(['no-such-command'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no-such-command');
  }, 60_000);

  it('runs a real command with NODE_COMPILE_CACHE pointing at a file', async () => {
    const cacheFile = path.join(work, 'cache-file-2');
    fs.writeFileSync(cacheFile, 'y');
    const r = await runCli(['projects', '--json'], { ...env, NODE_COMPILE_CACHE: cacheFile });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(project);
    expect(r.stderr).toBe('');
  });
});
