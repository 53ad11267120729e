// @vitest-environment jsdom
import {
  cleanup,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge } from '../test/fakeBridge.ts';
import { renderApp } from '../test/renderApp.tsx';
import { DownloadDialog } from './DownloadDialog.tsx';
import type { DownloadScope } from './DownloadDialog.tsx';

afterEach(cleanup);

const PROJECT_ID = '11111111-1111-4111-8111-111111111111';
const SAMPLE = {
  clientId: 'DOG-1',
  id: 'aaaaaaaa-0000-4000-8000-000000000001',
};

function setup(
  scope: DownloadScope = {
    kind: 'project',
    projectId: PROJECT_ID,
    projectName: 'Dogs',
  },
) {
  const bridge: FakeBridge = createFakeBridge({ mode: 'serve' });
  bridge.handle('download:defaults', () => ({
    folder: '/data/lab/Gencove',
    template:
      '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
  }));
  bridge.handle('download:start', () => ({ jobId: 'dl-1' }));
  bridge.handle('fs:list', (req) => ({
    path: req.path ?? '/data/lab',
    parent: '/home',
    entries: [
      { name: 'exports', path: '/data/lab/exports', kind: 'dir', size: null },
      { name: 'a.txt', path: '/data/lab/a.txt', kind: 'file', size: 3 },
    ],
  }));
  const onStarted = vi.fn();
  const onClose = vi.fn();
  const utils = renderApp(
    <DownloadDialog
      scope={scope}
      exampleSample={SAMPLE}
      onClose={onClose}
      onStarted={onStarted}
    />,
    bridge,
  );
  return { ...utils, bridge, onStarted, onClose };
}

async function ready() {
  await waitFor(() =>
    expect(
      (screen.getByTestId('download-destination') as HTMLInputElement).value,
    ).toBe('/data/lab/Gencove'),
  );
}

describe('DownloadDialog', () => {
  it('fills in the default folder and template and shows a live example path', async () => {
    setup();
    await ready();

    expect(
      (screen.getByTestId('download-template') as HTMLInputElement).value,
    ).toBe(
      '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
    );
    expect(screen.getByTestId('download-example').textContent).toBe(
      `/data/lab/Gencove/DOG-1/${SAMPLE.id}/${SAMPLE.id}_impute-vcf.vcf.gz`,
    );
    expect(
      (screen.getByTestId('download-skip-existing') as HTMLInputElement)
        .checked,
    ).toBe(true);
  });

  it('updates the example as the template changes, and resets to the default', async () => {
    setup();
    await ready();

    fireEvent.change(screen.getByTestId('download-template'), {
      target: { value: 'by-id/{gencove_id}.{file_type}.{file_extension}' },
    });
    expect(screen.getByTestId('download-example').textContent).toBe(
      `/data/lab/Gencove/by-id/${SAMPLE.id}.impute-vcf.vcf.gz`,
    );
    fireEvent.click(screen.getByTestId('download-template-reset'));

    expect(screen.getByTestId('download-example').textContent).toContain(
      'DOG-1/',
    );
  });

  const bad = [
    {
      template: '{client_id}/{sample}.{file_extension}',
      says: 'Unknown token {sample}',
    },
    { template: '{client_id/{file_type}', says: 'unmatched' },
    { template: '/abs/{file_type}', says: 'relative' },
    { template: '../{file_type}', says: '".."' },
    { template: '{client_id}/', says: 'end with a file name' },
    { template: '   ', says: 'cannot be empty' },
  ];
  for (const c of bad) {
    it(`refuses the template ${JSON.stringify(c.template)} and does not start`, async () => {
      const { bridge } = setup();
      await ready();

      fireEvent.change(screen.getByTestId('download-template'), {
        target: { value: c.template },
      });

      expect(
        screen.getByTestId('download-template-error').textContent,
      ).toContain(c.says);
      expect(screen.getByTestId('download-example').textContent).toBe('—');
      expect(
        (screen.getByTestId('download-submit') as HTMLButtonElement).disabled,
      ).toBe(true);
      expect(bridge.callsOf('download:start')).toHaveLength(0);
    });
  }

  it('warns, without refusing, when files of a sample could share a path', async () => {
    setup();
    await ready();

    fireEvent.change(screen.getByTestId('download-template'), {
      target: { value: '{client_id}.{file_extension}' },
    });

    expect(
      screen.getByTestId('download-template-warning').textContent,
    ).toContain('same path');
    expect(
      (screen.getByTestId('download-submit') as HTMLButtonElement).disabled,
    ).toBe(false);
  });

  it('starts a project download with the choices made', async () => {
    const { bridge, onStarted, store } = setup();
    await ready();
    fireEvent.change(screen.getByTestId('download-destination'), {
      target: { value: ' /mnt/out ' },
    });
    fireEvent.click(screen.getByTestId('download-skip-existing'));

    fireEvent.click(screen.getByTestId('download-submit'));

    await waitFor(() => expect(onStarted).toHaveBeenCalledWith('dl-1'));
    expect(bridge.callsOf('download:start')).toEqual([
      {
        destination: '/mnt/out',
        projectId: PROJECT_ID,
        template:
          '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}',
        skipExisting: false,
      },
    ]);
    expect(store.getState().transfers.destinations['dl-1']).toBe('/mnt/out');
  });

  it('asks for a folder when the destination is empty', async () => {
    const { bridge } = setup();
    await ready();
    fireEvent.change(screen.getByTestId('download-destination'), {
      target: { value: '' },
    });

    fireEvent.click(screen.getByTestId('download-submit'));

    expect(screen.getByRole('alert').textContent).toContain(
      'Choose the folder',
    );
    expect(bridge.callsOf('download:start')).toHaveLength(0);
  });

  it('picks the destination in the folder browser', async () => {
    setup();
    await ready();

    fireEvent.click(screen.getByTestId('download-browse'));
    const browser = await screen.findByTestId('folder-browser');
    await waitFor(() =>
      expect(
        within(browser)
          .getAllByTestId('folder-entry')
          .map((e) => e.dataset.kind),
      ).toEqual(['dir']),
    );
    fireEvent.click(within(browser).getByTestId('folder-entry-open'));
    await waitFor(() =>
      expect(
        within(browser).getByTestId('folder-browser-path').textContent,
      ).toBe('/data/lab/exports'),
    );
    fireEvent.click(within(browser).getByTestId('folder-browser-confirm'));

    expect(screen.queryByTestId('folder-browser')).toBeNull();
    expect(
      (screen.getByTestId('download-destination') as HTMLInputElement).value,
    ).toBe('/data/lab/exports');
  });

  it('shows why the download did not start', async () => {
    const { bridge, onStarted } = setup({
      kind: 'samples',
      sampleIds: [SAMPLE.id],
      projectName: 'Dogs',
    });
    bridge.handle('download:start', () => {
      throw new ContractFailure(
        'validation',
        'Sample DOG-1 is archived; restore it first.',
      );
    });
    await ready();
    expect(screen.getByTestId('download-dialog').textContent).toContain(
      'Download 1 selected sample',
    );

    fireEvent.click(screen.getByTestId('download-submit'));

    expect((await screen.findByTestId('download-error')).textContent).toContain(
      'restore it first',
    );
    expect(bridge.callsOf('download:start')[0].sampleIds).toEqual([SAMPLE.id]);
    expect(onStarted).not.toHaveBeenCalled();
  });

  it('closes on Escape', async () => {
    const { onClose } = setup();
    await ready();

    fireEvent.keyDown(screen.getByTestId('download-dialog'), { key: 'Escape' });

    expect(onClose).toHaveBeenCalled();
  });

  describe('paths (issue #3)', () => {
    function type(testId: string, value: string) {
      const input = screen.getByTestId(testId);
      fireEvent.change(input, { target: { value } });
      fireEvent.blur(input);
    }

    for (const folder of ['downloads', './out', '~/Gencove', 'C:data']) {
      it(`refuses the relative destination ${JSON.stringify(folder)} in the dialog`, async () => {
        const { bridge } = setup();
        await ready();

        type('download-destination', folder);
        fireEvent.click(screen.getByTestId('download-submit'));

        const error = screen.getByTestId('download-destination-error');
        expect(error.textContent).toContain(folder);
        expect(error.textContent).toMatch(/relative|full path|folder after/);
        expect(screen.getByTestId('download-example').textContent).toBe('—');
        expect(bridge.callsOf('download:start')).toHaveLength(0);
      });
    }

    for (const folder of ['C:\\Lab\\Gencove', 'D:/exports', '\\\\nas\\share\\out']) {
      it(`takes the absolute Windows destination ${JSON.stringify(folder)}`, async () => {
        const { bridge } = setup();
        await ready();

        type('download-destination', folder);
        fireEvent.click(screen.getByTestId('download-submit'));

        expect(screen.queryByTestId('download-destination-error')).toBeNull();
        await waitFor(() =>
          expect(bridge.callsOf('download:start')).toHaveLength(1),
        );
        expect(bridge.callsOf('download:start')[0].destination).toBe(folder);
      });
    }

    it('shows a Windows reserved folder name as it will be made safe', async () => {
      setup();
      await ready();

      type('download-template', 'CON/{client_id}/nul.{file_extension}');

      expect(screen.queryByTestId('download-template-error')).toBeNull();
      expect(
        screen.getByTestId('download-template-reserved').textContent,
      ).toContain('"CON" is a name Windows reserves');
      expect(screen.getByTestId('download-example').textContent).toBe(
        '/data/lab/Gencove/_CON/DOG-1/_nul.vcf.gz',
      );
    });

    it('says "must be relative" only for an absolute template', async () => {
      setup();
      await ready();

      type('download-template', 'C:{client_id}/{file_type}');
      const drive = screen.getByTestId('download-template-error').textContent;
      type('download-template', 'C:\\{client_id}/{file_type}');
      const absolute = screen.getByTestId('download-template-error').textContent;
      type('download-template', './{client_id}/{file_type}');
      const dot = screen.getByTestId('download-template-error').textContent;

      expect(drive).toContain('cannot start with a drive');
      expect(drive).not.toContain('relative');
      expect(absolute).toContain('must be relative');
      expect(dot).toContain('"."');
      expect(dot).not.toContain('relative');
    });
  });
});
