/**
 * ipc.ts handlers, called exactly as `ipcMain.handle` calls them, in front of
 * a real AppService (real sandbox on loopback, real journal in a temp dir).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { channels } from '../shared/contract.ts';
import type { Channel, Result, SessionInfo } from '../shared/contract.ts';
import type { ProjectSummary, SampleRow } from '../shared/domain.ts';
import { createIpcHandlers, createSenderCheck, registerIpc } from './ipc.ts';
import type { InvokeEventLike, IpcHandler } from './ipc.ts';
import { AppService } from './service/appService.ts';
import { MemorySecretStore } from './service/secretStore.ts';

const APP_URL = 'file:///opt/gencove-desktop/dist/renderer/index.html';
const WINDOW_ID = 7;
const SOME_UUID = '3fa85f64-5717-4562-b3fc-2c963f66afa6';

const trusted: InvokeEventLike = {
  sender: { id: WINDOW_ID },
  senderFrame: { url: `${APP_URL}#/projects`, parent: null },
};

/** One well-formed request per channel. */
const validRequests: Record<Channel, unknown> = {
  'session:get': {},
  'session:signIn': {
    host: { kind: 'sandbox' },
    credentials: { kind: 'sandbox-demo' },
  },
  'session:signOut': {},
  'projects:list': {},
  'samples:list': { projectId: SOME_UUID },
  'samples:get': { sampleId: SOME_UUID },
  'plan:create': { paths: ['/data/run'] },
  'plan:edit': { planId: 'plan-1', edits: {} },
  'upload:start': { planId: 'plan-1' },
  'download:start': { destination: '/data/out', projectId: SOME_UUID },
  'download:defaults': {},
  'transfers:list': {},
  'transfers:cancel': { jobId: 'job-1' },
  'transfers:pause': { jobId: 'job-1' },
  'transfers:resume': { jobId: 'job-1' },
  'transfers:retry': { jobId: 'job-1' },
  'transfers:dismiss': { jobId: 'job-1' },
  'fs:list': {},
  'fs:pickFolder': {},
  'fs:openFolder': { path: '/data' },
  'watch:list': {},
  'watch:add': { path: '/data/runs', projectId: SOME_UUID },
  'watch:remove': { folderId: 'folder-1' },
  'watch:pause': { folderId: 'folder-1' },
  'watch:resume': { folderId: 'folder-1' },
  'watch:ignoreRun': { folderId: 'folder-1', runId: 'run-1' },
  'watch:retryRun': { folderId: 'folder-1', runId: 'run-1', force: true },
  'watch:plan': { folderId: 'folder-1', runId: 'run-1' },
  'settings:get': {},
  'settings:set': { startAtLogin: true },
};

/** One payload per channel that its schema must refuse, beyond the generic ones. */
const specificBadRequests: Record<Channel, unknown> = {
  'session:get': { extra: true },
  'session:signIn': {
    host: { kind: 'moon' },
    credentials: { kind: 'sandbox-demo' },
  },
  'session:signOut': { everywhere: true },
  'projects:list': { search: 5 },
  'samples:list': { projectId: 'not-a-uuid' },
  'samples:get': { sampleId: '../../etc/passwd' },
  'plan:create': { paths: [] },
  'plan:edit': { planId: 'x'.repeat(65), edits: {} },
  'upload:start': { planId: 'plan-1', projectId: 'nope' },
  'download:start': { destination: '' },
  'download:defaults': { folder: '/tmp' },
  'transfers:list': { all: true },
  'transfers:cancel': { jobId: 7 },
  'transfers:pause': { jobId: null },
  'transfers:resume': {},
  'transfers:retry': { jobId: 'x'.repeat(65) },
  'transfers:dismiss': { jobId: 42 },
  'fs:list': { path: '' },
  'fs:pickFolder': { title: 'x'.repeat(201) },
  'fs:openFolder': {},
  'watch:list': { all: true },
  'watch:add': {
    path: '/data/runs',
    projectId: SOME_UUID,
    settleSeconds: -5,
  },
  'watch:remove': { folderId: '' },
  'watch:pause': { folderId: 7 },
  'watch:resume': { folderId: 'x'.repeat(65) },
  'watch:ignoreRun': { folderId: 'folder-1' },
  'watch:retryRun': { folderId: 'folder-1', runId: 'run-1', force: 'yes' },
  'watch:plan': { folderId: 'folder-1', runId: 'r'.repeat(257) },
  'settings:get': { startAtLogin: true },
  'settings:set': { startAtLogin: 'on' },
};

const genericBadRequests: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a string', 'session'],
  ['a number', 42],
  ['an array', []],
];

const foreignSenders: [string, InvokeEventLike][] = [
  [
    'another window',
    {
      sender: { id: WINDOW_ID + 1 },
      senderFrame: { url: APP_URL, parent: null },
    },
  ],
  [
    'an iframe inside our window',
    { sender: { id: WINDOW_ID }, senderFrame: { url: APP_URL, parent: {} } },
  ],
  [
    'our window showing a web page',
    {
      sender: { id: WINDOW_ID },
      senderFrame: { url: 'https://evil.example/index.html', parent: null },
    },
  ],
  [
    'our window showing another local file',
    {
      sender: { id: WINDOW_ID },
      senderFrame: {
        url: 'file:///tmp/dist/renderer/index.html',
        parent: null,
      },
    },
  ],
  ['a frame that is gone', { sender: { id: WINDOW_ID }, senderFrame: null }],
];

const channelNames = Object.keys(channels) as Channel[];

describe('ipc', () => {
  let dataDir: string;
  let service: AppService;
  let handlers: Record<Channel, IpcHandler>;

  const call = <T>(channel: Channel, payload: unknown, event = trusted) =>
    handlers[channel](event, payload) as Promise<Result<T>>;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ipc-test-'));
    service = new AppService({
      dataDir,
      mode: 'desktop',
      secretStore: new MemorySecretStore(),
    });
    handlers = createIpcHandlers(
      service,
      createSenderCheck(() => ({ id: WINDOW_ID }), {
        kind: 'file',
        url: APP_URL,
      }),
    );
  });

  afterAll(async () => {
    await service.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  describe('createIpcHandlers()', () => {
    it('has one handler per contract channel and nothing else', () => {
      expect(Object.keys(handlers).sort()).toEqual([...channelNames].sort());
    });

    describe.each(channelNames)('%s', (channel) => {
      it.each(foreignSenders)(
        'refuses a call from %s with forbidden-sender',
        async (_who, event) => {
          const result = await call(channel, validRequests[channel], event);

          expect(result).toEqual({
            ok: false,
            error: {
              code: 'forbidden-sender',
              message: `${channel} refused: the call does not come from the app's own page.`,
            },
          });
        },
      );

      it.each([
        ...genericBadRequests,
        ['a channel-specific bad payload', specificBadRequests[channel]],
      ])('refuses %s with invalid-request', async (_what, payload) => {
        const result = await call(channel, payload);

        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.error.code).toBe('invalid-request');
        expect(result.error.message).toMatch(
          new RegExp(`^Invalid request for ${channel}: `),
        );
      });
    });

    it('does not sign in when the sign-in comes from a foreign sender', async () => {
      await call(
        'session:signIn',
        validRequests['session:signIn'],
        foreignSenders[0][1],
      );

      const session = await call<SessionInfo>('session:get', {});

      expect(session).toMatchObject({ ok: true, value: { signedIn: false } });
    });

    it('refuses every call while there is no window', async () => {
      const noWindow = createIpcHandlers(
        service,
        createSenderCheck(() => null, { kind: 'file', url: APP_URL }),
      );

      const result = await noWindow['session:get'](trusted, {});

      expect(result).toMatchObject({
        ok: false,
        error: { code: 'forbidden-sender' },
      });
    });
  });

  describe('createSenderCheck()', () => {
    it('trusts the dev server origin only, in dev-server mode', () => {
      const check = createSenderCheck(() => ({ id: 1 }), {
        kind: 'dev-server',
        url: 'http://localhost:5173/',
      });
      const from = (url: string): InvokeEventLike => ({
        sender: { id: 1 },
        senderFrame: { url, parent: null },
      });

      expect(check(from('http://localhost:5173/#/transfers'))).toBe(true);
      expect(check(from('http://localhost:5174/'))).toBe(false);
      expect(check(from('http://127.0.0.1:5173/'))).toBe(false);
      expect(check(from(APP_URL))).toBe(false);
      expect(check(from('not a url'))).toBe(false);
    });
  });

  describe('registerIpc()', () => {
    it('registers exactly the contract channels, forwards events to our window, and unregisters', async () => {
      const registered = new Map<string, (...args: never[]) => unknown>();
      const fakeIpcMain = {
        handle(channel: string, handler: (...args: never[]) => unknown) {
          registered.set(channel, handler);
        },
        removeHandler(channel: string) {
          registered.delete(channel);
        },
      };
      const sent: [string, unknown][] = [];
      const contents = {
        id: WINDOW_ID,
        isDestroyed: () => false,
        send: (event: string, payload: unknown) => sent.push([event, payload]),
      };
      const localService = new AppService({
        dataDir: path.join(dataDir, 'register'),
        mode: 'desktop',
        secretStore: new MemorySecretStore(),
      });

      const unregister = registerIpc(fakeIpcMain as never, localService, {
        isTrustedSender: createSenderCheck(() => contents, {
          kind: 'file',
          url: APP_URL,
        }),
        getWebContents: () => contents as never,
      });
      const names = [...registered.keys()].sort();
      const signIn = (await (registered.get('session:signIn') as IpcHandler)(
        trusted,
        validRequests['session:signIn'],
      )) as Result<SessionInfo>;
      unregister();
      await localService.close();

      expect(names).toEqual([...channelNames].sort());
      expect(signIn).toMatchObject({ ok: true, value: { signedIn: true } });
      expect(sent).toContainEqual([
        'session:didChange',
        expect.objectContaining({ signedIn: true, sandbox: true }),
      ]);
      expect(registered.size).toBe(0);
    });
  });

  describe('valid calls', () => {
    it('reach the service: session, folders and defaults before sign-in', async () => {
      const folder = await fs.mkdtemp(path.join(dataDir, 'browse-'));
      await fs.mkdir(path.join(folder, 'run1'));

      const session = await call<SessionInfo>('session:get', {});
      const listing = await call('fs:list', { path: folder });
      const defaults = await call('download:defaults', {});
      const projects = await call('projects:list', {});
      const picker = await call('fs:pickFolder', {});

      expect(session).toEqual({
        ok: true,
        value: {
          signedIn: false,
          host: null,
          hostUrl: null,
          email: null,
          sandbox: false,
          mode: 'desktop',
          remembered: false,
        },
      });
      expect(listing).toEqual({
        ok: true,
        value: {
          path: folder,
          parent: dataDir,
          entries: [
            {
              name: 'run1',
              path: path.join(folder, 'run1'),
              kind: 'dir',
              size: null,
            },
          ],
        },
      });
      expect(defaults).toEqual({
        ok: true,
        value: {
          folder: path.join(os.homedir(), 'Downloads', 'Gencove'),
          template:
            '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
        },
      });
      expect(projects).toMatchObject({
        ok: false,
        error: { code: 'not-signed-in' },
      });
      expect(picker).toMatchObject({
        ok: false,
        error: { code: 'unsupported' },
      });
    });

    it('reach the service: sign in to the sandbox, list projects and samples, sign out', async () => {
      const signIn = await call<SessionInfo>(
        'session:signIn',
        validRequests['session:signIn'],
      );
      const projects = await call<ProjectSummary[]>('projects:list', {});
      if (!projects.ok) throw new Error(projects.error.message);
      const samples = await call<SampleRow[]>('samples:list', {
        projectId: projects.value[0].id,
      });
      const missing = await call('samples:get', { sampleId: SOME_UUID });
      const transfers = await call('transfers:list', {});
      const badPlan = await call('plan:edit', {
        planId: 'never-made',
        edits: {},
      });
      const signOut = await call<SessionInfo>('session:signOut', {});

      expect(signIn).toMatchObject({
        ok: true,
        value: { signedIn: true, sandbox: true, host: { kind: 'sandbox' } },
      });
      expect(signIn.ok && signIn.value.hostUrl).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+$/,
      );
      expect(projects.value.length).toBeGreaterThan(0);
      for (const project of projects.value) {
        expect(project.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(project.configurationName).toEqual(expect.any(String));
      }
      expect(samples.ok).toBe(true);
      expect(missing).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
      expect(transfers).toEqual({ ok: true, value: [] });
      expect(badPlan).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
      expect(signOut).toMatchObject({ ok: true, value: { signedIn: false } });
    });
  });
});
