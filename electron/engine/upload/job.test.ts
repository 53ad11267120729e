import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Journal } from '../journal/journal.ts';
import {
  RefreshingCredentials,
  createUploadS3Client,
} from './credentials.ts';
import { plannedObjects, runUploadJob } from './job.ts';
import { UploadStore } from './store.ts';
import {
  copyFixtures,
  getObjectBytes,
  planFor,
  startRecordingProxy,
  startWorld,
} from './testing.ts';
import type { ProxiedRequest, TestWorld } from './testing.ts';

let world: TestWorld;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world?.close();
});

const isComplete = (r: ProxiedRequest) =>
  r.method === 'POST' && r.query.has('uploadId');
const isPart = (r: ProxiedRequest) =>
  r.method === 'PUT' && r.query.has('partNumber');

describe('runUploadJob()', () => {
  it('starts the next file while S3 is still completing the previous one', async () => {
    const dir = path.join(world.dir, 'overlap');
    const [r1, r2] = copyFixtures(
      [
        'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_1.fq.gz',
        'fastq/large_pair/seqprep_hiseq2000/multiplex_bad_contam_2.fq.gz',
      ],
      dir,
    );
    const plan = planFor('gncv://job-overlap/', [
      { clientId: 'SEQPREP', r1: [r1!], r2: [r2!] },
    ]);
    const journal = Journal.open(path.join(dir, 'journal.db'));
    const store = new UploadStore(journal);
    const jobId = 'job-overlap';
    journal.createJob({ id: jobId, kind: 'upload', title: 't', request: {} });
    store.addObjects(
      jobId,
      plannedObjects(plan).map((o) => ({
        destination: o.read.destination,
        clientId: o.clientId,
        read: o.read.read,
        size: o.read.size,
      })),
    );
    const proxy = await startRecordingProxy(world.sandbox.info.s3_endpoint);
    const credentials = new RefreshingCredentials(world.client);
    const { s3, checksumAlgorithm } = await createUploadS3Client({
      credentials,
      endpoint: proxy.url,
      env: {},
    });
    // Completions answer late; note whether a part of another object went
    // out while the first completion was still unanswered.
    let firstComplete: ProxiedRequest | null = null;
    let isOverlapSeen = false;
    proxy.hook = (req) => {
      if (isComplete(req)) {
        firstComplete ??= req;
        return { kind: 'forward', delayMs: 800 };
      }
      if (
        isPart(req) &&
        firstComplete !== null &&
        firstComplete.status === null &&
        req.path !== firstComplete.path
      ) {
        isOverlapSeen = true;
      }
      return { kind: 'forward' };
    };
    const states: string[] = [];

    try {
      await runUploadJob({
        jobId,
        request: { plan },
        client: world.client,
        store,
        getS3: async () => ({ s3, credentials, checksumAlgorithm }),
        signal: new AbortController().signal,
        fileConcurrency: 1,
        // The sandbox, like S3, refuses parts under 5 MiB (but the last).
        partSize: 5 * 1024 * 1024,
        partConcurrency: 2,
        events: {
          onObjectState: (destination, state) => {
            states.push(`${path.basename(destination)}:${state}`);
          },
          onBytes: () => {},
        },
      });
      const objects = store.listObjects(jobId);

      expect(isOverlapSeen).toBe(true);
      expect(objects.map((o) => o.state)).toEqual(['done', 'done']);
      expect(states.filter((s) => s.endsWith(':done')).sort()).toEqual([
        'SEQPREP_R1.fastq.gz:done',
        'SEQPREP_R2.fastq.gz:done',
      ]);
      for (const [object, file] of [
        [objects[0]!, r1!],
        [objects[1]!, r2!],
      ] as const) {
        const stored = await getObjectBytes(s3, object.bucket!, object.key!);
        expect(stored.equals(readFileSync(file))).toBe(true);
      }
      expect(proxy.requests.filter(isComplete)).toHaveLength(2);
    } finally {
      s3.destroy();
      await proxy.close();
      journal.close();
    }
  });
});
