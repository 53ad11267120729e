/**
 * StatusBadge: a short status word in a tinted pill; the tone gives the
 * colour, the text always says it too (colour is never the only cue).
 *
 * data-testid: the `testId` prop, when given.
 */
import type { Tone } from '../lib/status.ts';

export function StatusBadge(props: {
  text: string;
  tone: Tone;
  testId?: string;
  title?: string;
}) {
  return (
    <span
      className={`badge badge-${props.tone}`}
      data-testid={props.testId}
      title={props.title}
    >
      {props.text}
    </span>
  );
}
