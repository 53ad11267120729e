/**
 * The engine's operational errors and their classification.
 *
 * Three audiences read an error: the scheduler (what happens next: retry,
 * wait, re-authenticate, give up, see `classify`), the user (a short
 * actionable sentence, see `toUserMessage`) and the log (the detail, see
 * `toLogString`). Every class here carries a user-facing `message`; none of
 * them ever carries a credential.
 *
 * Plain Node, no Electron, no axios import: axios and AWS SDK errors are
 * recognised by their documented shape (`isAxiosError`, `code`, `response`,
 * `$metadata`), so this module can classify errors from any layer.
 */
import type { ErrorCode } from '../../shared/contract.ts';

/** What the caller should do after a failure. */
export type Classification =
  | { action: 'retry' }
  | { action: 'retry-after'; afterMs: number }
  | { action: 'reauth' }
  | { action: 'fatal' };

/** Ways a network request can fail before an HTTP answer arrives. */
export type NetworkErrorKind =
  'unknown-host' | 'refused' | 'timeout' | 'reset' | 'tls';

/** Why authentication failed. */
export type AuthErrorKind =
  'bad-credentials' | 'otp-required' | 'session-expired' | 'forbidden';

/**
 * ApiError is an HTTP answer outside 2xx from the platform (or the sandbox)
 * that is not an authentication or maintenance answer. `message` is the
 * rendering of the reference's section 3.3 error shapes (detail, field
 * errors, list of messages), prefixed by the method, path and status.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  /** HTTP status code. */
  readonly status: number;
  /** HTTP method, upper case. */
  readonly method: string;
  /** URL path of the request (no host, no query string). */
  readonly path: string;
  /** Parsed JSON body when the body was JSON, else its text (or null). */
  readonly body: unknown;
  /** Delay asked for by a Retry-After header, in ms; null without one. */
  readonly retryAfterMs: number | null;
  /** Message lines extracted from the body (may be empty). */
  readonly details: string[];

  constructor(params: {
    status: number;
    method: string;
    path: string;
    body: unknown;
    statusText?: string;
    retryAfterMs?: number | null;
    cause?: unknown;
  }) {
    const details = renderErrorBody(params.body);
    super(
      formatApiMessage(
        params.method,
        params.path,
        params.status,
        params.statusText,
        details,
      ),
      { cause: params.cause },
    );
    this.status = params.status;
    this.method = params.method.toUpperCase();
    this.path = params.path;
    this.body = params.body;
    this.retryAfterMs = params.retryAfterMs ?? null;
    this.details = details;
  }
}

/**
 * AuthError means the credentials did not work: wrong email/password/key
 * ('bad-credentials'), a one-time code is required ('otp-required'), the
 * session could not be renewed ('session-expired'), or the account may not
 * do this ('forbidden', HTTP 403).
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly kind: AuthErrorKind;
  /** HTTP status of the answer that caused it, when there was one. */
  readonly status: number | null;

  constructor(
    kind: AuthErrorKind,
    message?: string,
    options?: { status?: number; cause?: unknown },
  ) {
    super(message ?? defaultAuthMessage(kind), { cause: options?.cause });
    this.kind = kind;
    this.status = options?.status ?? null;
  }
}

/**
 * NetworkError means no HTTP answer arrived. `host` is `hostname[:port]` and
 * appears in the message. `mayHaveReachedServer` is false when the request
 * certainly never reached the server (DNS failure, refused connection, TLS
 * handshake failure): only then is resending a non-idempotent request safe.
 */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  readonly kind: NetworkErrorKind;
  readonly host: string;
  /** The Node/axios error code, e.g. 'ECONNREFUSED'; '' when unknown. */
  readonly code: string;
  readonly mayHaveReachedServer: boolean;

  constructor(
    kind: NetworkErrorKind,
    host: string,
    options?: { code?: string; timeoutMs?: number; cause?: unknown },
  ) {
    super(networkMessage(kind, host, options?.code, options?.timeoutMs), {
      cause: options?.cause,
    });
    this.kind = kind;
    this.host = host;
    this.code = options?.code ?? '';
    this.mayHaveReachedServer = kind === 'timeout' || kind === 'reset';
  }
}

/**
 * MaintenanceError is the platform's 503 with a `maintenance` key. It is
 * never retried automatically; `eta` is the server's estimate (an ISO-like
 * string) or null.
 */
export class MaintenanceError extends Error {
  override readonly name = 'MaintenanceError';
  readonly eta: string | null;
  /** The server's own maintenance message ('' when none). */
  readonly serverMessage: string;
  /** Retry-After of the answer in ms, when it had one. */
  readonly retryAfterMs: number | null;

  constructor(params: {
    eta?: string | null;
    message?: string | null;
    retryAfterMs?: number | null;
  }) {
    const serverMessage = (params.message ?? '').trim();
    const eta = params.eta ?? null;
    let text = 'The platform is down for maintenance';
    text += serverMessage ? `: ${serverMessage}` : '.';
    if (eta) text += `${/[.!?]$/.test(text) ? '' : '.'} ETA is ${eta}.`;
    super(text);
    this.eta = eta;
    this.serverMessage = serverMessage;
    this.retryAfterMs = params.retryAfterMs ?? null;
  }
}

/**
 * ValidationError is bad input from the user or a caller, found before
 * anything was sent. `field` names where the problem is (an option, an
 * argument, a file); `message` says what is wrong, including the value.
 * `new ValidationError(message)` (one argument) leaves `field` empty, for
 * callers whose message already says where.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly field: string;

  constructor(field: string, message?: string) {
    super(message ?? field);
    this.field = message === undefined ? '' : field;
  }
}

/**
 * ProtocolError means the server answered, but not in a form we understand:
 * a body that is not JSON, a body that does not match the model, a
 * pagination link without an offset. `status` is the HTTP status of that
 * answer, `body` what was received. A 2xx ProtocolError on a POST means the
 * server did act on the request: do not send it again.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;

  constructor(params: {
    status: number;
    method: string;
    path: string;
    body: unknown;
    problem: string;
    cause?: unknown;
  }) {
    super(
      `Unexpected answer from the server to ${params.method.toUpperCase()} ${params.path} (${params.status}): ${params.problem}`,
      { cause: params.cause },
    );
    this.status = params.status;
    this.method = params.method.toUpperCase();
    this.path = params.path;
    this.body = params.body;
  }
}

/**
 * CancelledError means the user (or shutdown) cancelled the operation. It is
 * never retried and never reported as a failure.
 */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';

  constructor(message = 'Cancelled.', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * isCancellation is true for our CancelledError, axios' cancel error
 * (ERR_CANCELED), DOM/Node AbortError and the AWS SDK's AbortError.
 */
export function isCancellation(err: unknown): boolean {
  if (err instanceof CancelledError) return true;
  if (!isObject(err)) return false;
  if (err.name === 'AbortError' || err.name === 'CanceledError') return true;
  return err.code === 'ERR_CANCELED' || err.__CANCEL__ === true;
}

/** NetworkError kind for Node/axios error codes; null for other codes. */
export function networkKindOf(code: string): NetworkErrorKind | null {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return 'unknown-host';
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
    case 'ESOCKETTIMEDOUT':
    case 'ERR_SOCKET_CONNECTION_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'ENETDOWN':
    case 'EHOSTDOWN':
    case 'UND_ERR_SOCKET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'reset';
    default:
      if (
        code.startsWith('ERR_TLS') ||
        code.startsWith('ERR_SSL') ||
        code.includes('CERT') ||
        code === 'EPROTO' ||
        code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
        code === 'SELF_SIGNED_CERT_IN_CHAIN'
      ) {
        return 'tls';
      }
      return null;
  }
}

/**
 * parseRetryAfter turns a Retry-After value (delta seconds, or an HTTP date)
 * into a delay in ms, clamped at 0. Returns null for a missing or unreadable
 * value.
 */
export function parseRetryAfter(
  value: unknown,
  now: number = Date.now(),
): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text === 'number' && Number.isFinite(text)) {
    return Math.max(0, Math.round(text * 1000));
  }
  if (typeof text !== 'string') return null;
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    return Math.round(Number(trimmed) * 1000);
  }
  // An HTTP date must at least name a month or weekday, so that "-5" or
  // "soon" is not taken for a date by Date.parse's lenient parser.
  if (!/[a-z]{3}/i.test(trimmed)) return null;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/** S3 error names that mean "the temporary credentials must be renewed". */
const S3_REAUTH = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
]);
/** S3 error names that are worth retrying as they are. */
const S3_RETRY = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'TimeoutError',
]);

/**
 * classify decides what happens after `err`:
 *
 * - cancellation, maintenance, validation, bad credentials, forbidden,
 *   OTP needed, unknown errors (bugs): 'fatal';
 * - 401 / session expired / S3 ExpiredToken: 'reauth' (for S3 this means
 *   "refresh the upload credentials");
 * - 429: 'retry-after' with the Retry-After delay, or 'retry' without one;
 * - 5xx other than maintenance, 408, S3 RequestTimeout / SlowDown /
 *   InternalError: 'retry' ('retry-after' when the answer says when);
 * - other 4xx: 'fatal';
 * - network errors: 'retry', except a host name that does not exist
 *   (ENOTFOUND: a typo will not fix itself) and TLS failures, which are
 *   'fatal'. EAI_AGAIN (temporary DNS failure) is retried.
 */
export function classify(
  err: unknown,
  now: number = Date.now(),
): Classification {
  if (isCancellation(err)) return { action: 'fatal' };
  if (err instanceof MaintenanceError) return { action: 'fatal' };
  if (err instanceof ValidationError) return { action: 'fatal' };
  if (err instanceof AuthError) {
    return err.kind === 'session-expired'
      ? { action: 'reauth' }
      : { action: 'fatal' };
  }
  if (err instanceof NetworkError) {
    return classifyNetwork(err.kind, err.code);
  }
  if (err instanceof ApiError) {
    return classifyStatus(err.status, err.retryAfterMs);
  }
  if (!isObject(err)) return { action: 'fatal' };

  // axios error that was not converted (used outside our client).
  if (err.isAxiosError === true) {
    const response = isObject(err.response) ? err.response : null;
    if (response && typeof response.status === 'number') {
      const headers = isObject(response.headers) ? response.headers : {};
      const body = response.data;
      if (response.status === 503 && isMaintenanceBody(body)) {
        return { action: 'fatal' };
      }
      return classifyStatus(
        response.status,
        parseRetryAfter(headerValue(headers, 'retry-after'), now),
      );
    }
  }

  // AWS SDK service error: a `name` plus `$metadata.httpStatusCode`.
  const name = typeof err.name === 'string' ? err.name : '';
  const code = typeof err.Code === 'string' ? err.Code : name;
  if (S3_REAUTH.has(name) || S3_REAUTH.has(code)) return { action: 'reauth' };
  if (S3_RETRY.has(name) || S3_RETRY.has(code)) return { action: 'retry' };
  const metadata = isObject(err.$metadata) ? err.$metadata : null;
  if (metadata && typeof metadata.httpStatusCode === 'number') {
    const status = metadata.httpStatusCode;
    if (status === 400 || status === 403) {
      // S3 answers 400/403 for many things; only the names above retry.
      return { action: 'fatal' };
    }
    return classifyStatus(status, null);
  }

  // Node system error (also what the AWS SDK rethrows for socket failures).
  if (typeof err.code === 'string') {
    const kind = networkKindOf(err.code);
    if (kind) return classifyNetwork(kind, err.code);
  }
  if (isObject(err.cause) && err.cause !== err) return classify(err.cause, now);
  return { action: 'fatal' };
}

function classifyNetwork(kind: NetworkErrorKind, code: string): Classification {
  if (kind === 'tls') return { action: 'fatal' };
  if (kind === 'unknown-host' && code === 'ENOTFOUND') {
    return { action: 'fatal' };
  }
  return { action: 'retry' };
}

function classifyStatus(
  status: number,
  retryAfterMs: number | null,
): Classification {
  if (status === 401) return { action: 'reauth' };
  if (status === 429 || status === 503) {
    return retryAfterMs !== null
      ? { action: 'retry-after', afterMs: retryAfterMs }
      : { action: 'retry' };
  }
  if (status >= 500 || status === 408) return { action: 'retry' };
  return { action: 'fatal' };
}

/**
 * toUserMessage gives a short sentence for the user: our errors' messages as
 * they are, the message of other errors, never a stack trace.
 */
export function toUserMessage(err: unknown): string {
  if (isCancellation(err)) return 'Cancelled.';
  if (err instanceof Error) {
    const record = err as unknown as Record<string, any>;
    if (record.isAxiosError === true) {
      const response = isObject(record.response) ? record.response : null;
      if (response && typeof response.status === 'number') {
        const reason =
          typeof response.statusText === 'string' && response.statusText
            ? ` ${response.statusText}`
            : '';
        return `The server answered ${response.status}${reason}.`;
      }
      const code = typeof record.code === 'string' ? record.code : '';
      const kind = networkKindOf(code);
      if (kind) return new NetworkError(kind, 'the server', { code }).message;
    }
    return err.message || err.name || 'Unknown error.';
  }
  if (typeof err === 'string') return err;
  return 'Unknown error.';
}

/**
 * toLogString gives the detail for the log: the stack when there is one,
 * HTTP errors reduced to method, path and status, and the `cause` chain.
 * Never includes request headers or bodies of requests (which may hold
 * credentials).
 */
export function toLogString(err: unknown): string {
  const seen = new Set<unknown>();
  const parts: string[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    parts.push(describeForLog(current));
    current = isObject(current) ? current.cause : undefined;
  }
  return parts.join('\nCaused by: ');
}

function describeForLog(err: unknown): string {
  if (err instanceof ApiError) {
    return `ApiError: ${err.method} ${err.path} -> ${err.status}${
      err.details.length ? `: ${err.details.join(' | ')}` : ''
    }`;
  }
  if (isObject(err) && err.isAxiosError === true) {
    const config = isObject(err.config) ? err.config : {};
    const method =
      typeof config.method === 'string' ? config.method.toUpperCase() : '';
    const url = typeof config.url === 'string' ? stripQuery(config.url) : '';
    const response = isObject(err.response) ? err.response : null;
    const status =
      response && typeof response.status === 'number'
        ? ` -> ${response.status}`
        : '';
    const code = typeof err.code === 'string' ? ` (${err.code})` : '';
    return `AxiosError: ${method} ${url}${status}${code}: ${String(err.message)}`;
  }
  if (err instanceof Error) {
    const head = `${err.name}: ${err.message}`;
    const stack = typeof err.stack === 'string' ? err.stack : '';
    // Node's stack starts with "Name: message"; keep ours if it does not.
    return stack.startsWith(`${err.name}`) ? stack : `${head}\n${stack}`.trim();
  }
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/**
 * toErrorCode maps an error to the contract's stable code, for handlers that
 * return `{ ok: false, error: { code, message } }`.
 */
export function toErrorCode(err: unknown): ErrorCode {
  if (err instanceof AuthError) {
    return err.kind === 'forbidden' ? 'internal' : err.kind;
  }
  if (err instanceof NetworkError) return 'network';
  if (err instanceof MaintenanceError) return 'maintenance';
  if (err instanceof ValidationError) return 'validation';
  if (err instanceof ApiError) {
    if (err.status === 404) return 'not-found';
    if (err.status === 400) return 'validation';
    return 'internal';
  }
  return 'internal';
}

/**
 * renderErrorBody turns an error body of the platform into message lines:
 * `{"detail": d}` gives [d]; a list gives one line per item; a dict of field
 * errors gives one `field: first message` line per field (string values are
 * used as they are); short non-HTML text is kept as one line.
 */
export function renderErrorBody(body: unknown): string[] {
  if (body === null || body === undefined) return [];
  if (typeof body === 'string') {
    const text = body.trim();
    if (text === '' || /^<|<html/i.test(text)) return [];
    return [text.length > 300 ? `${text.slice(0, 300)}…` : text];
  }
  if (Array.isArray(body)) {
    return body.map((item) => messageOf(item)).filter((line) => line !== '');
  }
  if (isObject(body)) {
    if (typeof body.detail === 'string') return [body.detail];
    const lines: string[] = [];
    for (const [field, value] of Object.entries(body)) {
      const text = Array.isArray(value)
        ? messageOf(value[0])
        : messageOf(value);
      if (text !== '')
        lines.push(field === 'non_field_errors' ? text : `${field}: ${text}`);
    }
    return lines;
  }
  return [String(body)];
}

/** True for a 503 body of the platform's maintenance shape. */
export function isMaintenanceBody(body: unknown): body is {
  maintenance: unknown;
  maintenance_eta?: unknown;
  maintenance_message?: unknown;
} {
  return isObject(body) && 'maintenance' in body;
}

function messageOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (Array.isArray(value)) return messageOf(value[0]);
  if (isObject(value)) {
    if (typeof value.message === 'string') return value.message;
    if (typeof value.detail === 'string') return value.detail;
    const nested = renderErrorBody(value);
    return nested.join('; ');
  }
  return String(value);
}

function formatApiMessage(
  method: string,
  path: string,
  status: number,
  statusText: string | undefined,
  details: string[],
): string {
  const reason = statusText || defaultReason(status);
  const head = `${method.toUpperCase()} ${path} failed: ${status}${
    reason ? ` ${reason}` : ''
  }`;
  if (details.length === 0) return head;
  if (details.length === 1) return `${head}: ${details[0]}`;
  return `${head}:\n${details.map((line) => `  ${line}`).join('\n')}`;
}

function defaultReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    408: 'Request Timeout',
    409: 'Conflict',
    413: 'Payload Too Large',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return reasons[status] ?? '';
}

function defaultAuthMessage(kind: AuthErrorKind): string {
  switch (kind) {
    case 'bad-credentials':
      return 'Sign-in failed: the email, password or API key was not accepted.';
    case 'otp-required':
      return 'Sign-in needs a one-time code from your authenticator app.';
    case 'session-expired':
      return 'Your session has expired: please sign in again.';
    case 'forbidden':
      return 'Your account does not have permission to do this.';
    default:
      return assertNever(kind);
  }
}

function networkMessage(
  kind: NetworkErrorKind,
  host: string,
  code: string | undefined,
  timeoutMs: number | undefined,
): string {
  switch (kind) {
    case 'refused':
      return `Cannot reach ${host} (connection refused): is the server running?`;
    case 'unknown-host':
      return code === 'EAI_AGAIN'
        ? `Cannot reach ${host} (host name lookup failed for now): check your network connection.`
        : `Cannot reach ${host} (unknown host): check the host name and your network connection.`;
    case 'timeout':
      return timeoutMs
        ? `No answer from ${host} within ${Math.round(timeoutMs / 1000)} s (timeout): the server or the network is slow or down.`
        : `No answer from ${host} in time (timeout): the server or the network is slow or down.`;
    case 'reset':
      return `The connection to ${host} was lost (${code || 'connection reset'}): check your network connection.`;
    case 'tls':
      return `Cannot reach ${host} securely (TLS error${code ? ` ${code}` : ''}): check the address, the server's certificate or your proxy.`;
    default:
      return assertNever(kind);
  }
}

/** Throws for a `switch` case that the types say cannot happen. */
export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${String(value)}`);
}

function stripQuery(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : url.slice(0, at);
}

/** Reads a header from a plain or AxiosHeaders object, case-insensitively. */
export function headerValue(headers: unknown, name: string): unknown {
  if (!isObject(headers)) return undefined;
  const getter = headers.get;
  if (typeof getter === 'function') {
    const value: unknown = getter.call(headers, name);
    if (value !== undefined && value !== null) return value;
  }
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null;
}
