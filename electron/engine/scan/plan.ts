/**
 * Upload planning: turns dropped paths into an {@link UploadPlan}.
 */

import type { PlanOptions, UploadPlan } from '../../../shared/domain.ts';

/** Progress reported by {@link buildPlan}. */
export interface PlanProgress {
  filesSeen: number;
  filesChecked: number;
}

/** Options of {@link buildPlan}. */
export type BuildPlanOptions = PlanOptions & {
  signal?: AbortSignal;
  onProgress?: (p: PlanProgress) => void;
};

/** Edits the user makes to a plan before starting it. */
export interface PlanEdits {
  renames?: Record<string, string>;
  excluded?: string[];
  destination?: string;
}

/** buildPlan scans the paths and returns the plan. */
export async function buildPlan(
  paths: string[],
  opts: BuildPlanOptions = {},
): Promise<UploadPlan> {
  void paths;
  void opts;
  throw new Error('buildPlan: not implemented yet');
}

/** applyPlanEdits returns a new plan with the edits applied. */
export function applyPlanEdits(plan: UploadPlan, edits: PlanEdits): UploadPlan {
  void edits;
  return plan;
}

/** formatPlan renders the plan as text. */
export function formatPlan(plan: UploadPlan): string {
  return JSON.stringify(plan, null, 2);
}
