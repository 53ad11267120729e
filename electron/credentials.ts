/**
 * The desktop app's SecretStore: the remembered session, encrypted with
 * Electron's safeStorage (the OS keychain's key) into one file under the
 * app's data folder. Nothing is ever written in plain text: when the OS
 * offers no real encryption, remembering is refused.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import type { SafeStorage } from 'electron';

import type { SecretStore } from './service/secretStore.ts';

/** The part of Electron's safeStorage this store uses. */
export type SafeStorageLike = Pick<
  SafeStorage,
  | 'isAsyncEncryptionAvailable'
  | 'encryptStringAsync'
  | 'decryptStringAsync'
  | 'getSelectedStorageBackend'
>;

/** Raised by `save` when the secret cannot be stored encrypted. */
export class EncryptionUnavailableError extends Error {
  override readonly name = 'EncryptionUnavailableError';
}

/**
 * createSafeStorageSecretStore returns a SecretStore that keeps the secret
 * in `filePath`, encrypted by `safeStorage`.
 *
 * - `save` rejects with EncryptionUnavailableError, and writes nothing,
 *   when encryption is unavailable, or when Linux has no keyring and
 *   Electron would fall back to its fixed 'basic_text' key. It writes a
 *   temporary file (mode 0600) and renames it, so a crash never leaves a
 *   half-written secret.
 * - `load` resolves to null when there is no file, or when it can no longer
 *   be decrypted (for example after the keychain was reset).
 * - `clear` removes the file; it succeeds when there is none.
 *
 * Call it after `app.whenReady()`: safeStorage is not usable before.
 */
export function createSafeStorageSecretStore(
  safeStorage: SafeStorageLike,
  filePath: string,
  platform: NodeJS.Platform = process.platform,
): SecretStore {
  const checkAvailable = async (): Promise<void> => {
    if (!(await safeStorage.isAsyncEncryptionAvailable())) {
      throw new EncryptionUnavailableError(
        'Cannot remember the sign-in: the system keychain is not available, and credentials are never stored unencrypted.',
      );
    }
    if (
      platform === 'linux' &&
      safeStorage.getSelectedStorageBackend() === 'basic_text'
    ) {
      throw new EncryptionUnavailableError(
        'Cannot remember the sign-in: no keyring (GNOME Keyring, KWallet) is running, and credentials are never stored with a fixed key.',
      );
    }
  };

  return {
    async load() {
      let encrypted: Buffer;
      try {
        encrypted = await fs.readFile(filePath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      try {
        const { result } = await safeStorage.decryptStringAsync(encrypted);
        return result;
      } catch {
        // Encrypted with a key this system no longer has: forget it.
        return null;
      }
    },

    async save(secret) {
      await checkAvailable();
      const encrypted = await safeStorage.encryptStringAsync(secret);

      await fs.mkdir(path.dirname(filePath), { recursive: true });
      const temp = `${filePath}.${process.pid}.tmp`;
      try {
        await fs.writeFile(temp, encrypted, { mode: 0o600 });
        await fs.rename(temp, filePath);
      } catch (err) {
        await fs.rm(temp, { force: true });
        throw err;
      }
    },

    async clear() {
      await fs.rm(filePath, { force: true });
    },
  };
}
