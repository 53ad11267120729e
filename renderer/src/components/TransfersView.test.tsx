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

import type { TransferSnapshot } from '../../../shared/domain.ts';
import { createNotifier } from '../lib/notify.ts';
import { connectBridgeEvents } from '../store/bridgeEvents.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge } from '../test/fakeBridge.ts';
import { makeRows, makeSnapshot } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { Toasts } from './Toasts.tsx';
import { commonFolder } from '../lib/paths.ts';
import { TransfersView, actionsFor } from './TransfersView.tsx';

afterEach(cleanup);

function setup(
  list: TransferSnapshot[],
  mode: 'desktop' | 'serve' = 'desktop',
) {
  const bridge: FakeBridge = createFakeBridge({ mode });
  bridge.handle('transfers:list', () => list);
  for (const action of ['pause', 'resume', 'cancel', 'retry'] as const) {
    bridge.handle(`transfers:${action}`, () => null);
  }
  bridge.handle('fs:openFolder', () => null);
  const utils = renderApp(
    <>
      <TransfersView />
      <Toasts />
    </>,
    bridge,
  );
  const disconnect = connectBridgeEvents(
    bridge,
    utils.store,
    utils.services.notifier,
  );
  return { ...utils, bridge, disconnect };
}

async function rowOf(id: string): Promise<HTMLElement> {
  return waitFor(() => {
    const found = screen
      .getAllByTestId('transfer-row')
      .find((r) => r.dataset.transferId === id);
    if (!found) {
      throw new Error(`no transfer row ${id}`);
    }
    return found;
  });
}

describe('TransfersView', () => {
  describe('progress', () => {
    it('shows total progress, bytes, speed and ETA of a running job', async () => {
      setup([makeSnapshot()]);

      const row = await rowOf('job-1');

      expect(row.dataset.state).toBe('running');
      expect(within(row).getByTestId('transfer-state').textContent).toBe(
        'Running',
      );
      const bar = within(row).getByTestId('transfer-progress');
      expect(bar.dataset.percent).toBe('25');
      expect(bar.getAttribute('aria-valuenow')).toBe('25');
      expect(within(row).getByTestId('transfer-bytes').textContent).toBe(
        '250 MB of 1.0 GB (25%)',
      );
      expect(within(row).getByTestId('transfer-speed').textContent).toBe(
        'Speed 12.5 MB/s',
      );
      expect(within(row).getByTestId('transfer-eta').textContent).toBe(
        'Time left 1 min',
      );
    });

    it('says the ETA is unknown when the engine cannot compute it', async () => {
      setup([
        makeSnapshot({ etaSeconds: null, speed: null, bytesTotal: null }),
      ]);

      const row = await rowOf('job-1');

      expect(within(row).getByTestId('transfer-eta').textContent).toBe(
        'Time left unknown',
      );
      expect(within(row).getByTestId('transfer-speed').textContent).toBe(
        'Speed —',
      );
      expect(within(row).getByTestId('transfer-bytes').textContent).toBe(
        '250 MB of unknown size',
      );
      expect(within(row).getByTestId('transfer-progress').dataset.percent).toBe(
        '',
      );
    });

    it('shows per-file progress, failures first', async () => {
      setup([
        makeSnapshot({
          files: [
            {
              name: 'gncv://b/S1_R1.fastq.gz',
              bytesDone: 10,
              bytesTotal: 10,
              state: 'done',
            },
            {
              name: 'gncv://b/S2_R1.fastq.gz',
              bytesDone: 3,
              bytesTotal: 10,
              state: 'failed',
              error: 'S2_R1: not gzip (byte 0 is 0x40)',
            },
          ],
        }),
      ]);
      const row = await rowOf('job-1');

      fireEvent.click(within(row).getByTestId('transfer-files-toggle'));

      const files = within(row).getAllByTestId('transfer-file-row');
      expect(files.map((f) => f.dataset.state)).toEqual(['failed', 'done']);
      expect(
        within(files[0]).getByTestId('transfer-file-error').textContent,
      ).toBe('S2_R1: not gzip (byte 0 is 0x40)');
      expect(within(files[1]).getByRole('progressbar').dataset.percent).toBe(
        '100',
      );
    });

    it('follows transfers:didChange snapshots', async () => {
      const { bridge } = setup([makeSnapshot()]);
      await rowOf('job-1');

      act(() =>
        bridge.emit('transfers:didChange', [
          makeSnapshot({ bytesDone: 750_000_000, etaSeconds: 20 }),
          makeSnapshot({
            id: 'job-2',
            kind: 'download',
            title: 'Download of Dog breeds 2024',
            state: 'queued',
            startedAt: null,
          }),
        ]),
      );

      const row = await rowOf('job-1');
      expect(within(row).getByTestId('transfer-progress').dataset.percent).toBe(
        '75',
      );
      expect(within(row).getByTestId('transfer-eta').textContent).toBe(
        'Time left 20 s',
      );
      expect(
        screen.getAllByTestId('transfer-row').map((r) => r.dataset.transferId),
      ).toEqual(['job-2', 'job-1']);
    });
  });

  describe('failure', () => {
    it('shows the failure reason and its code', async () => {
      setup([
        makeSnapshot({
          state: 'failed',
          error: {
            code: 'fatal',
            message: 'S3 refused the upload: AccessDenied',
          },
        }),
      ]);

      const row = await rowOf('job-1');

      expect(within(row).getByTestId('transfer-state').textContent).toBe(
        'Failed',
      );
      const error = within(row).getByTestId('transfer-error');
      expect(error.textContent).toContain(
        'Failed: S3 refused the upload: AccessDenied',
      );
      expect(error.textContent).toContain('fatal');
      expect(within(row).queryByTestId('transfer-eta')).toBeNull();
    });

    it('does not present a cancel as a failure', async () => {
      setup([
        makeSnapshot({
          state: 'cancelled',
          error: { code: 'cancelled', message: 'Cancelled by the user' },
        }),
      ]);

      const row = await rowOf('job-1');

      expect(within(row).getByTestId('transfer-state').textContent).toBe(
        'Cancelled',
      );
      expect(within(row).queryByTestId('transfer-error')).toBeNull();
    });

    it('shows the last error of a job that is retrying, with the attempt', async () => {
      setup([
        makeSnapshot({
          state: 'retrying',
          attempt: 3,
          error: { code: 'retry-after', message: 'HTTP 503 from the platform' },
        }),
      ]);

      const row = await rowOf('job-1');

      expect(within(row).getByTestId('transfer-error').textContent).toContain(
        'Last error: HTTP 503 from the platform',
      );
      expect(within(row).getByTestId('transfer-attempt').textContent).toBe(
        'attempt 3',
      );
    });
  });

  describe('buttons', () => {
    const cases = [
      { state: 'running', click: 'pause', channel: 'transfers:pause' },
      { state: 'running', click: 'cancel', channel: 'transfers:cancel' },
      { state: 'queued', click: 'cancel', channel: 'transfers:cancel' },
      { state: 'paused', click: 'resume', channel: 'transfers:resume' },
      { state: 'failed', click: 'retry', channel: 'transfers:retry' },
      { state: 'cancelled', click: 'retry', channel: 'transfers:retry' },
    ] as const;
    for (const c of cases) {
      it(`calls ${c.channel} when ${c.click} is clicked on a ${c.state} job`, async () => {
        const { bridge } = setup([makeSnapshot({ state: c.state })]);
        const row = await rowOf('job-1');

        fireEvent.click(within(row).getByTestId(`transfer-${c.click}`));

        await waitFor(() =>
          expect(bridge.callsOf(c.channel)).toEqual([{ jobId: 'job-1' }]),
        );
      });
    }

    it('offers exactly the controls that make sense in each state', () => {
      expect(actionsFor('running')).toEqual(['pause', 'cancel']);
      expect(actionsFor('retrying')).toEqual(['pause', 'cancel']);
      expect(actionsFor('paused')).toEqual(['resume', 'cancel']);
      expect(actionsFor('failed')).toEqual(['retry']);
      expect(actionsFor('done')).toEqual([]);
    });

    it('tells the user when a control fails', async () => {
      const { bridge } = setup([makeSnapshot()]);
      bridge.handle('transfers:pause', () => {
        throw new ContractFailure('not-found', 'No job job-1');
      });
      const row = await rowOf('job-1');

      fireEvent.click(within(row).getByTestId('transfer-pause'));

      const toast = await screen.findByTestId('toast');
      expect(toast.dataset.kind).toBe('error');
      expect(toast.textContent).toContain('No job job-1');
    });
  });

  describe('finished jobs', () => {
    it('lists the samples an upload assigned', async () => {
      setup([
        makeSnapshot({
          state: 'done',
          bytesDone: 1_000_000_000,
          finishedAt: '2024-05-01T12:10:00Z',
          assigned: [
            {
              clientId: 'S1',
              sampleId: 'aaaaaaaa-0000-4000-8000-000000000001',
            },
            {
              clientId: 'S2',
              sampleId: 'aaaaaaaa-0000-4000-8000-000000000002',
            },
          ],
        }),
      ]);

      const row = await rowOf('job-1');

      const assigned = within(row).getByTestId('transfer-assigned');
      expect(assigned.textContent).toContain(
        '2 samples assigned to the project',
      );
      expect(
        within(assigned)
          .getAllByTestId('transfer-assigned-row')
          .map((r) => r.textContent),
      ).toEqual([
        'S1aaaaaaaa-0000-4000-8000-000000000001',
        'S2aaaaaaaa-0000-4000-8000-000000000002',
      ]);
      expect(within(row).queryByTestId('transfer-pause')).toBeNull();
    });

    it('opens the folder of a finished download', async () => {
      const { bridge } = setup([
        makeSnapshot({
          id: 'dl-1',
          kind: 'download',
          state: 'done',
          files: [
            {
              name: '/data/u/Gencove/S1/id1/id1_fastq-r1.fastq.gz',
              bytesDone: 1,
              bytesTotal: 1,
              state: 'done',
            },
            {
              name: '/data/u/Gencove/S2/id2/id2_fastq-r1.fastq.gz',
              bytesDone: 1,
              bytesTotal: 1,
              state: 'skipped',
            },
          ],
        }),
      ]);
      const row = await rowOf('dl-1');

      fireEvent.click(within(row).getByTestId('transfer-open-folder'));

      await waitFor(() =>
        expect(bridge.callsOf('fs:openFolder')).toEqual([
          { path: '/data/u/Gencove' },
        ]),
      );
    });

    it('notifies when a job finishes and refreshes the open project', async () => {
      const { bridge, store } = setup([makeSnapshot()]);
      const projectId = makeSnapshot().projectId as string;
      bridge.handle('samples:list', () => makeRows(3));
      bridge.handle('projects:list', () => []);
      act(() =>
        store.getState().setSession({
          signedIn: true,
          host: { kind: 'sandbox' },
          hostUrl: null,
          email: null,
          sandbox: true,
          mode: 'desktop',
        }),
      );
      await act(() => store.getState().loadSamples(projectId));
      await rowOf('job-1');

      act(() =>
        bridge.emit(
          'transfers:didFinish',
          makeSnapshot({
            state: 'done',
            assigned: [
              {
                clientId: 'S1',
                sampleId: 'aaaaaaaa-0000-4000-8000-000000000001',
              },
            ],
          }),
        ),
      );

      const toast = await screen.findByTestId('toast');
      expect(toast.dataset.kind).toBe('success');
      expect(toast.textContent).toContain('Upload finished');
      expect(toast.textContent).toContain('1 sample assigned to the project');
      await waitFor(() =>
        expect(bridge.callsOf('samples:list')).toHaveLength(2),
      );
      expect(bridge.callsOf('projects:list')).toHaveLength(1);
      expect((await rowOf('job-1')).dataset.state).toBe('done');
    });

    it('uses a system notification when permission is granted', async () => {
      const shown: { title: string; body?: string }[] = [];
      class FakeNotification {
        static permission: NotificationPermission = 'granted';
        static requestPermission = async () =>
          'granted' as NotificationPermission;
        onclick: ((this: unknown, ev: Event) => unknown) | null = null;
        constructor(title: string, options?: NotificationOptions) {
          shown.push({ title, body: options?.body });
        }
      }
      const bridge = createFakeBridge({ mode: 'serve' });
      bridge.handle('transfers:list', () => []);
      const { store } = renderApp(<Toasts />, bridge);
      const notifier = createNotifier({
        mode: 'serve',
        pushToast: (t) => store.getState().pushToast(t),
        NotificationImpl: FakeNotification,
      });
      connectBridgeEvents(bridge, store, notifier);

      act(() =>
        bridge.emit(
          'transfers:didFinish',
          makeSnapshot({
            state: 'failed',
            error: { code: 'fatal', message: 'Disk full' },
          }),
        ),
      );

      expect(shown).toEqual([
        {
          title: 'Upload failed',
          body: 'Upload of 2 samples to Dog breeds 2024: Disk full',
        },
      ]);
      expect(screen.queryByTestId('toast')).toBeNull();
    });

    it('falls back to a toast in serve mode without permission, and says nothing for a cancel', async () => {
      class DeniedNotification {
        static permission: NotificationPermission = 'default';
        static requestPermission = async () =>
          'default' as NotificationPermission;
        onclick = null;
        constructor() {
          throw new Error('must not be constructed');
        }
      }
      const bridge = createFakeBridge({ mode: 'serve' });
      const { store } = renderApp(<Toasts />, bridge);
      const notifier = createNotifier({
        mode: 'serve',
        pushToast: (t) => store.getState().pushToast(t),
        NotificationImpl: DeniedNotification,
      });
      connectBridgeEvents(bridge, store, notifier);

      act(() =>
        bridge.emit(
          'transfers:didFinish',
          makeSnapshot({ state: 'cancelled' }),
        ),
      );
      expect(screen.queryByTestId('toast')).toBeNull();
      act(() =>
        bridge.emit(
          'transfers:didFinish',
          makeSnapshot({
            kind: 'download',
            title: 'Download of Dog breeds 2024',
            state: 'done',
            files: [
              { name: '/d/a', bytesDone: 1, bytesTotal: 1, state: 'done' },
              { name: '/d/b', bytesDone: 1, bytesTotal: 1, state: 'skipped' },
            ],
          }),
        ),
      );

      const toast = await screen.findByTestId('toast');
      expect(toast.textContent).toContain('Download finished');
      expect(toast.textContent).toContain('1 file downloaded, 1 already there');
    });

    it('removes every subscription when disconnected', () => {
      const { bridge, disconnect } = setup([]);
      expect(bridge.listenerCount('transfers:didChange')).toBe(1);

      disconnect();

      expect(bridge.listenerCount('transfers:didChange')).toBe(0);
      expect(bridge.listenerCount('transfers:didFinish')).toBe(0);
      expect(bridge.listenerCount('session:didChange')).toBe(0);
    });
  });

  describe('commonFolder()', () => {
    const cases = [
      { paths: ['/a/b/c.txt', '/a/b/d/e.txt'], want: '/a/b' },
      { paths: ['/a/x.txt'], want: '/a' },
      { paths: ['C:\\out\\S1\\f.gz', 'C:\\out\\S2\\g.gz'], want: 'C:\\out' },
      { paths: ['/x.txt', '/y.txt'], want: '/' },
      { paths: [], want: null },
    ];
    for (const c of cases) {
      it(`is ${JSON.stringify(c.want)} for ${JSON.stringify(c.paths)}`, () => {
        expect(commonFolder(c.paths)).toBe(c.want);
      });
    }
  });

  it('says there is nothing yet when there are no transfers', async () => {
    setup([]);

    expect(
      (await screen.findByTestId('transfers-empty')).textContent,
    ).toContain('No transfers yet');
  });
  describe('polish (issue #3)', () => {
    const finishedDownload = (
      state: 'done' | 'skipped' = 'done',
    ): TransferSnapshot =>
      makeSnapshot({
        id: 'dl-1',
        kind: 'download',
        state: 'done',
        bytesDone: state === 'done' ? 2 : 0,
        bytesTotal: state === 'done' ? 2 : 0,
        speed: null,
        etaSeconds: null,
        finishedAt: '2024-05-01T12:10:00Z',
        files: ['S1', 'S2'].map((c) => ({
          name: `/data/u/Gencove/${c}/x_${c}.vcf.gz`,
          clientId: c,
          bytesDone: state === 'done' ? 1 : 0,
          bytesTotal: 1,
          state,
        })),
      });

    it('shows a finished download’s folder as text in serve mode, with no Open folder', async () => {
      setup([finishedDownload()], 'serve');

      const row = await rowOf('dl-1');

      expect(within(row).queryByTestId('transfer-open-folder')).toBeNull();
      expect(within(row).getByTestId('transfer-folder-path').textContent).toBe(
        '/data/u/Gencove',
      );
    });

    it('offers Open folder on the desktop and shows no path text there', async () => {
      setup([finishedDownload()], 'desktop');

      const row = await rowOf('dl-1');

      expect(within(row).getByTestId('transfer-open-folder')).toBeTruthy();
      expect(within(row).queryByTestId('transfer-folder-path')).toBeNull();
    });

    it('shows "—" for the speed until the engine knows it', async () => {
      setup([makeSnapshot({ speed: null, bytesDone: 0, etaSeconds: null })]);

      const row = await rowOf('job-1');

      expect(within(row).getByTestId('transfer-speed').textContent).toBe(
        'Speed —',
      );
      const speed = within(row).getByTestId('transfer-speed');
      expect(speed.textContent).not.toContain('B/s');
    });

    it('says a download where every file was there already had nothing to do', async () => {
      setup([finishedDownload('skipped')]);

      const row = await rowOf('dl-1');

      expect(within(row).getByTestId('transfer-bytes').textContent).toBe(
        '2 files already there, nothing to download',
      );
    });

    it('counts skipped files beside the bytes of a partly skipped download', async () => {
      const job = finishedDownload();
      job.files[1] = { ...job.files[1], state: 'skipped', bytesDone: 0 };
      setup([job]);

      const row = await rowOf('dl-1');

      expect(within(row).getByTestId('transfer-bytes').textContent).toContain(
        '· 1 already there',
      );
    });

    it('hides a finished job on Dismiss and leaves it out of the totals', async () => {
      const failed = makeSnapshot({
        id: 'job-2',
        state: 'failed',
        error: { code: 'network', message: 'Connection reset' },
      });
      const { store, bridge } = setup([makeSnapshot(), failed]);
      const row = await rowOf('job-2');
      const running = await rowOf('job-1');
      expect(within(running).queryByTestId('transfer-dismiss')).toBeNull();

      fireEvent.click(within(row).getByTestId('transfer-dismiss'));

      await waitFor(() =>
        expect(
          screen
            .getAllByTestId('transfer-row')
            .map((r) => r.dataset.transferId),
        ).toEqual(['job-1']),
      );
      expect(store.getState().transfers.byId['job-2']).toBeDefined();
      // The engine is told too, so it stays hidden after a restart.
      expect(bridge.callsOf('transfers:dismiss')).toEqual([{ jobId: 'job-2' }]);
    });

    it('shows a dismissed job again when it becomes active', async () => {
      const failed = makeSnapshot({ state: 'failed' });
      const { store, bridge } = setup([failed]);
      const row = await rowOf('job-1');
      fireEvent.click(within(row).getByTestId('transfer-dismiss'));
      await waitFor(() =>
        expect(screen.queryAllByTestId('transfer-row')).toHaveLength(0),
      );

      act(() =>
        bridge.emit('transfers:didChange', [
          makeSnapshot({ state: 'running' }),
        ]),
      );

      expect((await rowOf('job-1')).dataset.state).toBe('running');
      expect(store.getState().transfers.dismissed).toEqual({});
    });

    for (const mode of ['serve', 'desktop'] as const) {
      it(`${mode === 'serve' ? 'offers no' : 'offers'} Open folder in the finish toast in ${mode} mode, and words an all-skipped download`, async () => {
        const { bridge } = setup([], mode);
        await screen.findByTestId('transfers-empty');

        act(() =>
          bridge.emit('transfers:didFinish', finishedDownload('skipped')),
        );

        const toast = await screen.findByText(
          /2 files already there, nothing to download\./,
        );
        const card = toast.closest('[role]') ?? toast.parentElement;
        const buttons = within(card as HTMLElement)
          .queryAllByRole('button')
          .map((b) => b.textContent);
        expect(buttons.includes('Open folder')).toBe(mode === 'desktop');
      });
    }

    for (const code of ['validation', 'not-found']) {
      it(`offers no Retry for a failure with code ${code}`, async () => {
        setup([
          makeSnapshot({
            state: 'failed',
            error: { code, message: 'The destination is not a folder.' },
          }),
        ]);

        const row = await rowOf('job-1');

        expect(within(row).queryByTestId('transfer-retry')).toBeNull();
        expect(within(row).getByTestId('transfer-dismiss')).toBeTruthy();
      });
    }

    it('keeps Retry for a failure that a new attempt can fix', () => {
      expect(actionsFor('failed', 'network')).toEqual(['retry']);
      expect(actionsFor('failed', 'validation')).toEqual([]);
      expect(actionsFor('cancelled')).toEqual(['retry']);
    });
  });
});
