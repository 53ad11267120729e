/**
 * Breaking the sandbox S3 endpoint's in-place multipart assembly with the
 * real AWS SDK: whatever the order, sizes, re-sends, aborts and restarts,
 * a completed object is exactly the chosen parts in order. Part of it runs
 * the sandbox as a child process and SIGKILLs it mid-upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { CompletedPart } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  addKey,
  makeTestKey,
  s3Client,
  startTestEndpoint,
} from '../../sandbox/s3/testing.ts';
import type { TestEndpoint } from '../../sandbox/s3/testing.ts';
import { makeTempDir, startSandboxProcess } from '../helpers.ts';
import type { SandboxProcess } from '../helpers.ts';

const BUCKET = 'test-bucket';
const MIN = 64 * 1024;

let endpoint: TestEndpoint;
let s3: S3Client;
let n = 0;

beforeAll(async () => {
  endpoint = await startTestEndpoint({ minPartSize: MIN });
  const key = makeTestKey();
  addKey(endpoint, key);
  s3 = s3Client(endpoint, key);
});

afterAll(async () => {
  s3?.destroy();
  await endpoint?.close();
});

async function open(client: S3Client, bucket: string, key: string) {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
  );
  return UploadId!;
}

async function part(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
  number: number,
  body: Buffer,
): Promise<CompletedPart> {
  const { ETag } = await client.send(
    new UploadPartCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: number,
      Body: body,
      ContentLength: body.length,
    }),
  );
  return { PartNumber: number, ETag: ETag! };
}

async function complete(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
  parts: CompletedPart[],
) {
  return client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

async function getBytes(
  client: S3Client,
  bucket: string,
  key: string,
  range?: string,
): Promise<Buffer> {
  const answer = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }),
  );
  return Buffer.from(await answer.Body!.transformToByteArray());
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Checks the whole object, a Range at its end, and HeadObject's size. */
async function expectObject(
  client: S3Client,
  bucket: string,
  key: string,
  expected: Buffer,
): Promise<void> {
  const whole = await getBytes(client, bucket, key);
  expect(whole.length).toBe(expected.length);
  expect(sha(whole)).toBe(sha(expected));
  const from = expected.length - 1000;
  const tail = await getBytes(client, bucket, key, `bytes=${from}-`);
  expect(tail.equals(expected.subarray(from))).toBe(true);
  const mid = await getBytes(client, bucket, key, 'bytes=65530-65545');
  expect(mid.equals(expected.subarray(65530, 65546))).toBe(true);
  const head = await client.send(
    new HeadObjectCommand({ Bucket: bucket, Key: key }),
  );
  expect(head.ContentLength).toBe(expected.length);
}

describe('sandbox S3 multipart assembly, in process', () => {
  it('keeps parts of different sizes sent out of order, the short one first', async () => {
    const key = `mixed-${++n}`;
    const id = await open(s3, BUCKET, key);
    const p1 = randomBytes(MIN * 2);
    const p2 = randomBytes(MIN);
    const p3 = randomBytes(MIN * 3);
    const p4 = randomBytes(1234);
    const e4 = await part(s3, BUCKET, key, id, 4, p4);
    const e2 = await part(s3, BUCKET, key, id, 2, p2);
    const e3 = await part(s3, BUCKET, key, id, 3, p3);
    const e1 = await part(s3, BUCKET, key, id, 1, p1);
    await complete(s3, BUCKET, key, id, [e1, e2, e3, e4]);
    await expectObject(s3, BUCKET, key, Buffer.concat([p1, p2, p3, p4]));
  });

  it('keeps a shorter middle part written in place after a full-stride first part', async () => {
    const key = `short-middle-${++n}`;
    const id = await open(s3, BUCKET, key);
    const p1 = randomBytes(MIN * 2);
    const p2 = randomBytes(MIN + 17);
    const p3 = randomBytes(MIN * 2);
    const e1 = await part(s3, BUCKET, key, id, 1, p1);
    const e3 = await part(s3, BUCKET, key, id, 3, p3);
    const e2 = await part(s3, BUCKET, key, id, 2, p2);
    await complete(s3, BUCKET, key, id, [e1, e2, e3]);
    await expectObject(s3, BUCKET, key, Buffer.concat([p1, p2, p3]));
  });

  it('refuses wrong order, wrong ETag and unknown parts, then completes the right subset intact', async () => {
    const key = `refusals-${++n}`;
    const id = await open(s3, BUCKET, key);
    const parts = [1, 2, 3, 4].map(() => randomBytes(MIN));
    const etags: CompletedPart[] = [];
    for (const [i, p] of parts.entries()) {
      etags.push(await part(s3, BUCKET, key, id, i + 1, p));
    }
    await expect(
      complete(s3, BUCKET, key, id, [etags[1]!, etags[0]!]),
    ).rejects.toMatchObject({ name: 'InvalidPartOrder' });
    await expect(
      complete(s3, BUCKET, key, id, [
        etags[0]!,
        { PartNumber: 2, ETag: etags[2]!.ETag },
      ]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await expect(
      complete(s3, BUCKET, key, id, [etags[0]!, { PartNumber: 9, ETag: etags[0]!.ETag }]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    // A part re-sent with other bytes replaces the first one.
    const p2b = randomBytes(MIN);
    const e2b = await part(s3, BUCKET, key, id, 2, p2b);
    await expect(
      complete(s3, BUCKET, key, id, [etags[0]!, etags[1]!]),
    ).rejects.toMatchObject({ name: 'InvalidPart' });
    await complete(s3, BUCKET, key, id, [etags[0]!, e2b, etags[2]!]);
    await expectObject(
      s3,
      BUCKET,
      key,
      Buffer.concat([parts[0]!, p2b, parts[2]!]),
    );
    // Complete again: same answer; another list: no such upload.
    const again = await complete(s3, BUCKET, key, id, [
      etags[0]!,
      e2b,
      etags[2]!,
    ]);
    expect(again.Key).toBe(key);
    await expect(
      complete(s3, BUCKET, key, id, [etags[0]!, e2b, etags[2]!, etags[3]!]),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expectObject(
      s3,
      BUCKET,
      key,
      Buffer.concat([parts[0]!, p2b, parts[2]!]),
    );
  });

  it('keeps the object intact when a second upload to the same key completes in place', async () => {
    const key = `two-uploads-${++n}`;
    const a = await open(s3, BUCKET, key);
    const b = await open(s3, BUCKET, key);
    const pa = [randomBytes(MIN), randomBytes(100)];
    const pb = [randomBytes(MIN), randomBytes(200)];
    const ea = [
      await part(s3, BUCKET, key, a, 1, pa[0]!),
      await part(s3, BUCKET, key, a, 2, pa[1]!),
    ];
    const eb = [
      await part(s3, BUCKET, key, b, 1, pb[0]!),
      await part(s3, BUCKET, key, b, 2, pb[1]!),
    ];
    await complete(s3, BUCKET, key, a, ea);
    await expectObject(s3, BUCKET, key, Buffer.concat(pa));
    // The first object's file must not be the second upload's assembly.
    await complete(s3, BUCKET, key, b, eb);
    await expectObject(s3, BUCKET, key, Buffer.concat(pb));
  });

  it('fails a part whose upload is aborted while its body is still arriving, and leaves no object', async () => {
    const key = `abort-mid-${++n}`;
    const id = await open(s3, BUCKET, key);
    const p1 = randomBytes(MIN);
    await part(s3, BUCKET, key, id, 1, p1);
    const body = randomBytes(MIN * 4);
    // Sends the body in two halves with a pause, so Abort lands in between.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { Readable } = await import('node:stream');
    const slow = Readable.from(
      (async function* () {
        yield body.subarray(0, MIN * 2);
        await gate;
        yield body.subarray(MIN * 2);
      })(),
    );
    const sending = s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: id,
        PartNumber: 2,
        Body: slow,
        ContentLength: body.length,
      }),
    );
    const settled = sending.then(
      () => 'ok',
      (e: { name?: string }) => e.name ?? 'error',
    );
    await new Promise((r) => setTimeout(r, 150));
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id }),
    );
    release();
    expect(await settled).not.toBe('ok');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    await expect(
      s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(
      fs.existsSync(path.join(endpoint.rootDir, '.s3-multipart', id)),
    ).toBe(false);
  });
});

/** Platform credentials and an upload slot from a sandbox process. */
async function slotOf(sandbox: SandboxProcess, destination: string) {
  const call = async (p: string, body: unknown) => {
    const res = await fetch(`${sandbox.info.api_url}${p}`, {
      method: 'POST',
      headers: {
        Authorization: `Api-Key ${sandbox.info.api_key}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as Record<string, any>;
  };
  const slot = await call('/api/v2/uploads-post-data/', {
    destination_path: destination,
  });
  const creds = await call('/api/v2/upload-credentials/', {});
  return { slot, creds };
}

function clientFor(creds: Record<string, any>, endpointUrl: string): S3Client {
  return new S3Client({
    endpoint: endpointUrl,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: {
      accessKeyId: creds.access_key,
      secretAccessKey: creds.secret_key,
      sessionToken: creds.token,
    },
  });
}

describe('sandbox process SIGKILLed mid-upload', () => {
  let dir: string;
  let sandbox: SandboxProcess | undefined;

  beforeAll(() => {
    dir = makeTempDir('breaker-s3kill');
  });

  afterAll(async () => {
    await sandbox?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('continues the same upload after a restart, and the object is exactly the chosen parts', async () => {
    const data = path.join(dir, 'data');
    sandbox = await startSandboxProcess(data);
    const { slot, creds } = await slotOf(sandbox, 'gncv://breaker-kill/K_R1.fastq.gz');
    const bucket: string = slot.s3.bucket;
    const key: string = slot.s3.object_name;
    const MIB = 1024 * 1024;
    const parts = [randomBytes(5 * MIB), randomBytes(5 * MIB), randomBytes(5 * MIB), randomBytes(777)];
    let client = clientFor(creds, sandbox.info.s3_endpoint);
    const id = await open(client, bucket, key);
    const e1 = await part(client, bucket, key, id, 1, parts[0]!);
    const e3 = await part(client, bucket, key, id, 3, parts[2]!);

    // Part 2 (signed, by the SDK) is half sent when the server dies.
    const { Readable } = await import('node:stream');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const halfSent = client
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 2,
          ContentLength: parts[1]!.length,
          Body: Readable.from(
            (async function* () {
              yield parts[1]!.subarray(0, 3 * MIB);
              await gate;
              yield parts[1]!.subarray(3 * MIB);
            })(),
          ),
        }),
      )
      .then(
        () => 'ok',
        () => 'failed',
      );
    const assembly = path.join(data, 'objects', 's3', '.s3-multipart', id, 'assembly.bin');
    const deadline = Date.now() + 10_000;
    // Waits until some bytes of part 2 reached the assembly file.
    while (Date.now() < deadline) {
      // Parts 1 and 3 hold 10 MiB; more allocated means part 2 arrived.
      const used = fs.existsSync(assembly) ? fs.statSync(assembly).blocks * 512 : 0;
      if (used > 11 * MIB) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.statSync(assembly).blocks * 512).toBeGreaterThan(11 * MIB);
    sandbox.child.kill('SIGKILL');
    await new Promise((r) => sandbox!.child.once('close', r));
    release();
    expect(await halfSent).toBe('failed');

    sandbox = await startSandboxProcess(data);
    client.destroy();
    client = clientFor(creds, sandbox.info.s3_endpoint);
    const listed = await client.send(
      new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }),
    );
    expect((listed.Parts ?? []).map((p) => p.PartNumber)).toEqual([1, 3]);
    const e2 = await part(client, bucket, key, id, 2, parts[1]!);
    const e4 = await part(client, bucket, key, id, 4, parts[3]!);
    await complete(client, bucket, key, id, [e1, e2, e3, e4]);
    await expectObject(client, bucket, key, Buffer.concat(parts));
    client.destroy();
  });
});

