/**
 * Integration tests of the sandbox API over loopback: every implemented path
 * validates against the platform's OpenAPI document (with the recorded
 * exceptions listed in testing/openapi.ts), carries the keys the recordings
 * show, paginates with `offset` in `next`, and authenticates as the platform
 * does (JWT with refresh and expiry, API keys, MFA).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MFA_EMAIL, MFA_OTP, startSandbox } from './server.ts';
import { readCassette, recorded } from './testing/cassettes.ts';
import {
  ApiClient,
  copyData,
  makeTempDir,
  referenceDir,
  s3Client,
  startTestSandbox,
  uploadFile,
  waitForSampleStatus,
  type SheetRow,
  type TestSandbox,
  type UploadCredentials,
} from './testing/harness.ts';
import { OpenApiValidator } from './testing/openapi.ts';

const spec = OpenApiValidator.load(referenceDir);

let t: TestSandbox;
let api: ApiClient;
let projectId: string;
let sampleId: string;
let singleSampleId: string;
let credentials: UploadCredentials;
let work: string;

/**
 * expectSpec asserts that a response body matches the SPEC for its operation.
 */
function expectSpec(
  method: string,
  specPath: string,
  res: { status: number; body: unknown },
): void {
  expect(spec.validateResponse(method, specPath, res.status, res.body)).toEqual(
    [],
  );
}

/** keysOf returns the sorted keys of an object. */
function keysOf(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

async function sheet(
  search: string,
  status = 'unassigned',
): Promise<SheetRow[]> {
  const res = await api.get(
    `/api/v2/sample-sheet/?search=${encodeURIComponent(search)}&status=${status}&sort_by=created&sort_order=desc&offset=0&limit=200`,
  );
  expect(res.status).toBe(200);
  return res.body.results as SheetRow[];
}

beforeAll(async () => {
  t = await startTestSandbox({ mfaUser: true });
  api = t.api;
  projectId = t.sandbox.info.project_ids[0];
  work = makeTempDir('api');
  const files = copyData(
    [
      'naming/SAMPLE1_R1.fastq.gz',
      'naming/SAMPLE1_R2.fastq.gz',
      'naming/SAMPLE12_R1.fastq.gz',
    ],
    work,
  );
  credentials = (await api.post('/api/v2/upload-credentials/', {}))
    .body as UploadCredentials;
  const s3 = s3Client(credentials);
  await uploadFile(api, s3, files[0], 'gncv://api-test/SAMPLE1_R1.fastq.gz');
  await uploadFile(api, s3, files[1], 'gncv://api-test/SAMPLE1_R2.fastq.gz');
  await uploadFile(api, s3, files[2], 'gncv://api-test/SAMPLE12_R1.fastq.gz');
  const rows = await sheet('gncv://api-test/');
  const assigned = await api.post(`/api/v2/project-samples/${projectId}`, {
    uploads: rows,
    metadata: { batch: 'api' },
  });
  expect(assigned.status).toBe(201);
  const byClient = new Map<string, string>(
    (assigned.body.uploads as { client_id: string; sample: string }[]).map(
      (u) => [u.client_id, u.sample],
    ),
  );
  sampleId = byClient.get('SAMPLE1') as string;
  singleSampleId = byClient.get('SAMPLE12') as string;
  await waitForSampleStatus(api, sampleId, ['succeeded']);
  await waitForSampleStatus(api, singleSampleId, ['succeeded']);
});

afterAll(async () => {
  await t?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('sandbox API', () => {
  describe('responses match the OpenAPI document', () => {
    it('jwt-create, jwt-refresh, jwt-verify and jwt-logout', async () => {
      const login = await api.post(
        '/api/v2/jwt-create/',
        { email: t.sandbox.info.email, password: t.sandbox.info.password },
        { auth: null },
      );
      const refresh = await api.post(
        '/api/v2/jwt-refresh/',
        { refresh: login.body.refresh },
        { auth: null },
      );
      const verify = await api.post(
        '/api/v2/jwt-verify/',
        { token: login.body.access },
        { auth: null },
      );
      const logout = await api.post(
        '/api/v2/jwt-logout/',
        { refresh: login.body.refresh },
        { auth: null },
      );

      expect([
        login.status,
        refresh.status,
        verify.status,
        logout.status,
      ]).toEqual([200, 200, 200, 200]);
      expectSpec('POST', '/api/v2/jwt-create/', login);
      expectSpec('POST', '/api/v2/jwt-refresh/', refresh);
      expectSpec('POST', '/api/v2/jwt-verify/', verify);
      expectSpec('POST', '/api/v2/jwt-logout/', logout);
      expect(keysOf(login.body)).toEqual(
        keysOf(recorded('projects/jwt-create.yaml', 'POST', 'jwt-create').json),
      );
    });

    it('user/, organization/ and mfa-status/', async () => {
      const user = await api.get('/api/v2/user/');
      const org = await api.get('/api/v2/organization/');
      const mfa = await api.get('/api/v2/mfa-status/');

      expectSpec('GET', '/api/v2/user/', user);
      expectSpec('GET', '/api/v2/organization/', org);
      expectSpec('GET', '/api/v2/mfa-status/', mfa);
      expect(user.body.email).toBe(t.sandbox.info.email);
      expect(mfa.body).toEqual({ has_mfa_device: false });
    });

    it('projects/ (list, create), projects/{id} (get, patch)', async () => {
      const caps = await api.get('/api/v2/pipeline-capabilities/');
      const created = await api.post('/api/v2/projects/', {
        name: 'spec check',
        pipeline_capabilities: caps.body.results[0].id,
      });
      const list = await api.get(
        '/api/v2/projects/?hidden_status=visible&offset=0&limit=200',
      );
      const detail = await api.get(`/api/v2/projects/${created.body.id}`);
      const patched = await api.request(
        'PATCH',
        `/api/v2/projects/${created.body.id}`,
        { body: { description: 'changed' } },
      );

      expect(created.status).toBe(201);
      expectSpec('POST', '/api/v2/projects/', created);
      expectSpec('GET', '/api/v2/projects/', list);
      expectSpec('GET', '/api/v2/projects/{project_id}', detail);
      expectSpec('PATCH', '/api/v2/projects/{project_id}', patched);
      expect(patched.body.description).toBe('changed');
      const recordedProject = (
        recorded('projects/test_list_projects.yaml', 'GET', '/api/v2/projects/')
          .json as { results: object[] }
      ).results[0];
      expect(keysOf(list.body.results[0])).toEqual(keysOf(recordedProject));
    });

    it('pipeline/, pipeline/{id}, pipeline-capabilities/ and pipeline-capabilities/{id}', async () => {
      const pipelines = await api.get(
        '/api/v2/pipeline/?sort_by=created&sort_order=desc&offset=0&limit=200',
      );
      const pipeline = await api.get(
        `/api/v2/pipeline/${pipelines.body.results[0].id}`,
      );
      const caps = await api.get(
        '/api/v2/pipeline-capabilities/?offset=0&limit=200',
      );
      const cap = await api.get(
        `/api/v2/pipeline-capabilities/${caps.body.results[0].id}`,
      );

      expectSpec('GET', '/api/v2/pipeline/', pipelines);
      expectSpec('GET', '/api/v2/pipeline/{pipeline_id}', pipeline);
      expectSpec('GET', '/api/v2/pipeline-capabilities/', caps);
      expectSpec(
        'GET',
        '/api/v2/pipeline-capabilities/{pipeline_capabilities_id}',
        cap,
      );
      const recordedCap = (
        recorded(
          'projects/test_list_projects.yaml',
          'GET',
          'pipeline-capabilities',
        ).json as { results: object[] }
      ).results[0];
      expect(keysOf(cap.body)).toEqual(keysOf(recordedCap));
      // The recording of pipeline/{id} lists reduced capability objects with a
      // `version`; the sandbox sends those keys and the SPEC's as well.
      const recordedReduced = (
        recorded(
          'projects/test_list_pipeline_capabilities__not_empty.yaml',
          'GET',
          '/api/v2/pipeline/',
        ).json as {
          capabilities: object[];
        }
      ).capabilities[0];
      for (const key of keysOf(recordedReduced)) {
        expect(pipeline.body.capabilities[0]).toHaveProperty(key);
      }
    });

    it('project-samples/{id}, samples/{id} and the sample sub-resources', async () => {
      const list = await api.get(
        `/api/v2/project-samples/${projectId}?search=&sort_by=modified&sort_order=desc&status=all&archive_status=all&hidden_status=visible&offset=0&limit=200`,
      );
      const detail = await api.get(`/api/v2/samples/${sampleId}`);
      const qc = await api.get(
        `/api/v2/sample-quality-controls/${sampleId}?offset=0&limit=200`,
      );
      const metadata = await api.get(`/api/v2/sample-metadata/${sampleId}`);
      const statuses = await api.get(`/api/v2/sample-statuses/${sampleId}`);
      const stats = await api.get(`/api/v2/sample-stats/${sampleId}`);
      const projectStats = await api.get(`/api/v2/project-stats/${projectId}`);

      expectSpec('GET', '/api/v2/project-samples/{project_id}', list);
      expectSpec('GET', '/api/v2/samples/{sample_id}', detail);
      expectSpec('GET', '/api/v2/sample-quality-controls/{sample_id}', qc);
      expectSpec('GET', '/api/v2/sample-metadata/{sample_id}', metadata);
      expectSpec('GET', '/api/v2/sample-statuses/{sample_id}', statuses);
      expectSpec('GET', '/api/v2/sample-stats/{sample_id}', stats);
      expectSpec('GET', '/api/v2/project-stats/{project_id}', projectStats);
      const recordedDetail = recorded(
        'download/test_download_retry_skips_existing.yaml',
        'GET',
        '/api/v2/samples/',
      ).json as {
        files: object[];
      };
      expect(keysOf(detail.body)).toEqual(keysOf(recordedDetail));
      expect(keysOf(detail.body.files[0])).toEqual(
        keysOf(recordedDetail.files[0]),
      );
      const recordedItem = (
        recorded(
          'projects/test_list_project_samples_include_hidden.yaml',
          'GET',
          'project-samples',
        ).json as {
          results: object[];
        }
      ).results[0];
      expect(keysOf(list.body.results[0])).toEqual(keysOf(recordedItem));
      const recordedQc = (
        recorded(
          'download/test_download_no_progress.yaml',
          'GET',
          'sample-quality-controls',
        ).json as {
          results: { quality_control_type: object; quality_control: object }[];
        }
      ).results[0];
      expect(keysOf(qc.body.results[0].quality_control_type)).toEqual(
        keysOf(recordedQc.quality_control_type),
      );
      expect(keysOf(qc.body.results[0].quality_control)).toEqual(
        keysOf(recordedQc.quality_control),
      );
      expect(metadata.body).toEqual({ metadata: { batch: 'api' } });
      expect(projectStats.body.counts.succeeded_samples).toBe(2);
    });

    it('sample-metadata/{id} POST replaces the metadata', async () => {
      const posted = await api.post(
        `/api/v2/sample-metadata/${singleSampleId}`,
        { metadata: [1, { a: 'b' }] },
      );
      const read = await api.get(`/api/v2/sample-metadata/${singleSampleId}`);

      expect(posted.status).toBe(201);
      expectSpec('POST', '/api/v2/sample-metadata/{sample_id}', posted);
      expect(read.body).toEqual({ metadata: [1, { a: 'b' }] });
    });

    it('file-types/ with and without a project, for samples and reference genomes', async () => {
      const all = await api.get('/api/v2/file-types/');
      const project = await api.get(
        `/api/v2/file-types/?project_id=${projectId}&object=sample`,
      );
      const genome = await api.get(
        `/api/v2/file-types/?object=reference_genome`,
      );
      const projectGenome = await api.get(
        `/api/v2/file-types/?project_id=${projectId}&object=reference_genome`,
      );

      for (const res of [all, project, genome, projectGenome]) {
        expectSpec('GET', '/api/v2/file-types/', res);
      }
      const keys = (r: typeof all): string[] =>
        r.body.results.map((x: { key: string }) => x.key);
      expect(keys(project)).toEqual(
        expect.arrayContaining([
          'fastq-r1',
          'fastq-r2',
          'alignment-bam',
          'impute-vcf',
          'qc',
          'metadata',
        ]),
      );
      expect(keys(project).slice(-2)).toEqual(['qc', 'metadata']);
      const detail = await api.get(`/api/v2/samples/${sampleId}`);
      for (const file of detail.body.files as { file_type: string }[]) {
        expect(keys(project)).toContain(file.file_type);
      }
      expect(keys(genome)).toContain('genome-fasta');
      expect(projectGenome.body.results).toEqual([]);
    });

    it('upload-credentials/, uploads-post-data/, uploads/ and uploads/{id}', async () => {
      const creds = await api.post('/api/v2/upload-credentials/', {});
      const slot = await api.post('/api/v2/uploads-post-data/', {
        destination_path: 'gncv://api-test/spec/ONE_R1.fastq.gz',
      });
      const list = await api.get('/api/v2/uploads/');
      const one = await api.get(`/api/v2/uploads/${slot.body.id}`);

      // Recorded as 200 (the SPEC says 201): see STATUS_OVERRIDES.
      expect(creds.status).toBe(200);
      expectSpec('POST', '/api/v2/upload-credentials/', creds);
      expect(slot.status).toBe(201);
      expectSpec('POST', '/api/v2/uploads-post-data/', slot);
      expectSpec('GET', '/api/v2/uploads/', list);
      expectSpec('GET', '/api/v2/uploads/{upload_id}', one);
      const recordedCreds = recorded(
        'upload/test_upload.yaml',
        'POST',
        'upload-credentials',
      ).json;
      expect(keysOf(creds.body)).toEqual(
        [...keysOf(recordedCreds), 'endpoint_url'].sort(),
      );
      expect(creds.body.expiry_time).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/,
      );
      expect(creds.body.endpoint_url).toBe(t.sandbox.info.s3_endpoint);
      const recordedSlot = recorded(
        'upload/test_upload.yaml',
        'POST',
        'uploads-post-data',
      ).json;
      expect(keysOf(slot.body)).toEqual(keysOf(recordedSlot));
      expect(slot.body.s3.object_name).toMatch(
        /^organization\/[0-9a-f-]{36}\/user\/[0-9a-f-]{36}\/uploads\/[0-9a-f-]{36}\.fastq-r1$/,
      );
    });

    it('sample-sheet/ in the recorded row shape', async () => {
      const res = await api.get(
        '/api/v2/sample-sheet/?search=gncv%3A%2F%2Fapi-test%2F&status=assigned&sort_by=created&sort_order=desc&offset=0&limit=200',
      );

      expectSpec('GET', '/api/v2/sample-sheet/', res);
      const pair = (res.body.results as SheetRow[]).find(
        (r) => r.client_id === 'SAMPLE1',
      );
      const single = (res.body.results as SheetRow[]).find(
        (r) => r.client_id === 'SAMPLE12',
      );
      expect(pair?.fastq.r1?.destination_path).toBe(
        'gncv://api-test/SAMPLE1_R1.fastq.gz',
      );
      expect(pair?.fastq.r2?.destination_path).toBe(
        'gncv://api-test/SAMPLE1_R2.fastq.gz',
      );
      expect(single?.fastq).not.toHaveProperty('r2');
      const recordedRow = (
        recorded(
          'upload/test_upload_and_run_immediately.yaml',
          'GET',
          'sample-sheet',
        ).json as {
          results: { fastq: { r1: object } }[];
        }
      ).results[0];
      expect(keysOf(pair)).toEqual(keysOf(recordedRow));
      expect(keysOf(pair?.fastq.r1)).toEqual(keysOf(recordedRow.fastq.r1));
    });

    it('project-samples/{id} POST answers the recorded 201 shape', async () => {
      const files = copyData(['naming/SAMPLE4_R1.fq.gz'], work);
      await uploadFile(
        api,
        s3Client(credentials),
        files[0],
        'gncv://api-test/post/SAMPLE4_R1.fq.gz',
      );
      const rows = await sheet('gncv://api-test/post/');

      const res = await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: rows,
        metadata: null,
      });

      expect(res.status).toBe(201);
      expectSpec('POST', '/api/v2/project-samples/{project_id}', res);
      const recordedAnswer = recorded(
        'upload/test_upload_and_run_immediately.yaml',
        'POST',
        'project-samples',
      ).json as {
        uploads: object[];
      };
      expect(keysOf(res.body)).toEqual(keysOf(recordedAnswer));
      expect(keysOf(res.body.uploads[0])).toEqual(
        keysOf(recordedAnswer.uploads[0]),
      );
      expect(res.body.uploads[0].fastq).toEqual({
        r1: { upload: rows[0].fastq.r1?.upload },
        r2: null,
      });
    });

    it('files/{id}.sha256 answers sha256sum text with the recorded headers', async () => {
      const detail = await api.get(`/api/v2/samples/${sampleId}`);
      const file = detail.body.files[0];

      const res = await api.get(
        `/api/v2/files/${file.id}.sha256?filename=r1.fastq.gz`,
      );

      expect(res.status).toBe(200);
      expect(res.text).toBe(`${file.checksum_sha256} *r1.fastq.gz\n`);
      const recordedSum = recorded(
        'samples/test_samples_download_file_local_checksum.yaml',
        'GET',
        '.sha256',
      );
      expect(res.headers.get('content-type')).toBe(
        recordedSum.headers['Content-Type'][0],
      );
      expect(res.headers.get('content-disposition')).toBe(
        'attachment; filename="r1.fastq.gz.sha256"',
      );
    });

    it('project-qc-report/{id} is CSV with Content-Type exactly text/csv', async () => {
      const res = await api.get(
        `/api/v2/project-qc-report/${projectId}?columns=id,client_id,status,bases_min`,
      );
      const bad = await api.get(
        `/api/v2/project-qc-report/${projectId}?columns=id,nonsense`,
      );

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv');
      const lines = res.text.trim().split('\r\n');
      expect(lines[0]).toBe('id,client_id,status,bases_min');
      expect(
        lines.some((l) => l.startsWith(`${sampleId},SAMPLE1,succeeded,`)),
      ).toBe(true);
      expect(bad.status).toBe(400);
      expect(Array.isArray(bad.body)).toBe(true);
      expect(bad.body[0]).toMatch(/nonsense/);
    });
  });

  describe('pagination', () => {
    it('puts offset into every next link and keeps the filters, as the CLI needs', async () => {
      const caps = await api.get('/api/v2/pipeline-capabilities/');
      for (let i = 0; i < 5; i += 1) {
        await api.post('/api/v2/projects/', {
          name: `page ${i}`,
          pipeline_capabilities: caps.body.results[1].id,
        });
      }
      const first = await api.get(
        '/api/v2/projects/?hidden_status=visible&limit=2&offset=0',
      );
      const total = first.body.meta.count as number;

      // Page the way the CLI does: read only `offset` from `next`.
      const seen: string[] = [];
      let offset: string | null = '0';
      let pages = 0;
      while (offset !== null) {
        const res = await api.get(
          `/api/v2/projects/?hidden_status=visible&limit=2&offset=${offset}`,
        );
        seen.push(...res.body.results.map((p: { id: string }) => p.id));
        const next = res.body.meta.next as string | null;
        if (next) {
          const url = new URL(next);
          expect(url.origin).toBe(t.sandbox.info.api_url);
          expect(url.searchParams.get('hidden_status')).toBe('visible');
          expect(url.searchParams.get('limit')).toBe('2');
        }
        offset = next ? new URL(next).searchParams.get('offset') : null;
        if (next) {
          expect(offset).not.toBeNull();
        }
        pages += 1;
      }

      expect(total).toBeGreaterThanOrEqual(9);
      expect(new Set(seen).size).toBe(total);
      expect(pages).toBe(Math.ceil(total / 2));
      const second = await api.get('/api/v2/projects/?limit=2&offset=2');
      expect(
        new URL(second.body.meta.previous).searchParams.has('offset'),
      ).toBe(false);
      const third = await api.get('/api/v2/projects/?limit=2&offset=4');
      expect(new URL(third.body.meta.previous).searchParams.get('offset')).toBe(
        '2',
      );
    });

    it('caps limit at 1000 and falls back to the default for invalid values', async () => {
      const big = await api.get('/api/v2/file-types/?limit=5000');
      const invalid = await api.get('/api/v2/file-types/?limit=abc&offset=-3');

      expect(big.status).toBe(200);
      expect(big.body.meta.next).toBeNull();
      expect(invalid.status).toBe(200);
      expect(invalid.body.results.length).toBe(invalid.body.meta.count);
    });
  });

  describe('authentication', () => {
    // The platform's answer to an expired access token, as recorded.
    const recorded401 = readCassette(
      'projects/test_list_projects_slow_response_retry_pipeline.yaml',
    ).find((i) => i.status === 401);

    it('answers a missing Authorization header with a JSON 401', async () => {
      const res = await api.get('/api/v2/projects/', { auth: null });

      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="api"');
      expect(res.body.detail).toMatch(/credentials were not provided/);
    });

    it('answers a bad bearer token with the recorded token_not_valid body and header', async () => {
      const res = await api.get('/api/v2/projects/', {
        auth: 'Bearer not.a.token',
      });

      expect(recorded401).toBeDefined();
      expect(res.status).toBe(401);
      expect(res.body).toEqual(recorded401?.json);
      expect(res.headers.get('www-authenticate')).toBe(
        recorded401?.headers['WWW-Authenticate'][0],
      );
    });

    it('answers an unknown API key with a JSON 401', async () => {
      const res = await api.get('/api/v2/projects/', {
        auth: 'Api-Key nope.nope',
      });

      expect(res.status).toBe(401);
      expect(res.body.detail).toMatch(/API key/);
    });

    it('accepts the demo API key on every route', async () => {
      const res = await api.get('/api/v2/user/', {
        auth: `Api-Key ${t.sandbox.info.api_key}`,
      });

      expect(res.status).toBe(200);
    });

    it('refuses wrong passwords with the platform detail', async () => {
      const res = await api.post(
        '/api/v2/jwt-create/',
        { email: t.sandbox.info.email, password: 'wrong' },
        { auth: null },
      );

      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        detail: 'No active account found with the given credentials',
      });
    });

    it('names missing login fields', async () => {
      const res = await api.post(
        '/api/v2/jwt-create/',
        { email: t.sandbox.info.email },
        { auth: null },
      );

      expect(res.status).toBe(400);
      expect(res.body).toEqual({ password: ['This field is required.'] });
    });

    it('logs out a refresh token so that it refreshes no more', async () => {
      const login = await api.post(
        '/api/v2/jwt-create/',
        { email: t.sandbox.info.email, password: t.sandbox.info.password },
        { auth: null },
      );
      await api.post(
        '/api/v2/jwt-logout/',
        { refresh: login.body.refresh },
        { auth: null },
      );

      const res = await api.post(
        '/api/v2/jwt-refresh/',
        { refresh: login.body.refresh },
        { auth: null },
      );

      expect(res.status).toBe(401);
      expect(res.body.code).toBe('token_not_valid');
    });

    it('refuses a refresh token as an access token and a null refresh (the CLI API-key quirk)', async () => {
      const login = await api.post(
        '/api/v2/jwt-create/',
        { email: t.sandbox.info.email, password: t.sandbox.info.password },
        { auth: null },
      );

      const asAccess = await api.get('/api/v2/user/', {
        auth: `Bearer ${login.body.refresh}`,
      });
      const nullRefresh = await api.post(
        '/api/v2/jwt-refresh/',
        { refresh: null },
        { auth: null },
      );

      expect(asAccess.status).toBe(401);
      expect(nullRefresh.status).toBe(400);
      expect(nullRefresh.body).toEqual({
        refresh: ['This field may not be null.'],
      });
    });

    it('expires access tokens, answers with the recorded 401, and refresh brings a working token', async () => {
      const short = await startTestSandbox({ accessTokenTtlSeconds: 1 });
      try {
        const login = await short.api.post(
          '/api/v2/jwt-create/',
          {
            email: short.sandbox.info.email,
            password: short.sandbox.info.password,
          },
          { auth: null },
        );
        const fresh = await short.api.get('/api/v2/projects/', {
          auth: `Bearer ${login.body.access}`,
        });
        await new Promise((resolve) => setTimeout(resolve, 1100));

        const expired = await short.api.get('/api/v2/projects/', {
          auth: `Bearer ${login.body.access}`,
        });
        const refreshed = await short.api.post(
          '/api/v2/jwt-refresh/',
          { refresh: login.body.refresh },
          { auth: null },
        );
        const again = await short.api.get('/api/v2/projects/', {
          auth: `Bearer ${refreshed.body.access}`,
        });

        expect(fresh.status).toBe(200);
        expect(expired.status).toBe(401);
        expect(expired.body).toEqual(recorded401?.json);
        expect(expired.headers.get('www-authenticate')).toBe(
          recorded401?.headers['WWW-Authenticate'][0],
        );
        expect(refreshed.status).toBe(200);
        expect(keysOf(refreshed.body)).toEqual(['access']);
        expect(again.status).toBe(200);
      } finally {
        await short.close();
      }
    });
  });

  describe('MFA', () => {
    it('asks for the OTP in words that mention otp_token, refuses a wrong one, accepts 123456', async () => {
      const credentials = {
        email: MFA_EMAIL,
        password: t.sandbox.info.password,
      };

      const missing = await api.post('/api/v2/jwt-create/', credentials, {
        auth: null,
      });
      const wrong = await api.post(
        '/api/v2/jwt-create/',
        { ...credentials, otp_token: '000000' },
        { auth: null },
      );
      const right = await api.post(
        '/api/v2/jwt-create/',
        { ...credentials, otp_token: MFA_OTP },
        { auth: null },
      );

      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({
        otp_token: ['Please enter your OTP token.'],
      });
      expect(wrong.status).toBe(401);
      expect(wrong.text).toContain('otp_token');
      expect(right.status).toBe(200);
      const mfa = await api.get('/api/v2/mfa-status/', {
        auth: `Bearer ${right.body.access}`,
      });
      expect(mfa.body).toEqual({ has_mfa_device: true });
    });
  });

  describe('errors', () => {
    it('answers unknown paths, ids and malformed UUIDs with the JSON 404 detail', async () => {
      const paths = [
        '/api/v2/nothing-here/',
        '/api/v2/projects',
        `/api/v2/samples/${sampleId}/`,
        '/api/v2/samples/not-a-uuid',
        '/api/v2/samples/00000000-0000-4000-8000-000000000000',
        '/api/v2/projects/00000000-0000-4000-8000-000000000000',
        '/api/v2/files/not-a-uuid.sha256',
      ];

      const answers = await Promise.all(paths.map((p) => api.get(p)));

      for (const [i, res] of answers.entries()) {
        expect(res.status, paths[i]).toBe(404);
        expect(res.body, paths[i]).toEqual({ detail: 'Not found.' });
        expect(res.headers.get('content-type'), paths[i]).toBe(
          'application/json',
        );
      }
    });

    it('answers a wrong method with 405 and the Allow header', async () => {
      const res = await api.request('PUT', '/api/v2/projects/');

      expect(res.status).toBe(405);
      expect(res.body).toEqual({ detail: 'Method "PUT" not allowed.' });
      expect(res.headers.get('allow')).toBe('GET, HEAD, POST, OPTIONS');
    });

    it('answers HEAD like GET without a body and OPTIONS with the Allow header', async () => {
      const get = await api.get('/api/v2/projects/');
      const head = await api.request('HEAD', '/api/v2/projects/');
      const options = await api.request(
        'OPTIONS',
        '/api/v2/samples/' + sampleId,
      );

      expect(head.status).toBe(200);
      expect(head.text).toBe('');
      expect(head.headers.get('content-length')).toBe(
        String(Buffer.byteLength(get.text)),
      );
      expect(options.status).toBe(200);
      expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    });

    it('answers bad JSON, bad shapes and bad filter values with JSON 400s', async () => {
      const badJson = await api.request('POST', '/api/v2/projects/', {
        rawBody: '{"name": ',
      });
      const list = await api.request('POST', '/api/v2/projects/', {
        body: [1, 2],
      });
      const missing = await api.post('/api/v2/projects/', {});
      const badChoice = await api.get(
        `/api/v2/project-samples/${projectId}?status=bogus`,
      );

      expect(badJson.status).toBe(400);
      expect(badJson.body.detail).toMatch(/JSON parse error/);
      expect(list.status).toBe(400);
      expect(list.body.non_field_errors[0]).toMatch(
        /Expected a dictionary, but got list/,
      );
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual({
        name: ['This field is required.'],
        pipeline_capabilities: ['This field is required.'],
      });
      expect(badChoice.status).toBe(400);
      expect(badChoice.body.status[0]).toMatch(
        /bogus is not one of the available choices/,
      );
    });

    it('validates gncv:// destinations with a field error', async () => {
      const cases = [
        's3://bucket/x.fastq.gz',
        'gncv://',
        'gncv://folder/',
        'gncv://a//b.fastq.gz',
        'gncv://a/../b.fastq.gz',
      ];

      const answers = await Promise.all(
        cases.map((d) =>
          api.post('/api/v2/uploads-post-data/', { destination_path: d }),
        ),
      );

      for (const [i, res] of answers.entries()) {
        expect(res.status, cases[i]).toBe(400);
        expect(Object.keys(res.body), cases[i]).toEqual(['destination_path']);
        expect(res.body.destination_path[0], cases[i]).toEqual(
          expect.any(String),
        );
      }
    });

    it('refuses to assign an upload twice with a field error', async () => {
      const rows = await sheet('gncv://api-test/', 'assigned');

      const res = await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: rows.slice(0, 1),
        metadata: null,
      });

      expect(res.status).toBe(400);
      expect(res.body.uploads[0]).toMatch(/already assigned/);
    });

    it('accepts the empty final batch the CLI sends for multiples of 200 rows', async () => {
      const res = await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: [],
        metadata: null,
      });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({ uploads: [], metadata: null });
    });

    it('refuses requests whose Host is not a loopback name', async () => {
      const url = new URL(t.sandbox.info.api_url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: '/api/v2/user/',
            headers: { Host: 'attacker.example' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });

      expect(status).toBe(403);
    });

    it('refuses to listen on a non-loopback address', async () => {
      await expect(
        startSandbox({
          dataDir: path.join(work, 'never'),
          hostname: '0.0.0.0',
        }),
      ).rejects.toThrow(/not a loopback address/);
    });
  });

  describe('uploads and the sample sheet', () => {
    it('answers the same record for a repeated destination and flips it to succeeded once stored', async () => {
      const files = copyData(['naming/SAMPLE3_R1_L001.fastq.gz'], work);
      const destination = 'gncv://api-test/repeat/SAMPLE3_R1_L001.fastq.gz';
      const first = await api.post('/api/v2/uploads-post-data/', {
        destination_path: destination,
      });

      await uploadFile(api, s3Client(credentials), files[0], destination);
      const again = await api.post('/api/v2/uploads-post-data/', {
        destination_path: destination,
      });

      expect(first.body.last_status.status).toBe('started');
      expect(again.body.id).toBe(first.body.id);
      expect(again.body.last_status.status).toBe('succeeded');
    });

    it('shows an upload in the sheet before its object exists, but refuses to assign it', async () => {
      const destination = 'gncv://api-test/unstored/S9_R1.fastq.gz';
      await api.post('/api/v2/uploads-post-data/', {
        destination_path: destination,
      });

      const rows = await sheet('gncv://api-test/unstored/');
      const res = await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: rows,
        metadata: null,
      });

      expect(
        rows.map((r) => [r.client_id, r.fastq.r1?.last_status.status]),
      ).toEqual([['S9', 'started']]);
      expect(res.status).toBe(400);
      expect(res.body.uploads[0]).toMatch(/not complete/);
    });

    it('lists uploads as unassigned until they are assigned, then as assigned', async () => {
      const files = copyData(
        ['naming/SAMPLE5_R1.FASTQ.GZ', 'naming/SAMPLE5_R2.FASTQ.GZ'],
        work,
      );
      const s3 = s3Client(credentials);
      await uploadFile(
        api,
        s3,
        files[0],
        'gncv://api-test/cycle/SAMPLE5_R1.FASTQ.GZ',
      );
      await uploadFile(
        api,
        s3,
        files[1],
        'gncv://api-test/cycle/SAMPLE5_R2.FASTQ.GZ',
      );
      const before = await sheet('gncv://api-test/cycle/');

      await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: before,
        metadata: null,
      });

      expect(before.map((r) => r.client_id)).toEqual(['SAMPLE5']);
      expect(await sheet('gncv://api-test/cycle/')).toEqual([]);
      expect(
        (await sheet('gncv://api-test/cycle/', 'assigned')).map(
          (r) => r.client_id,
        ),
      ).toEqual(['SAMPLE5']);
      expect((await sheet('gncv://api-test/cycle/', 'all')).length).toBe(1);
    });
  });

  describe('samples', () => {
    it('filters project samples by status, search and hidden status', async () => {
      const succeeded = await api.get(
        `/api/v2/project-samples/${projectId}?status=succeeded&search=SAMPLE12`,
      );
      await api.post(`/api/v2/project-hide-samples/${projectId}`, {
        sample_ids: [singleSampleId],
      });
      const visible = await api.get(
        `/api/v2/project-samples/${projectId}?hidden_status=visible`,
      );
      const hidden = await api.get(
        `/api/v2/project-samples/${projectId}?hidden_status=hidden`,
      );
      await api.post(`/api/v2/project-unhide-samples/${projectId}`, {
        sample_ids: [singleSampleId],
      });

      const ids = (r: typeof visible): string[] =>
        r.body.results.map((s: { id: string }) => s.id);
      expect(ids(succeeded)).toEqual([singleSampleId]);
      expect(ids(visible)).not.toContain(singleSampleId);
      expect(ids(hidden)).toEqual([singleSampleId]);
    });

    it('keeps the status history created, running, succeeded', async () => {
      const res = await api.get(`/api/v2/sample-statuses/${sampleId}`);

      expect(res.body.results.map((s: { status: string }) => s.status)).toEqual(
        ['created', 'running', 'succeeded'],
      );
    });

    it('deletes samples with a JSON body on DELETE', async () => {
      const files = copyData(['naming/SAMPLE7_R1.Fq.Gz'], work);
      await uploadFile(
        api,
        s3Client(credentials),
        files[0],
        'gncv://api-test/delete/SAMPLE7_R1.Fq.Gz',
      );
      const assigned = await api.post(`/api/v2/project-samples/${projectId}`, {
        uploads: await sheet('gncv://api-test/delete/'),
        metadata: null,
      });
      const id = assigned.body.uploads[0].sample as string;

      const empty = await api.request(
        'DELETE',
        `/api/v2/project-delete-samples/${projectId}`,
        { body: { sample_ids: [] } },
      );
      const res = await api.request(
        'DELETE',
        `/api/v2/project-delete-samples/${projectId}`,
        { body: { sample_ids: [id] } },
      );
      const gone = await api.get(`/api/v2/samples/${id}`);

      expect(empty.status).toBe(400);
      expect(empty.body).toEqual({
        sample_ids: ['This list may not be empty.'],
      });
      expect(res.status).toBe(204);
      expect(gone.status).toBe(404);
    });
  });
});
