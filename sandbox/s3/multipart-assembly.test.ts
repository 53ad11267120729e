import { createHash } from 'node:crypto';
import {
  link,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
} from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';

import { objectPath } from './handler.ts';
import {
  addKey,
  errorCode,
  makeTestKey,
  md5Base64,
  s3Client,
  sdkSigner,
  sha256HexOf,
  signedRaw,
  startTestEndpoint,
  type RawResponse,
  type TestEndpoint,
  type TestKey,
} from './testing.ts';

const BUCKET = 'test-bucket';
const MIN_PART = 64 * 1024;

/** Deterministic non-repeating test bytes. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** S3's multipart ETag, computed independently of the endpoint. */
function multipartEtag(parts: Buffer[]): string {
  const digest = createHash('md5');
  for (const part of parts) {
    digest.update(createHash('md5').update(part).digest());
  }
  return `"${digest.digest('hex')}-${parts.length}"`;
}

/** The upload's assembly file, where the store's layout comment puts it. */
function assemblyPath(rootDir: string, uploadId: string): string {
  return path.join(rootDir, '.s3-multipart', uploadId, 'assembly.bin');
}

async function inodeOf(file: string): Promise<number> {
  return (await stat(file)).ino;
}

/** Resolves once `test` passes (polled), or rejects after two seconds. */
async function waitFor(test: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 2000;
  while (!(await test())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return -1;
  }
}

/** The bytes of `file` in [start, start + length). */
async function readRegion(
  file: string,
  start: number,
  length: number,
): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A signed UploadPart whose body goes out in two halves: the first at once,
 * the second when finish() is called, so a test can act while the endpoint
 * is in the middle of receiving it.
 */
interface PausedPart {
  finish(): Promise<RawResponse>;
}

async function startPausedPart(
  endpoint: TestEndpoint,
  key: TestKey,
  objectKey: string,
  uploadId: string,
  partNumber: number,
  body: Buffer,
): Promise<PausedPart> {
  const query = { partNumber: String(partNumber), uploadId };
  const signed = await sdkSigner(key).sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: endpoint.port,
      path: `/${BUCKET}/${objectKey}`,
      query,
      headers: {
        host: `127.0.0.1:${endpoint.port}`,
        'content-length': String(body.length),
        'x-amz-content-sha256': sha256HexOf(body),
      },
    },
    { signingDate: new Date() },
  );
  const search = new URLSearchParams(query).toString();
  let resolveResponse!: (response: RawResponse) => void;
  let rejectResponse!: (error: Error) => void;
  const response = new Promise<RawResponse>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  const req = http.request(
    {
      host: '127.0.0.1',
      port: endpoint.port,
      method: 'PUT',
      path: `/${BUCKET}/${objectKey}?${search}`,
      headers: signed.headers as Record<string, string>,
      agent: false,
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolveResponse({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', rejectResponse);
    },
  );
  req.on('error', rejectResponse);
  const half = Math.floor(body.length / 2);
  req.write(body.subarray(0, half));
  return {
    finish() {
      req.end(body.subarray(half));
      return response;
    },
  };
}

describe('CompleteMultipartUpload and the assembly file', () => {
  let endpoint: TestEndpoint;
  let key: TestKey;
  let s3: S3Client;
  let scratch: string;

  // Three full parts of the stride and a shorter last one.
  const parts = [
    bytes(MIN_PART, 21),
    bytes(MIN_PART, 22),
    bytes(MIN_PART, 23),
    bytes(10_001, 24),
  ];
  const whole = Buffer.concat(parts);

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'gencove-s3-assembly-'));
  });

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  beforeEach(async () => {
    endpoint = await startTestEndpoint({ minPartSize: MIN_PART });
    key = makeTestKey();
    addKey(endpoint, key);
    s3 = s3Client(endpoint, key);
  });

  afterEach(async () => {
    s3.destroy();
    await endpoint.close();
  });

  async function startUpload(
    objectKey: string,
    algorithm?: ChecksumAlgorithm,
    client: S3Client = s3,
  ): Promise<string> {
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: objectKey,
        ChecksumAlgorithm: algorithm,
      }),
    );
    return created.UploadId!;
  }

  async function sendPart(
    objectKey: string,
    uploadId: string,
    partNumber: number,
    body: Buffer,
    options: { algorithm?: ChecksumAlgorithm; client?: S3Client } = {},
  ): Promise<CompletedPart> {
    const out = await (options.client ?? s3).send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: objectKey,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
        ChecksumAlgorithm: options.algorithm,
      }),
    );
    return {
      PartNumber: partNumber,
      ETag: out.ETag,
      ChecksumCRC32: out.ChecksumCRC32,
      ChecksumCRC64NVME: out.ChecksumCRC64NVME,
    };
  }

  function complete(
    objectKey: string,
    uploadId: string,
    sent: CompletedPart[],
    options: { client?: S3Client; ifNoneMatch?: string } = {},
  ) {
    return (options.client ?? s3).send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: objectKey,
        UploadId: uploadId,
        IfNoneMatch: options.ifNoneMatch,
        MultipartUpload: {
          Parts: [...sent].sort((a, b) => a.PartNumber! - b.PartNumber!),
        },
      }),
    );
  }

  function stored(objectKey: string, rootDir = endpoint.rootDir) {
    return objectPath(rootDir, BUCKET, objectKey);
  }

  async function failureOf(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      return (error as Error).name;
    }
    throw new Error('expected the request to fail');
  }

  describe('when every part is written in place', () => {
    it('commits the assembly file itself for parts sent in order', async () => {
      const uploadId = await startUpload('asm/in-order.bin');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(await sendPart('asm/in-order.bin', uploadId, i + 1, part));
      }
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/in-order.bin', uploadId, sent);

      expect(done.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored('asm/in-order.bin'))).toEqual(whole);
      expect(await inodeOf(stored('asm/in-order.bin'))).toBe(assemblyInode);
      expect(
        await readdir(path.join(endpoint.rootDir, '.s3-multipart', uploadId)),
      ).toEqual(['completed.json']);
      expect(endpoint.stored).toEqual([
        { bucket: BUCKET, key: 'asm/in-order.bin', size: whole.length },
      ]);
    });

    it('commits the assembly file for full parts sent out of order and at once', async () => {
      const uploadId = await startUpload('asm/shuffled.bin');
      // Part 2 is first, so the stride is a full part's length.
      const second = await sendPart('asm/shuffled.bin', uploadId, 2, parts[1]);
      const rest = await Promise.all([
        sendPart('asm/shuffled.bin', uploadId, 4, parts[3]),
        sendPart('asm/shuffled.bin', uploadId, 1, parts[0]),
        sendPart('asm/shuffled.bin', uploadId, 3, parts[2]),
      ]);
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/shuffled.bin', uploadId, [
        second,
        ...rest,
      ]);

      expect(done.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored('asm/shuffled.bin'))).toEqual(whole);
      expect(await inodeOf(stored('asm/shuffled.bin'))).toBe(assemblyInode);
    });

    it('gives the COMPOSITE CRC32 of the parts without reading them', async () => {
      const uploadId = await startUpload('asm/crc32.bin', 'CRC32');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(
          await sendPart('asm/crc32.bin', uploadId, i + 1, part, {
            algorithm: 'CRC32',
          }),
        );
      }
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/crc32.bin', uploadId, sent);

      // CRC32 of the concatenated binary part CRC32s (from the SDK), "-N".
      const partCrcs = Buffer.concat(
        sent.map((part) => Buffer.from(part.ChecksumCRC32!, 'base64')),
      );
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE((await import('node:zlib')).crc32(partCrcs));
      expect(done.ChecksumCRC32).toBe(`${crc.toString('base64')}-4`);
      expect(await readFile(stored('asm/crc32.bin'))).toEqual(whole);
      expect(await inodeOf(stored('asm/crc32.bin'))).toBe(assemblyInode);
    });

    it('computes a FULL_OBJECT CRC64NVME from the bytes in place', async () => {
      const reference = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'asm/reference.bin',
          Body: whole,
          ChecksumAlgorithm: 'CRC64NVME',
        }),
      );
      const uploadId = await startUpload('asm/full.bin', 'CRC64NVME');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(
          await sendPart('asm/full.bin', uploadId, i + 1, part, {
            algorithm: 'CRC64NVME',
          }),
        );
      }
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/full.bin', uploadId, sent);

      expect(done.ChecksumCRC64NVME).toBe(reference.ChecksumCRC64NVME);
      expect(done.ChecksumType).toBe('FULL_OBJECT');
      expect(await readFile(stored('asm/full.bin'))).toEqual(whole);
      expect(await inodeOf(stored('asm/full.bin'))).toBe(assemblyInode);
    });

    it('answers a retried Complete the same way and stores the object once', async () => {
      const uploadId = await startUpload('asm/retried.bin');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(await sendPart('asm/retried.bin', uploadId, i + 1, part));
      }

      const first = await complete('asm/retried.bin', uploadId, sent);
      const second = await complete('asm/retried.bin', uploadId, sent);

      expect(second.ETag).toBe(first.ETag);
      expect(first.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored('asm/retried.bin'))).toEqual(whole);
      expect(endpoint.stored).toHaveLength(1);
    });
  });

  describe('when a part is not where the object needs it', () => {
    it('copies when the short last part arrived first', async () => {
      const uploadId = await startUpload('asm/short-first.bin');
      const last = await sendPart('asm/short-first.bin', uploadId, 4, parts[3]);
      const sent = [last];
      for (const i of [0, 1, 2]) {
        sent.push(
          await sendPart('asm/short-first.bin', uploadId, i + 1, parts[i]),
        );
      }
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/short-first.bin', uploadId, sent);

      expect(done.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored('asm/short-first.bin'))).toEqual(whole);
      expect(await inodeOf(stored('asm/short-first.bin'))).not.toBe(
        assemblyInode,
      );
    });

    it('copies, with the later bytes, when a part was sent again', async () => {
      const uploadId = await startUpload('asm/resent.bin');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(await sendPart('asm/resent.bin', uploadId, i + 1, part));
      }
      const replacement = bytes(MIN_PART, 99);
      sent[1] = await sendPart('asm/resent.bin', uploadId, 2, replacement);
      const listed = await s3.send(
        new ListPartsCommand({
          Bucket: BUCKET,
          Key: 'asm/resent.bin',
          UploadId: uploadId,
        }),
      );
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/resent.bin', uploadId, sent);

      const expected = [parts[0], replacement, parts[2], parts[3]];
      expect(listed.Parts!.map((part) => part.ETag)).toEqual(
        sent.map((part) => part.ETag),
      );
      expect(done.ETag).toBe(multipartEtag(expected));
      expect(await readFile(stored('asm/resent.bin'))).toEqual(
        Buffer.concat(expected),
      );
      expect(await inodeOf(stored('asm/resent.bin'))).not.toBe(assemblyInode);
    });

    it('copies a subset of the parts that does not start at part 1 or has a gap', async () => {
      const gapId = await startUpload('asm/gap.bin');
      const gapSent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        gapSent.push(await sendPart('asm/gap.bin', gapId, i + 1, part));
      }
      const lateId = await startUpload('asm/late.bin');
      const lateSent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        lateSent.push(await sendPart('asm/late.bin', lateId, i + 1, part));
      }
      const gapInode = await inodeOf(assemblyPath(endpoint.rootDir, gapId));

      await complete('asm/gap.bin', gapId, [gapSent[0], gapSent[2]]);
      await complete('asm/late.bin', lateId, lateSent.slice(1));

      expect(await readFile(stored('asm/gap.bin'))).toEqual(
        Buffer.concat([parts[0], parts[2]]),
      );
      expect(await inodeOf(stored('asm/gap.bin'))).not.toBe(gapInode);
      expect(await readFile(stored('asm/late.bin'))).toEqual(
        Buffer.concat(parts.slice(1)),
      );
    });

    it('copies when a part is still being written in place, which then fails', async () => {
      const uploadId = await startUpload('asm/busy.bin');
      const sent = [
        await sendPart('asm/busy.bin', uploadId, 1, parts[0]),
        await sendPart('asm/busy.bin', uploadId, 2, parts[3]),
      ];
      const assembly = assemblyPath(endpoint.rootDir, uploadId);
      const assemblyInode = await inodeOf(assembly);
      const busy = await startPausedPart(
        endpoint,
        key,
        'asm/busy.bin',
        uploadId,
        3,
        parts[2],
      );
      await waitFor(
        async () => (await sizeOf(assembly)) >= 2 * MIN_PART + MIN_PART / 2,
        'the first half of part 3 in place',
      );

      await complete('asm/busy.bin', uploadId, sent);
      const late = await busy.finish();

      expect(await readFile(stored('asm/busy.bin'))).toEqual(
        Buffer.concat([parts[0], parts[3]]),
      );
      expect(await inodeOf(stored('asm/busy.bin'))).not.toBe(assemblyInode);
      expect([late.status, errorCode(late.body)]).toEqual([
        404,
        'NoSuchUpload',
      ]);
    });
  });

  describe('with a subset of the parts from part 1', () => {
    it('commits the assembly file without the parts after the subset', async () => {
      const uploadId = await startUpload('asm/subset.bin');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(await sendPart('asm/subset.bin', uploadId, i + 1, part));
      }
      const assemblyInode = await inodeOf(
        assemblyPath(endpoint.rootDir, uploadId),
      );

      const done = await complete('asm/subset.bin', uploadId, sent.slice(0, 2));

      expect(done.ETag).toBe(multipartEtag(parts.slice(0, 2)));
      expect(await readFile(stored('asm/subset.bin'))).toEqual(
        Buffer.concat(parts.slice(0, 2)),
      );
      expect(await inodeOf(stored('asm/subset.bin'))).toBe(assemblyInode);
    });

    it('keeps every part intact when the subset commit is refused', async () => {
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'asm/refused.bin',
          Body: 'already here',
        }),
      );
      const uploadId = await startUpload('asm/refused.bin');
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(await sendPart('asm/refused.bin', uploadId, i + 1, part));
      }

      const refused = await failureOf(
        complete('asm/refused.bin', uploadId, sent.slice(0, 2), {
          ifNoneMatch: '*',
        }),
      );
      const listed = await s3.send(
        new ListPartsCommand({
          Bucket: BUCKET,
          Key: 'asm/refused.bin',
          UploadId: uploadId,
        }),
      );
      const done = await complete('asm/refused.bin', uploadId, sent);

      expect(refused).toBe('PreconditionFailed');
      expect(listed.Parts!.map((part) => [part.ETag, part.Size])).toEqual(
        sent.map((part, i) => [part.ETag, parts[i].length]),
      );
      expect(done.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored('asm/refused.bin'))).toEqual(whole);
    });
  });

  describe('with concurrent and rejected bodies', () => {
    it('keeps whichever of two concurrent sends of a part finished last', async () => {
      const winnerIsInPlace = await startUpload('asm/race-a.bin');
      const winnerIsFile = await startUpload('asm/race-b.bin');
      const inPlaceBytes = bytes(MIN_PART, 31);
      const fileBytes = bytes(MIN_PART, 32);
      const results: Array<{ etag: string; listed: string[] }> = [];

      for (const [uploadId, objectKey] of [
        [winnerIsInPlace, 'asm/race-a.bin'],
        [winnerIsFile, 'asm/race-b.bin'],
      ] as const) {
        await sendPart(objectKey, uploadId, 1, parts[0]);
        const assembly = assemblyPath(endpoint.rootDir, uploadId);
        const inPlace = await startPausedPart(
          endpoint,
          key,
          objectKey,
          uploadId,
          2,
          inPlaceBytes,
        );
        await waitFor(
          async () => (await sizeOf(assembly)) >= MIN_PART + MIN_PART / 2,
          'the first half of part 2 in place',
        );
        let etag: string;
        if (objectKey === 'asm/race-a.bin') {
          await sendPart(objectKey, uploadId, 2, fileBytes);
          etag = String((await inPlace.finish()).headers.etag);
        } else {
          const tmpDir = path.join(endpoint.rootDir, '.s3-tmp');
          const inFile = await startPausedPart(
            endpoint,
            key,
            objectKey,
            uploadId,
            2,
            fileBytes,
          );
          await waitFor(async () => {
            for (const name of await readdir(tmpDir)) {
              if ((await sizeOf(path.join(tmpDir, name))) >= MIN_PART / 2) {
                return true;
              }
            }
            return false;
          }, 'the first half of the second send in a temp file');
          expect((await inPlace.finish()).status).toBe(200);
          etag = String((await inFile.finish()).headers.etag);
        }
        const listed = await s3.send(
          new ListPartsCommand({
            Bucket: BUCKET,
            Key: objectKey,
            UploadId: uploadId,
          }),
        );
        results.push({
          etag,
          listed: listed.Parts!.map((part) => part.ETag!),
        });
      }
      const inPlaceInode = await inodeOf(
        assemblyPath(endpoint.rootDir, winnerIsInPlace),
      );
      const fileInode = await inodeOf(
        assemblyPath(endpoint.rootDir, winnerIsFile),
      );
      const stale = await failureOf(
        complete('asm/race-a.bin', winnerIsInPlace, [
          { PartNumber: 1, ETag: results[0].listed[0] },
          { PartNumber: 2, ETag: `"${md5Hex(fileBytes)}"` },
        ]),
      );
      for (const [i, [uploadId, objectKey]] of [
        [winnerIsInPlace, 'asm/race-a.bin'],
        [winnerIsFile, 'asm/race-b.bin'],
      ].entries()) {
        await complete(objectKey, uploadId, [
          { PartNumber: 1, ETag: results[i].listed[0] },
          { PartNumber: 2, ETag: results[i].etag },
        ]);
      }

      expect(results.map((result) => result.listed[1])).toEqual([
        `"${md5Hex(inPlaceBytes)}"`,
        `"${md5Hex(fileBytes)}"`,
      ]);
      expect(results.map((result) => result.etag)).toEqual(
        results.map((result) => result.listed[1]),
      );
      expect(stale).toBe('InvalidPart');
      expect(await readFile(stored('asm/race-a.bin'))).toEqual(
        Buffer.concat([parts[0], inPlaceBytes]),
      );
      expect(await inodeOf(stored('asm/race-a.bin'))).toBe(inPlaceInode);
      expect(await readFile(stored('asm/race-b.bin'))).toEqual(
        Buffer.concat([parts[0], fileBytes]),
      );
      expect(await inodeOf(stored('asm/race-b.bin'))).not.toBe(fileInode);
    });

    it('writes a good retry in place over a body rejected for its checksum', async () => {
      const uploadId = await startUpload('asm/rejected.bin');
      await sendPart('asm/rejected.bin', uploadId, 1, parts[0]);
      const garbage = bytes(MIN_PART, 77);

      const rejected = await signedRaw(endpoint, key, {
        method: 'PUT',
        path: `/${BUCKET}/asm/rejected.bin`,
        query: { partNumber: '2', uploadId },
        headers: {
          'content-length': String(garbage.length),
          'content-md5': md5Base64(parts[1]),
        },
        body: garbage,
      });
      const assembly = assemblyPath(endpoint.rootDir, uploadId);
      const regionAfterRejection = await readRegion(
        assembly,
        MIN_PART,
        MIN_PART,
      );
      const listedAfterRejection = await s3.send(
        new ListPartsCommand({
          Bucket: BUCKET,
          Key: 'asm/rejected.bin',
          UploadId: uploadId,
        }),
      );
      const sent = [
        { PartNumber: 1, ETag: `"${md5Hex(parts[0])}"` },
        await sendPart('asm/rejected.bin', uploadId, 2, parts[1]),
        await sendPart('asm/rejected.bin', uploadId, 3, parts[3]),
      ];
      const assemblyInode = await inodeOf(assembly);

      await complete('asm/rejected.bin', uploadId, sent);

      expect([rejected.status, errorCode(rejected.body)]).toEqual([
        400,
        'BadDigest',
      ]);
      // The rejected body went into part 2's region, which no record named.
      expect(regionAfterRejection).toEqual(garbage);
      expect(
        listedAfterRejection.Parts!.map((part) => part.PartNumber),
      ).toEqual([1]);
      expect(await readFile(stored('asm/rejected.bin'))).toEqual(
        Buffer.concat([parts[0], parts[1], parts[3]]),
      );
      expect(await inodeOf(stored('asm/rejected.bin'))).toBe(assemblyInode);
    });
  });

  describe('across restarts and aborts', () => {
    it('keeps the stride and in-place parts across restarts between parts and before Complete', async () => {
      const rootDir = await mkdtemp(path.join(scratch, 'restart-'));
      const serve = async () => {
        const server = await startTestEndpoint({
          rootDir,
          minPartSize: MIN_PART,
        });
        addKey(server, key);
        return { server, client: s3Client(server, key) };
      };
      const sent: CompletedPart[] = [];

      let { server, client } = await serve();
      const uploadId = await startUpload('asm/restart.bin', undefined, client);
      for (const i of [0, 1]) {
        sent.push(
          await sendPart('asm/restart.bin', uploadId, i + 1, parts[i], {
            client,
          }),
        );
      }
      client.destroy();
      await server.close();
      ({ server, client } = await serve());
      for (const i of [3, 2]) {
        sent.push(
          await sendPart('asm/restart.bin', uploadId, i + 1, parts[i], {
            client,
          }),
        );
      }
      client.destroy();
      await server.close();
      const assemblyInode = await inodeOf(assemblyPath(rootDir, uploadId));
      ({ server, client } = await serve());
      try {
        const done = await complete('asm/restart.bin', uploadId, sent, {
          client,
        });

        expect(done.ETag).toBe(multipartEtag(parts));
        expect(await readFile(stored('asm/restart.bin', rootDir))).toEqual(
          whole,
        );
        expect(await inodeOf(stored('asm/restart.bin', rootDir))).toBe(
          assemblyInode,
        );
      } finally {
        client.destroy();
        await server.close();
      }
    });

    it('never writes an assembly file that has a second link (a crash after commit)', async () => {
      const uploadId = await startUpload('asm/linked.bin');
      const sent = [
        await sendPart('asm/linked.bin', uploadId, 1, parts[0]),
        await sendPart('asm/linked.bin', uploadId, 2, parts[1]),
      ];
      const assembly = assemblyPath(endpoint.rootDir, uploadId);
      // What a crash between the object's commit and the upload's completion
      // leaves: the object file is a second name of the assembly file.
      const leftover = path.join(endpoint.rootDir, '.s3-tmp', 'leftover.bin');
      await link(assembly, leftover);
      const before = await readFile(leftover);

      sent.push(await sendPart('asm/linked.bin', uploadId, 3, parts[3]));
      await complete('asm/linked.bin', uploadId, sent);

      expect(before).toEqual(Buffer.concat(parts.slice(0, 2)));
      expect(await readFile(leftover)).toEqual(before);
      expect(await readFile(stored('asm/linked.bin'))).toEqual(
        Buffer.concat([parts[0], parts[1], parts[3]]),
      );
      expect(await inodeOf(stored('asm/linked.bin'))).not.toBe(
        await inodeOf(leftover),
      );
    });

    it('removes the assembly file and every part on abort', async () => {
      const uploadId = await startUpload('asm/aborted.bin');
      for (const [i, part] of parts.slice(0, 2).entries()) {
        await sendPart('asm/aborted.bin', uploadId, i + 1, part);
      }
      const uploadDir = path.join(endpoint.rootDir, '.s3-multipart', uploadId);
      const before = await readdir(uploadDir);

      await s3.send(
        new AbortMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'asm/aborted.bin',
          UploadId: uploadId,
        }),
      );

      expect(before).toContain('assembly.bin');
      expect(await sizeOf(uploadDir)).toBe(-1);
      expect(
        await failureOf(sendPart('asm/aborted.bin', uploadId, 3, parts[2])),
      ).toBe('NoSuchUpload');
    });
  });

  describe('on a file system without hard links', () => {
    let plain: TestEndpoint;
    let plainS3: S3Client;
    let failWith: string;
    let linkCalls: number;

    beforeEach(async () => {
      failWith = 'EPERM';
      linkCalls = 0;
      plain = await startTestEndpoint({
        minPartSize: MIN_PART,
        linkFile: async () => {
          linkCalls++;
          const error = new Error(`${failWith}: link`) as Error & {
            code: string;
          };
          error.code = failWith;
          throw error;
        },
      });
      addKey(plain, key);
      plainS3 = s3Client(plain, key);
    });

    afterEach(async () => {
      plainS3.destroy();
      await plain.close();
    });

    for (const code of ['EPERM', 'ENOTSUP']) {
      it(`copies the parts when linking fails with ${code}`, async () => {
        failWith = code;
        const objectKey = `asm/no-links-${code}.bin`;
        const uploadId = await startUpload(objectKey, 'CRC32', plainS3);
        const sent: CompletedPart[] = [];
        for (const [i, part] of parts.entries()) {
          sent.push(
            await sendPart(objectKey, uploadId, i + 1, part, {
              algorithm: 'CRC32',
              client: plainS3,
            }),
          );
        }
        const assemblyInode = await inodeOf(
          assemblyPath(plain.rootDir, uploadId),
        );

        const done = await complete(objectKey, uploadId, sent, {
          client: plainS3,
        });

        expect(linkCalls).toBe(1);
        expect(done.ETag).toBe(multipartEtag(parts));
        expect(await readFile(stored(objectKey, plain.rootDir))).toEqual(
          whole,
        );
        expect(await inodeOf(stored(objectKey, plain.rootDir))).not.toBe(
          assemblyInode,
        );
        expect(
          await readdir(path.join(plain.rootDir, '.s3-multipart', uploadId)),
        ).toEqual(['completed.json']);
        expect(await readdir(path.join(plain.rootDir, '.s3-tmp'))).toEqual([]);
        expect(plain.stored).toEqual([
          { bucket: BUCKET, key: objectKey, size: whole.length },
        ]);
      });
    }

    it('keeps every part when linking fails otherwise, and a second Complete succeeds', async () => {
      failWith = 'EIO';
      const objectKey = 'asm/link-error.bin';
      const uploadId = await startUpload(objectKey, undefined, plainS3);
      const sent: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        sent.push(
          await sendPart(objectKey, uploadId, i + 1, part, {
            client: plainS3,
          }),
        );
      }

      const refused = await failureOf(
        complete(objectKey, uploadId, sent, { client: plainS3 }),
      );
      expect(await sizeOf(stored(objectKey, plain.rootDir))).toBe(-1);
      expect(plain.stored).toEqual([]);
      const listed = await plainS3.send(
        new ListPartsCommand({
          Bucket: BUCKET,
          Key: objectKey,
          UploadId: uploadId,
        }),
      );

      failWith = 'EPERM';
      const done = await complete(objectKey, uploadId, sent, {
        client: plainS3,
      });

      expect(refused).toBe('InternalError');
      expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual(
        parts.map((part, i) => [i + 1, part.length]),
      );
      expect(done.ETag).toBe(multipartEtag(parts));
      expect(await readFile(stored(objectKey, plain.rootDir))).toEqual(whole);
    });
  });
});

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
