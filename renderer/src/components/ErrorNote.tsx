/**
 * ErrorNote: an error from the engine, with its code, a hint when the code
 * has one (or the `hint` given; null for none), and an optional retry
 * button.
 *
 * data-testid: the `testId` prop (default `error-note`); `error-retry`.
 */
import type { ContractError } from '../../../shared/contract.ts';
import { errorHint } from '../lib/call.ts';

export function ErrorNote(props: {
  error: ContractError;
  title?: string;
  /** Replaces the code's own hint; null shows none. */
  hint?: string | null;
  onRetry?: () => void;
  testId?: string;
}) {
  const hint =
    props.hint === undefined ? errorHint(props.error.code) : props.hint;
  return (
    <div
      className="note note-error"
      role="alert"
      data-testid={props.testId ?? 'error-note'}
      data-code={props.error.code}
    >
      <div className="note-text">
        {props.title ? <strong>{props.title}</strong> : null}
        <span>{props.error.message}</span>
        {hint ? <span className="note-hint">{hint}</span> : null}
        <code className="note-code">{props.error.code}</code>
      </div>
      {props.onRetry ? (
        <button
          type="button"
          className="button button-small"
          onClick={props.onRetry}
          data-testid="error-retry"
        >
          Try again
        </button>
      ) : null}
    </div>
  );
}
