/**
 * The download module's tables in the journal: the delivery log, a cache of
 * verified checksums (so a skip-existing check does not hash a large file
 * again while it is unchanged) and what each `.part` file is a part of (so
 * a `.part` left by another file or another version is never continued).
 */
import type { Journal } from '../journal/journal.ts';

/** One delivered file, as recorded before it is reported done. */
export interface DeliveredFile {
  /** Absolute local path. */
  path: string;
  sampleId: string;
  /** Platform file id; null for the `qc` / `metadata` pseudo files. */
  fileId: string | null;
  fileType: string;
  size: number;
  /** SHA-256 (lowercase hex) of the bytes written. */
  sha256: string;
}

/** What a `.part` file was started for. */
export interface PartialRecord {
  fileId: string;
  /** Total size of the file being downloaded, when the server said. */
  total: number | null;
  /** The storage ETag of the first answer, when it had one. */
  etag: string | null;
}

const MODULE = 'download';

const SCHEMA_V1 = [
  `CREATE TABLE delivered_files (
    path TEXT PRIMARY KEY,
    sample_id TEXT NOT NULL,
    file_id TEXT,
    file_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    delivered_at TEXT NOT NULL
  )`,
  'CREATE INDEX delivered_files_sample ON delivered_files (sample_id)',
  `CREATE TABLE verified_checksums (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    sha256 TEXT NOT NULL
  )`,
  `CREATE TABLE partial_downloads (
    part_path TEXT PRIMARY KEY,
    file_id TEXT NOT NULL,
    total INTEGER,
    etag TEXT,
    updated_at TEXT NOT NULL
  )`,
];

interface DeliveredRow {
  path: string;
  sample_id: string;
  file_id: string | null;
  file_type: string;
  size: number;
  sha256: string;
}

/**
 * DownloadStore owns the `delivered_files`, `verified_checksums` and
 * `partial_downloads` tables of a journal (created on construction). Every
 * method is synchronous and has committed when it returns.
 */
export class DownloadStore {
  readonly #journal: Journal;

  constructor(journal: Journal) {
    this.#journal = journal;
    journal.ensureSchema(MODULE, 1, SCHEMA_V1);
  }

  /**
   * recordDelivered writes (or replaces) the delivery log entry for
   * `file.path` and remembers its checksum for that size and mtime.
   */
  recordDelivered(file: DeliveredFile, mtimeMs: number): void {
    this.#journal.transaction(() => {
      this.#journal.db
        .prepare(
          `INSERT INTO delivered_files
             (path, sample_id, file_id, file_type, size, sha256, delivered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (path) DO UPDATE SET
             sample_id = excluded.sample_id, file_id = excluded.file_id,
             file_type = excluded.file_type, size = excluded.size,
             sha256 = excluded.sha256, delivered_at = excluded.delivered_at`,
        )
        .run(
          file.path,
          file.sampleId,
          file.fileId,
          file.fileType,
          file.size,
          file.sha256,
          new Date().toISOString(),
        );
      this.rememberChecksum(file.path, file.size, mtimeMs, file.sha256);
    });
  }

  /** delivered returns the log entry for the absolute `path`, if any. */
  delivered(path: string): DeliveredFile | undefined {
    const row = this.#journal.db
      .prepare('SELECT * FROM delivered_files WHERE path = ?')
      .get(path) as DeliveredRow | undefined;
    if (!row) return undefined;
    return {
      path: row.path,
      sampleId: row.sample_id,
      fileId: row.file_id,
      fileType: row.file_type,
      size: row.size,
      sha256: row.sha256,
    };
  }

  /** deliveredForSample lists the log entries of one sample. */
  deliveredForSample(sampleId: string): DeliveredFile[] {
    const rows = this.#journal.db
      .prepare(
        'SELECT path FROM delivered_files WHERE sample_id = ? ORDER BY path',
      )
      .all(sampleId) as unknown as { path: string }[];
    return rows.map((row) => this.delivered(row.path)!);
  }

  /**
   * cachedChecksum returns the SHA-256 recorded for `path` when the file
   * still has exactly this size and mtime; otherwise undefined.
   */
  cachedChecksum(
    path: string,
    size: number,
    mtimeMs: number,
  ): string | undefined {
    const row = this.#journal.db
      .prepare(
        `SELECT sha256 FROM verified_checksums
         WHERE path = ? AND size = ? AND mtime_ms = ?`,
      )
      .get(path, size, mtimeMs) as { sha256: string } | undefined;
    return row?.sha256;
  }

  /** rememberChecksum caches `sha256` for `path` at this size and mtime. */
  rememberChecksum(
    path: string,
    size: number,
    mtimeMs: number,
    sha256: string,
  ): void {
    this.#journal.db
      .prepare(
        `INSERT INTO verified_checksums (path, size, mtime_ms, sha256)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET
           size = excluded.size, mtime_ms = excluded.mtime_ms,
           sha256 = excluded.sha256`,
      )
      .run(path, size, mtimeMs, sha256);
  }

  /** partial returns what the `.part` at `partPath` was started for. */
  partial(partPath: string): PartialRecord | undefined {
    const row = this.#journal.db
      .prepare(
        `SELECT file_id, total, etag FROM partial_downloads
         WHERE part_path = ?`,
      )
      .get(partPath) as
      | { file_id: string; total: number | null; etag: string | null }
      | undefined;
    if (!row) return undefined;
    return { fileId: row.file_id, total: row.total, etag: row.etag };
  }

  /** setPartial records (or replaces) what the `.part` is a part of. */
  setPartial(partPath: string, record: PartialRecord): void {
    this.#journal.db
      .prepare(
        `INSERT INTO partial_downloads (part_path, file_id, total, etag, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (part_path) DO UPDATE SET
           file_id = excluded.file_id, total = excluded.total,
           etag = excluded.etag, updated_at = excluded.updated_at`,
      )
      .run(
        partPath,
        record.fileId,
        record.total,
        record.etag,
        new Date().toISOString(),
      );
  }

  /** clearPartial forgets the `.part` at `partPath` (no-op when unknown). */
  clearPartial(partPath: string): void {
    this.#journal.db
      .prepare('DELETE FROM partial_downloads WHERE part_path = ?')
      .run(partPath);
  }
}
