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

import type { AppSettings } from '../../../shared/contract.ts';
import type { WatchFolderView } from '../../../shared/domain.ts';
import { connectBridgeEvents } from '../store/bridgeEvents.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge } from '../test/fakeBridge.ts';
import {
  makePlan,
  makePlannedSample,
  makeSession,
  makeSnapshot,
  makeWatchFolder,
  makeWatchRun,
} from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { Toasts } from './Toasts.tsx';
import { WatchFoldersView, destinationText } from './WatchFoldersView.tsx';

afterEach(cleanup);

const RUN_A = '240501_M00119_0001_000000000-AAAAA';
const RUN_B = '240502_M00119_0002_000000000-BBBBB';

function setup(
  folders: WatchFolderView[],
  opts: { mode?: 'desktop' | 'serve'; settings?: AppSettings } = {},
) {
  const bridge: FakeBridge = createFakeBridge({ mode: opts.mode });
  let current = folders;
  bridge.handle('watch:list', () => current);
  bridge.handle(
    'settings:get',
    () => opts.settings ?? { startAtLogin: false, canStartAtLogin: false },
  );
  const utils = renderApp(
    <>
      <WatchFoldersView />
      <Toasts />
    </>,
    bridge,
  );
  utils.store
    .getState()
    .setSession(makeSession({ mode: opts.mode ?? 'desktop' }));
  const disconnect = connectBridgeEvents(
    bridge,
    utils.store,
    utils.services.notifier,
  );
  return {
    ...utils,
    bridge,
    disconnect,
    setList: (next: WatchFolderView[]) => {
      current = next;
    },
  };
}

async function folderCard(id = 'folder-1'): Promise<HTMLElement> {
  return waitFor(() => {
    const found = screen
      .getAllByTestId('watch-folder')
      .find((f) => f.dataset.folderId === id);
    if (!found) throw new Error(`no watch folder ${id}`);
    return found;
  });
}

function runRow(card: HTMLElement, runId: string): HTMLElement {
  const found = within(card)
    .getAllByTestId('watch-run')
    .find((r) => r.dataset.runId === runId);
  if (!found) throw new Error(`no run ${runId}`);
  return found;
}

describe('WatchFoldersView', () => {
  describe('folders', () => {
    it('shows each folder with its project, destination, kind and status with the reason', async () => {
      setup([
        makeWatchFolder(),
        makeWatchFolder({
          id: 'folder-2',
          path: '/mnt/share/novaseq',
          isPolling: true,
          destination: 'gncv://lab/novaseq/',
          status: 'missing',
          message:
            '/mnt/share/novaseq does not exist (not created yet, or a share that is not mounted). Looking again in 4 s.',
          nextRetryAt: '2024-05-01T12:00:04Z',
        }),
      ]);

      const local = await folderCard('folder-1');
      const share = await folderCard('folder-2');

      expect(within(local).getByTestId('watch-folder-path').textContent).toBe(
        '/data/incoming',
      );
      expect(within(local).getByTestId('watch-folder-status').textContent).toBe(
        'Watching',
      );
      expect(
        within(local).getByTestId('watch-folder-project').textContent,
      ).toBe('Dog breeds 2024');
      expect(
        within(local).getByTestId('watch-folder-destination').textContent,
      ).toBe('gncv://Dog-breeds-2024/<run folder name>/');
      expect(
        within(local).getByTestId('watch-folder-kind').textContent,
      ).toMatch(/^Local folder · settles after 60 s$/);
      expect(within(local).getByTestId('watch-runs-empty')).toBeTruthy();
      expect(share.dataset.status).toBe('missing');
      expect(within(share).getByTestId('watch-folder-status').textContent).toBe(
        'Missing',
      );
      const message = within(share).getByTestId('watch-folder-message');
      expect(message.getAttribute('role')).toBe('alert');
      expect(message.textContent).toMatch(/share that is not mounted/);
      expect(message.textContent).toMatch(/next look at/);
      expect(
        within(share).getByTestId('watch-folder-kind').textContent,
      ).toMatch(/^Network share \(polling\)/);
      expect(
        within(share).getByTestId('watch-folder-destination').textContent,
      ).toBe('gncv://lab/novaseq/<run folder name>/');
    });

    it('says how to start when there is no watch folder', async () => {
      setup([]);

      expect(await screen.findByTestId('watch-empty')).toBeTruthy();
    });

    it('pauses and resumes a folder through the engine', async () => {
      const { bridge } = setup([makeWatchFolder()]);
      bridge.handle('watch:pause', ({ folderId }) =>
        makeWatchFolder({
          id: folderId,
          status: 'paused',
          message: 'Paused: no new run is uploaded until it is resumed.',
        }),
      );
      bridge.handle('watch:resume', ({ folderId }) =>
        makeWatchFolder({ id: folderId }),
      );
      const card = await folderCard();

      fireEvent.click(within(card).getByTestId('watch-folder-pause'));
      await waitFor(() => expect(card.dataset.status).toBe('paused'));
      fireEvent.click(within(card).getByTestId('watch-folder-resume'));
      await waitFor(() => expect(card.dataset.status).toBe('watching'));

      expect(bridge.callsOf('watch:pause')).toEqual([{ folderId: 'folder-1' }]);
      expect(bridge.callsOf('watch:resume')).toEqual([
        { folderId: 'folder-1' },
      ]);
    });

    it('asks before removing, says nothing is deleted on disk, and removes only on confirm', async () => {
      const { bridge } = setup([makeWatchFolder()]);
      bridge.handle('watch:remove', () => null);
      const card = await folderCard();

      fireEvent.click(within(card).getByTestId('watch-folder-remove'));
      const dialog = await screen.findByTestId('watch-remove-dialog');
      const text = dialog.textContent ?? '';
      fireEvent.click(within(dialog).getByTestId('watch-remove-cancel'));
      const callsAfterCancel = bridge.callsOf('watch:remove').length;
      fireEvent.click(within(card).getByTestId('watch-folder-remove'));
      fireEvent.click(await screen.findByTestId('watch-remove-confirm'));
      await waitFor(() =>
        expect(screen.queryAllByTestId('watch-folder')).toHaveLength(0),
      );

      expect(text).toMatch(/Nothing is deleted on disk/);
      expect(text).toMatch(/\/data\/incoming/);
      expect(callsAfterCancel).toBe(0);
      expect(bridge.callsOf('watch:remove')).toEqual([
        { folderId: 'folder-1' },
      ]);
      expect(screen.queryByTestId('watch-remove-dialog')).toBeNull();
    });

    it('keeps the folder and says why when the engine refuses to remove it', async () => {
      const { bridge } = setup([makeWatchFolder()]);
      bridge.handle('watch:remove', () => {
        throw new ContractFailure(
          'not-found',
          'There is no watch folder folder-1.',
        );
      });
      const card = await folderCard();

      fireEvent.click(within(card).getByTestId('watch-folder-remove'));
      fireEvent.click(await screen.findByTestId('watch-remove-confirm'));

      expect(
        (await screen.findByText('There is no watch folder folder-1.'))
          .textContent,
      ).toBeTruthy();
      expect(screen.getAllByTestId('watch-folder')).toHaveLength(1);
    });
  });

  describe('runs', () => {
    it('shows every run with its state and what it waits for, its progress, its samples or why it failed', async () => {
      const folder = makeWatchFolder({
        runs: [
          makeWatchRun({ runId: 'W', name: 'waiting', path: '/d/waiting' }),
          makeWatchRun({
            runId: 'S',
            name: 'settling',
            path: '/d/settling',
            state: 'settling',
            message: 'Waiting for 2 FASTQs to stop changing.',
            missingMarkers: [],
            unsettledFiles: [
              {
                path: 'Fastq/A_S1_L001_R1_001.fastq.gz',
                reason: 'grew 2 s ago',
                readyAt: '2024-05-01T12:01:00Z',
              },
              {
                path: 'Fastq/A_S1_L001_R2_001.fastq.gz',
                reason: 'ends inside a gzip member',
                readyAt: null,
              },
            ],
          }),
          makeWatchRun({
            runId: 'U',
            name: 'uploading',
            path: '/d/uploading',
            state: 'uploading',
            message: 'Uploading (transfer job-1).',
            missingMarkers: [],
            jobId: 'job-1',
            plan: {
              destination: 'gncv://Dog-breeds-2024/uploading/',
              includedSamples: 4,
              totalSamples: 5,
              totalBytes: 1_000_000_000,
            },
          }),
          makeWatchRun({
            runId: 'A',
            name: 'assigned',
            path: '/d/assigned',
            state: 'assigned',
            message: 'Uploaded and assigned to the project: 2 samples.',
            missingMarkers: [],
            assigned: [
              {
                clientId: 'LMD666',
                sampleId: 'aaaaaaaa-0000-4000-8000-000000000001',
              },
              {
                clientId: 'TaoP3',
                sampleId: 'aaaaaaaa-0000-4000-8000-000000000002',
              },
            ],
          }),
          makeWatchRun({
            runId: 'F',
            name: 'failed',
            path: '/d/failed',
            state: 'failed',
            message: 'The plan has blocking problems: 1 sample has no R2.',
            missingMarkers: [],
            problems: [
              {
                code: 'missing-r2',
                severity: 'error',
                message: 'Sample X has an R1 file but no R2.',
              },
            ],
          }),
          makeWatchRun({
            runId: null,
            name: 'scratch',
            path: '/d/scratch',
            state: 'not-a-run',
            message: 'No RunInfo.xml with a Run Id: not a run folder.',
            missingMarkers: [],
          }),
        ],
      });
      const { store } = setup([folder]);
      act(() => {
        store
          .getState()
          .applyTransferSnapshots([makeSnapshot({ id: 'job-1' })]);
      });
      const card = await folderCard();

      const waiting = runRow(card, 'W');
      const settling = runRow(card, 'S');
      const uploading = runRow(card, 'U');
      const assigned = runRow(card, 'A');
      const failed = runRow(card, 'F');
      const notRun = runRow(card, '');

      expect(within(waiting).getByTestId('watch-run-state').textContent).toBe(
        'Waiting for the run',
      );
      expect(within(waiting).getByTestId('watch-run-markers').textContent).toBe(
        'Missing: CopyComplete.txt',
      );
      expect(within(settling).getByTestId('watch-run-state').textContent).toBe(
        'Settling',
      );
      const unsettled = within(settling).getByTestId('watch-run-unsettled');
      expect(unsettled.textContent).toMatch(
        /A_S1_L001_R1_001\.fastq\.gz — grew 2 s ago/,
      );
      expect(unsettled.textContent).toMatch(/ends inside a gzip member/);
      expect(
        within(uploading).getByTestId('watch-run-progress').textContent,
      ).toMatch(/250 MB of 1\.0 GB \(25%\)/);
      expect(
        within(uploading).getByTestId('watch-run-plan-summary').textContent,
      ).toMatch(
        /^4 samples of 5 · 1\.0 GB to gncv:\/\/Dog-breeds-2024\/uploading\/$/,
      );
      expect(
        within(uploading).getByTestId('watch-run-show-transfer'),
      ).toBeTruthy();
      expect(within(uploading).queryByTestId('watch-run-ignore')).toBeNull();
      expect(
        within(assigned).getByTestId('watch-run-assigned').textContent,
      ).toMatch(/^2 samples assigned.*LMD666.*TaoP3/);
      expect(within(failed).getByTestId('watch-run-message').textContent).toBe(
        'The plan has blocking problems: 1 sample has no R2.',
      );
      expect(
        within(failed).getByTestId('watch-run-problems').textContent,
      ).toMatch(/has an R1 file but no R2/);
      expect(within(failed).getByTestId('watch-run-retry')).toBeTruthy();
      expect(within(failed).getByTestId('watch-run-ignore')).toBeTruthy();
      expect(within(notRun).getByTestId('watch-run-state').textContent).toBe(
        'Not a run',
      );
      expect(within(notRun).queryByTestId('watch-run-ignore')).toBeNull();
    });

    it('ignores a run with "Ignore run" and shows it ignored', async () => {
      const { bridge } = setup([
        makeWatchFolder({
          runs: [makeWatchRun({ runId: RUN_A, name: RUN_A })],
        }),
      ]);
      bridge.handle('watch:ignoreRun', ({ folderId, runId }) =>
        makeWatchRun({
          folderId,
          runId,
          name: runId,
          state: 'ignored',
          message: 'Ignored by the user.',
        }),
      );
      const card = await folderCard();

      fireEvent.click(
        within(runRow(card, RUN_A)).getByTestId('watch-run-ignore'),
      );
      await waitFor(() =>
        expect(runRow(card, RUN_A).dataset.state).toBe('ignored'),
      );

      expect(bridge.callsOf('watch:ignoreRun')).toEqual([
        { folderId: 'folder-1', runId: RUN_A },
      ]);
      expect(
        within(runRow(card, RUN_A)).getByTestId('watch-run-retry').textContent,
      ).toBe('Watch again');
    });

    it('shows the plan of a planned run read-only, as the upload preview does', async () => {
      const { bridge } = setup([
        makeWatchFolder({
          runs: [
            makeWatchRun({
              runId: RUN_B,
              name: RUN_B,
              state: 'assigned',
              missingMarkers: [],
              plan: {
                destination: `gncv://Dog-breeds-2024/${RUN_B}/`,
                includedSamples: 2,
                totalSamples: 2,
                totalBytes: 6_000_000,
              },
            }),
          ],
        }),
      ]);
      bridge.handle('watch:plan', () =>
        makePlan({
          id: undefined,
          destination: `gncv://Dog-breeds-2024/${RUN_B}/`,
          samples: [
            makePlannedSample('LMD666'),
            makePlannedSample('TaoP3', { lanes: 2 }),
          ],
        }),
      );
      const card = await folderCard();

      fireEvent.click(
        within(runRow(card, RUN_B)).getByTestId('watch-run-show-plan'),
      );
      const preview = await screen.findByTestId('plan-preview');

      expect(bridge.callsOf('watch:plan')).toEqual([
        { folderId: 'folder-1', runId: RUN_B },
      ]);
      expect(within(preview).getByTestId('plan-destination').textContent).toBe(
        `gncv://Dog-breeds-2024/${RUN_B}/`,
      );
      expect(
        within(preview)
          .getAllByTestId('plan-client-id')
          .map((e) => e.textContent),
      ).toEqual(['LMD666', 'TaoP3']);
      expect(within(preview).getAllByText('2 files merged')).toHaveLength(2);
      expect(within(preview).queryByTestId('plan-client-id-input')).toBeNull();
      expect(within(preview).queryByTestId('plan-start')).toBeNull();
      for (const box of within(preview).getAllByTestId('plan-sample-include')) {
        expect((box as HTMLInputElement).disabled).toBe(true);
      }
      fireEvent.click(within(preview).getByTestId('plan-close'));
      expect(screen.queryByTestId('plan-preview')).toBeNull();
    });
  });

  describe('events', () => {
    it('follows watch:didChange and toasts a delivered run once, not its transfer', async () => {
      const { bridge, store } = setup([
        makeWatchFolder({
          runs: [
            makeWatchRun({
              runId: RUN_A,
              name: RUN_A,
              state: 'uploading',
              jobId: 'job-9',
              missingMarkers: [],
            }),
          ],
        }),
      ]);
      await folderCard();
      const delivered = makeWatchRun({
        runId: RUN_A,
        name: RUN_A,
        state: 'assigned',
        jobId: 'job-9',
        missingMarkers: [],
        message: 'Uploaded and assigned to the project: 1 sample.',
        assigned: [
          {
            clientId: 'LMD666',
            sampleId: 'aaaaaaaa-0000-4000-8000-000000000001',
          },
        ],
      });

      act(() => {
        bridge.emit(
          'transfers:didFinish',
          makeSnapshot({
            id: 'job-9',
            state: 'done',
            finishedAt: '2024-05-01T12:05:00Z',
          }),
        );
        bridge.emit('watch:didChange', [
          makeWatchFolder({ runs: [delivered] }),
        ]);
        bridge.emit('watch:didFinishRun', {
          folderId: 'folder-1',
          folderPath: '/data/incoming',
          projectId: '11111111-1111-4111-8111-111111111111',
          projectName: 'Dog breeds 2024',
          run: delivered,
        });
      });
      const card = await folderCard();

      expect(runRow(card, RUN_A).dataset.state).toBe('assigned');
      expect(store.getState().toasts.map((t) => t.title)).toEqual([
        'Run delivered',
      ]);
      expect(store.getState().toasts[0]?.message).toBe(
        `${RUN_A}: 1 sample assigned to Dog breeds 2024, analysis started.`,
      );
    });

    it('toasts a failed run with its reason', async () => {
      const { bridge, store } = setup([makeWatchFolder()]);
      await folderCard();

      act(() => {
        bridge.emit('watch:didFinishRun', {
          folderId: 'folder-1',
          folderPath: '/data/incoming',
          projectId: '11111111-1111-4111-8111-111111111111',
          projectName: 'Dog breeds 2024',
          run: makeWatchRun({
            state: 'failed',
            message: 'The upload failed: access denied',
          }),
        });
      });

      expect(store.getState().toasts).toMatchObject([
        {
          kind: 'error',
          title: 'Run failed',
          message:
            '20200123_FS10000482_42_BPG80712-1010: The upload failed: access denied',
        },
      ]);
    });
  });

  describe('start at login', () => {
    it('offers the setting on the desktop and saves it', async () => {
      const { bridge } = setup([], {
        settings: { startAtLogin: false, canStartAtLogin: true },
      });
      bridge.handle('settings:set', ({ startAtLogin }) => ({
        startAtLogin: startAtLogin ?? false,
        canStartAtLogin: true,
      }));

      const toggle = (await screen.findByTestId(
        'watch-start-at-login',
      )) as HTMLInputElement;
      fireEvent.click(toggle);
      await waitFor(() => expect(toggle.checked).toBe(true));

      expect(bridge.callsOf('settings:set')).toEqual([{ startAtLogin: true }]);
    });

    it('does not offer it in serve mode', async () => {
      const { bridge } = setup([], { mode: 'serve' });

      await waitFor(() =>
        expect(bridge.callsOf('settings:get')).toHaveLength(1),
      );
      await screen.findByTestId('watch-empty');

      expect(screen.queryByTestId('watch-start-at-login')).toBeNull();
    });
  });
});

describe('destinationText()', () => {
  it.each([
    [null, 'My project #2', 'gncv://My-project-2/<run folder name>/'],
    ['gncv://lab/runs/', 'ignored', 'gncv://lab/runs/<run folder name>/'],
    [null, null, 'gncv://project/<run folder name>/'],
  ])(
    'destination %s, project %s gives %s',
    (destination, projectName, text) => {
      expect(
        destinationText(makeWatchFolder({ destination, projectName })),
      ).toBe(text);
    },
  );
});
