/**
 * Tests of `node sandbox/main.ts` as a real child process: it prints the URL
 * and the demo account, serves the API, and stops cleanly on SIGTERM and
 * SIGINT; bad arguments exit with status 2.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { makeTempDir, repoRoot } from './testing/harness.ts';

const entry = path.join(repoRoot, 'sandbox', 'main.ts');
const folders: string[] = [];

afterAll(() => {
  for (const folder of folders) {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** start runs main.ts and resolves with its API URL once it is listening. */
function start(args: string[]): {
  url: Promise<string>;
  done: Promise<Run>;
  kill(signal: NodeJS.Signals): void;
} {
  const child = spawn(process.execPath, [entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let resolveUrl: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const m = /listening on (http:\/\/\S+)/.exec(stdout);
    if (m) {
      resolveUrl(m[1]);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<Run>((resolve) => {
    child.on('exit', (code, signal) =>
      resolve({ code, signal, stdout, stderr }),
    );
  });
  return { url, done, kill: (signal) => child.kill(signal) };
}

describe('main', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves the API, prints the demo account and stops cleanly on ${signal}`, async () => {
      const data = makeTempDir('main');
      folders.push(data);
      const run = start(['--port', '0', '--data', data, '--step-ms', '50']);
      const url = await run.url;
      const info = JSON.parse(
        fs.readFileSync(path.join(data, 'sandbox.json'), 'utf8'),
      );

      const res = await fetch(`${url}/api/v2/user/`, {
        headers: { Authorization: `Api-Key ${info.api_key}` },
      });
      run.kill(signal);
      const result = await run.done;

      expect(res.status).toBe(200);
      expect(info.api_url).toBe(url);
      expect(result.stdout).toContain('demo@sandbox.local');
      expect(result.stdout).toContain(info.password);
      expect(result.stdout).toContain(info.api_key);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('sandbox stopped');
      expect(fs.existsSync(path.join(data, 'sandbox.json'))).toBe(false);
      expect(fs.existsSync(path.join(data, 'sandbox.db'))).toBe(true);
    });
  }

  it('exits with 2 and the usage for bad arguments', async () => {
    const [missing, badPort, unknown] = await Promise.all([
      start(['--port', '0']).done,
      start(['--port', 'x', '--data', 'unused']).done,
      start(['--bogus']).done,
    ]);

    for (const run of [missing, badPort, unknown]) {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('usage: node sandbox/main.ts');
    }
    expect(badPort.stderr).toContain('--port must be a whole number');
  });

  it('exits with 1 and says why when the port is taken', async () => {
    const data = makeTempDir('main-port');
    folders.push(data);
    const first = start(['--port', '0', '--data', data]);
    const port = new URL(await first.url).port;

    const other = makeTempDir('main-port2');
    folders.push(other);
    const second = await start(['--port', port, '--data', other]).done;
    first.kill('SIGTERM');
    await first.done;

    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already in use/);
  });
});
