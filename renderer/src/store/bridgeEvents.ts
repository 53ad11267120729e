/**
 * The one module that subscribes to the engine's events and writes them
 * into the store: transfer snapshots, finished jobs (with a notification and
 * a refresh of what they changed), session changes, and watch folders with
 * their delivered or failed runs. After a serve-mode reconnect it reloads
 * what events may have been missed.
 */
import type {
  Bridge,
  SessionInfo,
  WatchRunFinished,
} from '../../../shared/contract.ts';
import type {
  TransferSnapshot,
  WatchFolderView,
} from '../../../shared/domain.ts';
import { isWsBridge } from '../bridge/wsBridge.ts';
import { call, toContractError } from '../lib/call.ts';
import { commonFolder } from '../lib/paths.ts';
import { plural } from '../lib/format.ts';
import type { NotificationMessage, Notifier } from '../lib/notify.ts';
import type { AppStore } from './types.ts';
import { watchJobIds } from './watchSlice.ts';

/**
 * connectBridgeEvents subscribes once to every event and returns a function
 * that removes every subscription it made.
 */
export function connectBridgeEvents(
  bridge: Bridge,
  store: AppStore,
  notifier: Notifier,
): () => void {
  const offs: (() => void)[] = [];

  offs.push(
    bridge.on('transfers:didChange', (payload) => {
      const list = Array.isArray(payload) ? payload.filter(isSnapshot) : [];
      if (list.length !== (Array.isArray(payload) ? payload.length : -1)) {
        console.warn('bridgeEvents: dropped malformed transfer snapshots');
      }
      store.getState().applyTransferSnapshots(list);
    }),
  );

  offs.push(
    bridge.on('transfers:didFinish', (payload) => {
      if (!isSnapshot(payload)) {
        console.warn('bridgeEvents: dropped a malformed finished transfer');
        return;
      }
      onFinished(bridge, store, notifier, payload);
    }),
  );

  offs.push(
    bridge.on('session:didChange', (payload) => {
      if (!isSession(payload)) {
        console.warn('bridgeEvents: dropped a malformed session');
        return;
      }
      store.getState().setSession(payload);
    }),
  );

  offs.push(
    bridge.on('watch:didChange', (payload) => {
      if (!Array.isArray(payload) || !payload.every(isWatchFolder)) {
        console.warn('bridgeEvents: dropped malformed watch folders');
        return;
      }
      store.getState().applyWatchFolders(payload);
    }),
  );

  offs.push(
    bridge.on('watch:didFinishRun', (payload) => {
      if (!isRunFinished(payload)) {
        console.warn('bridgeEvents: dropped a malformed finished run');
        return;
      }
      onRunFinished(store, notifier, payload);
    }),
  );

  if (isWsBridge(bridge)) {
    let wasOpen = bridge.connection().status === 'open';
    offs.push(
      bridge.onConnectionChange((state) => {
        const isOpen = state.status === 'open';
        if (isOpen && !wasOpen && state.everConnected) {
          resync(store);
        }
        wasOpen = isOpen;
      }),
    );
  }

  return () => {
    for (const off of offs.splice(0)) {
      off();
    }
  };
}

function onFinished(
  bridge: Bridge,
  store: AppStore,
  notifier: Notifier,
  snapshot: TransferSnapshot,
): void {
  const state = store.getState();
  state.applyTransferSnapshots([snapshot]);

  // A watched run's upload is announced once, by its run.
  const isWatchJob = watchJobIds(state).has(snapshot.id);
  const message = isWatchJob ? null : finishMessage(snapshot, store, bridge);
  if (message) {
    notifier.notify(message);
  }

  if (snapshot.kind === 'upload' && snapshot.state === 'done') {
    const open = state.samples.projectId;
    if (open && (!snapshot.projectId || snapshot.projectId === open)) {
      void state.loadSamples(open, { background: true });
    }
    if (state.session?.signedIn) {
      void state.loadProjects();
    }
  }
}

/**
 * finishMessage words the notification of a finished job; a cancel is the
 * user's own act and gets none.
 */
export function finishMessage(
  snapshot: TransferSnapshot,
  store: AppStore,
  bridge: Bridge,
): NotificationMessage | null {
  const upload = snapshot.kind === 'upload';
  const showTransfers = {
    label: 'Show transfers',
    run: () => store.getState().navigate({ name: 'transfers' }),
  };
  const folder = upload
    ? null
    : (store.getState().transfers.destinations[snapshot.id] ??
      commonFolder(snapshot.files.map((f) => f.name)));
  // Serve mode cannot open a folder on this computer: no such button.
  const openFolder =
    folder && bridge.mode === 'desktop'
      ? {
          label: 'Open folder',
          run: () => {
            call(bridge, 'fs:openFolder', { path: folder }).catch(
              (err: unknown) =>
                store.getState().pushToast({
                  kind: 'error',
                  title: 'Could not open the folder',
                  message: toContractError(err).message,
                }),
            );
          },
        }
      : null;
  switch (snapshot.state) {
    case 'done': {
      const files = snapshot.files.filter((f) => f.state === 'done').length;
      const skipped = snapshot.files.filter(
        (f) => f.state === 'skipped',
      ).length;
      const body = upload
        ? snapshot.assigned && snapshot.assigned.length > 0
          ? `${snapshot.title}: ${plural(snapshot.assigned.length, 'sample')} assigned to the project.`
          : `${snapshot.title}: ${plural(files, 'file')} uploaded.`
        : files === 0 && skipped > 0
          ? `${snapshot.title}: ${plural(skipped, 'file')} already there, nothing to download.`
          : `${snapshot.title}: ${plural(files, 'file')} downloaded${skipped > 0 ? `, ${skipped.toLocaleString()} already there` : ''}.`;
      return {
        kind: 'success',
        title: upload ? 'Upload finished' : 'Download finished',
        body,
        onClick: openFolder ?? showTransfers,
      };
    }
    case 'failed':
      return {
        kind: 'error',
        title: upload ? 'Upload failed' : 'Download failed',
        body: `${snapshot.title}: ${snapshot.error?.message ?? 'the job stopped with an error.'}`,
        onClick: showTransfers,
      };
    default:
      return null;
  }
}

function onRunFinished(
  store: AppStore,
  notifier: Notifier,
  finished: WatchRunFinished,
): void {
  const message = runFinishMessage(finished, store);
  if (message) {
    notifier.notify(message);
  }
  const state = store.getState();
  if (finished.run.state === 'assigned') {
    if (state.samples.projectId === finished.projectId) {
      void state.loadSamples(finished.projectId, { background: true });
    }
    void state.loadProjects();
  }
}

/** runFinishMessage words the notification of a delivered or failed run. */
export function runFinishMessage(
  finished: WatchRunFinished,
  store: AppStore,
): NotificationMessage | null {
  const { run } = finished;
  const project = finished.projectName ?? 'the project';
  const showWatch = {
    label: 'Show watch folders',
    run: () => store.getState().navigate({ name: 'watch' }),
  };
  if (run.state === 'assigned') {
    return {
      kind: 'success',
      title: 'Run delivered',
      body: `${run.name}: ${plural(run.assigned.length, 'sample')} assigned to ${project}, analysis started.`,
      onClick: {
        label: 'Open project',
        run: () =>
          store
            .getState()
            .navigate({ name: 'project', projectId: finished.projectId }),
      },
    };
  }
  if (run.state === 'failed') {
    return {
      kind: 'error',
      title: 'Run failed',
      body: `${run.name}: ${run.message}`,
      onClick: showWatch,
    };
  }
  return null;
}

function resync(store: AppStore): void {
  const state = store.getState();
  void state.loadSession();
  void state.loadTransfers();
  if (state.session?.signedIn) {
    void state.loadWatchFolders();
  }
  const open = state.samples.projectId;
  if (state.session?.signedIn && open) {
    void state.loadSamples(open, { background: true });
  }
}

function isSnapshot(value: unknown): value is TransferSnapshot {
  return (
    typeof value === 'object' &&
    value !== null &&
    'id' in value &&
    typeof value.id === 'string' &&
    'state' in value &&
    typeof value.state === 'string' &&
    'kind' in value &&
    (value.kind === 'upload' || value.kind === 'download') &&
    'files' in value &&
    Array.isArray(value.files)
  );
}

function isWatchFolder(value: unknown): value is WatchFolderView {
  return (
    typeof value === 'object' &&
    value !== null &&
    'id' in value &&
    typeof value.id === 'string' &&
    'status' in value &&
    typeof value.status === 'string' &&
    'runs' in value &&
    Array.isArray(value.runs)
  );
}

function isRunFinished(value: unknown): value is WatchRunFinished {
  return (
    typeof value === 'object' &&
    value !== null &&
    'folderId' in value &&
    typeof value.folderId === 'string' &&
    'projectId' in value &&
    typeof value.projectId === 'string' &&
    'run' in value &&
    typeof value.run === 'object' &&
    value.run !== null &&
    'state' in value.run &&
    'name' in value.run &&
    'assigned' in value.run &&
    Array.isArray(value.run.assigned)
  );
}

function isSession(value: unknown): value is SessionInfo {
  return (
    typeof value === 'object' &&
    value !== null &&
    'signedIn' in value &&
    typeof value.signedIn === 'boolean'
  );
}
