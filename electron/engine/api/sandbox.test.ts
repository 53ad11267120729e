/**
 * GencoveClient against the real built-in sandbox on a loopback port, with
 * its own data folder in a temp dir: sign-in with a password, an API key, a
 * one-time code and saved tokens; token refresh after real expiry; projects
 * and capabilities, samples, file types, upload credentials, idempotent
 * upload slots and the sample sheet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MFA_EMAIL, MFA_OTP, startSandbox } from '../../../sandbox/server.ts';
import type { RunningSandbox } from '../../../sandbox/server.ts';
import { ApiError, AuthError } from '../errors.ts';
import { GencoveClient } from './client.ts';
import type { Auth } from './client.ts';
import { SHARED_DATA } from '../../../test/shared.ts';

/** Short-lived access tokens, so that refreshing happens for real. */
const ACCESS_TTL_SECONDS = 1;
const MISSING_ID = '9f0e8d7c-6b5a-4c3d-8e1f-0a1b2c3d4e5f';
const pairDir = path.join(SHARED_DATA, 'fastq/pairs/spades_ecoli_1K');

describe('GencoveClient on the sandbox', () => {
  let sandbox: RunningSandbox;
  let dataDir: string;
  const clients: GencoveClient[] = [];

  const connect = (
    auth: Auth,
    onTokens?: (t: { access: string; refresh: string }) => void,
  ): GencoveClient => {
    const client = new GencoveClient({
      host: sandbox.info.api_url,
      auth,
      clientVersion: 'test',
      // A failing sandbox should fail the test fast, not after 30 s.
      retry: {
        baseMs: 50,
        maxMs: 200,
        factor: 2,
        maxAttempts: 3,
        jitter: 'full',
      },
      onTokens,
    });
    clients.push(client);
    return client;
  };
  const withKey = () =>
    connect({ kind: 'api-key', apiKey: sandbox.info.api_key });
  const withPassword = (email = sandbox.info.email) =>
    connect({ kind: 'password', email, password: sandbox.info.password });

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gd-api-sandbox-'));
    sandbox = await startSandbox({
      dataDir,
      port: 0,
      mfaUser: true,
      accessTokenTtlSeconds: ACCESS_TTL_SECONDS,
    });
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await sandbox?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('login()', () => {
    it('signs in with email and password and reports the tokens', async () => {
      const tokens: unknown[] = [];
      const client = connect(
        {
          kind: 'password',
          email: sandbox.info.email,
          password: sandbox.info.password,
        },
        (t) => tokens.push(t),
      );

      const user = await client.login();

      expect(user.email).toBe(sandbox.info.email);
      expect(tokens).toEqual([client.tokens]);
    });

    it('signs in with the API key', async () => {
      const user = await withKey().login();

      expect(user.email).toBe(sandbox.info.email);
    });

    it('refreshes an expired access token from saved tokens by itself', async () => {
      const first = withPassword();
      await first.login();
      const renewed: { access: string; refresh: string }[] = [];
      const client = connect({ kind: 'tokens', ...first.tokens! }, (t) =>
        renewed.push(t),
      );
      await new Promise((r) => setTimeout(r, ACCESS_TTL_SECONDS * 1000 + 300));

      const user = await client.getUser();

      expect(user.email).toBe(sandbox.info.email);
      expect(renewed).toHaveLength(1);
      expect(renewed[0].access).not.toBe(first.tokens!.access);
      expect(client.tokens).toEqual(renewed[0]);
    });

    it('reports a wrong password and a wrong key as bad credentials', async () => {
      const wrongPassword = connect({
        kind: 'password',
        email: sandbox.info.email,
        password: 'not-the-password',
      });
      const wrongKey = connect({ kind: 'api-key', apiKey: 'not-a-key' });

      await expect(wrongPassword.login()).rejects.toMatchObject({
        name: 'AuthError',
        kind: 'bad-credentials',
      });
      const err = await wrongKey.login().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).kind).toBe('bad-credentials');
    });

    it('asks the MFA account for its one-time code', async () => {
      let asked = 0;
      const client = connect({
        kind: 'password',
        email: MFA_EMAIL,
        password: sandbox.info.password,
        otp: async () => {
          asked++;
          return MFA_OTP;
        },
      });

      await expect(client.login()).resolves.toMatchObject({
        email: MFA_EMAIL,
      });
      expect(asked).toBe(1);
      await expect(withPassword(MFA_EMAIL).login()).rejects.toMatchObject({
        kind: 'otp-required',
      });
    });
  });

  describe('projects and samples', () => {
    it('lists the demo projects with their capabilities', async () => {
      const client = withKey();

      const projects = await client.listProjects();
      const capabilities = await client.getPipelineCapabilities(
        projects.map((p) => p.pipeline_capabilities ?? ''),
      );

      expect(projects.map((p) => p.id)).toEqual(
        expect.arrayContaining(sandbox.info.project_ids),
      );
      expect(new Set(capabilities.map((c) => c.id))).toEqual(
        new Set(projects.map((p) => p.pipeline_capabilities)),
      );
    });

    it('reads one project, its samples, stats and file types', async () => {
      const client = withKey();
      const id = sandbox.info.project_ids[0];

      const project = await client.getProject(id.replaceAll('-', ''));
      const samples = await client.listProjectSamples(id, { hidden: true });
      const types = await client.getFileTypes({ projectId: id });

      expect(project.id).toBe(id);
      expect(Array.isArray(samples)).toBe(true);
      expect(types.map((t) => t.key)).toContain('fastq-r1');
    });

    it('answers an unknown sample with ApiError 404', async () => {
      const err = await withKey()
        .getSample(MISSING_ID)
        .catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(404);
    });
  });

  describe('uploads', () => {
    it('issues upload credentials with the sandbox endpoint', async () => {
      const credentials = await withKey().getUploadCredentials();

      expect(credentials.access_key).toBeTruthy();
      expect(Date.parse(credentials.expiry_time)).toBeGreaterThan(Date.now());
      expect(credentials.endpoint_url).toBe(sandbox.info.s3_endpoint);
    });

    it('returns the same upload slot for the same destination', async () => {
      const client = withKey();
      const folder = `gncv://api-test-${process.pid}/`;
      const destination = `${folder}S1_R1.fastq.gz`;

      const first = await client.createUploadSlot(destination);
      const second = await client.createUploadSlot(destination);
      const sheet = await client.listSampleSheet({ search: folder });

      expect(second.id).toBe(first.id);
      expect(first.last_status?.status).toBe('started');
      expect(first.destination_path).toBe(destination);
      expect(Array.isArray(sheet)).toBe(true);
    });

    it('assigns uploaded reads to a project and reads the new sample back', async () => {
      const client = withKey();
      const folder = `gncv://api-assign-${process.pid}/`;
      const work = fs.mkdtempSync(path.join(dataDir, 'reads-'));
      const credentials = await client.getUploadCredentials();
      const s3 = new S3Client({
        endpoint: credentials.endpoint_url ?? undefined,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: {
          accessKeyId: credentials.access_key,
          secretAccessKey: credentials.secret_key,
          sessionToken: credentials.token,
        },
      });
      for (const [read, source] of [
        ['R1', 'ecoli_1K_1.fq.gz'],
        ['R2', 'ecoli_1K_2.fq.gz'],
      ]) {
        const local = path.join(work, source);
        fs.copyFileSync(path.join(pairDir, source), local);
        const slot = await client.createUploadSlot(
          `${folder}ECOLI_${read}.fastq.gz`,
        );
        await s3.send(
          new PutObjectCommand({
            Bucket: slot.s3.bucket,
            Key: slot.s3.object_name,
            Body: fs.readFileSync(local),
          }),
        );
      }
      s3.destroy();

      const rows = await waitForRows(client, folder);
      const answer = await client.assignSamples(
        sandbox.info.project_ids[0],
        rows,
        { plate: 'P1' },
      );
      const sampleId = answer.uploads[0].sample;
      const sample = await client.getSample(sampleId);
      const metadata = await client.getSampleMetadata(sampleId);
      const assigned = await client.listSampleSheet({
        search: folder,
        status: 'assigned',
      });

      expect(rows).toHaveLength(1);
      expect(rows[0].client_id).toBe('ECOLI');
      expect(rows[0].fastq.r2?.upload).toBeTruthy();
      expect(answer.uploads[0].client_id).toBe('ECOLI');
      expect(sample.client_id).toBe('ECOLI');
      expect(metadata.metadata).toEqual({ plate: 'P1' });
      expect(assigned.map((r) => r.client_id)).toEqual(['ECOLI']);
    });
  });
});

/** Polls the unassigned sample sheet until the folder's row shows up. */
async function waitForRows(client: GencoveClient, folder: string) {
  for (let i = 0; i < 100; i++) {
    const rows = await client.listSampleSheet({
      search: folder,
      status: 'unassigned',
    });
    if (rows.length > 0 && rows.every((r) => r.fastq.r2)) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no sample-sheet row for ${folder}`);
}
