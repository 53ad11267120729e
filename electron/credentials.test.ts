/**
 * credentials.ts against a stand-in for Electron's safeStorage (the real one
 * needs the Electron binary): a reversible cipher whose output never holds
 * the plain text, so the tests can check what reaches the disk.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  createSafeStorageSecretStore,
  EncryptionUnavailableError,
} from './credentials.ts';
import type { SafeStorageLike } from './credentials.ts';

function fakeSafeStorage(
  overrides: Partial<{
    available: boolean;
    backend: ReturnType<SafeStorageLike['getSelectedStorageBackend']>;
  }> = {},
): SafeStorageLike {
  const flip = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0xa5));
  return {
    isAsyncEncryptionAvailable: async () => overrides.available ?? true,
    getSelectedStorageBackend: () => overrides.backend ?? 'gnome_libsecret',
    encryptStringAsync: async (text) =>
      Buffer.concat([Buffer.from('ENC1'), flip(Buffer.from(text, 'utf8'))]),
    decryptStringAsync: async (data) => {
      if (!data.subarray(0, 4).equals(Buffer.from('ENC1'))) {
        throw new Error('Error while decrypting the ciphertext');
      }
      return {
        result: flip(data.subarray(4)).toString('utf8'),
        shouldReEncrypt: false,
      };
    },
  };
}

describe('createSafeStorageSecretStore()', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'credentials-'));
    file = path.join(dir, 'nested', 'session.bin');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('saves the secret encrypted (never in plain text) and loads it back', async () => {
    const store = createSafeStorageSecretStore(
      fakeSafeStorage(),
      file,
      'linux',
    );

    await store.save('{"apiKey":"SECRET-KEY-123"}');
    const onDisk = await fs.readFile(file);
    const loaded = await store.load();

    expect(onDisk.toString('latin1')).not.toContain('SECRET-KEY-123');
    expect(loaded).toBe('{"apiKey":"SECRET-KEY-123"}');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(path.dirname(file))).toEqual(['session.bin']);
  });

  it('loads null when nothing was saved, and after clear', async () => {
    const store = createSafeStorageSecretStore(
      fakeSafeStorage(),
      file,
      'linux',
    );

    const before = await store.load();
    await store.save('x');
    await store.clear();
    await store.clear();

    expect(before).toBeNull();
    expect(await store.load()).toBeNull();
  });

  it('loads null when the file cannot be decrypted any more', async () => {
    const store = createSafeStorageSecretStore(
      fakeSafeStorage(),
      file,
      'linux',
    );
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, 'written with another key');

    expect(await store.load()).toBeNull();
  });

  it.each([
    ['encryption is unavailable', { available: false }, 'linux' as const],
    [
      'Linux would use its fixed basic_text key',
      { backend: 'basic_text' as const },
      'linux' as const,
    ],
  ])(
    'refuses to save, and writes nothing, when %s',
    async (_why, options, platform) => {
      const store = createSafeStorageSecretStore(
        fakeSafeStorage(options),
        file,
        platform,
      );

      const error = await store.save('secret').catch((err: unknown) => err);

      expect(error).toBeInstanceOf(EncryptionUnavailableError);
      await expect(fs.access(file)).rejects.toThrow();
    },
  );

  it('does not look at the Linux backend on other platforms', async () => {
    const store = createSafeStorageSecretStore(
      fakeSafeStorage({ backend: 'basic_text' }),
      file,
      'darwin',
    );

    await store.save('secret');

    expect(await store.load()).toBe('secret');
  });
});
