/**
 * The client against real recorded platform traffic (the platform CLI's VCR
 * cassettes in ../shared/reference/cassettes):
 *
 * 1. every recorded response body the client has a model for parses with
 *    that model, and every recorded error body renders to a message;
 * 2. replay: a node:http server on 127.0.0.1 answers from a cassette, and
 *    the requests our client builds must match the recorded method, path
 *    and query parameter names, in order.
 *
 * Documented value differences (names are identical): none of the replayed
 * requests needs one; our defaults equal the recorded CLI values
 * (sort_by=modified, sort_order=desc, status=all, archive_status=all for
 * project samples; sort_by=created, sort_order=desc for the sample sheet;
 * hidden_status=visible for projects). The download command's
 * archive_status=available and search='' are passed explicitly, as the
 * download engine does. Sample-sheet rows are forwarded to the assignment
 * exactly as the server sent them, where the CLI rewrote their timestamps
 * to the `+00:00` form (same instants). We send `User-Agent: gencove-desktop/<v>` instead of
 * the CLI's `Gencove-cli-version`, which is not compared.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { renderErrorBody } from '../errors.ts';
import { GencoveClient, parseChecksumLine } from './client.ts';
import {
  AssignRequestSchema,
  AssignResponseSchema,
  FileTypeSchema,
  JwtTokensSchema,
  MaintenanceBodySchema,
  PaginatedSchema,
  PipelineCapabilitySchema,
  ProjectSchema,
  SampleDetailsSchema,
  SampleFileSchema,
  SampleListSchema,
  SampleMetadataSchema,
  SampleQcSchema,
  SampleSheetRowSchema,
  UploadCredentialsSchema,
  UploadSlotSchema,
} from './models.ts';
import {
  listCassettes,
  loadCassette as readCassette,
  startTestServer,
} from './testing.ts';
import type { Interaction, TestServer } from './testing.ts';
import { SHARED_REFERENCE } from '../../../test/shared.ts';

const cassetteDir = path.join(SHARED_REFERENCE, 'cassettes');
const haveCassettes = fs.existsSync(cassetteDir);

const ID = '11111111-1111-1111-1111-111111111111';

const cache = new Map<string, Interaction[]>();
/** Reads a cassette once per test file. */
function loadCassette(file: string): Interaction[] {
  let interactions = cache.get(file);
  if (!interactions) {
    interactions = readCassette(file);
    cache.set(file, interactions);
  }
  return interactions;
}

/** Route key of an API uri: method + path with ids as {id}. */
function routeOf(method: string, uri: string): string | null {
  const url = new URL(uri);
  if (!url.pathname.startsWith('/api/v2/')) return null;
  const rest = url.pathname
    .slice('/api/v2/'.length)
    .replace(
      /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
      '{id}',
    );
  return `${method} ${rest}`;
}

type BodyCheck = (body: unknown, text: string) => void;

const paginated =
  (item: Parameters<typeof PaginatedSchema>[0]): BodyCheck =>
  (body) => {
    PaginatedSchema(item).parse(body);
  };
const single =
  (schema: { parse(v: unknown): unknown }): BodyCheck =>
  (body) => {
    schema.parse(body);
  };

/** Models of 2xx answers, by route. */
const MODELS: Record<string, BodyCheck> = {
  'POST jwt-create/': single(JwtTokensSchema),
  'GET projects/': paginated(ProjectSchema),
  'GET projects/{id}': single(ProjectSchema),
  'POST projects/': single(ProjectSchema),
  'GET pipeline-capabilities/': paginated(PipelineCapabilitySchema),
  'GET pipeline/{id}': (body) => {
    const caps = (body as { capabilities: unknown[] }).capabilities;
    expect(Array.isArray(caps)).toBe(true);
    for (const cap of caps) PipelineCapabilitySchema.parse(cap);
  },
  'GET project-samples/{id}': paginated(SampleListSchema),
  'POST project-samples/{id}': single(AssignResponseSchema),
  'GET samples/{id}': single(SampleDetailsSchema),
  'GET sample-quality-controls/{id}': paginated(SampleQcSchema),
  'GET sample-metadata/{id}': single(SampleMetadataSchema),
  'GET file-types/': paginated(FileTypeSchema),
  'GET files/{id}.sha256': (_body, text) => {
    expect(parseChecksumLine(text)).not.toBeNull();
  },
  'POST upload-credentials/': single(UploadCredentialsSchema),
  'POST uploads-post-data/': single(UploadSlotSchema),
  'POST uploads-url/': single(UploadSlotSchema),
  'GET sample-sheet/': paginated(SampleSheetRowSchema),
  'GET batches/{id}': (body) => {
    for (const file of (body as { files: unknown[] }).files) {
      SampleFileSchema.parse(file);
    }
  },
};

/** Replaces ISO timestamp strings by their epoch milliseconds. */
function asInstants(value: unknown): unknown {
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\d[T ]\d\d:/.test(value)) {
    return Date.parse(value.replace(' ', 'T'));
  }
  if (Array.isArray(value)) return value.map(asInstants);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, asInstants(v)]),
    );
  }
  return value;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe('recorded platform traffic', () => {
  // Missing recordings are a broken checkout, not a reason to test nothing.
  it('finds the recordings', () => {
    expect(haveCassettes, `no cassettes in ${cassetteDir}`).toBe(true);
  });
  const files = haveCassettes ? listCassettes(cassetteDir) : [];

  describe('models', () => {
    it('reads every cassette, Python tags included', () => {
      expect(files.length).toBeGreaterThan(50);
      for (const file of files) {
        const interactions = loadCassette(file);
        expect(interactions.length, file).toBeGreaterThan(0);
      }
    });

    it('parses every recorded answer the client has a model for', () => {
      const parsedRoutes = new Set<string>();
      let parsed = 0;
      for (const file of files) {
        for (const { request, response } of loadCassette(file)) {
          const route = routeOf(request.method, request.uri);
          if (!route) continue;
          const body = parseJson(response.body);
          const where = `${path.relative(cassetteDir, file)}: ${route} ${response.status}`;
          if (response.status >= 200 && response.status < 300) {
            const check = MODELS[route];
            if (!check) continue;
            try {
              check(body, response.body);
            } catch (err) {
              throw new Error(`${where}: ${String(err)}`);
            }
            parsedRoutes.add(route);
            parsed++;
          } else if (response.status === 503) {
            expect(
              () => MaintenanceBodySchema.parse(body),
              where,
            ).not.toThrow();
          } else {
            expect(renderErrorBody(body).length, where).toBeGreaterThan(0);
          }
        }
      }

      expect(parsed).toBeGreaterThan(100);
      // Every model was exercised by at least one recording.
      expect([...parsedRoutes].sort()).toEqual(Object.keys(MODELS).sort());
    });

    it('parses every recorded assignment request body', () => {
      let seen = 0;
      for (const file of files) {
        for (const { request } of loadCassette(file)) {
          if (
            routeOf(request.method, request.uri) !== 'POST project-samples/{id}'
          ) {
            continue;
          }
          AssignRequestSchema.parse(JSON.parse(request.body ?? ''));
          seen++;
        }
      }
      expect(seen).toBeGreaterThan(0);
    });
  });

  describe('replay', () => {
    let server: TestServer | null = null;
    let client: GencoveClient | null = null;

    afterEach(async () => {
      client?.close();
      await server?.close();
      server = null;
      client = null;
    });

    /**
     * Serves the cassette's API answers: each request gets the next unused
     * recording of the same method and path (ids and host ignored).
     */
    async function replay(file: string): Promise<{
      recorded: Interaction[];
      client: GencoveClient;
      server: TestServer;
    }> {
      const recorded = loadCassette(path.join(cassetteDir, file)).filter(
        (i) => routeOf(i.request.method, i.request.uri) !== null,
      );
      const used = new Set<number>();
      server = await startTestServer((req, res) => {
        const route = routeOf(req.method, `http://x${req.path}`);
        const index = recorded.findIndex(
          (i, n) =>
            !used.has(n) && routeOf(i.request.method, i.request.uri) === route,
        );
        if (index === -1) {
          res.writeHead(599);
          res.end(`no recording left for ${route}`);
          return;
        }
        used.add(index);
        const { response } = recorded[index];
        const type =
          response.headers['Content-Type']?.[0] ?? 'application/json';
        res.writeHead(response.status, { 'content-type': type });
        res.end(response.body);
      });
      client = new GencoveClient({
        host: server.url,
        auth: {
          kind: 'password',
          email: 'email@example.com',
          password: 'mock_password',
        },
        clientVersion: 'test',
      });
      return { recorded, client, server };
    }

    /** Our requests vs the recorded ones: method, path, query names. */
    function expectSameRequests(
      recorded: Interaction[],
      server: TestServer,
    ): void {
      const shape = (method: string, uri: string) => {
        const url = new URL(uri);
        return {
          route: routeOf(method, uri),
          query: [...new Set(url.searchParams.keys())].sort(),
        };
      };
      const ours = server.requests.map((r) =>
        shape(r.method, `http://x${r.path}?${r.query.toString()}`),
      );
      const theirs = recorded.map((i) =>
        shape(i.request.method, i.request.uri),
      );
      expect(ours).toEqual(theirs);
    }

    it('lists project samples as recorded (default filters)', async () => {
      const { recorded, client, server } = await replay(
        'projects/test_list_project_samples.yaml',
      );

      const samples = await client.listProjectSamples(ID);

      expect(samples.length).toBeGreaterThan(0);
      expectSameRequests(recorded, server);
      const query = server.requests[1].query;
      expect(query.get('offset')).toBe('0');
      expect(query.get('limit')).toBe('200');
    });

    it('lists project samples with hidden ones as recorded', async () => {
      const { recorded, client, server } = await replay(
        'projects/test_list_project_samples_include_hidden.yaml',
      );

      await client.listProjectSamples(ID, { hidden: true });

      expectSameRequests(recorded, server);
      expect(server.requests[1].query.get('hidden_status')).toBe('all');
    });

    it('lists project samples for a download, then file types and details', async () => {
      const { recorded, client, server } = await replay(
        'download/test_download_urls_to_file.yaml',
      );

      const samples = await client.listProjectSamples(ID, {
        search: '',
        archiveStatus: 'available',
      });
      await client.getFileTypes({ projectId: ID });
      for (const s of samples) await client.getSample(s.id);

      expectSameRequests(recorded, server);
    });

    it('reads sample details and QC as recorded', async () => {
      const { recorded, client, server } = await replay(
        'samples/test_samples_download_file_qc.yaml',
      );

      const sample = await client.getSample(ID);
      const qc = await client.getSampleQc(ID);

      expect(sample.files.length).toBeGreaterThan(0);
      expect(qc[0].quality_control_type.key).toBeTruthy();
      expectSameRequests(recorded, server);
    });

    it('reads a checksum line as recorded', async () => {
      const { recorded, client, server } = await replay(
        'samples/test_samples_download_file_local_checksum.yaml',
      );
      const storageFree = recorded;

      const sample = await client.getSample(ID);
      const file =
        sample.files.find((f) => f.checksum_sha256) ?? sample.files[0];
      const wanted = new URL(
        storageFree.find((i) => i.request.uri.includes('.sha256'))!.request.uri,
      ).searchParams.get('filename')!;
      const line = await client.getFileChecksum(file.id, wanted);

      expect(parseChecksumLine(line)?.filename).toBe(wanted);
      expectSameRequests(recorded, server);
    });

    it('asks for credentials and an upload slot as recorded', async () => {
      const { recorded, client, server } = await replay(
        'upload/test_upload.yaml',
      );
      const slotRequest = recorded.find((i) =>
        i.request.uri.endsWith('/uploads-post-data/'),
      )!;
      const destination = JSON.parse(
        slotRequest.request.body!,
      ).destination_path;

      const credentials = await client.getUploadCredentials();
      const slot = await client.createUploadSlot(destination);

      expect(credentials.access_key).toBe('mock_access_key');
      expect(slot.last_status?.status).toBe('started');
      expectSameRequests(recorded, server);
      expect(JSON.parse(server.requests[2].body)).toEqual(
        JSON.parse(slotRequest.request.body!),
      );
      expect(JSON.parse(server.requests[1].body)).toEqual(
        JSON.parse(recorded[1].request.body!),
      );
    });

    it('reads the sample sheet and assigns as recorded, metadata included', async () => {
      const { recorded, client, server } = await replay(
        'upload/test_upload_and_run_immediately__with_metadata.yaml',
      );
      const sheetUri = new URL(
        recorded.find((i) => i.request.uri.includes('/sample-sheet/'))!.request
          .uri,
      );
      const assign = recorded.find(
        (i) =>
          routeOf(i.request.method, i.request.uri) ===
          'POST project-samples/{id}',
      )!;
      const recordedBody = JSON.parse(assign.request.body!);

      const credentials = await client.getUploadCredentials();
      const slot = await client.createUploadSlot(
        JSON.parse(recorded[2].request.body!).destination_path,
      );
      const rows = await client.listSampleSheet({
        search: sheetUri.searchParams.get('search')!,
        status: 'unassigned',
      });
      const answer = await client.assignSamples(
        ID,
        rows,
        recordedBody.metadata,
      );

      expect(credentials.token).toBeTruthy();
      expect(rows[0].fastq.r1.upload).toBe(slot.id);
      expect(answer.uploads[0].sample).toBeTruthy();
      expectSameRequests(recorded, server);
      // Rows go back as the server sent them; the CLI rewrote timestamps
      // to the +00:00 form, so timestamps are compared as instants.
      const sent = server.requests.find((r) =>
        r.path.startsWith('/api/v2/project-samples/'),
      )!;
      expect(asInstants(JSON.parse(sent.body))).toEqual(
        asInstants(recordedBody),
      );
      const sheet = server.requests.find(
        (r) => r.path === '/api/v2/sample-sheet/',
      )!;
      for (const name of [
        'search',
        'status',
        'sort_by',
        'sort_order',
        'offset',
        'limit',
      ]) {
        expect(sheet.query.get(name), name).toBe(
          sheetUri.searchParams.get(name),
        );
      }
    });

    it('lists all uploads of the sample sheet as recorded', async () => {
      const { recorded, client, server } = await replay(
        'uploads/test_list_uploads.yaml',
      );

      const rows = await client.listSampleSheet({});

      expect(rows.length).toBeGreaterThan(0);
      expectSameRequests(recorded, server);
    });

    it('lists projects and their capabilities as recorded', async () => {
      const { recorded, client, server } = await replay(
        'projects/test_list_projects.yaml',
      );

      const projects = await client.listProjects();
      const capabilities = await client.getPipelineCapabilities(
        projects.map((p) => p.pipeline_capabilities ?? ''),
      );

      expect(projects.length).toBeGreaterThan(0);
      expect(capabilities.length).toBeGreaterThan(0);
      expectSameRequests(recorded, server);
    });

    it('lists reference genome file types and the project as recorded', async () => {
      const { recorded, client, server } = await replay(
        'projects/get_reference_genome/test_get_reference_genome__success_specific_file_type.yaml',
      );

      const types = await client.getFileTypes({
        projectId: ID,
        object: 'reference_genome',
      });
      const project = await client.getProject(ID);

      expect(types.some((t) => t.key.startsWith('genome-'))).toBe(true);
      // Recorded project files carry `size` as a numeric string.
      expect(project.files?.every((f) => typeof f.size === 'number')).toBe(
        true,
      );
      expectSameRequests(recorded, server);
    });

    it('reports the recorded maintenance 503 at sign-in', async () => {
      const { client } = await replay(
        'projects/test_delete_projects__returns_maintenance_error_503.yaml',
      );

      await expect(client.login()).rejects.toMatchObject({
        name: 'MaintenanceError',
        eta: '2022-07-27 17:00:00',
      });
    });
  });
});
