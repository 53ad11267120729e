/**
 * Download planning: which samples, which of their files, and where each
 * goes locally. Everything that can be wrong with the request (ids, file
 * types, template, two files on one path) is found here, before a single
 * byte is written.
 */
import path from 'node:path';

import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../../shared/domain.ts';
import type { DownloadRequest } from '../../../shared/domain.ts';
import type { GencoveClient } from '../api/client.ts';
import type { FileType, SampleDetails, SampleList } from '../api/models.ts';
import {
  ApiError,
  AuthError,
  ValidationError,
  isCancellation,
} from '../errors.ts';
import { runPool } from './pool.ts';
import {
  defaultFilename,
  expandTemplate,
  parseTemplate,
  resolveInside,
} from './template.ts';

/**
 * DownloadClient is the part of GencoveClient (api/client.ts) that
 * downloads use: each method reads all pages, retries as the client does
 * and throws the errors of errors.ts.
 */
export type DownloadClient = Pick<
  GencoveClient,
  | 'listProjectSamples'
  | 'getSample'
  | 'getSampleQc'
  | 'getSampleMetadata'
  | 'getFileTypes'
  | 'getFileChecksum'
>;

/** The pseudo file types made from the QC and metadata endpoints. */
export const PSEUDO_FILE_TYPES = ['qc', 'metadata'] as const;

/** Reason given for a sample whose files are archived. */
export const ARCHIVED_REASON = 'archived: restore it first';
/** Reason given for a sample whose analysis has not finished. */
export const RUNNING_REASON = 'still running: no deliverables yet';
/** Reason given for a file the platform gives no download URL for. */
export const NO_URL_REASON =
  'not available for download: the platform gave no download URL';

/** How many sample details are read at the same time while planning. */
export const SAMPLE_READ_CONCURRENCY = 4;

/** A DownloadRequest after validation, with defaults applied. */
export interface CheckedRequest {
  /** Absolute destination folder. */
  destination: string;
  projectId: string | null;
  /** Normalised (lowercase, hyphenated), without duplicates. */
  sampleIds: string[] | null;
  /** Lowercase, without duplicates; null means every type. */
  fileTypes: string[] | null;
  template: string;
  skipExisting: boolean;
}

/** One file to deliver (a platform file, or a QC / metadata JSON file). */
export interface PlannedFile {
  kind: 'file' | 'qc' | 'metadata';
  sampleId: string;
  clientId: string;
  /** Platform file id; null for the pseudo files. */
  fileId: string | null;
  fileType: string;
  /** Bytes according to the platform, or null when it does not say. */
  size: number | null;
  /** SHA-256 according to the platform ('' and null both mean unknown). */
  checksum: string | null;
  /** Presigned URL; null for pseudo files and withheld files. */
  url: string | null;
  /** The platform's file name (`{default_filename}`). */
  filename: string;
  /** Local path relative to the destination, '/' separated. */
  relPath: string;
  /** Absolute local path. */
  absPath: string;
}

/** One selected sample and what became of it while planning. */
export interface PlannedSample {
  sampleId: string;
  clientId: string;
  /** Set when the sample delivers nothing: skipped, with the reason. */
  skipped?: string;
  /** Set when the sample could not be read, with the message. */
  failed?: string;
  files: PlannedFile[];
}

/** Everything a download will do, in order. */
export interface DownloadPlan {
  request: CheckedRequest;
  samples: PlannedSample[];
}

const UUID =
  /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * checkRequest validates `req` without any request to the platform and
 * applies defaults (template DEFAULT_DOWNLOAD_TEMPLATE, skipExisting true).
 * Throws ValidationError naming the field: destination missing, not exactly
 * one of projectId / sampleIds, an id that is not a UUID, a bad template.
 */
export function checkRequest(req: DownloadRequest): CheckedRequest {
  if (typeof req.destination !== 'string' || req.destination.trim() === '') {
    throw new ValidationError(
      'destination',
      'The download destination folder is missing.',
    );
  }
  const hasProject = req.projectId !== undefined && req.projectId !== '';
  const hasSamples = req.sampleIds !== undefined;
  if (hasProject === hasSamples) {
    throw new ValidationError(
      hasProject ? 'sampleIds' : 'projectId',
      'Give exactly one of a project id and a list of sample ids.',
    );
  }
  let projectId: string | null = null;
  let sampleIds: string[] | null = null;
  if (hasProject) {
    projectId = normaliseUuid(req.projectId!);
    if (projectId === null) {
      throw new ValidationError(
        'projectId',
        `The project id "${req.projectId}" is not a UUID.`,
      );
    }
  } else {
    const given = req.sampleIds ?? [];
    if (given.length === 0) {
      throw new ValidationError(
        'sampleIds',
        'The list of sample ids is empty.',
      );
    }
    const bad = given.filter((id) => normaliseUuid(id) === null);
    if (bad.length > 0) {
      throw new ValidationError(
        'sampleIds',
        `These sample ids are not UUIDs: ${bad.map((id) => `"${id}"`).join(', ')}.`,
      );
    }
    sampleIds = [...new Set(given.map((id) => normaliseUuid(id)!))];
  }
  const fileTypes = (req.fileTypes ?? [])
    .map((type) => type.trim().toLowerCase())
    .filter((type) => type !== '');
  const template = req.template ?? DEFAULT_DOWNLOAD_TEMPLATE;
  parseTemplate(template);
  return {
    destination: path.resolve(req.destination),
    projectId,
    sampleIds,
    fileTypes: fileTypes.length > 0 ? [...new Set(fileTypes)] : null,
    template,
    skipExisting: req.skipExisting ?? true,
  };
}

/**
 * matchesFileTypes is the reference's filter (7.3): with no filter every
 * type matches; otherwise a type matches when it starts with one of the
 * requested types, case-insensitively (`call_capture-vcf` also takes
 * `call_capture-vcf_pathogenic`).
 */
export function matchesFileTypes(
  fileType: string,
  filter: readonly string[] | null,
): boolean {
  if (filter === null) return true;
  const type = fileType.toLowerCase();
  return filter.some((wanted) => type.startsWith(wanted));
}

/** Options of `planDownload`. */
export interface PlanDeps {
  client: DownloadClient;
  signal: AbortSignal;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

/**
 * planDownload selects the samples and files of `request` and computes
 * every local path. Throws ValidationError for unknown file types (listing
 * them), an unknown project, and two files (or a file and a folder) on one
 * local path; API errors that concern everything (authentication, network,
 * maintenance) are thrown as they are. A sample that cannot be read (404,
 * 403) is planned as failed; archived and unfinished samples as skipped.
 */
export async function planDownload(
  request: CheckedRequest,
  deps: PlanDeps,
): Promise<DownloadPlan> {
  await checkFileTypes(request, deps);
  const samples = await selectSamples(request, deps);
  const planned: PlannedSample[] = samples.map((s) => ({
    sampleId: s.id,
    clientId: s.clientId,
    ...(s.skipped ? { skipped: s.skipped } : {}),
    files: [],
  }));
  await runPool(
    planned,
    SAMPLE_READ_CONCURRENCY,
    async (sample) => {
      if (sample.skipped) return;
      await planSample(sample, request, deps);
    },
    deps.signal,
  );
  checkCollisions(planned.flatMap((s) => s.files));
  return { request, samples: planned };
}

/**
 * checkCollisions throws ValidationError when two files would be written to
 * the same local path, or when one file's path is a folder another file
 * needs (or its `.part`). Paths are compared case-insensitively, since
 * Windows and macOS folders usually are.
 */
export function checkCollisions(files: readonly PlannedFile[]): void {
  const byPath = new Map<string, PlannedFile>();
  for (const file of files) {
    const key = file.relPath.toLowerCase();
    const other = byPath.get(key);
    if (other) {
      throw new ValidationError(
        'template',
        `The download template puts two files on ${file.relPath}: ${describeFile(other)} and ${describeFile(file)}. Use a template with {gencove_id} or {file_type} in it.`,
      );
    }
    byPath.set(key, file);
  }
  for (const file of files) {
    const key = file.relPath.toLowerCase();
    const partOf = byPath.get(key.replace(/\.part$/, ''));
    if (key.endsWith('.part') && partOf && partOf !== file) {
      throw new ValidationError(
        'template',
        `The download template puts ${describeFile(file)} on ${file.relPath}, the temporary name of ${describeFile(partOf)}.`,
      );
    }
    const parts = key.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = byPath.get(parts.slice(0, i).join('/'));
      if (folder) {
        throw new ValidationError(
          'template',
          `The download template puts ${describeFile(folder)} on ${folder.relPath}, a folder that ${describeFile(file)} needs.`,
        );
      }
    }
  }
}

/**
 * normaliseUuid returns `text` as a lowercase hyphenated UUID (hyphens
 * optional on input), or null when it is not one.
 */
export function normaliseUuid(text: string): string | null {
  const trimmed = text.trim();
  if (!UUID.test(trimmed)) return null;
  const hex = trimmed.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** True when an archive status allows downloading (reference 8.2). */
export function isAvailable(archiveStatus: string | null | undefined): boolean {
  // No archive status at all: nothing says the files are archived; a
  // withheld URL is still caught per file.
  if (archiveStatus === null || archiveStatus === undefined) return true;
  return /^(available|restored)/i.test(archiveStatus);
}

/** True when a sample's analysis has ended (succeeded, failed, failed qc). */
export function hasEnded(status: string | null | undefined): boolean {
  return /^(succeeded|failed)/i.test(status ?? '');
}

async function checkFileTypes(
  request: CheckedRequest,
  deps: PlanDeps,
): Promise<void> {
  if (request.fileTypes === null) return;
  let known: FileType[];
  try {
    known = await deps.client.getFileTypes(
      request.projectId ? { projectId: request.projectId } : {},
      { signal: deps.signal },
    );
  } catch (err) {
    if (isCancellation(err)) throw err;
    if (err instanceof ApiError && err.status === 404 && request.projectId) {
      throw projectNotFound(request.projectId, err);
    }
    if (!(err instanceof ApiError)) throw err;
    deps.log(
      'warn',
      `download: cannot read the file types (${err.message}); the requested types are not checked`,
    );
    return;
  }
  const keys = new Set<string>(PSEUDO_FILE_TYPES);
  for (const type of known) keys.add(type.key.toLowerCase());
  const unknown = request.fileTypes.filter((type) => !keys.has(type));
  if (unknown.length > 0) {
    throw new ValidationError(
      'fileTypes',
      `Unknown file types: ${unknown.join(', ')}. Known types${request.projectId ? ' for this project' : ''}: ${[...keys].sort().join(', ')}.`,
    );
  }
}

interface SelectedSample {
  id: string;
  clientId: string;
  skipped?: string;
}

async function selectSamples(
  request: CheckedRequest,
  deps: PlanDeps,
): Promise<SelectedSample[]> {
  if (request.sampleIds) {
    return request.sampleIds.map((id) => ({ id, clientId: '' }));
  }
  const projectId = request.projectId!;
  let listed: SampleList[];
  try {
    // Hidden samples are never downloaded: `hidden` unset leaves the
    // server's default, visible samples only.
    listed = await deps.client.listProjectSamples(
      projectId,
      {
        archiveStatus: 'all',
        status: 'all',
        search: '',
        sortBy: 'modified',
        sortOrder: 'desc',
      },
      { signal: deps.signal },
    );
  } catch (err) {
    const isMissing = err instanceof ApiError && err.status === 404;
    const isForbidden = err instanceof AuthError && err.kind === 'forbidden';
    if (isMissing || isForbidden) throw projectNotFound(projectId, err);
    throw err;
  }
  deps.log('debug', `download: project ${projectId} lists ${listed.length} visible samples`);
  return listed.map((sample) => ({
    id: sample.id,
    clientId: sample.client_id,
    ...(isAvailable(sample.archive_last_status?.status)
      ? {}
      : { skipped: ARCHIVED_REASON }),
  }));
}

async function planSample(
  sample: PlannedSample,
  request: CheckedRequest,
  deps: PlanDeps,
): Promise<void> {
  let details: SampleDetails;
  try {
    details = await deps.client.getSample(sample.sampleId, {
      signal: deps.signal,
    });
  } catch (err) {
    const isClientError =
      err instanceof ApiError && err.status >= 400 && err.status < 500;
    const isForbidden = err instanceof AuthError && err.kind === 'forbidden';
    if (isClientError || isForbidden) {
      sample.failed =
        err instanceof ApiError && err.status === 404
          ? `sample ${sample.sampleId} was not found (or you cannot access it)`
          : err.message;
      return;
    }
    throw err;
  }
  sample.clientId = details.client_id;
  if (!isAvailable(details.archive_last_status?.status)) {
    sample.skipped = ARCHIVED_REASON;
    return;
  }
  if (!hasEnded(details.last_status?.status)) {
    sample.skipped = RUNNING_REASON;
    return;
  }
  const filter = request.fileTypes;
  for (const file of details.files) {
    if (!matchesFileTypes(file.file_type, filter)) continue;
    const url = file.download_url ?? null;
    sample.files.push(
      place(request, {
        kind: 'file',
        sampleId: details.id,
        clientId: details.client_id,
        fileId: file.id,
        fileType: file.file_type,
        size: typeof file.size === 'number' ? file.size : null,
        checksum: file.checksum_sha256
          ? file.checksum_sha256.toLowerCase()
          : null,
        url,
        filename: defaultFilename(url, `${details.id}_${file.file_type}`),
      }),
    );
  }
  for (const kind of PSEUDO_FILE_TYPES) {
    if (!matchesFileTypes(kind, filter)) continue;
    sample.files.push(
      place(request, {
        kind,
        sampleId: details.id,
        clientId: details.client_id,
        fileId: null,
        fileType: kind,
        size: null,
        checksum: null,
        url: null,
        filename: `${details.id}_${kind}.json`,
      }),
    );
  }
}

function place(
  request: CheckedRequest,
  file: Omit<PlannedFile, 'relPath' | 'absPath'>,
): PlannedFile {
  const relPath = expandTemplate(request.template, {
    clientId: file.clientId,
    gencoveId: file.sampleId,
    fileType: file.fileType,
    defaultFilename: file.filename,
  });
  return {
    ...file,
    relPath,
    absPath: resolveInside(request.destination, relPath),
  };
}

function projectNotFound(projectId: string, cause: unknown): ValidationError {
  const err = new ValidationError(
    'projectId',
    `Project ${projectId} was not found, or you cannot access it.`,
  );
  (err as { cause?: unknown }).cause = cause;
  return err;
}

function describeFile(file: PlannedFile): string {
  return `${file.fileType} of sample ${file.clientId || file.sampleId} (${file.sampleId})`;
}
