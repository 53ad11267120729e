/**
 * Watch slice: the watch folders of the session with their runs (as the
 * engine reports them through `watch:didChange`), the folder and run
 * controls, and the app's settings (start at login).
 */
import type {
  AppSettings,
  ContractError,
  Result,
  WatchAddRequest,
} from '../../../shared/contract.ts';
import type {
  UploadPlan,
  WatchFolderView,
  WatchRunView,
} from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import type { AppState, LoadStatus, SliceCreator } from './types.ts';

export type WatchFolderAction = 'pause' | 'resume' | 'remove';
export type WatchRunAction = 'ignoreRun' | 'retryRun';

export interface WatchState {
  folders: WatchFolderView[];
  status: LoadStatus;
  error: ContractError | null;
  /** Control calls in flight, by folder id or `<folder id>/<run id>`. */
  pending: Record<string, WatchFolderAction | WatchRunAction>;
}

export interface SettingsState {
  value: AppSettings | null;
  status: LoadStatus;
  error: ContractError | null;
  /** True while a `settings:set` is in flight. */
  isSaving: boolean;
}

export interface WatchSlice {
  watch: WatchState;
  settings: SettingsState;
  /** loadWatchFolders replaces the folders with `watch:list`. Never rejects. */
  loadWatchFolders(): Promise<void>;
  /** applyWatchFolders takes the folders of a `watch:didChange`. */
  applyWatchFolders(folders: WatchFolderView[]): void;
  /** addWatchFolder calls `watch:add`; the folder is in the list on success. Never rejects. */
  addWatchFolder(request: WatchAddRequest): Promise<Result<WatchFolderView>>;
  /**
   * controlWatchFolder pauses, resumes or removes a folder; a failure is
   * shown as a toast. Resolves true on success. Never rejects.
   */
  controlWatchFolder(
    action: WatchFolderAction,
    folderId: string,
  ): Promise<boolean>;
  /** controlWatchRun ignores or retries a run; like controlWatchFolder. */
  controlWatchRun(
    action: WatchRunAction,
    folderId: string,
    runId: string,
  ): Promise<boolean>;
  /** loadWatchPlan fetches a run's plan (`watch:plan`). Never rejects. */
  loadWatchPlan(
    folderId: string,
    runId: string,
  ): Promise<Result<UploadPlan | null>>;
  /** loadSettings reads `settings:get`. Never rejects. */
  loadSettings(): Promise<void>;
  /** setStartAtLogin saves the setting; a failure is a toast. Never rejects. */
  setStartAtLogin(isEnabled: boolean): Promise<boolean>;
}

export const initialWatchState = {
  watch: {
    folders: [],
    status: 'idle',
    error: null,
    pending: {},
  } as WatchState,
};

const initialSettingsState: SettingsState = {
  value: null,
  status: 'idle',
  error: null,
  isSaving: false,
};

/** runKey names a run for `pending`. */
export function runKey(folderId: string, runId: string): string {
  return `${folderId}/${runId}`;
}

/**
 * watchJobIds is the set of transfer ids that belong to watched runs
 * (their end is announced by the run, not by the transfer).
 */
export function watchJobIds(state: AppState): Set<string> {
  const ids = new Set<string>();
  for (const folder of state.watch.folders) {
    for (const run of folder.runs) {
      if (run.jobId) {
        ids.add(run.jobId);
      }
    }
  }
  return ids;
}

/** selectWatchTotals counts folders that need the user's attention; use with useShallow. */
export function selectWatchTotals(state: AppState): {
  folders: number;
  troubled: number;
} {
  let troubled = 0;
  for (const folder of state.watch.folders) {
    const isTroubled =
      folder.status === 'missing' ||
      folder.status === 'unreadable' ||
      folder.runs.some((r: WatchRunView) => r.state === 'failed');
    if (isTroubled) {
      troubled += 1;
    }
  }
  return { folders: state.watch.folders.length, troubled };
}

const ACTION_VERB: Record<WatchFolderAction | WatchRunAction, string> = {
  pause: 'pause',
  resume: 'resume',
  remove: 'remove',
  ignoreRun: 'ignore',
  retryRun: 'retry',
};

export const createWatchSlice: SliceCreator<WatchSlice> =
  ({ bridge }) =>
  (set, get) => {
    function setPending(
      key: string,
      action: WatchFolderAction | WatchRunAction | null,
    ) {
      set((s) => {
        const pending = { ...s.watch.pending };
        if (action) {
          pending[key] = action;
        } else {
          delete pending[key];
        }
        return { watch: { ...s.watch, pending } };
      });
    }

    function replaceFolder(view: WatchFolderView) {
      set((s) => {
        const index = s.watch.folders.findIndex((f) => f.id === view.id);
        const folders =
          index === -1
            ? [...s.watch.folders, view]
            : s.watch.folders.map((f) => (f.id === view.id ? view : f));
        return { watch: { ...s.watch, folders } };
      });
    }

    return {
      ...initialWatchState,
      settings: initialSettingsState,

      async loadWatchFolders() {
        set((s) => ({
          watch: { ...s.watch, status: 'loading', error: null },
        }));
        try {
          const folders = await call(bridge, 'watch:list', {});
          set((s) => ({
            watch: { ...s.watch, folders, status: 'ready', error: null },
          }));
        } catch (err) {
          set((s) => ({
            watch: { ...s.watch, status: 'error', error: toContractError(err) },
          }));
        }
      },

      applyWatchFolders(folders) {
        set((s) => ({
          watch: { ...s.watch, folders, status: 'ready', error: null },
        }));
      },

      async addWatchFolder(request) {
        try {
          const view = await call(bridge, 'watch:add', request);
          replaceFolder(view);
          return { ok: true, value: view };
        } catch (err) {
          return { ok: false, error: toContractError(err) };
        }
      },

      async controlWatchFolder(action, folderId) {
        setPending(folderId, action);
        try {
          if (action === 'remove') {
            await call(bridge, 'watch:remove', { folderId });
            set((s) => ({
              watch: {
                ...s.watch,
                folders: s.watch.folders.filter((f) => f.id !== folderId),
              },
            }));
          } else {
            replaceFolder(await call(bridge, `watch:${action}`, { folderId }));
          }
          return true;
        } catch (err) {
          const folder = get().watch.folders.find((f) => f.id === folderId);
          get().pushToast({
            kind: 'error',
            title: `Could not ${ACTION_VERB[action]} ${folder?.path ?? 'the watch folder'}`,
            message: toContractError(err).message,
          });
          return false;
        } finally {
          setPending(folderId, null);
        }
      },

      async controlWatchRun(action, folderId, runId) {
        const key = runKey(folderId, runId);
        setPending(key, action);
        try {
          const run = await call(bridge, `watch:${action}`, {
            folderId,
            runId,
          });
          set((s) => ({
            watch: {
              ...s.watch,
              folders: s.watch.folders.map((f) =>
                f.id !== folderId
                  ? f
                  : {
                      ...f,
                      runs: f.runs.map((r) => (r.runId === runId ? run : r)),
                    },
              ),
            },
          }));
          return true;
        } catch (err) {
          get().pushToast({
            kind: 'error',
            title: `Could not ${ACTION_VERB[action]} run ${runId}`,
            message: toContractError(err).message,
          });
          return false;
        } finally {
          setPending(key, null);
        }
      },

      async loadWatchPlan(folderId, runId) {
        try {
          const plan = await call(bridge, 'watch:plan', { folderId, runId });
          return { ok: true, value: plan };
        } catch (err) {
          return { ok: false, error: toContractError(err) };
        }
      },

      async loadSettings() {
        set((s) => ({
          settings: { ...s.settings, status: 'loading', error: null },
        }));
        try {
          const value = await call(bridge, 'settings:get', {});
          set((s) => ({
            settings: { ...s.settings, value, status: 'ready', error: null },
          }));
        } catch (err) {
          set((s) => ({
            settings: {
              ...s.settings,
              status: 'error',
              error: toContractError(err),
            },
          }));
        }
      },

      async setStartAtLogin(isEnabled) {
        set((s) => ({ settings: { ...s.settings, isSaving: true } }));
        try {
          const value = await call(bridge, 'settings:set', {
            startAtLogin: isEnabled,
          });
          set((s) => ({
            settings: { ...s.settings, value, status: 'ready', error: null },
          }));
          return true;
        } catch (err) {
          get().pushToast({
            kind: 'error',
            title: 'The setting was not changed',
            message: toContractError(err).message,
          });
          return false;
        } finally {
          set((s) => ({ settings: { ...s.settings, isSaving: false } }));
        }
      },
    };
  };
