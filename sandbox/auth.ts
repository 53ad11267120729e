/**
 * Authentication for the sandbox API: password hashes (scrypt), JWT access
 * and refresh tokens (HS256, signed with a per-data-folder secret), API keys
 * (stored as SHA-256 hashes) and the `Authorization` header schemes
 * `Bearer <jwt>` and `Api-Key <key>`.
 */
import {
  createHash,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { promisify } from 'node:util';

import { ApiError } from './http.ts';
import { newId, randomToken } from './util.ts';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
) => Promise<Buffer>;

/** The authenticated principal of a request. */
export interface AuthUser {
  id: string;
  organizationId: string;
  email: string;
  name: string;
  created: string;
  hasMfa: boolean;
}

/** hashPassword returns `scrypt$<salt>$<hash>` for storage. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

/** verifyPassword checks `password` against a stored hash in constant time. */
export async function verifyPassword(
  password: string,
  stored: string,
): Promise<boolean> {
  const [scheme, saltHex, hashHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) {
    return false;
  }
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await scryptAsync(
    password,
    Buffer.from(saltHex, 'hex'),
    expected.length,
  );
  return timingSafeEqual(actual, expected);
}

/** sha256Hex hashes an API key (or any secret) for storage. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** newApiKey returns a fresh key `<prefix>.<secret>` and its prefix. */
export function newApiKey(): { key: string; prefix: string } {
  const prefix = randomToken(6).replace(/[-_]/g, 'x').slice(0, 8);
  return { key: `${prefix}.${randomToken(24)}`, prefix };
}

/** The two token kinds, as SimpleJWT names them. */
export type TokenType = 'access' | 'refresh';

/** Claims inside a sandbox JWT. */
export interface TokenClaims {
  token_type: TokenType;
  exp: number;
  iat: number;
  jti: string;
  user_id: string;
}

function b64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/**
 * TokenService issues and checks the sandbox JWTs. Access tokens live
 * `accessTtlSeconds`, refresh tokens `refreshTtlSeconds`; a refresh token
 * revoked by jwt-logout is refused until it would have expired anyway.
 */
export class TokenService {
  private readonly secret: Buffer;
  private readonly db: DatabaseSync;
  readonly accessTtlSeconds: number;
  readonly refreshTtlSeconds: number;
  private readonly now: () => number;

  constructor(params: {
    db: DatabaseSync;
    secret: Buffer;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    now: () => number;
  }) {
    this.db = params.db;
    this.secret = params.secret;
    this.accessTtlSeconds = params.accessTtlSeconds;
    this.refreshTtlSeconds = params.refreshTtlSeconds;
    this.now = params.now;
  }

  issue(userId: string, type: TokenType): string {
    const iat = Math.floor(this.now() / 1000);
    const ttl =
      type === 'access' ? this.accessTtlSeconds : this.refreshTtlSeconds;
    const claims: TokenClaims = {
      token_type: type,
      exp: iat + ttl,
      iat,
      jti: newId().replace(/-/g, ''),
      user_id: userId,
    };
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify(claims));
    const signature = this.sign(`${header}.${body}`);
    return `${header}.${body}.${signature}`;
  }

  /** verify returns the claims of a valid, unexpired, unrevoked token. */
  verify(token: string, type?: TokenType): TokenClaims | null {
    const segments = token.split('.');
    if (segments.length !== 3) {
      return null;
    }
    const [header, body, signature] = segments;
    const expected = Buffer.from(this.sign(`${header}.${body}`));
    const actual = Buffer.from(signature);
    if (
      expected.length !== actual.length ||
      !timingSafeEqual(expected, actual)
    ) {
      return null;
    }
    let claims: TokenClaims;
    try {
      claims = JSON.parse(
        Buffer.from(body, 'base64url').toString('utf8'),
      ) as TokenClaims;
    } catch {
      return null;
    }
    if (
      typeof claims.exp !== 'number' ||
      Math.floor(this.now() / 1000) >= claims.exp ||
      (type !== undefined && claims.token_type !== type)
    ) {
      return null;
    }
    if (claims.token_type === 'refresh' && this.isRevoked(claims.jti)) {
      return null;
    }
    return claims;
  }

  revoke(claims: TokenClaims): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)',
      )
      .run(claims.jti, claims.exp);
    this.db
      .prepare('DELETE FROM revoked_tokens WHERE expires_at < ?')
      .run(Math.floor(this.now() / 1000));
  }

  private isRevoked(jti: string): boolean {
    return Boolean(
      this.db.prepare('SELECT 1 FROM revoked_tokens WHERE jti = ?').get(jti),
    );
  }

  private sign(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

/** The recorded 401 body for an invalid or expired access token. */
export const TOKEN_NOT_VALID_BODY = {
  detail: 'Given token not valid for any token type',
  code: 'token_not_valid',
  messages: [
    {
      token_class: 'AccessToken',
      token_type: 'access',
      message: 'Token is invalid or expired',
    },
  ],
};

/** Header every 401 of the API carries (recorded). */
export const WWW_AUTHENTICATE = { 'WWW-Authenticate': 'Bearer realm="api"' };

function unauthorized(body: unknown): ApiError {
  return new ApiError(401, body, WWW_AUTHENTICATE);
}

interface UserRow {
  id: string;
  organization_id: string;
  email: string;
  name: string;
  created: string;
  otp_code: string | null;
}

/** toAuthUser maps a users row. */
export function toAuthUser(row: UserRow): AuthUser {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    name: row.name,
    created: row.created,
    hasMfa: row.otp_code !== null,
  };
}

/** findUserById loads one user, or undefined. */
export function findUserById(
  db: DatabaseSync,
  id: string,
): AuthUser | undefined {
  const row = db.prepare('SELECT * FROM users WHERE id = ?').get(id) as
    UserRow | undefined;
  return row ? toAuthUser(row) : undefined;
}

/**
 * authenticate resolves the `Authorization` header to a user or throws the
 * platform's 401: the recorded token_not_valid body for a bad JWT, a detail
 * message for a bad API key or a missing header.
 */
export function authenticate(
  db: DatabaseSync,
  tokens: TokenService,
  header: string | undefined,
): AuthUser {
  if (!header || header.trim() === '') {
    throw unauthorized({
      detail: 'Authentication credentials were not provided.',
    });
  }
  const space = header.indexOf(' ');
  const scheme = space === -1 ? header : header.slice(0, space);
  const credential = space === -1 ? '' : header.slice(space + 1).trim();
  if (scheme.toLowerCase() === 'bearer') {
    const claims = credential ? tokens.verify(credential, 'access') : null;
    const user = claims ? findUserById(db, claims.user_id) : undefined;
    if (!user) {
      throw unauthorized(TOKEN_NOT_VALID_BODY);
    }
    return user;
  }
  if (scheme.toLowerCase() === 'api-key') {
    const row = credential
      ? (db
          .prepare(
            'SELECT u.* FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.revoked = 0',
          )
          .get(sha256Hex(credential)) as UserRow | undefined)
      : undefined;
    if (!row) {
      throw unauthorized({ detail: 'Invalid API key.' });
    }
    return toAuthUser(row);
  }
  throw unauthorized({
    detail: 'Authentication credentials were not provided.',
  });
}
