/**
 * AppService against the real built-in sandbox on loopback, with real
 * journals and real FASTQ copies in temp folders.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type {
  EventMap,
  EventName,
  SessionInfo,
} from '../../shared/contract.ts';
import type { TransferSnapshot } from '../../shared/domain.ts';
import { MFA_EMAIL, MFA_OTP, startSandbox } from '../../sandbox/server.ts';
import type { RunningSandbox } from '../../sandbox/server.ts';
import { AppService } from './appService.ts';
import type { AppServiceOptions } from './appService.ts';
import { MemorySecretStore } from './secretStore.ts';
import type { SecretStore } from './secretStore.ts';
import { ServiceError } from './serviceError.ts';
import { SHARED_DATA } from '../../test/shared.ts';

const namingDir = path.join(SHARED_DATA, 'naming');

/** Pipeline step of the sandboxes here: samples finish in about a second. */
const STEP_MS = 100;

function errorOf(promise: Promise<unknown>): Promise<ServiceError | Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

/** Resolves with the first event of `name` that `match` accepts. */
function nextEvent<E extends EventName>(
  service: AppService,
  name: E,
  match: (payload: EventMap[E]) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<EventMap[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = service.onDidEmit((event, payload) => {
      if ((event as EventName) !== name) return;
      if (!match(payload as EventMap[E])) return;
      clearTimeout(timer);
      stop();
      resolve(payload as EventMap[E]);
    });
  });
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('AppService', () => {
  let root: string;
  const services: AppService[] = [];

  /** A service over its own data folder (or the one given). */
  function makeService(overrides: Partial<AppServiceOptions> = {}): AppService {
    const service = new AppService({
      dataDir: path.join(root, `data-${services.length}`),
      mode: 'serve',
      secretStore: new MemorySecretStore(),
      sandboxStepMs: STEP_MS,
      downloadsDir: path.join(root, 'Downloads'),
      ...overrides,
    });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'app-service-'));
  });

  afterAll(async () => {
    for (const service of services) await service.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('session with the built-in sandbox', () => {
    it('starts the sandbox on first use and remembers the choice, never a key', async () => {
      const store = new MemorySecretStore(null, true);
      const service = makeService({ secretStore: store });
      const events: SessionInfo[] = [];
      service.onDidEmit((event, payload) => {
        if (event === 'session:didChange') events.push(payload as SessionInfo);
      });

      const info = await service.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      });
      const stored = JSON.parse((await store.load())!) as Record<
        string,
        unknown
      >;

      expect(info).toMatchObject({
        signedIn: true,
        sandbox: true,
        host: { kind: 'sandbox' },
        email: 'demo@sandbox.local',
        mode: 'serve',
        remembered: true,
      });
      expect(stored).toEqual({
        version: 1,
        host: { kind: 'sandbox' },
        email: 'demo@sandbox.local',
        auth: { kind: 'sandbox-demo' },
      });
      expect(events.at(-1)).toEqual(info);
    });

    it('restores a remembered session in a new service, without signing in again', async () => {
      const store = new MemorySecretStore(null, true);
      const dataDir = path.join(root, 'restore');
      const first = makeService({ dataDir, secretStore: store });
      await first.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      });
      await first.close();

      const second = makeService({ dataDir, secretStore: store });
      const session = await second.handle('session:get', {});
      const projects = await second.handle('projects:list', {});

      expect(session).toMatchObject({
        signedIn: true,
        sandbox: true,
        remembered: true,
      });
      expect(projects.length).toBeGreaterThan(0);
    });

    it('lists the transfers an earlier run finished after a restart', async () => {
      const store = new MemorySecretStore(null, true);
      const dataDir = path.join(root, 'history');
      const input = path.join(root, 'history-input');
      await fs.mkdir(input, { recursive: true });
      for (const name of ['SAMPLE1_R1.fastq.gz', 'SAMPLE1_R2.fastq.gz']) {
        await fs.copyFile(path.join(namingDir, name), path.join(input, name));
      }
      const first = makeService({ dataDir, secretStore: store });
      await first.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      });
      const plan = await first.handle('plan:create', { paths: [input] });
      const finished = nextEvent(first, 'transfers:didFinish', () => true);
      const { jobId } = await first.handle('upload:start', {
        planId: plan.id!,
      });
      expect(await finished).toMatchObject({ id: jobId, state: 'done' });
      await first.close();

      const second = makeService({ dataDir, secretStore: store });
      await second.handle('session:get', {});
      const listed = await second.handle('transfers:list', {});

      expect(listed.map((t) => [t.id, t.state])).toEqual([[jobId, 'done']]);
      expect(listed[0]!.files.map((f) => f.state)).toEqual(['done', 'done']);
    });

    it('signs out, forgets the session and refuses platform calls afterwards', async () => {
      const store = new MemorySecretStore(null, true);
      const service = makeService({ secretStore: store });
      await service.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      });

      const info = await service.handle('session:signOut', {});
      const error = await errorOf(service.handle('projects:list', {}));

      expect(info).toMatchObject({
        signedIn: false,
        host: null,
        hostUrl: null,
      });
      expect(await store.load()).toBeNull();
      expect(error).toMatchObject({ code: 'not-signed-in' });
      expect(await service.handle('transfers:list', {})).toEqual([]);
    });

    it('stays signed in, not remembered, when the secret store refuses', async () => {
      const lines: string[] = [];
      const refusing: SecretStore = {
        load: async () => null,
        save: async () => {
          throw new Error('the system keychain is not available');
        },
        clear: async () => {},
      };
      const service = makeService({
        secretStore: refusing,
        log: (l) => lines.push(l),
      });

      const info = await service.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: true,
      });

      expect(info).toMatchObject({ signedIn: true, remembered: false });
      expect(lines.join('\n')).toContain('the sign-in is not remembered');
    });
  });

  describe('session with a platform host', () => {
    let sandbox: RunningSandbox;

    beforeAll(async () => {
      sandbox = await startSandbox({
        dataDir: path.join(root, 'platform'),
        port: 0,
        mfaUser: true,
        pipelineStepMs: STEP_MS,
      });
    });

    afterAll(async () => {
      await sandbox.close();
    });

    const custom = () => ({
      kind: 'custom' as const,
      url: sandbox.info.api_url,
    });

    it('signs in with email and password and keeps the session tokens, not the password', async () => {
      const store = new MemorySecretStore(null, true);
      const service = makeService({ secretStore: store });

      const info = await service.handle('session:signIn', {
        host: custom(),
        credentials: {
          kind: 'password',
          email: sandbox.info.email,
          password: sandbox.info.password,
        },
        remember: true,
      });
      const secret = (await store.load())!;

      expect(info).toMatchObject({
        signedIn: true,
        sandbox: false,
        hostUrl: sandbox.info.api_url,
        email: sandbox.info.email,
      });
      expect(secret).not.toContain(sandbox.info.password);
      expect(JSON.parse(secret)).toMatchObject({
        host: custom(),
        auth: {
          kind: 'tokens',
          access: expect.any(String),
          refresh: expect.any(String),
        },
      });
    });

    it('asks for the one-time code, then signs in with it', async () => {
      const service = makeService();
      const credentials = {
        kind: 'password' as const,
        email: MFA_EMAIL,
        password: sandbox.info.password,
      };

      const first = await errorOf(
        service.handle('session:signIn', {
          host: custom(),
          credentials,
          remember: false,
        }),
      );
      const second = await service.handle('session:signIn', {
        host: custom(),
        credentials: { ...credentials, otp: ` ${MFA_OTP} ` },
        remember: false,
      });

      expect(first).toMatchObject({ name: 'AuthError', kind: 'otp-required' });
      expect(second).toMatchObject({
        signedIn: true,
        email: MFA_EMAIL,
        remembered: false,
      });
    });

    it('keeps the current session when a new sign-in is refused', async () => {
      const service = makeService();
      await service.handle('session:signIn', {
        host: custom(),
        credentials: { kind: 'api-key', apiKey: sandbox.info.api_key },
        remember: false,
      });

      const error = await errorOf(
        service.handle('session:signIn', {
          host: custom(),
          credentials: { kind: 'api-key', apiKey: 'not-a-key' },
          remember: false,
        }),
      );
      const session = await service.handle('session:get', {});

      expect(error).toMatchObject({
        name: 'AuthError',
        kind: 'bad-credentials',
      });
      expect(session).toMatchObject({
        signedIn: true,
        hostUrl: sandbox.info.api_url,
      });
    });

    it('ends a remembered session whose tokens the server no longer accepts', async () => {
      const store = new MemorySecretStore(
        JSON.stringify({
          version: 1,
          host: custom(),
          email: sandbox.info.email,
          auth: {
            kind: 'tokens',
            access: 'stale.access.token',
            refresh: 'stale.refresh.token',
          },
        }),
      );
      const service = makeService({ secretStore: store });
      const signedOut = nextEvent(
        service,
        'session:didChange',
        (s) => !s.signedIn,
      );

      const restored = await service.handle('session:get', {});
      const error = await errorOf(service.handle('projects:list', {}));

      expect(restored).toMatchObject({ signedIn: true });
      expect(error).toMatchObject({
        name: 'AuthError',
        kind: 'session-expired',
      });
      expect(await signedOut).toMatchObject({ signedIn: false });
      expect(await store.load()).toBeNull();
    });

    it.each([
      [
        'the demo account on another host',
        {
          host: { kind: 'production' as const },
          credentials: { kind: 'sandbox-demo' as const },
        },
        'The demo account exists only in the built-in sandbox',
      ],
      [
        'plain http to a remote host',
        {
          host: { kind: 'custom' as const, url: 'http://gencove.example.org' },
          credentials: { kind: 'api-key' as const, apiKey: 'k' },
        },
        'credentials are only sent over https',
      ],
    ])(
      'refuses %s before sending anything',
      async (_what, request, message) => {
        const service = makeService();

        const error = await errorOf(
          service.handle('session:signIn', { ...request, remember: false }),
        );

        expect(error).toBeInstanceOf(ServiceError);
        expect(error).toMatchObject({ code: 'validation' });
        expect(error.message).toContain(message);
      },
    );
  });

  describe('upload, analysis and download', () => {
    let service: AppService;
    let inputDir: string;
    let projectId: string;

    beforeAll(async () => {
      inputDir = path.join(root, 'input');
      await fs.mkdir(inputDir, { recursive: true });
      for (const name of [
        'SAMPLE1_R1.fastq.gz',
        'SAMPLE1_R2.fastq.gz',
        'SAMPLE12_R1.fastq.gz',
      ]) {
        await fs.copyFile(
          path.join(namingDir, name),
          path.join(inputDir, name),
        );
      }
      service = makeService();
      await service.handle('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
        remember: false,
      });
      projectId = (await service.handle('projects:list', {}))[0].id;
    });

    it('plans, edits, uploads, assigns, and downloads the deliverables', async () => {
      const plan = await service.handle('plan:create', { paths: [inputDir] });
      const sample1 = plan.samples.find((s) => s.sourceName === 'SAMPLE1')!;
      const sample12 = plan.samples.find((s) => s.sourceName === 'SAMPLE12')!;
      const edited = await service.handle('plan:edit', {
        planId: plan.id!,
        edits: {
          renames: { [sample1.key]: 'LAB-1' },
          excluded: [sample12.key],
        },
      });
      const finished = nextEvent(
        service,
        'transfers:didFinish',
        (s) => s.kind === 'upload',
      );
      const { jobId } = await service.handle('upload:start', {
        planId: plan.id!,
        projectId,
        metadata: { batch: 'e2e' },
      });
      const startedTwice = await errorOf(
        service.handle('upload:start', { planId: plan.id!, projectId }),
      );
      const upload = await finished;

      expect(plan.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(sample1).toMatchObject({ clientId: 'SAMPLE1', included: true });
      expect(sample12.problems.map((p) => p.code)).toContain('missing-r2');
      expect(edited.id).toBe(plan.id);
      expect(edited.samples.find((s) => s.key === sample1.key)!.clientId).toBe(
        'LAB-1',
      );
      expect(edited.samples.find((s) => s.key === sample12.key)!.included).toBe(
        false,
      );
      expect(startedTwice).toMatchObject({ code: 'not-found' });
      expect(upload).toMatchObject({ id: jobId, state: 'done', projectId });
      expect(upload.assigned!.map((a) => a.clientId)).toEqual(['LAB-1']);

      const sampleId = upload.assigned![0].sampleId;
      const row = await waitFor('the sample to finish', async () => {
        const rows = await service.handle('samples:list', { projectId });
        const found = rows.find((r) => r.id === sampleId);
        return found &&
          (found.status === 'succeeded' || found.status.startsWith('failed'))
          ? found
          : null;
      });
      const detail = await service.handle('samples:get', { sampleId });

      expect(row).toMatchObject({
        clientId: 'LAB-1',
        status: 'succeeded',
        failedQc: false,
      });
      expect(detail).toMatchObject({
        id: sampleId,
        projectId,
        clientId: 'LAB-1',
        metadata: { batch: 'e2e' },
      });
      expect(detail.files.map((f) => f.fileType)).toEqual(
        expect.arrayContaining(['fastq-r1', 'fastq-r2']),
      );
      expect(
        detail.files.every(
          (f) => f.downloadable && /^[0-9a-f]{64}$/.test(f.checksumSha256),
        ),
      ).toBe(true);
      expect(detail.qc.length).toBeGreaterThan(0);
      expect(detail.qc.every((m) => m.status === 'succeeded')).toBe(true);

      const destination = path.join(root, 'out');
      const downloaded = nextEvent(
        service,
        'transfers:didFinish',
        (s) => s.kind === 'download',
      );
      const download = await service.handle('download:start', {
        destination,
        sampleIds: [sampleId],
        fileTypes: ['fastq-r1', 'fastq-r2'],
      });
      const done: TransferSnapshot = await downloaded;
      const folder = path.join(destination, 'LAB-1', sampleId);
      const files = (await fs.readdir(folder)).sort();
      const original = await fs.readFile(
        path.join(inputDir, 'SAMPLE1_R1.fastq.gz'),
      );
      const r1 = await fs.readFile(
        path.join(folder, `${sampleId}_fastq-r1.fastq.gz`),
      );

      expect(done).toMatchObject({ id: download.jobId, state: 'done' });
      expect(files).toEqual([
        `${sampleId}_fastq-r1.fastq.gz`,
        `${sampleId}_fastq-r2.fastq.gz`,
      ]);
      expect(r1.equals(original)).toBe(true);
      expect(
        (await service.handle('transfers:list', {})).map((t) => t.id),
      ).toEqual(expect.arrayContaining([jobId, download.jobId]));
    });

    it.each([
      ['a relative path', { paths: ['relative/run'] }],
      ['a relative path among absolute ones', { paths: ['/data/run', 'x'] }],
    ])('refuses to plan %s', async (_what, request) => {
      const error = await errorOf(service.handle('plan:create', request));

      expect(error).toMatchObject({ code: 'validation' });
      expect(error.message).toContain('is not an absolute path');
    });

    it.each([
      [
        'a relative destination',
        {
          destination: 'out',
          projectId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
        },
        'is not an absolute path',
      ],
      [
        'neither a project nor samples',
        { destination: '/tmp/out' },
        'Choose what to download',
      ],
      [
        'both a project and samples',
        {
          destination: '/tmp/out',
          projectId: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
          sampleIds: ['3fa85f64-5717-4562-b3fc-2c963f66afa6'],
        },
        'Choose what to download',
      ],
    ])('refuses a download with %s', async (_what, request, message) => {
      const error = await errorOf(service.handle('download:start', request));

      expect(error).toMatchObject({ code: 'validation' });
      expect(error.message).toContain(message);
    });

    it('says not-found for controls of an unknown transfer', async () => {
      for (const channel of [
        'transfers:cancel',
        'transfers:pause',
        'transfers:resume',
        'transfers:retry',
      ] as const) {
        const error = await errorOf(
          service.handle(channel, { jobId: 'no-such-job' }),
        );

        expect(error).toMatchObject({ code: 'not-found' });
      }
    });

    it('gives the download defaults under the downloads folder', async () => {
      const defaults = await service.handle('download:defaults', {});

      expect(defaults).toEqual({
        folder: path.join(root, 'Downloads', 'Gencove'),
        template:
          '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
      });
    });
  });

  describe('desktop shell', () => {
    it('uses the injected folder picker and file manager, checking the folder', async () => {
      const opened: string[] = [];
      const service = makeService({
        mode: 'desktop',
        desktop: {
          pickFolder: async (title) => `/picked/${title}`,
          openFolder: async (folder) => {
            opened.push(folder);
          },
        },
      });

      const picked = await service.handle('fs:pickFolder', { title: 'Runs' });
      await service.handle('fs:openFolder', { path: root });
      const missing = await errorOf(
        service.handle('fs:openFolder', { path: path.join(root, 'missing') }),
      );

      expect(picked).toBe('/picked/Runs');
      expect(opened).toEqual([root]);
      expect(missing).toMatchObject({ code: 'validation' });
    });

    it('is unsupported without one (serve mode)', async () => {
      const service = makeService();

      const error = await errorOf(
        service.handle('fs:openFolder', { path: root }),
      );

      expect(error).toMatchObject({ code: 'unsupported' });
    });
  });
});
