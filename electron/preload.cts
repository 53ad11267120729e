/**
 * The preload of the app window: exposes the contract's Bridge as
 * `window.gencove`, nothing more.
 *
 * Sandboxed preloads are CommonJS and may require only Electron's own
 * modules, so this file imports nothing of ours at run time: the channel and
 * event names below are a copy of shared/contract.ts, and preload.test.ts
 * fails when the two differ.
 */
import type {
  Bridge,
  Channel,
  EventMap,
  EventName,
  Result,
} from '../shared/contract.ts';

const { contextBridge, ipcRenderer, webUtils } =
  require('electron') as typeof import('electron');

/** Every channel of the contract (kept equal to `channels` by a test). */
const CHANNELS: ReadonlySet<string> = new Set<Channel>([
  'session:get',
  'session:signIn',
  'session:signOut',
  'projects:list',
  'samples:list',
  'samples:get',
  'plan:create',
  'plan:edit',
  'upload:start',
  'download:start',
  'download:defaults',
  'transfers:list',
  'transfers:cancel',
  'transfers:pause',
  'transfers:resume',
  'transfers:retry',
  'transfers:dismiss',
  'fs:list',
  'fs:pickFolder',
  'fs:openFolder',
  'watch:list',
  'watch:add',
  'watch:remove',
  'watch:pause',
  'watch:resume',
  'watch:ignoreRun',
  'watch:retryRun',
  'watch:plan',
  'settings:get',
  'settings:set',
]);

/** Every event of the contract (kept equal to `eventNames` by a test). */
const EVENTS: ReadonlySet<string> = new Set<EventName>([
  'transfers:didChange',
  'transfers:didFinish',
  'session:didChange',
  'watch:didChange',
  'watch:didFinishRun',
]);

const bridge: Bridge = {
  async invoke(channel, request) {
    if (!CHANNELS.has(channel)) {
      return {
        ok: false,
        error: {
          code: 'unknown-channel',
          message: `Unknown channel ${JSON.stringify(String(channel))}.`,
        },
      };
    }
    try {
      return (await ipcRenderer.invoke(channel, request)) as Result<never>;
    } catch (err) {
      // Only when main has no handler (yet): handlers never throw.
      return {
        ok: false,
        error: {
          code: 'internal',
          message: `${channel} failed: ${err instanceof Error ? err.message : String(err)}`,
        },
      };
    }
  },

  on<E extends EventName>(
    event: E,
    listener: (payload: EventMap[E]) => void,
  ): () => void {
    if (!EVENTS.has(event)) {
      throw new Error(`Unknown event ${JSON.stringify(String(event))}.`);
    }
    // The IPC event object (with its sender) never reaches the page.
    const forward = (_event: unknown, payload: EventMap[E]) => {
      listener(payload);
    };
    ipcRenderer.on(event, forward);
    return () => {
      ipcRenderer.removeListener(event, forward);
    };
  },

  pathForFile(file) {
    const filePath = webUtils.getPathForFile(file);
    return filePath === '' ? null : filePath;
  },

  mode: 'desktop',
};

contextBridge.exposeInMainWorld('gencove', bridge);
