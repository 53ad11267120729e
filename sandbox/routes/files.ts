/**
 * File routes: file-types/ and files/{file_id}.sha256.
 */
import type { AuthUser } from '../auth.ts';
import {
  ALL_SAMPLE_FILE_TYPES,
  PSEUDO_FILE_TYPES,
  REFERENCE_GENOME_FILE_TYPES,
  sampleFileTypes,
} from '../catalog.ts';
import type { SandboxContext } from '../context.ts';
import {
  ApiError,
  attachmentHeader,
  choice,
  json,
  notFound,
  page,
  pageRequest,
  type RouteSpec,
} from '../http.ts';
import { loadProject, projectConfiguration, type FileRow } from '../records.ts';
import { isUuid } from '../util.ts';

/**
 * loadVisibleFile returns a file of the user's organization (a live sample's
 * file or an upload's file), or throws 404.
 */
export function loadVisibleFile(
  ctx: SandboxContext,
  user: AuthUser,
  id: string,
): FileRow {
  const row = ctx.db
    .prepare(
      `SELECT f.* FROM files f
         LEFT JOIN samples s ON s.id = f.sample_id
         LEFT JOIN projects p ON p.id = s.project_id
         LEFT JOIN uploads u ON u.id = f.upload_id
       WHERE f.id = ?
         AND ((s.id IS NOT NULL AND s.deleted = 0 AND p.organization_id = ?)
           OR (u.id IS NOT NULL AND u.organization_id = ?))`,
    )
    .get(id, user.organizationId, user.organizationId) as FileRow | undefined;
  if (!row) {
    throw notFound();
  }
  return row;
}

/** fileRoutes returns the file routes bound to `ctx`. */
export function fileRoutes(ctx: SandboxContext): RouteSpec<AuthUser>[] {
  return [
    {
      path: '/api/v2/file-types/',
      methods: {
        GET: (req) => {
          const object = choice(
            req.query,
            'object',
            ['sample', 'reference_genome'],
            'sample',
          );
          const projectId = req.query.get('project_id');
          let keys: string[];
          if (projectId) {
            if (!isUuid(projectId)) {
              throw notFound();
            }
            const project = loadProject(ctx, req.user, projectId.toLowerCase());
            keys =
              object === 'sample'
                ? [
                    ...sampleFileTypes(projectConfiguration(ctx, project)),
                  ].sort()
                : [];
          } else {
            keys =
              object === 'sample'
                ? [...ALL_SAMPLE_FILE_TYPES].sort()
                : [...REFERENCE_GENOME_FILE_TYPES];
          }
          if (object === 'sample') {
            // The pseudo types follow the file types, as recorded.
            keys.push(...PSEUDO_FILE_TYPES);
          }
          const pr = pageRequest(req.query);
          const results = keys
            .slice(pr.offset, pr.offset + pr.limit)
            .map((key) => ({ key, description: '' }));
          return json(200, page(ctx.origin, req.url, pr, keys.length, results));
        },
      },
    },
    {
      path: '/api/v2/files/{file_id}.sha256',
      uuidParams: ['file_id'],
      methods: {
        GET: (req) => {
          const file = loadVisibleFile(ctx, req.user, req.params.file_id);
          if (!file.checksum_sha256) {
            throw new ApiError(400, { detail: 'File does not have checksum.' });
          }
          const requested = req.query.get('filename');
          // A line break in the name would forge a second checksum line.
          const name = (
            requested && requested.trim() !== '' ? requested : file.file_name
          ).replace(/[\r\n]/g, '_');
          return {
            status: 200,
            text: `${file.checksum_sha256} *${name}\n`,
            contentType: 'text/html; charset=utf-8',
            headers: {
              'Content-Disposition': attachmentHeader(`${name}.sha256`),
            },
          };
        },
      },
    },
  ];
}
