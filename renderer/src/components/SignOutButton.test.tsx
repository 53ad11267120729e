// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  screen,
  waitFor,
} from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import type { TransferSnapshot } from '../../../shared/domain.ts';
import { createFakeBridge } from '../test/fakeBridge.ts';
import { makeSession, makeSnapshot } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { SignOutButton } from './SignOutButton.tsx';

afterEach(cleanup);

function setup(jobs: TransferSnapshot[]) {
  const bridge = createFakeBridge();
  bridge.handle('session:signOut', () =>
    makeSession({ signedIn: false, host: null, hostUrl: null, email: null }),
  );
  const utils = renderApp(<SignOutButton />, bridge);
  act(() => {
    utils.store.getState().setSession(makeSession());
    utils.store.getState().applyTransferSnapshots(jobs);
  });
  return { ...utils, bridge };
}

describe('SignOutButton', () => {
  it('signs out at once when nothing is transferring', async () => {
    const { bridge } = setup([makeSnapshot({ state: 'done' })]);

    fireEvent.click(screen.getByTestId('signout-button'));

    await waitFor(() =>
      expect(bridge.callsOf('session:signOut')).toHaveLength(1),
    );
    expect(screen.queryByTestId('signout-confirm')).toBeNull();
  });

  it('asks first while an upload runs, and stays signed in on Keep working', () => {
    const { bridge } = setup([makeSnapshot({ state: 'running' })]);

    fireEvent.click(screen.getByTestId('signout-button'));

    const dialog = screen.getByTestId('signout-confirm');
    expect(dialog.textContent).toContain(
      '1 transfer in progress will stop; they resume when you sign in again.',
    );
    // The safe choice has the focus.
    expect(document.activeElement).toBe(
      screen.getByTestId('signout-confirm-cancel'),
    );
    fireEvent.click(screen.getByTestId('signout-confirm-cancel'));
    expect(screen.queryByTestId('signout-confirm')).toBeNull();
    expect(bridge.callsOf('session:signOut')).toHaveLength(0);
  });

  it('signs out after the user confirms', async () => {
    const { bridge, store } = setup([
      makeSnapshot({ id: 'a', state: 'running' }),
      makeSnapshot({ id: 'b', kind: 'download', state: 'queued' }),
    ]);
    fireEvent.click(screen.getByTestId('signout-button'));
    expect(screen.getByTestId('signout-confirm').textContent).toContain(
      '2 transfers in progress will stop',
    );

    fireEvent.click(screen.getByTestId('signout-confirm-submit'));

    await waitFor(() =>
      expect(bridge.callsOf('session:signOut')).toHaveLength(1),
    );
    await waitFor(() => expect(store.getState().session?.signedIn).toBe(false));
  });
});
