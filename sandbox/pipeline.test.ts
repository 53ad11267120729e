/**
 * Integration tests of the sandbox pipeline and downloads: real FASTQ files
 * (copies of ../shared/data) go up through the S3 endpoint with the AWS SDK,
 * are assigned, pass through real QC to `succeeded` or `failed qc`, and their
 * deliverables come back through signed download URLs. Also: persistence of
 * everything across a restart.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { analysisDeliverables, configuration } from './catalog.ts';
import { SYNTHETIC_NOTE } from './deliverables.ts';
import {
  copyData,
  makeTempDir,
  s3Client,
  startTestSandbox,
  uploadFile,
  waitForSampleStatus,
  type ApiClient,
  type SheetRow,
  type TestSandbox,
} from './testing/harness.ts';

let t: TestSandbox;
let work: string;
let humanProject: string;
let chickenProject: string;

const sha256 = (data: Buffer): string =>
  createHash('sha256').update(data).digest('hex');

interface SampleFile {
  id: string;
  file_type: string;
  size: number | null;
  download_url: string | null;
  checksum_sha256: string;
}

/**
 * submit uploads the given shared-data files (copied to a temp folder first)
 * under `gncv://<folder>/`, assigns the resulting rows to `project` and
 * returns the new sample ids by client id.
 */
async function submit(
  api: ApiClient,
  project: string,
  folder: string,
  files: string[],
): Promise<Map<string, string>> {
  const credentials = (await api.post('/api/v2/upload-credentials/', {})).body;
  const s3 = s3Client(credentials);
  const local = copyData(files, fs.mkdtempSync(path.join(work, 'in-')));
  for (const file of local) {
    await uploadFile(api, s3, file, `gncv://${folder}/${path.basename(file)}`);
  }
  const sheet = await api.get(
    `/api/v2/sample-sheet/?search=${encodeURIComponent(`gncv://${folder}/`)}&status=unassigned&sort_by=created&sort_order=desc&offset=0&limit=200`,
  );
  const rows = sheet.body.results as SheetRow[];
  const res = await api.post(`/api/v2/project-samples/${project}`, {
    uploads: rows,
    metadata: null,
  });
  expect(res.status).toBe(201);
  return new Map(
    (res.body.uploads as { client_id: string; sample: string }[]).map((u) => [
      u.client_id,
      u.sample,
    ]),
  );
}

async function download(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { headers, method, redirect: 'manual' });
  return {
    status: res.status,
    headers: res.headers,
    body: Buffer.from(await res.arrayBuffer()),
  };
}

beforeAll(async () => {
  work = makeTempDir('pipeline');
  t = await startTestSandbox({ pipelineStepMs: 50 });
  const projects = await t.api.get('/api/v2/projects/?limit=200');
  const byName = new Map(
    (projects.body.results as { id: string; name: string }[]).map((p) => [
      p.name,
      p.id,
    ]),
  );
  humanProject = byName.get('Sandbox Human low-pass v2') as string;
  chickenProject = byName.get('Sandbox Chicken low-pass') as string;
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('pipeline', () => {
  it('runs a valid pair to succeeded and delivers byte-identical FASTQs plus the configuration files', async () => {
    const ids = await submit(t.api, humanProject, 'pipe/valid', [
      'naming/SAMPLE1_R1.fastq.gz',
      'naming/SAMPLE1_R2.fastq.gz',
    ]);
    const id = ids.get('SAMPLE1') as string;

    const sample = await waitForSampleStatus(t.api, id, [
      'succeeded',
      'failed qc',
    ]);

    expect(sample.last_status.status).toBe('succeeded');
    const files = sample.files as SampleFile[];
    const expectedTypes = [
      'fastq-r1',
      'fastq-r2',
      ...analysisDeliverables(configuration('human-lowpass-v2')!).map(
        (d) => d.fileType,
      ),
    ];
    expect(files.map((f) => f.file_type)).toEqual(expectedTypes);
    for (const [read, original] of [
      ['fastq-r1', 'naming/SAMPLE1_R1.fastq.gz'],
      ['fastq-r2', 'naming/SAMPLE1_R2.fastq.gz'],
    ]) {
      const file = files.find((f) => f.file_type === read) as SampleFile;
      const bytes = fs.readFileSync(
        copyData([original], fs.mkdtempSync(path.join(work, 'ref-')))[0],
      );
      const got = await download(file.download_url as string);
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(sha256(bytes));
      expect(file.checksum_sha256).toBe(sha256(bytes));
      expect(file.size).toBe(bytes.length);
      expect(
        new URL(file.download_url as string).searchParams.get(
          'response-content-disposition',
        ),
      ).toBe(
        `attachment; filename=${id}${read === 'fastq-r1' ? '_R1' : '_R2'}.fastq.gz`,
      );
    }
    for (const file of files.filter((f) => !f.file_type.startsWith('fastq-'))) {
      const got = await download(file.download_url as string);
      expect(got.status, file.file_type).toBe(200);
      expect(
        got.body.toString('utf8').split('\n')[0],
        file.file_type,
      ).toContain(SYNTHETIC_NOTE);
      expect(sha256(got.body), file.file_type).toBe(file.checksum_sha256);
      expect(got.body.length, file.file_type).toBe(file.size);
    }
    const ancestry = files.find(
      (f) => f.file_type === 'ancestry-json',
    ) as SampleFile;
    const parsed = JSON.parse(
      (await download(ancestry.download_url as string)).body.toString('utf8'),
    );
    expect(parsed.note).toBe(SYNTHETIC_NOTE);
    expect(
      Object.values(parsed.populations as Record<string, number>).reduce(
        (a, b) => a + b,
        0,
      ),
    ).toBeCloseTo(1, 3);
  });

  it('measures real QC values on the files', async () => {
    const ids = await submit(t.api, chickenProject, 'pipe/qc', [
      'naming/SAMPLE16_R1.fastq.gz',
      'naming/SAMPLE16_R2.fastq.gz',
    ]);
    const id = ids.get('SAMPLE16') as string;
    await waitForSampleStatus(t.api, id, ['succeeded', 'failed qc']);

    const qc = await t.api.get(
      `/api/v2/sample-quality-controls/${id}?offset=0&limit=200`,
    );

    const byKey = new Map(
      (
        qc.body.results as {
          quality_control_type: { key: string };
          quality_control: {
            value_measured: number | null;
            value_string: string;
            status: string;
          };
        }[]
      ).map((r) => [r.quality_control_type.key, r.quality_control]),
    );
    // SAMPLE16 is a two-member gzip of 1000 velvet pairs (data README).
    expect(byKey.get('reads')?.value_measured).toBe(2000);
    expect(byKey.get('paired_read_counts')).toMatchObject({
      status: 'succeeded',
      value_measured: 0,
    });
    expect(byKey.get('quality_encoding')?.value_string).toBe('phred+64');
    expect(byKey.get('read_length_max')?.value_measured).toBe(79);
  });

  it('delivers only the configuration types of another configuration (chicken: no ancestry)', async () => {
    const ids = await submit(t.api, chickenProject, 'pipe/bgzf', [
      'naming/SAMPLE17_R1.fastq.gz',
      'naming/SAMPLE17_R2.fastq.gz',
    ]);

    const sample = await waitForSampleStatus(
      t.api,
      ids.get('SAMPLE17') as string,
      ['succeeded', 'failed qc'],
    );

    expect(sample.last_status.status).toBe('succeeded');
    expect((sample.files as SampleFile[]).map((f) => f.file_type)).toEqual([
      'fastq-r1',
      'fastq-r2',
      'alignment-bam',
      'alignment-bai',
      'impute-vcf',
      'impute-tbi',
    ]);
  });

  it('runs a single-end sample (R1 only) to succeeded', async () => {
    const ids = await submit(t.api, chickenProject, 'pipe/single', [
      'naming/SAMPLE12_R1.fastq.gz',
    ]);

    const sample = await waitForSampleStatus(
      t.api,
      ids.get('SAMPLE12') as string,
      ['succeeded', 'failed qc'],
    );

    expect(sample.last_status.status).toBe('succeeded');
    expect(
      (sample.files as SampleFile[])
        .filter((f) => f.file_type.startsWith('fastq-'))
        .map((f) => f.file_type),
    ).toEqual(['fastq-r1']);
  });

  it('finishes a batch larger than the QC parallelism, every sample with its own QC', async () => {
    const files = [
      'SAMPLE2_LANE1_SEQUENCER1_R1.fastq.gz',
      'SAMPLE2_LANE1_SEQUENCER1_R2.fastq.gz',
      'SAMPLE3_R1_L001.fastq.gz',
      'SAMPLE3_R2_L001.fastq.gz',
      'SAMPLE4_R1.fq.gz',
      'SAMPLE4_R2.fq.gz',
      'SAMPLE5_R1.FASTQ.GZ',
      'SAMPLE5_R2.FASTQ.GZ',
      'Sample_S1_L001_R1_001.fastq.gz',
      'Sample_S1_L001_R2_001.fastq.gz',
    ].map((n) => `naming/${n}`);

    const ids = await submit(t.api, chickenProject, 'pipe/batch', files);
    const samples = await Promise.all(
      [...ids.values()].map((id) =>
        waitForSampleStatus(t.api, id, ['succeeded', 'failed qc']),
      ),
    );

    expect([...ids.keys()].sort()).toEqual([
      'SAMPLE2',
      'SAMPLE3',
      'SAMPLE4',
      'SAMPLE5',
      'Sample',
    ]);
    expect(samples.map((s) => s.last_status.status)).toEqual(
      samples.map(() => 'succeeded'),
    );
    const checksums = samples.map(
      (s) => (s.files as SampleFile[])[0].checksum_sha256,
    );
    expect(new Set(checksums).size).toBe(samples.length);
  });

  const corruptCases: [string, string[], string, string][] = [
    [
      'TRUNCATED',
      ['corrupt/TRUNCATED_R1.fastq.gz', 'corrupt/TRUNCATED_R2.fastq.gz'],
      'gzip',
      'truncated',
    ],
    [
      'BADCRC',
      ['corrupt/BADCRC_R1.fastq.gz', 'corrupt/BADCRC_R2.fastq.gz'],
      'gzip',
      'CRC',
    ],
    [
      'EMPTY',
      ['corrupt/EMPTY_R1.fastq.gz', 'corrupt/EMPTY_R2.fastq.gz'],
      'gzip',
      'empty',
    ],
    [
      'PLAINTEXT',
      ['corrupt/PLAINTEXT_R1.fastq.gz', 'corrupt/PLAINTEXT_R2.fastq.gz'],
      'gzip',
      'not a gzip',
    ],
    [
      'MALFORMED',
      ['corrupt/MALFORMED_R1.fastq.gz', 'corrupt/MALFORMED_R2.fastq.gz'],
      'format',
      'incomplete',
    ],
    [
      'NOTFASTQ',
      ['corrupt/NOTFASTQ_GZIPPED_CSV_R1.fastq.gz'],
      'format',
      'not FASTQ',
    ],
    [
      'EMPTYGZ',
      ['corrupt/EMPTYGZ_R1.fastq.gz', 'corrupt/EMPTYGZ_R2.fastq.gz'],
      'reads',
      'no reads',
    ],
    [
      'MISMATCH',
      ['corrupt/MISMATCH_R1.fastq.gz', 'corrupt/MISMATCH_R2.fastq.gz'],
      'paired_read_counts',
      'R2',
    ],
  ];

  for (const [clientId, files, check, words] of corruptCases) {
    it(`ends ${clientId} in failed qc naming the ${check} check, delivering only the FASTQs`, async () => {
      const ids = await submit(
        t.api,
        humanProject,
        `pipe/corrupt-${clientId.toLowerCase()}`,
        files,
      );
      const id = ids.get(clientId) as string;

      const sample = await waitForSampleStatus(t.api, id, [
        'succeeded',
        'failed qc',
      ]);
      const qc = await t.api.get(`/api/v2/sample-quality-controls/${id}`);
      const list = await t.api.get(
        `/api/v2/project-samples/${humanProject}?search=${id}`,
      );

      expect(sample.last_status.status).toBe('failed qc');
      expect((sample.files as SampleFile[]).map((f) => f.file_type)).toEqual(
        files.length === 2 ? ['fastq-r1', 'fastq-r2'] : ['fastq-r1'],
      );
      const failed = (
        qc.body.results as {
          quality_control_type: { key: string; name: string };
          quality_control: { status: string; value_string: string };
        }[]
      ).filter((r) => r.quality_control.status === 'failed');
      expect(failed.map((r) => r.quality_control_type.key)).toEqual([check]);
      expect(failed[0].quality_control.value_string).toContain(words);
      expect(list.body.results[0].failed_qc).toEqual([check]);
      expect(sample.last_status.note).toContain(check);
    });
  }
});

describe('downloads', () => {
  let file: SampleFile;
  let content: Buffer;

  beforeAll(async () => {
    const ids = await submit(t.api, chickenProject, 'dl', [
      'naming/SAMPLE4_R1.fq.gz',
      'naming/SAMPLE4_R2.fq.gz',
    ]);
    const sample = await waitForSampleStatus(
      t.api,
      ids.get('SAMPLE4') as string,
      ['succeeded'],
    );
    file = (sample.files as SampleFile[])[0];
    content = (await download(file.download_url as string)).body;
  });

  it('serves the whole file directly with Content-Length and Accept-Ranges', async () => {
    const res = await download(file.download_url as string);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(content.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename=.+_R1\.fastq\.gz$/,
    );
    expect(res.headers.get('location')).toBeNull();
  });

  const ranges: [string, (size: number) => [number, number]][] = [
    ['bytes=0-99', () => [0, 99]],
    ['bytes=100-', (size) => [100, size - 1]],
    ['bytes=-50', (size) => [size - 50, size - 1]],
    ['bytes=10-999999999', (size) => [10, size - 1]],
  ];

  for (const [header, window] of ranges) {
    it(`answers Range ${header} with 206 and the exact Content-Range`, async () => {
      const [start, end] = window(content.length);

      const res = await download(file.download_url as string, {
        Range: header,
      });

      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(
        `bytes ${start}-${end}/${content.length}`,
      );
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(res.body.equals(content.subarray(start, end + 1))).toBe(true);
    });
  }

  it('answers an unsatisfiable Range with 416 and the size', async () => {
    const res = await download(file.download_url as string, {
      Range: `bytes=${content.length}-`,
    });

    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${content.length}`);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const res = await download(file.download_url as string, {}, 'HEAD');

    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(content.length));
    expect(res.body.length).toBe(0);
  });

  it('refuses a changed signature, expiry, file name or disposition with a JSON 403', async () => {
    const url = new URL(file.download_url as string);
    const variants: URL[] = [];
    for (const [key, value] of [
      ['signature', '0'.repeat(64)],
      ['expires', String(Number(url.searchParams.get('expires')) + 1000)],
      ['response-content-disposition', 'attachment; filename=other.fastq.gz'],
    ]) {
      const changed = new URL(url);
      changed.searchParams.set(key, value);
      variants.push(changed);
    }
    const renamed = new URL(url);
    renamed.pathname = renamed.pathname.replace(/[^/]+$/, 'other.fastq.gz');
    variants.push(renamed);

    const answers = await Promise.all(
      variants.map((v) => download(v.toString())),
    );

    for (const res of answers) {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(JSON.parse(res.body.toString('utf8')).detail).toMatch(
        /Signature does not match/,
      );
    }
  });

  it('refuses an expired URL with a JSON 403 and issues a fresh one with the sample', async () => {
    const short = await startTestSandbox({ downloadUrlTtlSeconds: 1 });
    try {
      const projectId = short.sandbox.info.project_ids[3];
      const ids = await submit(short.api, projectId, 'expiry', [
        'naming/SAMPLE7_R1.Fq.Gz',
      ]);
      const sample = await waitForSampleStatus(
        short.api,
        ids.get('SAMPLE7') as string,
        ['succeeded'],
      );
      const url = (sample.files as SampleFile[])[0].download_url as string;
      const before = await download(url);
      await new Promise((resolve) => setTimeout(resolve, 1100));

      const after = await download(url);
      const fresh = await short.api.get(`/api/v2/samples/${sample.id}`);
      const again = await download(fresh.body.files[0].download_url);

      expect(before.status).toBe(200);
      expect(after.status).toBe(403);
      expect(JSON.parse(after.body.toString('utf8')).detail).toMatch(/expired/);
      expect(again.status).toBe(200);
    } finally {
      await short.close();
    }
  });

  it('serves checksums for sample files and refuses files without one', async () => {
    const res = await t.api.get(`/api/v2/files/${file.id}.sha256`);
    const uploads = await t.api.get('/api/v2/uploads/?status=succeeded');
    const uploadFileId = uploads.body.results[0].file.id as string;
    const none = await t.api.get(`/api/v2/files/${uploadFileId}.sha256`);

    expect(res.text).toBe(
      `${sha256(content)} *${new URL(file.download_url as string).pathname.split('/').pop()}\n`,
    );
    expect(none.status).toBe(400);
    expect(none.body).toEqual({ detail: 'File does not have checksum.' });
  });
});

describe('persistence', () => {
  it('keeps the account, projects, samples and files across a restart and finishes interrupted work', async () => {
    const dataDir = makeTempDir('persist');
    // Steps of 300 ms leave time to stop the first run before `pending` moves.
    const first = await startTestSandbox({ dataDir, pipelineStepMs: 300 });
    const info = first.sandbox.info;
    const login = await first.api.post(
      '/api/v2/jwt-create/',
      { email: info.email, password: info.password },
      { auth: null },
    );
    const done = await submit(first.api, info.project_ids[0], 'persist/done', [
      'naming/SAMPLE3_R1_L001.fastq.gz',
      'naming/SAMPLE3_R2_L001.fastq.gz',
    ]);
    const doneId = done.get('SAMPLE3') as string;
    const finished = await waitForSampleStatus(first.api, doneId, [
      'succeeded',
    ]);
    // Assigned just before the stop: still `created`, picked up after restart.
    const pending = await submit(
      first.api,
      info.project_ids[0],
      'persist/pending',
      ['naming/Sample_S1_L001_R1_001.fastq.gz'],
    );
    const beforeStop = await first.api.get(
      `/api/v2/samples/${pending.get('Sample')}`,
    );
    await first.close({ keepData: true });
    expect(beforeStop.body.last_status.status).toBe('created');

    const second = await startTestSandbox({ dataDir, pipelineStepMs: 50 });
    try {
      expect(second.sandbox.info.email).toBe(info.email);
      expect(second.sandbox.info.password).toBe(info.password);
      expect(second.sandbox.info.api_key).toBe(info.api_key);
      expect(second.sandbox.info.project_ids).toEqual(info.project_ids);
      const stored = JSON.parse(
        fs.readFileSync(path.join(dataDir, 'sandbox.json'), 'utf8'),
      );
      expect(stored).toEqual(second.sandbox.info);
      const viaOldJwt = await second.api.get('/api/v2/user/', {
        auth: `Bearer ${login.body.access}`,
      });
      expect(viaOldJwt.status).toBe(200);
      const again = await second.api.get(`/api/v2/samples/${doneId}`);
      expect(again.body.last_status).toEqual(finished.last_status);
      expect(
        (again.body.files as SampleFile[]).map((f) => f.checksum_sha256),
      ).toEqual((finished.files as SampleFile[]).map((f) => f.checksum_sha256));
      const bytes = await download(again.body.files[0].download_url);
      expect(bytes.status).toBe(200);
      expect(sha256(bytes.body)).toBe(again.body.files[0].checksum_sha256);
      const resumed = await waitForSampleStatus(
        second.api,
        pending.get('Sample') as string,
        ['succeeded'],
      );
      expect(resumed.last_status.status).toBe('succeeded');
      const assigned = await second.api.get(
        '/api/v2/sample-sheet/?search=gncv%3A%2F%2Fpersist%2F&status=assigned',
      );
      expect(assigned.body.meta.count).toBe(2);
    } finally {
      await second.close();
    }
  });
});
