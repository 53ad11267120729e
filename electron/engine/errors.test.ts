import { describe, expect, it } from 'vitest';

import {
  ApiError,
  AuthError,
  CancelledError,
  MaintenanceError,
  NetworkError,
  ProtocolError,
  ValidationError,
  classify,
  isCancellation,
  networkKindOf,
  parseRetryAfter,
  renderErrorBody,
  toErrorCode,
  toLogString,
  toUserMessage,
} from './errors.ts';
import type { Classification } from './errors.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');

const api = (status: number, retryAfterMs: number | null = null) =>
  new ApiError({
    status,
    method: 'GET',
    path: '/api/v2/x/',
    body: null,
    retryAfterMs,
  });

const nodeError = (code: string) =>
  Object.assign(new Error(`connect ${code}`), { code });

const axiosError = (
  status: number,
  headers: Record<string, string> = {},
  data: unknown = null,
) =>
  Object.assign(new Error(`Request failed with status code ${status}`), {
    isAxiosError: true,
    response: { status, headers, data },
  });

const s3Error = (name: string, httpStatusCode: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });

const RETRY: Classification = { action: 'retry' };
const FATAL: Classification = { action: 'fatal' };
const REAUTH: Classification = { action: 'reauth' };
const after = (afterMs: number): Classification => ({
  action: 'retry-after',
  afterMs,
});

describe('errors', () => {
  describe('classify()', () => {
    const cases: [string, [string, unknown, Classification][]][] = [
      [
        'HTTP statuses',
        [
          ['400', api(400), FATAL],
          ['401', api(401), REAUTH],
          ['403', api(403), FATAL],
          ['404', api(404), FATAL],
          ['408', api(408), RETRY],
          ['429 without Retry-After', api(429), RETRY],
          ['429 with Retry-After', api(429, 5000), after(5000)],
          ['500', api(500), RETRY],
          ['502', api(502), RETRY],
          ['503 (not maintenance)', api(503), RETRY],
          ['503 with Retry-After', api(503, 2000), after(2000)],
          ['504', api(504), RETRY],
        ],
      ],
      [
        'engine errors',
        [
          ['maintenance', new MaintenanceError({ eta: 'x' }), FATAL],
          ['cancel', new CancelledError(), FATAL],
          ['validation', new ValidationError('host', 'bad'), FATAL],
          [
            'protocol',
            new ProtocolError({
              status: 200,
              method: 'GET',
              path: '/',
              body: null,
              problem: 'x',
            }),
            FATAL,
          ],
          ['session expired', new AuthError('session-expired'), REAUTH],
          ['bad credentials', new AuthError('bad-credentials'), FATAL],
          ['otp required', new AuthError('otp-required'), FATAL],
          ['forbidden', new AuthError('forbidden'), FATAL],
          [
            'network refused',
            new NetworkError('refused', 'h:1', { code: 'ECONNREFUSED' }),
            RETRY,
          ],
          [
            'network timeout',
            new NetworkError('timeout', 'h:1', { code: 'ETIMEDOUT' }),
            RETRY,
          ],
          [
            'network reset',
            new NetworkError('reset', 'h:1', { code: 'ECONNRESET' }),
            RETRY,
          ],
          [
            'host not found',
            new NetworkError('unknown-host', 'h', { code: 'ENOTFOUND' }),
            FATAL,
          ],
          [
            'DNS try again',
            new NetworkError('unknown-host', 'h', { code: 'EAI_AGAIN' }),
            RETRY,
          ],
          [
            'tls',
            new NetworkError('tls', 'h', { code: 'CERT_HAS_EXPIRED' }),
            FATAL,
          ],
        ],
      ],
      [
        'Node and axios error codes',
        [
          ['ECONNRESET', nodeError('ECONNRESET'), RETRY],
          ['ETIMEDOUT', nodeError('ETIMEDOUT'), RETRY],
          ['ECONNREFUSED', nodeError('ECONNREFUSED'), RETRY],
          ['ECONNABORTED', nodeError('ECONNABORTED'), RETRY],
          ['EPIPE', nodeError('EPIPE'), RETRY],
          ['EAI_AGAIN', nodeError('EAI_AGAIN'), RETRY],
          ['ENOTFOUND', nodeError('ENOTFOUND'), FATAL],
          ['ERR_CANCELED', nodeError('ERR_CANCELED'), FATAL],
          [
            'code in the cause',
            new Error('wrapped', { cause: nodeError('ECONNRESET') }),
            RETRY,
          ],
          [
            'axios 429 + seconds',
            axiosError(429, { 'retry-after': '3' }),
            after(3000),
          ],
          [
            'axios 429 + HTTP date',
            axiosError(429, { 'Retry-After': 'Thu, 01 Jan 2026 12:00:30 GMT' }),
            after(30_000),
          ],
          ['axios 500', axiosError(500), RETRY],
          ['axios 401', axiosError(401), REAUTH],
          ['axios 404', axiosError(404), FATAL],
          [
            'axios maintenance 503',
            axiosError(503, {}, { maintenance: true }),
            FATAL,
          ],
        ],
      ],
      [
        'S3 (AWS SDK) errors',
        [
          ['ExpiredToken', s3Error('ExpiredToken', 400), REAUTH],
          [
            'ExpiredTokenException',
            s3Error('ExpiredTokenException', 403),
            REAUTH,
          ],
          ['RequestTimeout', s3Error('RequestTimeout', 400), RETRY],
          ['SlowDown', s3Error('SlowDown', 503), RETRY],
          ['InternalError', s3Error('InternalError', 500), RETRY],
          ['unnamed 500', s3Error('UnknownError', 500), RETRY],
          ['AccessDenied', s3Error('AccessDenied', 403), FATAL],
          [
            'SignatureDoesNotMatch',
            s3Error('SignatureDoesNotMatch', 403),
            FATAL,
          ],
          ['NoSuchUpload', s3Error('NoSuchUpload', 404), FATAL],
          ['AbortError', s3Error('AbortError', 0), FATAL],
        ],
      ],
      [
        'no usable information',
        [
          ['TypeError', new TypeError('x is undefined'), FATAL],
          ['string', 'boom', FATAL],
          ['null', null, FATAL],
        ],
      ],
    ];

    for (const [heading, rows] of cases) {
      describe(heading, () => {
        it.each(rows)('%s → %j', (_name, err, expected) => {
          expect(classify(err, NOW)).toEqual(expected);
        });
      });
    }
  });

  describe('parseRetryAfter()', () => {
    it.each<[string, unknown, number | null]>([
      ['delta seconds', '120', 120_000],
      ['zero', '0', 0],
      ['spaces', ' 5 ', 5000],
      ['fractional', '1.5', 1500],
      ['number', 7, 7000],
      ['header list', ['3'], 3000],
      ['HTTP date ahead', 'Thu, 01 Jan 2026 12:01:00 GMT', 60_000],
      ['HTTP date past', 'Thu, 01 Jan 2026 11:00:00 GMT', 0],
      ['empty', '', null],
      ['words', 'soon', null],
      ['negative', '-5', null],
      ['missing', undefined, null],
    ])('%s: %j → %j', (_name, value, expected) => {
      expect(parseRetryAfter(value, NOW)).toBe(expected);
    });
  });

  describe('networkKindOf()', () => {
    it.each([
      ['ENOTFOUND', 'unknown-host'],
      ['EAI_AGAIN', 'unknown-host'],
      ['ECONNREFUSED', 'refused'],
      ['ETIMEDOUT', 'timeout'],
      ['ECONNABORTED', 'timeout'],
      ['ECONNRESET', 'reset'],
      ['EPIPE', 'reset'],
      ['CERT_HAS_EXPIRED', 'tls'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
      ['ERR_BAD_REQUEST', null],
    ])('%s → %s', (code, kind) => {
      expect(networkKindOf(code)).toBe(kind);
    });
  });

  describe('renderErrorBody()', () => {
    it.each<[string, unknown, string[]]>([
      ['detail', { detail: 'Not found.' }, ['Not found.']],
      [
        'token error keeps the detail',
        {
          detail: 'Given token not valid for any token type',
          code: 'token_not_valid',
          messages: [{ message: 'x' }],
        },
        ['Given token not valid for any token type'],
      ],
      [
        'field errors: first message per field',
        {
          sample_ids: ['This list may not be empty.', 'second'],
          name: 'Too long.',
        },
        ['sample_ids: This list may not be empty.', 'name: Too long.'],
      ],
      [
        'list of messages',
        ['Project does not exist.', 'Other.'],
        ['Project does not exist.', 'Other.'],
      ],
      ['non field errors', { non_field_errors: ['Bad pair.'] }, ['Bad pair.']],
      ['short text', 'Bad gateway', ['Bad gateway']],
      ['HTML page', '<html><body>502</body></html>', []],
      ['nothing', null, []],
    ])('%s', (_name, body, lines) => {
      expect(renderErrorBody(body)).toEqual(lines);
    });
  });

  describe('ApiError', () => {
    it('renders one detail on one line and several on their own lines', () => {
      const one = new ApiError({
        status: 404,
        method: 'get',
        path: '/api/v2/samples/x',
        body: { detail: 'Not found.' },
      });
      const many = new ApiError({
        status: 400,
        method: 'POST',
        path: '/api/v2/project-samples-import/',
        body: ['First.', 'Second.'],
        statusText: 'Bad Request',
      });

      expect(one.message).toBe(
        'GET /api/v2/samples/x failed: 404 Not Found: Not found.',
      );
      expect(many.message).toBe(
        'POST /api/v2/project-samples-import/ failed: 400 Bad Request:\n  First.\n  Second.',
      );
    });
  });

  describe('NetworkError', () => {
    it('names the host and what happened', () => {
      const refused = new NetworkError('refused', '127.0.0.1:9', {
        code: 'ECONNREFUSED',
      });
      const timeout = new NetworkError('timeout', 'api.gencove.com', {
        timeoutMs: 120_000,
      });

      expect(refused.message).toBe(
        'Cannot reach 127.0.0.1:9 (connection refused): is the server running?',
      );
      expect(refused.mayHaveReachedServer).toBe(false);
      expect(timeout.message).toMatch(
        /^No answer from api\.gencove\.com within 120 s/,
      );
      expect(timeout.mayHaveReachedServer).toBe(true);
    });
  });

  describe('ValidationError', () => {
    it('keeps the field apart from the message, or takes a message alone', () => {
      const two = new ValidationError('host', 'The host is empty.');
      const one = new ValidationError('Give --project-id.');

      expect([two.field, two.message]).toEqual(['host', 'The host is empty.']);
      expect([one.field, one.message]).toEqual(['', 'Give --project-id.']);
    });
  });

  describe('isCancellation()', () => {
    it.each<[string, unknown, boolean]>([
      ['CancelledError', new CancelledError(), true],
      ['DOM AbortError', new DOMException('aborted', 'AbortError'), true],
      [
        'axios cancel',
        Object.assign(new Error('canceled'), {
          code: 'ERR_CANCELED',
          name: 'CanceledError',
        }),
        true,
      ],
      ['other error', new Error('x'), false],
      ['string', 'AbortError', false],
    ])('%s → %s', (_name, err, expected) => {
      expect(isCancellation(err)).toBe(expected);
    });
  });

  describe('toUserMessage()', () => {
    it('gives the message without a stack trace', () => {
      const err = new Error('Disk full.');

      expect(toUserMessage(err)).toBe('Disk full.');
      expect(toUserMessage(err)).not.toMatch(/\n\s+at /);
    });

    it.each<[string, unknown, string]>([
      ['cancel', new CancelledError(), 'Cancelled.'],
      ['string', 'Plain text.', 'Plain text.'],
      ['object', { a: 1 }, 'Unknown error.'],
      ['axios answer', axiosError(502), 'The server answered 502.'],
      [
        'axios refused',
        Object.assign(new Error('x'), {
          isAxiosError: true,
          code: 'ECONNREFUSED',
        }),
        'Cannot reach the server (connection refused): is the server running?',
      ],
    ])('%s', (_name, err, message) => {
      expect(toUserMessage(err)).toBe(message);
    });
  });

  describe('toLogString()', () => {
    it('keeps the stack and the cause chain', () => {
      const err = new Error('outer', { cause: new Error('inner') });

      const text = toLogString(err);

      expect(text).toMatch(/^Error: outer\n\s+at /);
      expect(text).toMatch(/Caused by: Error: inner/);
    });

    it('reduces an axios error to method, path and status, without headers or query', () => {
      const err = Object.assign(new Error('Request failed'), {
        isAxiosError: true,
        code: 'ERR_BAD_RESPONSE',
        config: {
          method: 'get',
          url: '/api/v2/user/?token=secret',
          headers: { Authorization: 'Bearer secret-token' },
        },
        response: { status: 500 },
      });

      const text = toLogString(err);

      expect(text).toBe(
        'AxiosError: GET /api/v2/user/ -> 500 (ERR_BAD_RESPONSE): Request failed',
      );
      expect(text).not.toMatch(/secret/);
    });

    it('reduces an ApiError to its status and details', () => {
      expect(toLogString(api(404))).toBe('ApiError: GET /api/v2/x/ -> 404');
    });
  });

  describe('toErrorCode()', () => {
    it.each<[string, unknown, string]>([
      ['bad credentials', new AuthError('bad-credentials'), 'bad-credentials'],
      ['otp', new AuthError('otp-required'), 'otp-required'],
      ['expired', new AuthError('session-expired'), 'session-expired'],
      ['network', new NetworkError('refused', 'h'), 'network'],
      ['maintenance', new MaintenanceError({}), 'maintenance'],
      ['validation', new ValidationError('x', 'y'), 'validation'],
      ['404', api(404), 'not-found'],
      ['500', api(500), 'internal'],
      ['bug', new TypeError('x'), 'internal'],
    ])('%s → %s', (_name, err, code) => {
      expect(toErrorCode(err)).toBe(code);
    });
  });
});
