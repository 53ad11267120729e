/**
 * The multipart operations: CreateMultipartUpload, UploadPart, ListParts,
 * CompleteMultipartUpload, AbortMultipartUpload and ListMultipartUploads,
 * with S3's checks (part numbers, ETags, order, minimum part size, part
 * checksums) and S3's ETag and composite-checksum arithmetic. A part's body
 * is written in place in its upload's assembly file when the store has a
 * region for it, so that a Complete of equal parts (and a shorter last one)
 * commits that file as the object without copying a byte; any other part
 * list is copied into a new file (see multipart-store.ts).
 */

import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';

import { headerOf } from './http-headers.ts';
import {
  checksumHeaderName,
  checksumXmlName,
  createHasher,
  decodeChecksumValue,
  parseChecksumAlgorithm,
  UNSUPPORTED_CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Hasher,
} from './checksums.ts';
import type {
  CompletedRecord,
  PartRecord,
  UploadRecord,
} from './multipart-store.ts';
import { openRegionSink, UploadGoneError } from './multipart-store.ts';
import { throwIfRefused, writeConditionOf } from './object-operations.ts';
import {
  MemorySink,
  planBody,
  receiveBody,
  type BodyPlan,
  type ReceivedBody,
} from './request-body.ts';
import {
  contentHeadersOf,
  notifyStored,
  planUpload,
  quoteEtag,
  receiveToTempFile,
  rejectCopySource,
  sendEmpty,
  sendXml,
  type S3Context,
} from './s3-context.ts';
import { s3Errors } from './s3-error.ts';
import {
  parseXml,
  XmlParseError,
  type XmlElement,
  type XmlNode,
} from './xml.ts';

/** S3's part-number range. */
const MAX_PART_NUMBER = 10_000;
/** Largest CompleteMultipartUpload body accepted. */
const MAX_COMPLETE_BODY = 8 * 1024 * 1024;
/** Default and largest page of ListParts / ListMultipartUploads. */
const MAX_PAGE = 1000;

const COMPOSITE_ALGORITHMS: ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'SHA1',
  'SHA256',
];
const FULL_OBJECT_ALGORITHMS: ChecksumAlgorithm[] = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
];

/** createMultipartUpload starts an upload (POST /bucket/key?uploads). */
export async function createMultipartUpload(
  ctx: S3Context,
  key: string,
): Promise<void> {
  const content = contentHeadersOf(ctx.req);
  const { checksumAlgorithm, checksumType } = multipartChecksumOf(ctx);

  const upload = await ctx.uploads.create({
    ...content,
    bucket: ctx.bucket,
    key,
    initiator: ctx.auth.accessKeyId,
    checksumAlgorithm,
    checksumType,
  });

  const headers: Record<string, string> = {};
  if (checksumAlgorithm && checksumType) {
    headers['x-amz-checksum-algorithm'] = checksumAlgorithm;
    headers['x-amz-checksum-type'] = checksumType;
  }
  sendXml(
    ctx,
    200,
    'InitiateMultipartUploadResult',
    { Bucket: ctx.bucket, Key: key, UploadId: upload.uploadId },
    headers,
  );
}

/** The checksum algorithm and type requested for a new upload, checked. */
function multipartChecksumOf(ctx: S3Context): {
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
} {
  const algorithmHeader = headerOf(ctx.req.headers, 'x-amz-checksum-algorithm');
  const typeHeader = headerOf(ctx.req.headers, 'x-amz-checksum-type');
  if (algorithmHeader === undefined) {
    if (typeHeader !== undefined) {
      throw s3Errors.invalidRequest(
        'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
      );
    }
    return {};
  }
  if (
    UNSUPPORTED_CHECKSUM_ALGORITHMS.includes(
      algorithmHeader.trim().toUpperCase(),
    )
  ) {
    throw s3Errors.notImplemented(
      `The sandbox does not implement ${algorithmHeader} checksums.`,
    );
  }
  const algorithm = parseChecksumAlgorithm(algorithmHeader);
  if (
    !algorithm ||
    !(
      COMPOSITE_ALGORITHMS.includes(algorithm) ||
      FULL_OBJECT_ALGORITHMS.includes(algorithm)
    )
  ) {
    throw s3Errors.invalidRequest(
      `Checksum algorithm "${algorithmHeader}" is not supported for multipart uploads; use CRC32, CRC32C, CRC64NVME, SHA1 or SHA256.`,
    );
  }
  const type =
    typeHeader === undefined
      ? algorithm === 'CRC64NVME'
        ? 'FULL_OBJECT'
        : 'COMPOSITE'
      : typeHeader.trim().toUpperCase();
  if (type !== 'FULL_OBJECT' && type !== 'COMPOSITE') {
    throw s3Errors.invalidRequest(
      'Value for x-amz-checksum-type header is invalid: use FULL_OBJECT or COMPOSITE.',
    );
  }
  const allowed =
    type === 'COMPOSITE' ? COMPOSITE_ALGORITHMS : FULL_OBJECT_ALGORITHMS;
  if (!allowed.includes(algorithm)) {
    throw s3Errors.invalidRequest(
      `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return { checksumAlgorithm: algorithm, checksumType: type };
}

/** The open upload named by ?uploadId=, which must be for this key. */
async function openUpload(ctx: S3Context, key: string): Promise<UploadRecord> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = await ctx.uploads.get(uploadId);
  if (!upload || upload.bucket !== ctx.bucket || upload.key !== key) {
    throw s3Errors.noSuchUpload(uploadId);
  }
  return upload;
}

/** uploadPart stores one part (PUT /bucket/key?partNumber=N&uploadId=X). */
export async function uploadPart(ctx: S3Context, key: string): Promise<void> {
  rejectCopySource(ctx, 'UploadPart');
  const partNumber = parsePartNumber(ctx.query.get('partNumber') ?? '');
  const upload = await openUpload(ctx, key);
  const required = upload.checksumAlgorithm;
  const plan = planUpload(ctx, required ? [required] : []);
  if (required && plan.clientAlgorithm && plan.clientAlgorithm !== required) {
    throw s3Errors.invalidRequest(
      `Checksum Type mismatch occurred, expected checksum Type: ${required.toLowerCase()}, actual checksum Type: ${plan.clientAlgorithm.toLowerCase()}`,
    );
  }

  const { body, part } = await receivePart(ctx, upload, partNumber, plan);

  const headers: Record<string, string> = { ETag: quoteEtag(part.etag) };
  for (const algorithm of [required, body.clientAlgorithm]) {
    if (algorithm && part.checksums[algorithm]) {
      headers[checksumHeaderName(algorithm)] = part.checksums[algorithm]!;
    }
  }
  sendEmpty(ctx, 200, headers);
}

/**
 * receivePart receives one part's verified body and records it: in place in
 * the upload's assembly file when the store reserves a region for it, else
 * in a temp file that becomes the part's own file.
 */
async function receivePart(
  ctx: S3Context,
  upload: UploadRecord,
  partNumber: number,
  plan: BodyPlan,
): Promise<{ body: ReceivedBody; part: PartRecord }> {
  const uploadId = upload.uploadId;
  try {
    const region = await ctx.uploads.reserveRegion(
      uploadId,
      partNumber,
      plan.declaredLength,
    );
    if (!region) {
      const { tempPath, body } = await receiveToTempFile(ctx, plan);
      const part = await ctx.uploads.putPart(uploadId, tempPath, {
        partNumber,
        size: body.size,
        etag: body.md5Hex,
        checksums: body.checksums,
      });
      return { body, part };
    }
    try {
      const sink = await openRegionSink(region);
      const body = await receiveBody(ctx.req, plan, sink);
      const part = await ctx.uploads.putPartInPlace(region, {
        size: body.size,
        etag: body.md5Hex,
        checksums: body.checksums,
      });
      return { body, part };
    } finally {
      ctx.uploads.releaseRegion(region);
    }
  } catch (error) {
    if (error instanceof UploadGoneError) {
      throw s3Errors.noSuchUpload(uploadId);
    }
    throw error;
  }
}

function parsePartNumber(text: string): number {
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_PART_NUMBER)) {
    throw s3Errors.invalidArgument(
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      'partNumber',
      text,
    );
  }
  return value;
}

function parsePageSize(ctx: S3Context, name: string): number {
  const text = ctx.query.get(name);
  if (text === undefined) {
    return MAX_PAGE;
  }
  if (!/^\d{1,9}$/.test(text)) {
    throw s3Errors.invalidArgument(
      `Provided ${name} not an integer or within integer range`,
      name,
      text,
    );
  }
  return Math.min(Number(text), MAX_PAGE);
}

/** listParts lists an upload's parts (GET /bucket/key?uploadId=X). */
export async function listParts(ctx: S3Context, key: string): Promise<void> {
  const upload = await openUpload(ctx, key);
  const maxParts = parsePageSize(ctx, 'max-parts');
  const markerText = ctx.query.get('part-number-marker') ?? '0';
  if (!/^\d{1,5}$/.test(markerText)) {
    throw s3Errors.invalidArgument(
      'Provided part-number-marker not an integer or within integer range',
      'part-number-marker',
      markerText,
    );
  }
  const marker = Number(markerText);

  const after = (await ctx.uploads.listParts(upload.uploadId)).filter(
    (part) => part.partNumber > marker,
  );
  const page = after.slice(0, maxParts);
  const isTruncated = after.length > page.length;

  sendXml(ctx, 200, 'ListPartsResult', {
    Bucket: ctx.bucket,
    Key: key,
    UploadId: upload.uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker:
      page.length > 0 ? page[page.length - 1].partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: isTruncated,
    Part: page.map((part) => partXml(part, upload.checksumAlgorithm)),
    Initiator: ownerXml(upload.initiator),
    Owner: ownerXml(upload.initiator),
    StorageClass: 'STANDARD',
    ChecksumAlgorithm: upload.checksumAlgorithm,
    ChecksumType: upload.checksumType,
  });
}

function partXml(
  part: PartRecord,
  algorithm: ChecksumAlgorithm | undefined,
): XmlNode {
  const node: XmlNode = {
    PartNumber: part.partNumber,
    LastModified: part.lastModified,
    ETag: quoteEtag(part.etag),
    Size: part.size,
  };
  if (algorithm && part.checksums[algorithm]) {
    node[checksumXmlName(algorithm)] = part.checksums[algorithm];
  }
  return node;
}

function ownerXml(id: string): XmlNode {
  return { ID: id, DisplayName: 'sandbox' };
}

/** One <Part> of a CompleteMultipartUpload request. */
interface RequestedPart {
  partNumber: number;
  etag: string;
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * completeMultipartUpload assembles the listed parts into the object
 * (POST /bucket/key?uploadId=X). A repeat of a request that already
 * completed the upload, with the same part list, gets the same answer.
 */
export async function completeMultipartUpload(
  ctx: S3Context,
  key: string,
): Promise<void> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const condition = writeConditionOf(ctx);
  const plan = planBody(ctx.req, ctx.auth, {
    maxSize: MAX_COMPLETE_BODY,
    tooLarge: () => s3Errors.maxMessageLengthExceeded(MAX_COMPLETE_BODY),
  });
  const sink = new MemorySink();
  await receiveBody(ctx.req, plan, sink);
  const requested = parseCompleteRequest(sink.contents());

  const result = await ctx.uploads.withUploadLock(uploadId, async () => {
    let record = await ctx.uploads.getCompleted(uploadId);
    if (record) {
      if (
        record.bucket !== ctx.bucket ||
        record.key !== key ||
        record.parts.join(',') !== requested.map(partKey).join(',')
      ) {
        throw s3Errors.noSuchUpload(uploadId);
      }
    } else {
      const upload = await openUpload(ctx, key);
      record = await assemble(ctx, upload, requested, condition);
    }
    // Under the lock, so concurrent retries report the object only once; a
    // throwing callback leaves `notified` false for the client's retry.
    if (!record.notified) {
      notifyStored(ctx, ctx.bucket, key, record.size);
      record = { ...record, notified: true };
      await ctx.uploads.markCompleted(record);
    }
    return record;
  });

  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  const body: XmlNode = {
    Location: `http://${ctx.req.headers.host ?? '127.0.0.1'}/${ctx.bucket}/${encodedKey}`,
    Bucket: ctx.bucket,
    Key: key,
    ETag: quoteEtag(result.etag),
  };
  for (const [algorithm, value] of Object.entries(result.checksums)) {
    body[checksumXmlName(algorithm as ChecksumAlgorithm)] = value;
  }
  if (result.checksumType) {
    body.ChecksumType = result.checksumType;
  }
  sendXml(ctx, 200, 'CompleteMultipartUploadResult', body);
}

function partKey(part: { partNumber: number; etag: string }): string {
  return `${part.partNumber}:${part.etag}`;
}

/** parseCompleteRequest reads the part list, or throws MalformedXML. */
function parseCompleteRequest(body: Buffer): RequestedPart[] {
  let root: XmlElement;
  try {
    root = parseXml(body.toString('utf8'));
  } catch (error) {
    if (error instanceof XmlParseError) {
      throw s3Errors.malformedXml(error.message);
    }
    throw error;
  }
  if (root.name !== 'CompleteMultipartUpload') {
    throw s3Errors.malformedXml(
      'the root element must be CompleteMultipartUpload',
    );
  }
  const parts: RequestedPart[] = [];
  for (const element of root.children) {
    if (element.name !== 'Part') {
      throw s3Errors.malformedXml(`unexpected element <${element.name}>`);
    }
    const fields = new Map(
      element.children.map((child) => [child.name, child.text.trim()]),
    );
    const partNumberText = fields.get('PartNumber') ?? '';
    const etag = fields.get('ETag');
    if (!/^\d{1,5}$/.test(partNumberText) || etag === undefined) {
      throw s3Errors.malformedXml('every Part needs a PartNumber and an ETag');
    }
    const partNumber = Number(partNumberText);
    if (partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw s3Errors.invalidArgument(
        `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
        'partNumber',
        partNumberText,
      );
    }
    const checksums: RequestedPart['checksums'] = {};
    for (const [name, value] of fields) {
      if (name.startsWith('Checksum') && name !== 'ChecksumType') {
        const algorithm = parseChecksumAlgorithm(name.slice('Checksum'.length));
        if (!algorithm) {
          throw s3Errors.malformedXml(`unknown element <${name}>`);
        }
        checksums[algorithm] = value;
      }
    }
    parts.push({
      partNumber,
      etag: etag.replace(/^"|"$/g, '').toLowerCase(),
      checksums,
    });
  }
  if (parts.length === 0) {
    throw s3Errors.malformedXml('the part list is empty');
  }
  return parts;
}

/**
 * assemble checks the requested parts against the stored ones, makes them
 * the object and records the completion. When the parts lie back to back in
 * the upload's assembly file that file becomes the object (no copy);
 * otherwise they are streamed into a new temp file that does. Must run with
 * the upload lock held.
 */
async function assemble(
  ctx: S3Context,
  upload: UploadRecord,
  requested: RequestedPart[],
  condition: ReturnType<typeof writeConditionOf>,
): Promise<CompletedRecord> {
  const stored = new Map(
    (await ctx.uploads.listParts(upload.uploadId)).map((part) => [
      part.partNumber,
      part,
    ]),
  );
  const chosen = checkRequestedParts(ctx, upload, requested, stored);

  const expectedSize = headerOf(ctx.req.headers, 'x-amz-mp-object-size');
  const totalSize = chosen.reduce((sum, part) => sum + part.size, 0);
  if (expectedSize !== undefined && Number(expectedSize) !== totalSize) {
    throw s3Errors.invalidRequest(
      `The provided 'x-amz-mp-object-size' header value ${expectedSize} does not match what was computed: ${totalSize}`,
    );
  }

  const algorithm = upload.checksumAlgorithm;
  const fullHasher =
    algorithm && upload.checksumType === 'FULL_OBJECT'
      ? createHasher(algorithm)
      : undefined;
  const isInPlace = await ctx.uploads.claimAssembly(upload.uploadId, chosen);
  let tempPath: string | undefined;
  let meta: Awaited<ReturnType<typeof ctx.objects.commit>>;
  let etag: string;
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  try {
    // The bytes are read only to copy them or for a FULL_OBJECT checksum,
    // and before anything is changed.
    if (!isInPlace) {
      tempPath = ctx.objects.tempFile();
      await concatenateParts(ctx, upload, chosen, tempPath, fullHasher);
    } else if (fullHasher) {
      await readParts(ctx, upload, chosen, (data) => fullHasher.update(data));
    }

    // S3's multipart ETag: MD5 of the concatenated binary part MD5s, "-N".
    const etagDigest = createHash('md5');
    for (const part of chosen) {
      etagDigest.update(Buffer.from(part.etag, 'hex'));
    }
    etag = `${etagDigest.digest('hex')}-${chosen.length}`;

    if (algorithm && fullHasher) {
      checksums[algorithm] = fullHasher.digest().toString('base64');
      verifyFullObjectHeader(ctx, algorithm, checksums[algorithm]!);
    } else if (algorithm) {
      // COMPOSITE: the checksum of the concatenated binary part checksums.
      const composite = createHasher(algorithm);
      for (const part of chosen) {
        composite.update(Buffer.from(part.checksums[algorithm]!, 'base64'));
      }
      checksums[algorithm] =
        `${composite.digest().toString('base64')}-${chosen.length}`;
    }

    if (isInPlace) {
      tempPath = await ctx.uploads.linkAssembly(upload.uploadId, chosen);
      if (tempPath === undefined) {
        // The file system has no hard links: copy after all.
        tempPath = ctx.objects.tempFile();
        await concatenateParts(ctx, upload, chosen, tempPath, undefined);
      }
    }
    meta = await ctx.objects.commit(
      ctx.bucket,
      upload.key,
      tempPath!,
      {
        bucket: ctx.bucket,
        key: upload.key,
        etag,
        contentType: upload.contentType,
        contentEncoding: upload.contentEncoding,
        contentDisposition: upload.contentDisposition,
        contentLanguage: upload.contentLanguage,
        cacheControl: upload.cacheControl,
        expires: upload.expires,
        userMetadata: upload.userMetadata,
        checksums,
        checksumType: upload.checksumType,
        partCount: chosen.length,
      },
      condition,
    );
  } finally {
    if (isInPlace) {
      ctx.uploads.releaseAssembly(upload.uploadId);
    }
    // commit() moved or removed the file; this only cleans up after errors.
    if (tempPath !== undefined) {
      await rm(tempPath, { force: true });
    }
  }
  throwIfRefused(meta, upload.key);

  const record: CompletedRecord = {
    uploadId: upload.uploadId,
    bucket: ctx.bucket,
    key: upload.key,
    etag,
    parts: requested.map(partKey),
    checksums,
    checksumType: upload.checksumType,
    completedAt: ctx.options.now().toISOString(),
    size: meta.size,
    notified: false,
  };
  await ctx.uploads.markCompleted(record);
  return record;
}

/**
 * checkRequestedParts applies S3's rules to the requested part list and
 * returns the stored parts it names, in order.
 */
function checkRequestedParts(
  ctx: S3Context,
  upload: UploadRecord,
  requested: RequestedPart[],
  stored: Map<number, PartRecord>,
): PartRecord[] {
  const chosen: PartRecord[] = [];
  let previous = 0;
  for (const want of requested) {
    if (want.partNumber <= previous) {
      throw s3Errors.invalidPartOrder();
    }
    previous = want.partNumber;
    const part = stored.get(want.partNumber);
    const details = {
      UploadId: upload.uploadId,
      PartNumber: String(want.partNumber),
      ETag: want.etag,
    };
    if (!part || part.etag !== want.etag) {
      throw s3Errors.invalidPart(details);
    }
    for (const [name, value] of Object.entries(want.checksums)) {
      const algorithm = name as ChecksumAlgorithm;
      const known = part.checksums[algorithm];
      if (known !== undefined && known !== value) {
        throw s3Errors.invalidPart(details);
      }
      if (known === undefined && algorithm === upload.checksumAlgorithm) {
        throw s3Errors.invalidPart(details);
      }
    }
    const algorithm = upload.checksumAlgorithm;
    if (algorithm && want.checksums[algorithm] === undefined) {
      throw s3Errors.invalidRequest(
        `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${want.partNumber} in the request.`,
      );
    }
    chosen.push(part);
  }
  for (const part of chosen.slice(0, -1)) {
    if (part.size < ctx.options.minPartSize) {
      throw s3Errors.entityTooSmall({
        ProposedSize: String(part.size),
        MinSizeAllowed: String(ctx.options.minPartSize),
        PartNumber: String(part.partNumber),
        ETag: part.etag,
      });
    }
  }
  return chosen;
}

/** Bytes read per step when parts are joined into the object. */
const JOIN_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * concatenateParts writes `parts`, in order, into the new file `target`
 * and flushes it, feeding `hasher` with every byte (see readParts).
 */
async function concatenateParts(
  ctx: S3Context,
  upload: UploadRecord,
  parts: PartRecord[],
  target: string,
  hasher: Hasher | undefined,
): Promise<void> {
  const out = await open(target, 'wx');
  try {
    let position = 0;
    await readParts(ctx, upload, parts, async (data) => {
      hasher?.update(data);
      await out.write(data, 0, data.length, position);
      position += data.length;
    });
    await out.datasync();
  } finally {
    await out.close();
  }
}

/**
 * readParts hands the bytes of `parts`, in order, to `onData`, wherever
 * each part lives (its own file or a region of the assembly file). One
 * buffer is reused for the whole read: `onData` must be done with a chunk
 * when it returns (or its promise settles). Throws InternalError when a
 * stored part does not have the size it was acknowledged with.
 */
async function readParts(
  ctx: S3Context,
  upload: UploadRecord,
  parts: PartRecord[],
  onData: (data: Buffer) => void | Promise<void>,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(JOIN_CHUNK_BYTES);
  for (const part of parts) {
    const input = await open(ctx.uploads.partFile(upload.uploadId, part));
    const start = part.offset ?? 0;
    // A part file must end with the part; a region is followed by others.
    const limit = part.offset === undefined ? Infinity : part.size;
    let length = 0;
    try {
      while (length < limit) {
        const want = Math.min(buffer.length, limit - length);
        const { bytesRead } = await input.read(
          buffer,
          0,
          want,
          start + length,
        );
        if (bytesRead === 0) {
          break;
        }
        await onData(buffer.subarray(0, bytesRead));
        length += bytesRead;
      }
    } finally {
      await input.close();
    }
    if (length !== part.size) {
      throw s3Errors.internalError(
        `Stored part ${part.partNumber} of upload ${upload.uploadId} has ${length} bytes on disk, ${part.size} were acknowledged.`,
      );
    }
  }
}

/** A full-object checksum sent with Complete must match the assembled bytes. */
function verifyFullObjectHeader(
  ctx: S3Context,
  algorithm: ChecksumAlgorithm,
  actual: string,
): void {
  const sent = headerOf(ctx.req.headers, checksumHeaderName(algorithm));
  if (sent === undefined) {
    return;
  }
  const raw = decodeChecksumValue(algorithm, sent);
  if (!raw || raw.toString('base64') !== actual) {
    throw s3Errors.badDigest(
      `The ${algorithm} you specified did not match the calculated checksum.`,
    );
  }
}

/** abortMultipartUpload discards an upload (DELETE /bucket/key?uploadId=X). */
export async function abortMultipartUpload(
  ctx: S3Context,
  key: string,
): Promise<void> {
  const upload = await openUpload(ctx, key);
  if (!(await ctx.uploads.abort(upload.uploadId))) {
    throw s3Errors.noSuchUpload(upload.uploadId);
  }
  sendEmpty(ctx, 204);
}

/** listMultipartUploads lists open uploads (GET /bucket?uploads). */
export async function listMultipartUploads(ctx: S3Context): Promise<void> {
  const prefix = ctx.query.get('prefix') ?? '';
  const delimiter = ctx.query.get('delimiter') ?? '';
  const keyMarker = ctx.query.get('key-marker') ?? '';
  const uploadIdMarker = ctx.query.get('upload-id-marker') ?? '';
  const maxUploads = parsePageSize(ctx, 'max-uploads');

  const sorted = (await ctx.uploads.listUploads(ctx.bucket)).filter((upload) =>
    upload.key.startsWith(prefix),
  );
  // Resume after the marker upload when both markers name one, else after
  // every upload of the marker key.
  const markerIndex =
    uploadIdMarker === ''
      ? -1
      : sorted.findIndex(
          (upload) =>
            upload.key === keyMarker && upload.uploadId === uploadIdMarker,
        );
  const all =
    markerIndex !== -1
      ? sorted.slice(markerIndex + 1)
      : sorted.filter((upload) => keyMarker === '' || upload.key > keyMarker);
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  let isTruncated = false;
  let last: UploadRecord | undefined;
  for (const upload of all) {
    const rest = upload.key.slice(prefix.length);
    const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
    const common =
      cut === -1 ? undefined : prefix + rest.slice(0, cut + delimiter.length);
    if (common !== undefined && prefixes.includes(common)) {
      continue;
    }
    if (uploads.length + prefixes.length >= maxUploads) {
      isTruncated = true;
      break;
    }
    if (common !== undefined) {
      prefixes.push(common);
    } else {
      uploads.push(upload);
    }
    last = upload;
  }

  sendXml(ctx, 200, 'ListMultipartUploadsResult', {
    Bucket: ctx.bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: isTruncated && last ? last.key : undefined,
    NextUploadIdMarker: isTruncated && last ? last.uploadId : undefined,
    Prefix: prefix,
    Delimiter: delimiter === '' ? undefined : delimiter,
    MaxUploads: maxUploads,
    IsTruncated: isTruncated,
    Upload: uploads.map((upload) => ({
      Key: upload.key,
      UploadId: upload.uploadId,
      Initiator: ownerXml(upload.initiator),
      Owner: ownerXml(upload.initiator),
      StorageClass: 'STANDARD',
      Initiated: upload.initiated,
      ChecksumAlgorithm: upload.checksumAlgorithm,
      ChecksumType: upload.checksumType,
    })),
    CommonPrefixes: prefixes.map((value) => ({ Prefix: value })),
  });
}
