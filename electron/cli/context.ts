/**
 * What every command of the command line needs: where the app keeps its
 * data, which host to talk to, and a signed-in platform client.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline/promises';

import type { HostChoice } from '../../shared/contract.ts';
import { HOSTS } from '../../shared/domain.ts';
import { GencoveClient } from '../engine/api/client.ts';
import type { Auth } from '../engine/api/client.ts';
import { ValidationError } from '../engine/errors.ts';
import { hostKey } from '../service/session.ts';

/**
 * UsageError is bad input on the command line itself (an option, an
 * argument, a missing credential): the command exits with 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An environment variable, with an empty value read as unset. */
function env(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Options shared by every command that talks to the platform. */
export interface GlobalOptions {
  host?: string;
  email?: string;
  password?: string;
  apiKey?: string;
  dataDir?: string;
  json?: boolean;
}

/**
 * appDataDir returns the folder for the journal and the built-in sandbox:
 * `--data-dir`, else `GENCOVE_DESKTOP_HOME`, else the platform's usual place
 * for application data.
 */
export function appDataDir(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  const fromEnv = env('GENCOVE_DESKTOP_HOME');
  if (fromEnv) return path.resolve(fromEnv);
  const home = os.homedir();
  if (process.platform === 'win32') {
    return path.join(
      process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'),
      'gencove-desktop',
    );
  }
  if (process.platform === 'darwin') {
    return path.join(home, 'Library', 'Application Support', 'gencove-desktop');
  }
  const xdg = process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share');
  return path.join(xdg, 'gencove-desktop');
}

/** The folder the `sandbox` command keeps its data in by default. */
export function defaultSandboxDir(dataDir?: string): string {
  return path.join(appDataDir(dataDir), 'sandbox');
}

export interface SandboxFile {
  api_url: string;
  s3_endpoint: string;
  email: string;
  password: string;
  api_key: string;
  project_ids: string[];
}

/** readSandboxFile reads `sandbox.json` of a sandbox data folder, or null. */
export function readSandboxFile(dir: string): SandboxFile | null {
  const file = path.join(dir, 'sandbox.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as SandboxFile;
  } catch {
    throw new ValidationError(`${file} is not valid JSON: delete it and restart the sandbox`);
  }
}

export interface ResolvedHost {
  url: string;
  /** The same host choice the desktop app records, so both share a journal. */
  choice: HostChoice;
  /** Set when the host is the built-in sandbox found through its sandbox.json. */
  sandbox: SandboxFile | null;
}

/**
 * resolveHost turns `--host` / `GENCOVE_HOST` into a base URL. Accepted:
 * `sandbox` (the default: the sandbox started by `gencove-desktop sandbox`),
 * `production`, `staging`, or an http(s) URL.
 */
export function resolveHost(opts: GlobalOptions): ResolvedHost {
  const value = (opts.host ?? env('GENCOVE_HOST') ?? 'sandbox').trim();
  if (value === 'production') {
    return { url: HOSTS.production, choice: { kind: 'production' }, sandbox: null };
  }
  if (value === 'staging') {
    return { url: HOSTS.staging, choice: { kind: 'staging' }, sandbox: null };
  }
  if (value === 'sandbox') {
    const dir = env('GENCOVE_SANDBOX_DIR') ?? defaultSandboxDir(opts.dataDir);
    const info = readSandboxFile(dir);
    if (!info) {
      throw new ValidationError(
        `No sandbox found in ${dir}: start one with \`gencove-desktop sandbox\`, or pass --host production, staging or a URL`,
      );
    }
    return { url: info.api_url, choice: { kind: 'sandbox' }, sandbox: info };
  }
  if (!/^https?:\/\//i.test(value)) {
    throw new UsageError(
      `--host "${value}" is not a host: use sandbox, production, staging or an http(s):// URL`,
    );
  }
  return { url: value, choice: { kind: 'custom', url: value }, sandbox: null };
}

/** Prompts on the terminal; null when stdin is not a terminal. */
async function ask(question: string): Promise<string | null> {
  if (!process.stdin.isTTY) return null;
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stderr,
  });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/**
 * resolveAuth picks credentials: `--api-key`, `--email/--password`, then
 * `GENCOVE_API_KEY`, `GENCOVE_EMAIL`/`GENCOVE_PASSWORD`, then the sandbox's
 * demo key when the host is the sandbox.
 */
export function resolveAuth(opts: GlobalOptions, host: ResolvedHost): Auth {
  const apiKey = opts.apiKey ?? (opts.email ? undefined : env('GENCOVE_API_KEY'));
  const email = opts.email ?? (opts.apiKey ? undefined : env('GENCOVE_EMAIL'));
  if (apiKey && email) {
    throw new UsageError(
      'Both an API key and an email were given: use one way to sign in',
    );
  }
  if (apiKey) return { kind: 'api-key', apiKey };
  if (email) {
    const password = opts.password ?? env('GENCOVE_PASSWORD');
    if (!password) {
      throw new UsageError(
        `No password for ${email}: pass --password or set GENCOVE_PASSWORD`,
      );
    }
    return {
      kind: 'password',
      email,
      password,
      otp: async () => {
        const code = await ask('One-time code: ');
        if (!code) {
          throw new UsageError(
            'The server asks for a one-time code and there is no terminal to type it: use an API key instead',
          );
        }
        return code;
      },
    };
  }
  if (host.sandbox) return { kind: 'api-key', apiKey: host.sandbox.api_key };
  throw new UsageError(
    'No credentials: pass --api-key or --email/--password, or set GENCOVE_API_KEY or GENCOVE_EMAIL and GENCOVE_PASSWORD',
  );
}

/** connect builds a client for the chosen host and signs in. */
export async function connect(
  opts: GlobalOptions,
  signal?: AbortSignal,
): Promise<{ client: GencoveClient; host: ResolvedHost }> {
  const host = resolveHost(opts);
  if (host.sandbox && (await isRefused(host.url))) {
    // A sandbox that was killed leaves its sandbox.json behind; nothing
    // will answer there, so retrying would only make the user wait.
    throw new ValidationError(
      `The sandbox at ${host.url} is not running (its sandbox.json is left from an earlier start): start it with \`gencove-desktop sandbox\``,
    );
  }
  const auth = resolveAuth(opts, host);
  const client = new GencoveClient({ host: host.url, auth, signal });
  await client.login();
  return { client, host };
}

/**
 * isRefused tells whether a TCP connection to `url`'s host and port is
 * refused at once (nothing listens there). Anything else, a timeout
 * included, is left to the client and its retries.
 */
function isRefused(url: string): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({
      host: hostname.replace(/^\[|\]$/g, ''),
      port: Number(port || (protocol === 'https:' ? 443 : 80)),
    });
    const finish = (refused: boolean) => {
      socket.destroy();
      resolve(refused);
    };
    socket.setTimeout(2_000, () => finish(false));
    socket.once('connect', () => finish(false));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      finish(err.code === 'ECONNREFUSED'),
    );
  });
}

/**
 * engineDir is where the engine keeps its journal for one host: the same
 * folder the desktop app uses, so a job is only ever resumed against the host
 * it was started on, by either of them.
 */
export function engineDir(opts: GlobalOptions, host: ResolvedHost): string {
  const origin = new URL(host.url).origin;
  return path.join(appDataDir(opts.dataDir), 'engine', hostKey(host.choice, origin));
}
