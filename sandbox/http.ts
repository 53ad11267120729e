/**
 * The sandbox's small HTTP layer: a router with the platform's path rules
 * (list endpoints end with `/`, endpoints that end in an id do not), JSON
 * replies with the platform's headers, request-body parsing, error bodies in
 * the platform's shapes, and the limit/offset pagination envelope.
 *
 * Every reply of the API is JSON except the ones a handler marks as text
 * (checksums, CSV report); every error body is JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { isUuid } from './util.ts';

/** An error that becomes an HTTP reply with a JSON body. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    super(
      typeof body === 'object' && body && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : JSON.stringify(body),
    );
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** notFound is the platform's 404 for unknown ids and paths. */
export function notFound(): ApiError {
  return new ApiError(404, { detail: 'Not found.' });
}

/** fieldError is a validation 400 in the `{"field": ["message"]}` shape. */
export function fieldError(field: string, message: string): ApiError {
  return new ApiError(400, { [field]: [message] });
}

/** fieldErrors is a validation 400 naming several fields at once. */
export function fieldErrors(errors: Record<string, string[]>): ApiError {
  return new ApiError(400, errors);
}

/** What a handler returns: a JSON body, a text body, or no body. */
export interface Reply {
  status: number;
  /** JSON body; omitted for 204 and for text replies. */
  json?: unknown;
  /** Raw text body, sent with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** json builds a JSON reply. */
export function json(
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): Reply {
  return { status, json: body, headers };
}

/** Parsed request handed to handlers. */
export interface ApiRequest<U = unknown> {
  method: string;
  url: URL;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** Authenticated principal (set by the server for protected routes). */
  user: U;
  /** Reads and parses the body once; `{}` when there is none. */
  body(): Promise<unknown>;
}

/** A route handler: returns the reply or throws an ApiError. */
export type Handler<U> = (req: ApiRequest<U>) => Promise<Reply> | Reply;

/** One route: a path pattern and its handlers by method. */
export interface RouteSpec<U> {
  /** e.g. `/api/v2/projects/{project_id}`; `{name}` matches one segment. */
  path: string;
  /** Routes with `auth: false` are served without credentials. */
  auth?: boolean;
  /** Path parameters that must be UUIDs (a malformed one is a 404). */
  uuidParams?: string[];
  methods: Partial<
    Record<'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler<U>>
  >;
}

interface CompiledRoute<U> {
  spec: RouteSpec<U>;
  pattern: RegExp;
  names: string[];
}

/** Result of `Router.match`. */
export type RouteMatch<U> =
  | { kind: 'none' }
  | {
      kind: 'found';
      route: RouteSpec<U>;
      params: Record<string, string>;
      allow: string;
    };

/**
 * Router matches request paths exactly (no trailing-slash rewriting, no
 * redirects). Routes are added by feature modules through `add`, so later
 * features (project subscriptions, webhooks) only register more routes.
 */
export class Router<U> {
  private routes: CompiledRoute<U>[] = [];

  add(...specs: RouteSpec<U>[]): void {
    for (const spec of specs) {
      const names: string[] = [];
      const source = spec.path
        .split(/(\{[a-z_]+\})/)
        .map((part) => {
          const m = /^\{([a-z_]+)\}$/.exec(part);
          if (m) {
            names.push(m[1]);
            return '([^/]+?)';
          }
          return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('');
      this.routes.push({ spec, pattern: new RegExp(`^${source}$`), names });
    }
  }

  match(pathname: string): RouteMatch<U> {
    for (const route of this.routes) {
      const m = route.pattern.exec(pathname);
      if (!m) {
        continue;
      }
      const params: Record<string, string> = {};
      let decodable = true;
      route.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]);
        } catch {
          decodable = false;
        }
      });
      if (!decodable) {
        return { kind: 'none' };
      }
      const uuidOk = (route.spec.uuidParams ?? []).every((name) =>
        isUuid(params[name]),
      );
      if (!uuidOk) {
        // Malformed UUIDs in the path are unknown resources, as on the
        // platform.
        return { kind: 'none' };
      }
      for (const name of route.spec.uuidParams ?? []) {
        params[name] = params[name].toLowerCase();
      }
      return {
        kind: 'found',
        route: route.spec,
        params,
        allow: allowHeader(route.spec),
      };
    }
    return { kind: 'none' };
  }
}

function allowHeader<U>(spec: RouteSpec<U>): string {
  const methods = Object.keys(spec.methods);
  const out: string[] = [];
  for (const m of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    if (methods.includes(m)) {
      out.push(m);
      if (m === 'GET') {
        out.push('HEAD');
      }
    }
  }
  out.push('OPTIONS');
  return out.join(', ');
}

/** Headers the platform sends on every API reply. */
export const API_HEADERS: Record<string, string> = {
  Vary: 'Accept, Origin',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * sendReply writes `reply` with Content-Length and the platform headers.
 * For HEAD, the headers of the GET reply are sent without the body.
 */
export function sendReply(
  res: ServerResponse,
  reply: Reply,
  extraHeaders: Record<string, string>,
  headOnly: boolean,
): void {
  let payload: Buffer | null = null;
  let contentType = reply.contentType;
  if (reply.text !== undefined) {
    payload = Buffer.from(reply.text, 'utf8');
    contentType ??= 'text/plain; charset=utf-8';
  } else if (reply.json !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.json), 'utf8');
    contentType ??= 'application/json';
  }
  const headers: Record<string, string | number> = {
    ...API_HEADERS,
    ...extraHeaders,
    ...(reply.headers ?? {}),
  };
  if (payload) {
    headers['Content-Type'] = contentType ?? 'application/json';
    headers['Content-Length'] = payload.length;
  } else {
    headers['Content-Length'] = 0;
  }
  res.writeHead(reply.status, headers);
  res.end(headOnly || !payload ? undefined : payload);
}

/** errorReply turns an ApiError into a Reply. */
export function errorReply(error: ApiError): Reply {
  return { status: error.status, json: error.body, headers: error.headers };
}

/** Largest request body the API reads (assignments of 1000 rows fit easily). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * readBody collects the request body (at most MAX_BODY_BYTES) and parses it
 * by Content-Type: JSON, or form-urlencoded into an object of strings. An
 * empty body is `{}`, as Django REST framework treats it.
 */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new ApiError(413, {
        detail: `Request body is larger than ${MAX_BODY_BYTES} bytes.`,
      });
    }
    chunks.push(buffer);
  }
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw.trim() === '') {
    return {};
  }
  const type = (req.headers['content-type'] ?? 'application/json')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(raw) as unknown;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ApiError(400, { detail: `JSON parse error - ${reason}` });
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const out: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(raw)) {
      out[key] ??= value;
    }
    return out;
  }
  throw new ApiError(415, {
    detail: `Unsupported media type "${type}" in request.`,
  });
}

/** requireObject rejects bodies that are not JSON objects, in DRF's words. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    return body as Record<string, unknown>;
  }
  const got = Array.isArray(body)
    ? 'list'
    : body === null
      ? 'null'
      : typeof body;
  throw new ApiError(400, {
    non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`],
  });
}

/** Page size when the request names none. */
export const DEFAULT_PAGE_SIZE = 100;
/** Largest page size; larger `limit` values are cut to it. */
export const MAX_PAGE_SIZE = 1000;

/** Page requested by `offset` and `limit` (invalid values fall back). */
export interface PageRequest {
  offset: number;
  limit: number;
}

function nonNegativeInt(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) {
    return null;
  }
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * pageRequest reads `offset` (default 0) and `limit` (default 100, at most
 * 1000; 0 or invalid means the default), as DRF's LimitOffsetPagination.
 */
export function pageRequest(query: URLSearchParams): PageRequest {
  const offset = nonNegativeInt(query.get('offset')) ?? 0;
  const limitValue = nonNegativeInt(query.get('limit'));
  const limit =
    limitValue === null || limitValue === 0
      ? DEFAULT_PAGE_SIZE
      : Math.min(limitValue, MAX_PAGE_SIZE);
  return { offset, limit };
}

/**
 * page builds the `{meta: {count, next, previous}, results}` envelope.
 * `next` always carries `offset` (the CLI reads only that); `previous`
 * omits it when it would be 0, as the recordings show. Links are absolute,
 * on `origin`, and keep every other query parameter of the request.
 */
export function page<T>(
  origin: string,
  url: URL,
  request: PageRequest,
  count: number,
  results: T[],
): {
  meta: { count: number; next: string | null; previous: string | null };
  results: T[];
} {
  const link = (offset: number | null): string => {
    const params = new URLSearchParams(url.searchParams);
    params.set('limit', String(request.limit));
    if (offset === null) {
      params.delete('offset');
    } else {
      params.set('offset', String(offset));
    }
    return `${origin}${url.pathname}?${params.toString()}`;
  };
  const nextOffset = request.offset + request.limit;
  const next = nextOffset < count ? link(nextOffset) : null;
  let previous: string | null = null;
  if (request.offset > 0) {
    const prevOffset = Math.max(0, request.offset - request.limit);
    previous = link(prevOffset === 0 ? null : prevOffset);
  }
  return { meta: { count, next, previous }, results };
}

/**
 * choice reads an enumerated query parameter; an unknown value is a 400 in
 * django-filter's words. Absent or empty means `fallback`.
 */
export function choice<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const value = query.get(name);
  if (value === null || value === '') {
    return fallback;
  }
  if ((allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw fieldError(
    name,
    `Select a valid choice. ${value} is not one of the available choices.`,
  );
}

/** dateFilter reads an ISO 8601 query parameter into epoch ms, or null. */
export function dateFilter(
  query: URLSearchParams,
  name: string,
): number | null {
  const value = query.get(name);
  if (value === null || value === '') {
    return null;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw fieldError(name, 'Enter a valid date/time.');
  }
  return ms;
}

/**
 * attachmentHeader builds a Content-Disposition value for `fileName`: an
 * ASCII `filename` (other characters replaced by `_`) plus an RFC 5987
 * `filename*` when the name is not plain ASCII, so that any name is a valid
 * header value.
 */
export function attachmentHeader(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  if (ascii === fileName) {
    return `attachment; filename="${fileName}"`;
  }
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
