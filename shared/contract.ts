/**
 * The one contract between the renderer and the engine, used by Electron IPC
 * (preload + ipc.ts) and by serve mode (WebSocket). Every renderer-visible
 * operation is a channel named `domain:verb` with a request schema and a
 * response type; events flow the other way as `domain:didX`.
 *
 * No Node, DOM or Electron imports here: zod and shared types only.
 */
import { z } from 'zod';

import type {
  DownloadRequest,
  ProjectSummary,
  SampleDetail,
  SampleRow,
  TransferSnapshot,
  UploadPlan,
  WatchFolderView,
  WatchRunView,
} from './domain.ts';

/** Which platform the session talks to. */
export const HostChoiceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sandbox') }),
  z.object({ kind: z.literal('production') }),
  z.object({ kind: z.literal('staging') }),
  z.object({ kind: z.literal('custom'), url: z.url().max(2048) }),
]);
export type HostChoice = z.infer<typeof HostChoiceSchema>;

const uuid = z.uuid();
const localPath = z.string().min(1).max(4096);
const gncvDestination = z
  .string()
  .max(1024)
  .regex(/^gncv:\/\//, 'destination must start with gncv://');

export const SignInSchema = z.object({
  host: HostChoiceSchema,
  credentials: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('sandbox-demo') }),
    z.object({
      kind: z.literal('password'),
      email: z.string().min(1).max(320),
      password: z.string().min(1).max(1024),
      otp: z.string().max(64).optional(),
    }),
    z.object({ kind: z.literal('api-key'), apiKey: z.string().min(1).max(1024) }),
  ]),
  remember: z.boolean().default(true),
});
export type SignInRequest = z.input<typeof SignInSchema>;

export interface SessionInfo {
  signedIn: boolean;
  host: HostChoice | null;
  hostUrl: string | null;
  email: string | null;
  /** True when the sandbox runs inside this app. */
  sandbox: boolean;
  /** Serve mode (browser) or desktop (Electron). */
  mode: 'desktop' | 'serve';
  /**
   * True when the sign-in is kept for the next start. False when it was not
   * asked for, or when it could not be kept safely (no system keychain).
   */
  remembered?: boolean;
}

export const PlanEditsSchema = z.object({
  renames: z.record(z.string().max(256), z.string().max(256)).optional(),
  excluded: z.array(z.string().max(256)).max(100_000).optional(),
  destination: gncvDestination.optional(),
});

export const PlanCreateSchema = z.object({
  paths: z.array(localPath).min(1).max(10_000),
  destination: gncvDestination.optional(),
  includeUndetermined: z.boolean().optional(),
});

export const DownloadRequestSchema = z.object({
  destination: localPath,
  projectId: uuid.optional(),
  sampleIds: z.array(uuid).max(100_000).optional(),
  fileTypes: z.array(z.string().min(1).max(128)).max(200).optional(),
  template: z.string().min(1).max(1024).optional(),
  skipExisting: z.boolean().optional(),
}) satisfies z.ZodType<DownloadRequest>;

/** Longest settle time a watch folder accepts: one day, in seconds. */
export const MAX_SETTLE_SECONDS = 86_400;

const watchFolderId = z.string().min(1).max(64);
const watchRunId = z.string().min(1).max(256);

/** What `watch:add` takes (the options of WatchService.addFolder). */
export const WatchAddSchema = z
  .object({
    /** The folder the instrument writes run folders into; absolute. */
    path: localPath,
    projectId: uuid,
    /** Base destination; null or absent for `gncv://<project name>/`. */
    destination: gncvDestination.nullable().optional(),
    /** JSON metadata attached to every sample the folder's runs create. */
    metadata: z.json().optional(),
    /** Stat-based polling (network shares) instead of file-system events. */
    polling: z.boolean().optional(),
    settleSeconds: z.number().min(0).max(MAX_SETTLE_SECONDS).optional(),
    includeUndetermined: z.boolean().optional(),
    ignoreExistingRuns: z.boolean().optional(),
  })
  .strict();
export type WatchAddRequest = z.input<typeof WatchAddSchema>;

const WatchFolderRefSchema = z.object({ folderId: watchFolderId }).strict();
const WatchRunRefSchema = z
  .object({ folderId: watchFolderId, runId: watchRunId })
  .strict();

/** The app's own settings, kept in its data folder. */
export interface AppSettings {
  /**
   * Desktop: the app starts when the user logs in and watches the watch
   * folders of the remembered session.
   */
  startAtLogin: boolean;
  /** False where starting at login means nothing (serve mode). */
  canStartAtLogin: boolean;
}

export const SettingsSetSchema = z
  .object({ startAtLogin: z.boolean().optional() })
  .strict();

/** A run of a watch folder reached 'assigned' or 'failed'. */
export interface WatchRunFinished {
  folderId: string;
  /** The watch folder's path. */
  folderPath: string;
  projectId: string;
  projectName: string | null;
  run: WatchRunView;
}

export interface DirEntry {
  name: string;
  path: string;
  kind: 'dir' | 'file';
  size: number | null;
}
export interface DirListing {
  path: string;
  parent: string | null;
  entries: DirEntry[];
}

/** Carries a response type in the channel map; it has no runtime value. */
function reply<T>(): T {
  return undefined as T;
}

/**
 * Every channel: its request schema and the type of its successful value.
 * Adding a channel is one edit here; preload, ipc.ts and serve mode are
 * typed from this map.
 */
export const channels = {
  'session:get': { request: z.object({}).strict(), response: reply<SessionInfo>() },
  'session:signIn': { request: SignInSchema, response: reply<SessionInfo>() },
  'session:signOut': { request: z.object({}).strict(), response: reply<SessionInfo>() },
  'projects:list': {
    request: z.object({ search: z.string().max(256).optional() }).strict(),
    response: reply<ProjectSummary[]>(),
  },
  'samples:list': {
    request: z
      .object({
        projectId: uuid,
        status: z
          .enum(['all', 'completed', 'failed', 'running', 'succeeded'])
          .optional(),
      })
      .strict(),
    response: reply<SampleRow[]>(),
  },
  'samples:get': {
    request: z.object({ sampleId: uuid }).strict(),
    response: reply<SampleDetail>(),
  },
  'plan:create': { request: PlanCreateSchema, response: reply<UploadPlan>() },
  'plan:edit': {
    request: z.object({ planId: z.string().max(64), edits: PlanEditsSchema }),
    response: reply<UploadPlan>(),
  },
  'upload:start': {
    request: z
      .object({
        planId: z.string().max(64),
        projectId: uuid.optional(),
        metadata: z.unknown().optional(),
      })
      .strict(),
    response: reply<{ jobId: string }>(),
  },
  'download:start': {
    request: DownloadRequestSchema,
    response: reply<{ jobId: string }>(),
  },
  'download:defaults': {
    request: z.object({}).strict(),
    response: reply<{ folder: string; template: string }>(),
  },
  'transfers:list': {
    request: z.object({}).strict(),
    response: reply<TransferSnapshot[]>(),
  },
  'transfers:cancel': {
    request: z.object({ jobId: z.string().max(64) }).strict(),
    response: reply<null>(),
  },
  'transfers:pause': {
    request: z.object({ jobId: z.string().max(64) }).strict(),
    response: reply<null>(),
  },
  'transfers:resume': {
    request: z.object({ jobId: z.string().max(64) }).strict(),
    response: reply<null>(),
  },
  'transfers:retry': {
    request: z.object({ jobId: z.string().max(64) }).strict(),
    response: reply<null>(),
  },
  'transfers:dismiss': {
    request: z.object({ jobId: z.string().max(64) }).strict(),
    response: reply<null>(),
  },
  'fs:list': {
    request: z.object({ path: localPath.optional() }).strict(),
    response: reply<DirListing>(),
  },
  'fs:pickFolder': {
    request: z.object({ title: z.string().max(200).optional() }).strict(),
    response: reply<string | null>(),
  },
  'fs:openFolder': {
    request: z.object({ path: localPath }).strict(),
    response: reply<null>(),
  },
  'watch:list': {
    request: z.object({}).strict(),
    response: reply<WatchFolderView[]>(),
  },
  'watch:add': { request: WatchAddSchema, response: reply<WatchFolderView>() },
  'watch:remove': { request: WatchFolderRefSchema, response: reply<null>() },
  'watch:pause': {
    request: WatchFolderRefSchema,
    response: reply<WatchFolderView>(),
  },
  'watch:resume': {
    request: WatchFolderRefSchema,
    response: reply<WatchFolderView>(),
  },
  'watch:ignoreRun': {
    request: WatchRunRefSchema,
    response: reply<WatchRunView>(),
  },
  'watch:retryRun': {
    request: WatchRunRefSchema.extend({ force: z.boolean().optional() }),
    response: reply<WatchRunView>(),
  },
  'watch:plan': {
    request: WatchRunRefSchema,
    response: reply<UploadPlan | null>(),
  },
  'settings:get': {
    request: z.object({}).strict(),
    response: reply<AppSettings>(),
  },
  'settings:set': {
    request: SettingsSetSchema,
    response: reply<AppSettings>(),
  },
} as const;

export type Channel = keyof typeof channels;
export type RequestOf<C extends Channel> = z.input<
  (typeof channels)[C]['request']
>;
export type ResponseOf<C extends Channel> = (typeof channels)[C]['response'];

/** Stable error codes a handler may return. */
export type ErrorCode =
  | 'invalid-request'
  | 'forbidden-sender'
  | 'unknown-channel'
  | 'not-signed-in'
  | 'bad-credentials'
  | 'otp-required'
  | 'session-expired'
  | 'network'
  | 'not-found'
  | 'validation'
  | 'maintenance'
  | 'unsupported'
  | 'internal';

export interface ContractError {
  code: ErrorCode;
  message: string;
}

export type Result<T> =
  | { ok: true; value: T }
  | { ok: false; error: ContractError };

/** Events pushed from the engine to the renderer. */
export interface EventMap {
  'transfers:didChange': TransferSnapshot[];
  'transfers:didFinish': TransferSnapshot;
  'session:didChange': SessionInfo;
  /** Every watch folder with its runs, a few times a second at most. */
  'watch:didChange': WatchFolderView[];
  /** A watched run was delivered (assigned) or failed. */
  'watch:didFinishRun': WatchRunFinished;
}
export type EventName = keyof EventMap;
export const eventNames: readonly EventName[] = [
  'transfers:didChange',
  'transfers:didFinish',
  'session:didChange',
  'watch:didChange',
  'watch:didFinishRun',
];

/** The bridge the renderer sees (window.gencove in Electron; a WebSocket proxy in serve mode). */
export interface Bridge {
  invoke<C extends Channel>(
    channel: C,
    request: RequestOf<C>,
  ): Promise<Result<ResponseOf<C>>>;
  on<E extends EventName>(
    event: E,
    listener: (payload: EventMap[E]) => void,
  ): () => void;
  /** Desktop only: the absolute path of a dropped File (webUtils); null in serve mode. */
  pathForFile(file: File): string | null;
  readonly mode: 'desktop' | 'serve';
}

/** Wire frames of serve mode's WebSocket. */
export type ClientFrame = { id: number; channel: Channel; request: unknown };
export type ServerFrame =
  | { id: number; result: Result<unknown> }
  | { event: EventName; payload: unknown };

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.hasOwn(channels, name);
}
