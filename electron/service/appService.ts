/**
 * The app service: every channel of the contract, on top of the engine and
 * the platform client, with no knowledge of the transport (Electron IPC or
 * serve mode's WebSocket) that carries it. Requests arrive already checked
 * against the channel's schema (see dispatcher.ts); the service checks what
 * a schema cannot (absolute paths, known plan ids, being signed in).
 *
 * It owns, at most one at a time: the platform client, the engine and the
 * watch-folder service of the signed-in session, and the built-in sandbox
 * (started in-process the first time someone signs in to it, stopped by
 * `close`). The app's own settings live in `settings.json` of the data
 * folder.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type {
  AppSettings,
  Channel,
  HostChoice,
  ResponseOf,
  SessionInfo,
  WatchRunFinished,
} from '../../shared/contract.ts';
import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../shared/domain.ts';
import type {
  ProjectSummary,
  QcMetric,
  SampleDetail,
  SampleRow,
  TransferSnapshot,
  UploadPlan,
  WatchFolderView,
  WatchRunView,
} from '../../shared/domain.ts';
import { GencoveClient } from '../engine/api/client.ts';
import type { Auth, GencoveClientOptions } from '../engine/api/client.ts';
import type {
  Project,
  SampleDetails,
  SampleList,
  SampleQc,
} from '../engine/api/models.ts';
import { Engine } from '../engine/engine.ts';
import type { EngineOptions } from '../engine/engine.ts';
import { AuthError, toLogString } from '../engine/errors.ts';
import { applyPlanEdits } from '../engine/scan/plan.ts';
import { WatchService } from '../engine/watch/watchService.ts';
import type {
  WatchRunEvent,
  WatchTimings,
} from '../engine/watch/watchService.ts';
import { startSandbox as defaultStartSandbox } from '../../sandbox/server.ts';
import { backgroundWorkOf } from '../background.ts';
import type { BackgroundWork } from '../background.ts';
import type {
  ContractService,
  ParsedRequestOf,
  ServiceEventListener,
} from './dispatcher.ts';
import { listDirectory } from './fsList.ts';
import type { SecretStore } from './secretStore.ts';
import { ServiceError, toContractError } from './serviceError.ts';
import { SettingsStore } from './settingsStore.ts';
import {
  hostKey,
  parseStoredSession,
  resolveHostUrl,
  serializeSession,
} from './session.ts';
import type { StoredAuth, StoredSession } from './session.ts';

/** The running built-in sandbox, as `startSandbox` returns it. */
export interface SandboxHandle {
  info: {
    api_url: string;
    s3_endpoint: string;
    email: string;
    password: string;
    api_key: string;
    project_ids: string[];
  };
  close(): Promise<void>;
}

/** Desktop-only operations that need Electron's dialog and shell. */
export interface DesktopShell {
  /** Shows the system's folder picker; null when the user cancels. */
  pickFolder(title?: string): Promise<string | null>;
  /** Opens the folder in the system's file manager. */
  openFolder(folder: string): Promise<void>;
  /**
   * Makes the app start (or not) when the user logs in. Without it, the
   * start-at-login setting is 'unsupported'. May throw when the system
   * refuses; the setting is then left as it was.
   */
  setOpenAtLogin?(isEnabled: boolean): void;
}

/** Options of {@link AppService}; only `dataDir`, `mode` and `secretStore` are required. */
export interface AppServiceOptions {
  /** The app's data folder: journals under `engine/`, the sandbox under `sandbox/`. */
  dataDir: string;
  mode: 'desktop' | 'serve';
  /** Where a remembered session is kept. */
  secretStore: SecretStore;
  /** The user's downloads folder (default `~/Downloads`). */
  downloadsDir?: string;
  /** Folder picker and file manager; without it those channels are 'unsupported'. */
  desktop?: DesktopShell;
  /**
   * With no remembered session, start signed in to the built-in sandbox (the
   * app's first run: a new user tries everything without an account).
   */
  startInSandbox?: boolean;
  /** Pipeline step time of the built-in sandbox, in ms (its default when absent). */
  sandboxStepMs?: number;
  /** Receives log lines (never secrets). */
  log?: (line: string) => void;
  /** Also log the engine's debug lines (retries, internals); default false. */
  isVerbose?: boolean;
  /** Injection points; the defaults are the real ones. */
  startSandbox?: (opts: {
    dataDir: string;
    port: number;
    pipelineStepMs?: number;
  }) => Promise<SandboxHandle>;
  createClient?: (opts: GencoveClientOptions) => GencoveClient;
  createEngine?: (opts: EngineOptions) => Engine;
  /** Timings of the watch-folder service (its defaults when absent). */
  watchTimings?: Partial<WatchTimings>;
}

/** How long a sign-in waits for its host before saying it does not answer. */
const SIGN_IN_TIMEOUT_MS = 20_000;

/** Plans kept at most; the oldest is dropped first. */
const MAX_PLANS = 50;

/** One signed-in session. */
interface ActiveSession {
  host: HostChoice;
  hostUrl: string;
  email: string | null;
  client: GencoveClient;
  engine: Engine;
  /** The session's watch folders (their rows live in the engine's journal). */
  watch: WatchService;
  isRemembered: boolean;
  stopEngineEvents: () => void;
}

/**
 * AppService implements the contract. Callers can rely on:
 *
 * - `handle` resolves with the channel's response type or rejects with an
 *   error that `toContractError` maps to a stable code (ServiceError for the
 *   service's own refusals, engine errors otherwise);
 * - session changes are serialised: a sign-in, sign-out or restore never
 *   overlaps another;
 * - a failed sign-in leaves the previous session as it was;
 * - events ('session:didChange', 'transfers:didChange',
 *   'transfers:didFinish', 'watch:didChange', 'watch:didFinishRun') reach
 *   every `onDidEmit` listener;
 * - the session's watch folders are watched from sign-in (or restore) to
 *   sign-out (or close); `watch:didFinishRun` is emitted once per run that
 *   reaches 'assigned' or 'failed' while watched;
 * - `close` stops the engine and the sandbox without forgetting the
 *   remembered session; the service must not be used afterwards.
 */
export class AppService implements ContractService {
  readonly #opts: AppServiceOptions;
  readonly #log: (line: string) => void;
  readonly #listeners = new Set<ServiceEventListener>();
  readonly #settings: SettingsStore;
  readonly #plans = new Map<string, UploadPlan>();
  /** Project names seen in projects:list, for readable transfer titles. */
  readonly #projectNames = new Map<string, string>();
  #session: ActiveSession | null = null;
  #sandbox: Promise<SandboxHandle> | null = null;
  /** Tail of the chain that serialises session changes. */
  #sessionQueue: Promise<unknown> = Promise.resolve();
  #restored: Promise<void> | null = null;
  /** The sign-in waiting for its host, if any; a newer one aborts it. */
  #pendingSignIn: AbortController | null = null;
  #isClosed = false;

  constructor(opts: AppServiceOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? (() => {});
    this.#settings = new SettingsStore(opts.dataDir, this.#log);
  }

  /**
   * start restores the remembered session now (instead of at the first
   * call), so that its watch folders are watched before any window asks.
   * Never rejects: a session that cannot be restored stays signed out.
   */
  async start(): Promise<void> {
    if (this.#isClosed) return;
    await this.#ensureRestored();
  }

  /**
   * isWatchJob is true when `jobId` is the upload of a watched run of the
   * current session (its end is announced by `watch:didFinishRun`).
   */
  isWatchJob(jobId: string): boolean {
    const watch = this.#session?.watch;
    if (!watch) return false;
    return watch
      .listFolders()
      .some((f) => f.runs.some((r) => r.jobId === jobId));
  }

  /**
   * backgroundWork counts what goes on without a window in the current
   * session (none when signed out): watch folders not paused, transfers
   * not finished. main uses it when the last window closes.
   */
  backgroundWork(): BackgroundWork {
    return backgroundWorkOf(this.watchFolders(), this.transfers());
  }

  /** The watch folders of the current session (none when signed out). */
  watchFolders(): WatchFolderView[] {
    return this.#session ? this.#session.watch.listFolders() : [];
  }

  /** The transfers of the current session (none when signed out). */
  transfers(): TransferSnapshot[] {
    return this.#session ? this.#session.engine.snapshots() : [];
  }

  /**
   * loadSettings returns the stored settings (the defaults when there are
   * none); main uses it at start to bring the system's login item in line.
   */
  loadSettings(): Promise<{ startAtLogin: boolean }> {
    return this.#settings.load();
  }

  /** Subscribes to every event of the service; returns the unsubscribe function. */
  onDidEmit(listener: ServiceEventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Runs one channel. See the class comment for what callers can rely on. */
  async handle<C extends Channel>(
    channel: C,
    request: ParsedRequestOf<C>,
  ): Promise<ResponseOf<C>> {
    if (this.#isClosed) {
      throw new ServiceError('internal', 'The app is shutting down.');
    }
    await this.#ensureRestored();
    try {
      return (await this.#route(channel, request)) as ResponseOf<C>;
    } catch (err) {
      if (err instanceof AuthError && err.kind === 'session-expired') {
        await this.#endSession('the session expired');
      }
      throw err;
    }
  }

  /** Stops the engine and the sandbox; the remembered session is kept. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    await this.#enqueueSessionChange(async () => {
      await this.#closeSession();
    });
    const sandbox = this.#sandbox;
    this.#sandbox = null;
    if (sandbox)
      await sandbox.then(
        (s) => s.close(),
        () => {},
      );
    this.#listeners.clear();
  }

  // -------------------------------------------------------------------------
  // Routing

  async #route(channel: Channel, request: unknown): Promise<unknown> {
    switch (channel) {
      case 'session:get':
        return this.#sessionInfo();
      case 'session:signIn':
        return this.#signIn(request as ParsedRequestOf<'session:signIn'>);
      case 'session:signOut':
        return this.#signOut();
      case 'projects:list':
        return this.#listProjects(request as ParsedRequestOf<'projects:list'>);
      case 'samples:list':
        return this.#listSamples(request as ParsedRequestOf<'samples:list'>);
      case 'samples:get':
        return this.#getSample(request as ParsedRequestOf<'samples:get'>);
      case 'plan:create':
        return this.#createPlan(request as ParsedRequestOf<'plan:create'>);
      case 'plan:edit':
        return this.#editPlan(request as ParsedRequestOf<'plan:edit'>);
      case 'upload:start':
        return this.#startUpload(request as ParsedRequestOf<'upload:start'>);
      case 'download:start':
        return this.#startDownload(
          request as ParsedRequestOf<'download:start'>,
        );
      case 'download:defaults':
        return this.#downloadDefaults();
      case 'transfers:list':
        return this.transfers();
      case 'transfers:cancel':
      case 'transfers:pause':
      case 'transfers:resume':
      case 'transfers:retry':
      case 'transfers:dismiss':
        return this.#controlTransfer(
          channel,
          (request as ParsedRequestOf<'transfers:cancel'>).jobId,
        );
      case 'fs:list':
        return listDirectory((request as ParsedRequestOf<'fs:list'>).path);
      case 'fs:pickFolder':
        return this.#desktop(
          'Choosing a folder with the system dialog',
        ).pickFolder((request as ParsedRequestOf<'fs:pickFolder'>).title);
      case 'fs:openFolder':
        return this.#openFolder(
          (request as ParsedRequestOf<'fs:openFolder'>).path,
        );
      case 'watch:list':
        return this.watchFolders();
      case 'watch:add':
        return this.#addWatchFolder(request as ParsedRequestOf<'watch:add'>);
      case 'watch:remove':
      case 'watch:pause':
      case 'watch:resume':
        return this.#controlWatchFolder(
          channel,
          (request as ParsedRequestOf<'watch:remove'>).folderId,
        );
      case 'watch:ignoreRun':
        return this.#ignoreRun(request as ParsedRequestOf<'watch:ignoreRun'>);
      case 'watch:retryRun':
        return this.#retryRun(request as ParsedRequestOf<'watch:retryRun'>);
      case 'watch:plan':
        return this.#watchPlan(request as ParsedRequestOf<'watch:plan'>);
      case 'settings:get':
        return this.#getSettings();
      case 'settings:set':
        return this.#setSettings(request as ParsedRequestOf<'settings:set'>);
      default:
        throw new ServiceError(
          'unknown-channel',
          `Unknown channel ${JSON.stringify(String(channel))}.`,
        );
    }
  }

  // -------------------------------------------------------------------------
  // Session

  #sessionInfo(): SessionInfo {
    const session = this.#session;
    return {
      signedIn: session !== null,
      host: session?.host ?? null,
      hostUrl: session?.hostUrl ?? null,
      email: session?.email ?? null,
      sandbox: session?.host.kind === 'sandbox',
      mode: this.#opts.mode,
      // A store that lives in memory only (serve mode) remembers nothing
      // for the next start.
      remembered:
        this.#opts.secretStore.isPersistent !== false &&
        (session?.isRemembered ?? false),
    };
  }

  #signIn(request: ParsedRequestOf<'session:signIn'>): Promise<SessionInfo> {
    // A newer sign-in replaces one still waiting for its host: a host that
    // never answers must not hold every later sign-in behind it.
    this.#pendingSignIn?.abort();
    const attempt = new AbortController();
    this.#pendingSignIn = attempt;
    return this.#enqueueSessionChange(async () => {
      if (attempt.signal.aborted) {
        throw new ServiceError('network', 'A newer sign-in replaced this one.');
      }
      const { host, credentials, remember } = request;
      if (credentials.kind === 'sandbox-demo' && host.kind !== 'sandbox') {
        throw new ServiceError(
          'validation',
          'The demo account exists only in the built-in sandbox: sign in with a password or an API key.',
        );
      }

      const sandbox =
        host.kind === 'sandbox' ? await this.#ensureSandbox() : null;
      const hostUrl = sandbox
        ? sandbox.info.api_url
        : resolveHostUrl(host as Exclude<HostChoice, { kind: 'sandbox' }>);

      // Tokens arrive during login(), before the session exists; keep them.
      const received: { tokens?: { access: string; refresh: string } } = {};
      const client = this.#createClient({
        host: hostUrl,
        auth: clientAuthFor(credentials, sandbox),
        onTokens: (tokens) => {
          received.tokens = tokens;
          void this.#maybeRememberTokens(client, tokens);
        },
      });
      let user: { email: string };
      const timeout = AbortSignal.timeout(SIGN_IN_TIMEOUT_MS);
      try {
        user = await client.login({
          signal: AbortSignal.any([attempt.signal, timeout]),
        });
      } catch (err) {
        client.close();
        if (timeout.aborted) {
          throw new ServiceError(
            'network',
            `${hostUrl} did not answer within ${SIGN_IN_TIMEOUT_MS / 1000} s: check the address, or try again later.`,
          );
        }
        if (attempt.signal.aborted) {
          throw new ServiceError('network', 'A newer sign-in replaced this one.');
        }
        throw err;
      } finally {
        if (this.#pendingSignIn === attempt) this.#pendingSignIn = null;
      }
      const storedAuth = storedAuthFor(credentials, received.tokens);
      const email = user.email || null;

      await this.#closeSession();
      let isRemembered = false;
      const stored: StoredSession = {
        version: 1,
        host,
        email,
        auth: storedAuth,
      };
      if (remember) {
        isRemembered = await this.#remember(stored);
      } else {
        await this.#forget();
      }
      this.#openSession({
        host,
        hostUrl,
        email,
        client,
        isRemembered,
        s3Endpoint: sandbox?.info.s3_endpoint,
      });
      this.#log(`AppService/signIn: signed in to ${hostUrl}`);
      return this.#sessionInfo();
    });
  }

  #signOut(): Promise<SessionInfo> {
    return this.#enqueueSessionChange(async () => {
      await this.#closeSession();
      await this.#forget();
      this.#emitSession();
      return this.#sessionInfo();
    });
  }

  /** Ends the session after the server refused it, so the user signs in again. */
  async #endSession(reason: string): Promise<void> {
    await this.#enqueueSessionChange(async () => {
      if (!this.#session) return;
      this.#log(`AppService/endSession: signed out: ${reason}`);
      await this.#closeSession();
      await this.#forget();
      this.#emitSession();
    });
  }

  /** Restores the remembered session once, before the first call is served. */
  #ensureRestored(): Promise<void> {
    this.#restored ??= this.#enqueueSessionChange(async () => {
      const stored = parseStoredSession(
        await this.#opts.secretStore.load().catch((err: unknown) => {
          this.#log(
            `AppService/restore: cannot read the secret store: ${toLogString(err)}`,
          );
          return null;
        }),
      );
      const session: StoredSession | null =
        stored ??
        (this.#opts.startInSandbox
          ? {
              version: 1,
              host: { kind: 'sandbox' },
              email: null,
              auth: { kind: 'sandbox-demo' },
            }
          : null);
      if (!session) return;
      try {
        await this.#restore(session);
      } catch (err) {
        // The session stays signed out; the user signs in again.
        this.#log(`AppService/restore: ${toLogString(err)}`);
      }
    });
    return this.#restored;
  }

  async #restore(stored: StoredSession): Promise<void> {
    const isSandbox = stored.host.kind === 'sandbox';
    const sandbox = isSandbox ? await this.#ensureSandbox() : null;
    const hostUrl = sandbox
      ? sandbox.info.api_url
      : resolveHostUrl(stored.host as Exclude<HostChoice, { kind: 'sandbox' }>);
    const auth = clientAuthFromStored(stored.auth, sandbox);
    if (!auth) return;
    // No network call here: the first request tells whether it still works.
    const client = this.#createClient({
      host: hostUrl,
      auth,
      onTokens: (next) => void this.#maybeRememberTokens(client, next),
    });
    this.#openSession({
      host: stored.host,
      hostUrl,
      email: stored.email,
      client,
      isRemembered: true,
      s3Endpoint: sandbox?.info.s3_endpoint,
    });
  }

  #openSession(params: {
    host: HostChoice;
    hostUrl: string;
    email: string | null;
    client: GencoveClient;
    isRemembered: boolean;
    /** The sandbox's S3 endpoint; absent for the real platform. */
    s3Endpoint?: string;
  }): void {
    const { s3Endpoint, ...session } = params;
    const engine = this.#createEngine({
      dataDir: path.join(
        this.#opts.dataDir,
        'engine',
        hostKey(params.host, params.hostUrl),
      ),
      client: params.client,
      s3Endpoint,
      log: (level, message) => {
        if (level !== 'debug' || this.#opts.isVerbose) {
          this.#log(`${level}: ${message}`);
        }
      },
    });
    const stopChange = engine.onDidChange((snapshots: TransferSnapshot[]) => {
      this.#emit('transfers:didChange', snapshots);
    });
    const stopFinish = engine.onDidFinish((snapshot: TransferSnapshot) => {
      this.#emit('transfers:didFinish', snapshot);
    });
    const watch = new WatchService({
      engine,
      client: params.client,
      timings: this.#opts.watchTimings,
      log: (level, message) => {
        if (level !== 'debug' || this.#opts.isVerbose) {
          this.#log(`${level}: ${message}`);
        }
      },
    });
    const stopWatchChange = watch.onDidChange((folders) => {
      this.#emit('watch:didChange', folders);
    });
    const stopWatchRun = watch.onDidChangeRun((event) => {
      this.#maybeEmitRunFinished(watch, event);
    });
    this.#session = {
      ...session,
      engine,
      watch,
      stopEngineEvents: () => {
        stopChange();
        stopFinish();
        stopWatchChange();
        stopWatchRun();
      },
    };
    // The transfers list shows what earlier runs finished, as before they
    // stopped; jobs they left unfinished continue where they stopped.
    try {
      engine.loadHistory();
    } catch (err) {
      this.#log(
        `AppService/openSession: cannot load earlier transfers: ${toLogString(err)}`,
      );
    }
    this.#emitSession();
    engine.resumeInterrupted().catch((err: unknown) => {
      this.#log(
        `AppService/openSession: cannot resume transfers: ${toLogString(err)}`,
      );
    });
    watch.start().catch((err: unknown) => {
      this.#log(
        `AppService/openSession: cannot start watching folders: ${toLogString(err)}`,
      );
    });
  }

  /** Announces a watched run that was just delivered or just failed. */
  #maybeEmitRunFinished(watch: WatchService, event: WatchRunEvent): void {
    const { run, previousState } = event;
    const isFinished = run.state === 'assigned' || run.state === 'failed';
    if (!isFinished || previousState === run.state) return;
    let folder: WatchFolderView;
    try {
      folder = watch.getFolder(event.folderId);
    } catch {
      return; // Removed meanwhile: nobody waits for its news.
    }
    const finished: WatchRunFinished = {
      folderId: folder.id,
      folderPath: folder.path,
      projectId: folder.projectId,
      projectName: folder.projectName,
      run,
    };
    this.#emit('watch:didFinishRun', finished);
  }

  async #closeSession(): Promise<void> {
    const session = this.#session;
    if (!session) return;
    this.#session = null;
    this.#plans.clear();
    this.#projectNames.clear();
    session.stopEngineEvents();
    // The watch service writes the engine's journal: it stops first.
    try {
      await session.watch.stop();
    } catch (err) {
      this.#log(`AppService/closeSession: watch: ${toLogString(err)}`);
    }
    try {
      await session.engine.close();
    } catch (err) {
      this.#log(`AppService/closeSession: ${toLogString(err)}`);
    }
    session.client.close();
    this.#emit('watch:didChange', []);
  }

  /** Saves the session; false (and a log line) when the store refuses. */
  async #remember(stored: StoredSession): Promise<boolean> {
    try {
      await this.#opts.secretStore.save(serializeSession(stored));
      return true;
    } catch (err) {
      this.#log(
        `AppService/remember: the sign-in is not remembered: ${err instanceof Error ? err.message : String(err)}`,
      );
      await this.#forget();
      return false;
    }
  }

  async #forget(): Promise<void> {
    try {
      await this.#opts.secretStore.clear();
    } catch (err) {
      this.#log(`AppService/forget: ${toLogString(err)}`);
    }
  }

  /** Keeps refreshed tokens of the remembered session of `client`. */
  async #maybeRememberTokens(
    client: GencoveClient,
    tokens: { access: string; refresh: string },
  ): Promise<void> {
    const session = this.#session;
    if (!session || session.client !== client || !session.isRemembered) return;
    await this.#remember({
      version: 1,
      host: session.host,
      email: session.email,
      auth: { kind: 'tokens', access: tokens.access, refresh: tokens.refresh },
    });
  }

  #enqueueSessionChange<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#sessionQueue.then(change, change);
    this.#sessionQueue = run.catch(() => {});
    return run;
  }

  #ensureSandbox(): Promise<SandboxHandle> {
    if (this.#sandbox) return this.#sandbox;
    const start = this.#opts.startSandbox ?? defaultStartSandbox;
    const starting = start({
      dataDir: path.join(this.#opts.dataDir, 'sandbox'),
      port: 0,
      pipelineStepMs: this.#opts.sandboxStepMs,
    }).then((handle: SandboxHandle) => {
      this.#log(
        `AppService/sandbox: built-in sandbox at ${handle.info.api_url}`,
      );
      return handle;
    });
    // A failed start is tried again next time.
    starting.catch(() => {
      if (this.#sandbox === starting) this.#sandbox = null;
    });
    this.#sandbox = starting;
    return starting;
  }

  #createClient(opts: GencoveClientOptions): GencoveClient {
    return this.#opts.createClient
      ? this.#opts.createClient(opts)
      : new GencoveClient(opts);
  }

  #createEngine(opts: EngineOptions): Engine {
    return this.#opts.createEngine
      ? this.#opts.createEngine(opts)
      : new Engine(opts);
  }

  #requireSession(): ActiveSession {
    if (!this.#session) {
      throw new ServiceError('not-signed-in', 'Sign in first.');
    }
    return this.#session;
  }

  // -------------------------------------------------------------------------
  // Projects and samples

  async #listProjects(
    request: ParsedRequestOf<'projects:list'>,
  ): Promise<ProjectSummary[]> {
    const { client } = this.#requireSession();
    const projects = await client.listProjects({ search: request.search });
    const capabilityIds = [
      ...new Set(
        projects
          .map((p: Project) => p.pipeline_capabilities)
          .filter((id): id is string => typeof id === 'string' && id !== ''),
      ),
    ];
    const capabilities =
      capabilityIds.length > 0
        ? await client.getPipelineCapabilities(capabilityIds)
        : [];
    const names = new Map(capabilities.map((c) => [c.id, c.name]));
    for (const p of projects) this.#projectNames.set(p.id, p.name);
    return projects.map((p: Project) => ({
      id: p.id,
      name: p.name,
      description: p.description ?? '',
      pipelineCapabilities: p.pipeline_capabilities ?? '',
      configurationName: names.get(p.pipeline_capabilities ?? '') ?? null,
      sampleCount: typeof p.sample_count === 'number' ? p.sample_count : 0,
      created: p.created ?? '',
    }));
  }

  async #listSamples(
    request: ParsedRequestOf<'samples:list'>,
  ): Promise<SampleRow[]> {
    const { client } = this.#requireSession();
    const samples = await client.listProjectSamples(request.projectId, {
      status: request.status ?? 'all',
    });
    return samples.map(toSampleRow);
  }

  async #getSample(
    request: ParsedRequestOf<'samples:get'>,
  ): Promise<SampleDetail> {
    const { client } = this.#requireSession();
    const [sample, qc, metadata] = await Promise.all([
      client.getSample(request.sampleId),
      client.getSampleQc(request.sampleId),
      client.getSampleMetadata(request.sampleId),
    ]);
    return toSampleDetail(sample, qc, metadata.metadata);
  }

  // -------------------------------------------------------------------------
  // Plans and transfers

  async #createPlan(
    request: ParsedRequestOf<'plan:create'>,
  ): Promise<UploadPlan> {
    const { engine } = this.#requireSession();
    for (const p of request.paths) requireAbsolute(p, 'plan:create');
    const plan = await engine.plan(
      request.paths.map((p) => path.resolve(p)),
      {
        destination: request.destination,
        includeUndetermined: request.includeUndetermined,
      },
    );
    return this.#keepPlan({ ...plan, id: randomUUID() });
  }

  #editPlan(request: ParsedRequestOf<'plan:edit'>): UploadPlan {
    this.#requireSession();
    const plan = this.#findPlan(request.planId);
    const edited = applyPlanEdits(plan, request.edits);
    return this.#keepPlan({ ...edited, id: request.planId });
  }

  #startUpload(request: ParsedRequestOf<'upload:start'>): { jobId: string } {
    const { engine } = this.#requireSession();
    const plan = this.#findPlan(request.planId);
    if (!plan.samples.some((s) => s.included)) {
      throw new ServiceError(
        'validation',
        'Nothing to upload: every sample of this plan is excluded or has an error.',
      );
    }
    const jobId = engine.enqueueUpload(plan, {
      projectId: request.projectId,
      metadata: request.metadata ?? null,
    });
    // A plan is started once; starting it again would upload it twice.
    this.#plans.delete(request.planId);
    return { jobId };
  }

  #startDownload(request: ParsedRequestOf<'download:start'>): {
    jobId: string;
  } {
    const { engine } = this.#requireSession();
    requireAbsolute(request.destination, 'download:start');
    const hasSamples = (request.sampleIds?.length ?? 0) > 0;
    if (!request.projectId === !hasSamples) {
      throw new ServiceError(
        'validation',
        'Choose what to download: a project, or a list of samples (not both).',
      );
    }
    const destination = path.resolve(request.destination);
    const projectName = request.projectId
      ? this.#projectNames.get(request.projectId)
      : undefined;
    const jobId = engine.enqueueDownload(
      {
        ...request,
        destination,
        template: request.template ?? DEFAULT_DOWNLOAD_TEMPLATE,
        skipExisting: request.skipExisting ?? true,
      },
      projectName
        ? { title: `Download of ${projectName} to ${destination}` }
        : {},
    );
    return { jobId };
  }

  #downloadDefaults(): { folder: string; template: string } {
    const downloads =
      this.#opts.downloadsDir ?? path.join(os.homedir(), 'Downloads');
    return {
      folder: path.join(downloads, 'Gencove'),
      template: DEFAULT_DOWNLOAD_TEMPLATE,
    };
  }

  #controlTransfer(
    channel:
      | 'transfers:cancel'
      | 'transfers:pause'
      | 'transfers:resume'
      | 'transfers:retry'
      | 'transfers:dismiss',
    jobId: string,
  ): null {
    const { engine } = this.#requireSession();
    if (!engine.snapshots().some((s: TransferSnapshot) => s.id === jobId)) {
      throw new ServiceError('not-found', `No transfer with id ${jobId}.`);
    }
    switch (channel) {
      case 'transfers:cancel':
        engine.cancel(jobId);
        break;
      case 'transfers:pause':
        engine.pause(jobId);
        break;
      case 'transfers:resume':
        engine.resume(jobId);
        break;
      case 'transfers:retry':
        engine.retry(jobId);
        break;
      case 'transfers:dismiss':
        engine.dismiss(jobId);
        break;
    }
    return null;
  }

  #keepPlan(plan: UploadPlan & { id: string }): UploadPlan {
    this.#plans.delete(plan.id);
    this.#plans.set(plan.id, plan);
    while (this.#plans.size > MAX_PLANS) {
      const oldest = this.#plans.keys().next().value as string;
      this.#plans.delete(oldest);
    }
    return plan;
  }

  #findPlan(planId: string): UploadPlan {
    const plan = this.#plans.get(planId);
    if (!plan) {
      throw new ServiceError(
        'not-found',
        `No upload plan ${planId}: it was started already, or is too old. Choose the files again.`,
      );
    }
    return plan;
  }

  // -------------------------------------------------------------------------
  // Watch folders

  async #addWatchFolder(
    request: ParsedRequestOf<'watch:add'>,
  ): Promise<WatchFolderView> {
    const { client, watch } = this.#requireSession();
    requireAbsolute(request.path, 'watch:add');
    const folder = path.resolve(request.path);
    const stat = await fs.stat(folder).catch(() => null);
    if (stat && !stat.isDirectory()) {
      throw new ServiceError(
        'validation',
        `watch:add: ${folder} is a file, not a folder: choose the folder the instrument writes its run folders into.`,
      );
    }
    // A folder for a project that does not exist would fail every run.
    let projectName: string;
    try {
      projectName = (await client.getProject(request.projectId)).name;
    } catch (err) {
      if (toContractError(err).code === 'not-found') {
        throw new ServiceError(
          'not-found',
          `watch:add: there is no project ${request.projectId} on this platform (or this account cannot see it).`,
        );
      }
      throw err;
    }
    this.#projectNames.set(request.projectId, projectName);
    const view = watch.addFolder({
      path: folder,
      projectId: request.projectId,
      destination: request.destination ?? null,
      metadata: request.metadata ?? null,
      polling: request.polling,
      settleSeconds: request.settleSeconds,
      includeUndetermined: request.includeUndetermined,
      ignoreExistingRuns: request.ignoreExistingRuns,
    });
    this.#log(
      `AppService/watch: watching a folder for project ${request.projectId}`,
    );
    // The service asks the platform for the name by itself, later.
    return { ...view, projectName: view.projectName ?? projectName };
  }

  async #controlWatchFolder(
    channel: 'watch:remove' | 'watch:pause' | 'watch:resume',
    folderId: string,
  ): Promise<WatchFolderView | null> {
    const { watch } = this.#requireSession();
    requireWatchFolder(watch, folderId);
    switch (channel) {
      case 'watch:remove':
        await watch.removeFolder(folderId);
        return null;
      case 'watch:pause':
        return watch.pauseFolder(folderId);
      case 'watch:resume':
        return watch.resumeFolder(folderId);
    }
  }

  #ignoreRun(request: ParsedRequestOf<'watch:ignoreRun'>): WatchRunView {
    const { watch } = this.#requireSession();
    requireWatchRun(watch, request.folderId, request.runId);
    return watch.ignoreRun(request.folderId, request.runId);
  }

  #retryRun(request: ParsedRequestOf<'watch:retryRun'>): WatchRunView {
    const { watch } = this.#requireSession();
    requireWatchRun(watch, request.folderId, request.runId);
    return watch.retryRun(request.folderId, request.runId, {
      force: request.force,
    });
  }

  #watchPlan(request: ParsedRequestOf<'watch:plan'>): UploadPlan | null {
    const { watch } = this.#requireSession();
    requireWatchRun(watch, request.folderId, request.runId);
    return watch.getPlan(request.folderId, request.runId);
  }

  // -------------------------------------------------------------------------
  // Settings

  async #getSettings(): Promise<AppSettings> {
    const stored = await this.#settings.load();
    return {
      startAtLogin: stored.startAtLogin,
      canStartAtLogin: this.#opts.desktop?.setOpenAtLogin !== undefined,
    };
  }

  async #setSettings(
    request: ParsedRequestOf<'settings:set'>,
  ): Promise<AppSettings> {
    const stored = await this.#settings.load();
    if (
      request.startAtLogin !== undefined &&
      request.startAtLogin !== stored.startAtLogin
    ) {
      const setOpenAtLogin = this.#opts.desktop?.setOpenAtLogin;
      if (!setOpenAtLogin) {
        throw new ServiceError(
          'unsupported',
          'Starting at login is only available in the desktop app.',
        );
      }
      const desktop = this.#opts.desktop!;
      try {
        setOpenAtLogin.call(desktop, request.startAtLogin);
      } catch (err) {
        throw new ServiceError(
          'internal',
          `The system did not accept the login item: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      try {
        await this.#settings.save({
          ...stored,
          startAtLogin: request.startAtLogin,
        });
      } catch (err) {
        // Keep the system and the file in agreement.
        try {
          setOpenAtLogin.call(desktop, stored.startAtLogin);
        } catch {
          // The log line below says what was asked; nothing more to undo.
        }
        this.#log(`AppService/settings: ${toLogString(err)}`);
        throw new ServiceError(
          'internal',
          `The setting could not be saved in ${this.#settings.file}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return this.#getSettings();
  }

  // -------------------------------------------------------------------------
  // Desktop shell

  #desktop(what: string): DesktopShell {
    if (!this.#opts.desktop) {
      throw new ServiceError(
        'unsupported',
        `${what} is only available in the desktop app.`,
      );
    }
    return this.#opts.desktop;
  }

  async #openFolder(folder: string): Promise<null> {
    const shell = this.#desktop('Opening a folder in the file manager');
    requireAbsolute(folder, 'fs:openFolder');
    const stat = await fs.stat(folder).catch(() => null);
    if (!stat?.isDirectory()) {
      throw new ServiceError('validation', `Not a folder: ${folder}`);
    }
    await shell.openFolder(path.resolve(folder));
    return null;
  }

  // -------------------------------------------------------------------------
  // Events

  #emitSession(): void {
    this.#emit('session:didChange', this.#sessionInfo());
  }

  #emit: ServiceEventListener = (event, payload) => {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event, payload);
      } catch (err) {
        this.#log(`AppService/emit(${event}): ${toLogString(err)}`);
      }
    }
  };
}

type SignInCredentials = ParsedRequestOf<'session:signIn'>['credentials'];

/** The client's Auth for the credentials of a sign-in. */
function clientAuthFor(
  credentials: SignInCredentials,
  sandbox: SandboxHandle | null,
): Auth {
  switch (credentials.kind) {
    case 'sandbox-demo':
      if (!sandbox) {
        throw new ServiceError(
          'validation',
          'The demo account exists only in the built-in sandbox.',
        );
      }
      return { kind: 'api-key', apiKey: sandbox.info.api_key };
    case 'api-key':
      return { kind: 'api-key', apiKey: credentials.apiKey.trim() };
    case 'password': {
      const otp = credentials.otp?.trim();
      return {
        kind: 'password',
        email: credentials.email.trim(),
        password: credentials.password,
        // Without a code the client fails with 'otp-required', and the user
        // signs in again with one.
        otp: otp ? async () => otp : undefined,
      };
    }
  }
}

/**
 * What is remembered of a successful sign-in: never a password (the session
 * tokens instead), never the sandbox's key (it is read again at start).
 */
function storedAuthFor(
  credentials: SignInCredentials,
  tokens: { access: string; refresh: string } | undefined,
): StoredAuth {
  switch (credentials.kind) {
    case 'sandbox-demo':
      return { kind: 'sandbox-demo' };
    case 'api-key':
      return { kind: 'api-key', apiKey: credentials.apiKey.trim() };
    case 'password':
      if (!tokens) {
        throw new ServiceError(
          'internal',
          'Sign-in succeeded but the server sent no session tokens.',
        );
      }
      return { kind: 'tokens', access: tokens.access, refresh: tokens.refresh };
  }
}

/** The client's Auth for a remembered session; null when it cannot work. */
function clientAuthFromStored(
  stored: StoredAuth,
  sandbox: SandboxHandle | null,
): Auth | null {
  switch (stored.kind) {
    case 'sandbox-demo':
      return sandbox ? { kind: 'api-key', apiKey: sandbox.info.api_key } : null;
    case 'api-key':
      return { kind: 'api-key', apiKey: stored.apiKey };
    case 'tokens':
      return { kind: 'tokens', access: stored.access, refresh: stored.refresh };
  }
}

/** Throws 'not-found' unless the session has the watch folder. */
function requireWatchFolder(watch: WatchService, folderId: string): void {
  if (!watch.listFolders().some((f) => f.id === folderId)) {
    throw new ServiceError(
      'not-found',
      `There is no watch folder ${folderId}: it was removed, or belongs to another sign-in.`,
    );
  }
}

/** Throws 'not-found' unless the watch folder has a run with this Run Id. */
function requireWatchRun(
  watch: WatchService,
  folderId: string,
  runId: string,
): void {
  requireWatchFolder(watch, folderId);
  if (!watch.getFolder(folderId).runs.some((r) => r.runId === runId)) {
    throw new ServiceError(
      'not-found',
      `The watch folder ${folderId} has no run ${runId}.`,
    );
  }
}

function requireAbsolute(p: string, where: string): void {
  if (!path.isAbsolute(p)) {
    throw new ServiceError(
      'validation',
      `${where}: "${p}" is not an absolute path.`,
    );
  }
}

/** toSampleRow maps a project-samples item to the renderer's row. */
export function toSampleRow(sample: SampleList): SampleRow {
  const status = sample.last_status?.status ?? 'unknown';
  return {
    id: sample.id,
    clientId: sample.client_id,
    status,
    archiveStatus: sample.archive_last_status?.status ?? null,
    failedQc: isFailedQc(status, sample.failed_qc),
    created: sample.created ?? '',
    modified: sample.modified ?? '',
  };
}

function isFailedQc(
  status: string,
  failedQc: SampleList['failed_qc'],
): boolean {
  if (status.toLowerCase() === 'failed qc') return true;
  if (Array.isArray(failedQc)) return failedQc.length > 0;
  if (typeof failedQc === 'boolean') return failedQc;
  return typeof failedQc === 'string' && failedQc !== '';
}

/** toSampleDetail maps a sample, its QC and its metadata to the renderer's detail. */
export function toSampleDetail(
  sample: SampleDetails,
  qc: SampleQc[],
  metadata: unknown,
): SampleDetail {
  return {
    ...toSampleRow(sample),
    projectId: sample.project ?? '',
    files: sample.files.map((f) => ({
      id: f.id,
      fileType: f.file_type,
      size: typeof f.size === 'number' ? f.size : null,
      downloadable: typeof f.download_url === 'string' && f.download_url !== '',
      checksumSha256: f.checksum_sha256 ?? '',
    })),
    qc: qc.map(toQcMetric),
    metadata: metadata ?? null,
  };
}

function toQcMetric(item: SampleQc): QcMetric {
  const type = item.quality_control_type;
  const value = item.quality_control;
  const status = value.status;
  return {
    key: type.key,
    name: type.name ?? type.key,
    type: type.type ?? '',
    valueMeasured:
      typeof value.value_measured === 'number' ? value.value_measured : null,
    valueExpected:
      typeof value.value_expected === 'number' ? value.value_expected : null,
    valueString: value.value_string ?? '',
    status: status === 'succeeded' || status === 'failed' ? status : 'skipped',
  };
}
