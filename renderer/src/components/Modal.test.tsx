// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  render,
  screen,
} from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Modal, isModalOpen } from './Modal.tsx';

afterEach(cleanup);

/** A dialog whose "Default" button disables itself once used. */
function ResettingDialog(props: { onClose: () => void }) {
  const [used, setUsed] = useState(false);
  const [shown, setShown] = useState(true);
  return (
    <Modal title="Download" onClose={props.onClose} testId="dialog">
      <input data-testid="field" />
      <button type="button" disabled={used} onClick={() => setUsed(true)}>
        Default
      </button>
      {shown ? (
        <button type="button" onClick={() => setShown(false)}>
          Hide me
        </button>
      ) : null}
      <button type="button">Last</button>
    </Modal>
  );
}

/** Lets the focus-recovery timers and observers run. */
async function settle() {
  await act(() => new Promise((resolve) => setTimeout(resolve, 5)));
}

describe('Modal', () => {
  describe('Escape', () => {
    it('closes the dialog after the focused button disabled itself', async () => {
      const onClose = vi.fn();
      render(<ResettingDialog onClose={onClose} />);
      const reset = screen.getByRole('button', { name: 'Default' });
      reset.focus();

      fireEvent.click(reset);
      await settle();
      expect((reset as HTMLButtonElement).disabled).toBe(true);
      // Focus is on the dialog itself, not on the body behind it.
      expect(document.activeElement).toBe(screen.getByTestId('dialog'));
      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(onClose).toHaveBeenCalledTimes(1);
    });

    it('closes the dialog when the key is pressed with focus on the page', () => {
      const onClose = vi.fn();
      render(<ResettingDialog onClose={onClose} />);
      (document.activeElement as HTMLElement).blur();

      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(onClose).toHaveBeenCalledTimes(1);
    });

    it('does not close a dialog that is not dismissible', () => {
      const onClose = vi.fn();
      render(
        <Modal title="Busy" onClose={onClose} dismissible={false}>
          <button type="button">Only</button>
        </Modal>,
      );

      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(onClose).not.toHaveBeenCalled();
      expect(screen.queryByTestId('modal-close')).toBeNull();
    });

    it('closes only the innermost of two open dialogs', () => {
      const outer = vi.fn();
      const inner = vi.fn();
      render(
        <>
          <Modal title="Outer" onClose={outer}>
            <button type="button">A</button>
          </Modal>
          <Modal title="Inner" onClose={inner}>
            <button type="button">B</button>
          </Modal>
        </>,
      );

      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(inner).toHaveBeenCalledTimes(1);
      expect(outer).not.toHaveBeenCalled();
    });

    it('leaves Escape alone when a control inside already handled it', () => {
      const onClose = vi.fn();
      render(
        <Modal title="Edit" onClose={onClose}>
          <input
            data-testid="field"
            onKeyDown={(e) => {
              if (e.key === 'Escape') e.stopPropagation();
            }}
          />
        </Modal>,
      );

      fireEvent.keyDown(screen.getByTestId('field'), { key: 'Escape' });

      expect(onClose).not.toHaveBeenCalled();
    });

    it('stops listening once closed', () => {
      const onClose = vi.fn();
      const { unmount } = render(
        <Modal title="Gone" onClose={onClose}>
          <button type="button">X</button>
        </Modal>,
      );
      expect(isModalOpen()).toBe(true);

      unmount();
      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(onClose).not.toHaveBeenCalled();
      expect(isModalOpen()).toBe(false);
    });
  });

  describe('focus', () => {
    it('puts focus on the first control of the body when it opens', () => {
      render(<ResettingDialog onClose={() => undefined} />);

      expect(document.activeElement).toBe(screen.getByTestId('field'));
    });

    it('moves focus to the dialog when the focused control is removed', async () => {
      render(<ResettingDialog onClose={() => undefined} />);
      const hide = screen.getByRole('button', { name: 'Hide me' });
      hide.focus();

      fireEvent.click(hide);
      await settle();

      expect(screen.queryByRole('button', { name: 'Hide me' })).toBeNull();
      expect(document.activeElement).toBe(screen.getByTestId('dialog'));
    });

    it('brings Tab from outside the dialog back to its first control', () => {
      render(<ResettingDialog onClose={() => undefined} />);
      (document.activeElement as HTMLElement).blur();
      expect(document.activeElement).toBe(document.body);

      fireEvent.keyDown(document.body, { key: 'Tab' });

      // The Close button in the header is the first control.
      expect(document.activeElement).toBe(screen.getByTestId('modal-close'));
    });

    it('wraps Tab from the last control to the first, and Shift+Tab back', () => {
      render(<ResettingDialog onClose={() => undefined} />);
      const last = screen.getByRole('button', { name: 'Last' });
      last.focus();

      fireEvent.keyDown(last, { key: 'Tab' });
      expect(document.activeElement).toBe(screen.getByTestId('modal-close'));

      fireEvent.keyDown(document.activeElement as Element, {
        key: 'Tab',
        shiftKey: true,
      });
      expect(document.activeElement).toBe(last);
    });

    it('pulls focus that moves to the page behind back into the dialog', () => {
      render(
        <>
          <button type="button">Behind</button>
          <Modal title="Front" onClose={() => undefined} testId="front">
            <button type="button">Inside</button>
          </Modal>
        </>,
      );

      screen.getByRole('button', { name: 'Behind' }).focus();

      expect(document.activeElement).toBe(screen.getByTestId('front'));
    });

    it('gives focus back to where it was when it closes', () => {
      function Opener() {
        const [open, setOpen] = useState(false);
        return (
          <>
            <button type="button" onClick={() => setOpen(true)}>
              Open
            </button>
            {open ? (
              <Modal title="T" onClose={() => setOpen(false)}>
                <button type="button">In</button>
              </Modal>
            ) : null}
          </>
        );
      }
      render(<Opener />);
      const opener = screen.getByRole('button', { name: 'Open' });
      opener.focus();
      fireEvent.click(opener);
      expect(document.activeElement?.textContent).toBe('In');

      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(screen.queryByRole('dialog')).toBeNull();
      expect(document.activeElement).toBe(opener);
    });
  });
});
