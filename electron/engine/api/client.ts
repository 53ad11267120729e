/**
 * GencoveClient: the engine's REST client for the Gencove platform (v2 API)
 * and for our sandbox, which speaks the same API.
 *
 * What callers can rely on:
 * - Every id argument is normalised (hyphens optional) and checked before
 *   any request; bad input throws ValidationError.
 * - Errors are the classes of ../errors.ts: ApiError, AuthError,
 *   NetworkError, MaintenanceError, ProtocolError, ValidationError,
 *   CancelledError. Nothing else escapes except programming errors.
 * - Requests that are safe to repeat are retried with backoff (Retry-After
 *   honoured); requests that are not (assignment, project creation,
 *   metadata) are resent only when the server certainly did not act on
 *   them (429, or the connection was never made). JWT endpoints are never
 *   retried.
 * - With JWT auth an expired access token is refreshed once (and, with
 *   password auth, a fresh login tried once) transparently.
 * - List methods return every page; a server that paginates in a loop or
 *   sends a `next` link without an offset gets a ProtocolError.
 *
 * Plain Node; never imports 'electron'.
 */
import http from 'node:http';
import https from 'node:https';

import axios from 'axios';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { z } from 'zod';

import {
  DEFAULT_POLICY,
  NO_RETRY,
  throwIfAborted,
  withRetry,
} from '../backoff.ts';
import type { BackoffPolicy, RetryInfo, Sleep } from '../backoff.ts';
import {
  ApiError,
  AuthError,
  CancelledError,
  MaintenanceError,
  NetworkError,
  ProtocolError,
  ValidationError,
  classify,
  headerValue,
  isCancellation,
  isMaintenanceBody,
  networkKindOf,
  parseRetryAfter,
  renderErrorBody,
} from '../errors.ts';
import type { Classification } from '../errors.ts';
import {
  AssignResponseSchema,
  FileTypeSchema,
  JwtRefreshSchema,
  JwtTokensSchema,
  PaginatedSchema,
  PipelineCapabilitySchema,
  ProjectSchema,
  ProjectStatsSchema,
  SampleDetailsSchema,
  SampleListSchema,
  SampleMetadataSchema,
  SampleQcSchema,
  SampleSheetRowSchema,
  UploadCredentialsSchema,
  UploadSlotSchema,
  UserSchema,
} from './models.ts';
import type {
  AssignResponse,
  FileType,
  Paginated,
  PipelineCapability,
  Project,
  ProjectStats,
  SampleDetails,
  SampleList,
  SampleQc,
  SampleSheetRow,
  UploadCredentials,
  UploadSlot,
  User,
} from './models.ts';

/** How the client authenticates. */
export type Auth =
  | { kind: 'api-key'; apiKey: string }
  | {
      kind: 'password';
      email: string;
      password: string;
      /** Asked for a one-time code when the server wants one. */
      otp?: () => Promise<string>;
    }
  | { kind: 'tokens'; access: string; refresh: string };

/** Minimal logger; lines never contain credentials. */
export interface ClientLogger {
  debug(message: string): void;
  warn(message: string): void;
}

export interface ClientOptions {
  /** `https://host[:port]` (or http), trailing slash allowed, no path. */
  host: string;
  auth: Auth;
  /** Per-request timeout in ms (default 120000, as the platform's CLI). */
  timeoutMs?: number;
  /** Backoff for retried requests (default DEFAULT_POLICY). */
  retry?: BackoffPolicy;
  /** Sent as `User-Agent: gencove-desktop/<clientVersion>`. */
  clientVersion?: string;
  /** Aborts every request of this client. */
  signal?: AbortSignal;
  /** Called whenever the JWT pair changes (login, refresh). */
  onTokens?: (tokens: { access: string; refresh: string }) => void;
  logger?: ClientLogger;
  /**
   * Proxy for API requests, in axios' form; default false: no proxy, and
   * HTTP(S)_PROXY environment variables are ignored.
   */
  proxy?:
    | false
    | {
        protocol?: string;
        host: string;
        port: number;
        auth?: { username: string; password: string };
      };
  /** For tests: replaces the wait between retries. */
  sleep?: Sleep;
  /** For tests: the random source of the backoff jitter. */
  random?: () => number;
}

/** Alias of ClientOptions, under the name other modules import. */
export type GencoveClientOptions = ClientOptions;

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Filters of `project-samples/{id}` (reference 4.4). */
export interface ProjectSamplesQuery {
  /** Sent only when given (the CLI's download sends ''). */
  search?: string;
  /** Default 'all'. */
  status?: 'all' | 'completed' | 'failed' | 'running' | 'succeeded';
  /** Default 'all'. */
  archiveStatus?: 'all' | 'archived' | 'available' | 'restore_requested';
  /** true sends hidden_status=all; otherwise the parameter is left out. */
  hidden?: boolean;
  /** Default 'modified'. */
  sortBy?: 'client_id' | 'created' | 'id' | 'modified' | 'status';
  /** Default 'desc'. */
  sortOrder?: 'asc' | 'desc';
}

/** Page size of every paginated request (the platform's maximum). */
export const PAGE_SIZE = 200;
/** Capability ids per `pipeline-capabilities/?search=` request. */
export const CAPABILITY_SEARCH_BATCH = 50;
/** Most sample-sheet rows one assignment request may carry. */
export const ASSIGN_BATCH_SIZE = 200;
/** All endpoints live under this prefix. */
export const API_PREFIX = '/api/v2/';
/** Default per-request timeout. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** Guard against endless pagination: 10,000 pages of 200. */
const MAX_PAGES = 10_000;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Query = Record<string, string | number | boolean | null | undefined>;

/**
 * How a request may be repeated after a failure:
 * - 'always': idempotent; retried per classify (429, 5xx, network);
 * - 'unsent': retried only when the server certainly did not act (429,
 *   connection refused, temporary DNS failure);
 * - 'never': one attempt.
 */
type RetryMode = 'always' | 'unsent' | 'never';

interface RequestSpec {
  method: Method;
  /** Path below API_PREFIX, e.g. 'projects/' or `samples/${id}`. */
  path: string;
  query?: Query;
  body?: unknown;
  /** Default true; false for jwt-create/jwt-refresh. */
  auth?: boolean;
  retry: RetryMode;
  /** 'json' (default) or 'text' (checksum endpoint). */
  response?: 'json' | 'text';
  signal?: AbortSignal;
  /** Overrides the client's policy (uploads-post-data). */
  policy?: BackoffPolicy;
  /** Overrides the classification (uploads-post-data). */
  classify?: (err: unknown) => Classification;
}

interface RawResponse {
  status: number;
  statusText: string;
  headers: unknown;
  text: string;
  /** Parsed JSON, the text when it is not JSON, or null when empty. */
  body: unknown;
}

/** The client of the Gencove API. See the module comment for guarantees. */
export class GencoveClient {
  /** Normalised base URL, `scheme://host[:port]`, no trailing slash. */
  readonly host: string;

  readonly #auth: Auth;
  readonly #timeoutMs: number;
  readonly #policy: BackoffPolicy;
  readonly #userAgent: string;
  readonly #signal: AbortSignal | undefined;
  readonly #onTokens: ClientOptions['onTokens'];
  readonly #logger: ClientLogger | undefined;
  readonly #sleep: Sleep | undefined;
  readonly #random: (() => number) | undefined;
  readonly #http: AxiosInstance;
  /** Keep-alive connections, for requests that may be repeated. */
  readonly #agents: { http: http.Agent; https: https.Agent };
  /**
   * One connection per request, for requests that must not be sent twice:
   * a reused keep-alive socket that the server closed while idle fails in a
   * way that cannot be told apart from a lost answer.
   */
  readonly #freshAgents: { http: http.Agent; https: https.Agent };

  /** Current JWT pair (JWT auth only). */
  #access: string | null = null;
  #refresh: string | null = null;
  /** One login or renewal at a time; concurrent 401s share it. */
  #pendingLogin: Promise<void> | null = null;
  #pendingRenewal: Promise<void> | null = null;

  /**
   * Validates the host (ValidationError for a path, a query or a scheme
   * other than http/https) and the credentials' presence. Makes no request.
   */
  constructor(opts: ClientOptions) {
    this.host = normalizeHost(opts.host);
    this.#auth = checkAuth(opts.auth);
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#policy = opts.retry ?? DEFAULT_POLICY;
    this.#userAgent = `gencove-desktop/${opts.clientVersion ?? 'dev'}`;
    this.#signal = opts.signal;
    this.#onTokens = opts.onTokens;
    this.#logger = opts.logger;
    this.#sleep = opts.sleep;
    this.#random = opts.random;
    if (this.#auth.kind === 'tokens') {
      this.#access = this.#auth.access;
      this.#refresh = this.#auth.refresh;
    }
    this.#agents = {
      http: new http.Agent({ keepAlive: true }),
      https: new https.Agent({ keepAlive: true }),
    };
    this.#freshAgents = {
      http: new http.Agent({ keepAlive: false }),
      https: new https.Agent({ keepAlive: false }),
    };
    this.#http = axios.create({
      baseURL: this.host,
      timeout: this.#timeoutMs,
      // Redirects are not followed: an API answer never redirects, and
      // following one could carry the Authorization header elsewhere.
      maxRedirects: 0,
      proxy: opts.proxy ?? false,
      httpAgent: this.#agents.http,
      httpsAgent: this.#agents.https,
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
    });
  }

  /** The current JWT pair, or null with API-key auth / before login. */
  get tokens(): { access: string; refresh: string } | null {
    return this.#access && this.#refresh
      ? { access: this.#access, refresh: this.#refresh }
      : null;
  }

  /** Closes idle keep-alive sockets. The client stays usable. */
  close(): void {
    for (const agents of [this.#agents, this.#freshAgents]) {
      agents.http.destroy();
      agents.https.destroy();
    }
  }

  /**
   * login signs in. Password: `jwt-create`; when the server asks for a
   * one-time code (its error mentions `otp_token`) `auth.otp` is asked and
   * the login repeated with it (AuthError 'otp-required' without
   * `auth.otp`); wrong credentials give AuthError 'bad-credentials'.
   * Then (every kind) `GET user/` verifies the session and gives the user
   * (a refused API key gives 'bad-credentials').
   */
  async login(options: CallOptions = {}): Promise<User> {
    if (this.#auth.kind === 'password') {
      await this.#passwordLogin(options.signal);
    }
    return this.getUser(options);
  }

  /** getUser returns the signed-in user (`GET user/`). */
  async getUser(options: CallOptions = {}): Promise<User> {
    return this.#json(
      { method: 'GET', path: 'user/', retry: 'always', ...options },
      UserSchema,
    );
  }

  /**
   * listProjects returns every project (all pages). hidden: true includes
   * hidden projects (`hidden_status=all`); default `visible`.
   */
  async listProjects(
    opts: { search?: string; hidden?: boolean } = {},
    options: CallOptions = {},
  ): Promise<Project[]> {
    return this.#listAll(
      'projects/',
      {
        search: opts.search,
        hidden_status: opts.hidden ? 'all' : 'visible',
      },
      ProjectSchema,
      options.signal,
    );
  }

  /** getProject returns one project with its project-level `files`. */
  async getProject(id: string, options: CallOptions = {}): Promise<Project> {
    const projectId = normalizeUuid(id, 'project id');
    return this.#json(
      {
        method: 'GET',
        path: `projects/${projectId}`,
        retry: 'always',
        ...options,
      },
      ProjectSchema,
    );
  }

  /**
   * createProject creates a project for a pipeline capability. Not resent
   * after an ambiguous failure (it could create the project twice).
   */
  async createProject(
    name: string,
    pipelineCapabilities: string,
    options: CallOptions = {},
  ): Promise<Project> {
    const trimmed = typeof name === 'string' ? name.trim() : '';
    if (trimmed === '') {
      throw new ValidationError('project name', 'The project name is empty.');
    }
    if (trimmed.length > 255) {
      throw new ValidationError(
        'project name',
        `The project name is ${trimmed.length} characters long; at most 255 are allowed.`,
      );
    }
    const capability = normalizeUuid(
      pipelineCapabilities,
      'pipeline capability id',
    );
    return this.#json(
      {
        method: 'POST',
        path: 'projects/',
        body: { name: trimmed, pipeline_capabilities: capability },
        retry: 'unsent',
        ...options,
      },
      ProjectSchema,
    );
  }

  /**
   * getPipelineCapabilities returns the capabilities with these ids
   * (de-duplicated; `search=<comma-separated ids>`, 50 per request).
   */
  async getPipelineCapabilities(
    ids: string[],
    options: CallOptions = {},
  ): Promise<PipelineCapability[]> {
    const unique = [
      ...new Set(
        ids.map((id, i) => normalizeUuid(id, `capability id #${i + 1}`)),
      ),
    ];
    const found: PipelineCapability[] = [];
    for (let at = 0; at < unique.length; at += CAPABILITY_SEARCH_BATCH) {
      const batch = unique.slice(at, at + CAPABILITY_SEARCH_BATCH);
      found.push(
        ...(await this.#listAll(
          'pipeline-capabilities/',
          { search: batch.join(',') },
          PipelineCapabilitySchema,
          options.signal,
        )),
      );
    }
    return found;
  }

  /** listProjectSamplesPage returns one page of a project's samples. */
  async listProjectSamplesPage(
    projectId: string,
    q: ProjectSamplesQuery & { offset: number; limit: number },
    options: CallOptions = {},
  ): Promise<Paginated<SampleList>> {
    const id = normalizeUuid(projectId, 'project id');
    checkPaging(q.offset, q.limit);
    return this.#json(
      {
        method: 'GET',
        path: `project-samples/${id}`,
        query: { ...projectSamplesParams(q), offset: q.offset, limit: q.limit },
        retry: 'always',
        ...options,
      },
      PaginatedSchema(SampleListSchema),
    );
  }

  /** listProjectSamples returns every sample of a project (all pages). */
  async listProjectSamples(
    projectId: string,
    q: ProjectSamplesQuery = {},
    options: CallOptions = {},
  ): Promise<SampleList[]> {
    const id = normalizeUuid(projectId, 'project id');
    return this.#listAll(
      `project-samples/${id}`,
      projectSamplesParams(q),
      SampleListSchema,
      options.signal,
    );
  }

  /** getSample returns a sample with its files (`samples/{id}`). */
  async getSample(
    id: string,
    options: CallOptions = {},
  ): Promise<SampleDetails> {
    const sampleId = normalizeUuid(id, 'sample id');
    return this.#json(
      {
        method: 'GET',
        path: `samples/${sampleId}`,
        retry: 'always',
        ...options,
      },
      SampleDetailsSchema,
    );
  }

  /** getSampleQc returns the QC metrics (one request, offset=0&limit=200). */
  async getSampleQc(
    id: string,
    options: CallOptions = {},
  ): Promise<SampleQc[]> {
    const sampleId = normalizeUuid(id, 'sample id');
    const page = await this.#json(
      {
        method: 'GET',
        path: `sample-quality-controls/${sampleId}`,
        query: { offset: 0, limit: PAGE_SIZE },
        retry: 'always',
        ...options,
      },
      PaginatedSchema(SampleQcSchema),
    );
    return page.results;
  }

  /** getSampleMetadata returns `{metadata}` (any JSON value or null). */
  async getSampleMetadata(
    id: string,
    options: CallOptions = {},
  ): Promise<{ metadata: unknown }> {
    const sampleId = normalizeUuid(id, 'sample id');
    return this.#json(
      {
        method: 'GET',
        path: `sample-metadata/${sampleId}`,
        retry: 'always',
        ...options,
      },
      SampleMetadataSchema,
    );
  }

  /**
   * setSampleMetadata stores `metadata` (any JSON value) for a sample. Not
   * resent after an ambiguous failure.
   */
  async setSampleMetadata(
    id: string,
    metadata: unknown,
    options: CallOptions = {},
  ): Promise<{ metadata: unknown }> {
    const sampleId = normalizeUuid(id, 'sample id');
    checkJson(metadata, 'metadata');
    return this.#json(
      {
        method: 'POST',
        path: `sample-metadata/${sampleId}`,
        body: { metadata },
        retry: 'unsent',
        ...options,
      },
      SampleMetadataSchema,
    );
  }

  /**
   * getFileTypes returns the file types (all pages), for a project and/or
   * an object kind ('sample' default on the server, or 'reference_genome').
   */
  async getFileTypes(
    opts: { projectId?: string; object?: 'sample' | 'reference_genome' } = {},
    options: CallOptions = {},
  ): Promise<FileType[]> {
    const projectId =
      opts.projectId === undefined
        ? undefined
        : normalizeUuid(opts.projectId, 'project id');
    if (
      opts.object !== undefined &&
      opts.object !== 'sample' &&
      opts.object !== 'reference_genome'
    ) {
      throw new ValidationError(
        'object',
        `File type object "${String(opts.object)}" is not one of sample, reference_genome.`,
      );
    }
    // The platform's CLI asks for the first page without offset/limit.
    return this.#listAll(
      'file-types/',
      { project_id: projectId, object: opts.object },
      FileTypeSchema,
      options.signal,
      { firstPageUnpaged: true },
    );
  }

  /**
   * getFileChecksum returns the checksum line of a file as the server sends
   * it: `<64 hex> *<filename>\n` (see parseChecksumLine). A file without a
   * checksum gives ApiError 400 ("File does not have checksum.").
   */
  async getFileChecksum(
    fileId: string,
    filename?: string,
    options: CallOptions = {},
  ): Promise<string> {
    const id = normalizeUuid(fileId, 'file id');
    const raw = await this.#send({
      method: 'GET',
      path: `files/${id}.sha256`,
      query: { filename },
      retry: 'always',
      response: 'text',
      ...options,
    });
    if (parseChecksumLine(raw.text) === null) {
      throw new ProtocolError({
        status: raw.status,
        method: 'GET',
        path: `${API_PREFIX}files/${id}.sha256`,
        body: raw.text.slice(0, 200),
        problem: 'the body is not a "<sha256> *<name>" checksum line',
      });
    }
    return raw.text;
  }

  /** getUploadCredentials returns temporary S3 credentials (body `{}`). */
  async getUploadCredentials(
    options: CallOptions = {},
  ): Promise<UploadCredentials> {
    return this.#json(
      {
        method: 'POST',
        path: 'upload-credentials/',
        body: {},
        retry: 'always',
        ...options,
      },
      UploadCredentialsSchema,
    );
  }

  /**
   * createUploadSlot returns the upload record for a `gncv://` destination,
   * creating it on the first call (the same path gives the same record, so
   * it is safe to repeat). Retries as the reference 3.4 says: 429 up to 20
   * tries; 5xx, network errors and an answer without `last_status` up to 10;
   * 400 (e.g. destination taken by a deleted upload) at once as ApiError.
   */
  async createUploadSlot(
    destinationPath: string,
    options: CallOptions = {},
  ): Promise<UploadSlot> {
    checkDestinationPath(destinationPath);
    let otherFailures = 0;
    const classifySlot = (err: unknown): Classification => {
      if (err instanceof ApiError && err.status === 429) return classify(err);
      if (err instanceof IncompleteSlotError) {
        otherFailures++;
        return otherFailures >= 10 ? { action: 'fatal' } : { action: 'retry' };
      }
      const c = classify(err);
      if (c.action === 'retry' || c.action === 'retry-after') {
        otherFailures++;
        if (otherFailures >= 10) return { action: 'fatal' };
      }
      return c;
    };
    const path = `${API_PREFIX}uploads-post-data/`;
    return this.#request(
      {
        method: 'POST',
        path: 'uploads-post-data/',
        body: { destination_path: destinationPath },
        retry: 'always',
        policy: { ...this.#policy, maxAttempts: 20 },
        classify: classifySlot,
        ...options,
      },
      (raw) => {
        const slot = parseWith(UploadSlotSchema, raw, 'POST', path);
        if (!slot.last_status) {
          throw new IncompleteSlotError({
            status: raw.status,
            method: 'POST',
            path,
            body: raw.body,
            problem: 'the upload record has no last_status',
          });
        }
        return slot;
      },
    );
  }

  /**
   * listSampleSheet returns every sample-sheet row (all pages) for a
   * `gncv://` prefix (`search`) and assignment status (default 'all'),
   * newest first (`sort_by=created&sort_order=desc`).
   */
  async listSampleSheet(
    q: { search?: string; status?: 'all' | 'assigned' | 'unassigned' },
    options: CallOptions = {},
  ): Promise<SampleSheetRow[]> {
    const status = q.status ?? 'all';
    if (!['all', 'assigned', 'unassigned'].includes(status)) {
      throw new ValidationError(
        'status',
        `Sample sheet status "${status}" is not one of all, assigned, unassigned.`,
      );
    }
    return this.#listAll(
      'sample-sheet/',
      { search: q.search, status, sort_by: 'created', sort_order: 'desc' },
      SampleSheetRowSchema,
      options.signal,
    );
  }

  /**
   * assignSamples assigns sample-sheet rows (1 to ASSIGN_BATCH_SIZE, passed
   * through unchanged) to a project with one metadata value, which starts
   * the analysis. It is never resent after a failure that the server may
   * have acted on: a NetworkError with `mayHaveReachedServer`, an ApiError
   * 5xx or a 2xx ProtocolError must be reported, and the sample sheet
   * checked, before trying again. Only 429 and connections that were never
   * made are retried.
   */
  async assignSamples(
    projectId: string,
    uploads: SampleSheetRow[],
    metadata: unknown,
    options: CallOptions = {},
  ): Promise<AssignResponse> {
    const id = normalizeUuid(projectId, 'project id');
    if (!Array.isArray(uploads) || uploads.length === 0) {
      throw new ValidationError('uploads', 'There are no uploads to assign.');
    }
    if (uploads.length > ASSIGN_BATCH_SIZE) {
      throw new ValidationError(
        'uploads',
        `${uploads.length} uploads were given; at most ${ASSIGN_BATCH_SIZE} may be assigned in one request.`,
      );
    }
    uploads.forEach((row, i) => {
      const parsed = SampleSheetRowSchema.safeParse(row);
      if (!parsed.success) {
        throw new ValidationError(
          `uploads[${i}]`,
          `Upload row ${i + 1} is not a sample-sheet row: ${summarizeIssues(parsed.error)}.`,
        );
      }
    });
    checkJson(metadata, 'metadata');
    return this.#json(
      {
        method: 'POST',
        path: `project-samples/${id}`,
        body: { uploads, metadata: metadata ?? null },
        retry: 'unsent',
        ...options,
      },
      AssignResponseSchema,
    );
  }

  /** getProjectStats returns sample counts and sizes of a project. */
  async getProjectStats(
    projectId: string,
    options: CallOptions = {},
  ): Promise<ProjectStats> {
    const id = normalizeUuid(projectId, 'project id');
    return this.#json(
      {
        method: 'GET',
        path: `project-stats/${id}`,
        retry: 'always',
        ...options,
      },
      ProjectStatsSchema,
    );
  }

  // -------------------------------------------------------------------------
  // Pagination

  async #listAll<S extends z.ZodType>(
    path: string,
    query: Query,
    item: S,
    signal: AbortSignal | undefined,
    opts: { firstPageUnpaged?: boolean } = {},
  ): Promise<z.infer<S>[]> {
    const schema = PaginatedSchema(item);
    const results: z.infer<S>[] = [];
    const seen = new Set<number>();
    let offset = 0;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) {
        throw this.#paginationError(path, `more than ${MAX_PAGES} pages`);
      }
      const paging =
        page === 0 && opts.firstPageUnpaged ? {} : { offset, limit: PAGE_SIZE };
      const answer = (await this.#json(
        {
          method: 'GET',
          path,
          query: { ...query, ...paging },
          retry: 'always',
          signal,
        },
        schema,
      )) as Paginated<z.infer<S>>;
      results.push(...answer.results);
      const next = answer.meta.next;
      if (next === null || next === undefined || next === '') return results;
      if (answer.results.length === 0) {
        throw this.#paginationError(path, 'an empty page links to a next page');
      }
      const nextOffset = offsetOf(next, this.host);
      if (nextOffset === null) {
        throw this.#paginationError(
          path,
          `the next link has no usable offset (${stripSecrets(next)})`,
        );
      }
      if (nextOffset <= offset) {
        throw this.#paginationError(
          path,
          `the next link goes back to offset ${nextOffset} from ${offset}`,
        );
      }
      if (seen.has(nextOffset)) {
        throw this.#paginationError(path, `offset ${nextOffset} came twice`);
      }
      seen.add(nextOffset);
      offset = nextOffset;
    }
  }

  #paginationError(path: string, problem: string): ProtocolError {
    return new ProtocolError({
      status: 200,
      method: 'GET',
      path: API_PREFIX + path,
      body: null,
      problem: `pagination failed: ${problem}`,
    });
  }

  // -------------------------------------------------------------------------
  // Requests

  /** One request with retries, parsed with `schema`. */
  async #json<S extends z.ZodType>(
    spec: RequestSpec,
    schema: S,
  ): Promise<z.infer<S>> {
    return this.#request(spec, (raw) =>
      parseWith(schema, raw, spec.method, API_PREFIX + spec.path),
    );
  }

  /** One request with retries; `parse` runs inside the retried attempt. */
  async #request<T>(
    spec: RequestSpec,
    parse: (raw: RawResponse) => T,
  ): Promise<T> {
    const signal = anySignal(this.#signal, spec.signal);
    const policy =
      spec.retry === 'never' ? NO_RETRY : (spec.policy ?? this.#policy);
    const classifyError =
      spec.classify ??
      (spec.retry === 'unsent'
        ? classifyUnsent
        : (err: unknown) => classify(err));
    return withRetry(async () => parse(await this.#send({ ...spec, signal })), {
      policy,
      signal,
      classify: classifyError,
      sleep: this.#sleep,
      random: this.#random,
      onRetry: (info) => this.#logRetry(spec, info),
    });
  }

  #logRetry(spec: RequestSpec, info: RetryInfo): void {
    this.#logger?.debug(
      `GencoveClient/${spec.method}(${API_PREFIX}${spec.path}): attempt ${info.attempt} failed (${
        info.error instanceof Error ? info.error.message : String(info.error)
      }); retrying in ${info.delayMs} ms`,
    );
  }

  /**
   * One request with authentication and the 401 recovery, without retries.
   * Non-2xx answers become errors.
   */
  async #send(spec: RequestSpec): Promise<RawResponse> {
    const needsAuth = spec.auth !== false;
    if (needsAuth && this.#auth.kind === 'password' && !this.#access) {
      await this.#sharedLogin(spec.signal);
    }
    const accessUsed = this.#access;
    let raw = await this.#exchange(spec, needsAuth);
    if (raw.status === 401 && needsAuth) {
      if (this.#auth.kind === 'api-key') {
        throw new AuthError(
          'bad-credentials',
          `The API key was not accepted (401${detailSuffix(raw.body)}).`,
          { status: 401 },
        );
      }
      await this.#renewSession(accessUsed, spec.signal);
      raw = await this.#exchange(spec, needsAuth);
      if (raw.status === 401) {
        throw new AuthError(
          'session-expired',
          `Your session has expired and could not be renewed (401${detailSuffix(raw.body)}): please sign in again.`,
          { status: 401 },
        );
      }
    }
    return this.#check(spec, raw);
  }

  /** Turns a non-2xx answer into the matching error. */
  #check(spec: RequestSpec, raw: RawResponse): RawResponse {
    if (raw.status >= 200 && raw.status < 300) return raw;
    const path = API_PREFIX + spec.path;
    const retryAfterMs = parseRetryAfter(
      headerValue(raw.headers, 'retry-after'),
    );
    if (raw.status === 503 && isMaintenanceBody(raw.body)) {
      const body = raw.body as Record<string, unknown>;
      throw new MaintenanceError({
        eta: asText(body.maintenance_eta),
        message: asText(body.maintenance_message),
        retryAfterMs,
      });
    }
    if (raw.status === 403) {
      throw new AuthError(
        'forbidden',
        `Your account may not do this (${spec.method} ${path}: 403${detailSuffix(raw.body)}).`,
        { status: 403 },
      );
    }
    let body = raw.body;
    if (raw.status >= 300 && raw.status < 400) {
      const location = asText(headerValue(raw.headers, 'location'));
      body = {
        detail: location
          ? `the server redirects to ${stripSecrets(location)}; use that address as the host`
          : 'the server answered with a redirect',
      };
    }
    throw new ApiError({
      status: raw.status,
      method: spec.method,
      path,
      body,
      statusText: raw.statusText,
      retryAfterMs,
    });
  }

  /** One HTTP exchange. Network failures become NetworkError. */
  async #exchange(spec: RequestSpec, withAuth: boolean): Promise<RawResponse> {
    throwIfAborted(spec.signal);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: spec.response === 'text' ? 'text/plain, */*' : 'application/json',
      'user-agent': this.#userAgent,
    };
    if (withAuth) {
      headers.authorization =
        this.#auth.kind === 'api-key'
          ? `Api-Key ${this.#auth.apiKey}`
          : `Bearer ${this.#access ?? ''}`;
    }
    let response: AxiosResponse<unknown>;
    try {
      response = await this.#http.request({
        method: spec.method,
        url: API_PREFIX + spec.path + queryString(spec.query),
        headers,
        data: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: spec.signal,
        ...(spec.retry === 'always'
          ? {}
          : {
              httpAgent: this.#freshAgents.http,
              httpsAgent: this.#freshAgents.https,
            }),
      });
    } catch (err) {
      throw this.#networkError(err, spec.signal);
    }
    const text = bodyText(response.data);
    return {
      status: response.status,
      statusText: response.statusText ?? '',
      headers: response.headers,
      text,
      body: parseBody(text),
    };
  }

  #networkError(err: unknown, signal: AbortSignal | undefined): Error {
    // The axios error holds the request config, Authorization header
    // included: only its code and message travel on as the cause.
    const cause = sanitizedCause(err);
    if (isCancellation(err) || signal?.aborted) {
      return new CancelledError('Cancelled.', { cause });
    }
    const code = errorCode(err);
    const kind = networkKindOf(code);
    const host = new URL(this.host).host;
    if (kind) {
      return new NetworkError(kind, host, {
        code,
        timeoutMs: kind === 'timeout' ? this.#timeoutMs : undefined,
        cause,
      });
    }
    // Unknown transport failure: treat as a lost connection.
    return new NetworkError('reset', host, { code, cause });
  }

  // -------------------------------------------------------------------------
  // Authentication

  async #sharedLogin(signal: AbortSignal | undefined): Promise<void> {
    if (!this.#pendingLogin) {
      this.#pendingLogin = this.#passwordLogin(signal).finally(() => {
        this.#pendingLogin = null;
      });
    }
    return this.#pendingLogin;
  }

  /** jwt-create, with the one-time-code round when the server asks. */
  async #passwordLogin(signal: AbortSignal | undefined): Promise<void> {
    const auth = this.#auth;
    if (auth.kind !== 'password') return;
    let otpToken: string | undefined;
    // Each wrong code makes the server ask again; three codes at most.
    for (let codesAsked = 0; ;) {
      const body: Record<string, string> = {
        email: auth.email,
        password: auth.password,
      };
      if (otpToken !== undefined) body.otp_token = otpToken;
      const raw = await this.#exchange(
        {
          method: 'POST',
          path: 'jwt-create/',
          body,
          auth: false,
          retry: 'never',
          signal: anySignal(this.#signal, signal),
        },
        false,
      );
      if (raw.status >= 200 && raw.status < 300) {
        const tokens = parseWith(
          JwtTokensSchema,
          raw,
          'POST',
          `${API_PREFIX}jwt-create/`,
        );
        this.#setTokens(tokens.access, tokens.refresh);
        return;
      }
      if (raw.status === 503 && isMaintenanceBody(raw.body)) {
        this.#check(
          { method: 'POST', path: 'jwt-create/', retry: 'never' },
          raw,
        );
      }
      if (raw.status === 400 || raw.status === 401 || raw.status === 403) {
        if (mentionsOtp(raw.text)) {
          if (!auth.otp) {
            throw new AuthError('otp-required', undefined, {
              status: raw.status,
            });
          }
          if (codesAsked >= 3) {
            throw new AuthError(
              'bad-credentials',
              'Sign-in failed: the one-time code was not accepted.',
              { status: raw.status },
            );
          }
          codesAsked++;
          otpToken = (await auth.otp()).trim();
          throwIfAborted(anySignal(this.#signal, signal));
          continue;
        }
        const detail = renderErrorBody(raw.body).join(' ');
        throw new AuthError(
          'bad-credentials',
          `Sign-in failed: the email or password was not accepted${detail ? ` (${detail})` : ''}.`,
          { status: raw.status },
        );
      }
      this.#check({ method: 'POST', path: 'jwt-create/', retry: 'never' }, raw);
    }
  }

  /**
   * Renews the access token after a 401: jwt-refresh once; if that fails
   * and a password is known, one fresh login; else 'session-expired'.
   * Concurrent callers share one renewal; a caller whose token was already
   * replaced since its request skips it.
   */
  async #renewSession(
    accessUsed: string | null,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (this.#access !== accessUsed && this.#access) return;
    if (!this.#pendingRenewal) {
      this.#pendingRenewal = this.#doRenew(signal).finally(() => {
        this.#pendingRenewal = null;
      });
    }
    return this.#pendingRenewal;
  }

  async #doRenew(signal: AbortSignal | undefined): Promise<void> {
    let refreshProblem = 'no refresh token';
    if (this.#refresh) {
      const raw = await this.#exchange(
        {
          method: 'POST',
          path: 'jwt-refresh/',
          body: { refresh: this.#refresh },
          auth: false,
          retry: 'never',
          signal: anySignal(this.#signal, signal),
        },
        false,
      );
      if (raw.status >= 200 && raw.status < 300) {
        const renewed = parseWith(
          JwtRefreshSchema,
          raw,
          'POST',
          `${API_PREFIX}jwt-refresh/`,
        );
        this.#setTokens(renewed.access, renewed.refresh ?? this.#refresh);
        return;
      }
      if (raw.status === 503 && isMaintenanceBody(raw.body)) {
        this.#check(
          { method: 'POST', path: 'jwt-refresh/', retry: 'never' },
          raw,
        );
      }
      if (raw.status !== 400 && raw.status !== 401) {
        // 429, 5xx: not a verdict on the session; let the caller retry.
        this.#check(
          { method: 'POST', path: 'jwt-refresh/', retry: 'never' },
          raw,
        );
      }
      refreshProblem = `refresh refused: ${raw.status}`;
    }
    if (this.#auth.kind === 'password') {
      this.#logger?.debug(
        `GencoveClient/renewSession: ${refreshProblem}; signing in again`,
      );
      await this.#passwordLogin(signal);
      return;
    }
    throw new AuthError('session-expired', undefined, { status: 401 });
  }

  #setTokens(access: string, refresh: string): void {
    this.#access = access;
    this.#refresh = refresh;
    this.#onTokens?.({ access, refresh });
  }
}

/** A 2xx uploads-post-data answer without `last_status` (retried). */
class IncompleteSlotError extends ProtocolError {}

// ---------------------------------------------------------------------------
// Input checks (exported: the CLI and IPC layer validate with the same rules)

const UUID_HYPHENATED =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UUID_COMPACT = /^[0-9a-f]{32}$/;

/**
 * normalizeUuid returns the lowercase hyphenated form of a UUID given with
 * or without hyphens (and optional braces or surrounding spaces), or throws
 * ValidationError naming `field` and the value.
 */
export function normalizeUuid(value: string, field = 'id'): string {
  const text =
    typeof value === 'string'
      ? value
          .trim()
          .toLowerCase()
          .replace(/^\{(.*)\}$/, '$1')
      : '';
  if (UUID_HYPHENATED.test(text)) return text;
  if (UUID_COMPACT.test(text)) {
    return [
      text.slice(0, 8),
      text.slice(8, 12),
      text.slice(12, 16),
      text.slice(16, 20),
      text.slice(20),
    ].join('-');
  }
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value.slice(0, 80))
      : String(value);
  throw new ValidationError(
    field,
    `The ${field} ${shown} is not a valid UUID (expected 32 hexadecimal digits, hyphens optional).`,
  );
}

/**
 * normalizeHost returns `scheme://host[:port]` for a base URL given as
 * `https://host[:port]` or `http://…`, with or without trailing slash.
 * Anything with a path, query, fragment, credentials or another scheme
 * throws ValidationError.
 */
export function normalizeHost(input: string): string {
  const text = typeof input === 'string' ? input.trim() : '';
  if (text === '') {
    throw new ValidationError('host', 'The host is empty.');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(
      'host',
      text.includes('://')
        ? `The host "${text}" is not a URL: write it as https://host[:port].`
        : `The host "${text}" has no scheme: write it as https://${text}.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationError(
      'host',
      /^[a-z0-9.-]+:\d+$/i.test(text) || !text.includes('://')
        ? `The host "${text}" has no scheme: write it as https://${text}.`
        : `The host "${text}" uses ${url.protocol.slice(0, -1)}; only http and https are supported.`,
    );
  }
  if (url.username || url.password) {
    throw new ValidationError(
      'host',
      `The host "${url.host}" must not carry a user name or password.`,
    );
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new ValidationError(
      'host',
      `The host "${text}" has a path, query or fragment; give only https://host[:port] (the API paths are added by the client).`,
    );
  }
  if (url.hostname === '') {
    throw new ValidationError('host', `The host "${text}" has no host name.`);
  }
  return `${url.protocol}//${url.host}`;
}

/**
 * parseChecksumLine reads a `sha256sum` line (`<64 hex> *<name>` or
 * `<64 hex>  <name>`), returning the lowercase digest and the name, or null.
 */
export function parseChecksumLine(
  text: string,
): { sha256: string; filename: string } | null {
  const line = text.replace(/\r?\n$/, '');
  if (line.includes('\n')) return null;
  const match = /^([0-9a-fA-F]{64})(?: [ *](.*))?$/.exec(line);
  if (!match) return null;
  return { sha256: match[1].toLowerCase(), filename: match[2] ?? '' };
}

function checkAuth(auth: Auth): Auth {
  if (!auth || typeof auth !== 'object') {
    throw new ValidationError('auth', 'No credentials were given.');
  }
  switch (auth.kind) {
    case 'api-key':
      if (typeof auth.apiKey !== 'string' || auth.apiKey.trim() === '') {
        throw new ValidationError('api key', 'The API key is empty.');
      }
      if (/[\r\n]/.test(auth.apiKey)) {
        throw new ValidationError(
          'api key',
          'The API key contains a line break.',
        );
      }
      return { kind: 'api-key', apiKey: auth.apiKey.trim() };
    case 'password':
      if (typeof auth.email !== 'string' || auth.email.trim() === '') {
        throw new ValidationError('email', 'The email address is empty.');
      }
      if (typeof auth.password !== 'string' || auth.password === '') {
        throw new ValidationError('password', 'The password is empty.');
      }
      return { ...auth, email: auth.email.trim() };
    case 'tokens':
      if (!auth.access || !auth.refresh || /[\r\n]/.test(auth.access)) {
        throw new ValidationError(
          'tokens',
          'The saved session tokens are incomplete.',
        );
      }
      return auth;
    default:
      throw new ValidationError(
        'auth',
        `Unknown credential kind "${String((auth as { kind: unknown }).kind)}".`,
      );
  }
}

function checkDestinationPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('gncv://')) {
    throw new ValidationError(
      'destination',
      `The destination ${JSON.stringify(String(path).slice(0, 200))} must start with gncv://.`,
    );
  }
  if (path.endsWith('/') || path.length <= 'gncv://'.length) {
    throw new ValidationError(
      'destination',
      `The destination "${path}" names a folder; an upload needs a file name.`,
    );
  }
  if (path.length > 1024 || /[\u0000-\u001f]/.test(path)) {
    throw new ValidationError(
      'destination',
      `The destination "${path.slice(0, 200)}" is too long or contains control characters.`,
    );
  }
}

function checkPaging(offset: number, limit: number): void {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ValidationError(
      'offset',
      `The offset ${offset} is not a whole number ≥ 0.`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_SIZE) {
    throw new ValidationError(
      'limit',
      `The limit ${limit} is not a whole number from 1 to ${PAGE_SIZE}.`,
    );
  }
}

function checkJson(value: unknown, field: string): void {
  try {
    if (value !== undefined && JSON.stringify(value) === undefined) {
      throw new Error('not representable');
    }
  } catch {
    throw new ValidationError(field, `The ${field} is not a JSON value.`);
  }
}

// ---------------------------------------------------------------------------
// Helpers

function projectSamplesParams(q: ProjectSamplesQuery): Query {
  return {
    search: q.search,
    sort_by: q.sortBy ?? 'modified',
    sort_order: q.sortOrder ?? 'desc',
    status: q.status ?? 'all',
    archive_status: q.archiveStatus ?? 'all',
    hidden_status: q.hidden ? 'all' : undefined,
  };
}

/** 'unsent' requests: retried only when the server cannot have acted. */
function classifyUnsent(err: unknown): Classification {
  if (err instanceof ApiError && err.status === 429) return classify(err);
  if (err instanceof NetworkError && !err.mayHaveReachedServer) {
    return classify(err);
  }
  return { action: 'fatal' };
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function offsetOf(next: string, base: string): number | null {
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return null;
  }
  const value = url.searchParams.get('offset');
  if (value === null || !/^\d+$/.test(value)) return null;
  return Number(value);
}

function parseWith<S extends z.ZodType>(
  schema: S,
  raw: RawResponse,
  method: string,
  path: string,
): z.infer<S> {
  const body = raw.body === null ? {} : raw.body;
  if (typeof body === 'string') {
    throw new ProtocolError({
      status: raw.status,
      method,
      path,
      body: raw.text.slice(0, 200),
      problem: 'the body is not JSON',
    });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ProtocolError({
      status: raw.status,
      method,
      path,
      body,
      problem: summarizeIssues(parsed.error),
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function summarizeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}

function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === null || data === undefined) return '';
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return JSON.stringify(data);
}

function parseBody(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  if (!/^[[{"]|^(true|false|null|-?\d)/.test(trimmed)) return text;
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

function mentionsOtp(text: string): boolean {
  return text.includes('otp_token');
}

function detailSuffix(body: unknown): string {
  const lines = renderErrorBody(body);
  return lines.length ? `: ${lines.join(' ')}` : '';
}

function asText(value: unknown): string | null {
  if (Array.isArray(value)) return asText(value[0]);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return null;
}

/** Drops query strings from URLs shown to users (signed links, tokens). */
function stripSecrets(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : `${url.slice(0, at)}?…`;
}

function errorCode(err: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const record = current as Record<string, unknown>;
    if (typeof record.code === 'string' && networkKindOf(record.code)) {
      return record.code;
    }
    if (Array.isArray(record.errors) && record.errors.length > 0) {
      const inner = errorCode(record.errors[0]);
      if (inner) return inner;
    }
    current = record.cause;
  }
  const top = err as { code?: unknown } | null;
  return top && typeof top.code === 'string' ? top.code : '';
}

/** A plain Error with the code and message of `err`, nothing else. */
function sanitizedCause(err: unknown): Error {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(code ? `${code}: ${message}` : message), {
    code,
  });
}

function anySignal(
  a: AbortSignal | undefined,
  b: AbortSignal | undefined,
): AbortSignal | undefined {
  if (!a) return b;
  if (!b || a === b) return a;
  return AbortSignal.any([a, b]);
}
