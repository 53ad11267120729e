/**
 * MultipartStore keeps multipart uploads on disk so a restarted server loses
 * none of the parts it acknowledged:
 *
 *     rootDir/.s3-multipart/<uploadId>/
 *       upload.json            the upload
 *       part-00001.json        one acknowledged part
 *       part-00001.<id>.bin    its bytes
 *       completed.json         after completion (then the only file)
 *
 * A part is acknowledged only after its bytes were flushed and renamed into
 * place and its JSON record was written atomically; a re-sent part replaces
 * the record first and the old bytes afterwards, so a crash at any point
 * leaves either the old or the new part, never a mix. A completed upload keeps
 * only completed.json, so a client retrying CompleteMultipartUpload after a
 * lost response gets the same answer.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

import type { ChecksumAlgorithm } from './checksums.ts';
import {
  isErrno,
  readJson,
  renameReplacing,
  writeJsonAtomic,
} from './fs-util.ts';
import { KeyedMutex } from './keyed-mutex.ts';

const MULTIPART_DIR = '.s3-multipart';
const UPLOAD_ID = /^[A-Za-z0-9_-]{16,128}$/;

/** One multipart upload as CreateMultipartUpload recorded it. */
export interface UploadRecord {
  uploadId: string;
  bucket: string;
  key: string;
  /** ISO 8601 creation time. */
  initiated: string;
  /** Access key id of the creator. */
  initiator: string;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  userMetadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

/** One acknowledged part. */
export interface PartRecord {
  partNumber: number;
  size: number;
  /** Hex MD5 of the part (its ETag without quotes). */
  etag: string;
  /** ISO 8601 time the part was stored. */
  lastModified: string;
  /** Base64 checksums of the part, by algorithm. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** File name of the bytes inside the upload folder. */
  file: string;
}

/** What a completed upload answers to a repeated Complete request. */
export interface CompletedRecord {
  uploadId: string;
  bucket: string;
  key: string;
  etag: string;
  /** `<partNumber>:<etag>` of every part, in order, as completed. */
  parts: string[];
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  completedAt: string;
  /** Size of the assembled object. */
  size: number;
  /** Whether onObjectStored has been called for this completion. */
  notified: boolean;
}

/** UploadGoneError: no such open upload (never made, aborted or completed). */
export class UploadGoneError extends Error {
  override name = 'UploadGoneError';
}

/** MultipartStore: see the module comment. */
export class MultipartStore {
  readonly #dir: string;
  readonly #tmpDir: string;
  readonly #locks = new KeyedMutex();
  readonly #now: () => Date;

  /**
   * `tmpDir` must be on the same volume as rootDir (for atomic renames);
   * `now` stamps creation and part times.
   */
  constructor(
    rootDir: string,
    tmpDir: string,
    now: () => Date = () => new Date(),
  ) {
    this.#now = now;
    this.#dir = path.join(path.resolve(rootDir), MULTIPART_DIR);
    this.#tmpDir = tmpDir;
    mkdirSync(this.#dir, { recursive: true });
  }

  /** withUploadLock runs `fn` holding the lock of one upload. */
  withUploadLock<T>(uploadId: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(uploadId, fn);
  }

  /** create records a new upload with a fresh id and returns it. */
  async create(
    init: Omit<UploadRecord, 'uploadId' | 'initiated'>,
  ): Promise<UploadRecord> {
    const record: UploadRecord = {
      ...init,
      uploadId: randomBytes(32).toString('base64url'),
      initiated: this.#now().toISOString(),
    };
    const dir = this.#uploadDir(record.uploadId);
    await mkdir(dir, { recursive: true });
    await writeJsonAtomic(path.join(dir, 'upload.json'), record, this.#tmpDir);
    return record;
  }

  /** get returns the open upload `uploadId`, or undefined. */
  async get(uploadId: string): Promise<UploadRecord | undefined> {
    if (!UPLOAD_ID.test(uploadId)) {
      return undefined;
    }
    return readJson<UploadRecord>(
      path.join(this.#uploadDir(uploadId), 'upload.json'),
    );
  }

  /** getCompleted returns the completion record of `uploadId`, or undefined. */
  async getCompleted(uploadId: string): Promise<CompletedRecord | undefined> {
    if (!UPLOAD_ID.test(uploadId)) {
      return undefined;
    }
    return readJson<CompletedRecord>(
      path.join(this.#uploadDir(uploadId), 'completed.json'),
    );
  }

  /**
   * putPart makes the flushed file `tempPath` part `record.partNumber` of the
   * upload, replacing an earlier part with that number. Throws
   * UploadGoneError when the upload was aborted or completed meanwhile (the
   * temp file is then removed).
   */
  async putPart(
    uploadId: string,
    tempPath: string,
    part: Omit<PartRecord, 'file' | 'lastModified'>,
  ): Promise<PartRecord> {
    return this.withUploadLock(uploadId, async () => {
      try {
        if (!(await this.get(uploadId))) {
          throw new UploadGoneError(uploadId);
        }
        const dir = this.#uploadDir(uploadId);
        const name = partName(part.partNumber);
        const record: PartRecord = {
          ...part,
          lastModified: this.#now().toISOString(),
          file: `${name}.${randomBytes(6).toString('hex')}.bin`,
        };
        const previous = await readJson<PartRecord>(
          path.join(dir, `${name}.json`),
        );
        await renameReplacing(tempPath, path.join(dir, record.file));
        await writeJsonAtomic(
          path.join(dir, `${name}.json`),
          record,
          this.#tmpDir,
        );
        if (previous && previous.file !== record.file) {
          await rm(path.join(dir, previous.file), { force: true });
        }
        return record;
      } finally {
        await rm(tempPath, { force: true });
      }
    });
  }

  /** listParts returns the acknowledged parts of an upload by part number. */
  async listParts(uploadId: string): Promise<PartRecord[]> {
    const dir = this.#uploadDir(uploadId);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        return [];
      }
      throw error;
    }
    const parts: PartRecord[] = [];
    for (const name of names) {
      if (/^part-\d{5}\.json$/.test(name)) {
        const part = await readJson<PartRecord>(path.join(dir, name));
        if (part) {
          parts.push(part);
        }
      }
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** partFile is the path of a part's bytes. */
  partFile(uploadId: string, part: PartRecord): string {
    return path.join(this.#uploadDir(uploadId), part.file);
  }

  /**
   * markCompleted records the completion (call with the upload lock held,
   * after the object was committed) and removes the parts.
   */
  async markCompleted(record: CompletedRecord): Promise<void> {
    const dir = this.#uploadDir(record.uploadId);
    await writeJsonAtomic(
      path.join(dir, 'completed.json'),
      record,
      this.#tmpDir,
    );
    await rm(path.join(dir, 'upload.json'), { force: true });
    for (const name of await readdir(dir)) {
      if (name !== 'completed.json') {
        await rm(path.join(dir, name), { force: true, recursive: true });
      }
    }
  }

  /** abort removes an open upload and its parts; false when there was none. */
  async abort(uploadId: string): Promise<boolean> {
    return this.withUploadLock(uploadId, async () => {
      if (!(await this.get(uploadId))) {
        return false;
      }
      await rm(path.join(this.#uploadDir(uploadId), 'upload.json'), {
        force: true,
      });
      await rm(this.#uploadDir(uploadId), { recursive: true, force: true });
      return true;
    });
  }

  /** listUploads returns the open uploads of `bucket`, by key then time. */
  async listUploads(bucket: string): Promise<UploadRecord[]> {
    const uploads: UploadRecord[] = [];
    for (const id of await readdir(this.#dir)) {
      const upload = await this.get(id);
      if (upload && upload.bucket === bucket) {
        uploads.push(upload);
      }
    }
    return uploads.sort((a, b) =>
      a.key < b.key
        ? -1
        : a.key > b.key
          ? 1
          : a.initiated.localeCompare(b.initiated) ||
            a.uploadId.localeCompare(b.uploadId),
    );
  }

  #uploadDir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) {
      throw new UploadGoneError(uploadId);
    }
    return path.join(this.#dir, uploadId);
  }
}

function partName(partNumber: number): string {
  return `part-${String(partNumber).padStart(5, '0')}`;
}
