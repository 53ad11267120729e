/**
 * Where the app service keeps the credentials of a remembered session. The
 * desktop app stores them with Electron's safeStorage (electron/credentials.ts);
 * serve mode and tests keep them in memory only.
 */

/**
 * SecretStore holds one opaque secret string. `load` resolves to null when
 * nothing is stored (or what is stored cannot be read back); `save` rejects
 * when the secret cannot be kept safely, and then nothing was written;
 * `clear` succeeds when nothing is stored.
 */
export interface SecretStore {
  /**
   * False when what is saved does not outlive this process (so a session
   * is not "remembered" for the next start); true or absent otherwise.
   */
  readonly isPersistent?: boolean;
  load(): Promise<string | null>;
  save(secret: string): Promise<void>;
  clear(): Promise<void>;
}

/**
 * MemorySecretStore keeps the secret in this process only: it is gone when
 * the process ends. Used by serve mode and tests.
 */
export class MemorySecretStore implements SecretStore {
  readonly isPersistent: boolean;
  #secret: string | null;

  /**
   * `isPersistent` is for tests that stand in for a real store (several
   * services sharing one MemorySecretStore behave like restarts).
   */
  constructor(initial: string | null = null, isPersistent = false) {
    this.#secret = initial;
    this.isPersistent = isPersistent;
  }

  async load(): Promise<string | null> {
    return this.#secret;
  }

  async save(secret: string): Promise<void> {
    this.#secret = secret;
  }

  async clear(): Promise<void> {
    this.#secret = null;
  }
}
