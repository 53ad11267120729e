/**
 * The platform path end to end from the command line, against a real
 * sandbox process on loopback: plan, upload, assign, analysis, download, and
 * byte-for-byte checks of every FASTQ deliverable against its source files.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { UploadPlan } from '../../shared/domain.ts';
import {
  cliEnv,
  copyData,
  listFiles,
  makeTempDir,
  runCli,
  sha256Of,
  sharedData,
  startSandboxProcess,
} from '../helpers.ts';
import type { SandboxProcess } from '../helpers.ts';

const NEXTSEQ = 'runs/180723_NB500892_0277_AHJYM2BGX7';

let work: string;
let sandbox: SandboxProcess;
let env: Record<string, string>;

beforeAll(async () => {
  work = makeTempDir('cli');
  sandbox = await startSandboxProcess(path.join(work, 'sandbox'), [
    '--step-ms',
    '100',
  ]);
  env = cliEnv(path.join(work, 'home'), sandbox.dataDir);
  delete process.env.GENCOVE_HOST;
});

afterAll(async () => {
  await sandbox?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function cliJson<T>(args: string[]): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  if (result.code !== 0) {
    throw new Error(
      `gencove-desktop ${args.join(' ')} exited ${result.code}\n${result.stderr}\n${result.stdout}`,
    );
  }
  return JSON.parse(result.stdout) as T;
}

interface SampleJson {
  id: string;
  client_id: string;
  last_status: { status: string };
}

async function waitForAnalysis(projectId: string, expected: number) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const samples = await cliJson<SampleJson[]>(['samples', projectId]);
    const done = samples.filter(
      (s) =>
        s.last_status.status === 'succeeded' ||
        s.last_status.status.startsWith('failed'),
    );
    if (samples.length >= expected && done.length === samples.length) {
      return samples;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `analysis did not finish: ${JSON.stringify(samples.map((s) => s.last_status.status))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('gencove-desktop against the sandbox', () => {
  it('lists the demo projects', async () => {
    const projects = await cliJson<{ id: string; name: string }[]>([
      'projects',
    ]);

    expect(projects.length).toBeGreaterThanOrEqual(3);
    expect(projects.map((p) => p.id).sort()).toEqual(
      [...sandbox.info.project_ids].sort(),
    );
  });

  it('uploads real pairs and a lane-split NextSeq run, analyses them and downloads byte-identical FASTQs', async () => {
    const projectId = sandbox.info.project_ids[0];
    const pairs = copyData('fastq/pairs', work);
    const nextseq = copyData(NEXTSEQ, work);

    const first = await cliJson<{ plan: UploadPlan; result: { state: string; assigned: unknown[] } }>([
      'upload',
      pairs,
      'gncv://cli-test/pairs/',
      '--run-project-id',
      projectId,
      '--metadata',
      '{"batch": 1}',
    ]);
    expect(first.result.state).toBe('done');
    expect(first.plan.samples.filter((s) => s.included)).toHaveLength(4);
    expect(first.result.assigned).toHaveLength(4);

    const second = await cliJson<{ plan: UploadPlan; result: { state: string; assigned: unknown[] } }>([
      'upload',
      nextseq,
      'gncv://cli-test/nextseq/',
      '--run-project-id',
      projectId,
    ]);
    expect(second.result.state).toBe('done');
    const nextseqSamples = second.plan.samples.filter((s) => s.included);
    expect(nextseqSamples).toHaveLength(12);
    const ctr5 = nextseqSamples.find((s) => s.clientId === 'CTR-5');
    expect(ctr5?.r2?.files.map((f) => f.lane)).toEqual([1, 2, 3, 4]);
    expect(second.result.assigned).toHaveLength(12);

    const samples = await waitForAnalysis(projectId, 16);
    expect(samples.every((s) => s.last_status.status === 'succeeded')).toBe(
      true,
    );

    const out = path.join(work, 'results');
    const download = await cliJson<{ state: string }>([
      'download',
      out,
      '--project-id',
      projectId,
    ]);
    expect(download.state).toBe('done');
    const files = listFiles(out);
    expect(files.some((f) => f.endsWith('.part'))).toBe(false);

    for (const sample of [...first.plan.samples, ...nextseqSamples]) {
      if (!sample.included) continue;
      for (const read of [sample.r1, sample.r2]) {
        if (!read) continue;
        const type = read.read === 'R1' ? 'fastq-r1' : 'fastq-r2';
        const matches = files.filter(
          (f) =>
            f.startsWith(`${sample.clientId}${path.sep}`) &&
            f.endsWith(`_${type}.fastq.gz`),
        );
        expect(matches, `${sample.clientId} ${type}`).toHaveLength(1);
        const expected = await sha256Of(read.files.map((f) => f.path));
        expect(await sha256Of([path.join(out, matches[0])])).toBe(expected);
      }
    }

    const again = await cliJson<{
      state: string;
      files: { state: string }[];
    }>(['download', out, '--project-id', projectId]);
    expect(again.state).toBe('done');
    expect(again.files.length).toBeGreaterThan(0);
    expect(again.files.every((f) => f.state === 'skipped')).toBe(true);
  });

  it('uploading the same folder again sends nothing new and assigns nothing twice', async () => {
    const projectId = sandbox.info.project_ids[1];
    const naming = makeTempDir('again');
    for (const name of ['SAMPLE1_R1.fastq.gz', 'SAMPLE1_R2.fastq.gz']) {
      fs.copyFileSync(
        path.join(sharedData, 'naming', name),
        path.join(naming, name),
      );
    }

    const args = ['upload', naming, 'gncv://cli-test/again/', '--run-project-id', projectId];
    const first = await cliJson<{ result: { state: string; assigned: unknown[] } }>(args);
    expect(first.result.assigned).toHaveLength(1);
    const second = await cliJson<{
      result: { state: string; files: { state: string }[]; assigned?: unknown[] };
    }>(args);

    expect(second.result.files.every((f) => f.state === 'skipped')).toBe(true);
    const samples = await cliJson<SampleJson[]>(['samples', projectId]);
    expect(samples.filter((s) => s.client_id === 'SAMPLE1')).toHaveLength(1);
  });
});

describe('gencove-desktop refuses bad input clearly', () => {
  const cases: {
    name: string;
    args: () => string[];
    message: RegExp;
    code: number;
  }[] = [
    {
      name: 'a destination not starting with gncv://',
      args: () => ['upload', work, 's3://bucket/'],
      message: /must start with gncv:\/\//,
      code: 2,
    },
    {
      name: 'a project id that is not a UUID',
      args: () => ['upload', work, '--run-project-id', 'not-a-uuid'],
      message: /not a project UUID/,
      code: 2,
    },
    {
      name: 'metadata that is not JSON',
      args: () => [
        'upload',
        work,
        '--run-project-id',
        sandbox.info.project_ids[0],
        '--metadata',
        '{oops',
      ],
      message: /--metadata is not valid JSON/,
      code: 2,
    },
    {
      name: 'a source that does not exist',
      args: () => ['upload', path.join(work, 'missing')],
      message: /does not exist/,
      code: 2,
    },
    {
      name: 'a folder with no FASTQ files',
      args: () => {
        const empty = path.join(work, 'empty');
        fs.mkdirSync(empty, { recursive: true });
        fs.writeFileSync(path.join(empty, 'notes.txt'), 'hello');
        return ['upload', empty];
      },
      message: /[Nn]othing to upload|[Nn]o FASTQ/,
      code: 1,
    },
    {
      name: 'a wrong password',
      args: () => [
        'projects',
        '--email',
        sandbox.info.email,
        '--password',
        'wrong-password',
      ],
      message: /password|credentials/i,
      code: 1,
    },
    {
      name: 'a server that is not running',
      args: () => ['projects', '--host', 'http://127.0.0.1:9', '--api-key', 'x'],
      message: /refused|not running|reach/i,
      code: 1,
    },
    {
      name: 'an unknown host',
      args: () => [
        'projects',
        '--host',
        'http://no-such-host.invalid',
        '--api-key',
        'x',
      ],
      message: /no-such-host\.invalid/,
      code: 1,
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name} with exit ${c.code} and no stack trace`, async () => {
      const result = await runCli(c.args(), env);

      expect(result.code).toBe(c.code);
      expect(result.stderr).toMatch(c.message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('names every corrupt file in the plan with its reason and uploads none of them', async () => {
    const corrupt = copyData('corrupt', makeTempDir('corrupt'));

    const result = await runCli(['upload', corrupt, '--dry-run'], env);

    // Samples left out for errors make the exit code say so, even in a dry run.
    expect(result.code).toBe(1);
    for (const name of [
      'EMPTY_R1.fastq.gz',
      'TRUNCATED_R1.fastq.gz',
      'BADCRC_R1.fastq.gz',
      'PLAINTEXT_R1.fastq.gz',
      'NOTFASTQ_NOTGZIP_XML_R1.fastq.gz',
      'MALFORMED_R1.fastq.gz',
    ]) {
      expect(result.stdout).toContain(name);
    }
  });
});
