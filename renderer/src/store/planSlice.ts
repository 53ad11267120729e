/**
 * Plan slice: the upload plan shown before any byte moves, the user's edits
 * to it (client ids, left-out samples, destination), and starting it.
 *
 * Edits are kept here as the complete set relative to the scanned plan
 * (renames and exclusions keyed by PlannedSample.key) and sent whole with
 * every `plan:edit`, so the engine's copy always matches what is shown. The
 * preview updates at once; a failed edit puts back the last confirmed plan.
 */
import type { ContractError } from '../../../shared/contract.ts';
import type { UploadPlan } from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import type { SliceCreator } from './types.ts';

export interface PlanEditsState {
  /** Sample key → client id the user typed. */
  renames: Record<string, string>;
  /** Keys of samples the user left out. */
  excluded: string[];
  destination?: string;
}

export type PlanStatus = 'idle' | 'scanning' | 'ready' | 'error' | 'starting';

export interface PlanState {
  /** Project the upload will be assigned to. */
  projectId: string | null;
  /** Paths that were (or are being) scanned. */
  paths: string[];
  status: PlanStatus;
  current: UploadPlan | null;
  /** Why scanning or starting failed. */
  error: ContractError | null;
  edits: PlanEditsState;
  /** Number of `plan:edit` calls in flight. */
  editsInFlight: number;
  /** Why the last edit was not saved (it was undone). */
  editError: ContractError | null;
}

export interface PlanSlice {
  plan: PlanState;
  /** createPlan scans paths (`plan:create`) for a project. Never rejects. */
  createPlan(projectId: string, paths: string[]): Promise<void>;
  /** renameSample sets a sample's client id (the original id clears it). */
  renameSample(key: string, clientId: string): Promise<void>;
  /** setSampleIncluded leaves a sample out, or takes it back in. */
  setSampleIncluded(key: string, included: boolean): Promise<void>;
  setPlanDestination(destination: string): Promise<void>;
  /**
   * startUpload waits for edits in flight, then starts the plan
   * (`upload:start`) for its project; resolves with the job id, or null
   * when it failed (the reason is in `plan.error`). Never rejects.
   */
  startUpload(): Promise<string | null>;
  /** discardPlan drops the plan; a scan still running is ignored. */
  discardPlan(): void;
}

const noEdits: PlanEditsState = { renames: {}, excluded: [] };

export const initialPlanState = {
  plan: {
    projectId: null,
    paths: [],
    status: 'idle',
    current: null,
    error: null,
    edits: noEdits,
    editsInFlight: 0,
    editError: null,
  } as PlanState,
};

/** applyEditsLocally shows edits on a plan before the engine confirms them. */
export function applyEditsLocally(
  scanned: UploadPlan,
  edits: PlanEditsState,
): UploadPlan {
  const excluded = new Set(edits.excluded);
  const samples = scanned.samples.map((sample) => {
    const clientId = edits.renames[sample.key] ?? sample.clientId;
    const hasError = sample.problems.some((p) => p.severity === 'error');
    const included = !excluded.has(sample.key) && !hasError;
    if (clientId === sample.clientId && included === sample.included) {
      return sample;
    }
    return { ...sample, clientId, included };
  });
  const totalBytes = samples
    .filter((s) => s.included)
    .reduce((sum, s) => sum + (s.r1?.size ?? 0) + (s.r2?.size ?? 0), 0);
  return {
    ...scanned,
    destination: edits.destination ?? scanned.destination,
    samples,
    totalBytes,
  };
}

export const createPlanSlice: SliceCreator<PlanSlice> =
  ({ bridge }) =>
  (set, get) => {
    // The plan as scanned, before any edit: local edits are applied to it.
    let scanned: UploadPlan | null = null;
    // The last plan and edits the engine confirmed, to undo a failed edit.
    let confirmed: { plan: UploadPlan; edits: PlanEditsState } | null = null;
    // Bumped by every scan and discard; answers of older scans are dropped.
    let scanSeq = 0;
    // Bumped by every edit; only the latest edit's answer is applied.
    let editSeq = 0;
    let editsSettled: Promise<void> = Promise.resolve();

    function patch(p: Partial<PlanState>): void {
      set((s) => ({ plan: { ...s.plan, ...p } }));
    }

    async function sendEdits(edits: PlanEditsState): Promise<void> {
      if (!scanned) {
        return;
      }
      patch({
        edits,
        current: applyEditsLocally(scanned, edits),
        editError: null,
      });
      const planId = get().plan.current?.id;
      if (!planId) {
        // Without an id the engine cannot hold edits; startUpload reports it.
        return;
      }
      const seq = ++editSeq;
      const mySeq = scanSeq;
      patch({ editsInFlight: get().plan.editsInFlight + 1 });
      const request = call(bridge, 'plan:edit', {
        planId,
        edits: {
          renames: edits.renames,
          excluded: edits.excluded,
          ...(edits.destination !== undefined
            ? { destination: edits.destination }
            : {}),
        },
      });
      const done = request.then(
        (plan) => {
          if (mySeq !== scanSeq) {
            return;
          }
          patch({ editsInFlight: get().plan.editsInFlight - 1 });
          confirmed = { plan: { ...plan, id: plan.id ?? planId }, edits };
          if (seq === editSeq) {
            patch({ current: confirmed.plan });
          }
        },
        (err: unknown) => {
          if (mySeq !== scanSeq) {
            return;
          }
          patch({ editsInFlight: get().plan.editsInFlight - 1 });
          if (seq !== editSeq) {
            return;
          }
          patch({
            editError: toContractError(err),
            current: confirmed?.plan ?? get().plan.current,
            edits: confirmed?.edits ?? noEdits,
          });
        },
      );
      editsSettled = editsSettled.then(() => done);
      await done;
    }

    return {
      ...initialPlanState,

      async createPlan(projectId, paths) {
        const mySeq = ++scanSeq;
        scanned = null;
        confirmed = null;
        set({
          plan: {
            ...initialPlanState.plan,
            projectId,
            paths,
            status: 'scanning',
          },
        });
        try {
          const plan = await call(bridge, 'plan:create', { paths });
          if (mySeq !== scanSeq) {
            return;
          }
          scanned = plan;
          confirmed = { plan, edits: noEdits };
          patch({ status: 'ready', current: plan, error: null });
        } catch (err) {
          if (mySeq !== scanSeq) {
            return;
          }
          patch({ status: 'error', error: toContractError(err) });
        }
      },

      async renameSample(key, clientId) {
        const sample = scanned?.samples.find((s) => s.key === key);
        if (!sample) {
          return;
        }
        const renames = { ...get().plan.edits.renames };
        if (clientId === sample.clientId) {
          delete renames[key];
        } else {
          renames[key] = clientId;
        }
        await sendEdits({ ...get().plan.edits, renames });
      },

      async setSampleIncluded(key, included) {
        const excluded = get().plan.edits.excluded.filter((k) => k !== key);
        if (!included) {
          excluded.push(key);
        }
        await sendEdits({ ...get().plan.edits, excluded });
      },

      async setPlanDestination(destination) {
        await sendEdits({ ...get().plan.edits, destination });
      },

      async startUpload() {
        const mySeq = scanSeq;
        await editsSettled;
        const state = get().plan;
        if (mySeq !== scanSeq || !state.current || state.status !== 'ready') {
          return null;
        }
        const planId = state.current.id;
        if (!planId) {
          patch({
            error: {
              code: 'internal',
              message:
                'The engine returned this plan without an id, so it cannot be started. Scan the files again.',
            },
          });
          return null;
        }
        patch({ status: 'starting', error: null });
        try {
          const { jobId } = await call(bridge, 'upload:start', {
            planId,
            ...(state.projectId ? { projectId: state.projectId } : {}),
          });
          if (mySeq === scanSeq) {
            get().discardPlan();
          }
          return jobId;
        } catch (err) {
          if (mySeq === scanSeq) {
            patch({ status: 'ready', error: toContractError(err) });
          }
          return null;
        }
      },

      discardPlan() {
        scanSeq += 1;
        scanned = null;
        confirmed = null;
        editsSettled = Promise.resolve();
        set({ plan: initialPlanState.plan });
      },
    };
  };
