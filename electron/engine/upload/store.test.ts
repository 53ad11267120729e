import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Journal } from '../journal/journal.ts';
import { UploadStore } from './store.ts';

describe('UploadStore', () => {
  let dir: string;
  let journal: Journal;
  let store: UploadStore;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'upload-store-'));
    journal = Journal.open(path.join(dir, 'journal.db'));
    store = new UploadStore(journal);
    journal.createJob({ id: 'j', kind: 'upload', title: 't', request: {} });
    store.addObjects('j', [
      {
        destination: 'gncv://f/A_R1.fastq.gz',
        clientId: 'A',
        read: 'R1',
        size: 100,
      },
      {
        destination: 'gncv://f/A_R2.fastq.gz',
        clientId: 'A',
        read: 'R2',
        size: 90,
      },
    ]);
  });

  afterEach(() => {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('updateObject()', () => {
    it('keeps parts of the same multipart upload and drops them when it changes', () => {
      const dest = 'gncv://f/A_R1.fastq.gz';
      store.updateObject('j', dest, {
        multipartId: 'm1',
        partSize: 50,
        checksumAlgorithm: 'CRC32',
        state: 'uploading',
      });
      store.recordPart('j', dest, 'm1', {
        number: 1,
        size: 50,
        checksum: 'qg==',
        etag: '"e1"',
      });
      store.updateObject('j', dest, { state: 'completing' });
      const kept = store.listParts('j', dest, 'm1');

      store.updateObject('j', dest, { multipartId: 'm2' });

      expect(kept).toEqual([
        { number: 1, size: 50, checksum: 'qg==', etag: '"e1"' },
      ]);
      expect(store.listParts('j', dest, 'm1')).toEqual([]);
      expect(store.getObject('j', dest)).toMatchObject({
        multipartId: 'm2',
        partSize: 50,
        checksumAlgorithm: 'CRC32',
        state: 'completing',
      });
    });

    it('reads a multipart upload journaled before checksums had their own columns as SHA-256', () => {
      const dest = 'gncv://f/A_R1.fastq.gz';
      const sha256 = 'ab'.repeat(32);
      journal.db
        .prepare(
          `UPDATE upload_objects SET multipart_id = 'm0', part_size = 50
           WHERE job_id = 'j' AND destination = ?`,
        )
        .run(dest);
      journal.db
        .prepare(
          `INSERT INTO upload_parts
             (job_id, destination, multipart_id, number, size, sha256, etag, created_at)
           VALUES ('j', ?, 'm0', 1, 50, ?, '"e0"', '2025-01-01T00:00:00Z')`,
        )
        .run(dest, sha256);

      const object = store.getObject('j', dest);
      const parts = store.listParts('j', dest, 'm0');

      expect(object?.checksumAlgorithm).toBe('SHA256');
      expect(parts).toEqual([
        {
          number: 1,
          size: 50,
          checksum: Buffer.from(sha256, 'hex').toString('base64'),
          etag: '"e0"',
        },
      ]);
    });

    it('survives a reopen of the journal', () => {
      const dest = 'gncv://f/A_R2.fastq.gz';
      store.updateObject('j', dest, {
        uploadId: 'u',
        bucket: 'b',
        key: 'k',
        state: 'done',
      });
      journal.close();

      journal = Journal.open(path.join(dir, 'journal.db'));
      store = new UploadStore(journal);

      expect(
        store.listObjects('j').map((o) => [o.destination, o.state, o.key]),
      ).toEqual([
        ['gncv://f/A_R1.fastq.gz', 'pending', null],
        ['gncv://f/A_R2.fastq.gz', 'done', 'k'],
      ]);
    });

    it('throws naming the object when it does not exist', () => {
      expect(() =>
        store.updateObject('j', 'gncv://f/nope', { state: 'done' }),
      ).toThrow(/gncv:\/\/f\/nope/);
    });
  });

  describe('assignment batches', () => {
    it('records sending then sent, and refuses "sent" for an unknown batch', () => {
      store.markBatchSending('j', 0, [{ client_id: 'A' }]);
      const sending = store.listBatches('j');
      store.markBatchSent('j', 0, {
        uploads: [{ client_id: 'A', sample: 's' }],
      });

      expect(sending.map((b) => b.state)).toEqual(['sending']);
      expect(store.listBatches('j')).toMatchObject([
        {
          batchIndex: 0,
          state: 'sent',
          rows: [{ client_id: 'A' }],
          response: { uploads: [{ client_id: 'A', sample: 's' }] },
        },
      ]);
      expect(() => store.markBatchSent('j', 5, {})).toThrow(/batch 5/);
    });
  });
});
