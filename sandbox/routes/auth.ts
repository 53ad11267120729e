/**
 * Authentication and account routes: jwt-create (with the optional MFA step),
 * jwt-refresh, jwt-verify, jwt-logout, user/, organization/, mfa-status/.
 */
import {
  WWW_AUTHENTICATE,
  findUserById,
  verifyPassword,
  type AuthUser,
} from '../auth.ts';
import type { SandboxContext } from '../context.ts';
import {
  ApiError,
  fieldErrors,
  json,
  requireObject,
  type RouteSpec,
} from '../http.ts';

/** The recorded wrong-credentials answer of jwt-create. */
const NO_ACCOUNT = {
  detail: 'No active account found with the given credentials',
};

/** The refresh/verify answer for a bad token (SimpleJWT's words). */
const TOKEN_INVALID = {
  detail: 'Token is invalid or expired',
  code: 'token_not_valid',
};

/**
 * requiredStrings checks that each named field is a non-blank string and
 * throws one 400 naming every missing or invalid field.
 */
function requiredStrings(
  body: Record<string, unknown>,
  names: string[],
): Record<string, string> {
  const errors: Record<string, string[]> = {};
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = body[name];
    if (value === undefined) {
      errors[name] = ['This field is required.'];
    } else if (value === null) {
      errors[name] = ['This field may not be null.'];
    } else if (typeof value !== 'string') {
      errors[name] = ['Not a valid string.'];
    } else if (value.trim() === '') {
      errors[name] = ['This field may not be blank.'];
    } else {
      out[name] = value;
    }
  }
  if (Object.keys(errors).length > 0) {
    throw fieldErrors(errors);
  }
  return out;
}

interface LoginRow {
  id: string;
  password_hash: string;
  otp_code: string | null;
}

/** authRoutes returns the account routes bound to `ctx`. */
export function authRoutes(ctx: SandboxContext): RouteSpec<AuthUser>[] {
  return [
    {
      path: '/api/v2/jwt-create/',
      auth: false,
      methods: {
        POST: async (req) => {
          const body = requireObject(await req.body());
          const { email, password } = requiredStrings(body, [
            'email',
            'password',
          ]);
          const row = ctx.db
            .prepare(
              'SELECT id, password_hash, otp_code FROM users WHERE email = ?',
            )
            .get(email.trim()) as LoginRow | undefined;
          // Hash even for unknown emails so that timing does not reveal them.
          const ok = await verifyPassword(
            password,
            row?.password_hash ?? 'scrypt$00$00000000000000000000000000000000',
          );
          if (!row || !ok) {
            throw new ApiError(401, NO_ACCOUNT, WWW_AUTHENTICATE);
          }
          if (row.otp_code !== null) {
            const otp = body.otp_token;
            if (otp === undefined || otp === null || otp === '') {
              throw new ApiError(
                401,
                { otp_token: ['Please enter your OTP token.'] },
                WWW_AUTHENTICATE,
              );
            }
            if (typeof otp !== 'string' || otp.trim() !== row.otp_code) {
              throw new ApiError(
                401,
                { otp_token: ['Invalid OTP token.'] },
                WWW_AUTHENTICATE,
              );
            }
          }
          return json(200, {
            refresh: ctx.tokens.issue(row.id, 'refresh'),
            access: ctx.tokens.issue(row.id, 'access'),
          });
        },
      },
    },
    {
      path: '/api/v2/jwt-refresh/',
      auth: false,
      methods: {
        POST: async (req) => {
          const body = requireObject(await req.body());
          const { refresh } = requiredStrings(body, ['refresh']);
          const claims = ctx.tokens.verify(refresh, 'refresh');
          if (!claims || !findUserById(ctx.db, claims.user_id)) {
            throw new ApiError(401, TOKEN_INVALID, WWW_AUTHENTICATE);
          }
          return json(200, {
            access: ctx.tokens.issue(claims.user_id, 'access'),
          });
        },
      },
    },
    {
      path: '/api/v2/jwt-verify/',
      auth: false,
      methods: {
        POST: async (req) => {
          const body = requireObject(await req.body());
          const { token } = requiredStrings(body, ['token']);
          if (!ctx.tokens.verify(token)) {
            throw new ApiError(401, TOKEN_INVALID, WWW_AUTHENTICATE);
          }
          return json(200, {});
        },
      },
    },
    {
      path: '/api/v2/jwt-logout/',
      auth: false,
      methods: {
        POST: async (req) => {
          const body = requireObject(await req.body());
          const { refresh } = requiredStrings(body, ['refresh']);
          const claims = ctx.tokens.verify(refresh, 'refresh');
          if (!claims) {
            throw new ApiError(401, TOKEN_INVALID, WWW_AUTHENTICATE);
          }
          ctx.tokens.revoke(claims);
          // The SPEC answers with the BlacklistRefreshToken body (an echo).
          return json(200, { refresh });
        },
      },
    },
    {
      path: '/api/v2/user/',
      methods: {
        GET: (req) =>
          json(200, {
            id: req.user.id,
            email: req.user.email,
            name: req.user.name,
            uploads_enabled: true,
            explorer_enabled: false,
            created: req.user.created,
            is_support: false,
          }),
      },
    },
    {
      path: '/api/v2/organization/',
      methods: {
        GET: (req) => {
          const org = ctx.db
            .prepare('SELECT id, name FROM organizations WHERE id = ?')
            .get(req.user.organizationId) as { id: string; name: string };
          return json(200, {
            id: org.id,
            name: org.name,
            expire_uploads_period_days: null,
            archive_period_days: null,
            archive_restore_period_days: null,
            roles: { organization: { id: org.id, name: 'owner' } },
            uploads_enabled: true,
            delete_samples_enabled: true,
            project_sharing_enabled: false,
            account_on_hold: false,
            organization_type: 'enterprise',
          });
        },
      },
    },
    {
      path: '/api/v2/mfa-status/',
      methods: {
        GET: (req) => json(200, { has_mfa_device: req.user.hasMfa }),
      },
    },
  ];
}
