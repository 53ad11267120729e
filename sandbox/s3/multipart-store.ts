/**
 * MultipartStore keeps multipart uploads on disk so a restarted server loses
 * none of the parts it acknowledged:
 *
 *     rootDir/.s3-multipart/<uploadId>/
 *       upload.json            the upload (with its part stride once known)
 *       assembly.bin           parts written in place, part N at (N-1)*stride
 *       part-00001.json        one acknowledged part: where its bytes are
 *       part-00002.<id>.bin    the bytes of a part not written in place
 *       completed.json         after completion (then the only file)
 *
 * The first part received sets the upload's stride to its declared length.
 * A later part N of at most that length, with no acknowledged record and no
 * other request writing it, is written into the assembly file at
 * (N-1)*stride (reserveRegion); any other part goes to a file of its own
 * (putPart). So when a client sends equal parts and a shorter last one, in
 * any order, the assembly file is the object and completing the upload
 * needs no copy (claimAssembly, linkAssembly).
 *
 * A part is acknowledged only after its bytes were flushed (and, for a part
 * file, renamed into place) and its JSON record was written atomically. A
 * region of the assembly file is written only while no record points at it,
 * and a re-sent part goes to a part file whose record replaces the old one,
 * so a crash or a rejected body at any point leaves either the old or the
 * new part, never a mix; a region no record points at is unused garbage. An
 * assembly file with a second link (it became the object and the server
 * stopped before the upload was marked completed) is never written again.
 * A completed upload keeps only completed.json, so a client retrying
 * CompleteMultipartUpload after a lost response gets the same answer.
 *
 * Which in-place writes are running is kept in memory per process, like the
 * locks: one process may serve a storage folder at a time. Parts written
 * out of order leave holes in the assembly file, sparse where the file
 * system supports it.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, type Stats } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readdir,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';

import type { ChecksumAlgorithm } from './checksums.ts';
import {
  isErrno,
  readJson,
  renameReplacing,
  tempName,
  writeJsonAtomic,
} from './fs-util.ts';
import { KeyedMutex } from './keyed-mutex.ts';

const MULTIPART_DIR = '.s3-multipart';
const UPLOAD_ID = /^[A-Za-z0-9_-]{16,128}$/;
/** The file in-place parts are written into, inside the upload folder. */
const ASSEMBLY_FILE = 'assembly.bin';
/** No in-place region ends past this offset (S3's 5 TiB object limit). */
const MAX_ASSEMBLY_BYTES = 5 * 1024 * 1024 * 1024 * 1024;
/** Bytes read per step when a region of the assembly file is copied. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

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
  /**
   * Declared length of the first part received: part N is written in place
   * at (N-1) * partStride of the assembly file. Absent until a first
   * non-empty part arrives.
   */
  partStride?: number;
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
  /**
   * Where the bytes start in `file` (the assembly file) for a part written
   * in place; absent when `file` holds exactly the part's bytes.
   */
  offset?: number;
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

/**
 * A region of an upload's assembly file reserved for one part's body by
 * reserveRegion; it stays reserved until releaseRegion.
 */
export interface PartRegion {
  uploadId: string;
  partNumber: number;
  /** The assembly file. */
  path: string;
  /** Where the part's bytes start. */
  offset: number;
  /** The most bytes the body may have (its declared length). */
  length: number;
}

/** UploadGoneError: no such open upload (never made, aborted or completed). */
export class UploadGoneError extends Error {
  override name = 'UploadGoneError';
}

/** In-place writing state of one upload folder, in this process. */
interface AssemblyState {
  /** Part numbers whose body is being written into the assembly file. */
  writing: Set<number>;
  /** Set while a Complete turns the assembly file into the object. */
  isClaimed: boolean;
}

/**
 * The AssemblyState of every upload folder with a running in-place write or
 * Complete, by folder path. Module-wide, so two stores on one folder in the
 * same process still see each other's writes. An entry is removed once idle.
 */
const assemblies = new Map<string, AssemblyState>();

function assemblyStateOf(dir: string): AssemblyState {
  let state = assemblies.get(dir);
  if (!state) {
    state = { writing: new Set(), isClaimed: false };
    assemblies.set(dir, state);
  }
  return state;
}

function dropIdleAssemblyState(dir: string): void {
  const state = assemblies.get(dir);
  if (state && state.writing.size === 0 && !state.isClaimed) {
    assemblies.delete(dir);
  }
}

/** MultipartStore: see the module comment. */
export class MultipartStore {
  readonly #dir: string;
  readonly #tmpDir: string;
  readonly #locks = new KeyedMutex();
  readonly #now: () => Date;
  readonly #link: (existingPath: string, newPath: string) => Promise<void>;

  /**
   * `tmpDir` must be on the same volume as rootDir (for atomic renames and
   * hard links); `now` stamps creation and part times; `linkFile` makes
   * hard links (the file system's by default).
   */
  constructor(
    rootDir: string,
    tmpDir: string,
    now: () => Date = () => new Date(),
    linkFile: (existingPath: string, newPath: string) => Promise<void> = link,
  ) {
    this.#now = now;
    this.#link = linkFile;
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
    init: Omit<UploadRecord, 'uploadId' | 'initiated' | 'partStride'>,
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
   * reserveRegion decides where the body of part `partNumber`, declared
   * `length` bytes long, is written. It returns a region of the assembly
   * file to write it into (openRegionSink, then putPartInPlace) when the
   * upload's stride is known (the first part sets it), `length` is at most
   * the stride, no record of the part exists, no other request is writing
   * it in place and no Complete is using the assembly file. Otherwise it
   * returns undefined: receive the body into a temp file and call putPart.
   * A returned region must be given back with releaseRegion whatever
   * happens. Throws UploadGoneError when the upload is not open.
   */
  async reserveRegion(
    uploadId: string,
    partNumber: number,
    length: number,
  ): Promise<PartRegion | undefined> {
    return this.withUploadLock(uploadId, async () => {
      const upload = await this.get(uploadId);
      if (!upload) {
        throw new UploadGoneError(uploadId);
      }
      const dir = this.#uploadDir(uploadId);
      const assembly = path.join(dir, ASSEMBLY_FILE);
      let stride = upload.partStride;
      if (stride === undefined) {
        if (length <= 0) {
          return undefined;
        }
        // The file exists before any record or in-place body can need it.
        await (await open(assembly, 'a')).close();
        stride = length;
        await writeJsonAtomic(
          path.join(dir, 'upload.json'),
          { ...upload, partStride: stride },
          this.#tmpDir,
        );
      }
      const offset = (partNumber - 1) * stride;
      if (length > stride || offset + length > MAX_ASSEMBLY_BYTES) {
        return undefined;
      }
      if (await readJson<PartRecord>(this.#recordPath(dir, partNumber))) {
        return undefined;
      }
      if (!(await isSingleLink(assembly))) {
        return undefined;
      }
      // Checked and taken with no await between, so no other request (nor
      // another store on this folder) can take the same region.
      const state = assemblyStateOf(dir);
      if (state.isClaimed || state.writing.has(partNumber)) {
        dropIdleAssemblyState(dir);
        return undefined;
      }
      state.writing.add(partNumber);
      return { uploadId, partNumber, path: assembly, offset, length };
    });
  }

  /** releaseRegion gives back a region from reserveRegion (idempotent). */
  releaseRegion(region: PartRegion): void {
    const dir = this.#uploadDir(region.uploadId);
    assemblies.get(dir)?.writing.delete(region.partNumber);
    dropIdleAssemblyState(dir);
  }

  /**
   * putPartInPlace makes the flushed bytes written into `region` part
   * `region.partNumber`, replacing an earlier record of that number (whose
   * part file is removed). Call it before releaseRegion. Throws
   * UploadGoneError when the upload was aborted or completed meanwhile.
   */
  async putPartInPlace(
    region: PartRegion,
    part: Omit<PartRecord, 'file' | 'lastModified' | 'offset' | 'partNumber'>,
  ): Promise<PartRecord> {
    if (part.size > region.length) {
      throw new Error(
        `Part ${region.partNumber} of upload ${region.uploadId} has ${part.size} bytes, more than the ${region.length} its region holds.`,
      );
    }
    return this.withUploadLock(region.uploadId, async () => {
      if (!(await this.get(region.uploadId))) {
        throw new UploadGoneError(region.uploadId);
      }
      const record: PartRecord = {
        ...part,
        partNumber: region.partNumber,
        lastModified: this.#now().toISOString(),
        file: ASSEMBLY_FILE,
        offset: region.offset,
      };
      await this.#replaceRecord(this.#uploadDir(region.uploadId), record);
      return record;
    });
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
    part: Omit<PartRecord, 'file' | 'lastModified' | 'offset'>,
  ): Promise<PartRecord> {
    return this.withUploadLock(uploadId, async () => {
      try {
        if (!(await this.get(uploadId))) {
          throw new UploadGoneError(uploadId);
        }
        return await this.#putPartFile(this.#uploadDir(uploadId), tempPath, {
          ...part,
          lastModified: this.#now().toISOString(),
        });
      } finally {
        await rm(tempPath, { force: true });
      }
    });
  }

  /** With the upload lock held: renames `tempPath` in as the part's file. */
  async #putPartFile(
    dir: string,
    tempPath: string,
    part: Omit<PartRecord, 'file' | 'offset'>,
  ): Promise<PartRecord> {
    const record: PartRecord = {
      ...part,
      file: `${partName(part.partNumber)}.${randomBytes(6).toString('hex')}.bin`,
    };
    await renameReplacing(tempPath, path.join(dir, record.file));
    await this.#replaceRecord(dir, record);
    return record;
  }

  /**
   * With the upload lock held: writes `record` over the part's earlier one,
   * then removes the earlier part file (never the assembly file, whose old
   * region simply goes unused).
   */
  async #replaceRecord(dir: string, record: PartRecord): Promise<void> {
    const recordPath = this.#recordPath(dir, record.partNumber);
    const previous = await readJson<PartRecord>(recordPath);
    await writeJsonAtomic(recordPath, record, this.#tmpDir);
    if (
      previous &&
      previous.offset === undefined &&
      previous.file !== record.file &&
      previous.file !== ASSEMBLY_FILE
    ) {
      await rm(path.join(dir, previous.file), { force: true });
    }
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

  /**
   * partFile is the path of the file holding a part's bytes; they start at
   * `part.offset ?? 0` and are `part.size` long.
   */
  partFile(uploadId: string, part: PartRecord): string {
    return path.join(this.#uploadDir(uploadId), part.file);
  }

  /**
   * claimAssembly, with the upload lock held, tells whether the assembly
   * file can become the object made of `parts` (the chosen parts, in
   * order) without a copy: every part was written in place right after the
   * one before it, starting at offset 0, the file holds them all, no
   * in-place write of the upload is running and the file has no other link.
   * When it returns true no in-place write starts until releaseAssembly.
   */
  async claimAssembly(uploadId: string, parts: PartRecord[]): Promise<boolean> {
    const dir = this.#uploadDir(uploadId);
    let end = 0;
    for (const part of parts) {
      if (part.file !== ASSEMBLY_FILE || part.offset !== end) {
        return false;
      }
      end += part.size;
    }
    if (parts.length === 0) {
      return false;
    }
    let stats: Stats;
    try {
      stats = await stat(path.join(dir, ASSEMBLY_FILE));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        return false;
      }
      throw error;
    }
    const state = assemblyStateOf(dir);
    if (
      stats.nlink !== 1 ||
      stats.size < end ||
      state.isClaimed ||
      state.writing.size > 0
    ) {
      dropIdleAssemblyState(dir);
      return false;
    }
    state.isClaimed = true;
    return true;
  }

  /** releaseAssembly ends a claim from claimAssembly (idempotent). */
  releaseAssembly(uploadId: string): void {
    const dir = this.#uploadDir(uploadId);
    const state = assemblies.get(dir);
    if (state) {
      state.isClaimed = false;
    }
    dropIdleAssemblyState(dir);
  }

  /**
   * linkAssembly, with the upload lock held and the assembly claimed for
   * `parts`, turns the assembly file into the object's bytes: every other
   * in-place part is first moved into a part file of its own (so no record
   * points past the object's end), then the file is truncated to the parts'
   * total size and flushed. Returns a new hard link to it in the temp
   * folder, for ObjectStore.commit, or undefined when the file system does
   * not support hard links (the caller then copies the parts). The upload's
   * parts stay valid whether or not the commit happens.
   */
  async linkAssembly(
    uploadId: string,
    parts: PartRecord[],
  ): Promise<string | undefined> {
    const dir = this.#uploadDir(uploadId);
    const assembly = path.join(dir, ASSEMBLY_FILE);
    const chosen = new Set(parts.map((part) => part.partNumber));
    const size = parts.reduce((sum, part) => sum + part.size, 0);

    for (const part of await this.listParts(uploadId)) {
      if (part.offset !== undefined && !chosen.has(part.partNumber)) {
        await this.#detachPart(dir, assembly, part);
      }
    }

    const handle = await open(assembly, 'r+');
    try {
      await handle.truncate(size);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    const linked = tempName(this.#tmpDir, '.bin');
    try {
      await this.#link(assembly, linked);
    } catch (error) {
      if (isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS')) {
        return undefined;
      }
      throw error;
    }
    return linked;
  }

  /**
   * With the upload lock held: copies an in-place part's region into a
   * flushed part file and points its record there.
   */
  async #detachPart(
    dir: string,
    assembly: string,
    part: PartRecord,
  ): Promise<void> {
    const temp = tempName(this.#tmpDir, '.bin');
    try {
      const input = await open(assembly, 'r');
      try {
        const output = await open(temp, 'wx');
        try {
          const buffer = Buffer.allocUnsafe(
            Math.min(COPY_CHUNK_BYTES, Math.max(part.size, 1)),
          );
          let done = 0;
          while (done < part.size) {
            const want = Math.min(buffer.length, part.size - done);
            const { bytesRead } = await input.read(
              buffer,
              0,
              want,
              part.offset! + done,
            );
            if (bytesRead === 0) {
              throw new Error(
                `The assembly file of upload ${path.basename(dir)} ends inside part ${part.partNumber}.`,
              );
            }
            await output.write(buffer, 0, bytesRead, done);
            done += bytesRead;
          }
          await output.datasync();
        } finally {
          await output.close();
        }
      } finally {
        await input.close();
      }
      const { offset: _offset, file: _file, ...rest } = part;
      await this.#putPartFile(dir, temp, rest);
    } finally {
      await rm(temp, { force: true });
    }
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

  #recordPath(dir: string, partNumber: number): string {
    return path.join(dir, `${partName(partNumber)}.json`);
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

/** Whether `file` exists with a single link (false when it is missing). */
async function isSingleLink(file: string): Promise<boolean> {
  try {
    return (await stat(file)).nlink === 1;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      return false;
    }
    throw error;
  }
}

/**
 * openRegionSink opens the assembly file for writing one part's body into
 * `region`. The sink writes each chunk at its place, refuses bytes past the
 * region's length, flushes the data to disk before it finishes and closes
 * the file when it is finished or destroyed. Throws UploadGoneError when
 * the upload's folder is gone (aborted or completed).
 */
export async function openRegionSink(region: PartRegion): Promise<Writable> {
  let handle: FileHandle;
  try {
    handle = await open(region.path, 'r+');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      throw new UploadGoneError(region.uploadId);
    }
    throw error;
  }
  return new RegionSink(handle, region);
}

/** RegionSink: see openRegionSink. */
class RegionSink extends Writable {
  readonly #handle: FileHandle;
  readonly #end: number;
  readonly #region: PartRegion;
  #position: number;

  constructor(handle: FileHandle, region: PartRegion) {
    super();
    this.#handle = handle;
    this.#region = region;
    this.#position = region.offset;
    this.#end = region.offset + region.length;
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer }>,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunks.map((item) => item.chunk)).then(
      () => callback(),
      callback,
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#handle.datasync().then(() => callback(), callback);
  }

  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    this.#handle.close().then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  }

  async #writeAll(buffers: Buffer[]): Promise<void> {
    const size = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    if (this.#position + size > this.#end) {
      throw new Error(
        `Part ${this.#region.partNumber} of upload ${this.#region.uploadId} is longer than the ${this.#region.length} bytes its region holds.`,
      );
    }
    const { bytesWritten } = await this.#handle.writev(
      buffers,
      this.#position,
    );
    // A short write is rare on a file; what is left goes out piece by piece.
    if (bytesWritten < size) {
      const rest = Buffer.concat(buffers).subarray(bytesWritten);
      let done = 0;
      while (done < rest.length) {
        const result = await this.#handle.write(
          rest,
          done,
          rest.length - done,
          this.#position + bytesWritten + done,
        );
        done += result.bytesWritten;
      }
    }
    this.#position += size;
  }
}
