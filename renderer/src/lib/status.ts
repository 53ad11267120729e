/**
 * Sample status vocabulary of the platform (reference section 8.1) as the
 * renderer shows and filters it.
 */
import type { SampleRow } from '../../../shared/domain.ts';

/** Status filters offered by the platform's `samples:list` channel. */
export type StatusFilter =
  'all' | 'completed' | 'failed' | 'running' | 'succeeded';

export const STATUS_FILTERS: readonly { value: StatusFilter; label: string }[] =
  [
    { value: 'all', label: 'All statuses' },
    { value: 'running', label: 'In progress' },
    { value: 'completed', label: 'Completed' },
    { value: 'succeeded', label: 'Succeeded' },
    { value: 'failed', label: 'Failed' },
  ];

/**
 * isTerminalStatus is true for statuses after which a sample no longer
 * changes: anything starting with `succeeded` or `failed` (`failed qc`
 * included), case-insensitive.
 */
export function isTerminalStatus(status: string): boolean {
  const s = status.trim().toLowerCase();
  return s.startsWith('succeeded') || s.startsWith('failed');
}

/**
 * matchesStatusFilter applies a filter the way the platform does: `completed`
 * is succeeded or failed QC, `failed` is any failure, `running` is anything
 * not terminal.
 */
export function matchesStatusFilter(
  row: SampleRow,
  filter: StatusFilter,
): boolean {
  if (filter === 'all') {
    return true;
  }
  const s = row.status.trim().toLowerCase();
  switch (filter) {
    case 'succeeded':
      return s.startsWith('succeeded');
    case 'failed':
      return s.startsWith('failed');
    case 'completed':
      return s.startsWith('succeeded') || s.startsWith('failed qc');
    case 'running':
      return !isTerminalStatus(s);
  }
}

/** Visual tone of a status badge. */
export type Tone = 'success' | 'danger' | 'warning' | 'info' | 'neutral';

/** statusTone picks a badge colour for a sample status. */
export function statusTone(status: string): Tone {
  const s = status.trim().toLowerCase();
  if (s.startsWith('succeeded')) {
    return 'success';
  }
  if (s.startsWith('failed')) {
    return 'danger';
  }
  if (s === '' || s === 'unknown') {
    return 'neutral';
  }
  return 'info';
}

/**
 * QC summary of a row: failed (the platform's QC flag), passed (succeeded),
 * pending (still in progress), or n/a (failed for another reason).
 */
export function qcLabel(row: SampleRow): { text: string; tone: Tone } {
  if (row.failedQc) {
    return { text: 'Failed', tone: 'danger' };
  }
  const s = row.status.trim().toLowerCase();
  if (s.startsWith('failed qc')) {
    return { text: 'Failed', tone: 'danger' };
  }
  if (s.startsWith('succeeded')) {
    return { text: 'Passed', tone: 'success' };
  }
  if (isTerminalStatus(s)) {
    return { text: 'n/a', tone: 'neutral' };
  }
  return { text: 'Pending', tone: 'neutral' };
}
