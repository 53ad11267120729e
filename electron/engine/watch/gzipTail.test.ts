/**
 * The gzip tail check on real FASTQs (copied, cut and padded in a temp
 * folder) and on the team's corrupt set.
 */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkGzipTail } from './gzipTail.ts';
import type { GzipTailVerdict } from './gzipTail.ts';
import { makeTempDir, removeDir, sharedData } from './testing.ts';

let work: string;

/** Real multi-member gzip (two members) and BGZF (many members, EOF block). */
const MULTI = 'naming/SAMPLE16_R1.fastq.gz';
const BGZF = 'naming/SAMPLE17_R1.fastq.gz';
/** One big member (1.7 MB): larger than a small window. */
const SINGLE = 'fastq/pairs/velvet_gaii/read1.fq.gz';

beforeAll(async () => {
  work = await makeTempDir('tail');
});

afterAll(async () => {
  await removeDir(work);
});

function shared(relative: string): Buffer {
  return fs.readFileSync(path.join(sharedData, relative));
}

let fileCount = 0;
function write(bytes: Buffer): string {
  const file = path.join(work, `f${++fileCount}.fastq.gz`);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('gzipTail', () => {
  describe('checkGzipTail()', () => {
    const complete: { name: string; source: string }[] = [
      { name: 'a two-member gzip', source: MULTI },
      { name: 'a BGZF file', source: BGZF },
      { name: 'a one-member gzip', source: SINGLE },
      {
        name: 'a gzip holding no reads',
        source: 'corrupt/EMPTYGZ_R1.fastq.gz',
      },
      {
        name: 'a real run FASTQ',
        source:
          'runs/180723_NB500892_0277_AHJYM2BGX7/Data/Intensities/BaseCalls/B3910/1_S1_L001_R1_001.fastq.gz',
      },
    ];
    for (const { name, source } of complete) {
      for (const windowBytes of [1024, 1024 * 1024]) {
        it(`says complete for ${name} (window ${windowBytes} bytes)`, async () => {
          const verdict = await checkGzipTail(path.join(sharedData, source), {
            windowBytes,
          });

          expect(verdict).toEqual({ kind: 'complete' });
        });
      }
    }

    const incomplete: { name: string; make: () => Buffer; reason: RegExp }[] = [
      {
        name: 'the truncated file of the corrupt set',
        make: () => shared('corrupt/TRUNCATED_R1.fastq.gz'),
        reason: /cut short/,
      },
      {
        name: 'a copy in progress (.part)',
        make: () => shared('corrupt/INPROGRESS_R1.fastq.gz.part'),
        reason: /cut short/,
      },
      {
        name: 'a BGZF file cut in its last block',
        make: () => shared(BGZF).subarray(0, shared(BGZF).length - 40),
        reason: /cut short/,
      },
      {
        name: 'a one-member file cut near its end',
        make: () => shared(SINGLE).subarray(0, shared(SINGLE).length - 3),
        reason: /cut short/,
      },
      {
        name: 'a multi-member file whose next member has just begun',
        make: () => Buffer.concat([shared(MULTI), Buffer.from([0x1f, 0x8b])]),
        reason: /cut short|just begun/,
      },
      {
        name: 'a file with zero bytes reserved after its data',
        make: () => Buffer.concat([shared(MULTI), Buffer.alloc(70_000)]),
        reason: /70000 zero bytes/,
      },
      { name: 'an empty file', make: () => Buffer.alloc(0), reason: /empty/ },
    ];
    for (const { name, make, reason } of incomplete) {
      for (const windowBytes of [1024, 1024 * 1024]) {
        it(`says incomplete for ${name} (window ${windowBytes} bytes)`, async () => {
          const verdict = await checkGzipTail(write(make()), { windowBytes });

          expect(verdict.kind).toBe('incomplete');
          expect(
            (verdict as Extract<GzipTailVerdict, { kind: 'incomplete' }>)
              .reason,
          ).toMatch(reason);
        });
      }
    }

    const damaged: { name: string; make: () => Buffer }[] = [
      {
        name: 'plain text under a .gz name',
        make: () => shared('corrupt/PLAINTEXT_R1.fastq.gz'),
      },
      {
        name: 'a gzip with a bad CRC',
        make: () => shared('corrupt/BADCRC_R1.fastq.gz'),
      },
      {
        name: 'garbage after the last member',
        make: () =>
          Buffer.concat([shared(MULTI), Buffer.from('not gzip at all')]),
      },
    ];
    for (const { name, make } of damaged) {
      it(`says damaged (for the planner to report) for ${name}`, async () => {
        const verdict = await checkGzipTail(write(make()));

        expect(verdict.kind).toBe('damaged');
      });
    }

    it('says incomplete, without throwing, for a file that does not exist', async () => {
      const verdict = await checkGzipTail(
        path.join(work, 'nothing-here.fastq.gz'),
      );

      expect(verdict).toEqual({
        kind: 'incomplete',
        reason: 'cannot be read now (ENOENT)',
      });
    });
  });
});
