/**
 * Small helpers shared by the sandbox modules: identifiers, timestamps in the
 * platform's formats, and random secrets.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const UUID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** newId returns a fresh lowercase, hyphenated UUID (version 4). */
export function newId(): string {
  return randomUUID();
}

/** isUuid is true for a lowercase or uppercase hyphenated UUID. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value.toLowerCase());
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function parts(ms: number): {
  date: string;
  time: string;
  micros: string;
} {
  const d = new Date(ms);
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`,
    micros: `${pad(d.getUTCMilliseconds(), 3)}000`,
  };
}

/**
 * timestamp formats `ms` the way the platform writes most timestamps:
 * `2021-10-12T19:55:46.498000Z` (UTC, microseconds). Such strings sort in
 * time order.
 */
export function timestamp(ms: number): string {
  const p = parts(ms);
  return `${p.date}T${p.time}.${p.micros}Z`;
}

/**
 * archiveTimestamp formats `ms` as the recorded `archive_last_status.created`
 * values are written: `2021-10-12 19:47:15.394000+00:00`.
 */
export function archiveTimestamp(ms: number): string {
  const p = parts(ms);
  return `${p.date} ${p.time}.${p.micros}+00:00`;
}

/**
 * expiryTimestamp formats `ms` as `upload-credentials` writes `expiry_time`:
 * whole seconds with an explicit `+00:00` offset, as botocore expects.
 */
export function expiryTimestamp(ms: number): string {
  const p = parts(ms);
  return `${p.date}T${p.time}+00:00`;
}

/** randomToken returns `bytes` random bytes as base64url text. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/** randomAlnum returns `length` random characters from `alphabet`. */
export function randomAlnum(
  length: number,
  alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length; i += 1) {
    // 2 bytes per character keeps the modulo bias negligible.
    out +=
      alphabet[bytes.readUInt16LE((i * 2) % bytes.length) % alphabet.length];
  }
  return out;
}

/** errorText turns anything thrown into one loggable line. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.stack ?? `${error.name}: ${error.message}`;
  }
  return String(error);
}
