/**
 * Whether a watched run's upload plan may go ahead by itself.
 *
 * Nobody looks at a watched run's plan before it is uploaded, and a run is
 * uploaded only once, so the bar is higher than for a manual upload: any
 * error (a sample left out, no FASTQ) and any mismatch with the sample
 * sheet (a listed sample without files, files of a sample the sheet does
 * not list) holds the whole run until the user fixes the files and
 * retries it, or retries it with `force`. Notes that do not lose data
 * (Undetermined left out, single-end samples, changed client ids) do not.
 */
import type {
  PlanProblem,
  UploadPlan,
  WatchPlanSummary,
} from '../../../shared/domain.ts';

/** Warnings that hold a watched run as errors do. */
const BLOCKING_WARNINGS: ReadonlySet<PlanProblem['code']> = new Set([
  'sample-sheet-missing-files',
  'sample-sheet-unknown-sample',
]);

/** Most problems kept with a run (the plan itself keeps them all). */
export const MAX_KEPT_PROBLEMS = 200;

/** What `reviewPlan` says. */
export interface PlanReview {
  /** Problems that hold the run (empty when it may go ahead). */
  blocking: PlanProblem[];
  /** Every problem of the plan, plan-level first, at most {@link MAX_KEPT_PROBLEMS}. */
  problems: PlanProblem[];
  summary: WatchPlanSummary;
  /** True when the run may be uploaded now. */
  isAccepted: boolean;
  /** One sentence for the run's message when it is not accepted. */
  reason: string | null;
}

/** isBlockingProblem is true for the problems that hold a watched run. */
export function isBlockingProblem(problem: PlanProblem): boolean {
  return problem.severity === 'error' || BLOCKING_WARNINGS.has(problem.code);
}

/**
 * reviewPlan applies this module's rule. With `isForced` blocking problems
 * are accepted (samples with errors stay out, as the planner decided), but
 * a plan with no included sample is never accepted.
 */
export function reviewPlan(plan: UploadPlan, isForced: boolean): PlanReview {
  const all = [...plan.problems, ...plan.samples.flatMap((s) => s.problems)];
  const blocking = all.filter(isBlockingProblem);
  const included = plan.samples.filter((s) => s.included);
  const summary: WatchPlanSummary = {
    destination: plan.destination,
    includedSamples: included.length,
    totalSamples: plan.samples.length,
    totalBytes: plan.totalBytes,
  };
  const problems = all.slice(0, MAX_KEPT_PROBLEMS);
  if (included.length === 0) {
    const first = blocking[0]?.message ?? all[0]?.message;
    return {
      blocking,
      problems,
      summary,
      isAccepted: false,
      reason: `Nothing to upload: no sample without errors was found${first ? ` (${first.replace(/\.$/, '')})` : ''}.`,
    };
  }
  if (blocking.length > 0 && !isForced) {
    const more =
      blocking.length > 1
        ? ` (and ${blocking.length - 1} more problem${blocking.length > 2 ? 's' : ''})`
        : '';
    return {
      blocking,
      problems,
      summary,
      isAccepted: false,
      reason: `Held: ${blocking[0].message.replace(/\.$/, '')}${more}. Fix the files and retry the run, or retry it with force to upload what is there.`,
    };
  }
  return { blocking, problems, summary, isAccepted: true, reason: null };
}
