// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { DirListing } from '../../../shared/contract.ts';
import type { SampleRow } from '../../../shared/domain.ts';
import { createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge, FakeBridgeOptions } from '../test/fakeBridge.ts';
import { makePlan, makeProject, makeRows } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { ProjectDetail, refreshIntervalMs } from './ProjectDetail.tsx';

const AUTO_REFRESH_MS = refreshIntervalMs(3);

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const project = makeProject();

const LISTINGS: Record<string, DirListing> = {
  '/data/lab': {
    path: '/data/lab',
    parent: '/home',
    entries: [
      { name: 'runs', path: '/data/lab/runs', kind: 'dir', size: null },
      {
        name: 'notes.txt',
        path: '/data/lab/notes.txt',
        kind: 'file',
        size: 120,
      },
    ],
  },
  '/data/lab/runs': {
    path: '/data/lab/runs',
    parent: '/data/lab',
    entries: [
      {
        name: 'MiSeq_001',
        path: '/data/lab/runs/MiSeq_001',
        kind: 'dir',
        size: null,
      },
      {
        name: 'S9_R1.fastq.gz',
        path: '/data/lab/runs/S9_R1.fastq.gz',
        kind: 'file',
        size: 2048,
      },
    ],
  },
};

function setup(options: FakeBridgeOptions & { rows?: SampleRow[] } = {}) {
  const bridge: FakeBridge = createFakeBridge(options);
  let rows = options.rows ?? makeRows(3);
  bridge.handle('projects:list', () => [project]);
  bridge.handle('samples:list', () => rows);
  bridge.handle('plan:create', (req) => makePlan({ roots: req.paths }));
  bridge.handle('fs:list', (req) => {
    const listing = LISTINGS[req.path ?? '/data/lab'];
    if (!listing) {
      throw new Error(`unexpected fs:list ${req.path}`);
    }
    return listing;
  });
  const utils = renderApp(<ProjectDetail projectId={project.id} />, bridge);
  return {
    ...utils,
    bridge,
    setRows: (next: SampleRow[]) => {
      rows = next;
    },
  };
}

function dropFiles(names: string[]) {
  const files = names.map((n) => new File(['@r\nACGT\n+\nIIII\n'], n));
  fireEvent.drop(screen.getByTestId('drop-zone'), {
    dataTransfer: { files, types: ['Files'] },
  });
}

describe('ProjectDetail', () => {
  describe('drop handling', () => {
    it('takes each dropped file’s path from pathForFile and plans an upload of them', async () => {
      const { bridge } = setup({
        pathForFile: (f) => `/Volumes/run7/${f.name}`,
      });
      await screen.findAllByTestId('sample-row');

      dropFiles(['S1_R1_001.fastq.gz', 'S1_R2_001.fastq.gz']);

      await screen.findByTestId('plan-preview');
      expect(bridge.pathRequests).toEqual([
        'S1_R1_001.fastq.gz',
        'S1_R2_001.fastq.gz',
      ]);
      expect(bridge.callsOf('plan:create')).toEqual([
        {
          paths: [
            '/Volumes/run7/S1_R1_001.fastq.gz',
            '/Volumes/run7/S1_R2_001.fastq.gz',
          ],
        },
      ]);
      await waitFor(() =>
        expect(screen.getAllByTestId('plan-sample-row')).toHaveLength(2),
      );
    });

    it('shows a drop target while files are dragged over', async () => {
      setup();
      await screen.findByText('Dog breeds 2024');
      const zone = screen.getByTestId('drop-zone');

      fireEvent.dragEnter(zone, {
        dataTransfer: { types: ['Files'], files: [] },
      });
      expect(zone.dataset.dragging).toBe('true');
      expect(screen.getByTestId('drop-overlay').textContent).toContain(
        'Dog breeds 2024',
      );
      fireEvent.dragLeave(zone, {
        dataTransfer: { types: ['Files'], files: [] },
      });

      expect(zone.dataset.dragging).toBe('false');
    });

    it('in serve mode opens the folder browser instead, since browsers hide paths', async () => {
      const { bridge } = setup({ mode: 'serve' });
      await screen.findAllByTestId('sample-row');

      dropFiles(['S1_R1_001.fastq.gz']);

      const browser = await screen.findByTestId('folder-browser');
      expect(
        within(browser).getByTestId('folder-browser-notice').textContent,
      ).toContain('Browsers do not reveal where dropped files are stored');
      expect(bridge.pathRequests).toEqual(['S1_R1_001.fastq.gz']);
      expect(bridge.callsOf('plan:create')).toHaveLength(0);
      await waitFor(() => expect(bridge.callsOf('fs:list')).toEqual([{}]));
      expect(within(browser).queryByTestId('folder-browser-system')).toBeNull();
    });

    it('plans the items that have a path when only some have one', async () => {
      const { bridge, store } = setup({
        pathForFile: (f) => (f.name.startsWith('ok') ? `/d/${f.name}` : null),
      });
      await screen.findAllByTestId('sample-row');

      dropFiles(['ok_R1.fastq.gz', 'from-browser.fastq.gz']);

      await waitFor(() =>
        expect(bridge.callsOf('plan:create')).toEqual([
          { paths: ['/d/ok_R1.fastq.gz'] },
        ]),
      );
      const toast = store.getState().toasts[0];
      expect(toast.title).toBe('1 dropped item left out');
      expect(toast.message).toContain('from-browser.fastq.gz');
    });
  });

  describe('folder browser', () => {
    it('browses, adds folders and files, and plans an upload of them', async () => {
      const { bridge } = setup({ mode: 'serve' });

      fireEvent.click(screen.getByTestId('upload-button'));
      const browser = await screen.findByTestId('folder-browser');
      await waitFor(() =>
        expect(
          within(browser).getByTestId('folder-browser-path').textContent,
        ).toBe('/data/lab'),
      );
      const runs = within(browser)
        .getAllByTestId('folder-entry')
        .find((e) => e.dataset.path === '/data/lab/runs') as HTMLElement;
      fireEvent.click(within(runs).getByTestId('folder-entry-open'));
      await waitFor(() =>
        expect(
          within(browser).getByTestId('folder-browser-path').textContent,
        ).toBe('/data/lab/runs'),
      );
      for (const entry of within(browser).getAllByTestId('folder-entry')) {
        fireEvent.click(within(entry).getByTestId('folder-entry-add'));
      }
      const confirm = within(browser).getByTestId('folder-browser-confirm');
      expect(confirm.textContent).toBe('Scan 2 items');

      fireEvent.click(confirm);

      await screen.findByTestId('plan-preview');
      expect(bridge.callsOf('fs:list')).toEqual([
        {},
        { path: '/data/lab/runs' },
      ]);
      expect(bridge.callsOf('plan:create')).toEqual([
        {
          paths: ['/data/lab/runs/MiSeq_001', '/data/lab/runs/S9_R1.fastq.gz'],
        },
      ]);
      expect(screen.queryByTestId('folder-browser')).toBeNull();
    });

    it('goes up, adds the current folder, and removes an item again', async () => {
      setup({ mode: 'serve' });
      fireEvent.click(screen.getByTestId('upload-button'));
      const browser = await screen.findByTestId('folder-browser');
      await waitFor(() =>
        expect(
          within(browser).getByTestId('folder-browser-path').textContent,
        ).toBe('/data/lab'),
      );

      fireEvent.click(
        within(browser).getByTestId('folder-browser-add-current'),
      );
      fireEvent.click(within(browser).getAllByTestId('folder-entry-add')[0]);
      fireEvent.click(
        within(browser).getAllByTestId('folder-browser-remove')[0],
      );

      expect(
        within(browser)
          .getAllByTestId('folder-browser-selected-item')
          .map((i) => i.textContent),
      ).toEqual(['/data/lab/runsRemove']);
      expect(
        (within(browser).getByTestId('folder-browser-up') as HTMLButtonElement)
          .disabled,
      ).toBe(false);
    });

    it('on the desktop also offers the system folder picker', async () => {
      const { bridge } = setup();
      bridge.handle('fs:pickFolder', () => '/mnt/nas/NovaSeq_42');

      fireEvent.click(screen.getByTestId('upload-button'));
      const browser = await screen.findByTestId('folder-browser');
      fireEvent.click(within(browser).getByTestId('folder-browser-system'));

      await waitFor(() =>
        expect(
          within(browser).getAllByTestId('folder-browser-selected-item')[0]
            .textContent,
        ).toContain('/mnt/nas/NovaSeq_42'),
      );
      expect(bridge.callsOf('fs:pickFolder')).toHaveLength(1);
    });

    it('shows why a folder cannot be listed', async () => {
      const { bridge } = setup({ mode: 'serve' });
      fireEvent.click(screen.getByTestId('upload-button'));
      const browser = await screen.findByTestId('folder-browser');
      await waitFor(() => expect(bridge.callsOf('fs:list')).toHaveLength(1));

      fireEvent.change(within(browser).getByTestId('folder-browser-go-input'), {
        target: { value: '/root/secret' },
      });
      fireEvent.click(within(browser).getByTestId('folder-browser-go'));

      const error = await within(browser).findByTestId('folder-browser-error');
      expect(error.textContent).toContain('unexpected fs:list /root/secret');
    });
  });

  describe('samples', () => {
    it('opens a sample’s QC metrics and files', async () => {
      const { bridge } = setup();
      const rows = makeRows(3);
      bridge.handle('samples:get', (req) => ({
        ...rows.find((r) => r.id === req.sampleId)!,
        projectId: project.id,
        metadata: { batch: 7 },
        files: [
          {
            id: 'f1',
            fileType: 'fastq-r1',
            size: 1_200_000,
            downloadable: true,
            checksumSha256: 'ab'.repeat(32),
          },
          {
            id: 'f2',
            fileType: 'impute-vcf',
            size: null,
            downloadable: false,
            checksumSha256: '',
          },
        ],
        qc: [
          {
            key: 'bases',
            name: 'Bases',
            type: 'int',
            valueMeasured: 123456,
            valueExpected: 100000,
            valueString: '',
            status: 'succeeded',
          },
          {
            key: 'format',
            name: 'Valid FASTQ format',
            type: 'bool',
            valueMeasured: null,
            valueExpected: null,
            valueString: 'false',
            status: 'failed',
          },
        ],
      }));
      const firstRow = (await screen.findAllByTestId('sample-row'))[0];

      fireEvent.click(firstRow);

      const panel = await screen.findByTestId('sample-detail');
      await waitFor(() =>
        expect(within(panel).getAllByTestId('sample-qc-row')).toHaveLength(2),
      );
      const qc = within(panel).getAllByTestId('sample-qc-row');
      expect(qc[0].textContent).toContain('123,456');
      expect(qc[0].textContent).toContain('passed');
      expect(qc[1].dataset.status).toBe('failed');
      expect(qc[1].textContent).toContain('Valid FASTQ format');
      const files = within(panel).getAllByTestId('sample-file-row');
      expect(files.map((f) => f.dataset.fileType)).toEqual([
        'fastq-r1',
        'impute-vcf',
      ]);
      expect(files[0].textContent).toContain('1.2 MB');
      expect(files[1].textContent).toContain('not available');
      expect(
        within(panel).getByTestId('sample-metadata').textContent,
      ).toContain('"batch": 7');
      expect(bridge.callsOf('samples:get')).toEqual([
        { sampleId: firstRow.dataset.sampleId },
      ]);
    });

    it('refreshes every few seconds while a sample is in progress, then stops', async () => {
      vi.useFakeTimers();
      const rows = makeRows(3).map((r) => ({ ...r, status: 'running' }));
      const { bridge, setRows } = setup({ rows });
      await act(() => vi.advanceTimersByTimeAsync(0));
      expect(bridge.callsOf('samples:list')).toHaveLength(1);

      setRows(rows.map((r) => ({ ...r, status: 'succeeded' })));
      await act(() => vi.advanceTimersByTimeAsync(AUTO_REFRESH_MS));
      expect(bridge.callsOf('samples:list')).toHaveLength(2);
      await act(() => vi.advanceTimersByTimeAsync(AUTO_REFRESH_MS * 3));

      expect(bridge.callsOf('samples:list')).toHaveLength(2);
      expect(
        screen.getAllByTestId('sample-status').map((s) => s.dataset.status),
      ).toEqual(['succeeded', 'succeeded', 'succeeded']);
    });

    it('downloads the selected samples with the dialog’s choices', async () => {
      const { bridge, store } = setup();
      bridge.handle('download:defaults', () => ({
        folder: '/data/lab/Gencove',
        template:
          '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
      }));
      bridge.handle('download:start', () => ({ jobId: 'dl-9' }));
      const rows = await screen.findAllByTestId('sample-row');
      fireEvent.click(within(rows[0]).getByTestId('sample-select'));
      fireEvent.click(within(rows[2]).getByTestId('sample-select'));
      const button = screen.getByTestId('download-selected-button');
      expect(button.textContent).toBe('Download selected (2)');

      fireEvent.click(button);
      const dialog = await screen.findByTestId('download-dialog');
      await waitFor(() =>
        expect(
          (
            within(dialog).getByTestId(
              'download-destination',
            ) as HTMLInputElement
          ).value,
        ).toBe('/data/lab/Gencove'),
      );
      fireEvent.click(within(dialog).getByTestId('download-skip-existing'));
      fireEvent.click(within(dialog).getByTestId('download-submit'));

      await waitFor(() =>
        expect(bridge.callsOf('download:start')).toHaveLength(1),
      );
      const request = bridge.callsOf('download:start')[0];
      expect({
        ...request,
        sampleIds: [...(request.sampleIds ?? [])].sort(),
      }).toEqual({
        destination: '/data/lab/Gencove',
        template:
          '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
        skipExisting: false,
        sampleIds: [rows[0].dataset.sampleId, rows[2].dataset.sampleId].sort(),
      });
      await waitFor(() =>
        expect(store.getState().view).toEqual({ name: 'transfers' }),
      );
      expect(store.getState().transfers.destinations).toEqual({
        'dl-9': '/data/lab/Gencove',
      });
    });
  });
  describe('polish (issue #3)', () => {
    describe('refreshIntervalMs()', () => {
      const cases = [
        { count: 0, want: 5_000 },
        { count: 500, want: 5_000 },
        { count: 501, want: 15_000 },
        { count: 5_000, want: 15_000 },
        { count: 5_001, want: 60_000 },
        { count: 250_000, want: 60_000 },
      ];
      for (const c of cases) {
        it(`waits ${c.want} ms for ${c.count} samples`, () => {
          expect(refreshIntervalMs(c.count)).toBe(c.want);
        });
      }
    });

    it('never starts a refresh while the previous one is still running', async () => {
      vi.useFakeTimers();
      const rows = makeRows(3).map((r) => ({ ...r, status: 'running' }));
      const { bridge } = setup({ rows });
      await act(() => vi.advanceTimersByTimeAsync(0));
      // From now on the platform takes 12 s to answer.
      let answering = 0;
      bridge.handle('samples:list', async () => {
        answering += 1;
        await new Promise((r) => setTimeout(r, 12_000));
        return rows;
      });

      await act(() => vi.advanceTimersByTimeAsync(AUTO_REFRESH_MS));
      expect(answering).toBe(1);
      expect(screen.getByTestId('samples-updated').textContent).toContain(
        'Refreshing…',
      );
      // The 5 s pause has passed twice over; still only the one request.
      await act(() => vi.advanceTimersByTimeAsync(11_000));
      expect(answering).toBe(1);

      await act(() => vi.advanceTimersByTimeAsync(1_000));
      expect(screen.getByTestId('samples-updated').textContent).toMatch(
        /^Updated /,
      );
      // The next one is planned from the end of this one.
      await act(() => vi.advanceTimersByTimeAsync(AUTO_REFRESH_MS - 1));
      expect(answering).toBe(1);
      await act(() => vi.advanceTimersByTimeAsync(1));
      expect(answering).toBe(2);
    });

    it('refreshes a project of 600 samples every 15 s and says so', async () => {
      vi.useFakeTimers();
      const rows = makeRows(600).map((r) => ({ ...r, status: 'running' }));
      const { bridge } = setup({ rows });
      await act(() => vi.advanceTimersByTimeAsync(0));

      expect(screen.getByTestId('samples-updated').textContent).toContain(
        'refreshes every 15 s',
      );
      await act(() => vi.advanceTimersByTimeAsync(14_999));
      expect(bridge.callsOf('samples:list')).toHaveLength(1);
      await act(() => vi.advanceTimersByTimeAsync(1));
      expect(bridge.callsOf('samples:list')).toHaveLength(2);
    });

    it('drops a background refresh asked for while one runs', async () => {
      const rows = makeRows(2);
      const { bridge, store } = setup({ rows });
      await screen.findAllByTestId('sample-row');
      let release: () => void = () => undefined;
      bridge.handle(
        'samples:list',
        () => new Promise((r) => (release = () => r(rows))),
      );

      const first = store
        .getState()
        .loadSamples(project.id, { background: true });
      const second = store
        .getState()
        .loadSamples(project.id, { background: true });
      release();
      await Promise.all([first, second]);

      expect(bridge.callsOf('samples:list')).toHaveLength(2);
    });

    it('puts focus on the project heading when the project opens', async () => {
      setup();

      const heading = await screen.findByTestId('project-name');

      expect(document.activeElement).toBe(heading);
      expect(heading.tagName).toBe('H1');
    });

    it('closes the sample detail with Escape, even with focus on the page', async () => {
      const rows = makeRows(3);
      const { bridge } = setup({ rows });
      bridge.handle('samples:get', (req) => ({
        ...(rows.find((r) => r.id === req.sampleId) as SampleRow),
        projectId: project.id,
        qc: [],
        files: [],
        metadata: null,
      }));
      fireEvent.click((await screen.findAllByTestId('sample-row'))[0]);
      await screen.findByTestId('sample-detail');
      (document.activeElement as HTMLElement | null)?.blur();

      fireEvent.keyDown(document.body, { key: 'Escape' });

      expect(screen.queryByTestId('sample-detail')).toBeNull();
    });
  });
});
