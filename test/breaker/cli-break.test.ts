/**
 * Regression tests for bugs found by breaking the command line and the
 * sandbox (issue #2). Each test runs the real CLI and a real sandbox process
 * on loopback and fails while its bug is present.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  cliEnv,
  cliEntry,
  makeTempDir,
  repoRoot,
  runCli,
  sharedData,
  startSandboxProcess,
} from '../helpers.ts';
import type { CliResult, SandboxProcess } from '../helpers.ts';

const LARGE_R1 = path.join(
  sharedData,
  'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz',
);
const SMALL = path.join(sharedData, 'naming');

let work: string;
let sandbox: SandboxProcess;
let env: Record<string, string>;

beforeAll(async () => {
  work = makeTempDir('breaker');
  sandbox = await startSandboxProcess(path.join(work, 'sandbox'), [
    '--step-ms',
    '100',
  ]);
  env = cliEnv(path.join(work, 'home'), sandbox.dataDir);
});

afterAll(async () => {
  await sandbox?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** The sandbox's folder of multipart uploads (one sub-folder per UploadId). */
function multipartDirs(): string[] {
  const root = path.join(sandbox.dataDir, 'objects', 's3', '.s3-multipart');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).map((d) => path.join(root, d));
}

/** The acknowledged parts of an upload (their records; bytes may be in place). */
function partFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => /^part-\d+\.json$/.test(f));
  } catch {
    // Completed and cleaned up meanwhile.
    return [];
  }
}

/** Runs the CLI and sends SIGINT once `ready()` is true; resolves at exit. */
function runCliAndInterrupt(
  args: string[],
  ready: () => boolean,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      env: { ...process.env, CI: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (ready()) {
        clearInterval(poll);
        child.kill('SIGINT');
      }
    }, 20);
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`upload was never interrupted\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

describe('upload resume after Ctrl-C', () => {
  it('continues the same multipart upload and reports nothing as uploaded when cancelled', async () => {
    // One ~32 MB multi-member gzip: 4 parts of 8 MiB.
    const source = path.join(work, 'resume', 'BIGONE');
    fs.mkdirSync(source, { recursive: true });
    const file = path.join(source, 'BIGONE_R1.fastq.gz');
    for (let i = 0; i < 4; i++) {
      fs.appendFileSync(file, fs.readFileSync(LARGE_R1));
    }
    const args = ['upload', source, 'gncv://breaker-resume/'];
    const before = new Set(multipartDirs());
    const first = await runCliAndInterrupt(args, () =>
      multipartDirs().some((d) => !before.has(d) && partFiles(d).length >= 1),
    );
    expect(first.code).toBe(130);
    // Nothing was completed, so the summary must not claim uploads.
    expect.soft(first.stdout).not.toMatch(/[1-9]\d* uploaded/);
    const interrupted = multipartDirs().filter((d) => !before.has(d));
    expect(interrupted).toHaveLength(1);

    const second = await runCli(args, env);
    expect(second.code, second.stderr).toBe(0);
    // Resuming means completing the UploadId that already holds parts, not
    // starting a second multipart upload and leaving the first behind.
    const after = multipartDirs().filter((d) => !before.has(d));
    expect(after).toEqual(interrupted);
    expect(fs.existsSync(path.join(interrupted[0]!, 'completed.json'))).toBe(
      true,
    );
  });
});

describe('upload to a project that does not exist', () => {
  it('fails before any file is uploaded', async () => {
    const source = path.join(work, 'noproj');
    fs.mkdirSync(source, { recursive: true });
    for (const f of ['SAMPLE1_R1.fastq.gz', 'SAMPLE1_R2.fastq.gz']) {
      fs.copyFileSync(path.join(SMALL, f), path.join(source, f));
    }
    const result = await runCli(
      [
        'upload',
        source,
        'gncv://breaker-noproj/',
        '--run-project-id',
        '00000000-0000-4000-8000-000000000000',
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr + result.stdout).toMatch(/project/i);
    const sheet = await fetch(
      `${sandbox.info.api_url}/api/v2/sample-sheet/?search=${encodeURIComponent('gncv://breaker-noproj/')}`,
      { headers: { Authorization: `Api-Key ${sandbox.info.api_key}` } },
    );
    expect(sheet.status).toBe(200);
    const body = (await sheet.json()) as { meta: { count: number } };
    expect(body.meta.count).toBe(0);
  });
});

describe('sandbox S3 credentials', () => {
  it("refuse writes outside the user's upload area", async () => {
    const require = createRequire(path.join(repoRoot, 'package.json'));
    const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
    const res = await fetch(
      `${sandbox.info.api_url}/api/v2/upload-credentials/`,
      {
        method: 'POST',
        headers: {
          Authorization: `Api-Key ${sandbox.info.api_key}`,
          'Content-Type': 'application/json',
        },
        body: '{}',
      },
    );
    expect(res.status).toBeLessThan(300);
    const creds = (await res.json()) as {
      access_key: string;
      secret_key: string;
      token: string;
      endpoint_url?: string;
    };
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: creds.endpoint_url ?? sandbox.info.s3_endpoint,
      forcePathStyle: true,
      credentials: {
        accessKeyId: creds.access_key,
        secretAccessKey: creds.secret_key,
        sessionToken: creds.token,
      },
    });
    let status = 200;
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'gencove-sandbox-uploads',
          Key: 'organization/someone-else/user/someone-else/uploads/x.fastq-r1',
          Body: 'not a fastq',
        }),
      );
    } catch (err) {
      status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode ?? -1;
    }
    expect(status).toBe(403);
  });
});
