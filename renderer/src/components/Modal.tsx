/**
 * Modal: an accessible dialog over the page (focus moves in and is kept
 * inside, Escape closes, focus returns to where it was on close).
 *
 * Escape and the Tab focus trap are handled on the document while the
 * dialog is open, so they keep working when focus has fallen out of it (a
 * focused button became disabled or was removed): such focus is moved to
 * the dialog itself. Only the topmost of nested dialogs reacts.
 *
 * data-testid: the dialog element carries the `testId` prop;
 * `modal-close` is the Close button (absent while not dismissible).
 */
import { useEffect, useId, useRef } from 'react';
import type { ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

// Open dialogs, innermost last: only the last one handles keys and focus.
const openDialogs: object[] = [];

/** isModalOpen is true while any Modal is mounted. */
export function isModalOpen(): boolean {
  return openDialogs.length > 0;
}

export interface ModalProps {
  title: ReactNode;
  /** Called on Escape and on the Close button. */
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  size?: 'small' | 'medium' | 'large';
  testId?: string;
  /** Extra line under the title. */
  subtitle?: ReactNode;
  /**
   * False while closing would lose work: Escape does nothing and there is
   * no Close button (the dialog's own buttons decide). Default true.
   */
  dismissible?: boolean;
}

function focusableIn(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => !el.closest('[inert]'),
  );
}

/** hasLostFocus is true when focus is not on a usable control in root. */
function hasLostFocus(root: HTMLElement): boolean {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !root.contains(active)) {
    return true;
  }
  return active !== root && active.matches(':disabled');
}

export function Modal(props: ModalProps) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const dismissible = props.dismissible ?? true;
  // Read by the document listeners, which are set up once.
  const latest = useRef({ onClose: props.onClose, dismissible });
  latest.current = { onClose: props.onClose, dismissible };

  useEffect(() => {
    const token = {};
    openDialogs.push(token);
    const isTop = () => openDialogs[openDialogs.length - 1] === token;
    const previous =
      document.activeElement instanceof HTMLElement
        ? document.activeElement
        : null;
    const root = ref.current;
    const target =
      root?.querySelector<HTMLElement>('[data-autofocus]') ??
      root
        ?.querySelector('.modal-body')
        ?.querySelector<HTMLElement>(FOCUSABLE) ??
      root;
    target?.focus();

    function recoverFocus() {
      if (root && isTop() && root.isConnected && hasLostFocus(root)) {
        root.focus();
      }
    }

    function onKeyDown(event: KeyboardEvent) {
      if (!root || !isTop() || event.defaultPrevented) {
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        if (latest.current.dismissible) {
          latest.current.onClose();
        }
        return;
      }
      if (event.key !== 'Tab') {
        return;
      }
      const items = focusableIn(root);
      const active = document.activeElement;
      if (items.length === 0) {
        event.preventDefault();
        root.focus();
        return;
      }
      const first = items[0];
      const last = items[items.length - 1];
      const outside = !(active instanceof Node) || !root.contains(active);
      if (outside || active === root) {
        event.preventDefault();
        (event.shiftKey ? last : first).focus();
      } else if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    function onFocusIn(event: FocusEvent) {
      if (
        root &&
        isTop() &&
        event.target instanceof Node &&
        !root.contains(event.target)
      ) {
        root.focus();
      }
    }

    // A focused control that is disabled or removed leaves focus on the
    // page body (browsers fire no event for it): check after each change.
    const observer = new MutationObserver(recoverFocus);
    if (root) {
      observer.observe(root, {
        subtree: true,
        childList: true,
        attributes: true,
        attributeFilter: ['disabled', 'inert', 'hidden'],
      });
    }
    function onFocusOut() {
      setTimeout(recoverFocus, 0);
    }
    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('focusin', onFocusIn);
    root?.addEventListener('focusout', onFocusOut);

    return () => {
      observer.disconnect();
      document.removeEventListener('keydown', onKeyDown);
      document.removeEventListener('focusin', onFocusIn);
      root?.removeEventListener('focusout', onFocusOut);
      const at = openDialogs.indexOf(token);
      if (at !== -1) {
        openDialogs.splice(at, 1);
      }
      if (previous && previous.isConnected) {
        previous.focus();
      }
    };
  }, []);

  return createPortal(
    <div className="modal-backdrop">
      <div
        className={`modal modal-${props.size ?? 'medium'}`}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid={props.testId}
        ref={ref}
        tabIndex={-1}
      >
        <header className="modal-header">
          <div>
            <h2 id={titleId} className="modal-title">
              {props.title}
            </h2>
            {props.subtitle ? (
              <p className="modal-subtitle">{props.subtitle}</p>
            ) : null}
          </div>
          {dismissible ? (
            <button
              type="button"
              className="button button-ghost"
              onClick={props.onClose}
              data-testid="modal-close"
            >
              Close
            </button>
          ) : null}
        </header>
        <div className="modal-body">{props.children}</div>
        {props.footer ? (
          <footer className="modal-footer">{props.footer}</footer>
        ) : null}
      </div>
    </div>,
    document.body,
  );
}
