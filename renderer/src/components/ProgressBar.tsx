/**
 * ProgressBar: done/total as a bar; with an unknown total it shows an
 * indeterminate stripe while active, and an empty bar otherwise.
 *
 * data-testid: the `testId` prop, when given; `data-percent` holds the
 * whole percentage (empty when unknown).
 */
import type { Tone } from '../lib/status.ts';

export function ProgressBar(props: {
  value: number;
  max: number | null;
  label: string;
  tone?: Tone;
  /** Animate when the total is unknown (the job is moving). */
  active?: boolean;
  testId?: string;
  size?: 'normal' | 'thin';
}) {
  const known = props.max != null && props.max > 0;
  const pct = known
    ? Math.min(100, Math.max(0, (props.value / (props.max as number)) * 100))
    : null;
  const classes = [
    'progress',
    `progress-${props.tone ?? 'info'}`,
    props.size === 'thin' ? 'progress-thin' : '',
    pct === null && props.active ? 'progress-indeterminate' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={classes}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct === null ? undefined : Math.floor(pct)}
      aria-valuetext={pct === null ? 'unknown' : `${Math.floor(pct)}%`}
      data-testid={props.testId}
      data-percent={pct === null ? '' : String(Math.floor(pct))}
    >
      <div
        className="progress-fill"
        style={pct === null ? undefined : { width: `${pct}%` }}
      />
    </div>
  );
}
