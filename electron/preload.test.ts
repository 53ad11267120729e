/**
 * The preload runs in Electron's sandboxed renderer, where it can require
 * only Electron's modules. Here it is loaded by Node's CommonJS loader with
 * a stand-in for the 'electron' module that records what the preload does.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { channels, eventNames } from '../shared/contract.ts';
import type { Bridge } from '../shared/contract.ts';

const require = createRequire(import.meta.url);
const preloadPath = path.join(import.meta.dirname, 'preload.cts');
const electronPath = require.resolve('electron');

interface FakeElectron {
  exposed: Record<string, unknown>;
  invoked: { channel: string; request: unknown }[];
  listeners: Map<string, Set<(event: unknown, payload: unknown) => void>>;
  invokeResult: () => Promise<unknown>;
  pathOf: (file: unknown) => string;
}

function loadPreload(): { bridge: Bridge; fake: FakeElectron } {
  const fake: FakeElectron = {
    exposed: {},
    invoked: [],
    listeners: new Map(),
    invokeResult: async () => ({ ok: true, value: 'answer' }),
    pathOf: () => '',
  };
  const electron = {
    contextBridge: {
      exposeInMainWorld(key: string, value: unknown) {
        fake.exposed[key] = value;
      },
    },
    ipcRenderer: {
      invoke(channel: string, request: unknown) {
        fake.invoked.push({ channel, request });
        return fake.invokeResult();
      },
      on(
        channel: string,
        listener: (event: unknown, payload: unknown) => void,
      ) {
        if (!fake.listeners.has(channel))
          fake.listeners.set(channel, new Set());
        fake.listeners.get(channel)!.add(listener);
      },
      removeListener(
        channel: string,
        listener: (event: unknown, payload: unknown) => void,
      ) {
        fake.listeners.get(channel)?.delete(listener);
      },
    },
    webUtils: { getPathForFile: (file: unknown) => fake.pathOf(file) },
  };
  require.cache[electronPath] = {
    id: electronPath,
    filename: electronPath,
    loaded: true,
    exports: electron,
  } as unknown as NodeJS.Module;
  delete require.cache[preloadPath];
  require(preloadPath);
  return { bridge: fake.exposed.gencove as Bridge, fake };
}

describe('preload', () => {
  let bridge: Bridge;
  let fake: FakeElectron;

  beforeEach(() => {
    ({ bridge, fake } = loadPreload());
  });

  afterEach(() => {
    delete require.cache[electronPath];
    delete require.cache[preloadPath];
  });

  it('exposes exactly invoke, on, pathForFile and mode as window.gencove', () => {
    expect(Object.keys(fake.exposed)).toEqual(['gencove']);
    expect(Object.keys(bridge).sort()).toEqual([
      'invoke',
      'mode',
      'on',
      'pathForFile',
    ]);
    expect(bridge.mode).toBe('desktop');
  });

  describe('invoke()', () => {
    it.each(Object.keys(channels))(
      'forwards %s to ipcRenderer.invoke with the request',
      async (channel) => {
        const request = { probe: channel };

        const result = await bridge.invoke(channel as never, request as never);

        expect(fake.invoked).toEqual([{ channel, request }]);
        expect(result).toEqual({ ok: true, value: 'answer' });
      },
    );

    it('refuses a channel outside the contract without sending it', async () => {
      const result = await bridge.invoke('shell:exec' as never, {} as never);

      expect(result).toEqual({
        ok: false,
        error: {
          code: 'unknown-channel',
          message: 'Unknown channel "shell:exec".',
        },
      });
      expect(fake.invoked).toEqual([]);
    });

    it('refuses names that exist on Object.prototype', async () => {
      const result = await bridge.invoke('constructor' as never, {} as never);

      expect(result.ok).toBe(false);
      expect(fake.invoked).toEqual([]);
    });

    it('turns a rejected invoke (no handler in main yet) into an internal error', async () => {
      fake.invokeResult = () =>
        Promise.reject(new Error("No handler registered for 'session:get'"));

      const result = await bridge.invoke('session:get', {});

      expect(result).toEqual({
        ok: false,
        error: {
          code: 'internal',
          message:
            "session:get failed: No handler registered for 'session:get'",
        },
      });
    });
  });

  describe('on()', () => {
    it('delivers the payload only (never the IPC event) until unsubscribed', () => {
      const received: unknown[] = [];
      const unsubscribe = bridge.on('transfers:didChange', (payload) => {
        received.push(payload);
      });
      const [listener] = fake.listeners.get('transfers:didChange')!;

      listener({ sender: 'secret' }, [{ id: 'job-1' }]);
      unsubscribe();

      expect(received).toEqual([[{ id: 'job-1' }]]);
      expect(fake.listeners.get('transfers:didChange')!.size).toBe(0);
    });

    it('throws for an event outside the contract', () => {
      expect(() => bridge.on('ipc:raw' as never, () => {})).toThrow(
        'Unknown event "ipc:raw".',
      );
      expect(fake.listeners.size).toBe(0);
    });
  });

  describe('pathForFile()', () => {
    it('returns the path webUtils gives for a file', () => {
      fake.pathOf = () => '/data/run/S1_R1.fastq.gz';

      expect(bridge.pathForFile({} as File)).toBe('/data/run/S1_R1.fastq.gz');
    });

    it('returns null for a file without a path on disk', () => {
      fake.pathOf = () => '';

      expect(bridge.pathForFile({} as File)).toBeNull();
    });
  });

  it('knows exactly the channels and events of the contract', async () => {
    for (const channel of Object.keys(channels)) {
      await bridge.invoke(channel as never, {} as never);
    }
    for (const event of eventNames) bridge.on(event, () => {});

    expect(fake.invoked.map((c) => c.channel)).toEqual(Object.keys(channels));
    expect([...fake.listeners.keys()]).toEqual([...eventNames]);
    // And nothing beyond them: the source lists the same number of names.
    const source = await import('node:fs').then((fs) =>
      fs.readFileSync(preloadPath, 'utf8'),
    );
    const listed = [...source.matchAll(/^ {2}'([a-z]+:[a-zA-Z]+)',$/gm)].map(
      (m) => m[1],
    );
    expect(listed.sort()).toEqual(
      [...Object.keys(channels), ...eventNames].sort(),
    );
  });
});
