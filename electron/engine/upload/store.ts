/**
 * The upload module's tables in the journal: one row per object (one read
 * of one sample), one per completed S3 part, one per assignment batch.
 *
 * Ordering rule for writers: a part, an object state or a batch state is
 * written here before anyone is told about it (progress, snapshots, logs).
 */
import { JournalError, parseJson } from '../journal/journal.ts';
import type { Journal } from '../journal/journal.ts';
import type { ChecksumAlgorithm } from './checkedRead.ts';
import type { Read } from '../../../shared/domain.ts';

/**
 * Life of an object:
 *   pending → uploading → completing → done
 *   pending → skipped (the platform already had it)
 *   any → failed (bad content; a retry starts it over)
 */
export type ObjectState =
  'pending' | 'uploading' | 'completing' | 'done' | 'skipped' | 'failed';

/** One object (a sample's R1 or R2) of an upload job. */
export interface ObjectRecord {
  jobId: string;
  destination: string;
  clientId: string;
  read: Read;
  size: number;
  /** The platform's upload id, once the slot was obtained. */
  uploadId: string | null;
  bucket: string | null;
  key: string | null;
  /** Part size used by its multipart upload (kept for resume). */
  partSize: number | null;
  /** The S3 multipart UploadId while one is open. */
  multipartId: string | null;
  /**
   * The checksum algorithm of the open multipart upload (all its parts use
   * it); null when none is open.
   */
  checksumAlgorithm: ChecksumAlgorithm | null;
  state: ObjectState;
  error: string | null;
}

/** One part confirmed by S3. */
export interface PartRecord {
  number: number;
  size: number;
  /**
   * The part's checksum in the object's `checksumAlgorithm`, base64 as S3
   * writes it.
   */
  checksum: string;
  /** ETag as S3 returned it (quotes included). */
  etag: string;
}

/** One assignment request of a job. */
export interface AssignmentBatchRecord {
  jobId: string;
  batchIndex: number;
  /** The sample-sheet rows sent in this batch. */
  rows: unknown[];
  state: 'sending' | 'sent';
  /** The platform's answer, once 'sent'. */
  response: unknown;
  /** When the state was last written (ISO 8601). */
  updatedAt: string;
}

const UPLOAD_SCHEMA_V1 = [
  `CREATE TABLE upload_objects (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    client_id TEXT NOT NULL,
    read TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_id TEXT,
    bucket TEXT,
    object_key TEXT,
    part_size INTEGER,
    multipart_id TEXT,
    state TEXT NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, destination)
  )`,
  `CREATE TABLE upload_parts (
    job_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    multipart_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    etag TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (job_id, destination, number),
    FOREIGN KEY (job_id, destination)
      REFERENCES upload_objects (job_id, destination) ON DELETE CASCADE
  )`,
  `CREATE TABLE upload_assignments (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    batch_index INTEGER NOT NULL,
    rows TEXT NOT NULL,
    state TEXT NOT NULL,
    response TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, batch_index)
  )`,
];

// v2: the checksum algorithm of a multipart upload, and each part's
// checksum in it. Rows written before have neither: their multipart uploads
// use SHA-256, kept as hex in `sha256` (which later rows leave empty).
const UPLOAD_SCHEMA_V2 = [
  'ALTER TABLE upload_objects ADD COLUMN checksum_algorithm TEXT',
  'ALTER TABLE upload_parts ADD COLUMN checksum TEXT',
];

interface ObjectRow {
  job_id: string;
  destination: string;
  client_id: string;
  read: string;
  size: number;
  upload_id: string | null;
  bucket: string | null;
  object_key: string | null;
  part_size: number | null;
  multipart_id: string | null;
  checksum_algorithm: string | null;
  state: string;
  error: string | null;
}

/**
 * UploadStore reads and writes the upload tables of one journal. Creating
 * it migrates the tables (module 'uploads'). Every write commits before the
 * method returns.
 */
export class UploadStore {
  readonly journal: Journal;

  constructor(journal: Journal) {
    this.journal = journal;
    journal.ensureSchema('uploads', 1, UPLOAD_SCHEMA_V1);
    journal.ensureSchema('uploads', 2, UPLOAD_SCHEMA_V2);
  }

  /** addObjects records the objects of a new job (state 'pending'). */
  addObjects(
    jobId: string,
    objects: {
      destination: string;
      clientId: string;
      read: Read;
      size: number;
    }[],
  ): void {
    const insert = this.journal.db.prepare(
      `INSERT INTO upload_objects
         (job_id, destination, client_id, read, size, state, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?)`,
    );
    const now = new Date().toISOString();
    this.journal.transaction(() => {
      for (const object of objects) {
        insert.run(
          jobId,
          object.destination,
          object.clientId,
          object.read,
          object.size,
          now,
        );
      }
    });
  }

  /** listObjects returns the job's objects in the order they were added. */
  listObjects(jobId: string): ObjectRecord[] {
    const rows = this.journal.db
      .prepare('SELECT * FROM upload_objects WHERE job_id = ? ORDER BY rowid')
      .all(jobId) as unknown as ObjectRow[];
    return rows.map(toObjectRecord);
  }

  /** getObject returns one object, or undefined. */
  getObject(jobId: string, destination: string): ObjectRecord | undefined {
    const row = this.journal.db
      .prepare(
        'SELECT * FROM upload_objects WHERE job_id = ? AND destination = ?',
      )
      .get(jobId, destination) as ObjectRow | undefined;
    return row ? toObjectRecord(row) : undefined;
  }

  /**
   * updateObject writes the given fields. Setting `multipartId` to a
   * different value (or null) drops the parts of the previous multipart
   * upload in the same transaction.
   */
  updateObject(
    jobId: string,
    destination: string,
    update: Partial<
      Pick<
        ObjectRecord,
        | 'uploadId'
        | 'bucket'
        | 'key'
        | 'partSize'
        | 'multipartId'
        | 'checksumAlgorithm'
        | 'state'
        | 'error'
      >
    >,
  ): ObjectRecord {
    const columns: [string, string | number | null][] = [];
    const map: Record<string, string> = {
      uploadId: 'upload_id',
      bucket: 'bucket',
      key: 'object_key',
      partSize: 'part_size',
      multipartId: 'multipart_id',
      checksumAlgorithm: 'checksum_algorithm',
      state: 'state',
      error: 'error',
    };
    for (const [field, column] of Object.entries(map)) {
      const value = (
        update as Record<string, string | number | null | undefined>
      )[field];
      if (value !== undefined) {
        columns.push([column, value]);
      }
    }
    return this.journal.transaction(() => {
      const before = this.getObject(jobId, destination);
      if (!before) {
        throw new JournalError(
          `updateObject: no object ${destination} in job ${jobId}`,
        );
      }
      if (
        update.multipartId !== undefined &&
        update.multipartId !== before.multipartId
      ) {
        this.journal.db
          .prepare(
            'DELETE FROM upload_parts WHERE job_id = ? AND destination = ?',
          )
          .run(jobId, destination);
      }
      columns.push(['updated_at', new Date().toISOString()]);
      this.journal.db
        .prepare(
          `UPDATE upload_objects SET ${columns.map(([c]) => `${c} = ?`).join(', ')}
           WHERE job_id = ? AND destination = ?`,
        )
        .run(...columns.map(([, v]) => v), jobId, destination);
      return this.getObject(jobId, destination)!;
    });
  }

  /**
   * recordPart stores a part S3 accepted for the object's current multipart
   * upload (replacing an earlier record of the same number).
   */
  recordPart(
    jobId: string,
    destination: string,
    multipartId: string,
    part: PartRecord,
  ): void {
    this.journal.db
      .prepare(
        `INSERT INTO upload_parts
           (job_id, destination, multipart_id, number, size, sha256, checksum, etag, created_at)
         VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)
         ON CONFLICT (job_id, destination, number) DO UPDATE SET
           multipart_id = excluded.multipart_id, size = excluded.size,
           sha256 = excluded.sha256, checksum = excluded.checksum,
           etag = excluded.etag, created_at = excluded.created_at`,
      )
      .run(
        jobId,
        destination,
        multipartId,
        part.number,
        part.size,
        part.checksum,
        part.etag,
        new Date().toISOString(),
      );
  }

  /** deletePart forgets one part (S3 no longer has it). */
  deletePart(jobId: string, destination: string, number: number): void {
    this.journal.db
      .prepare(
        'DELETE FROM upload_parts WHERE job_id = ? AND destination = ? AND number = ?',
      )
      .run(jobId, destination, number);
  }

  /** listParts returns the parts recorded for the object's multipart upload. */
  listParts(
    jobId: string,
    destination: string,
    multipartId: string,
  ): PartRecord[] {
    const rows = this.journal.db
      .prepare(
        `SELECT number, size, sha256, checksum, etag FROM upload_parts
         WHERE job_id = ? AND destination = ? AND multipart_id = ?
         ORDER BY number`,
      )
      .all(jobId, destination, multipartId) as unknown as {
      number: number;
      size: number;
      sha256: string;
      checksum: string | null;
      etag: string;
    }[];
    return rows.map((row) => ({
      number: row.number,
      size: row.size,
      checksum:
        row.checksum ?? Buffer.from(row.sha256, 'hex').toString('base64'),
      etag: row.etag,
    }));
  }

  /** listBatches returns the job's assignment batches by index. */
  listBatches(jobId: string): AssignmentBatchRecord[] {
    const rows = this.journal.db
      .prepare(
        `SELECT job_id, batch_index, rows, state, response, updated_at
         FROM upload_assignments WHERE job_id = ? ORDER BY batch_index`,
      )
      .all(jobId) as unknown as {
      job_id: string;
      batch_index: number;
      rows: string;
      state: string;
      response: string | null;
      updated_at: string;
    }[];
    return rows.map((row) => ({
      jobId: row.job_id,
      batchIndex: row.batch_index,
      rows: parseJson(
        row.rows,
        `upload_assignments(${row.job_id}, ${row.batch_index}).rows`,
      ) as unknown[],
      state: row.state === 'sent' ? 'sent' : 'sending',
      response:
        row.response === null
          ? null
          : parseJson(
              row.response,
              `upload_assignments(${row.job_id}, ${row.batch_index}).response`,
            ),
      updatedAt: row.updated_at,
    }));
  }

  /**
   * markBatchSending records (or rewrites) batch `batchIndex` with the rows
   * about to be sent, state 'sending'. Call it before the request.
   */
  markBatchSending(jobId: string, batchIndex: number, rows: unknown[]): void {
    this.journal.db
      .prepare(
        `INSERT INTO upload_assignments (job_id, batch_index, rows, state, updated_at)
         VALUES (?, ?, ?, 'sending', ?)
         ON CONFLICT (job_id, batch_index) DO UPDATE SET
           rows = excluded.rows, state = 'sending', response = NULL,
           updated_at = excluded.updated_at`,
      )
      .run(jobId, batchIndex, JSON.stringify(rows), new Date().toISOString());
  }

  /** markBatchSent records the platform's answer for batch `batchIndex`. */
  markBatchSent(jobId: string, batchIndex: number, response: unknown): void {
    const info = this.journal.db
      .prepare(
        `UPDATE upload_assignments SET state = 'sent', response = ?, updated_at = ?
         WHERE job_id = ? AND batch_index = ?`,
      )
      .run(
        JSON.stringify(response ?? null),
        new Date().toISOString(),
        jobId,
        batchIndex,
      );
    if (info.changes === 0) {
      throw new JournalError(
        `markBatchSent: batch ${batchIndex} of job ${jobId} was never recorded as sending`,
      );
    }
  }
}

function toObjectRecord(row: ObjectRow): ObjectRecord {
  return {
    jobId: row.job_id,
    destination: row.destination,
    clientId: row.client_id,
    read: row.read === 'R2' ? 'R2' : 'R1',
    size: row.size,
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: row.object_key,
    partSize: row.part_size,
    multipartId: row.multipart_id,
    checksumAlgorithm:
      row.checksum_algorithm === 'CRC32' || row.checksum_algorithm === 'SHA256'
        ? row.checksum_algorithm
        : // A multipart upload journaled before v2 uses SHA-256.
          row.multipart_id !== null
          ? 'SHA256'
          : null,
    state: row.state as ObjectState,
    error: row.error,
  };
}
