/**
 * The engine's durable store: one node:sqlite file (WAL mode) that records
 * every job and, through module-owned tables, every completed part, every
 * assignment batch and every delivered file. Writers record a fact here
 * BEFORE they report it, so a crash never shows the user progress that a
 * restart would forget.
 *
 * Each engine module owns its tables and migrates them itself through
 * `ensureSchema`; the versions applied are kept in `schema_versions`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import type { JobState } from '../../../shared/domain.ts';

/** How long a writer waits for another connection's lock before failing. */
export const JOURNAL_BUSY_TIMEOUT_MS = 5_000;

/** Kinds of job the scheduler knows. */
export type JobKind = 'upload' | 'download';

/** A job as stored in the journal's `jobs` table. */
export interface JobRecord {
  id: string;
  kind: JobKind;
  title: string;
  state: JobState;
  /** The job's request, parsed from its JSON column. */
  request: unknown;
  /** Number of times the job was started (0 before its first run). */
  attempt: number;
  /** The last error, when the job failed (or is retrying after one). */
  error: { code: string; message: string } | null;
  /** The job's result so far (worker-defined JSON), or null. */
  result: unknown;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Fields of a job that `updateJob` may change. */
export interface JobUpdate {
  state?: JobState;
  attempt?: number;
  error?: { code: string; message: string } | null;
  result?: unknown;
  title?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

/** Raised when the journal file cannot be opened or has a bad schema. */
export class JournalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JournalError';
  }
}

const JOB_STATES: readonly JobState[] = [
  'queued',
  'running',
  'paused',
  'retrying',
  'done',
  'failed',
  'cancelled',
];

const JOBS_SCHEMA = [
  `CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
  )`,
  'CREATE INDEX jobs_state ON jobs (state)',
];

interface JobRow {
  id: string;
  kind: string;
  title: string;
  state: string;
  request: string;
  attempt: number;
  error: string | null;
  result: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/**
 * Journal wraps one SQLite connection. `db` is exposed so that modules can
 * keep their own tables (created through `ensureSchema`) and prepared
 * statements; they must not touch tables they do not own.
 *
 * All methods are synchronous: a call that returns has committed its write.
 */
export class Journal {
  /** The connection; valid until `close()`. */
  readonly db: DatabaseSync;
  /** The file this journal was opened from (':memory:' for tests). */
  readonly file: string;

  #isClosed = false;
  #transactionDepth = 0;

  private constructor(db: DatabaseSync, file: string) {
    this.db = db;
    this.file = file;
  }

  /**
   * Journal.open opens (creating when missing, with its parent folders) the
   * journal at `file`, switches it to WAL mode with a busy timeout, and makes
   * sure the core `jobs` table exists. Throws JournalError naming the file
   * when it cannot be opened or is not a SQLite database.
   */
  static open(file: string): Journal {
    if (file !== ':memory:') {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    }
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file, { timeout: JOURNAL_BUSY_TIMEOUT_MS });
    } catch (err) {
      throw new JournalError(
        `Cannot open the journal ${file}: ${messageOf(err)}`,
        { cause: err },
      );
    }
    try {
      db.exec('PRAGMA journal_mode = WAL');
      // FULL: a commit that returned survives a power cut, not only a crash.
      db.exec('PRAGMA synchronous = FULL');
      db.exec('PRAGMA foreign_keys = ON');
      const journal = new Journal(db, file);
      journal.#ensureVersionsTable();
      journal.ensureSchema('jobs', 1, JOBS_SCHEMA);
      return journal;
    } catch (err) {
      db.close();
      if (err instanceof JournalError) {
        throw err;
      }
      throw new JournalError(
        `The journal ${file} is not usable: ${messageOf(err)}`,
        { cause: err },
      );
    }
  }

  /** isClosed is true once `close()` was called. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** close closes the connection; later calls do nothing. */
  close(): void {
    if (this.#isClosed) {
      return;
    }
    this.#isClosed = true;
    this.db.close();
  }

  /**
   * ensureSchema brings `module`'s tables to `version`: when the version
   * recorded for the module is lower, `statements` run in one transaction
   * and `version` is recorded; otherwise nothing happens. Call it once per
   * migration step, in increasing order (1 creates tables, 2 alters them…).
   * Returns true when the statements ran.
   *
   * A recorded version higher than `version` is left alone (older code on a
   * newer file), so migrations must only add. Throws JournalError naming the
   * module, version and statement when a statement fails; nothing of that
   * step is then kept.
   */
  ensureSchema(module: string, version: number, statements: string[]): boolean {
    if (!module) {
      throw new JournalError('ensureSchema: module name is empty');
    }
    if (!Number.isInteger(version) || version < 1) {
      throw new JournalError(
        `ensureSchema(${module}): version must be a positive integer, got ${version}`,
      );
    }
    return this.transaction(() => {
      const current = this.schemaVersion(module);
      if (current >= version) {
        return false;
      }
      for (const sql of statements) {
        try {
          this.db.exec(sql);
        } catch (err) {
          throw new JournalError(
            `Migration ${module} v${version} failed on "${firstLine(sql)}": ${messageOf(err)}`,
            { cause: err },
          );
        }
      }
      this.db
        .prepare(
          `INSERT INTO schema_versions (module, version, applied_at)
           VALUES (?, ?, ?)
           ON CONFLICT (module) DO UPDATE
             SET version = excluded.version, applied_at = excluded.applied_at`,
        )
        .run(module, version, new Date().toISOString());
      return true;
    });
  }

  /** schemaVersion returns the version recorded for `module`, 0 when none. */
  schemaVersion(module: string): number {
    const row = this.db
      .prepare('SELECT version FROM schema_versions WHERE module = ?')
      .get(module) as { version: number } | undefined;
    return row?.version ?? 0;
  }

  /**
   * transaction runs `fn` inside one transaction and commits when it
   * returns, or rolls back when it throws (rethrowing). Nested calls join
   * the outer transaction through a savepoint. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    const isOuter = this.#transactionDepth === 0;
    const savepoint = `sp${this.#transactionDepth}`;
    this.db.exec(isOuter ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    this.#transactionDepth++;
    try {
      const value = fn();
      this.#transactionDepth--;
      this.db.exec(isOuter ? 'COMMIT' : `RELEASE ${savepoint}`);
      return value;
    } catch (err) {
      this.#transactionDepth--;
      if (isOuter) {
        this.db.exec('ROLLBACK');
      } else {
        this.db.exec(`ROLLBACK TO ${savepoint}`);
        this.db.exec(`RELEASE ${savepoint}`);
      }
      throw err;
    }
  }

  /** createJob records a new job (state 'queued', attempt 0) and returns it. */
  createJob(job: {
    id: string;
    kind: JobKind;
    title: string;
    request: unknown;
  }): JobRecord {
    const createdAt = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO jobs (id, kind, title, state, request, attempt, created_at)
         VALUES (?, ?, ?, 'queued', ?, 0, ?)`,
      )
      .run(job.id, job.kind, job.title, JSON.stringify(job.request), createdAt);
    return {
      id: job.id,
      kind: job.kind,
      title: job.title,
      state: 'queued',
      request: job.request,
      attempt: 0,
      error: null,
      result: null,
      createdAt,
      startedAt: null,
      finishedAt: null,
    };
  }

  /** getJob returns the job `id`, or undefined when the journal has none. */
  getJob(id: string): JobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as
      JobRow | undefined;
    return row ? toJobRecord(row) : undefined;
  }

  /**
   * listJobs returns jobs (all, or only those in `states`), oldest first,
   * leaving out rows whose stored JSON cannot be read.
   */
  listJobs(states?: readonly JobState[]): JobRecord[] {
    const rows = (states && states.length > 0
      ? this.db
          .prepare(
            `SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(', ')})
               ORDER BY created_at, rowid`,
          )
          .all(...states)
      : this.db
          .prepare('SELECT * FROM jobs ORDER BY created_at, rowid')
          .all()) as unknown as JobRow[];
    // A row that cannot be read (damaged JSON) is left out: the others
    // stay usable. getJob(id) still reports it.
    const records: JobRecord[] = [];
    for (const row of rows) {
      try {
        records.push(toJobRecord(row));
      } catch (err) {
        if (!(err instanceof JournalError)) throw err;
      }
    }
    return records;
  }

  /**
   * updateJob writes the given fields of job `id` and returns the updated
   * record. Throws JournalError when the job does not exist.
   */
  updateJob(id: string, update: JobUpdate): JobRecord {
    const sets: string[] = [];
    const values: (string | number | null)[] = [];
    if (update.state !== undefined) {
      sets.push('state = ?');
      values.push(update.state);
    }
    if (update.attempt !== undefined) {
      sets.push('attempt = ?');
      values.push(update.attempt);
    }
    if (update.error !== undefined) {
      sets.push('error = ?');
      values.push(update.error === null ? null : JSON.stringify(update.error));
    }
    if (update.result !== undefined) {
      sets.push('result = ?');
      values.push(
        update.result === null ? null : JSON.stringify(update.result),
      );
    }
    if (update.title !== undefined) {
      sets.push('title = ?');
      values.push(update.title);
    }
    if (update.startedAt !== undefined) {
      sets.push('started_at = ?');
      values.push(update.startedAt);
    }
    if (update.finishedAt !== undefined) {
      sets.push('finished_at = ?');
      values.push(update.finishedAt);
    }
    if (sets.length > 0) {
      const info = this.db
        .prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`)
        .run(...values, id);
      if (info.changes === 0) {
        throw new JournalError(`updateJob: no job ${id} in the journal`);
      }
    }
    const job = this.getJob(id);
    if (!job) {
      throw new JournalError(`updateJob: no job ${id} in the journal`);
    }
    return job;
  }

  #ensureVersionsTable(): void {
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS schema_versions (
        module TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        applied_at TEXT NOT NULL
      )`,
    );
  }
}

function toJobRecord(row: JobRow): JobRecord {
  const state = JOB_STATES.includes(row.state as JobState)
    ? (row.state as JobState)
    : 'failed';
  return {
    id: row.id,
    kind: row.kind as JobKind,
    title: row.title,
    state,
    request: parseJson(row.request, `jobs(${row.id}).request`),
    attempt: row.attempt,
    error:
      row.error === null
        ? null
        : (parseJson(row.error, `jobs(${row.id}).error`) as {
            code: string;
            message: string;
          }),
    result:
      row.result === null
        ? null
        : parseJson(row.result, `jobs(${row.id}).result`),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/**
 * parseJson parses a JSON column, throwing JournalError naming the column
 * (`where`) when the stored text is not JSON.
 */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JournalError(
      `The journal holds invalid JSON in ${where}: ${messageOf(err)}`,
      { cause: err },
    );
  }
}

function firstLine(sql: string): string {
  const line = sql.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
