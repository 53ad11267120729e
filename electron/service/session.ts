/**
 * Session bookkeeping of the app service: which platform a HostChoice means,
 * and the remembered session as it is kept in the SecretStore.
 */
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { HostChoiceSchema } from '../../shared/contract.ts';
import type { HostChoice } from '../../shared/contract.ts';
import { HOSTS } from '../../shared/domain.ts';
import { ServiceError } from './serviceError.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * resolveHostUrl gives the API base URL (`scheme://host[:port]`, no path)
 * of a non-sandbox HostChoice. A custom URL keeps only its origin (the API
 * lives under /api/v2/ of the host); it must be https, or http on a
 * loopback address. Throws a 'validation' ServiceError otherwise.
 */
export function resolveHostUrl(
  host: Exclude<HostChoice, { kind: 'sandbox' }>,
): string {
  switch (host.kind) {
    case 'production':
      return HOSTS.production;
    case 'staging':
      return HOSTS.staging;
    case 'custom': {
      let url: URL;
      try {
        url = new URL(host.url);
      } catch {
        throw new ServiceError(
          'validation',
          `"${host.url}" is not a URL: enter the host as https://api.example.com.`,
        );
      }
      if (url.protocol === 'https:') return url.origin;
      if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) {
        return url.origin;
      }
      throw new ServiceError(
        'validation',
        url.protocol === 'http:'
          ? `Refusing ${url.origin}: credentials are only sent over https (plain http is allowed for 127.0.0.1 and localhost).`
          : `"${host.url}" is not an http(s) URL.`,
      );
    }
  }
}

/**
 * hostKey names a platform for local storage (one journal per platform, so
 * that jobs are never resumed against another host): 'sandbox',
 * 'production', 'staging', or 'custom-<hash of the origin>'.
 */
export function hostKey(host: HostChoice, hostUrl: string): string {
  if (host.kind !== 'custom') return host.kind;
  const hash = createHash('sha256').update(hostUrl).digest('hex');
  return `custom-${hash.slice(0, 16)}`;
}

/** How a remembered session signs in again. */
const StoredAuthSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sandbox-demo') }),
  z.object({ kind: z.literal('api-key'), apiKey: z.string().min(1) }),
  z.object({
    kind: z.literal('tokens'),
    access: z.string().min(1),
    refresh: z.string().min(1),
  }),
]);
export type StoredAuth = z.infer<typeof StoredAuthSchema>;

/** The remembered session, as JSON in the SecretStore. */
const StoredSessionSchema = z.object({
  version: z.literal(1),
  host: HostChoiceSchema,
  email: z.string().nullable(),
  auth: StoredAuthSchema,
});
export type StoredSession = z.infer<typeof StoredSessionSchema>;

/** serializeSession renders a session for the SecretStore. */
export function serializeSession(session: StoredSession): string {
  return JSON.stringify(session);
}

/**
 * parseStoredSession reads what serializeSession wrote; null for anything
 * else (an older format, a damaged secret), which then counts as signed out.
 */
export function parseStoredSession(text: string | null): StoredSession | null {
  if (text === null) return null;
  try {
    const parsed = StoredSessionSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
