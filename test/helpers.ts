/**
 * Helpers for tests that run the real product: the command line as a child
 * process, the sandbox as a child process on a free loopback port, and
 * copies of the shared test data in temporary folders.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_DATA } from './shared.ts';

export const repoRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
);
/** The team's shared test data, outside the repository. */
export const sharedData = SHARED_DATA;
export const cliEntry = path.join(repoRoot, 'bin', 'gencove-desktop.js');

/** makeTempDir creates an empty temporary folder removed by `cleanup`. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gd-${prefix}-`));
}

/** copyData copies a path under the shared data folder into `dest`. */
export function copyData(relative: string, dest: string): string {
  const target = path.join(dest, path.basename(relative));
  fs.cpSync(path.join(sharedData, relative), target, { recursive: true });
  return target;
}

/**
 * cliEnv is the environment of a CLI run against the sandbox of `sandboxDir`
 * with its own app data in `home`, every credential and host variable of
 * the calling shell blanked out.
 */
export function cliEnv(home: string, sandboxDir: string): Record<string, string> {
  return {
    GENCOVE_DESKTOP_HOME: home,
    GENCOVE_SANDBOX_DIR: sandboxDir,
    GENCOVE_HOST: '',
    GENCOVE_API_KEY: '',
    GENCOVE_EMAIL: '',
    GENCOVE_PASSWORD: '',
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** runCli runs `gencove-desktop <args>` to completion. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return runCliThrough(process.execPath, [cliEntry], args, env, timeoutMs);
}

/**
 * runCliThrough runs `command ...prefix ...args` to completion, where the
 * prefix ends with the CLI's entry (a wrapper such as setpriv in front of
 * Node, say).
 */
export function runCliThrough(
  command: string,
  prefix: string[],
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      env: { ...process.env, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gencove-desktop ${args.join(' ')} timed out\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface SandboxProcess {
  child: ChildProcess;
  dataDir: string;
  info: {
    api_url: string;
    s3_endpoint: string;
    email: string;
    password: string;
    api_key: string;
    project_ids: string[];
  };
  stop(): Promise<void>;
}

/**
 * startSandboxProcess runs `gencove-desktop sandbox` in a child process and
 * resolves once its sandbox.json is written.
 */
export async function startSandboxProcess(
  dataDir: string,
  extraArgs: string[] = [],
): Promise<SandboxProcess> {
  fs.rmSync(path.join(dataDir, 'sandbox.json'), { force: true });
  const child = spawn(
    process.execPath,
    [cliEntry, 'sandbox', '--port', '0', '--data', dataDir, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const file = path.join(dataDir, 'sandbox.json');
  const deadline = Date.now() + 30_000;
  while (!output.includes('running at')) {
    if (child.exitCode !== null) {
      throw new Error(`sandbox exited early:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sandbox did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const info = JSON.parse(fs.readFileSync(file, 'utf8'));
  return {
    child,
    dataDir,
    info,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** sha256 of a file's bytes, or of several files concatenated in order. */
export async function sha256Of(files: string[]): Promise<string> {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      fs.createReadStream(f)
        .on('data', (d) => hash.update(d))
        .on('end', () => resolve())
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

/** listFiles returns every file below `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}
