/**
 * Breaking the upload's reuse of the plan's content check (CheckedParts):
 * files changed between the plan and the upload must never become a
 * completed object with bytes other than those checked, and the failure
 * must name the local file that changed. Real sandbox on loopback, real
 * copies of ../shared/data in temp folders, the Engine API.
 */
import {
  copyFileSync,
  readFileSync,
  renameSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import path from 'node:path';

import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from '../../electron/engine/engine.ts';
import {
  RefreshingCredentials,
  createUploadS3Client,
} from '../../electron/engine/upload/credentials.ts';
import { UploadStore } from '../../electron/engine/upload/store.ts';
import {
  getObjectBytes,
  startWorld,
} from '../../electron/engine/upload/testing.ts';
import type { TestWorld } from '../../electron/engine/upload/testing.ts';
import { sharedData } from '../helpers.ts';

const MIB = 1024 * 1024;
const SECOND = new Date('2026-01-02T03:04:05Z');
const NEXTSEQ =
  'runs/180723_NB500892_0277_AHJYM2BGX7/Data/Intensities/BaseCalls/B3910';
const BIG_1 = 'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz';
const BIG_2 = 'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_2.fq.gz';

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

/** Copies files of ../shared/data into a fresh folder under new names. */
function folderOf(files: Record<string, string>): string {
  const dir = path.join(world.dir, `in-${++count}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, source] of Object.entries(files)) {
    const target = path.join(dir, name);
    copyFileSync(path.join(sharedData, source), target);
    utimesSync(target, SECOND, SECOND);
  }
  return dir;
}

/** The four lanes of NextSeq sample CTR_5 (both reads), a lane-split sample. */
function laneSplitFolder(): string {
  const files: Record<string, string> = {};
  for (const lane of [1, 2, 3, 4]) {
    for (const read of [1, 2]) {
      const name = `CTR_5_S11_L00${lane}_R${read}_001.fastq.gz`;
      files[name] = `${NEXTSEQ}/${name}`;
    }
  }
  return folderOf(files);
}

/** A two-lane sample of the large pair: objects of several 5 MiB parts. */
function bigLaneFolder(): string {
  return folderOf({
    'BIG_S1_L001_R1_001.fastq.gz': BIG_1,
    'BIG_S1_L002_R1_001.fastq.gz': BIG_1,
    'BIG_S1_L001_R2_001.fastq.gz': BIG_2,
    'BIG_S1_L002_R2_001.fastq.gz': BIG_2,
  });
}

/** Flips one byte at `at` (a fraction of the size), keeping size and mtime. */
function flipKeepingTime(file: string, at: number): void {
  const data = readFileSync(file);
  data[Math.floor(data.length * at)]! ^= 0x5a;
  writeFileSync(file, data);
  utimesSync(file, SECOND, SECOND);
}

async function planAndUpload(
  dir: string,
  mutate: () => void,
  opts: { verifyContents?: boolean } = {},
) {
  const logs: string[] = [];
  const engine = new Engine({
    dataDir: path.join(dir, '..', `engine-${count}`),
    client: world.client,
    partSize: 5 * MIB,
    log: (_level, message) => logs.push(message),
  });
  try {
    const plan = await engine.plan([dir], {
      destination: `gncv://breaker-${count}-${Date.now()}/`,
      verifyContents: opts.verifyContents ?? true,
    });
    expect(plan.samples.filter((s) => s.included)).toHaveLength(1);
    mutate();
    const id = engine.enqueueUpload(plan, {});
    const snap = await engine.waitFor(id);
    const objects = new UploadStore(engine.journal).listObjects(id);
    return { snap, objects, logs };
  } finally {
    await engine.close();
  }
}

/** Whether the object exists in the sandbox's S3. */
async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

/** Each completed object holds exactly its local files' current bytes. */
async function expectDoneObjectsMatch(
  objects: { state: string; bucket: string | null; key: string | null; destination: string }[],
  dir: string,
  read: (destination: string) => string[],
): Promise<void> {
  for (const object of objects) {
    if (object.state !== 'done') {
      expect(await exists(object.bucket!, object.key!)).toBe(false);
      continue;
    }
    const stored = await getObjectBytes(s3, object.bucket!, object.key!);
    const local = Buffer.concat(
      read(object.destination).map((f) => readFileSync(path.join(dir, f))),
    );
    expect(stored.equals(local)).toBe(true);
  }
}

function ctr5(destination: string): string[] {
  const read = destination.endsWith('_R1.fastq.gz') ? 1 : 2;
  return [1, 2, 3, 4].map((l) => `CTR_5_S11_L00${l}_R${read}_001.fastq.gz`);
}

function big(destination: string): string[] {
  const read = destination.endsWith('_R1.fastq.gz') ? 1 : 2;
  return [1, 2].map((l) => `BIG_S1_L00${l}_R${read}_001.fastq.gz`);
}

describe('lane-split sample changed after the plan', () => {
  it('uploads unchanged lane-split files from the plan check, byte-exact', async () => {
    const dir = laneSplitFolder();
    const { snap, objects, logs } = await planAndUpload(dir, () => {});
    expect(snap.state).toBe('done');
    expect(logs.filter((m) => m.includes('content checked by the plan')))
      .toHaveLength(2);
    expect(objects.map((o) => o.state)).toEqual(['done', 'done']);
    await expectDoneObjectsMatch(objects, dir, ctr5);
  });

  it('names the changed lane file when lane 3 changed behind the same size and mtime (single PutObject)', async () => {
    const dir = laneSplitFolder();
    const changed = 'CTR_5_S11_L003_R1_001.fastq.gz';
    const { snap, objects } = await planAndUpload(dir, () =>
      flipKeepingTime(path.join(dir, changed), 0.5),
    );
    expect(snap.state).toBe('failed');
    await expectDoneObjectsMatch(objects, dir, ctr5);
    const r1 = objects.find((o) => o.destination.endsWith('_R1.fastq.gz'))!;
    expect(r1.state).not.toBe('done');
    // The user must learn which local file changed, not only the object.
    expect(snap.error?.message).toContain(changed);
  });

  it('never completes a lane file replaced by a truncated copy (new size)', async () => {
    const dir = laneSplitFolder();
    const changed = path.join(dir, 'CTR_5_S11_L002_R2_001.fastq.gz');
    const { snap, objects } = await planAndUpload(dir, () => {
      const data = readFileSync(changed);
      writeFileSync(changed, data.subarray(0, Math.floor(data.length * 0.6)));
    });
    expect(snap.state).toBe('failed');
    expect(snap.error?.message).toContain('CTR_5_S11_L002_R2_001.fastq.gz');
    await expectDoneObjectsMatch(objects, dir, ctr5);
    const r2 = objects.find((o) => o.destination.endsWith('_R2.fastq.gz'))!;
    expect(r2.state).not.toBe('done');
  });

  it('never completes a lane file replaced by a corrupt file of ../shared/data', async () => {
    const dir = laneSplitFolder();
    const changed = path.join(dir, 'CTR_5_S11_L004_R1_001.fastq.gz');
    const { snap, objects } = await planAndUpload(dir, () => {
      copyFileSync(
        path.join(sharedData, 'corrupt/BADCRC_R1.fastq.gz'),
        changed,
      );
    });
    expect(snap.state).toBe('failed');
    expect(snap.error?.message).toContain('CTR_5_S11_L004_R1_001.fastq.gz');
    await expectDoneObjectsMatch(objects, dir, ctr5);
  });

  it('fails naming a lane file deleted or renamed after the plan', async () => {
    const dir = laneSplitFolder();
    const gone = path.join(dir, 'CTR_5_S11_L001_R2_001.fastq.gz');
    const moved = path.join(dir, 'CTR_5_S11_L003_R1_001.fastq.gz');
    const { snap, objects } = await planAndUpload(dir, () => {
      unlinkSync(gone);
      renameSync(moved, `${moved}.bak`);
    });
    expect(snap.state).toBe('failed');
    expect(objects.every((o) => o.state !== 'done')).toBe(true);
    for (const o of objects) {
      expect(await exists(o.bucket!, o.key!)).toBe(false);
    }
    expect(snap.error?.message).toMatch(
      /CTR_5_S11_L001_R2_001\.fastq\.gz|CTR_5_S11_L003_R1_001\.fastq\.gz/,
    );
  });

  it('never completes the other bytes when a symlinked lane file is swapped to a same-size file with the same mtime', async () => {
    const dir = laneSplitFolder();
    const link = path.join(dir, 'CTR_5_S11_L002_R1_001.fastq.gz');
    const real = path.join(dir, '..', `real-${count}.fastq.gz`);
    const other = path.join(dir, '..', `other-${count}.fastq.gz`);
    renameSync(link, real);
    symlinkSync(real, link);
    const { snap, objects } = await planAndUpload(dir, () => {
      const data = readFileSync(real);
      data[data.length - 30]! ^= 0x01;
      writeFileSync(other, data);
      utimesSync(other, SECOND, SECOND);
      unlinkSync(link);
      symlinkSync(other, link);
    });
    expect(snap.state).toBe('failed');
    await expectDoneObjectsMatch(objects, dir, ctr5);
    const r1 = objects.find((o) => o.destination.endsWith('_R1.fastq.gz'))!;
    expect(r1.state).not.toBe('done');
  });
});

describe('multipart object of two lanes changed after the plan', () => {
  it('names the changed second-lane file when its bytes change behind the same size and mtime', async () => {
    const dir = bigLaneFolder();
    const changed = 'BIG_S1_L002_R1_001.fastq.gz';
    const { snap, objects } = await planAndUpload(dir, () =>
      flipKeepingTime(path.join(dir, changed), 0.7),
    );
    expect(snap.state).toBe('failed');
    await expectDoneObjectsMatch(objects, dir, big);
    const r1 = objects.find((o) => o.destination.endsWith('_R1.fastq.gz'))!;
    expect(r1.state).not.toBe('done');
    expect(snap.error?.message).toContain(changed);
  });

  it('with --no-verify, a second-lane file made corrupt before the upload is never completed', async () => {
    const dir = bigLaneFolder();
    const changed = path.join(dir, 'BIG_S1_L002_R2_001.fastq.gz');
    const { snap, objects, logs } = await planAndUpload(
      dir,
      () => flipKeepingTime(changed, 0.5),
      { verifyContents: false },
    );
    expect(logs.some((m) => m.includes('content checked by the plan'))).toBe(
      false,
    );
    expect(snap.state).toBe('failed');
    expect(snap.error?.message).toContain('BIG_S1_L002_R2_001.fastq.gz');
    await expectDoneObjectsMatch(objects, dir, big);
    const r2 = objects.find((o) => o.destination.endsWith('_R2.fastq.gz'))!;
    expect(r2.state).not.toBe('done');
  });
});
