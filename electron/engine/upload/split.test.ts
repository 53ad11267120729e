import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ContentError,
  LocalFileError,
  digestParts,
  readCheckedFiles,
} from './uploader.ts';
import { CancelledError } from '../errors.ts';
import type { PlanFile } from '../../../shared/domain.ts';
import { SHARED_DATA } from '../../../test/shared.ts';

const dataDir = SHARED_DATA;

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) {
    out.push(item);
  }
  return out;
}

async function* chunks(...sizes: number[]): AsyncGenerator<Buffer> {
  let value = 0;
  for (const size of sizes) {
    yield Buffer.from(Array.from({ length: size }, () => value++ % 256));
  }
}

/** A pass-through checker that fails at the end, like a truncated gzip. */
const failingAtEnd = (label: string) =>
  new Transform({
    transform(chunk, _enc, cb) {
      cb(null, chunk);
    },
    flush(cb) {
      cb(new Error(`${label}: unexpected end of gzip data`));
    },
  });

const passThrough = () =>
  new Transform({
    transform(chunk, _enc, cb) {
      cb(null, chunk);
    },
  });

describe('uploader streams', () => {
  let tmp: string;
  let files: PlanFile[];

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'split-test-'));
    const lanes = path.join(
      dataDir,
      'runs/180723_NB500892_0277_AHJYM2BGX7/Data/Intensities/BaseCalls/B3910',
    );
    files = [1, 2, 3, 4].map((lane) => {
      const name = `1_S1_L00${lane}_R1_001.fastq.gz`;
      const target = path.join(tmp, name);
      copyFileSync(path.join(lanes, name), target);
      return {
        path: target,
        relativePath: name,
        size: statSync(target).size,
        read: 'R1',
        lane,
        chunk: 1,
        rule: 'test',
      };
    });
  });

  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('digestParts()', () => {
    const cases = [
      {
        name: 'exact multiple',
        sizes: [10, 10],
        partSize: 5,
        want: [5, 5, 5, 5],
      },
      { name: 'short last part', sizes: [7, 6], partSize: 5, want: [5, 5, 3] },
      {
        name: 'chunks larger than parts',
        sizes: [23],
        partSize: 10,
        want: [10, 10, 3],
      },
      {
        name: 'many small chunks',
        sizes: [1, 1, 1, 1, 1, 1, 1],
        partSize: 3,
        want: [3, 3, 1],
      },
      { name: 'smaller than one part', sizes: [4], partSize: 10, want: [4] },
      { name: 'empty stream', sizes: [], partSize: 10, want: [0] },
    ];
    const checksums = {
      SHA256: (data: Buffer) =>
        createHash('sha256').update(data).digest('base64'),
      CRC32: (data: Buffer) => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(crc32(data) >>> 0);
        return out.toString('base64');
      },
    };
    for (const algorithm of ['SHA256', 'CRC32'] as const) {
      for (const c of cases) {
        it(`${c.name}: chunks ${c.sizes.join('+') || 'none'} in parts of ${c.partSize}, ${algorithm}`, async () => {
          const parts = await collect(
            digestParts(chunks(...c.sizes), c.partSize, algorithm),
          );

          expect(parts.map((p) => p.size)).toEqual(c.want);
          expect(parts.map((p) => p.number)).toEqual(
            c.want.map((_, i) => i + 1),
          );
          const bytes = Buffer.concat(await collect(chunks(...c.sizes)));
          const expected = c.want.map((size, i) =>
            checksums[algorithm](
              bytes.subarray(i * c.partSize, i * c.partSize + size),
            ),
          );
          expect(parts.map((p) => p.checksum)).toEqual(expected);
        });
      }
    }
    it('holds a full part back until the stream goes on, so a failing stream gives no last part', async () => {
      async function* failsAfterOnePart(): AsyncGenerator<Buffer> {
        yield Buffer.alloc(10, 1);
        throw new Error('the checker found a problem at the end');
      }
      const seen: number[] = [];

      const run = (async () => {
        const parts = digestParts(failsAfterOnePart(), 10, 'CRC32');
        for await (const part of parts) {
          seen.push(part.number);
        }
      })();

      await expect(run).rejects.toThrow(/problem at the end/);
      expect(seen).toEqual([]);
    });
  });

  describe('readCheckedFiles()', () => {
    it('yields the lane files concatenated, byte for byte', async () => {
      const out = await collect(
        readCheckedFiles(files, passThrough, new AbortController().signal),
      );

      const expected = Buffer.concat(files.map((f) => readFileSync(f.path)));
      expect(Buffer.concat(out).equals(expected)).toBe(true);
    });

    it('throws ContentError naming the file when its checker fails', async () => {
      const run = collect(
        readCheckedFiles(
          files.slice(0, 2),
          failingAtEnd,
          new AbortController().signal,
        ),
      );

      await expect(run).rejects.toBeInstanceOf(ContentError);
      await expect(run).rejects.toThrow(files[0]!.path);
    });

    it('throws LocalFileError when a file has a different size than planned', async () => {
      const wrong = [{ ...files[0]!, size: files[0]!.size + 10 }];

      const run = collect(
        readCheckedFiles(wrong, passThrough, new AbortController().signal),
      );

      await expect(run).rejects.toBeInstanceOf(LocalFileError);
      await expect(run).rejects.toThrow(/changed since it was planned/);
    });

    it('throws LocalFileError when a file is missing', async () => {
      const missing = [{ ...files[0]!, path: path.join(tmp, 'gone.fastq.gz') }];

      const run = collect(
        readCheckedFiles(missing, passThrough, new AbortController().signal),
      );

      await expect(run).rejects.toBeInstanceOf(LocalFileError);
      await expect(run).rejects.toThrow(/gone\.fastq\.gz/);
    });

    it('stops with CancelledError when the signal aborts', async () => {
      const controller = new AbortController();
      const iterator = readCheckedFiles(files, passThrough, controller.signal);

      await iterator.next();
      controller.abort();

      await expect(iterator.next()).rejects.toBeInstanceOf(CancelledError);
    });
  });
});
