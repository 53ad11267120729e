/**
 * Database rows of the sandbox and their JSON shapes on the API. Each
 * `*Json` function returns exactly the fields the platform's recorded
 * responses carry, with the recorded types (integers and booleans where the
 * SPEC says "string").
 */
import path from 'node:path';

import type { AuthUser } from './auth.ts';
import {
  SUPPORTED_MODIFICATIONS,
  capabilityDescription,
  capabilityKey,
  capabilityName,
  configuration,
  type Configuration,
} from './catalog.ts';
import { DELIVERABLES_DIR, type SandboxContext } from './context.ts';
import { notFound } from './http.ts';

/** A `projects` row. */
export interface ProjectRow {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  capability_id: string;
  modifications: string | null;
  hidden: number;
  created: string;
  modified: string;
}

/** A `capabilities` row: which configuration a capability id stands for. */
export interface CapabilityRow {
  id: string;
  pipeline_id: string;
  configuration: string;
  created: string;
}

/**
 * A `samples` row; `next_step_at` (epoch ms) is set while the pipeline still
 * has work for it.
 */
export interface SampleRow {
  id: string;
  project_id: string;
  client_id: string;
  physical_id: string;
  legacy_id: string;
  run: string | null;
  hidden: number;
  deleted: number;
  metadata: string | null;
  r1_upload_id: string | null;
  r2_upload_id: string | null;
  status_id: string;
  status: string;
  status_note: string;
  status_created: string;
  archive_status_id: string;
  archive_status: string;
  archive_created: string;
  failed_qc: string | null;
  next_step_at: number | null;
  created: string;
  modified: string;
}

/**
 * A `files` row: a sample deliverable or an upload's object; `storage_path` is
 * relative to the data folder (null for uploads, whose object lives in the S3
 * area).
 */
export interface FileRow {
  id: string;
  sample_id: string | null;
  upload_id: string | null;
  file_type: string;
  file_name: string;
  storage_path: string | null;
  s3_path: string;
  size: number | null;
  checksum_sha256: string;
  position: number;
  created: string;
}

/** An `uploads` row; `sample_id` is set once the upload is assigned. */
export interface UploadRow {
  id: string;
  organization_id: string;
  user_id: string;
  destination_path: string;
  read: string;
  bucket: string;
  object_key: string;
  size: number | null;
  source: string;
  file_id: string;
  sample_id: string | null;
  status_id: string;
  status: string;
  status_note: string;
  status_created: string;
  created: string;
  modified: string;
}

/** capabilityConfiguration resolves a capability row to its configuration. */
export function capabilityConfiguration(row: CapabilityRow): Configuration {
  const c = configuration(row.configuration);
  if (!c) {
    throw new Error(
      `capability ${row.id} names configuration ${row.configuration}, which this build does not know`,
    );
  }
  return c;
}

/** capabilityJson is the PipelineCapabilities object. */
export function capabilityJson(row: CapabilityRow): Record<string, unknown> {
  const c = capabilityConfiguration(row);
  return {
    id: row.id,
    name: capabilityName(c),
    key: capabilityKey(c),
    private: false,
    merge_vcfs_enabled: false,
    supported_project_modifications: SUPPORTED_MODIFICATIONS,
    modifications_enabled: true,
    species: c.species,
    pipeline_category: c.category,
    description_markdown: capabilityDescription(c),
    datasets: null,
    steps: null,
  };
}

/** loadCapability returns the capability with `id`, or undefined. */
export function loadCapability(
  ctx: SandboxContext,
  id: string,
): CapabilityRow | undefined {
  return ctx.db.prepare('SELECT * FROM capabilities WHERE id = ?').get(id) as
    CapabilityRow | undefined;
}

/** loadProject returns a project of the user's organization or throws 404. */
export function loadProject(
  ctx: SandboxContext,
  user: AuthUser,
  id: string,
): ProjectRow {
  const row = ctx.db
    .prepare('SELECT * FROM projects WHERE id = ? AND organization_id = ?')
    .get(id, user.organizationId) as ProjectRow | undefined;
  if (!row) {
    throw notFound();
  }
  return row;
}

/** projectConfiguration resolves the configuration a project runs. */
export function projectConfiguration(
  ctx: SandboxContext,
  project: ProjectRow,
): Configuration {
  const cap = loadCapability(ctx, project.capability_id);
  if (!cap) {
    throw new Error(`project ${project.id} has no capability`);
  }
  return capabilityConfiguration(cap);
}

function organizationName(ctx: SandboxContext, id: string): string {
  const row = ctx.db
    .prepare('SELECT name FROM organizations WHERE id = ?')
    .get(id) as { name: string } | undefined;
  return row?.name ?? '';
}

/** projectJson is the Project object of list and create responses. */
export function projectJson(
  ctx: SandboxContext,
  row: ProjectRow,
): Record<string, unknown> {
  const counts = ctx.db
    .prepare(
      'SELECT SUM(hidden = 0) AS visible, SUM(hidden = 1) AS hidden FROM samples WHERE project_id = ? AND deleted = 0',
    )
    .get(row.id) as { visible: number | null; hidden: number | null };
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    created: row.created,
    modified: row.modified,
    hidden: row.hidden === 1,
    organization: row.organization_id,
    organization_name: organizationName(ctx, row.organization_id),
    sample_count: counts.visible ?? 0,
    hidden_sample_count: counts.hidden ?? 0,
    pipeline_capabilities: row.capability_id,
    project_modifications: JSON.parse(row.modifications ?? '[]') as unknown,
    roles: { organization: { id: row.organization_id, name: 'owner' } },
    webhook_url: '',
    is_shared: false,
    locked: false,
  };
}

/**
 * loadSample returns a live sample of the user's organization or throws 404.
 */
export function loadSample(
  ctx: SandboxContext,
  user: AuthUser,
  id: string,
): SampleRow {
  const row = ctx.db
    .prepare(
      'SELECT s.* FROM samples s JOIN projects p ON p.id = s.project_id WHERE s.id = ? AND s.deleted = 0 AND p.organization_id = ?',
    )
    .get(id, user.organizationId) as SampleRow | undefined;
  if (!row) {
    throw notFound();
  }
  return row;
}

/** isArchived is true when files of the sample cannot be downloaded. */
export function isArchived(row: SampleRow): boolean {
  return !/^(available|restored)/i.test(row.archive_status);
}

function statusJson(row: SampleRow): Record<string, unknown> {
  return {
    id: row.status_id,
    status: row.status,
    note: row.status_note,
    created: row.status_created,
  };
}

function archiveJson(row: SampleRow): Record<string, unknown> {
  return {
    id: row.archive_status_id,
    status: row.archive_status,
    created: row.archive_created,
    transition_cutoff: null,
  };
}

/** sampleListJson is a SampleList item of project-samples. */
export function sampleListJson(row: SampleRow): Record<string, unknown> {
  return {
    id: row.id,
    run: row.run,
    created: row.created,
    hidden: row.hidden === 1,
    modified: row.modified,
    client_id: row.client_id,
    physical_id: row.physical_id,
    legacy_id: row.legacy_id,
    last_status: statusJson(row),
    archive_last_status: archiveJson(row),
    failed_qc: row.failed_qc ? (JSON.parse(row.failed_qc) as unknown) : null,
  };
}

/** sampleFiles lists a sample's files in delivery order. */
export function sampleFiles(ctx: SandboxContext, sampleId: string): FileRow[] {
  return ctx.db
    .prepare(
      'SELECT * FROM files WHERE sample_id = ? ORDER BY position, created, id',
    )
    .all(sampleId) as unknown as FileRow[];
}

/**
 * fileJson is a file item; `download_url` is a fresh signed URL, or null when
 * the file cannot be downloaded (archived sample, object not stored).
 */
export function fileJson(
  ctx: SandboxContext,
  row: FileRow,
  downloadable: boolean,
): Record<string, unknown> {
  return {
    id: row.id,
    s3_path: row.s3_path,
    size: row.size,
    download_url: downloadable ? ctx.signer.url(row.id, row.file_name) : null,
    file_type: row.file_type,
    checksum_sha256: row.checksum_sha256,
    shadow_mode: false,
  };
}

/** sampleDetailJson is the SampleDetails object of samples/{id}. */
export function sampleDetailJson(
  ctx: SandboxContext,
  row: SampleRow,
): Record<string, unknown> {
  const downloadable = !isArchived(row);
  return {
    id: row.id,
    project: row.project_id,
    run: row.run,
    created: row.created,
    modified: row.modified,
    hidden: row.hidden === 1,
    client_id: row.client_id,
    physical_id: row.physical_id,
    legacy_id: row.legacy_id,
    last_status: statusJson(row),
    archive_last_status: archiveJson(row),
    files: sampleFiles(ctx, row.id).map((f) => fileJson(ctx, f, downloadable)),
  };
}

/** uploadStatusJson is an upload's `last_status`. */
export function uploadStatusJson(row: UploadRow): Record<string, unknown> {
  return {
    id: row.status_id,
    status: row.status,
    note: row.status_note,
    created: row.status_created,
  };
}

/** uploadPostDataJson is the uploads-post-data answer. */
export function uploadPostDataJson(row: UploadRow): Record<string, unknown> {
  return {
    id: row.id,
    destination_path: row.destination_path,
    s3: { bucket: row.bucket, object_name: row.object_key },
    last_status: uploadStatusJson(row),
  };
}

/** uploadJson is the Upload object of uploads/ and uploads/{id}. */
export function uploadJson(
  ctx: SandboxContext,
  row: UploadRow,
): Record<string, unknown> {
  const file = ctx.db
    .prepare('SELECT * FROM files WHERE id = ?')
    .get(row.file_id) as FileRow | undefined;
  return {
    id: row.id,
    last_status: uploadStatusJson(row),
    file: file
      ? fileJson(ctx, file, true)
      : {
          id: row.file_id,
          s3_path: row.object_key,
          size: row.size,
          download_url: null,
          file_type: `fastq-${row.read}`,
          checksum_sha256: '',
          shadow_mode: false,
        },
    created: row.created,
    destination_path: row.destination_path,
    source: row.source,
    user: row.user_id,
    organization: row.organization_id,
  };
}

/** sampleDirectory is where a sample's delivered files live. */
export function sampleDirectory(ctx: SandboxContext, sampleId: string): string {
  return path.join(ctx.objectsDir, DELIVERABLES_DIR, sampleId);
}

/** storagePath stores a file location relative to the data folder. */
export function storagePath(ctx: SandboxContext, file: string): string {
  return path.relative(ctx.dataDir, file).split(path.sep).join('/');
}
