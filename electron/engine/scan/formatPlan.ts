/**
 * The plain-text rendering of an upload plan that the command line prints.
 */

import type {
  PlanFile,
  PlannedSample,
  PlanProblem,
  UploadPlan,
} from '../../../shared/domain.ts';

function hasError(sample: PlannedSample): boolean {
  return sample.problems.some((p) => p.severity === 'error');
}

/** formatBytes writes a size with a decimal unit (kB, MB, GB, TB). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function describeMerge(files: PlanFile[]): string {
  if (files.length === 1) return '1 file';
  const lanes = [
    ...new Set(files.map((f) => f.lane).filter((l) => l !== null)),
  ];
  const chunks = [
    ...new Set(files.map((f) => f.chunk).filter((c) => c !== null)),
  ];
  const parts: string[] = [];
  if (lanes.length > 1) parts.push(`lanes ${lanes.join(', ')}`);
  if (chunks.length > 1) parts.push(`chunks ${chunks.join(', ')}`);
  const what = parts.length === 0 ? '' : ` (${parts.join(', ')})`;
  return `${files.length} files${what} concatenated in this order`;
}

function formatProblem(p: PlanProblem): string {
  return `${p.severity} ${p.code}: ${p.message}`;
}

/**
 * formatPlan renders the plan as plain text for the command line: totals
 * and destination, then every sample with its included state, how its id
 * was derived, each read's object, files (lane/chunk order) and problems,
 * then the plan's own problems and the ignored files with their reasons.
 */
export function formatPlan(plan: UploadPlan): string {
  const included = plan.samples.filter((s) => s.included).length;
  const lines: string[] = [
    `Upload plan: ${plan.samples.length} sample${plan.samples.length === 1 ? '' : 's'} found, ${included} to upload (${formatBytes(plan.totalBytes)})`,
    `Destination: ${plan.destination}`,
    `Scanned: ${plan.roots.join(', ') || '(nothing)'}`,
  ];

  for (const sample of plan.samples) {
    const state = sample.included
      ? '[x]'
      : hasError(sample)
        ? '[ ] (not uploaded: see errors)'
        : '[ ] (left out)';
    lines.push('', `${state} ${sample.clientId}    key: ${sample.key}`);
    lines.push(`    ${sample.derivation}`);
    for (const read of [sample.r1, sample.r2]) {
      if (read === undefined) continue;
      lines.push(
        `    ${read.read} -> ${read.destination}  ${formatBytes(read.size)}, ${describeMerge(read.files)}`,
      );
      for (const f of read.files) {
        const slot = [
          f.lane === null ? '' : `L${f.lane}`,
          f.chunk === null ? '' : `#${f.chunk}`,
        ]
          .filter((x) => x !== '')
          .join(' ');
        lines.push(
          `        ${f.relativePath}${slot === '' ? '' : `  ${slot}`}  ${formatBytes(f.size)}`,
        );
      }
    }
    for (const p of sample.problems) lines.push(`    ! ${formatProblem(p)}`);
  }

  if (plan.problems.length > 0) {
    lines.push('', 'Problems:');
    for (const p of plan.problems) lines.push(`  ${formatProblem(p)}`);
  }
  if (plan.ignored.length > 0) {
    lines.push('', `Ignored files (${plan.ignored.length}):`);
    for (const i of plan.ignored) lines.push(`  ${i.path}: ${i.reason}`);
  }
  return `${lines.join('\n')}\n`;
}
