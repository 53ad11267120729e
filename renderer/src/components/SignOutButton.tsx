/**
 * SignOutButton: signs out, after asking first while an upload or download
 * is running (its transfers stop, and resume at the next sign-in).
 *
 * data-testid: `signout-button`, `signout-confirm` (dialog),
 * `signout-confirm-submit`, `signout-confirm-cancel`.
 */
import { useState } from 'react';

import { plural } from '../lib/format.ts';
import { useAppStore, useAppStoreShallow } from '../store/react.tsx';
import { selectTransferTotals } from '../store/transfersSlice.ts';
import { Modal } from './Modal.tsx';

export function SignOutButton() {
  const signOut = useAppStore((s) => s.signOut);
  const totals = useAppStoreShallow(selectTransferTotals);
  const [asking, setAsking] = useState(false);
  const [pending, setPending] = useState(false);

  async function confirm() {
    setPending(true);
    await signOut();
    setPending(false);
    setAsking(false);
  }

  return (
    <>
      <button
        type="button"
        className="button button-ghost button-small"
        onClick={() => {
          if (totals.active > 0) {
            setAsking(true);
          } else {
            void signOut();
          }
        }}
        data-testid="signout-button"
      >
        Sign out
      </button>
      {asking ? (
        <Modal
          title="Sign out while transfers run?"
          onClose={() => setAsking(false)}
          dismissible={!pending}
          size="small"
          testId="signout-confirm"
          footer={
            <>
              <button
                type="button"
                className="button"
                onClick={() => setAsking(false)}
                disabled={pending}
                data-autofocus
                data-testid="signout-confirm-cancel"
              >
                Keep working
              </button>
              <button
                type="button"
                className="button button-primary"
                onClick={() => void confirm()}
                disabled={pending}
                data-testid="signout-confirm-submit"
              >
                {pending ? 'Signing out…' : 'Sign out'}
              </button>
            </>
          }
        >
          <p>
            {totals.active > 0
              ? `${plural(totals.active, 'transfer')} in progress will stop; they resume when you sign in again.`
              : 'The transfers have ended; nothing will stop.'}
          </p>
        </Modal>
      ) : null}
    </>
  );
}
