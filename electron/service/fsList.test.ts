import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { listDirectory } from './fsList.ts';
import { ServiceError } from './serviceError.ts';

describe('listDirectory()', () => {
  let root: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'fslist-'));
    await fs.mkdir(path.join(root, 'run10'));
    await fs.mkdir(path.join(root, 'run2'));
    await fs.mkdir(path.join(root, 'Alpha'));
    await fs.mkdir(path.join(root, '.hidden-dir'));
    await fs.writeFile(path.join(root, 'b_R1.fastq.gz'), 'x'.repeat(7));
    await fs.writeFile(path.join(root, 'A_R1.fastq.gz'), 'abc');
    await fs.writeFile(path.join(root, '.DS_Store'), '');
    await fs.symlink(path.join(root, 'run2'), path.join(root, 'link-to-run2'));
    await fs.symlink(
      path.join(root, 'missing'),
      path.join(root, 'broken-link'),
    );
  });

  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('lists dirs first, then files, in natural case-insensitive order, hiding dot files', async () => {
    const listing = await listDirectory(root);

    expect(listing.path).toBe(root);
    expect(listing.parent).toBe(path.dirname(root));
    expect(listing.entries.map((e) => [e.kind, e.name])).toEqual([
      ['dir', 'Alpha'],
      ['dir', 'link-to-run2'],
      ['dir', 'run2'],
      ['dir', 'run10'],
      ['file', 'A_R1.fastq.gz'],
      ['file', 'b_R1.fastq.gz'],
    ]);
  });

  it('gives absolute paths, file sizes, and null sizes for folders', async () => {
    const listing = await listDirectory(root);

    const file = listing.entries.find((e) => e.name === 'b_R1.fastq.gz')!;
    const dir = listing.entries.find((e) => e.name === 'run2')!;
    expect(file).toEqual({
      name: 'b_R1.fastq.gz',
      path: path.join(root, 'b_R1.fastq.gz'),
      kind: 'file',
      size: 7,
    });
    expect(dir.size).toBeNull();
    expect(path.isAbsolute(dir.path)).toBe(true);
  });

  it('normalises the path it was given', async () => {
    const listing = await listDirectory(`${root}/run2/../run10/`);

    expect(listing.path).toBe(path.join(root, 'run10'));
    expect(listing.entries).toEqual([]);
  });

  it('lists the home folder when no path is given', async () => {
    const listing = await listDirectory();

    expect(listing.path).toBe(path.resolve(os.homedir()));
  });

  it('has no parent at the file system root', async () => {
    const listing = await listDirectory(path.parse(root).root);

    expect(listing.parent).toBeNull();
  });

  it.each([
    ['a relative path', 'some/folder', 'the path must be absolute'],
    ['a missing folder', 'MISSING', 'Folder not found'],
    ['a file', 'A_R1.fastq.gz', 'Not a folder'],
  ])(
    'throws a validation error naming the path for %s',
    async (_what, name, text) => {
      const target = name === 'some/folder' ? name : path.join(root, name);

      const error = await listDirectory(target).catch((err: unknown) => err);

      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).code).toBe('validation');
      expect((error as ServiceError).message).toContain(text);
      expect((error as ServiceError).message).toContain(target);
    },
  );
});
