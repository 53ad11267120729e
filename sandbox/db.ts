/**
 * The sandbox database: one node:sqlite file, `<dataDir>/sandbox.db`.
 *
 * The schema is created by numbered migrations; `meta.schema_version` records
 * how many have run, so later features (project subscriptions, notifications)
 * append a migration instead of changing an existing one.
 */
import { DatabaseSync } from 'node:sqlite';

/** Tables of the first version. Timestamps are platform-formatted text. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    otp_code TEXT,
    created TEXT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    revoked INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
  );
  CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    created TEXT NOT NULL
  );
  CREATE TABLE capabilities (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL REFERENCES pipelines(id),
    configuration TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
  );
  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    capability_id TEXT NOT NULL REFERENCES capabilities(id),
    modifications TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
  );
  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    destination_path TEXT NOT NULL,
    read TEXT NOT NULL,
    bucket TEXT NOT NULL,
    object_key TEXT NOT NULL UNIQUE,
    size INTEGER,
    source TEXT NOT NULL DEFAULT 'cli',
    file_id TEXT NOT NULL,
    sample_id TEXT,
    status_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_note TEXT NOT NULL DEFAULT '',
    status_created TEXT NOT NULL,
    created TEXT NOT NULL,
    modified TEXT NOT NULL,
    UNIQUE (organization_id, destination_path)
  );
  CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id),
    client_id TEXT NOT NULL,
    physical_id TEXT NOT NULL DEFAULT '',
    legacy_id TEXT NOT NULL DEFAULT '',
    run TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    metadata TEXT,
    r1_upload_id TEXT,
    r2_upload_id TEXT,
    status_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_note TEXT NOT NULL DEFAULT '',
    status_created TEXT NOT NULL,
    archive_status_id TEXT NOT NULL,
    archive_status TEXT NOT NULL,
    archive_created TEXT NOT NULL,
    failed_qc TEXT,
    next_step_at INTEGER,
    created TEXT NOT NULL,
    modified TEXT NOT NULL
  );
  CREATE INDEX samples_project ON samples(project_id);
  CREATE INDEX samples_pending ON samples(next_step_at)
    WHERE next_step_at IS NOT NULL;
  CREATE TABLE sample_statuses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    sample_id TEXT NOT NULL REFERENCES samples(id),
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
  );
  CREATE INDEX sample_statuses_sample ON sample_statuses(sample_id);
  CREATE TABLE files (
    id TEXT PRIMARY KEY,
    sample_id TEXT REFERENCES samples(id),
    upload_id TEXT REFERENCES uploads(id),
    file_type TEXT NOT NULL,
    file_name TEXT NOT NULL,
    storage_path TEXT,
    s3_path TEXT NOT NULL,
    size INTEGER,
    checksum_sha256 TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL
  );
  CREATE INDEX files_sample ON files(sample_id);
  CREATE TABLE quality_controls (
    sample_id TEXT NOT NULL REFERENCES samples(id),
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (sample_id, position)
  );
  CREATE TABLE upload_credentials (
    access_key_id TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    session_token TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL,
    created TEXT NOT NULL
  );
  `,
];

/** openDatabase opens (creating if needed) and migrates the database file. */
export function openDatabase(file: string): DatabaseSync {
  const db = new DatabaseSync(file, {
    enableForeignKeyConstraints: true,
    timeout: 5000,
  });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  migrate(db);
  return db;
}

function migrate(db: DatabaseSync): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)',
  );
  const row = db.prepare('SELECT version FROM schema_version').get() as
    { version: number } | undefined;
  let version = row?.version ?? 0;
  if (!row) {
    db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  }
  if (version > MIGRATIONS.length) {
    throw new Error(
      `sandbox database schema version ${version} is newer than this build knows (${MIGRATIONS.length}); use a newer gencove-desktop or another data folder`,
    );
  }
  while (version < MIGRATIONS.length) {
    transaction(db, () => {
      db.exec(MIGRATIONS[version]);
      version += 1;
      db.prepare('UPDATE schema_version SET version = ?').run(version);
    });
  }
}

/**
 * transaction runs `work` inside BEGIN IMMEDIATE / COMMIT and rolls back when
 * it throws. Nested calls join the outer transaction.
 */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  if (db.isTransaction) {
    return work();
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/** getMeta reads one value of the meta table. */
export function getMeta(db: DatabaseSync, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
    { value: string } | undefined;
  return row?.value;
}

/** setMeta writes one value of the meta table. */
export function setMeta(db: DatabaseSync, key: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}
