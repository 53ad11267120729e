/**
 * Response and request models of the platform's REST API (v2), as zod
 * schemas plus their inferred types.
 *
 * The schemas are lenient on purpose (reference section 0: the OpenAPI
 * types are often wrong): unknown keys are kept, optional fields may be
 * missing or null, numbers may arrive as numeric strings (they are turned
 * into numbers), and timestamps are plain strings (both
 * `2021-10-12T19:55:46.498353Z` and `2021-10-12 19:47:15.394485+00:00`
 * occur). Ids are strings; the client validates ids it sends, not ids it
 * receives.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------
// Lenient scalars

/** A timestamp as the server wrote it. */
const Timestamp = z.string();

/** An integer or a numeric string (project file `size` is seen as "1"). */
const Intish = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
    .transform((text) => Number(text)),
]);

/** A number or a numeric string, or null. */
const NumberishOrNull = z.union([Intish, z.null()]);

/** A boolean, or the strings "true"/"false". */
const Boolish = z.union([
  z.boolean(),
  z.enum(['true', 'false', 'True', 'False']).transform((t) => /^t/i.test(t)),
]);

const OptString = z.string().nullish();

// ---------------------------------------------------------------------------
// Envelope

/** PaginationMeta is the `meta` of every paginated answer. */
export const PaginationMetaSchema = z.looseObject({
  count: Intish.nullish(),
  next: z.string().nullish(),
  previous: z.string().nullish(),
});
export type PaginationMeta = z.infer<typeof PaginationMetaSchema>;

/** PaginatedSchema builds the schema of `{meta, results: T[]}`. */
export function PaginatedSchema<T extends z.ZodType>(item: T) {
  return z.looseObject({
    meta: PaginationMetaSchema,
    results: z.array(item),
  });
}

/** Paginated is one page of a list endpoint (reference 3.1). */
export interface Paginated<T> {
  meta: PaginationMeta;
  results: T[];
  [key: string]: unknown;
}

// ---------------------------------------------------------------------------
// Auth

/** JwtTokens is the answer of `POST jwt-create/`. */
export const JwtTokensSchema = z.looseObject({
  access: z.string().min(1),
  refresh: z.string().min(1),
});
export type JwtTokens = z.infer<typeof JwtTokensSchema>;

/** JwtRefresh is the answer of `POST jwt-refresh/` (no new refresh token). */
export const JwtRefreshSchema = z.looseObject({
  access: z.string().min(1),
  refresh: z.string().nullish(),
});
export type JwtRefresh = z.infer<typeof JwtRefreshSchema>;

// ---------------------------------------------------------------------------
// User and organization

/** User is the answer of `GET user/`. */
export const UserSchema = z.looseObject({
  id: z.string(),
  email: z.string(),
  name: OptString,
  uploads_enabled: Boolish.nullish(),
  explorer_enabled: Boolish.nullish(),
  created: Timestamp.nullish(),
  is_support: Boolish.nullish(),
});
export type User = z.infer<typeof UserSchema>;

/** Organization is the answer of `GET organization/`. */
export const OrganizationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  expire_uploads_period_days: NumberishOrNull.optional(),
  archive_period_days: NumberishOrNull.optional(),
  archive_restore_period_days: NumberishOrNull.optional(),
  roles: z.unknown().optional(),
  uploads_enabled: Boolish.nullish(),
  delete_samples_enabled: Boolish.nullish(),
  project_sharing_enabled: Boolish.nullish(),
  account_on_hold: Boolish.nullish(),
  organization_type: OptString,
});
export type Organization = z.infer<typeof OrganizationSchema>;

// ---------------------------------------------------------------------------
// Statuses and files

/** Status is a `last_status` object (analysis or upload status). */
export const StatusSchema = z.looseObject({
  id: OptString,
  status: z.string(),
  note: OptString,
  created: Timestamp.nullish(),
});
export type Status = z.infer<typeof StatusSchema>;

/** ArchiveStatus is an `archive_last_status` object. */
export const ArchiveStatusSchema = z.looseObject({
  id: OptString,
  status: z.string(),
  created: Timestamp.nullish(),
  transition_cutoff: Timestamp.nullish(),
});
export type ArchiveStatus = z.infer<typeof ArchiveStatusSchema>;

/** SampleFile is one deliverable (sample, project or batch file). */
export const SampleFileSchema = z.looseObject({
  id: z.string(),
  s3_path: OptString,
  /** Bytes, or null when the server does not say. */
  size: NumberishOrNull.optional(),
  /** Presigned and time-limited; null when archived or unavailable. */
  download_url: z.string().nullish(),
  file_type: z.string(),
  /** 64 hex digits, or '' / missing when unknown. */
  checksum_sha256: z.string().nullish(),
  shadow_mode: Boolish.nullish(),
});
export type SampleFile = z.infer<typeof SampleFileSchema>;

// ---------------------------------------------------------------------------
// Projects and pipelines

/** ProjectModification is one `{key, value}` project switch. */
export const ProjectModificationSchema = z.looseObject({
  key: z.string(),
  value: z.unknown().optional(),
});

/** Project is a projects list item; `getProject` adds `files`. */
export const ProjectSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string().nullish(),
  created: Timestamp.nullish(),
  modified: Timestamp.nullish(),
  hidden: Boolish.nullish(),
  organization: OptString,
  organization_name: OptString,
  sample_count: NumberishOrNull.optional(),
  hidden_sample_count: NumberishOrNull.optional(),
  /** Capability id (a UUID string). */
  pipeline_capabilities: z.string().nullish(),
  project_modifications: z.array(ProjectModificationSchema).nullish(),
  roles: z.unknown().optional(),
  webhook_url: z.string().nullish(),
  is_shared: Boolish.nullish(),
  locked: Boolish.nullish(),
  files: z.array(SampleFileSchema).nullish(),
});
export type Project = z.infer<typeof ProjectSchema>;

/** PipelineCapability is one selectable analysis configuration. */
export const PipelineCapabilitySchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  key: z.string().nullish(),
  private: Boolish.nullish(),
  merge_vcfs_enabled: Boolish.nullish(),
  supported_project_modifications: z.array(ProjectModificationSchema).nullish(),
  modifications_enabled: Boolish.nullish(),
  species: z.string().nullish(),
  pipeline_category: z.string().nullish(),
  description_markdown: z.string().nullish(),
  datasets: z.unknown().optional(),
  steps: z.unknown().optional(),
});
export type PipelineCapability = z.infer<typeof PipelineCapabilitySchema>;

// ---------------------------------------------------------------------------
// Samples

/**
 * SampleList is a `project-samples` list item. `failed_qc` is recorded as a
 * list of failed check keys (`["format"]`); the SPEC calls it a string.
 */
export const SampleListSchema = z.looseObject({
  id: z.string(),
  run: z.string().nullish(),
  created: Timestamp.nullish(),
  modified: Timestamp.nullish(),
  hidden: Boolish.nullish(),
  client_id: z.string(),
  physical_id: OptString,
  legacy_id: OptString,
  last_status: StatusSchema.nullish(),
  archive_last_status: ArchiveStatusSchema.nullish(),
  failed_qc: z.union([z.array(z.string()), z.boolean(), z.string()]).nullish(),
});
export type SampleList = z.infer<typeof SampleListSchema>;

/** SampleDetails is the answer of `GET samples/{id}`. */
export const SampleDetailsSchema = SampleListSchema.extend({
  project: z.string().nullish(),
  files: z.array(SampleFileSchema).default([]),
});
export type SampleDetails = z.infer<typeof SampleDetailsSchema>;

/** SampleQc is one item of `sample-quality-controls/{id}`. */
export const SampleQcSchema = z.looseObject({
  quality_control_type: z.looseObject({
    key: z.string(),
    type: z.string().nullish(),
    name: z.string().nullish(),
    description_markdown: z.string().nullish(),
    display_type: z.string().nullish(),
    display_only_if_failed: Boolish.nullish(),
  }),
  quality_control: z.looseObject({
    value_expected: NumberishOrNull.optional(),
    value_measured: NumberishOrNull.optional(),
    value_string: z.string().nullish(),
    /** 'succeeded' | 'failed' | 'skipped' as recorded; other values kept. */
    status: z.string(),
  }),
});
export type SampleQc = z.infer<typeof SampleQcSchema>;

/** SampleMetadata is `{metadata: <any JSON or null>}`. */
export const SampleMetadataSchema = z.looseObject({
  metadata: z.unknown(),
});
export type SampleMetadata = z.infer<typeof SampleMetadataSchema>;

/** FileType is one `file-types/` item: a deliverable key. */
export const FileTypeSchema = z.looseObject({
  key: z.string(),
  description: z.string().nullish(),
});
export type FileType = z.infer<typeof FileTypeSchema>;

// ---------------------------------------------------------------------------
// Uploads

/**
 * UploadCredentials are temporary AWS credentials for the upload area.
 * `endpoint_url` is our sandbox's extension: when present, S3 requests go
 * there (path style) instead of AWS.
 */
export const UploadCredentialsSchema = z.looseObject({
  version: Intish.nullish(),
  access_key: z.string().min(1),
  secret_key: z.string().min(1),
  token: z.string(),
  /** ISO timestamp with an explicit offset. */
  expiry_time: z.string(),
  endpoint_url: z.string().nullish(),
  region: z.string().nullish(),
});
export type UploadCredentials = z.infer<typeof UploadCredentialsSchema>;

/** UploadSlot is the answer of `uploads-post-data/`. */
export const UploadSlotSchema = z.looseObject({
  id: z.string(),
  destination_path: z.string(),
  s3: z.looseObject({
    bucket: z.string(),
    object_name: z.string(),
  }),
  /** 'started' until the object is stored, then 'succeeded'. */
  last_status: StatusSchema.nullish(),
});
export type UploadSlot = z.infer<typeof UploadSlotSchema>;

/** UploadRef is one read of a sample-sheet row. */
export const UploadRefSchema = z.looseObject({
  upload: z.string(),
  destination_path: z.string().nullish(),
  last_status: StatusSchema.nullish(),
  source_url: z.string().nullish(),
});
export type UploadRef = z.infer<typeof UploadRefSchema>;

/**
 * SampleSheetRow is one `sample-sheet/` row: the server's grouping of
 * uploads into a sample. Unknown keys are kept because rows are forwarded
 * unchanged to the assignment call.
 */
export const SampleSheetRowSchema = z.looseObject({
  client_id: z.string(),
  fastq: z.looseObject({
    r1: UploadRefSchema,
    r2: UploadRefSchema.nullish(),
  }),
});
export type SampleSheetRow = z.infer<typeof SampleSheetRowSchema>;

/** AssignRequest is the body of `POST project-samples/{project_id}`. */
export const AssignRequestSchema = z.looseObject({
  uploads: z.array(SampleSheetRowSchema),
  metadata: z.unknown(),
});
export type AssignRequest = z.infer<typeof AssignRequestSchema>;

const AssignedRefSchema = z.looseObject({ upload: z.string() });

/** AssignResponse is the 201 answer of the assignment. */
export const AssignResponseSchema = z.looseObject({
  uploads: z.array(
    z.looseObject({
      client_id: z.string(),
      fastq: z.looseObject({
        r1: AssignedRefSchema.nullish(),
        r2: AssignedRefSchema.nullish(),
      }),
      /** The new sample's id. */
      sample: z.string(),
    }),
  ),
  metadata: z.unknown().optional(),
});
export type AssignResponse = z.infer<typeof AssignResponseSchema>;

// ---------------------------------------------------------------------------
// Project statistics

const CountsSchema = z.record(z.string(), z.unknown());

/** ProjectStats is the answer of `project-stats/{project_id}`. */
export const ProjectStatsSchema = z.looseObject({
  counts: z
    .looseObject({
      total_samples: NumberishOrNull.optional(),
      running_samples: NumberishOrNull.optional(),
      scheduled_samples: NumberishOrNull.optional(),
      succeeded_samples: NumberishOrNull.optional(),
      failed_samples: NumberishOrNull.optional(),
      kit_processing_samples: NumberishOrNull.optional(),
    })
    .nullish(),
  total_size: NumberishOrNull.optional(),
  failed_counts: CountsSchema.nullish(),
  failed_qc_counts: CountsSchema.nullish(),
});
export type ProjectStats = z.infer<typeof ProjectStatsSchema>;

// ---------------------------------------------------------------------------
// Maintenance body (503)

/** MaintenanceBody is the body of the platform's maintenance 503. */
export const MaintenanceBodySchema = z.looseObject({
  maintenance: z.unknown(),
  maintenance_eta: z.string().nullish(),
  maintenance_message: z.string().nullish(),
});
export type MaintenanceBody = z.infer<typeof MaintenanceBodySchema>;
