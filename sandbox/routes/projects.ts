/**
 * Project and pipeline routes: projects/ (list, create), projects/{id}
 * (detail, patch), projects-hide/, projects-unhide/, pipeline/,
 * pipeline/{id}, pipeline-capabilities/ and pipeline-capabilities/{id}.
 */
import type { AuthUser } from '../auth.ts';
import { SUPPORTED_MODIFICATIONS } from '../catalog.ts';
import type { SandboxContext } from '../context.ts';
import { transaction } from '../db.ts';
import {
  choice,
  fieldError,
  fieldErrors,
  json,
  notFound,
  page,
  pageRequest,
  requireObject,
  type RouteSpec,
} from '../http.ts';
import {
  capabilityJson,
  loadCapability,
  loadProject,
  projectJson,
  type CapabilityRow,
  type ProjectRow,
} from '../records.ts';
import { isUuid, newId, timestamp } from '../util.ts';

const PROJECT_SORT: Record<string, string> = {
  created: 'p.created',
  modified: 'p.modified',
  name: 'p.name COLLATE NOCASE',
  pipeline_capabilities: 'p.capability_id',
  sample_count:
    '(SELECT COUNT(*) FROM samples s WHERE s.project_id = p.id AND s.deleted = 0 AND s.hidden = 0)',
};

const RUNNING = "('created', 'running')";

/**
 * parseModifications validates `project_modifications`: a list of
 * `{key, value: boolean}` whose keys the capability supports.
 */
function parseModifications(value: unknown): { key: string; value: boolean }[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw fieldError(
      'project_modifications',
      'Expected a list of {"key", "value"} objects.',
    );
  }
  const allowed = SUPPORTED_MODIFICATIONS.map((m) => m.key);
  const out: { key: string; value: boolean }[] = [];
  for (const [index, item] of value.entries()) {
    if (
      !item ||
      typeof item !== 'object' ||
      typeof (item as { key?: unknown }).key !== 'string' ||
      typeof (item as { value?: unknown }).value !== 'boolean'
    ) {
      throw fieldError(
        'project_modifications',
        `Item ${index} must be an object with a string "key" and a boolean "value".`,
      );
    }
    const { key, value: flag } = item as { key: string; value: boolean };
    if (!allowed.includes(key)) {
      throw fieldError(
        'project_modifications',
        `Modification "${key}" is not supported by the pipeline capabilities; supported: ${allowed.join(', ')}.`,
      );
    }
    out.push({ key, value: flag });
  }
  return out;
}

function parseName(value: unknown, required: boolean): string | undefined {
  if (value === undefined && !required) {
    return undefined;
  }
  if (value === undefined) {
    throw fieldError('name', 'This field is required.');
  }
  if (typeof value !== 'string') {
    throw fieldError('name', 'Not a valid string.');
  }
  if (value.trim() === '') {
    throw fieldError('name', 'This field may not be blank.');
  }
  if (value.length > 254) {
    throw fieldError(
      'name',
      'Ensure this field has no more than 254 characters.',
    );
  }
  return value;
}

function parseDescription(value: unknown): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw fieldError('description', 'Not a valid string.');
  }
  return value;
}

function parseIdList(body: Record<string, unknown>, field: string): string[] {
  const value = body[field];
  if (value === undefined) {
    throw fieldError(field, 'This field is required.');
  }
  if (!Array.isArray(value)) {
    throw fieldError(field, 'Expected a list of items.');
  }
  if (value.length === 0) {
    throw fieldError(field, 'This list may not be empty.');
  }
  const bad = value.filter((v) => !isUuid(v));
  if (bad.length > 0) {
    throw fieldError(
      field,
      `Must be valid UUIDs: ${bad.map(String).join(', ')}.`,
    );
  }
  return [...new Set((value as string[]).map((v) => v.toLowerCase()))];
}

/** projectRoutes returns the project and pipeline routes bound to `ctx`. */
export function projectRoutes(ctx: SandboxContext): RouteSpec<AuthUser>[] {
  const setHidden =
    (hidden: 0 | 1) =>
    async (req: { body(): Promise<unknown>; user: AuthUser }) => {
      const body = requireObject(await req.body());
      const ids = parseIdList(body, 'project_ids');
      transaction(ctx.db, () => {
        for (const id of ids) {
          const row = ctx.db
            .prepare(
              'SELECT 1 FROM projects WHERE id = ? AND organization_id = ?',
            )
            .get(id, req.user.organizationId);
          if (!row) {
            throw fieldError(
              'project_ids',
              'All project ids must be part of the current organization.',
            );
          }
        }
        const stamp = timestamp(ctx.now());
        for (const id of ids) {
          ctx.db
            .prepare(
              'UPDATE projects SET hidden = ?, modified = ? WHERE id = ?',
            )
            .run(hidden, stamp, id);
        }
      });
      return { status: 204 };
    };

  return [
    {
      path: '/api/v2/projects/',
      methods: {
        GET: (req) => {
          const q = req.query;
          const hidden = choice(
            q,
            'hidden_status',
            ['all', 'hidden', 'visible'],
            'visible',
          );
          const status = choice(
            q,
            'status',
            ['all', 'completed', 'running'],
            'all',
          );
          const sortBy = choice(
            q,
            'sort_by',
            Object.keys(PROJECT_SORT),
            'created',
          );
          const order = choice(q, 'sort_order', ['asc', 'desc'], 'desc');
          choice(
            q,
            'additional_permission',
            ['basespace_biosamples_import', 'project_samples_add'],
            'project_samples_add',
          );
          const where = ['p.organization_id = ?'];
          const params: (string | number)[] = [req.user.organizationId];
          if (hidden !== 'all') {
            where.push('p.hidden = ?');
            params.push(hidden === 'hidden' ? 1 : 0);
          }
          const search = q.get('search');
          if (search) {
            where.push(
              "(p.name LIKE ? ESCAPE '\\' OR p.description LIKE ? ESCAPE '\\' OR p.id = ?)",
            );
            const like = `%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
            params.push(like, like, search.toLowerCase());
          }
          const live =
            'FROM samples s WHERE s.project_id = p.id AND s.deleted = 0';
          if (status === 'running') {
            where.push(`EXISTS (SELECT 1 ${live} AND s.status IN ${RUNNING})`);
          } else if (status === 'completed') {
            where.push(
              `EXISTS (SELECT 1 ${live}) AND NOT EXISTS (SELECT 1 ${live} AND s.status IN ${RUNNING})`,
            );
          }
          // Nothing in the sandbox is shared or locked.
          if (q.get('shared') === 'true' || q.get('locked') === 'true') {
            where.push('0');
          }
          const clause = where.join(' AND ');
          const count = (
            ctx.db
              .prepare(`SELECT COUNT(*) AS n FROM projects p WHERE ${clause}`)
              .get(...params) as {
              n: number;
            }
          ).n;
          const pr = pageRequest(q);
          const rows = ctx.db
            .prepare(
              `SELECT p.* FROM projects p WHERE ${clause} ORDER BY ${PROJECT_SORT[sortBy]} ${order}, p.id LIMIT ? OFFSET ?`,
            )
            .all(...params, pr.limit, pr.offset) as unknown as ProjectRow[];
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              count,
              rows.map((r) => projectJson(ctx, r)),
            ),
          );
        },
        POST: async (req) => {
          const body = requireObject(await req.body());
          const errors: Record<string, string[]> = {};
          let name: string | undefined;
          try {
            name = parseName(body.name, true);
          } catch (error) {
            Object.assign(
              errors,
              (error as { body: Record<string, string[]> }).body,
            );
          }
          const capId = body.pipeline_capabilities;
          let cap: CapabilityRow | undefined;
          if (capId === undefined || capId === null) {
            errors.pipeline_capabilities = ['This field is required.'];
          } else if (!isUuid(capId)) {
            errors.pipeline_capabilities = [
              `“${String(capId)}” is not a valid UUID.`,
            ];
          } else {
            cap = loadCapability(ctx, capId.toLowerCase());
            if (!cap) {
              errors.pipeline_capabilities = [
                `Invalid pk "${capId}" - object does not exist.`,
              ];
            }
          }
          if (Object.keys(errors).length > 0 || !cap || name === undefined) {
            throw fieldErrors(errors);
          }
          const description = parseDescription(body.description) ?? '';
          const modifications = parseModifications(body.project_modifications);
          const id = newId();
          const stamp = timestamp(ctx.now());
          ctx.db
            .prepare(
              'INSERT INTO projects (id, organization_id, name, description, capability_id, modifications, hidden, created, modified) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)',
            )
            .run(
              id,
              req.user.organizationId,
              name,
              description,
              cap.id,
              JSON.stringify(modifications),
              stamp,
              stamp,
            );
          return json(201, projectJson(ctx, loadProject(ctx, req.user, id)));
        },
      },
    },
    {
      path: '/api/v2/projects/{project_id}',
      uuidParams: ['project_id'],
      methods: {
        GET: (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          return json(200, { ...projectJson(ctx, project), files: [] });
        },
        PATCH: async (req) => {
          const project = loadProject(ctx, req.user, req.params.project_id);
          const body = requireObject(await req.body());
          const name = parseName(body.name, false) ?? project.name;
          const description =
            parseDescription(body.description) ?? project.description;
          const modifications =
            body.project_modifications === undefined
              ? project.modifications
              : JSON.stringify(parseModifications(body.project_modifications));
          if (
            body.pipeline_capabilities !== undefined &&
            body.pipeline_capabilities !== project.capability_id
          ) {
            throw fieldError(
              'pipeline_capabilities',
              'The pipeline capabilities of a project cannot be changed in the sandbox.',
            );
          }
          ctx.db
            .prepare(
              'UPDATE projects SET name = ?, description = ?, modifications = ?, modified = ? WHERE id = ?',
            )
            .run(
              name,
              description,
              modifications,
              timestamp(ctx.now()),
              project.id,
            );
          return json(
            200,
            projectJson(ctx, loadProject(ctx, req.user, project.id)),
          );
        },
      },
    },
    { path: '/api/v2/projects-hide/', methods: { POST: setHidden(1) } },
    { path: '/api/v2/projects-unhide/', methods: { POST: setHidden(0) } },
    {
      path: '/api/v2/pipeline/',
      methods: {
        GET: (req) => {
          choice(req.query, 'sort_by', ['created'], 'created');
          const order = choice(
            req.query,
            'sort_order',
            ['asc', 'desc'],
            'desc',
          );
          const pr = pageRequest(req.query);
          const count = (
            ctx.db.prepare('SELECT COUNT(*) AS n FROM pipelines').get() as {
              n: number;
            }
          ).n;
          const rows = ctx.db
            .prepare(
              `SELECT id, version FROM pipelines ORDER BY created ${order}, id LIMIT ? OFFSET ?`,
            )
            .all(pr.limit, pr.offset) as unknown as {
            id: string;
            version: string;
          }[];
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              count,
              rows.map((r) => ({ id: r.id, version: r.version })),
            ),
          );
        },
      },
    },
    {
      path: '/api/v2/pipeline/{pipeline_id}',
      uuidParams: ['pipeline_id'],
      methods: {
        GET: (req) => {
          const pipeline = ctx.db
            .prepare('SELECT id, version FROM pipelines WHERE id = ?')
            .get(req.params.pipeline_id) as
            { id: string; version: string } | undefined;
          if (!pipeline) {
            throw notFound();
          }
          const caps = ctx.db
            .prepare(
              'SELECT * FROM capabilities WHERE pipeline_id = ? ORDER BY configuration',
            )
            .all(pipeline.id) as unknown as CapabilityRow[];
          return json(200, {
            id: pipeline.id,
            version: pipeline.version,
            // The recording adds `version` to each capability; the SPEC's
            // fields are kept too.
            capabilities: caps.map((c) => ({
              ...capabilityJson(c),
              version: pipeline.version,
            })),
          });
        },
      },
    },
    {
      path: '/api/v2/pipeline-capabilities/',
      methods: {
        GET: (req) => {
          const search = req.query.get('search');
          let rows = ctx.db
            .prepare('SELECT * FROM capabilities ORDER BY configuration')
            .all() as unknown as CapabilityRow[];
          if (search) {
            const ids = new Set(
              search.split(',').map((s) => s.trim().toLowerCase()),
            );
            rows = rows.filter((r) => ids.has(r.id));
          }
          const pr = pageRequest(req.query);
          const slice = rows.slice(pr.offset, pr.offset + pr.limit);
          return json(
            200,
            page(
              ctx.origin,
              req.url,
              pr,
              rows.length,
              slice.map(capabilityJson),
            ),
          );
        },
      },
    },
    {
      path: '/api/v2/pipeline-capabilities/{pipeline_capabilities_id}',
      uuidParams: ['pipeline_capabilities_id'],
      methods: {
        GET: (req) => {
          const cap = loadCapability(ctx, req.params.pipeline_capabilities_id);
          if (!cap) {
            throw notFound();
          }
          return json(200, capabilityJson(cap));
        },
      },
    },
  ];
}
