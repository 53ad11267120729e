import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from '../engine.ts';
import { CheckedParts } from './checkedParts.ts';
import type { ObjectFile } from './checkedParts.ts';
import { digestParts } from './checkedRead.ts';
import type { ChecksumAlgorithm, PartDigest } from './checkedRead.ts';
import {
  RefreshingCredentials,
  createUploadS3Client,
} from './credentials.ts';
import { digestPartSize } from './partSize.ts';
import { UploadStore } from './store.ts';
import {
  copyFixtures,
  getObjectBytes,
  startRecordingProxy,
  startWorld,
} from './testing.ts';
import type { TestWorld } from './testing.ts';

const MIB = 1024 * 1024;
const WHOLE_SECOND = new Date('2026-01-02T03:04:05Z');

async function expectedDigests(
  files: readonly ObjectFile[],
  partSize: number,
  algorithm: ChecksumAlgorithm,
): Promise<PartDigest[]> {
  async function* bytes(): AsyncGenerator<Buffer> {
    for (const f of files) yield readFileSync(f.path);
  }
  const out: PartDigest[] = [];
  for await (const d of digestParts(bytes(), partSize, algorithm)) out.push(d);
  return out;
}

/** Feeds the files to a tap the way the plan's check does. */
async function check(
  cache: CheckedParts,
  files: ObjectFile[],
  chunkBytes = 64 * 1024,
  ok = true,
): Promise<void> {
  const tap = await cache.tap(files);
  expect(tap).not.toBeNull();
  for (const f of files) {
    const data = readFileSync(f.path);
    for (let i = 0; i < data.length; i += chunkBytes) {
      tap!.update(data.subarray(i, i + chunkBytes));
    }
  }
  tap!.end(ok);
}

describe('CheckedParts', () => {
  let dir: string;
  let files: ObjectFile[];

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'checked-parts-'));
    files = ['a', 'b'].map((name, i) => {
      const file = path.join(dir, name);
      // 3 MiB + 5 and 2 MiB + 3: parts of 1 MiB straddle the file boundary.
      const data = Buffer.alloc((3 - i) * MIB + 5 - 2 * i, 97 + i);
      writeFileSync(file, data);
      return { path: file, size: data.length };
    });
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the part digests of the concatenation, as the upload would compute them', async () => {
    const cache = new CheckedParts({ minPartSize: MIB });
    await check(cache, files, 300_001);
    const size = files[0]!.size + files[1]!.size;
    const partSize = digestPartSize(size, MIB);

    const taken = await cache.take(files, partSize, 'CRC32');

    expect(partSize).toBe(MIB);
    expect(taken).toEqual(await expectedDigests(files, partSize, 'CRC32'));
    expect(taken).toHaveLength(6);
  });

  it('checks an object smaller than a part as one part, like a single PutObject', async () => {
    const cache = new CheckedParts({ minPartSize: 16 * MIB });
    await check(cache, files);
    const size = files[0]!.size + files[1]!.size;

    const taken = await cache.take(files, size, 'CRC32');

    expect(taken).toEqual(await expectedDigests(files, size, 'CRC32'));
    expect(taken).toHaveLength(1);
  });

  it('gives nothing for another part size, another algorithm, other files or another order', async () => {
    const cache = new CheckedParts({ minPartSize: MIB });
    await check(cache, files);

    expect(await cache.take(files, 2 * MIB, 'CRC32')).toBeNull();
    expect(await cache.take(files, MIB, 'SHA256')).toBeNull();
    expect(await cache.take([files[0]!], MIB, 'CRC32')).toBeNull();
    expect(await cache.take([files[1]!, files[0]!], MIB, 'CRC32')).toBeNull();
    expect(await cache.take(files, MIB, 'CRC32')).not.toBeNull();
  });

  it('gives nothing when the check failed or did not see every byte', async () => {
    const cache = new CheckedParts({ minPartSize: MIB });
    await check(cache, files, 64 * 1024, false);
    expect(await cache.take(files, MIB, 'CRC32')).toBeNull();

    const tap = await cache.tap(files);
    tap!.update(readFileSync(files[0]!.path));
    tap!.end(true);
    expect(await cache.take(files, MIB, 'CRC32')).toBeNull();
  });

  it('gives nothing once a file was modified after the check, and forgets it', async () => {
    const cache = new CheckedParts({ minPartSize: MIB });
    await check(cache, files);
    const before = statSync(files[1]!.path);
    utimesSync(files[1]!.path, before.atime, new Date(before.mtimeMs + 5_000));
    try {
      expect(await cache.take(files, MIB, 'CRC32')).toBeNull();
      utimesSync(files[1]!.path, before.atime, before.mtime);
      expect(await cache.take(files, MIB, 'CRC32')).toBeNull();
      expect(cache.size).toBe(0);
    } finally {
      utimesSync(files[1]!.path, before.atime, before.mtime);
    }
  });

  it('gives nothing for a file that is gone, and no tap when a file cannot be looked at', async () => {
    const cache = new CheckedParts({ minPartSize: MIB });
    const gone = { path: path.join(dir, 'gone'), size: 10 };
    writeFileSync(gone.path, Buffer.alloc(10));
    await check(cache, [gone]);
    rmSync(gone.path);

    expect(await cache.take([gone], 10, 'CRC32')).toBeNull();
    expect(await cache.tap([gone])).toBeNull();
  });

  it('forgets an object it was told to, and only that object', async () => {
    const small = new CheckedParts({ minPartSize: MIB });
    await check(small, files);
    await check(small, [files[0]!]);

    small.forget(files);

    expect(await small.take(files, MIB, 'CRC32')).toBeNull();
    expect(await small.take([files[0]!], MIB, 'CRC32')).not.toBeNull();
    expect(small.size).toBe(1);
  });

  it('keeps at most maxObjects objects, forgetting the oldest', async () => {
    const cache = new CheckedParts({ minPartSize: MIB, maxObjects: 1 });
    await check(cache, [files[0]!]);
    await check(cache, [files[1]!]);

    expect(cache.size).toBe(1);
    expect(await cache.take([files[0]!], MIB, 'CRC32')).toBeNull();
    expect(await cache.take([files[1]!], MIB, 'CRC32')).not.toBeNull();
  });
});

describe('an upload after the plan checked the files', () => {
  const LARGE_R1 =
    'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz';
  const LARGE_R2 =
    'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_2.fq.gz';
  let world: TestWorld;
  let s3: S3Client;
  let count = 0;

  beforeAll(async () => {
    world = await startWorld();
    ({ s3 } = await createUploadS3Client({
      credentials: new RefreshingCredentials(world.client),
    }));
  });

  afterAll(async () => {
    s3?.destroy();
    await world?.close();
  });

  /** Copies the large pair under Illumina names into a fresh folder. */
  function pairFolder(): { dir: string; r1: string; r2: string } {
    const dir = path.join(world.dir, `pair-${++count}`);
    const [a, b] = copyFixtures([LARGE_R1, LARGE_R2], dir);
    const r1 = path.join(dir, 'SEQPREP_S1_L001_R1_001.fastq.gz');
    const r2 = path.join(dir, 'SEQPREP_S1_L001_R2_001.fastq.gz');
    writeFileSync(r1, readFileSync(a!));
    writeFileSync(r2, readFileSync(b!));
    rmSync(a!);
    rmSync(b!);
    // A whole second, so that setting it again gives exactly the same time.
    utimesSync(r1, WHOLE_SECOND, WHOLE_SECOND);
    utimesSync(r2, WHOLE_SECOND, WHOLE_SECOND);
    return { dir, r1, r2 };
  }

  async function run(
    mutate: (files: { r1: string; r2: string }) => void = () => {},
    opts: { retry?: boolean } = {},
  ) {
    const folder = pairFolder();
    const proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
    const logs: string[] = [];
    const engine = new Engine({
      dataDir: path.join(folder.dir, 'engine'),
      client: world.client,
      // The sandbox, like S3, refuses parts under 5 MiB (but the last).
      partSize: 5 * MIB,
      s3Endpoint: proxy.url,
      log: (_level, message) => logs.push(message),
    });
    try {
      const plan = await engine.plan([folder.dir], {
        destination: `gncv://checked-${count}-${Date.now()}/`,
        verifyContents: true,
      });
      expect(plan.samples.map((s) => s.included)).toEqual([true]);
      mutate(folder);
      const id = engine.enqueueUpload(plan, {});
      const snap = await engine.waitFor(id);
      let retried = null;
      if (opts.retry) {
        engine.retry(id);
        retried = await engine.waitFor(id);
      }
      const objects = new UploadStore(engine.journal).listObjects(id);
      const parts = proxy.requests.filter((r) => r.query.has('partNumber'));
      return { snap, retried, objects, logs, parts, folder };
    } finally {
      await engine.close();
      await proxy.close();
    }
  }

  it('sends every part once with the checksums the plan computed and stores the exact bytes', async () => {
    const { snap, objects, logs, parts, folder } = await run();

    expect(snap.state).toBe('done');
    expect(
      logs.filter((m) => m.includes('content checked by the plan')),
    ).toHaveLength(2);
    expect(logs.some((m) => m.includes('checker thread'))).toBe(false);
    // 8.0 MB and 8.5 MB in 5 MiB parts: two parts each.
    expect(parts).toHaveLength(4);
    for (const [object, file] of [
      [objects[0]!, folder.r1],
      [objects[1]!, folder.r2],
    ] as const) {
      const stored = await getObjectBytes(s3, object.bucket!, object.key!);
      expect(stored.equals(readFileSync(file))).toBe(true);
    }
  });

  it('checks a file again in the stream when it was modified after the plan, and never completes it when it is now corrupt', async () => {
    const { snap, objects, logs } = await run(({ r1 }) => {
      // Same size, one byte flipped in the compressed data; a new mtime.
      const data = readFileSync(r1);
      data[Math.floor(data.length / 2)]! ^= 0xff;
      writeFileSync(r1, data);
      const st = statSync(r1);
      utimesSync(r1, st.atime, new Date(st.mtimeMs + 2_000));
    });

    expect(snap.state).toBe('failed');
    expect(snap.error?.code).toBe('invalid-fastq');
    expect(snap.error?.message).toContain('SEQPREP_S1_L001_R1_001.fastq.gz');
    expect(
      logs.filter((m) => m.includes('content checked by the plan')),
    ).toHaveLength(1);
    const [o1, o2] = objects;
    expect(o1!.state).toBe('failed');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: o1!.bucket!, Key: o1!.key! })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect(o2!.state).toBe('done');
  });

  it('never completes an object whose bytes changed behind an unchanged size and mtime: S3 refuses the part', async () => {
    const { snap, retried, objects, parts, logs } = await run(
      ({ r1 }) => {
        const data = readFileSync(r1);
        data[100]! ^= 0xff;
        writeFileSync(r1, data);
        utimesSync(r1, WHOLE_SECOND, WHOLE_SECOND);
      },
      { retry: true },
    );

    expect(snap.state).toBe('failed');
    const o1 = objects.find((o) => o.destination.endsWith('_R1.fastq.gz'))!;
    expect(o1.state).not.toBe('done');
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: o1.bucket!, Key: o1.key! })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect(snap.error?.code).toBe('local-file');
    expect(snap.error?.message).toMatch(
      /^The bytes of SEQPREP_S1_L001_R1_001\.fastq\.gz \(UploadPart 1 of SEQPREP_R1\.fastq\.gz\) changed between the content check and the upload/,
    );
    expect(parts.some((r) => r.status === 400)).toBe(true);
    // A retry no longer trusts the plan's checksums: it checks the bytes,
    // which are now damaged gzip, and names the file.
    expect(retried?.state).toBe('failed');
    expect(retried?.error?.code).toBe('invalid-fastq');
    expect(retried?.error?.message).toContain('SEQPREP_S1_L001_R1_001.fastq.gz');
    expect(
      logs.filter((m) => m.includes('content checked by the plan')),
    ).toHaveLength(2);
  });
});
