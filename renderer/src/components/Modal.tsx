/**
 * Modal: an accessible dialog over the page (focus moves in and is kept
 * inside, Escape closes, focus returns to where it was on close).
 *
 * data-testid: the dialog element carries the `testId` prop;
 * `modal-close` is the Close button (absent while not dismissible).
 */
import { useEffect, useId, useRef } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

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

export function Modal(props: ModalProps) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const { onClose } = props;
  const dismissible = props.dismissible ?? true;

  useEffect(() => {
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
    return () => {
      if (previous && previous.isConnected) {
        previous.focus();
      }
    };
  }, []);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape') {
      event.stopPropagation();
      if (dismissible) {
        onClose();
      }
      return;
    }
    if (event.key !== 'Tab' || !ref.current) {
      return;
    }
    const items = [
      ...ref.current.querySelectorAll<HTMLElement>(FOCUSABLE),
    ].filter((el) => !el.closest('[inert]'));
    if (items.length === 0) {
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

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
        onKeyDown={onKeyDown}
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
              onClick={onClose}
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
