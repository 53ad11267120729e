/**
 * The watcher's journal tables: watch folders and the runs found in them.
 *
 * Runs are keyed by (watch folder id, Run Id from RunInfo.xml), never by
 * path, so a run copied in again under another name, or seen again after a
 * restart or a remount, is the same row. The row holds the run's state, its
 * upload job id and the assignment outcome. A folder that is removed keeps
 * its rows (marked removed) so that its runs are still known as delivered.
 */
import type { Journal } from '../journal/journal.ts';
import { parseJson } from '../journal/journal.ts';
import type {
  PlanProblem,
  UploadPlan,
  WatchPlanSummary,
  WatchRunState,
} from '../../../shared/domain.ts';

const WATCH_SCHEMA_V1 = [
  `CREATE TABLE watch_folders (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    project_id TEXT NOT NULL,
    destination TEXT,
    metadata TEXT,
    is_polling INTEGER NOT NULL,
    settle_seconds REAL NOT NULL,
    include_undetermined INTEGER NOT NULL,
    ignore_existing_runs INTEGER NOT NULL DEFAULT 0,
    is_paused INTEGER NOT NULL DEFAULT 0,
    first_scan_at TEXT,
    created_at TEXT NOT NULL,
    removed_at TEXT
  )`,
  'CREATE INDEX watch_folders_path ON watch_folders (path, project_id)',
  `CREATE TABLE watch_runs (
    folder_id TEXT NOT NULL REFERENCES watch_folders (id),
    run_id TEXT NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL,
    detail TEXT NOT NULL,
    plan TEXT,
    job_id TEXT,
    assigned TEXT,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (folder_id, run_id)
  )`,
  'CREATE INDEX watch_runs_run_id ON watch_runs (run_id)',
];

const RUN_STATES: readonly WatchRunState[] = [
  'waiting-for-run',
  'settling',
  'planned',
  'uploading',
  'assigned',
  'failed',
  'ignored',
  'duplicate',
];

/** A watch folder as stored. */
export interface WatchFolderRecord {
  id: string;
  path: string;
  projectId: string;
  destination: string | null;
  metadata: unknown;
  isPolling: boolean;
  settleSeconds: number;
  includeUndetermined: boolean;
  ignoreExistingRuns: boolean;
  isPaused: boolean;
  /** When the folder was first scanned (existing runs were then seen). */
  firstScanAt: string | null;
  createdAt: string;
}

/** What a run row keeps besides its state (JSON column `detail`). */
export interface WatchRunDetail {
  instrument: string | null;
  missingMarkers: string[];
  problems: PlanProblem[];
  planSummary: WatchPlanSummary | null;
  /** Other folders seen holding the same Run Id. */
  copies: string[];
  /** Code of the upload job's error, when the job failed. */
  jobErrorCode: string | null;
  /** The user asked to upload despite blocking plan problems. */
  isForced: boolean;
}

/** A run as stored. */
export interface WatchRunRecord {
  folderId: string;
  runId: string;
  path: string;
  state: Exclude<WatchRunState, 'not-a-run'>;
  message: string;
  detail: WatchRunDetail;
  jobId: string | null;
  assigned: { clientId: string; sampleId: string }[];
  firstSeenAt: string;
  updatedAt: string;
}

interface FolderRow {
  id: string;
  path: string;
  project_id: string;
  destination: string | null;
  metadata: string | null;
  is_polling: number;
  settle_seconds: number;
  include_undetermined: number;
  ignore_existing_runs: number;
  is_paused: number;
  first_scan_at: string | null;
  created_at: string;
}

interface RunRow {
  folder_id: string;
  run_id: string;
  path: string;
  state: string;
  message: string;
  detail: string;
  job_id: string | null;
  assigned: string | null;
  first_seen_at: string;
  updated_at: string;
}

/** emptyRunDetail returns a detail with nothing recorded. */
export function emptyRunDetail(): WatchRunDetail {
  return {
    instrument: null,
    missingMarkers: [],
    problems: [],
    planSummary: null,
    copies: [],
    jobErrorCode: null,
    isForced: false,
  };
}

/**
 * WatchStore reads and writes the watch tables of one journal. Every
 * method commits before it returns (or joins the caller's transaction).
 */
export class WatchStore {
  readonly journal: Journal;

  /** The constructor creates the tables when missing (journal module 'watch'). */
  constructor(journal: Journal) {
    this.journal = journal;
    journal.ensureSchema('watch', 1, WATCH_SCHEMA_V1);
  }

  /** addFolder records a new watch folder. */
  addFolder(folder: WatchFolderRecord): void {
    this.journal.db
      .prepare(
        `INSERT INTO watch_folders (id, path, project_id, destination, metadata,
           is_polling, settle_seconds, include_undetermined, ignore_existing_runs,
           is_paused, first_scan_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        folder.id,
        folder.path,
        folder.projectId,
        folder.destination,
        folder.metadata === null ? null : JSON.stringify(folder.metadata),
        folder.isPolling ? 1 : 0,
        folder.settleSeconds,
        folder.includeUndetermined ? 1 : 0,
        folder.ignoreExistingRuns ? 1 : 0,
        folder.isPaused ? 1 : 0,
        folder.firstScanAt,
        folder.createdAt,
      );
  }

  /** updateFolder rewrites the changeable settings of a folder. */
  updateFolder(folder: WatchFolderRecord): void {
    this.journal.db
      .prepare(
        `UPDATE watch_folders SET destination = ?, metadata = ?, is_polling = ?,
           settle_seconds = ?, include_undetermined = ?, is_paused = ?,
           first_scan_at = ?
         WHERE id = ?`,
      )
      .run(
        folder.destination,
        folder.metadata === null ? null : JSON.stringify(folder.metadata),
        folder.isPolling ? 1 : 0,
        folder.settleSeconds,
        folder.includeUndetermined ? 1 : 0,
        folder.isPaused ? 1 : 0,
        folder.firstScanAt,
        folder.id,
      );
  }

  /** removeFolder marks a folder removed; its runs stay known. */
  removeFolder(id: string, at: string): void {
    this.journal.db
      .prepare('UPDATE watch_folders SET removed_at = ? WHERE id = ?')
      .run(at, id);
  }

  /** listFolders returns the folders not removed, oldest first. */
  listFolders(): WatchFolderRecord[] {
    const rows = this.journal.db
      .prepare(
        'SELECT * FROM watch_folders WHERE removed_at IS NULL ORDER BY created_at, rowid',
      )
      .all() as unknown as FolderRow[];
    return rows.map(toFolder);
  }

  /** listRuns returns the runs of a folder, first seen first. */
  listRuns(folderId: string): WatchRunRecord[] {
    const rows = this.journal.db
      .prepare(
        'SELECT * FROM watch_runs WHERE folder_id = ? ORDER BY first_seen_at, run_id',
      )
      .all(folderId) as unknown as RunRow[];
    return rows.map(toRun);
  }

  /** getRun returns one run, or undefined. */
  getRun(folderId: string, runId: string): WatchRunRecord | undefined {
    const row = this.journal.db
      .prepare('SELECT * FROM watch_runs WHERE folder_id = ? AND run_id = ?')
      .get(folderId, runId) as RunRow | undefined;
    return row === undefined ? undefined : toRun(row);
  }

  /**
   * findDeliveredElsewhere returns a run with this Run Id that another
   * watch folder (removed ones included) of the same project queued for
   * upload, or undefined.
   */
  findDeliveredElsewhere(
    runId: string,
    projectId: string,
    folderId: string,
  ): { run: WatchRunRecord; folderPath: string } | undefined {
    const row = this.journal.db
      .prepare(
        `SELECT r.*, f.path AS folder_path FROM watch_runs r
           JOIN watch_folders f ON f.id = r.folder_id
         WHERE r.run_id = ? AND f.project_id = ? AND r.folder_id <> ?
           AND r.job_id IS NOT NULL
         ORDER BY r.first_seen_at LIMIT 1`,
      )
      .get(runId, projectId, folderId) as
      (RunRow & { folder_path: string }) | undefined;
    return row === undefined
      ? undefined
      : { run: toRun(row), folderPath: row.folder_path };
  }

  /**
   * putRun inserts or replaces a run row, and the stored plan when `plan` is
   * given (kept otherwise). A row that names an upload job is only replaced
   * by a record naming the same job: a writer that read the row before the
   * job was queued (another watcher on the same journal) cannot make it
   * forget its job. Returns false when the row was left as it was for that
   * reason.
   */
  putRun(run: WatchRunRecord, plan?: UploadPlan | null): boolean {
    const planText =
      plan === undefined
        ? undefined
        : plan === null
          ? null
          : JSON.stringify(plan);
    const info = this.journal.db
      .prepare(
        `INSERT INTO watch_runs (folder_id, run_id, path, state, message, detail,
           plan, job_id, assigned, first_seen_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (folder_id, run_id) DO UPDATE SET
           path = excluded.path, state = excluded.state,
           message = excluded.message, detail = excluded.detail,
           plan = CASE WHEN ? THEN excluded.plan ELSE watch_runs.plan END,
           job_id = excluded.job_id, assigned = excluded.assigned,
           updated_at = excluded.updated_at
         WHERE watch_runs.job_id IS NULL
           OR watch_runs.job_id IS excluded.job_id`,
      )
      .run(
        run.folderId,
        run.runId,
        run.path,
        run.state,
        run.message,
        JSON.stringify(run.detail),
        planText ?? null,
        run.jobId,
        run.assigned.length === 0 ? null : JSON.stringify(run.assigned),
        run.firstSeenAt,
        run.updatedAt,
        planText === undefined ? 0 : 1,
      );
    return Number(info.changes) > 0;
  }

  /** getPlan returns the plan stored with a run, or null. */
  getPlan(folderId: string, runId: string): UploadPlan | null {
    const row = this.journal.db
      .prepare('SELECT plan FROM watch_runs WHERE folder_id = ? AND run_id = ?')
      .get(folderId, runId) as { plan: string | null } | undefined;
    if (row === undefined || row.plan === null) return null;
    return parseJson(
      row.plan,
      `watch_runs(${folderId}, ${runId}).plan`,
    ) as UploadPlan;
  }
}

function toFolder(row: FolderRow): WatchFolderRecord {
  return {
    id: row.id,
    path: row.path,
    projectId: row.project_id,
    destination: row.destination,
    metadata:
      row.metadata === null
        ? null
        : parseJson(row.metadata, `watch_folders(${row.id}).metadata`),
    isPolling: row.is_polling === 1,
    settleSeconds: row.settle_seconds,
    includeUndetermined: row.include_undetermined === 1,
    ignoreExistingRuns: row.ignore_existing_runs === 1,
    isPaused: row.is_paused === 1,
    firstScanAt: row.first_scan_at,
    createdAt: row.created_at,
  };
}

function toRun(row: RunRow): WatchRunRecord {
  const where = `watch_runs(${row.folder_id}, ${row.run_id})`;
  const state = RUN_STATES.includes(row.state as WatchRunState)
    ? (row.state as WatchRunRecord['state'])
    : 'failed';
  return {
    folderId: row.folder_id,
    runId: row.run_id,
    path: row.path,
    state,
    message: row.message,
    detail: {
      ...emptyRunDetail(),
      ...(parseJson(row.detail, `${where}.detail`) as object),
    },
    jobId: row.job_id,
    assigned:
      row.assigned === null
        ? []
        : (parseJson(
            row.assigned,
            `${where}.assigned`,
          ) as WatchRunRecord['assigned']),
    firstSeenAt: row.first_seen_at,
    updatedAt: row.updated_at,
  };
}
