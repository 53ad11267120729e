/**
 * GencoveClient against the real built-in sandbox on a loopback port, with
 * its own data folder in a temp dir: sign-in with a password, an API key and
 * a one-time code, projects and capabilities, samples, file types, upload
 * credentials, idempotent upload slots and the sample sheet.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ApiError, AuthError } from '../errors.ts';
import { GencoveClient } from './client.ts';
import type { Auth } from './client.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const serverModule = path.join(repoRoot, 'sandbox/server.ts');

interface SandboxInfo {
  api_url: string;
  email: string;
  password: string;
  api_key: string;
  project_ids: string[];
}
interface Sandbox {
  info: SandboxInfo;
  close(): Promise<void>;
}
type StartSandbox = (opts: {
  dataDir: string;
  port?: number;
  mfaUser?: boolean;
}) => Promise<Sandbox>;

const MISSING_ID = '9f0e8d7c-6b5a-4c3d-8e1f-0a1b2c3d4e5f';

describe.skipIf(!fs.existsSync(serverModule))(
  'GencoveClient on the sandbox',
  () => {
    let sandbox: Sandbox;
    let dataDir: string;
    const clients: GencoveClient[] = [];

    const connect = (auth: Auth): GencoveClient => {
      const client = new GencoveClient({
        host: sandbox.info.api_url,
        auth,
        clientVersion: 'test',
      });
      clients.push(client);
      return client;
    };
    const withKey = () =>
      connect({ kind: 'api-key', apiKey: sandbox.info.api_key });

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gd-api-sandbox-'));
      const mod = (await import(pathToFileURL(serverModule).href)) as {
        startSandbox: StartSandbox;
      };
      sandbox = await mod.startSandbox({ dataDir, port: 0, mfaUser: true });
    });

    afterAll(async () => {
      for (const client of clients) client.close();
      await sandbox?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    describe('login()', () => {
      it('signs in with email and password and gets the user', async () => {
        const tokens: unknown[] = [];
        const client = new GencoveClient({
          host: sandbox.info.api_url,
          auth: {
            kind: 'password',
            email: sandbox.info.email,
            password: sandbox.info.password,
          },
          onTokens: (t) => tokens.push(t),
        });
        clients.push(client);

        const user = await client.login();

        expect(user.email).toBe(sandbox.info.email);
        expect(tokens).toHaveLength(1);
      });

      it('signs in with the API key', async () => {
        const user = await withKey().login();

        expect(user.email).toBe(sandbox.info.email);
      });

      it('continues a session from saved tokens', async () => {
        const first = connect({
          kind: 'password',
          email: sandbox.info.email,
          password: sandbox.info.password,
        });
        await first.login();

        const again = connect({ kind: 'tokens', ...first.tokens! });

        await expect(again.getUser()).resolves.toMatchObject({
          email: sandbox.info.email,
        });
      });

      it('reports a wrong password and a wrong key as bad credentials', async () => {
        const wrongPassword = connect({
          kind: 'password',
          email: sandbox.info.email,
          password: 'not-the-password',
        });
        const wrongKey = connect({ kind: 'api-key', apiKey: 'not-a-key' });

        await expect(wrongPassword.login()).rejects.toMatchObject({
          kind: 'bad-credentials',
        });
        await expect(wrongKey.login()).rejects.toBeInstanceOf(AuthError);
      });

      it('asks the MFA account for its one-time code', async () => {
        let asked = 0;
        const client = connect({
          kind: 'password',
          email: 'mfa@sandbox.local',
          password: sandbox.info.password,
          otp: async () => {
            asked++;
            return '123456';
          },
        });
        const noCode = connect({
          kind: 'password',
          email: 'mfa@sandbox.local',
          password: sandbox.info.password,
        });

        await expect(client.login()).resolves.toMatchObject({
          email: 'mfa@sandbox.local',
        });
        expect(asked).toBe(1);
        await expect(noCode.login()).rejects.toMatchObject({
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
        const wanted = new Set(projects.map((p) => p.pipeline_capabilities));
        expect(new Set(capabilities.map((c) => c.id))).toEqual(wanted);
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
        expect(credentials.endpoint_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      });

      it('returns the same upload slot for the same destination', async () => {
        const client = withKey();
        const destination = `gncv://api-test-${process.pid}/S1_R1.fastq.gz`;

        const first = await client.createUploadSlot(destination);
        const second = await client.createUploadSlot(destination);
        const sheet = await client.listSampleSheet({
          search: `gncv://api-test-${process.pid}/`,
        });

        expect(second.id).toBe(first.id);
        expect(first.last_status?.status).toBe('started');
        expect(first.destination_path).toBe(destination);
        expect(Array.isArray(sheet)).toBe(true);
      });
    });
  },
);
