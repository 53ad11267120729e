// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import { connectBridgeEvents } from '../store/bridgeEvents.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import {
  makeProject,
  makeRows,
  makeSession,
  makeSnapshot,
} from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { App } from './App.tsx';

afterEach(cleanup);

const projects = [
  makeProject(),
  makeProject({
    id: '22222222-2222-4222-8222-222222222222',
    name: 'Cattle herd',
    description: 'Herd genotyping',
    configurationName: 'Cattle low-pass v2',
    sampleCount: 40,
    created: '2024-04-01T10:00:00Z',
  }),
];

function setup(signedIn: boolean) {
  const bridge = createFakeBridge();
  bridge.handle('session:get', () =>
    signedIn
      ? makeSession()
      : makeSession({ signedIn: false, email: null, host: null }),
  );
  bridge.handle('session:signIn', () => makeSession());
  bridge.handle('session:signOut', () =>
    makeSession({ signedIn: false, email: null, host: null }),
  );
  // The server also finds a project beyond the loaded list (as if by sample).
  const serverOnly = makeProject({
    id: '33333333-3333-4333-8333-333333333333',
    name: 'Older trial',
    description: 'Holds sample TRIAL-7',
  });
  bridge.handle('projects:list', (req) =>
    req.search
      ? [...projects, serverOnly].filter((p) =>
          `${p.name} ${p.description}`
            .toLowerCase()
            .includes((req.search as string).toLowerCase()),
        )
      : projects,
  );
  bridge.handle('samples:list', () => makeRows(12));
  bridge.handle('transfers:list', () => []);
  const utils = renderApp(<App />, bridge);
  connectBridgeEvents(bridge, utils.store, utils.services.notifier);
  return { ...utils, bridge };
}

describe('App', () => {
  it('goes from sign-in to the projects list with the sandbox button', async () => {
    const { bridge } = setup(false);

    fireEvent.click(await screen.findByTestId('signin-sandbox-button'));

    const rows = await screen.findAllByTestId('project-row');
    expect(rows.map((r) => r.dataset.projectId)).toEqual([
      projects[1].id,
      projects[0].id,
    ]);
    expect(rows[1].textContent).toContain('Dog low-pass v2');
    expect(rows[0].textContent).toContain('40');
    expect(screen.getByTestId('session-host').textContent).toContain('Sandbox');
    expect(bridge.callsOf('session:get')).toHaveLength(1);
  });

  it('opens a project and shows its samples', async () => {
    setup(true);

    fireEvent.click(
      within((await screen.findAllByTestId('project-row'))[0]).getByTestId(
        'project-open',
      ),
    );

    expect((await screen.findByTestId('project-name')).textContent).toBe(
      'Cattle herd',
    );
    expect(await screen.findAllByTestId('sample-row')).toHaveLength(12);
    expect(screen.getByTestId('app').dataset.view).toBe('project');
    fireEvent.click(screen.getByTestId('project-back'));
    expect(await screen.findAllByTestId('project-row')).toHaveLength(2);
  });

  it('filters projects at once and adds the server’s search results', async () => {
    const { bridge } = setup(true);
    await screen.findAllByTestId('project-row');

    fireEvent.change(screen.getByTestId('projects-search'), {
      target: { value: 'cattle' },
    });

    expect(
      screen.getAllByTestId('project-row').map((r) => r.textContent),
    ).toEqual([expect.stringContaining('Cattle herd')]);
    await waitFor(() =>
      expect(bridge.callsOf('projects:list')).toContainEqual({
        search: 'cattle',
      }),
    );
    await waitFor(() =>
      expect(
        screen.getByTestId('projects-search-status').textContent,
      ).toContain('1 match'),
    );
    fireEvent.change(screen.getByTestId('projects-search'), {
      target: { value: 'TRIAL-7' },
    });
    expect(screen.queryAllByTestId('project-row')).toHaveLength(0);
    await waitFor(() =>
      expect(
        screen.getAllByTestId('project-row').map((r) => r.dataset.projectId),
      ).toEqual(['33333333-3333-4333-8333-333333333333']),
    );
  });

  it('shows the transfers count and view, and returns to sign-in on sign out', async () => {
    const { bridge, store } = setup(true);
    await screen.findAllByTestId('project-row');

    act(() => bridge.emit('transfers:didChange', [makeSnapshot()]));
    expect(screen.getByTestId('nav-transfers-count').textContent).toBe('1');
    fireEvent.click(screen.getByTestId('nav-transfers'));
    expect(await screen.findAllByTestId('transfer-row')).toHaveLength(1);
    fireEvent.click(screen.getByTestId('signout-button'));
    // A transfer is running: the app asks before stopping it.
    fireEvent.click(await screen.findByTestId('signout-confirm-submit'));

    await screen.findByTestId('signin');
    expect(store.getState().projects.items).toEqual([]);
  });

  it('follows session:didChange from the engine (e.g. an expired session)', async () => {
    const { bridge } = setup(true);
    await screen.findAllByTestId('project-row');

    act(() =>
      bridge.emit('session:didChange', makeSession({ signedIn: false })),
    );

    expect(await screen.findByTestId('signin')).toBeTruthy();
  });

  it('explains when the engine cannot be reached, and retries', async () => {
    const bridge = createFakeBridge();
    let fail = true;
    bridge.handle('session:get', () => {
      if (fail) {
        throw new ContractFailure(
          'network',
          'Not connected to the gencove-desktop server.',
        );
      }
      return makeSession({ signedIn: false });
    });
    bridge.handle('transfers:list', () => []);
    renderApp(<App />, bridge);

    const error = await screen.findByTestId('app-error');
    expect(error.textContent).toContain(
      'Not connected to the gencove-desktop server.',
    );
    fail = false;
    fireEvent.click(within(error).getByTestId('error-retry'));

    expect(await screen.findByTestId('signin')).toBeTruthy();
  });

  it('shows a projects error with a retry', async () => {
    const { bridge } = setup(true);
    bridge.handle('projects:list', () => {
      throw new ContractFailure(
        'maintenance',
        'The API is down for maintenance until 14:00 UTC.',
      );
    });
    fireEvent.click(await screen.findByTestId('nav-projects'));
    fireEvent.click(screen.getByTestId('projects-refresh'));

    const error = await screen.findByTestId('projects-error');
    expect(error.textContent).toContain('maintenance until 14:00 UTC');
    expect(error.dataset.code).toBe('maintenance');
  });
});
