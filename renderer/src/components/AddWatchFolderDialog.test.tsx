// @vitest-environment jsdom
import {
  cleanup,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import type { WatchFolderView } from '../../../shared/domain.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge } from '../test/fakeBridge.ts';
import { makeProject, makeWatchFolder } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import {
  AddWatchFolderDialog,
  metadataError,
  pathError,
  settleError,
} from './AddWatchFolderDialog.tsx';

afterEach(cleanup);

const DOGS = makeProject();
const CATS = makeProject({
  id: '22222222-2222-4222-8222-222222222222',
  name: 'Cats / spring 2024',
});

function setup(mode: 'desktop' | 'serve' = 'desktop') {
  const bridge: FakeBridge = createFakeBridge({ mode });
  bridge.handle('projects:list', () => [DOGS, CATS]);
  bridge.handle('watch:add', (request) =>
    makeWatchFolder({
      path: request.path,
      projectId: request.projectId,
      projectName: request.projectId === CATS.id ? CATS.name : DOGS.name,
    }),
  );
  const added: WatchFolderView[] = [];
  let closed = 0;
  const utils = renderApp(
    <AddWatchFolderDialog
      onClose={() => {
        closed += 1;
      }}
      onAdded={(folder) => added.push(folder)}
    />,
    bridge,
  );
  return { ...utils, bridge, added, closedCount: () => closed };
}

const byId = (id: string) => screen.getByTestId(id) as HTMLInputElement;

async function ready(): Promise<HTMLElement> {
  const dialog = await screen.findByTestId('watch-add-dialog');
  await waitFor(() =>
    expect(
      (byId('watch-add-project') as unknown as HTMLSelectElement).value,
    ).toBe(DOGS.id),
  );
  return dialog;
}

describe('AddWatchFolderDialog', () => {
  it('adds a network-share folder picked with the system picker, for the chosen project, with metadata', async () => {
    const { bridge, added, store } = setup('desktop');
    bridge.handle('fs:pickFolder', () => '/mnt/share/miseq-output');
    await ready();

    fireEvent.click(byId('watch-add-browse'));
    await waitFor(() =>
      expect(byId('watch-add-path').value).toBe('/mnt/share/miseq-output'),
    );
    fireEvent.change(byId('watch-add-project'), {
      target: { value: CATS.id },
    });
    fireEvent.change(byId('watch-add-metadata'), {
      target: { value: '{"lab": "north", "batch": 12}' },
    });
    fireEvent.click(byId('watch-add-kind-share'));
    fireEvent.change(byId('watch-add-settle'), { target: { value: '120' } });
    fireEvent.click(byId('watch-add-ignore-existing'));
    fireEvent.click(byId('watch-add-submit'));
    await waitFor(() => expect(added).toHaveLength(1));

    expect(bridge.callsOf('fs:pickFolder')).toHaveLength(1);
    expect(bridge.callsOf('watch:add')).toEqual([
      {
        path: '/mnt/share/miseq-output',
        projectId: CATS.id,
        destination: null,
        polling: true,
        settleSeconds: 120,
        ignoreExistingRuns: true,
        metadata: { lab: 'north', batch: 12 },
      },
    ]);
    expect(added[0]).toMatchObject({ path: '/mnt/share/miseq-output' });
    expect(store.getState().watch.folders.map((f) => f.path)).toEqual([
      '/mnt/share/miseq-output',
    ]);
  });

  it('shows where runs go: the project by default, or the destination typed', async () => {
    setup();
    await ready();

    const byDefault = byId('watch-add-destination-help').textContent;
    fireEvent.change(byId('watch-add-project'), {
      target: { value: CATS.id },
    });
    const otherProject = byId('watch-add-destination-help').textContent;
    fireEvent.change(byId('watch-add-destination'), {
      target: { value: 'gncv://lab/incoming' },
    });
    const typed = byId('watch-add-destination-help').textContent;

    expect(byDefault).toBe(
      'Each run goes to gncv://Dog-breeds-2024/<run folder name>/',
    );
    expect(otherProject).toBe(
      'Each run goes to gncv://Cats-spring-2024/<run folder name>/',
    );
    expect(typed).toBe(
      'Each run goes to gncv://lab/incoming/<run folder name>/',
    );
  });

  it('says what is wrong and sends nothing for bad metadata, a relative path or a bad destination', async () => {
    const { bridge } = setup();
    await ready();

    fireEvent.change(byId('watch-add-path'), {
      target: { value: 'runs/incoming' },
    });
    fireEvent.change(byId('watch-add-metadata'), {
      target: { value: '{"lab": north}' },
    });
    fireEvent.change(byId('watch-add-destination'), {
      target: { value: 'gncv://lab/../x' },
    });
    fireEvent.change(byId('watch-add-settle'), { target: { value: '-1' } });
    fireEvent.click(byId('watch-add-submit'));

    expect(byId('watch-add-path-error').textContent).toMatch(/full path/);
    expect(byId('watch-add-metadata-error').textContent).toMatch(
      /^The metadata is not valid JSON: /,
    );
    expect(byId('watch-add-destination-error').textContent).toMatch(/"\.\."/);
    expect(byId('watch-add-settle-error').textContent).toMatch(/between 0/);
    expect(
      (screen.getByTestId('watch-add-submit') as HTMLButtonElement).disabled,
    ).toBe(true);
    expect(bridge.callsOf('watch:add')).toEqual([]);
  });

  it('picks the folder in the folder browser in serve mode', async () => {
    const { bridge } = setup('serve');
    bridge.handle('fs:list', (request) => ({
      path: request.path ?? '/data/lab',
      parent: '/home',
      entries: [
        { name: 'output', path: '/data/lab/output', kind: 'dir', size: null },
      ],
    }));
    await ready();

    fireEvent.click(byId('watch-add-browse'));
    const browser = await screen.findByTestId('folder-browser');
    fireEvent.click(await within(browser).findByTestId('folder-entry-open'));
    await waitFor(() =>
      expect(
        within(browser).getByTestId('folder-browser-path').textContent,
      ).toBe('/data/lab/output'),
    );
    fireEvent.click(within(browser).getByTestId('folder-browser-confirm'));
    await screen.findByTestId('watch-add-dialog');

    expect(bridge.callsOf('fs:pickFolder')).toEqual([]);
    expect(byId('watch-add-path').value).toBe('/data/lab/output');
  });

  it('keeps the dialog open with the engine’s reason when the folder is refused', async () => {
    const { bridge, added } = setup();
    bridge.handle('watch:add', () => {
      throw new ContractFailure(
        'validation',
        'watch:add: /data/notes.txt is a file, not a folder.',
      );
    });
    await ready();

    fireEvent.change(byId('watch-add-path'), {
      target: { value: '/data/notes.txt' },
    });
    fireEvent.click(byId('watch-add-submit'));
    const error = await screen.findByTestId('watch-add-error');

    expect(error.dataset.code).toBe('validation');
    expect(error.textContent).toMatch(/is a file, not a folder/);
    expect(added).toEqual([]);
    expect(screen.getByTestId('watch-add-dialog')).toBeTruthy();
  });
});

describe('field checks', () => {
  it.each([
    ['', 'Choose the folder'],
    ['relative/path', 'full path'],
    ['/data/runs', null],
    ['C:\\Sequencer\\Output', null],
    ['\\\\nas\\runs', null],
  ])('pathError(%j)', (value, expected) => {
    const result = pathError(value);
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatch(expected);
  });

  it.each([
    ['', null],
    ['{"a": [1, null]}', null],
    ['12', null],
    ['{a: 1}', 'not valid JSON'],
  ])('metadataError(%j)', (value, expected) => {
    const result = metadataError(value);
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatch(expected);
  });

  it.each([
    ['60', null],
    ['0', null],
    ['0.5', null],
    ['', 'number of seconds'],
    ['abc', 'number of seconds'],
    ['-1', 'between 0'],
    ['86401', 'between 0'],
  ])('settleError(%j)', (value, expected) => {
    const result = settleError(value);
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatch(expected);
  });
});
