/**
 * Transfers slice: snapshots of upload and download jobs as the engine
 * reports them, the controls (pause, resume, cancel, retry) and starting a
 * download.
 */
import type { ContractError, Result } from '../../../shared/contract.ts';
import type {
  DownloadRequest,
  JobState,
  TransferSnapshot,
} from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import type { AppState, LoadStatus, SliceCreator } from './types.ts';

export type TransferAction = 'pause' | 'resume' | 'cancel' | 'retry';

export interface TransfersState {
  byId: Record<string, TransferSnapshot>;
  /** Job ids, newest first. */
  order: string[];
  status: LoadStatus;
  error: ContractError | null;
  /** Folder of each download started from this window, by job id. */
  destinations: Record<string, string>;
  /** Control calls in flight, by job id. */
  pendingActions: Record<string, TransferAction>;
  /** Finished jobs the user hid from the list (this window only). */
  dismissed: Record<string, true>;
}

export interface TransfersSlice {
  transfers: TransfersState;
  /** loadTransfers replaces the list with `transfers:list`. Never rejects. */
  loadTransfers(): Promise<void>;
  /** applyTransferSnapshots inserts or replaces snapshots by id. */
  applyTransferSnapshots(snapshots: TransferSnapshot[]): void;
  /**
   * controlTransfer pauses, resumes, cancels or retries a job; a failure is
   * shown as a toast. Resolves true on success. Never rejects.
   */
  controlTransfer(action: TransferAction, jobId: string): Promise<boolean>;
  /** startDownload starts `download:start`. Never rejects. */
  startDownload(request: DownloadRequest): Promise<Result<{ jobId: string }>>;
  /**
   * dismissTransfer hides a job that is done, failed or cancelled from the
   * list and the totals, and asks the engine to leave it out of its list
   * from now on (also after a restart). Active jobs are kept.
   */
  dismissTransfer(jobId: string): void;
}

/** States in which a job still moves (or may move again by itself). */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set([
  'queued',
  'running',
  'paused',
  'retrying',
]);

/** isActiveTransfer is true until a job is done, failed or cancelled. */
export function isActiveTransfer(snapshot: TransferSnapshot): boolean {
  return ACTIVE_STATES.has(snapshot.state);
}

/** selectVisibleTransferIds lists job ids not dismissed, newest first. */
export function selectVisibleTransferIds(state: AppState): string[] {
  const { order, dismissed } = state.transfers;
  return order.filter((id) => !dismissed[id]);
}

/**
 * selectTransferTotals sums what is moving now (dismissed jobs left out);
 * use with useShallow.
 */
export function selectTransferTotals(state: AppState): {
  active: number;
  failed: number;
  speed: number;
} {
  let active = 0;
  let failed = 0;
  let speed = 0;
  for (const id of state.transfers.order) {
    const t = state.transfers.byId[id];
    if (!t || state.transfers.dismissed[id]) {
      continue;
    }
    if (isActiveTransfer(t)) {
      active += 1;
      speed += t.state === 'running' && t.speed != null ? t.speed : 0;
    } else if (t.state === 'failed') {
      failed += 1;
    }
  }
  return { active, failed, speed };
}

export const initialTransfersState = {
  transfers: {
    byId: {},
    order: [],
    status: 'idle',
    error: null,
    destinations: {},
    pendingActions: {},
    dismissed: {},
  } as TransfersState,
};

function newestFirst(a: TransferSnapshot, b: TransferSnapshot): number {
  // Not started yet (queued) first, then by start time, newest first.
  if (a.startedAt === b.startedAt) {
    return 0;
  }
  if (a.startedAt === null) {
    return -1;
  }
  if (b.startedAt === null) {
    return 1;
  }
  return a.startedAt < b.startedAt ? 1 : -1;
}

export const createTransfersSlice: SliceCreator<TransfersSlice> =
  ({ bridge }) =>
  (set, get) => ({
    ...initialTransfersState,

    async loadTransfers() {
      set((s) => ({
        transfers: { ...s.transfers, status: 'loading', error: null },
      }));
      try {
        const list = await call(bridge, 'transfers:list', {});
        const sorted = [...list].sort(newestFirst);
        set((s) => {
          const byId: Record<string, TransferSnapshot> = {};
          for (const t of sorted) {
            byId[t.id] = t;
          }
          // Jobs announced by events while the list was loading stay.
          const extra = s.transfers.order.filter((id) => !byId[id]);
          for (const id of extra) {
            byId[id] = s.transfers.byId[id];
          }
          return {
            transfers: {
              ...s.transfers,
              byId,
              order: [...extra, ...sorted.map((t) => t.id)],
              status: 'ready',
              error: null,
            },
          };
        });
      } catch (err) {
        set((s) => ({
          transfers: {
            ...s.transfers,
            status: 'error',
            error: toContractError(err),
          },
        }));
      }
    },

    applyTransferSnapshots(snapshots) {
      if (snapshots.length === 0) {
        return;
      }
      set((s) => {
        const byId = { ...s.transfers.byId };
        const added: string[] = [];
        for (const t of snapshots) {
          if (!byId[t.id] && !added.includes(t.id)) {
            added.push(t.id);
          }
          byId[t.id] = t;
        }
        const order =
          added.length > 0
            ? [...added.reverse(), ...s.transfers.order]
            : s.transfers.order;
        // A hidden job that moves again (retried elsewhere) shows again.
        let dismissed = s.transfers.dismissed;
        for (const t of snapshots) {
          if (dismissed[t.id] && isActiveTransfer(t)) {
            dismissed = { ...dismissed };
            delete dismissed[t.id];
          }
        }
        return { transfers: { ...s.transfers, byId, order, dismissed } };
      });
    },

    async controlTransfer(action, jobId) {
      set((s) => ({
        transfers: {
          ...s.transfers,
          pendingActions: { ...s.transfers.pendingActions, [jobId]: action },
        },
      }));
      const clear = () =>
        set((s) => {
          const pendingActions = { ...s.transfers.pendingActions };
          delete pendingActions[jobId];
          return { transfers: { ...s.transfers, pendingActions } };
        });
      try {
        await call(bridge, `transfers:${action}`, { jobId });
        clear();
        return true;
      } catch (err) {
        clear();
        const title = get().transfers.byId[jobId]?.title ?? 'the transfer';
        get().pushToast({
          kind: 'error',
          title: `Could not ${action} ${title}`,
          message: toContractError(err).message,
        });
        return false;
      }
    },

    dismissTransfer(jobId) {
      const t = get().transfers.byId[jobId];
      if (!t || isActiveTransfer(t)) {
        return;
      }
      set((s) => ({
        transfers: {
          ...s.transfers,
          dismissed: { ...s.transfers.dismissed, [jobId]: true },
        },
      }));
      // The engine forgets it too, so it stays hidden after a restart. It
      // is hidden here at once either way; a failure only means it may come
      // back next time.
      call(bridge, 'transfers:dismiss', { jobId }).catch(() => undefined);
    },

    async startDownload(request) {
      try {
        const { jobId } = await call(bridge, 'download:start', request);
        set((s) => ({
          transfers: {
            ...s.transfers,
            destinations: {
              ...s.transfers.destinations,
              [jobId]: request.destination,
            },
          },
        }));
        return { ok: true, value: { jobId } };
      } catch (err) {
        return { ok: false, error: toContractError(err) };
      }
    },
  });
