/**
 * Samples slice: the open project's sample rows, the multi-selection, and
 * the detail (QC and files) of the sample the user opened.
 */
import type { ContractError } from '../../../shared/contract.ts';
import type { SampleDetail, SampleRow } from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import type { LoadStatus, SliceCreator } from './types.ts';

export interface SamplesState {
  projectId: string | null;
  rows: SampleRow[];
  status: LoadStatus;
  error: ContractError | null;
  /** When rows were last loaded (ms since epoch). */
  loadedAt: number | null;
  /** True while a background refresh runs (rows stay visible). */
  refreshing: boolean;
}

export interface SampleDetailState {
  sampleId: string;
  status: LoadStatus;
  value: SampleDetail | null;
  error: ContractError | null;
}

export interface SamplesSlice {
  samples: SamplesState;
  /** Selected sample ids of the open project. */
  selection: ReadonlySet<string>;
  detail: SampleDetailState | null;
  /**
   * loadSamples loads a project's rows. A different project clears rows and
   * selection first; `background` keeps rows visible while loading. Answers
   * for a project that is no longer open are dropped. A `background` load
   * while the same project is already loading does nothing (refreshes never
   * overlap). Never rejects.
   */
  loadSamples(
    projectId: string,
    opts?: { background?: boolean },
  ): Promise<void>;
  setSelection(ids: Iterable<string>): void;
  toggleSelection(id: string, selected?: boolean): void;
  clearSelection(): void;
  /** openSample loads `samples:get` for the detail panel. Never rejects. */
  openSample(sampleId: string): Promise<void>;
  closeSample(): void;
}

export const initialSamplesState = {
  samples: {
    projectId: null,
    rows: [],
    status: 'idle',
    error: null,
    loadedAt: null,
    refreshing: false,
  } as SamplesState,
  selection: new Set<string>() as ReadonlySet<string>,
  detail: null as SampleDetailState | null,
};

export const createSamplesSlice: SliceCreator<SamplesSlice> =
  ({ bridge }) =>
  (set, get) => ({
    ...initialSamplesState,

    async loadSamples(projectId, opts = {}) {
      const current = get().samples;
      const isBusy = current.refreshing || current.status === 'loading';
      if (opts.background && current.projectId === projectId && isBusy) {
        return;
      }
      if (current.projectId !== projectId) {
        set({
          samples: {
            ...initialSamplesState.samples,
            projectId,
            status: 'loading',
          },
          selection: new Set(),
          detail: null,
        });
      } else if (opts.background && current.status === 'ready') {
        set({ samples: { ...current, refreshing: true } });
      } else {
        set({ samples: { ...current, status: 'loading', error: null } });
      }
      try {
        const rows = await call(bridge, 'samples:list', { projectId });
        if (get().samples.projectId !== projectId) {
          return;
        }
        const known = new Set(rows.map((r) => r.id));
        const selection = get().selection;
        const kept = [...selection].filter((id) => known.has(id));
        set((s) => ({
          samples: {
            ...s.samples,
            rows,
            status: 'ready',
            error: null,
            loadedAt: Date.now(),
            refreshing: false,
          },
          // Samples that disappeared cannot stay selected.
          selection: kept.length === selection.size ? selection : new Set(kept),
        }));
      } catch (err) {
        if (get().samples.projectId !== projectId) {
          return;
        }
        const error = toContractError(err);
        set((s) => ({
          samples: {
            ...s.samples,
            // A failed background refresh keeps the rows it had.
            status:
              opts.background && s.samples.rows.length > 0 ? 'ready' : 'error',
            error,
            refreshing: false,
          },
        }));
      }
    },

    setSelection(ids) {
      set({ selection: new Set(ids) });
    },

    toggleSelection(id, selected) {
      const next = new Set(get().selection);
      const want = selected ?? !next.has(id);
      if (want) {
        next.add(id);
      } else {
        next.delete(id);
      }
      set({ selection: next });
    },

    clearSelection() {
      set({ selection: new Set() });
    },

    async openSample(sampleId) {
      set({
        detail: { sampleId, status: 'loading', value: null, error: null },
      });
      try {
        const value = await call(bridge, 'samples:get', { sampleId });
        if (get().detail?.sampleId !== sampleId) {
          return;
        }
        set({ detail: { sampleId, status: 'ready', value, error: null } });
      } catch (err) {
        if (get().detail?.sampleId !== sampleId) {
          return;
        }
        set({
          detail: {
            sampleId,
            status: 'error',
            value: null,
            error: toContractError(err),
          },
        });
      }
    },

    closeSample() {
      set({ detail: null });
    },
  });
