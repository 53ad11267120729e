import { describe, expect, it } from 'vitest';

import {
  hostKey,
  parseStoredSession,
  resolveHostUrl,
  serializeSession,
} from './session.ts';
import type { StoredSession } from './session.ts';

describe('resolveHostUrl()', () => {
  it.each([
    [{ kind: 'production' as const }, 'https://api.gencove.com'],
    [{ kind: 'staging' as const }, 'https://api-stage.gencove.com'],
    [
      { kind: 'custom' as const, url: 'https://api.example.org/' },
      'https://api.example.org',
    ],
    [
      { kind: 'custom' as const, url: 'https://api.example.org:8443/api/v2/' },
      'https://api.example.org:8443',
    ],
    [
      { kind: 'custom' as const, url: 'http://127.0.0.1:8200' },
      'http://127.0.0.1:8200',
    ],
    [
      { kind: 'custom' as const, url: 'http://localhost:8200/' },
      'http://localhost:8200',
    ],
  ])('resolves %j to %s', (host, url) => {
    expect(resolveHostUrl(host)).toBe(url);
  });

  it.each([
    ['http://api.example.org', 'only sent over https'],
    ['ftp://api.example.org', 'is not an http(s) URL'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', (url, text) => {
    expect(() => resolveHostUrl({ kind: 'custom', url })).toThrow(text);
  });
});

describe('hostKey()', () => {
  it('names the built-in hosts by kind and custom hosts by a hash of the URL', () => {
    const a = hostKey(
      { kind: 'custom', url: 'https://a.example' },
      'https://a.example',
    );
    const b = hostKey(
      { kind: 'custom', url: 'https://b.example' },
      'https://b.example',
    );

    expect(hostKey({ kind: 'sandbox' }, 'http://127.0.0.1:1')).toBe('sandbox');
    expect(hostKey({ kind: 'production' }, 'https://api.gencove.com')).toBe(
      'production',
    );
    expect(a).toMatch(/^custom-[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
  });
});

describe('parseStoredSession()', () => {
  const session: StoredSession = {
    version: 1,
    host: { kind: 'staging' },
    email: 'tech@lab.example',
    auth: { kind: 'tokens', access: 'a.b.c', refresh: 'd.e.f' },
  };

  it('reads back what serializeSession wrote', () => {
    expect(parseStoredSession(serializeSession(session))).toEqual(session);
  });

  it.each([
    ['nothing', null],
    ['text that is not JSON', 'garbage'],
    ['another version', JSON.stringify({ ...session, version: 2 })],
    [
      'a stored password',
      JSON.stringify({ ...session, auth: { kind: 'password', password: 'x' } }),
    ],
  ])('gives null for %s', (_what, text) => {
    expect(parseStoredSession(text)).toBeNull();
  });
});
