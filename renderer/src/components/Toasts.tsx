/**
 * Toasts: short in-app messages in a corner (also the fallback for desktop
 * notifications). Information closes by itself; errors stay until closed.
 *
 * data-testid: `toasts` (region), `toast` (with `data-kind`),
 * `toast-action`, `toast-dismiss`.
 */
import { useEffect } from 'react';

import type { Toast } from '../store/uiSlice.ts';
import { useAppStore } from '../store/react.tsx';

/** How long an info or success toast stays. */
export const TOAST_MS = 6_000;

export function Toasts() {
  const toasts = useAppStore((s) => s.toasts);
  return (
    <div
      className="toasts"
      role="region"
      aria-label="Notifications"
      data-testid="toasts"
    >
      <div aria-live="polite" className="toasts-stack">
        {toasts.map((t) => (
          <ToastItem key={t.id} toast={t} />
        ))}
      </div>
    </div>
  );
}

function ToastItem(props: { toast: Toast }) {
  const { toast } = props;
  const dismiss = useAppStore((s) => s.dismissToast);

  useEffect(() => {
    if (toast.kind === 'error') {
      return;
    }
    const timer = setTimeout(() => dismiss(toast.id), TOAST_MS);
    return () => clearTimeout(timer);
  }, [toast.id, toast.kind, dismiss]);

  return (
    <div
      className={`toast toast-${toast.kind}`}
      role={toast.kind === 'error' ? 'alert' : 'status'}
      data-testid="toast"
      data-kind={toast.kind}
    >
      <div className="toast-text">
        <strong>{toast.title}</strong>
        {toast.message ? <span>{toast.message}</span> : null}
      </div>
      <div className="toast-actions">
        {toast.action ? (
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              toast.action?.run();
              dismiss(toast.id);
            }}
            data-testid="toast-action"
          >
            {toast.action.label}
          </button>
        ) : null}
        <button
          type="button"
          className="button button-ghost button-small"
          onClick={() => dismiss(toast.id)}
          data-testid="toast-dismiss"
        >
          Dismiss
        </button>
      </div>
    </div>
  );
}
