/**
 * Upload routes: upload-credentials/, uploads-post-data/, uploads/,
 * uploads/{id} and sample-sheet/, plus the glue the S3 endpoint calls
 * (credential lookup, "object stored").
 */
import { existsSync, statSync } from 'node:fs';

import type { AuthUser } from '../auth.ts';
import { UPLOAD_BUCKET, type SandboxContext } from '../context.ts';
import { transaction } from '../db.ts';
import {
  choice,
  fieldError,
  json,
  notFound,
  page,
  pageRequest,
  requireObject,
  type RouteSpec,
} from '../http.ts';
import { baseName, parseUploadName } from '../naming.ts';
import {
  uploadJson,
  uploadPostDataJson,
  uploadStatusJson,
  type UploadRow,
} from '../records.ts';
import type { S3Credentials } from '../s3/handler.ts';
import { groupSheetRows } from '../samplesheet.ts';
import {
  errorText,
  expiryTimestamp,
  newId,
  randomAlnum,
  randomToken,
  timestamp,
} from '../util.ts';

/** Longest destination path the platform stores. */
const MAX_DESTINATION = 1024;

const SECRET_ALPHABET =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * validateDestination checks a `gncv://` destination: the scheme, a file
 * name at the end, no empty, `.` or `..` segments, no control characters.
 * It returns the path unchanged or throws the field error.
 */
export function validateDestination(value: unknown): string {
  if (value === undefined || value === null) {
    throw fieldError('destination_path', 'This field is required.');
  }
  if (typeof value !== 'string') {
    throw fieldError('destination_path', 'Not a valid string.');
  }
  if (!value.startsWith('gncv://')) {
    throw fieldError(
      'destination_path',
      `Destination ${value} must start with gncv://.`,
    );
  }
  if (value.length > MAX_DESTINATION) {
    throw fieldError(
      'destination_path',
      `Ensure this field has no more than ${MAX_DESTINATION} characters.`,
    );
  }
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw fieldError(
      'destination_path',
      `Destination ${JSON.stringify(value)} contains control characters.`,
    );
  }
  const rest = value.slice('gncv://'.length);
  if (rest === '' || rest.endsWith('/')) {
    throw fieldError(
      'destination_path',
      `Destination ${value} must end with a file name.`,
    );
  }
  const segments = rest.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw fieldError(
      'destination_path',
      `Destination ${value} has an empty, "." or ".." path segment.`,
    );
  }
  return value;
}

function loadUploadRow(ctx: SandboxContext, id: string): UploadRow | undefined {
  return ctx.db.prepare('SELECT * FROM uploads WHERE id = ?').get(id) as
    UploadRow | undefined;
}

/**
 * markStored records that the object of `row` exists with `size` bytes:
 * status `succeeded` (a new status entry only when it changes) and sizes.
 */
function markStored(ctx: SandboxContext, row: UploadRow, size: number): void {
  const stamp = timestamp(ctx.now());
  transaction(ctx.db, () => {
    if (row.status !== 'succeeded') {
      ctx.db
        .prepare(
          "UPDATE uploads SET status = 'succeeded', status_id = ?, status_note = '', status_created = ?, size = ?, modified = ? WHERE id = ?",
        )
        .run(newId(), stamp, size, stamp, row.id);
    } else {
      ctx.db
        .prepare('UPDATE uploads SET size = ?, modified = ? WHERE id = ?')
        .run(size, stamp, row.id);
    }
    ctx.db
      .prepare('UPDATE files SET size = ? WHERE id = ?')
      .run(size, row.file_id);
  });
}

/**
 * refreshUpload flips a `started` upload whose object is already on disk
 * (for example when the server stopped between storing and recording it).
 */
function refreshUpload(ctx: SandboxContext, row: UploadRow): UploadRow {
  if (row.status === 'succeeded') {
    return row;
  }
  const file = ctx.objectFile(row.bucket, row.object_key);
  if (!existsSync(file)) {
    return row;
  }
  markStored(ctx, row, statSync(file).size);
  return loadUploadRow(ctx, row.id) ?? row;
}

/** onObjectStored is what the S3 endpoint calls after PutObject/Complete. */
export function onObjectStored(
  ctx: SandboxContext,
  bucket: string,
  key: string,
  size: number,
): void {
  try {
    const row = ctx.db
      .prepare('SELECT * FROM uploads WHERE bucket = ? AND object_key = ?')
      .get(bucket, key) as UploadRow | undefined;
    if (!row) {
      ctx.log(
        `s3: stored ${bucket}/${key} (${size} bytes), which belongs to no upload`,
      );
      return;
    }
    markStored(ctx, row, size);
    ctx.log(`upload ${row.id}: object stored (${size} bytes)`);
  } catch (error) {
    // The object is stored either way; refreshUpload records it later.
    ctx.log(`s3: could not record ${bucket}/${key}: ${errorText(error)}`);
  }
}

/** lookupCredentials is what the S3 endpoint calls to verify signatures. */
export function lookupCredentials(
  ctx: SandboxContext,
  accessKeyId: string,
):
  | S3Credentials
  | undefined {
  const row = ctx.db
    .prepare(
      `SELECT c.secret_access_key, c.session_token, c.expires_at, c.user_id,
              u.organization_id
         FROM upload_credentials c JOIN users u ON u.id = c.user_id
        WHERE c.access_key_id = ?`,
    )
    .get(accessKeyId) as
    | {
        secret_access_key: string;
        session_token: string;
        expires_at: number;
        user_id: string;
        organization_id: string;
      }
    | undefined;
  if (!row) {
    return undefined;
  }
  return {
    secretAccessKey: row.secret_access_key,
    sessionToken: row.session_token,
    expiresAt: new Date(row.expires_at),
    // The same area uploads-post-data hands out object names in.
    keyPrefix: `organization/${row.organization_id}/user/${row.user_id}/uploads/`,
  };
}

function sheetEntry(row: UploadRow): Record<string, unknown> {
  return {
    upload: row.id,
    destination_path: row.destination_path,
    last_status: uploadStatusJson(row),
  };
}

/** uploadRoutes returns the upload routes bound to `ctx`. */
export function uploadRoutes(ctx: SandboxContext): RouteSpec<AuthUser>[] {
  return [
    {
      path: '/api/v2/upload-credentials/',
      methods: {
        POST: async (req) => {
          await req.body();
          const now = ctx.now();
          const expiresAt = now + ctx.credentialTtlSeconds * 1000;
          const accessKey = `ASIA${randomAlnum(16)}`;
          const secretKey = randomAlnum(40, SECRET_ALPHABET);
          const token = randomToken(96);
          ctx.db
            .prepare(
              'INSERT INTO upload_credentials (access_key_id, secret_access_key, session_token, user_id, expires_at, created) VALUES (?, ?, ?, ?, ?, ?)',
            )
            .run(
              accessKey,
              secretKey,
              token,
              req.user.id,
              expiresAt,
              timestamp(now),
            );
          // Credentials expired for a day are of no use even for error
          // messages.
          ctx.db
            .prepare('DELETE FROM upload_credentials WHERE expires_at < ?')
            .run(now - 86_400_000);
          // Recorded as 200 (the SPEC says 201); endpoint_url is a sandbox
          // extra.
          return json(200, {
            version: 1,
            access_key: accessKey,
            secret_key: secretKey,
            token,
            expiry_time: expiryTimestamp(expiresAt),
            endpoint_url: ctx.origin,
          });
        },
      },
    },
    {
      path: '/api/v2/uploads-post-data/',
      methods: {
        POST: async (req) => {
          const body = requireObject(await req.body());
          const destination = validateDestination(body.destination_path);
          const existing = ctx.db
            .prepare(
              'SELECT * FROM uploads WHERE organization_id = ? AND destination_path = ?',
            )
            .get(req.user.organizationId, destination) as UploadRow | undefined;
          if (existing) {
            return json(201, uploadPostDataJson(refreshUpload(ctx, existing)));
          }
          const id = newId();
          const fileId = newId();
          const read =
            parseUploadName(baseName(destination)).read === 'R2' ? 'r2' : 'r1';
          const key = `organization/${req.user.organizationId}/user/${req.user.id}/uploads/${id}.fastq-${read}`;
          const stamp = timestamp(ctx.now());
          transaction(ctx.db, () => {
            ctx.db
              .prepare(
                `INSERT INTO uploads (id, organization_id, user_id, destination_path, read, bucket, object_key, size, source,
                   file_id, sample_id, status_id, status, status_note, status_created, created, modified)
                 VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'cli', ?, NULL, ?, 'started', '', ?, ?, ?)`,
              )
              .run(
                id,
                req.user.organizationId,
                req.user.id,
                destination,
                read,
                UPLOAD_BUCKET,
                key,
                fileId,
                newId(),
                stamp,
                stamp,
                stamp,
              );
            ctx.db
              .prepare(
                `INSERT INTO files (id, upload_id, file_type, file_name, storage_path, s3_path, size, checksum_sha256, position, created)
                 VALUES (?, ?, ?, ?, NULL, ?, NULL, '', 0, ?)`,
              )
              .run(
                fileId,
                id,
                `fastq-${read}`,
                baseName(destination),
                key,
                stamp,
              );
          });
          const row = loadUploadRow(ctx, id) as UploadRow;
          return json(201, uploadPostDataJson(refreshUpload(ctx, row)));
        },
      },
    },
    {
      path: '/api/v2/uploads/',
      methods: {
        GET: (req) => {
          const status = choice(
            req.query,
            'status',
            ['all', 'failed', 'started', 'succeeded'],
            'all',
          );
          const where = ['organization_id = ?'];
          const params: string[] = [req.user.organizationId];
          if (status !== 'all') {
            where.push('status = ?');
            params.push(status);
          }
          const search = req.query.get('search');
          if (search) {
            where.push('id = ?');
            params.push(search.toLowerCase());
          }
          const pr = pageRequest(req.query);
          const clause = where.join(' AND ');
          const count = (
            ctx.db
              .prepare(`SELECT COUNT(*) AS n FROM uploads WHERE ${clause}`)
              .get(...params) as { n: number }
          ).n;
          const rows = ctx.db
            .prepare(
              `SELECT * FROM uploads WHERE ${clause} ORDER BY created DESC, id LIMIT ? OFFSET ?`,
            )
            .all(...params, pr.limit, pr.offset) as unknown as UploadRow[];
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              count,
              rows.map((r) => uploadJson(ctx, refreshUpload(ctx, r))),
            ),
          );
        },
      },
    },
    {
      path: '/api/v2/uploads/{upload_id}',
      uuidParams: ['upload_id'],
      methods: {
        GET: (req) => {
          const row = loadUploadRow(ctx, req.params.upload_id);
          if (!row || row.organization_id !== req.user.organizationId) {
            throw notFound();
          }
          return json(200, uploadJson(ctx, refreshUpload(ctx, row)));
        },
      },
    },
    {
      path: '/api/v2/sample-sheet/',
      methods: {
        GET: (req) => {
          const status = choice(
            req.query,
            'status',
            ['all', 'assigned', 'unassigned'],
            'all',
          );
          const sortBy = choice(
            req.query,
            'sort_by',
            ['created', 'modified'],
            'created',
          );
          const order = choice(
            req.query,
            'sort_order',
            ['asc', 'desc'],
            'desc',
          );
          const where = ['organization_id = ?'];
          const params: string[] = [req.user.organizationId];
          const search = req.query.get('search');
          if (search) {
            // Prefix match on the gncv:// path (no LIKE, so '%' and '_' are
            // literal).
            where.push('substr(destination_path, 1, length(?)) = ?');
            params.push(search, search);
          }
          if (status === 'assigned') {
            where.push('sample_id IS NOT NULL');
          } else if (status === 'unassigned') {
            where.push('sample_id IS NULL');
          }
          const uploads = (
            ctx.db
              .prepare(`SELECT * FROM uploads WHERE ${where.join(' AND ')}`)
              .all(...params) as unknown as UploadRow[]
          ).map((r) => refreshUpload(ctx, r));
          const rows = groupSheetRows(
            uploads.map((u) => ({ ...u, destinationPath: u.destination_path })),
            sortBy,
            order,
          );
          const pr = pageRequest(req.query);
          const results = rows
            .slice(pr.offset, pr.offset + pr.limit)
            .map((r) => {
              const fastq: Record<string, unknown> = {};
              if (r.r1) {
                fastq.r1 = sheetEntry(r.r1);
              }
              if (r.r2) {
                fastq.r2 = sheetEntry(r.r2);
              }
              return { client_id: r.clientId, fastq };
            });
          return json(200, page(ctx.origin, req.url, pr, rows.length, results));
        },
      },
    },
  ];
}
