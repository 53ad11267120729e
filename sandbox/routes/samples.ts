/**
 * Sample routes: project-samples/{project_id} (list with filters, assign
 * uploads), project-hide-samples, project-unhide-samples,
 * project-delete-samples, samples/{id}, sample-quality-controls/{id},
 * sample-metadata/{id}, sample-statuses/{id}, sample-stats/{id},
 * project-stats/{id} and project-qc-report/{id}.
 */
import { link, copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { AuthUser } from '../auth.ts';
import { FASTQ_SUFFIX } from '../catalog.ts';
import type { SandboxContext } from '../context.ts';
import { transaction } from '../db.ts';
import {
  ApiError,
  choice,
  dateFilter,
  fieldError,
  json,
  page,
  pageRequest,
  requireObject,
  type ApiRequest,
  type RouteSpec,
} from '../http.ts';
import {
  loadProject,
  loadSample,
  sampleDetailJson,
  sampleFiles,
  sampleDirectory,
  sampleListJson,
  storagePath,
  type SampleRow,
  type UploadRow,
} from '../records.ts';
import { archiveTimestamp, isUuid, newId, timestamp } from '../util.ts';

/** Statuses of samples that have not finished. */
export const RUNNING_STATUSES = ['created', 'running'];
/** Largest number of rows one assignment request may carry. */
export const MAX_ASSIGN_ROWS = 1000;

const SAMPLE_SORT: Record<string, string> = {
  client_id: 'client_id',
  created: 'created',
  id: 'id',
  modified: 'modified',
  status: 'status',
};

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * sampleFilter turns the platform's sample filters (status, archive_status,
 * hidden_status, search, created/modified after/before) into SQL.
 */
export function sampleFilter(
  query: URLSearchParams,
  projectId: string,
): { clause: string; params: (string | number)[] } {
  const where = ['project_id = ?', 'deleted = 0'];
  const params: (string | number)[] = [projectId];
  const status = choice(
    query,
    'status',
    ['all', 'completed', 'failed', 'running', 'succeeded'],
    'all',
  );
  if (status === 'completed') {
    where.push("(status = 'succeeded' OR status LIKE 'failed%')");
  } else if (status === 'failed') {
    where.push("status LIKE 'failed%'");
  } else if (status === 'running') {
    where.push(`status IN (${RUNNING_STATUSES.map(() => '?').join(', ')})`);
    params.push(...RUNNING_STATUSES);
  } else if (status === 'succeeded') {
    where.push("status = 'succeeded'");
  }
  const archive = choice(
    query,
    'archive_status',
    ['all', 'archived', 'available', 'restore_requested'],
    'all',
  );
  if (archive !== 'all') {
    where.push('archive_status = ?');
    params.push(archive);
  }
  const hidden = choice(
    query,
    'hidden_status',
    ['all', 'hidden', 'visible'],
    'visible',
  );
  if (hidden !== 'all') {
    where.push('hidden = ?');
    params.push(hidden === 'hidden' ? 1 : 0);
  }
  const search = query.get('search');
  if (search) {
    const like = likePattern(search);
    where.push(
      "(id = ? OR client_id LIKE ? ESCAPE '\\' OR metadata LIKE ? ESCAPE '\\')",
    );
    params.push(search.toLowerCase(), like, like);
  }
  const ranges: [string, string, string][] = [
    ['created_after', 'created', '>='],
    ['created_before', 'created', '<='],
    ['modified_after', 'modified', '>='],
    ['modified_before', 'modified', '<='],
  ];
  for (const [name, column, op] of ranges) {
    const ms = dateFilter(query, name);
    if (ms !== null) {
      where.push(`${column} ${op} ?`);
      params.push(timestamp(ms));
    }
  }
  return { clause: where.join(' AND '), params };
}

/** One validated row of an assignment request. */
interface AssignRow {
  clientId: string;
  r1: UploadRow;
  r2: UploadRow | null;
}

function uploadRef(
  fastq: Record<string, unknown>,
  read: 'r1' | 'r2',
  where: string,
): string | null {
  const value = fastq[read];
  if (value === undefined || value === null) {
    if (read === 'r1') {
      throw fieldError('uploads', `${where}: fastq.r1 is required.`);
    }
    return null;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw fieldError(
      'uploads',
      `${where}: fastq.${read} must be an object with an "upload" id.`,
    );
  }
  const id = (value as { upload?: unknown }).upload;
  if (!isUuid(id)) {
    throw fieldError(
      'uploads',
      `${where}: fastq.${read}.upload must be an upload UUID.`,
    );
  }
  return id.toLowerCase();
}

/**
 * parseAssignment validates an assignment body against the database: every
 * upload exists in the organization, has been stored (status succeeded), is
 * not assigned yet and appears once.
 */
function parseAssignment(
  ctx: SandboxContext,
  user: AuthUser,
  body: Record<string, unknown>,
): { rows: AssignRow[]; metadata: unknown } {
  const uploads = body.uploads;
  if (uploads === undefined || uploads === null) {
    throw fieldError('uploads', 'This field is required.');
  }
  if (!Array.isArray(uploads)) {
    throw fieldError('uploads', 'Expected a list of items.');
  }
  if (uploads.length > MAX_ASSIGN_ROWS) {
    throw fieldError(
      'uploads',
      `At most ${MAX_ASSIGN_ROWS} rows can be assigned in one request; got ${uploads.length}.`,
    );
  }
  const seen = new Set<string>();
  const rows: AssignRow[] = [];
  const loadUpload = (id: string, where: string): UploadRow => {
    const row = ctx.db
      .prepare('SELECT * FROM uploads WHERE id = ? AND organization_id = ?')
      .get(id, user.organizationId) as UploadRow | undefined;
    if (!row) {
      throw fieldError('uploads', `${where}: upload ${id} does not exist.`);
    }
    if (row.sample_id) {
      throw fieldError(
        'uploads',
        `${where}: upload ${id} is already assigned to sample ${row.sample_id}.`,
      );
    }
    if (row.status !== 'succeeded') {
      throw fieldError(
        'uploads',
        `${where}: upload ${id} is not complete (status ${row.status}); upload the file first.`,
      );
    }
    if (seen.has(id)) {
      throw fieldError(
        'uploads',
        `${where}: upload ${id} appears more than once in this request.`,
      );
    }
    seen.add(id);
    return row;
  };
  uploads.forEach((item: unknown, index: number) => {
    const where = `row ${index + 1}`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      throw fieldError(
        'uploads',
        `${where}: expected an object with "client_id" and "fastq".`,
      );
    }
    const entry = item as Record<string, unknown>;
    const clientId = entry.client_id;
    if (typeof clientId !== 'string' || clientId.trim() === '') {
      throw fieldError(
        'uploads',
        `${where}: client_id is required and may not be blank.`,
      );
    }
    if (clientId.length > 250) {
      throw fieldError(
        'uploads',
        `${where}: client_id has more than 250 characters.`,
      );
    }
    const fastq = entry.fastq;
    if (!fastq || typeof fastq !== 'object' || Array.isArray(fastq)) {
      throw fieldError(
        'uploads',
        `${where} (${clientId}): fastq is required and must be an object with r1 (and r2).`,
      );
    }
    const label = `${where} (${clientId})`;
    const r1Id = uploadRef(fastq as Record<string, unknown>, 'r1', label);
    const r2Id = uploadRef(fastq as Record<string, unknown>, 'r2', label);
    const r1 = loadUpload(r1Id as string, label);
    const r2 = r2Id ? loadUpload(r2Id, label) : null;
    rows.push({ clientId, r1, r2 });
  });
  return { rows, metadata: body.metadata === undefined ? null : body.metadata };
}

/**
 * snapshotObject gives the sample its own copy of an uploaded object (a hard
 * link when the file system allows, else a copy), so that a later upload to
 * the same key can never change a sample's input.
 */
async function snapshotObject(source: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  await rm(target, { force: true });
  try {
    await link(source, target);
  } catch {
    await copyFile(source, target);
  }
}

function insertStatus(
  ctx: SandboxContext,
  sampleId: string,
  statusId: string,
  status: string,
  note: string,
  created: string,
): void {
  ctx.db
    .prepare(
      'INSERT INTO sample_statuses (id, sample_id, status, note, created) VALUES (?, ?, ?, ?, ?)',
    )
    .run(statusId, sampleId, status, note, created);
}

async function assign(
  ctx: SandboxContext,
  req: ApiRequest<AuthUser>,
): Promise<Record<string, unknown>> {
  const project = loadProject(ctx, req.user, req.params.project_id);
  const body = requireObject(await req.body());
  const { rows, metadata } = parseAssignment(ctx, req.user, body);
  const planned = rows.map((row) => ({ ...row, sampleId: newId() }));

  try {
    for (const p of planned) {
      for (const [read, upload] of [
        ['fastq-r1', p.r1],
        ['fastq-r2', p.r2],
      ] as const) {
        if (!upload) {
          continue;
        }
        const target = path.join(
          sampleDirectory(ctx, p.sampleId),
          `${p.sampleId}${FASTQ_SUFFIX[read]}`,
        );
        await snapshotObject(
          ctx.objectFile(upload.bucket, upload.object_key),
          target,
        );
      }
    }
  } catch (error) {
    await Promise.all(
      planned.map((p) =>
        rm(sampleDirectory(ctx, p.sampleId), { recursive: true, force: true }),
      ),
    );
    const reason = error instanceof Error ? error.message : String(error);
    throw new ApiError(500, {
      detail: `Could not copy the uploaded objects: ${reason}`,
    });
  }

  const now = ctx.now();
  const stamp = timestamp(now);
  const metadataText = JSON.stringify(metadata ?? null);
  try {
    transaction(ctx.db, () => {
      for (const p of planned) {
        for (const upload of [p.r1, p.r2]) {
          if (!upload) {
            continue;
          }
          // Re-checked inside the transaction: a concurrent request may have
          // assigned the same upload since validation.
          const fresh = ctx.db
            .prepare('SELECT sample_id FROM uploads WHERE id = ?')
            .get(upload.id) as {
            sample_id: string | null;
          };
          if (fresh.sample_id) {
            throw fieldError(
              'uploads',
              `upload ${upload.id} is already assigned to sample ${fresh.sample_id}.`,
            );
          }
        }
        const statusId = newId();
        ctx.db
          .prepare(
            `INSERT INTO samples (id, project_id, client_id, metadata, r1_upload_id, r2_upload_id,
               status_id, status, status_note, status_created, archive_status_id, archive_status,
               archive_created, next_step_at, created, modified)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'created', '', ?, ?, 'available', ?, ?, ?, ?)`,
          )
          .run(
            p.sampleId,
            project.id,
            p.clientId,
            metadataText,
            p.r1.id,
            p.r2?.id ?? null,
            statusId,
            stamp,
            newId(),
            archiveTimestamp(now),
            now + ctx.pipelineStepMs,
            stamp,
            stamp,
          );
        insertStatus(ctx, p.sampleId, statusId, 'created', '', stamp);
        let position = 0;
        for (const [read, upload] of [
          ['fastq-r1', p.r1],
          ['fastq-r2', p.r2],
        ] as const) {
          if (!upload) {
            continue;
          }
          const name = `${p.sampleId}${FASTQ_SUFFIX[read]}`;
          const file = path.join(sampleDirectory(ctx, p.sampleId), name);
          ctx.db
            .prepare(
              `INSERT INTO files (id, sample_id, file_type, file_name, storage_path, s3_path, size, checksum_sha256, position, created)
               VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)`,
            )
            .run(
              newId(),
              p.sampleId,
              read,
              name,
              storagePath(ctx, file),
              `organization/${req.user.organizationId}/samples/${p.sampleId}/${name}`,
              upload.size,
              position,
              stamp,
            );
          position += 1;
          ctx.db
            .prepare(
              'UPDATE uploads SET sample_id = ?, modified = ? WHERE id = ?',
            )
            .run(p.sampleId, stamp, upload.id);
        }
      }
      ctx.db
        .prepare('UPDATE projects SET modified = ? WHERE id = ?')
        .run(stamp, project.id);
    });
  } catch (error) {
    await Promise.all(
      planned.map((p) =>
        rm(sampleDirectory(ctx, p.sampleId), { recursive: true, force: true }),
      ),
    );
    throw error;
  }
  ctx.wakePipeline();
  return {
    uploads: planned.map((p) => ({
      client_id: p.clientId,
      fastq: { r1: { upload: p.r1.id }, r2: p.r2 ? { upload: p.r2.id } : null },
      sample: p.sampleId,
    })),
    metadata,
  };
}

function sampleIdsOf(body: Record<string, unknown>): string[] {
  const value = body.sample_ids;
  if (value === undefined || value === null) {
    throw fieldError('sample_ids', 'This field is required.');
  }
  if (!Array.isArray(value)) {
    throw fieldError('sample_ids', 'Expected a list of items.');
  }
  if (value.length === 0) {
    throw fieldError('sample_ids', 'This list may not be empty.');
  }
  const bad = value.filter((v) => !isUuid(v));
  if (bad.length > 0) {
    throw fieldError(
      'sample_ids',
      `Invalid sample IDs: ${bad.map(String).join(', ')}`,
    );
  }
  return [...new Set((value as string[]).map((v) => v.toLowerCase()))];
}

function requireProjectSamples(
  ctx: SandboxContext,
  projectId: string,
  ids: string[],
): void {
  for (const id of ids) {
    const row = ctx.db
      .prepare(
        'SELECT 1 FROM samples WHERE id = ? AND project_id = ? AND deleted = 0',
      )
      .get(id, projectId);
    if (!row) {
      throw fieldError(
        'sample_ids',
        'All sample ids must be part of the current project.',
      );
    }
  }
}

function qcRows(
  ctx: SandboxContext,
  sampleId: string,
): Record<string, unknown>[] {
  const rows = ctx.db
    .prepare(
      'SELECT data FROM quality_controls WHERE sample_id = ? ORDER BY position',
    )
    .all(sampleId) as unknown as { data: string }[];
  return rows.map((r) => JSON.parse(r.data) as Record<string, unknown>);
}

/** Columns the QC report accepts (SPEC), in the SPEC's order. */
const QC_REPORT_COLUMNS = [
  'id',
  'client_id',
  'project_id',
  'year',
  'month',
  'day',
  'status',
  'sex_string',
  'call_rate_min',
  'raw_coverage',
  'bases_min',
  'bases_max',
  'bases_dedup_min',
  'bases_dedup_mapped_min',
  'fraction_contamination_max',
  'snps_min',
  'effective_coverage_min',
  'hzy_max',
  'cc_min',
  'nhref_min',
  'nhet_max',
  'nhalt_min',
  'pct_target_bases_30x_min',
  'pathogenic_min',
  'ancestries',
];
const QC_REPORT_DEFAULT = [
  'id',
  'client_id',
  'project_id',
  'year',
  'month',
  'day',
  'status',
  'sex_string',
  'snps_min',
  'bases_dedup_mapped_min',
  'call_rate_min',
  'effective_coverage_min',
  'raw_coverage',
  'ancestries',
];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function qcReport(
  ctx: SandboxContext,
  projectId: string,
  query: URLSearchParams,
): string {
  const requested = query.get('columns');
  const columns = requested
    ? requested
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
    : QC_REPORT_DEFAULT;
  const unknown = columns.filter((c) => !QC_REPORT_COLUMNS.includes(c));
  if (unknown.length > 0) {
    throw new ApiError(400, [
      `Invalid columns: ${unknown.join(', ')}. Acceptable columns are: ${QC_REPORT_COLUMNS.join(', ')}.`,
    ]);
  }
  const samples = ctx.db
    .prepare(
      'SELECT * FROM samples WHERE project_id = ? AND deleted = 0 ORDER BY created, id',
    )
    .all(projectId) as unknown as SampleRow[];
  const lines = [columns.join(',')];
  for (const s of samples) {
    const qc = new Map(
      qcRows(ctx, s.id).map((r) => {
        const t = r.quality_control_type as { key: string };
        const v = r.quality_control as { value_measured: number | null };
        return [t.key, v.value_measured];
      }),
    );
    const values: Record<string, unknown> = {
      id: s.id,
      client_id: s.client_id,
      project_id: s.project_id,
      year: s.created.slice(0, 4),
      month: s.created.slice(5, 7),
      day: s.created.slice(8, 10),
      status: s.status,
      bases_min: qc.get('bases'),
      bases_max: qc.get('bases'),
    };
    lines.push(columns.map((c) => csvCell(values[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** sampleRoutes returns the sample routes bound to `ctx`. */
export function sampleRoutes(ctx: SandboxContext): RouteSpec<AuthUser>[] {
  const setHidden = (hidden: 0 | 1) => async (req: ApiRequest<AuthUser>) => {
    const project = loadProject(ctx, req.user, req.params.project_id);
    const ids = sampleIdsOf(requireObject(await req.body()));
    transaction(ctx.db, () => {
      requireProjectSamples(ctx, project.id, ids);
      const stamp = timestamp(ctx.now());
      for (const id of ids) {
        ctx.db
          .prepare('UPDATE samples SET hidden = ?, modified = ? WHERE id = ?')
          .run(hidden, stamp, id);
      }
    });
    return { status: 204 };
  };

  return [
    {
      path: '/api/v2/project-samples/{project_id}',
      uuidParams: ['project_id'],
      methods: {
        GET: (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          const { clause, params } = sampleFilter(req.query, project.id);
          const sortBy = choice(
            req.query,
            'sort_by',
            Object.keys(SAMPLE_SORT),
            'modified',
          );
          const order = choice(
            req.query,
            'sort_order',
            ['asc', 'desc'],
            'desc',
          );
          const pr = pageRequest(req.query);
          const count = (
            ctx.db
              .prepare(`SELECT COUNT(*) AS n FROM samples WHERE ${clause}`)
              .get(...params) as { n: number }
          ).n;
          const rows = ctx.db
            .prepare(
              `SELECT * FROM samples WHERE ${clause} ORDER BY ${SAMPLE_SORT[sortBy]} ${order}, id ${order} LIMIT ? OFFSET ?`,
            )
            .all(...params, pr.limit, pr.offset) as unknown as SampleRow[];
          return json(
            200,
            page(ctx.origin, req.url, pr, count, rows.map(sampleListJson)),
          );
        },
        POST: async (req) => json(201, await assign(ctx, req)),
      },
    },
    {
      path: '/api/v2/project-hide-samples/{project_id}',
      uuidParams: ['project_id'],
      methods: { POST: setHidden(1) },
    },
    {
      path: '/api/v2/project-unhide-samples/{project_id}',
      uuidParams: ['project_id'],
      methods: { POST: setHidden(0) },
    },
    {
      path: '/api/v2/project-delete-samples/{project_id}',
      uuidParams: ['project_id'],
      methods: {
        DELETE: async (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          const ids = sampleIdsOf(requireObject(await req.body()));
          transaction(ctx.db, () => {
            requireProjectSamples(ctx, project.id, ids);
            const stamp = timestamp(ctx.now());
            for (const id of ids) {
              ctx.db
                .prepare(
                  'UPDATE samples SET deleted = 1, next_step_at = NULL, modified = ? WHERE id = ?',
                )
                .run(stamp, id);
            }
          });
          await Promise.all(
            ids.map((id) =>
              rm(sampleDirectory(ctx, id), { recursive: true, force: true }),
            ),
          );
          return { status: 204 };
        },
      },
    },
    {
      path: '/api/v2/samples/{sample_id}',
      uuidParams: ['sample_id'],
      methods: {
        GET: (req) =>
          json(
            200,
            sampleDetailJson(
              ctx,
              loadSample(ctx, req.user, req.params.sample_id),
            ),
          ),
      },
    },
    {
      path: '/api/v2/sample-quality-controls/{sample_id}',
      uuidParams: ['sample_id'],
      methods: {
        GET: (req) => {
          const sample = loadSample(ctx, req.user, req.params.sample_id);
          const all = qcRows(ctx, sample.id);
          const pr = pageRequest(req.query);
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              all.length,
              all.slice(pr.offset, pr.offset + pr.limit),
            ),
          );
        },
      },
    },
    {
      path: '/api/v2/sample-metadata/{sample_id}',
      uuidParams: ['sample_id'],
      methods: {
        GET: (req) => {
          const sample = loadSample(ctx, req.user, req.params.sample_id);
          return json(200, {
            metadata: JSON.parse(sample.metadata ?? 'null') as unknown,
          });
        },
        POST: async (req) => {
          const sample = loadSample(ctx, req.user, req.params.sample_id);
          const body = requireObject(await req.body());
          if (!('metadata' in body)) {
            throw fieldError('metadata', 'This field is required.');
          }
          const stamp = timestamp(ctx.now());
          ctx.db
            .prepare(
              'UPDATE samples SET metadata = ?, modified = ? WHERE id = ?',
            )
            .run(JSON.stringify(body.metadata), stamp, sample.id);
          return json(201, { metadata: body.metadata });
        },
      },
    },
    {
      path: '/api/v2/sample-statuses/{sample_id}',
      uuidParams: ['sample_id'],
      methods: {
        GET: (req) => {
          const sample = loadSample(ctx, req.user, req.params.sample_id);
          const pr = pageRequest(req.query);
          const count = (
            ctx.db
              .prepare(
                'SELECT COUNT(*) AS n FROM sample_statuses WHERE sample_id = ?',
              )
              .get(sample.id) as {
              n: number;
            }
          ).n;
          const rows = ctx.db
            .prepare(
              'SELECT status, note, created FROM sample_statuses WHERE sample_id = ? ORDER BY seq LIMIT ? OFFSET ?',
            )
            .all(sample.id, pr.limit, pr.offset) as unknown as {
            status: string;
            note: string;
            created: string;
          }[];
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              count,
              rows.map((r) => ({
                status: r.status,
                note: r.note,
                created: r.created,
              })),
            ),
          );
        },
      },
    },
    {
      path: '/api/v2/sample-stats/{sample_id}',
      uuidParams: ['sample_id'],
      methods: {
        GET: (req) => {
          const sample = loadSample(ctx, req.user, req.params.sample_id);
          const total = sampleFiles(ctx, sample.id).reduce(
            (n, f) => n + (f.size ?? 0),
            0,
          );
          return json(200, { total_size: total });
        },
      },
    },
    {
      path: '/api/v2/project-stats/{project_id}',
      uuidParams: ['project_id'],
      methods: {
        GET: (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          const { clause, params } = sampleFilter(req.query, project.id);
          const rows = ctx.db
            .prepare(
              `SELECT id, status, failed_qc FROM samples WHERE ${clause}`,
            )
            .all(...params) as unknown as {
            id: string;
            status: string;
            failed_qc: string | null;
          }[];
          const failedQc: Record<string, number> = {};
          const failed: Record<string, number> = {};
          for (const r of rows) {
            if (r.status.startsWith('failed')) {
              failed[r.status] = (failed[r.status] ?? 0) + 1;
            }
            for (const key of JSON.parse(r.failed_qc ?? '[]') as string[]) {
              failedQc[key] = (failedQc[key] ?? 0) + 1;
            }
          }
          const size = ctx.db
            .prepare(
              `SELECT COALESCE(SUM(f.size), 0) AS n FROM files f WHERE f.sample_id IN (SELECT id FROM samples WHERE ${clause})`,
            )
            .get(...params) as { n: number };
          return json(200, {
            counts: {
              total_samples: rows.length,
              running_samples: rows.filter((r) => r.status === 'running')
                .length,
              scheduled_samples: rows.filter((r) => r.status === 'created')
                .length,
              succeeded_samples: rows.filter((r) => r.status === 'succeeded')
                .length,
              failed_samples: rows.filter((r) => r.status.startsWith('failed'))
                .length,
              kit_processing_samples: 0,
            },
            total_size: size.n,
            failed_counts: failed,
            failed_qc_counts: failedQc,
          });
        },
      },
    },
    {
      path: '/api/v2/project-qc-report/{project_id}',
      uuidParams: ['project_id'],
      methods: {
        GET: (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          return {
            status: 200,
            text: qcReport(ctx, project.id, req.query),
            contentType: 'text/csv',
            headers: {
              'Content-Disposition':
                'attachment; filename="project-qc-report.csv"',
            },
          };
        },
      },
    },
  ];
}
