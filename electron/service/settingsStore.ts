/**
 * The app's own settings (not the engine's), as one small JSON file in the
 * app's data folder. Written to a temporary file and renamed, so a crash
 * mid-write leaves the previous settings, never half a file.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import { z } from 'zod';

import { toLogString } from '../engine/errors.ts';

/** The settings as stored; every field has a default. */
export interface StoredSettings {
  startAtLogin: boolean;
}

/** What a missing or unreadable settings file counts as. */
export const DEFAULT_SETTINGS: Readonly<StoredSettings> = Object.freeze({
  startAtLogin: false,
});

/** The file's name inside the data folder. */
export const SETTINGS_FILE = 'settings.json';

const StoredSettingsSchema = z.object({
  version: z.literal(1),
  startAtLogin: z.boolean().default(false),
});

/**
 * SettingsStore reads and writes `settings.json` of one data folder.
 * `load` never throws: a missing file gives the defaults, and a damaged one
 * gives the defaults with a log line (the file is left for the user to
 * look at until the next save replaces it). `save` throws when the file
 * cannot be written, leaving the previous file as it was.
 */
export class SettingsStore {
  readonly #file: string;
  readonly #log: (line: string) => void;

  constructor(dataDir: string, log: (line: string) => void = () => {}) {
    this.#file = path.join(dataDir, SETTINGS_FILE);
    this.#log = log;
  }

  /** The settings file's absolute path. */
  get file(): string {
    return this.#file;
  }

  async load(): Promise<StoredSettings> {
    let text: string;
    try {
      text = await fs.readFile(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#log(
          `SettingsStore/load: cannot read ${this.#file}: ${toLogString(err)}`,
        );
      }
      return { ...DEFAULT_SETTINGS };
    }
    try {
      const parsed = StoredSettingsSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { startAtLogin: parsed.data.startAtLogin };
      this.#log(
        `SettingsStore/load: ${this.#file} is not a settings file of this version; using the defaults`,
      );
    } catch {
      this.#log(
        `SettingsStore/load: ${this.#file} is not valid JSON; using the defaults`,
      );
    }
    return { ...DEFAULT_SETTINGS };
  }

  async save(settings: StoredSettings): Promise<void> {
    await fs.mkdir(path.dirname(this.#file), { recursive: true });
    const temp = `${this.#file}.${process.pid}.tmp`;
    const text = `${JSON.stringify({ version: 1, ...settings }, null, 2)}\n`;
    try {
      await fs.writeFile(temp, text, 'utf8');
      await fs.rename(temp, this.#file);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => {});
      throw err;
    }
  }
}
