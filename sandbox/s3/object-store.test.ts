import { createHash } from 'node:crypto';
import {
  mkdtemp,
  readdir,
  readFile,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  ObjectConflictError,
  objectPath,
  ObjectStore,
  type NewObject,
} from './object-store.ts';

function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function newObject(
  key: string,
  etag: string,
  overrides: Partial<NewObject> = {},
): NewObject {
  return {
    bucket: 'b-1',
    key,
    etag,
    contentType: 'text/plain',
    userMetadata: {},
    checksums: {},
    ...overrides,
  };
}

describe('object-store', () => {
  let rootDir: string;

  beforeEach(async () => {
    rootDir = await mkdtemp(path.join(os.tmpdir(), 'gencove-object-store-'));
  });

  afterEach(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  describe('objectPath()', () => {
    it('maps a key with slashes to nested folders under rootDir/bucket', () => {
      expect(
        objectPath(
          rootDir,
          'uploads',
          'organization/o/user/u/uploads/x.fastq-r1',
        ),
      ).toBe(
        path.join(
          rootDir,
          'uploads',
          'organization',
          'o',
          'user',
          'u',
          'uploads',
          'x.fastq-r1',
        ),
      );
    });

    const unsafe = [
      '../escape',
      'a/../../b',
      'a//b',
      '/abs',
      'a/./b',
      'back\\slash',
      'nul\u0000',
      'trailing/',
      '',
    ];
    for (const key of unsafe) {
      it(`throws for the key ${JSON.stringify(key)}`, () => {
        expect(() => objectPath(rootDir, 'uploads', key)).toThrow(
          /cannot be stored/,
        );
      });
    }

    it('throws for a bucket name that could leave rootDir', () => {
      expect(() => objectPath(rootDir, '..', 'k')).toThrow(/Bucket name/);
    });
  });

  describe('ObjectStore', () => {
    it('commits a temp file and reports its metadata on head()', async () => {
      const store = new ObjectStore(rootDir);
      const temp = store.tempFile();
      await writeFile(temp, 'hello');

      const stored = await store.commit(
        'b-1',
        'dir/k.txt',
        temp,
        newObject('dir/k.txt', md5Hex('hello')),
      );
      const head = await store.head('b-1', 'dir/k.txt');

      expect(stored).toMatchObject({ size: 5, etag: md5Hex('hello') });
      expect(head).toEqual(stored);
      expect(
        await readFile(objectPath(rootDir, 'b-1', 'dir/k.txt'), 'utf8'),
      ).toBe('hello');
      expect(await readdir(store.tmpDir)).toEqual([]);
    });

    it('rebuilds the metadata of a file replaced behind its back', async () => {
      const store = new ObjectStore(rootDir);
      const temp = store.tempFile();
      await writeFile(temp, 'first');
      await store.commit('b-1', 'k', temp, newObject('k', md5Hex('first')));

      await writeFile(
        objectPath(rootDir, 'b-1', 'k'),
        'replaced by someone else',
      );
      const head = await store.head('b-1', 'k');

      expect(head).toMatchObject({
        size: 24,
        etag: md5Hex('replaced by someone else'),
      });
    });

    it('refuses a key that would need an existing object to be a folder', async () => {
      const store = new ObjectStore(rootDir);
      const first = store.tempFile();
      await writeFile(first, 'a');
      await store.commit('b-1', 'a', first, newObject('a', md5Hex('a')));
      const second = store.tempFile();
      await writeFile(second, 'b');

      await expect(
        store.commit('b-1', 'a/b', second, newObject('a/b', md5Hex('b'))),
      ).rejects.toThrow(ObjectConflictError);
      expect(await readdir(store.tmpDir)).toEqual([]);
    });

    it('does not replace an existing object under If-None-Match: *', async () => {
      const store = new ObjectStore(rootDir);
      const first = store.tempFile();
      await writeFile(first, 'one');
      await store.commit('b-1', 'k', first, newObject('k', md5Hex('one')));
      const second = store.tempFile();
      await writeFile(second, 'two');

      const result = await store.commit(
        'b-1',
        'k',
        second,
        newObject('k', md5Hex('two')),
        {
          ifNoneMatchAny: true,
        },
      );

      expect(result).toBe('exists');
      expect(await readFile(objectPath(rootDir, 'b-1', 'k'), 'utf8')).toBe(
        'one',
      );
      expect(await readdir(store.tmpDir)).toEqual([]);
    });

    it('keeps metadata and file in step under concurrent commits of one key', async () => {
      const store = new ObjectStore(rootDir);
      const bodies = Array.from({ length: 12 }, (_, i) =>
        `body number ${i} `.repeat(i + 1),
      );

      await Promise.all(
        bodies.map(async (body) => {
          const temp = store.tempFile();
          await writeFile(temp, body);
          await store.commit(
            'b-1',
            'hot',
            temp,
            newObject('hot', md5Hex(body)),
          );
        }),
      );
      const head = await store.head('b-1', 'hot');
      const onDisk = await readFile(objectPath(rootDir, 'b-1', 'hot'));

      expect(head?.etag).toBe(md5Hex(onDisk));
      expect(head?.size).toBe(onDisk.length);
    });

    it('removes temp files left idle by a crash when it starts, keeping fresh ones', async () => {
      const first = new ObjectStore(rootDir);
      const stale = first.tempFile();
      const fresh = first.tempFile();
      await writeFile(stale, 'old');
      await writeFile(fresh, 'new');
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
      await utimes(stale, twoHoursAgo, twoHoursAgo);

      const second = new ObjectStore(rootDir);

      expect(await readdir(second.tmpDir)).toEqual([path.basename(fresh)]);
    });

    it('deletes an object, its metadata and its emptied folders', async () => {
      const store = new ObjectStore(rootDir);
      store.ensureBucketFolders(['b-1']);
      const temp = store.tempFile();
      await writeFile(temp, 'x');
      await store.commit('b-1', 'a/b/c', temp, newObject('a/b/c', md5Hex('x')));

      await store.delete('b-1', 'a/b/c');
      await store.delete('b-1', 'never/there');

      expect(await store.head('b-1', 'a/b/c')).toBeUndefined();
      expect(await readdir(path.join(rootDir, 'b-1'))).toEqual([]);
    });
  });
});
