/**
 * GencoveClient against real node:http servers on 127.0.0.1 that play the
 * platform's part: pagination, authentication (refresh, re-login, OTP),
 * maintenance, retries and network failures.
 */
import type http from 'node:http';
import { inspect } from 'node:util';

import { afterEach, describe, expect, it } from 'vitest';

import {
  ApiError,
  AuthError,
  CancelledError,
  MaintenanceError,
  NetworkError,
  ProtocolError,
  ValidationError,
} from '../errors.ts';
import { GencoveClient, normalizeHost, normalizeUuid } from './client.ts';
import type { ClientOptions } from './client.ts';
import { closedPort, sendJson, startTestServer } from './testing.ts';
import type { TestHandler, TestServer } from './testing.ts';

const PROJECT = '0b5e3c1a-7d2f-4a6b-9c8d-1e2f3a4b5c6d';
const SAMPLE = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

let servers: TestServer[] = [];
let clients: GencoveClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  clients = [];
});

async function serve(handler: TestHandler): Promise<TestServer> {
  const server = await startTestServer(handler);
  servers.push(server);
  return server;
}

/** Sleeps recorded instead of waited. */
function fakeSleep(): {
  delays: number[];
  sleep: (ms: number) => Promise<void>;
} {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}

function makeClient(
  host: string,
  overrides: Partial<ClientOptions> = {},
): GencoveClient {
  const client = new GencoveClient({
    host,
    auth: { kind: 'api-key', apiKey: 'key-123' },
    clientVersion: '1.2.3',
    sleep: async () => {},
    random: () => 0.5,
    ...overrides,
  });
  clients.push(client);
  return client;
}

function project(n: number): Record<string, unknown> {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    name: `Project ${n}`,
    description: '',
    created: '2024-01-01T00:00:00Z',
    modified: '2024-01-01T00:00:00Z',
    sample_count: n,
    pipeline_capabilities: '11111111-1111-4111-8111-111111111111',
  };
}

const apiPaths = (server: TestServer): string[] =>
  server.requests.map((r) => `${r.method} ${r.path}`);

describe('GencoveClient', () => {
  describe('constructor', () => {
    it.each([
      ['https://api.gencove.com', 'https://api.gencove.com'],
      ['https://api.gencove.com/', 'https://api.gencove.com'],
      ['HTTPS://API.Gencove.com:8443/', 'https://api.gencove.com:8443'],
      ['  http://127.0.0.1:8200  ', 'http://127.0.0.1:8200'],
      ['https://api.gencove.com:443', 'https://api.gencove.com'],
    ])('accepts host %j as %j', (input, expected) => {
      expect(normalizeHost(input)).toBe(expected);
    });

    it.each([
      ['', /empty/],
      ['api.gencove.com', /no scheme.*https:\/\/api\.gencove\.com/],
      ['ftp://api.gencove.com', /uses ftp; only http and https/],
      ['https://api.gencove.com/api/v2/', /has a path/],
      ['https://api.gencove.com?x=1', /has a path, query/],
      ['https://user:pw@api.gencove.com', /user name or password/],
    ])('rejects host %j with a ValidationError', (input, message) => {
      expect(() => makeClient(input)).toThrow(ValidationError);
      expect(() => makeClient(input)).toThrow(message);
    });

    it('rejects empty credentials', () => {
      expect(() =>
        makeClient('https://h.test', {
          auth: { kind: 'api-key', apiKey: ' ' },
        }),
      ).toThrow(/API key is empty/);
    });
  });

  describe('normalizeUuid()', () => {
    it('accepts a UUID without hyphens or in upper case', () => {
      expect(normalizeUuid('0B5E3C1A7D2F4A6B9C8D1E2F3A4B5C6D')).toBe(PROJECT);
      expect(normalizeUuid(` ${PROJECT.toUpperCase()} `)).toBe(PROJECT);
    });

    it('rejects a non-UUID before any request is sent', async () => {
      const server = await serve((_req, res) => sendJson(res, 200, {}));
      const client = makeClient(server.url);

      await expect(client.getProject('not-a-uuid')).rejects.toThrow(
        /project id "not-a-uuid" is not a valid UUID/,
      );
      await expect(client.getSample(`${SAMPLE}0`)).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('requests', () => {
    it('identifies itself as gencove-desktop and sends the API key', async () => {
      const server = await serve((_req, res) =>
        sendJson(res, 200, { id: 'u1', email: 'a@b.c' }),
      );
      const client = makeClient(server.url);

      const user = await client.login();

      expect(user.email).toBe('a@b.c');
      const [req] = server.requests;
      expect(req.path).toBe('/api/v2/user/');
      expect(req.headers['user-agent']).toBe('gencove-desktop/1.2.3');
      expect(req.headers.authorization).toBe('Api-Key key-123');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['gencove-cli-version']).toBeUndefined();
    });

    it('normalises a compact UUID into the path', async () => {
      const server = await serve((_req, res) =>
        sendJson(res, 200, { id: SAMPLE, client_id: 'S1', files: [] }),
      );
      const client = makeClient(server.url);

      await client.getSample(SAMPLE.replaceAll('-', ''));

      expect(server.requests[0].path).toBe(`/api/v2/samples/${SAMPLE}`);
    });

    it('returns the raw checksum line', async () => {
      const line = `${'ab'.repeat(32)} *S1_R1.fastq.gz\n`;
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(line);
      });
      const client = makeClient(server.url);

      const text = await client.getFileChecksum(SAMPLE, 'S1_R1.fastq.gz');

      expect(text).toBe(line);
      expect(server.requests[0].path).toBe(`/api/v2/files/${SAMPLE}.sha256`);
      expect(server.requests[0].query.get('filename')).toBe('S1_R1.fastq.gz');
    });

    it('renders field errors into the ApiError message', async () => {
      const server = await serve((_req, res) =>
        sendJson(res, 400, {
          destination_path: ['Destination gncv://x/a.fastq.gz is taken.'],
        }),
      );
      const client = makeClient(server.url);

      const err = await client
        .createUploadSlot('gncv://x/a.fastq.gz')
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as Error).message).toBe(
        'POST /api/v2/uploads-post-data/ failed: 400 Bad Request: destination_path: Destination gncv://x/a.fastq.gz is taken.',
      );
      // 400 is final for uploads-post-data.
      expect(server.requests).toHaveLength(1);
    });

    it('turns a non-JSON 2xx answer into a ProtocolError', async () => {
      const server = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>captive portal</html>');
      });
      const client = makeClient(server.url);

      await expect(client.getUser()).rejects.toThrow(ProtocolError);
      await expect(client.getUser()).rejects.toThrow(/not JSON/);
    });
  });

  describe('pagination', () => {
    /** 450 projects, pages of `limit` from `offset`; links on another host. */
    function pagedProjects(total: number, linkFor = defaultLink): TestHandler {
      return (req, res) => {
        const offset = Number(req.query.get('offset') ?? 0);
        const limit = Number(req.query.get('limit') ?? 100);
        const results = Array.from(
          { length: Math.max(0, Math.min(limit, total - offset)) },
          (_, i) => project(offset + i),
        );
        const next =
          offset + limit < total ? linkFor(offset + limit, limit) : null;
        sendJson(res, 200, {
          meta: { count: total, next, previous: null },
          results,
        });
      };
    }
    function defaultLink(offset: number, limit: number): string {
      return `https://example.com/api/v2/projects/?hidden_status=visible&limit=${limit}&offset=${offset}`;
    }

    it('reads every page, taking only the offset from next', async () => {
      const server = await serve(pagedProjects(450));
      const client = makeClient(server.url);

      const projects = await client.listProjects();

      expect(projects).toHaveLength(450);
      expect(projects.map((p) => p.sample_count)).toEqual(
        Array.from({ length: 450 }, (_, i) => i),
      );
      expect(server.requests.map((r) => r.query.toString())).toEqual([
        'hidden_status=visible&offset=0&limit=200',
        'hidden_status=visible&offset=200&limit=200',
        'hidden_status=visible&offset=400&limit=200',
      ]);
      expect(server.requests.every((r) => r.path === '/api/v2/projects/')).toBe(
        true,
      );
    });

    it('stops at once when next is null', async () => {
      const server = await serve(pagedProjects(3));
      const client = makeClient(server.url);

      const projects = await client.listProjects({
        hidden: true,
        search: 'x y',
      });

      expect(projects).toHaveLength(3);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0].query.get('hidden_status')).toBe('all');
      expect(server.requests[0].query.get('search')).toBe('x y');
    });

    it('fails with ProtocolError on a next link without offset', async () => {
      const server = await serve(
        pagedProjects(450, () => 'https://example.com/api/v2/projects/?page=2'),
      );
      const client = makeClient(server.url);

      await expect(client.listProjects()).rejects.toThrow(
        /pagination failed: the next link has no usable offset/,
      );
      expect(server.requests).toHaveLength(1);
    });

    it('fails with ProtocolError when next points back', async () => {
      const server = await serve(
        pagedProjects(
          450,
          () => 'https://example.com/api/v2/projects/?offset=0',
        ),
      );
      const client = makeClient(server.url);

      await expect(client.listProjects()).rejects.toThrow(
        /goes back to offset 0/,
      );
      expect(server.requests).toHaveLength(1);
    });

    it('returns one page with listProjectSamplesPage', async () => {
      const server = await serve((_req, res) =>
        sendJson(res, 200, {
          meta: { count: 1, next: null, previous: null },
          results: [{ id: SAMPLE, client_id: 'S1', failed_qc: ['format'] }],
        }),
      );
      const client = makeClient(server.url);

      const page = await client.listProjectSamplesPage(PROJECT, {
        offset: 400,
        limit: 50,
        status: 'failed',
      });

      expect(page.results[0].failed_qc).toEqual(['format']);
      expect(server.requests[0].query.toString()).toBe(
        'sort_by=modified&sort_order=desc&status=failed&archive_status=all&offset=400&limit=50',
      );
    });

    it('asks for capabilities 50 ids at a time, de-duplicated', async () => {
      const server = await serve((req, res) => {
        const ids = (req.query.get('search') ?? '').split(',');
        sendJson(res, 200, {
          meta: { count: ids.length, next: null },
          results: ids.map((id) => ({ id, name: `cap ${id}` })),
        });
      });
      const client = makeClient(server.url);
      const ids = Array.from(
        { length: 120 },
        (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );

      const caps = await client.getPipelineCapabilities([
        ...ids,
        ...ids.slice(0, 5),
      ]);

      expect(caps).toHaveLength(120);
      expect(
        server.requests.map((r) => r.query.get('search')!.split(',').length),
      ).toEqual([50, 50, 20]);
    });
  });

  describe('JWT sessions', () => {
    /** A platform with one user; access tokens are numbered. */
    function platform(options: { otp?: string; refreshWorks?: boolean } = {}) {
      const state = {
        issued: 0,
        valid: new Set<string>(),
        refreshes: 0,
        logins: 0,
      };
      const handler: TestHandler = (req, res) => {
        const body = req.body ? JSON.parse(req.body) : {};
        if (req.path === '/api/v2/jwt-create/') {
          state.logins++;
          if (body.email !== 'me@lab.org' || body.password !== 'pw') {
            sendJson(res, 401, {
              detail: 'No active account found with the given credentials',
            });
            return;
          }
          if (options.otp && body.otp_token !== options.otp) {
            sendJson(res, 401, { otp_token: ['Please enter your OTP token.'] });
            return;
          }
          const access = `access-${++state.issued}`;
          state.valid.add(access);
          sendJson(res, 200, { access, refresh: 'refresh-1' });
          return;
        }
        if (req.path === '/api/v2/jwt-refresh/') {
          state.refreshes++;
          if (options.refreshWorks === false || body.refresh !== 'refresh-1') {
            sendJson(res, 401, {
              detail: 'Token is invalid or expired',
              code: 'token_not_valid',
            });
            return;
          }
          const access = `access-${++state.issued}`;
          state.valid.add(access);
          sendJson(res, 200, { access });
          return;
        }
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!state.valid.has(token)) {
          sendJson(res, 401, {
            detail: 'Given token not valid for any token type',
            code: 'token_not_valid',
          });
          return;
        }
        sendJson(res, 200, { id: 'u1', email: 'me@lab.org' });
      };
      return { state, handler };
    }

    it('logs in with email and password and reports the tokens', async () => {
      const { handler } = platform();
      const server = await serve(handler);
      const seen: unknown[] = [];
      const client = makeClient(server.url, {
        auth: { kind: 'password', email: 'me@lab.org', password: 'pw' },
        onTokens: (t) => seen.push(t),
      });

      const user = await client.login();

      expect(user.email).toBe('me@lab.org');
      expect(seen).toEqual([{ access: 'access-1', refresh: 'refresh-1' }]);
      expect(server.requests[0].headers.authorization).toBeUndefined();
      expect(server.requests[1].headers.authorization).toBe('Bearer access-1');
    });

    it('refreshes once on 401 and repeats the call', async () => {
      const { state, handler } = platform();
      const server = await serve(handler);
      const seen: unknown[] = [];
      const client = makeClient(server.url, {
        auth: { kind: 'tokens', access: 'expired', refresh: 'refresh-1' },
        onTokens: (t) => seen.push(t),
      });

      const user = await client.getUser();

      expect(user.id).toBe('u1');
      expect(state.refreshes).toBe(1);
      expect(apiPaths(server)).toEqual([
        'GET /api/v2/user/',
        'POST /api/v2/jwt-refresh/',
        'GET /api/v2/user/',
      ]);
      expect(JSON.parse(server.requests[1].body)).toEqual({
        refresh: 'refresh-1',
      });
      expect(server.requests[2].headers.authorization).toBe('Bearer access-1');
      expect(seen).toEqual([{ access: 'access-1', refresh: 'refresh-1' }]);
      expect(client.tokens).toEqual({
        access: 'access-1',
        refresh: 'refresh-1',
      });
    });

    it('shares one refresh between concurrent calls', async () => {
      const { state, handler } = platform();
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: { kind: 'tokens', access: 'expired', refresh: 'refresh-1' },
      });

      const users = await Promise.all([
        client.getUser(),
        client.getUser(),
        client.getUser(),
      ]);

      expect(users).toHaveLength(3);
      expect(state.refreshes).toBe(1);
    });

    it('throws session-expired when the refresh is refused', async () => {
      const { handler } = platform({ refreshWorks: false });
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: { kind: 'tokens', access: 'expired', refresh: 'refresh-1' },
      });

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).kind).toBe('session-expired');
      expect(apiPaths(server)).toEqual([
        'GET /api/v2/user/',
        'POST /api/v2/jwt-refresh/',
      ]);
    });

    it('logs in again once when the refresh is refused and a password is known', async () => {
      const { state, handler } = platform({ refreshWorks: false });
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: { kind: 'password', email: 'me@lab.org', password: 'pw' },
      });
      await client.login();
      state.valid.clear();

      const user = await client.getUser();

      expect(user.id).toBe('u1');
      expect(state.logins).toBe(2);
      expect(apiPaths(server).slice(2)).toEqual([
        'GET /api/v2/user/',
        'POST /api/v2/jwt-refresh/',
        'POST /api/v2/jwt-create/',
        'GET /api/v2/user/',
      ]);
    });

    it('never refreshes with an API key: a 401 is a bad key', async () => {
      const { handler } = platform();
      const server = await serve(handler);
      const client = makeClient(server.url);

      const err = await client.login().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).kind).toBe('bad-credentials');
      expect((err as Error).message).toMatch(/API key was not accepted/);
      expect(apiPaths(server)).toEqual(['GET /api/v2/user/']);
    });

    it('reports a wrong password as bad-credentials, without retrying', async () => {
      const { handler } = platform();
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: { kind: 'password', email: 'me@lab.org', password: 'wrong' },
      });

      const err = await client.login().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).kind).toBe('bad-credentials');
      expect((err as Error).message).toMatch(/No active account found/);
      expect(server.requests).toHaveLength(1);
    });

    it('asks for a one-time code and sends it as otp_token', async () => {
      const { handler } = platform({ otp: '654321' });
      const server = await serve(handler);
      let asked = 0;
      const client = makeClient(server.url, {
        auth: {
          kind: 'password',
          email: 'me@lab.org',
          password: 'pw',
          otp: async () => {
            asked++;
            return ' 654321 ';
          },
        },
      });

      await client.login();

      expect(asked).toBe(1);
      expect(JSON.parse(server.requests[0].body)).toEqual({
        email: 'me@lab.org',
        password: 'pw',
      });
      expect(JSON.parse(server.requests[1].body)).toEqual({
        email: 'me@lab.org',
        password: 'pw',
        otp_token: '654321',
      });
    });

    it('throws otp-required when no one-time code can be asked', async () => {
      const { handler } = platform({ otp: '654321' });
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: { kind: 'password', email: 'me@lab.org', password: 'pw' },
      });

      await expect(client.login()).rejects.toMatchObject({
        name: 'AuthError',
        kind: 'otp-required',
      });
      expect(server.requests).toHaveLength(1);
    });

    it('gives up after three wrong one-time codes', async () => {
      const { handler } = platform({ otp: '654321' });
      const server = await serve(handler);
      const client = makeClient(server.url, {
        auth: {
          kind: 'password',
          email: 'me@lab.org',
          password: 'pw',
          otp: async () => '000000',
        },
      });

      await expect(client.login()).rejects.toThrow(
        /one-time code was not accepted/,
      );
      expect(server.requests).toHaveLength(4);
    });
  });

  describe('maintenance and retries', () => {
    it('throws MaintenanceError on a maintenance 503, without retrying', async () => {
      const server = await serve((_req, res) =>
        sendJson(
          res,
          503,
          {
            maintenance: true,
            maintenance_eta: '2022-10-21T17:00:00',
            maintenance_message: 'Back soon.',
          },
          { 'retry-after': '3600' },
        ),
      );
      const client = makeClient(server.url);

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(MaintenanceError);
      expect((err as MaintenanceError).eta).toBe('2022-10-21T17:00:00');
      expect((err as MaintenanceError).retryAfterMs).toBe(3_600_000);
      expect((err as Error).message).toBe(
        'The platform is down for maintenance: Back soon. ETA is 2022-10-21T17:00:00.',
      );
      expect(server.requests).toHaveLength(1);
    });

    it('waits what Retry-After says on 429, then succeeds', async () => {
      let calls = 0;
      const server = await serve((_req, res) => {
        calls++;
        if (calls === 1)
          sendJson(res, 429, { detail: 'Slow down.' }, { 'retry-after': '7' });
        else sendJson(res, 200, { id: 'u1', email: 'a@b.c' });
      });
      const { delays, sleep } = fakeSleep();
      const client = makeClient(server.url, { sleep });

      await client.getUser();

      expect(delays).toEqual([7000]);
      expect(calls).toBe(2);
    });

    it('retries GET on 5xx with backoff until the attempts run out', async () => {
      const server = await serve((_req, res) => sendJson(res, 502, {}));
      const { delays, sleep } = fakeSleep();
      const client = makeClient(server.url, {
        sleep,
        retry: {
          baseMs: 100,
          maxMs: 1000,
          factor: 2,
          maxAttempts: 4,
          jitter: 'none',
        },
      });

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(502);
      expect(delays).toEqual([100, 200, 400]);
      expect(server.requests).toHaveLength(4);
    });

    it('does not resend an assignment after a 500', async () => {
      const server = await serve((_req, res) => sendJson(res, 500, {}));
      const client = makeClient(server.url);
      const row = { client_id: 'S1', fastq: { r1: { upload: SAMPLE } } };

      await expect(client.assignSamples(PROJECT, [row], null)).rejects.toThrow(
        ApiError,
      );
      expect(server.requests).toHaveLength(1);
    });

    it('resends an assignment after a 429 (the server did not act)', async () => {
      let calls = 0;
      const server = await serve((req, res) => {
        calls++;
        if (calls === 1) {
          sendJson(res, 429, {}, { 'retry-after': '1' });
          return;
        }
        const body = JSON.parse(req.body);
        sendJson(res, 201, {
          uploads: body.uploads.map(
            (u: { client_id: string; fastq: unknown }) => ({
              ...u,
              sample: SAMPLE,
            }),
          ),
          metadata: body.metadata,
        });
      });
      const { delays, sleep } = fakeSleep();
      const client = makeClient(server.url, { sleep });
      const row = {
        client_id: 'S1',
        fastq: { r1: { upload: SAMPLE, extra: 1 } },
      };

      const answer = await client.assignSamples(PROJECT, [row], { batch: 7 });

      expect(answer.uploads[0].sample).toBe(SAMPLE);
      expect(delays).toEqual([1000]);
      expect(JSON.parse(server.requests[1].body)).toEqual({
        uploads: [row],
        metadata: { batch: 7 },
      });
    });

    it('rejects bad assignment input before sending', async () => {
      const server = await serve((_req, res) => sendJson(res, 201, {}));
      const client = makeClient(server.url);
      const row = { client_id: 'S1', fastq: { r1: { upload: SAMPLE } } };

      await expect(client.assignSamples(PROJECT, [], null)).rejects.toThrow(
        /no uploads to assign/,
      );
      await expect(
        client.assignSamples(PROJECT, Array(201).fill(row), null),
      ).rejects.toThrow(/at most 200/);
      await expect(
        client.assignSamples(PROJECT, [{ client_id: 'S1' } as never], null),
      ).rejects.toThrow(/Upload row 1 is not a sample-sheet row: fastq/);
      expect(server.requests).toHaveLength(0);
    });

    it('retries an upload slot answer without last_status', async () => {
      let calls = 0;
      const server = await serve((req, res) => {
        calls++;
        const slot = {
          id: SAMPLE,
          destination_path: JSON.parse(req.body).destination_path,
          s3: { bucket: 'b', object_name: 'k' },
        };
        sendJson(
          res,
          201,
          calls < 3 ? slot : { ...slot, last_status: { status: 'started' } },
        );
      });
      const client = makeClient(server.url);

      const slot = await client.createUploadSlot('gncv://batch/S1_R1.fastq.gz');

      expect(slot.last_status?.status).toBe('started');
      expect(calls).toBe(3);
    });

    it('retries an upload slot on 429 up to 20 times', async () => {
      const server = await serve((_req, res) => sendJson(res, 429, {}));
      const client = makeClient(server.url);

      await expect(
        client.createUploadSlot('gncv://batch/S1_R1.fastq.gz'),
      ).rejects.toMatchObject({ status: 429 });
      expect(server.requests).toHaveLength(20);
    });

    it('rejects a destination that is not a gncv:// file', async () => {
      const client = makeClient('http://127.0.0.1:1');

      await expect(client.createUploadSlot('s3://x/y')).rejects.toThrow(
        /must start with gncv:\/\//,
      );
      await expect(client.createUploadSlot('gncv://batch/')).rejects.toThrow(
        /names a folder/,
      );
    });
  });

  describe('network errors', () => {
    it('reports a refused connection with the host, after retrying', async () => {
      const port = await closedPort();
      const { delays, sleep } = fakeSleep();
      const client = makeClient(`http://127.0.0.1:${port}`, {
        sleep,
        retry: {
          baseMs: 10,
          maxMs: 10,
          factor: 1,
          maxAttempts: 3,
          jitter: 'none',
        },
      });

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).kind).toBe('refused');
      expect((err as Error).message).toBe(
        `Cannot reach 127.0.0.1:${port} (connection refused): is the server running?`,
      );
      expect(delays).toEqual([10, 10]);
      // The cause keeps the code, not the request (with its API key).
      expect(inspect(err, { depth: 20 })).not.toMatch(/key-123/);
      expect(((err as Error).cause as { code: string }).code).toBe(
        'ECONNREFUSED',
      );
    });

    it('reports an unknown host without retrying', async () => {
      const { delays, sleep } = fakeSleep();
      const client = makeClient('http://no-such-host.invalid', { sleep });

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).kind).toBe('unknown-host');
      expect((err as Error).message).toMatch(
        /^Cannot reach no-such-host\.invalid \((unknown host|host name lookup failed for now)\)/,
      );
      if ((err as NetworkError).code === 'ENOTFOUND')
        expect(delays).toEqual([]);
    });

    it('reports a dropped connection as reset and does not resend an assignment', async () => {
      const server = await serve((_req, res: http.ServerResponse) => {
        res.socket?.destroy();
      });
      const client = makeClient(server.url);
      const row = { client_id: 'S1', fastq: { r1: { upload: SAMPLE } } };

      const err = await client
        .assignSamples(PROJECT, [row], null)
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).kind).toBe('reset');
      expect((err as NetworkError).mayHaveReachedServer).toBe(true);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a GET after a dropped connection', async () => {
      let calls = 0;
      const server = await serve((_req, res) => {
        calls++;
        if (calls === 1) res.socket?.destroy();
        else sendJson(res, 200, { id: 'u1', email: 'a@b.c' });
      });
      const client = makeClient(server.url);

      await expect(client.getUser()).resolves.toMatchObject({ id: 'u1' });
      expect(calls).toBe(2);
    });

    it('reports a server that does not answer as a timeout', async () => {
      const server = await serve(() => {
        // Never answers.
      });
      const client = makeClient(server.url, {
        timeoutMs: 150,
        retry: {
          baseMs: 0,
          maxMs: 0,
          factor: 1,
          maxAttempts: 1,
          jitter: 'none',
        },
      });

      const err = await client.getUser().catch((e: unknown) => e);

      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).kind).toBe('timeout');
      expect((err as Error).message).toMatch(
        /^No answer from 127\.0\.0\.1:\d+/,
      );
    });

    it('ends with CancelledError when the signal aborts mid-request', async () => {
      const server = await serve(() => {
        // Never answers.
      });
      const controller = new AbortController();
      const client = makeClient(server.url, { signal: controller.signal });

      const pending = client.getUser().catch((e: unknown) => e);
      await waitFor(() => server.requests.length === 1);
      controller.abort();
      const err = await pending;

      expect(err).toBeInstanceOf(CancelledError);
      expect(server.requests).toHaveLength(1);
    });

    it('ends with CancelledError for a per-call signal already aborted', async () => {
      const server = await serve((_req, res) => sendJson(res, 200, {}));
      const client = makeClient(server.url);

      await expect(
        client.getProjectStats(PROJECT, { signal: AbortSignal.abort() }),
      ).rejects.toBeInstanceOf(CancelledError);
      expect(server.requests).toHaveLength(0);
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(condition()).toBe(true);
}
