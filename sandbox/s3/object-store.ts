/**
 * ObjectStore keeps S3 objects as plain files at rootDir/<bucket>/<key> (so
 * other parts of the sandbox can read an upload straight from disk) and their
 * S3 metadata (ETag, checksums, content headers, user metadata) in a sidecar
 * JSON file under rootDir/.s3-meta. Objects are committed by renaming a
 * complete, flushed temp file into place under a per-key lock; a sidecar that
 * does not match its file (a crash between the two renames, or a file written
 * by someone else) is rebuilt from the file.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import {
  mkdir,
  open,
  rm,
  rmdir,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';

import type { ChecksumAlgorithm } from './checksums.ts';
import {
  isErrno,
  readJson,
  renameReplacing,
  tempName,
  writeJsonAtomic,
} from './fs-util.ts';
import { KeyedMutex } from './keyed-mutex.ts';

/** Folders under rootDir that no bucket can shadow (none starts with '.'). */
const META_DIR = '.s3-meta';
const TMP_DIR = '.s3-tmp';
/** Temp files idle this long when a handler starts are leftovers of a crash. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** S3's limit on key length, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** The S3 metadata of one stored object. */
export interface ObjectMeta {
  bucket: string;
  key: string;
  size: number;
  /** The ETag without quotes: hex MD5, or `<hex>-<parts>` after multipart. */
  etag: string;
  /** ISO 8601 time the object was stored. */
  lastModified: string;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  /** x-amz-meta-* values by lower-case name without the prefix. */
  userMetadata: Record<string, string>;
  /** Base64 checksums S3 reports for the object, by algorithm. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  /** Number of parts when the object came from a multipart upload. */
  partCount?: number;
}

interface StoredMeta extends ObjectMeta {
  /** The file's size and mtime when the sidecar was written. */
  fileSize: number;
  fileMtimeMs: number;
}

/** What commit() writes; size and times are measured by the store. */
export type NewObject = Omit<ObjectMeta, 'size' | 'lastModified'>;

/** A condition of a conditional write (If-None-Match / If-Match). */
export interface WriteCondition {
  ifNoneMatchAny?: boolean;
  ifMatch?: string;
}

/** Why a conditional write did not happen. */
export type CommitRefusal = 'exists' | 'etag-mismatch' | 'missing';

/** ObjectConflictError: a folder (or file) is where the key's file must go. */
export class ObjectConflictError extends Error {
  override name = 'ObjectConflictError';
}

/**
 * objectKeyProblem says why `key` cannot be stored as a file path, or returns
 * undefined when it can. Keys are '/'-separated; every segment must be a
 * usable file name on this platform.
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key === '') {
    return 'the key is empty';
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    return `the key is longer than ${MAX_KEY_BYTES} bytes`;
  }
  if (/[\u0000-\u001f\u007f\\]/.test(key)) {
    return 'the key contains a control character or a backslash';
  }
  const isWindows = process.platform === 'win32';
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      return 'the key has an empty, "." or ".." path segment';
    }
    if (Buffer.byteLength(segment, 'utf8') > 255) {
      return 'a path segment of the key is longer than 255 bytes';
    }
    if (
      isWindows &&
      /[<>:"|?*]|[ .]$|^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(segment)
    ) {
      return 'a path segment of the key is not a valid Windows file name';
    }
  }
  return undefined;
}

/**
 * objectPath returns where the object `bucket`/`key` lives under `rootDir`.
 * It throws an Error naming the problem for a bucket or key that cannot be a
 * path (see objectKeyProblem); it never returns a path outside rootDir.
 */
export function objectPath(
  rootDir: string,
  bucket: string,
  key: string,
): string {
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) {
    throw new Error(
      `Bucket name "${bucket}" cannot be stored: ${bucketProblem}.`,
    );
  }
  const keyProblem = objectKeyProblem(key);
  if (keyProblem) {
    throw new Error(`Object key "${key}" cannot be stored: ${keyProblem}.`);
  }
  return path.join(rootDir, bucket, ...key.split('/'));
}

/** bucketNameProblem says why `bucket` cannot be a bucket folder name. */
export function bucketNameProblem(bucket: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/.test(bucket)) {
    return 'bucket names are 3-255 letters, digits, ".", "_" or "-", starting and ending with a letter or digit';
  }
  return undefined;
}

/** An object opened for reading: its metadata and an open file handle. */
export interface OpenObject {
  meta: ObjectMeta;
  handle: FileHandle;
}

/** ObjectStore: see the module comment. */
export class ObjectStore {
  readonly rootDir: string;
  readonly tmpDir: string;
  readonly #metaDir: string;
  readonly #locks = new KeyedMutex();
  readonly #now: () => Date;

  /**
   * The constructor creates the storage folders and removes temp files a
   * crashed run left behind (only ones idle for an hour, so a second handler
   * on the same folder keeps its in-flight uploads). `now` stamps
   * Last-Modified.
   */
  constructor(rootDir: string, now: () => Date = () => new Date()) {
    this.#now = now;
    this.rootDir = path.resolve(rootDir);
    this.tmpDir = path.join(this.rootDir, TMP_DIR);
    this.#metaDir = path.join(this.rootDir, META_DIR);
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.#metaDir, { recursive: true });
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of readdirSync(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      try {
        if (statSync(file).mtimeMs < cutoff) {
          rmSync(file, { force: true });
        }
      } catch {
        // Gone already, or in use: either way not ours to clean now.
      }
    }
  }

  /** tempFile names a fresh temp file on the storage volume. */
  tempFile(): string {
    return tempName(this.tmpDir);
  }

  /** withObjectLock runs `fn` holding the lock of one object key. */
  withObjectLock<T>(
    bucket: string,
    key: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.#locks.run(`${bucket}\n${key}`, fn);
  }

  /**
   * commit moves the complete file `tempPath` into place as `bucket`/`key`
   * with `object`'s metadata, if `condition` holds. Returns the stored
   * metadata, or the reason the condition failed (the temp file is then
   * removed). Throws ObjectConflictError when a folder or file is in the way.
   */
  async commit(
    bucket: string,
    key: string,
    tempPath: string,
    object: NewObject,
    condition: WriteCondition = {},
  ): Promise<ObjectMeta | CommitRefusal> {
    return this.withObjectLock(bucket, key, async () => {
      try {
        const refusal = await this.#checkCondition(bucket, key, condition);
        if (refusal) {
          return refusal;
        }
        const target = objectPath(this.rootDir, bucket, key);
        try {
          await mkdir(path.dirname(target), { recursive: true });
          await renameReplacing(tempPath, target);
        } catch (error) {
          if (isErrno(error, 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY')) {
            throw new ObjectConflictError(
              `Object key "${key}" conflicts with another object: the sandbox stores keys as file paths, so one key cannot be both an object and a folder of objects.`,
            );
          }
          throw error;
        }
        const stats = await stat(target);
        const meta: StoredMeta = {
          ...object,
          bucket,
          key,
          size: stats.size,
          lastModified: this.#now().toISOString(),
          fileSize: stats.size,
          fileMtimeMs: stats.mtimeMs,
        };
        await this.#writeMeta(meta);
        return publicMeta(meta);
      } finally {
        await rm(tempPath, { force: true });
      }
    });
  }

  async #checkCondition(
    bucket: string,
    key: string,
    condition: WriteCondition,
  ): Promise<CommitRefusal | undefined> {
    if (!condition.ifNoneMatchAny && condition.ifMatch === undefined) {
      return undefined;
    }
    const current = await this.head(bucket, key, true);
    if (condition.ifNoneMatchAny && current) {
      return 'exists';
    }
    if (condition.ifMatch !== undefined) {
      if (!current) {
        return 'missing';
      }
      if (!etagMatches(condition.ifMatch, current.etag)) {
        return 'etag-mismatch';
      }
    }
    return undefined;
  }

  /** head returns the object's metadata, or undefined when there is none. */
  async head(
    bucket: string,
    key: string,
    isLockHeld = false,
  ): Promise<ObjectMeta | undefined> {
    const opened = await this.open(bucket, key, isLockHeld);
    if (!opened) {
      return undefined;
    }
    await opened.handle.close();
    return opened.meta;
  }

  /**
   * open opens the object for reading and returns it with metadata that
   * describes exactly the opened file; the caller must close the handle.
   * Pass isLockHeld when calling under withObjectLock for the same key.
   */
  async open(
    bucket: string,
    key: string,
    isLockHeld = false,
  ): Promise<OpenObject | undefined> {
    const target = objectPath(this.rootDir, bucket, key);
    // A commit may replace the file between our open() and our read of the
    // sidecar; a few attempts always converge because commits are atomic.
    for (let attempt = 0; ; attempt++) {
      let handle: FileHandle;
      try {
        handle = await open(target, 'r');
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) {
          return undefined;
        }
        throw error;
      }
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) {
          await handle.close();
          return undefined;
        }
        const meta = await readJson<StoredMeta>(this.#metaPath(bucket, key));
        if (describesFile(meta, key, stats)) {
          return { meta: publicMeta(meta), handle };
        }
        const repair = () =>
          this.#repairMeta(bucket, key, target, handle, stats);
        const repaired = isLockHeld
          ? await repair()
          : await this.withObjectLock(bucket, key, repair);
        if (repaired) {
          return { meta: publicMeta(repaired), handle };
        }
        await handle.close();
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (attempt >= 5) {
        throw new Error(
          `Object "${bucket}/${key}" keeps changing while it is being read.`,
        );
      }
    }
  }

  /**
   * With the object lock held: returns the sidecar of the opened file,
   * rebuilding it from the file when needed, or undefined when the opened
   * file has been replaced meanwhile (the caller then opens again).
   */
  async #repairMeta(
    bucket: string,
    key: string,
    target: string,
    handle: FileHandle,
    stats: FileStats,
  ): Promise<StoredMeta | undefined> {
    let current: FileStats;
    try {
      current = await stat(target);
    } catch {
      return undefined;
    }
    if (
      current.ino !== stats.ino ||
      current.size !== stats.size ||
      current.mtimeMs !== stats.mtimeMs
    ) {
      return undefined;
    }
    const meta = await readJson<StoredMeta>(this.#metaPath(bucket, key));
    if (describesFile(meta, key, stats)) {
      return meta;
    }
    return this.#rebuildMeta(bucket, key, handle, stats);
  }

  /** Rebuilds a missing or stale sidecar by hashing the file itself. */
  async #rebuildMeta(
    bucket: string,
    key: string,
    handle: FileHandle,
    stats: FileStats,
  ): Promise<StoredMeta> {
    const md5 = createHash('md5');
    for await (const chunk of handle.createReadStream({
      start: 0,
      autoClose: false,
    })) {
      md5.update(chunk as Buffer);
    }
    const meta: StoredMeta = {
      bucket,
      key,
      size: stats.size,
      etag: md5.digest('hex'),
      lastModified: stats.mtime.toISOString(),
      contentType: 'binary/octet-stream',
      userMetadata: {},
      checksums: {},
      fileSize: stats.size,
      fileMtimeMs: stats.mtimeMs,
    };
    await this.#writeMeta(meta);
    return meta;
  }

  /** readStream streams bytes [start, end] (inclusive) of an open object. */
  readStream(opened: OpenObject, start: number, end: number) {
    return opened.handle.createReadStream({ start, end, autoClose: true });
  }

  /**
   * delete removes the object and its metadata, and the folders its key
   * created when they are left empty. Deleting a missing key is not an error.
   */
  async delete(bucket: string, key: string): Promise<void> {
    await this.withObjectLock(bucket, key, async () => {
      const target = objectPath(this.rootDir, bucket, key);
      try {
        const stats = await stat(target);
        if (!stats.isFile()) {
          return;
        }
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) {
          await rm(this.#metaPath(bucket, key), { force: true });
          return;
        }
        throw error;
      }
      await rm(target, { force: true });
      await rm(this.#metaPath(bucket, key), { force: true });
      const bucketDir = path.join(this.rootDir, bucket);
      for (
        let dir = path.dirname(target);
        dir.startsWith(bucketDir + path.sep);
        dir = path.dirname(dir)
      ) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    });
  }

  async #writeMeta(meta: StoredMeta): Promise<void> {
    const file = this.#metaPath(meta.bucket, meta.key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeJsonAtomic(file, meta, this.tmpDir);
  }

  #metaPath(bucket: string, key: string): string {
    const digest = createHash('sha256').update(key).digest('hex');
    return path.join(this.#metaDir, bucket, `${digest}.json`);
  }

  /** ensureBucketFolders creates the meta folder of each bucket. */
  ensureBucketFolders(buckets: string[]): void {
    for (const bucket of buckets) {
      mkdirSync(path.join(this.#metaDir, bucket), { recursive: true });
      mkdirSync(path.join(this.rootDir, bucket), { recursive: true });
    }
  }
}

type FileStats = Pick<Stats, 'ino' | 'size' | 'mtimeMs' | 'mtime'>;

function describesFile(
  meta: StoredMeta | undefined,
  key: string,
  stats: FileStats,
): meta is StoredMeta {
  return (
    meta !== undefined &&
    meta.key === key &&
    meta.fileSize === stats.size &&
    meta.fileMtimeMs === stats.mtimeMs
  );
}

function publicMeta(meta: StoredMeta | ObjectMeta): ObjectMeta {
  const { fileSize: _size, fileMtimeMs: _mtime, ...rest } = meta as StoredMeta;
  return rest;
}

/**
 * etagMatches compares an If-Match / If-None-Match list with an ETag: '*'
 * matches anything, quotes and a weak prefix are ignored.
 */
export function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((item) => {
    const value = item.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return value === '*' || value === etag;
  });
}
