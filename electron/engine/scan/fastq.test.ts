import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { copyData, makeTempDir } from '../../../test/helpers.ts';
import {
  FastqGzipError,
  createFastqGzipChecker,
  readFirstReadName,
  verifyFastqGzip,
  type FastqProblemCode,
} from './fastq.ts';

let tmp = '';
let corrupt = '';
let naming = '';
let large = '';

beforeAll(() => {
  tmp = makeTempDir('scan-fastq');
  corrupt = copyData('corrupt', tmp);
  naming = copyData('naming', tmp);
  large = copyData('fastq/large_pair/seqprep_hiseq2000', tmp);
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Independent count: lines of the decompressed file, four per record. */
function oracleReads(file: string): number {
  const text = zlib.gunzipSync(fs.readFileSync(file));
  let lines = 0;
  for (const byte of text) if (byte === 10) lines++;
  return lines / 4;
}

function writeTemp(name: string, data: Buffer | string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  return file;
}

/** Pipes `source` through a checker into memory; reports whether it ended. */
async function runChecker(
  source: Readable,
  label: string,
): Promise<{
  error: unknown;
  output: Buffer;
  didFinish: boolean;
  reads: number;
}> {
  const checker = createFastqGzipChecker(label);
  const chunks: Buffer[] = [];
  let didFinish = false;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
    final(cb) {
      didFinish = true;
      cb();
    },
  });
  let error: unknown = null;
  try {
    await pipeline(source, checker, sink);
  } catch (err) {
    error = err;
  }
  return {
    error,
    output: Buffer.concat(chunks),
    didFinish,
    reads: checker.reads,
  };
}

const sha256 = (b: Buffer): string =>
  createHash('sha256').update(b).digest('hex');

/** What each file of shared/data/corrupt must give on its own. */
const CORRUPT: [string, FastqProblemCode | 'ok'][] = [
  ['BADCRC_R1.fastq.gz', 'bad-crc'],
  ['BADCRC_R2.fastq.gz', 'ok'],
  ['EMPTYGZ_R1.fastq.gz', 'no-reads'],
  ['EMPTYGZ_R2.fastq.gz', 'no-reads'],
  ['EMPTY_R1.fastq.gz', 'empty-file'],
  ['EMPTY_R2.fastq.gz', 'empty-file'],
  ['INPROGRESS_R1.fastq.gz.part', 'truncated-gzip'],
  ['MALFORMED_R1.fastq.gz', 'malformed-fastq'],
  ['MALFORMED_R2.fastq.gz', 'ok'],
  ['MISMATCH_R1.fastq.gz', 'ok'],
  ['MISMATCH_R2.fastq.gz', 'ok'],
  ['NOTFASTQ_GZIPPED_CSV_R1.fastq.gz', 'not-fastq'],
  ['NOTFASTQ_NOTGZIP_XML_R1.fastq.gz', 'not-gzip'],
  ['PLAINTEXT_R1.fastq.gz', 'not-gzip'],
  ['PLAINTEXT_R2.fastq.gz', 'not-gzip'],
  ['TRUNCATED_R1.fastq.gz', 'truncated-gzip'],
  ['TRUNCATED_R2.fastq.gz', 'ok'],
  ['UNCOMPRESSED_R1.fastq', 'not-gzip'],
  ['UNCOMPRESSED_R2.fastq', 'not-gzip'],
];

describe('fastq', () => {
  describe('verifyFastqGzip()', () => {
    it('covers every file of the corrupt data set', () => {
      expect(CORRUPT.map(([n]) => n).sort()).toEqual(
        fs.readdirSync(corrupt).sort(),
      );
    });

    for (const [name, code] of CORRUPT) {
      it(`${code === 'ok' ? 'accepts' : `reports ${code} for`} ${name}`, async () => {
        const file = path.join(corrupt, name);

        const verdict = await verifyFastqGzip(file);

        if (code === 'ok') {
          expect(verdict).toEqual({
            ok: true,
            reads: oracleReads(file),
            bases: expect.any(Number),
          });
        } else {
          expect(verdict.ok).toBe(false);
          if (verdict.ok) return;
          expect(verdict.problem).toMatchObject({
            code,
            severity: 'error',
            path: file,
          });
          expect(verdict.problem.message.length).toBeGreaterThan(10);
        }
      });
    }

    it('says what is in a file that is not gzip', async () => {
      const plain = await verifyFastqGzip(
        path.join(corrupt, 'PLAINTEXT_R1.fastq.gz'),
      );
      const xml = await verifyFastqGzip(
        path.join(corrupt, 'NOTFASTQ_NOTGZIP_XML_R1.fastq.gz'),
      );

      expect(plain.ok || plain.problem.message).toMatch(/plain FASTQ text/);
      expect(xml.ok || xml.problem.message).toMatch(/XML/);
    });

    it('names the record that lacks its quality line', async () => {
      const verdict = await verifyFastqGzip(
        path.join(corrupt, 'MALFORMED_R1.fastq.gz'),
      );

      expect(verdict.ok || verdict.problem.message).toMatch(
        /record 499.*quality line is missing/,
      );
    });

    const valid = [
      'SAMPLE16_R1.fastq.gz', // multi-member
      'SAMPLE17_R1.fastq.gz', // BGZF
      'SAMPLE5_R1.FASTQ.GZ',
    ];
    for (const name of valid) {
      it(`counts every read of ${name}`, async () => {
        const file = path.join(naming, name);

        const verdict = await verifyFastqGzip(file);

        expect(verdict).toMatchObject({ ok: true, reads: oracleReads(file) });
      });
    }

    it('reads past the first member of a multi-member file', async () => {
      const verdict = await verifyFastqGzip(
        path.join(naming, 'SAMPLE16_R1.fastq.gz'),
      );

      expect(verdict).toMatchObject({ ok: true, reads: 1000 });
    });

    it('counts the large pair', async () => {
      for (const name of [
        'multiplex_bad_contam_1.fq.gz',
        'multiplex_bad_contam_2.fq.gz',
      ]) {
        const verdict = await verifyFastqGzip(path.join(large, name));

        expect(verdict).toEqual({
          ok: true,
          reads: 100_000,
          bases: 10_000_000,
        });
      }
    });

    const synthetic: {
      name: string;
      text: string;
      code: FastqProblemCode | 'ok';
      message?: RegExp;
    }[] = [
      {
        name: 'CRLF line ends',
        text: '@a\r\nACGT\r\n+\r\nIIII\r\n',
        code: 'ok',
      },
      { name: 'no final newline', text: '@a\nACGT\n+\nIIII', code: 'ok' },
      {
        name: 'blank lines at the end',
        text: '@a\nAC\n+\nII\n\n\n',
        code: 'ok',
      },
      { name: 'an empty read', text: '@a\n\n+\n\n@b\nA\n+\nI\n', code: 'ok' },
      {
        name: 'quality shorter than sequence',
        text: '@a\nACGT\n+\nIII\n',
        code: 'malformed-fastq',
        message: /3 characters but the sequence has 4/,
      },
      {
        name: "a missing '+' line",
        text: '@a\nACGT\n+\nIIII\n@b\nACGT\n@c\n',
        code: 'malformed-fastq',
        message: /record 2 .*no '\+'/,
      },
      {
        name: "a header without '@'",
        text: '@a\nAC\n+\nII\nb\nAC\n+\nII\n',
        code: 'malformed-fastq',
        message: /line 5 should start record 2 with '@'/,
      },
      {
        name: 'a blank line in the middle',
        text: '@a\nAC\n+\nII\n\n@b\nAC\n+\nII\n',
        code: 'malformed-fastq',
        message: /blank line/,
      },
      {
        name: 'a space in the sequence',
        text: '@a\nA C\n+\nIII\n',
        code: 'not-fastq',
        message: /character ' '/,
      },
      {
        name: 'a control byte in the quality',
        text: '@a\nAC\n+\nI\u0001\n',
        code: 'malformed-fastq',
        message: /0x1/,
      },
      { name: 'only white space', text: '\n\n', code: 'no-reads' },
      {
        name: 'CSV text',
        text: 'a,b,c\n1,2,3\n',
        code: 'not-fastq',
        message: /"a,b,c"/,
      },
    ];
    for (const c of synthetic) {
      it(`${c.code === 'ok' ? 'accepts' : `reports ${c.code} for`} FASTQ with ${c.name}`, async () => {
        const file = writeTemp(
          `synthetic-${c.name.replace(/\W+/g, '-')}.fastq.gz`,
          zlib.gzipSync(c.text),
        );

        const verdict = await verifyFastqGzip(file);

        if (c.code === 'ok') {
          expect(verdict.ok).toBe(true);
        } else {
          expect(verdict).toMatchObject({
            ok: false,
            problem: { code: c.code },
          });
          if (!verdict.ok && c.message)
            expect(verdict.problem.message).toMatch(c.message);
        }
      });
    }

    it('refuses zero padding after the last member, which decoders stop at', async () => {
      const valid = fs.readFileSync(path.join(naming, 'SAMPLE1_R1.fastq.gz'));
      const file = writeTemp(
        'padded_R1.fastq.gz',
        Buffer.concat([valid, Buffer.alloc(512)]),
      );

      const verdict = await verifyFastqGzip(file);

      expect(verdict).toMatchObject({
        ok: false,
        problem: { code: 'not-gzip' },
      });
      expect(verdict.ok || verdict.problem.message).toMatch(
        /512 bytes after the end/,
      );
    });

    it('refuses garbage after the last member', async () => {
      const valid = fs.readFileSync(path.join(naming, 'SAMPLE1_R1.fastq.gz'));
      const file = writeTemp(
        'garbage_R1.fastq.gz',
        Buffer.concat([valid, Buffer.from('garbage')]),
      );

      const verdict = await verifyFastqGzip(file);

      expect(verdict).toMatchObject({
        ok: false,
        problem: { code: 'not-gzip' },
      });
    });

    it('tells a one-byte file apart from a one-byte gzip start', async () => {
      const gz = await verifyFastqGzip(
        writeTemp('one-gz.fastq.gz', Buffer.from([0x1f])),
      );
      const text = await verifyFastqGzip(writeTemp('one-text.fastq.gz', 'x'));

      expect(gz).toMatchObject({
        ok: false,
        problem: { code: 'truncated-gzip' },
      });
      expect(text).toMatchObject({ ok: false, problem: { code: 'not-gzip' } });
    });

    it('stops at a line longer than 16 MiB instead of holding it', async () => {
      const file = writeTemp(
        'long-line.fastq.gz',
        zlib.gzipSync(
          Buffer.concat([
            Buffer.from('@a\n'),
            Buffer.alloc(17 * 1024 * 1024, 0x41),
          ]),
        ),
      );

      const verdict = await verifyFastqGzip(file);

      expect(verdict).toMatchObject({
        ok: false,
        problem: { code: 'not-fastq' },
      });
      expect(verdict.ok || verdict.problem.message).toMatch(
        /longer than 16 MiB/,
      );
    });

    it('reports a missing file as unreadable', async () => {
      const file = path.join(tmp, 'does-not-exist.fastq.gz');

      const verdict = await verifyFastqGzip(file);

      expect(verdict).toMatchObject({
        ok: false,
        problem: { code: 'unreadable', path: file },
      });
      expect(verdict.ok || verdict.problem.message).toMatch(/ENOENT/);
    });

    it('rejects with the abort reason when aborted', async () => {
      const controller = new AbortController();
      const reason = new Error('user cancelled');

      const pending = verifyFastqGzip(
        path.join(large, 'multiplex_bad_contam_1.fq.gz'),
        {
          signal: controller.signal,
        },
      );
      controller.abort(reason);

      await expect(pending).rejects.toBe(reason);
    });
  });

  describe('createFastqGzipChecker()', () => {
    const passing = [
      ['naming', 'SAMPLE16_R1.fastq.gz', 'multi-member'],
      ['naming', 'SAMPLE17_R1.fastq.gz', 'BGZF'],
      ['large', 'multiplex_bad_contam_2.fq.gz', 'large'],
    ] as const;
    for (const [where, name, what] of passing) {
      it(`passes the bytes of a valid ${what} file through unchanged`, async () => {
        const file = path.join(where === 'naming' ? naming : large, name);
        const input = fs.readFileSync(file);

        const result = await runChecker(
          fs.createReadStream(file, { highWaterMark: 7919 }),
          name,
        );

        expect(result.error).toBeNull();
        expect(result.didFinish).toBe(true);
        expect(sha256(result.output)).toBe(sha256(input));
        expect(result.reads).toBe(oracleReads(file));
      });
    }

    const failing: [string, FastqProblemCode][] = [
      ['TRUNCATED_R1.fastq.gz', 'truncated-gzip'],
      ['BADCRC_R1.fastq.gz', 'bad-crc'],
      ['PLAINTEXT_R1.fastq.gz', 'not-gzip'],
      ['NOTFASTQ_GZIPPED_CSV_R1.fastq.gz', 'not-fastq'],
      ['MALFORMED_R1.fastq.gz', 'malformed-fastq'],
      ['EMPTYGZ_R1.fastq.gz', 'no-reads'],
      ['EMPTY_R1.fastq.gz', 'empty-file'],
    ];
    for (const [name, code] of failing) {
      it(`errors with the file name and ${code} for ${name}, never ending its output`, async () => {
        const file = path.join(corrupt, name);

        const result = await runChecker(
          fs.createReadStream(file, { highWaterMark: 4096 }),
          name,
        );

        expect(result.error).toBeInstanceOf(FastqGzipError);
        const err = result.error as FastqGzipError;
        expect(err.message.startsWith(`${name}: `)).toBe(true);
        expect(err.problem.code).toBe(code);
        expect(result.didFinish).toBe(false);
      });
    }

    it('stops early on a file that is not gzip', async () => {
      const file = path.join(corrupt, 'PLAINTEXT_R1.fastq.gz');

      const result = await runChecker(
        fs.createReadStream(file, { highWaterMark: 1024 }),
        'p',
      );

      expect(result.error).toBeInstanceOf(FastqGzipError);
      expect(result.output.length).toBeLessThan(fs.statSync(file).size);
    });

    it('checks lane files that are concatenated, one checker each', async () => {
      const lanes = [1, 2, 3, 4].map((l) =>
        path.join(naming, `SAMPLE13_S13_L00${l}_R1_001.fastq.gz`),
      );
      const parts: Buffer[] = [];
      let reads = 0;

      for (const file of lanes) {
        const result = await runChecker(
          fs.createReadStream(file),
          path.basename(file),
        );
        expect(result.error).toBeNull();
        parts.push(result.output);
        reads += result.reads;
      }
      const object = Buffer.concat(parts);
      const merged = writeTemp('SAMPLE13_R1.fastq.gz', object);

      expect(reads).toBe(lanes.reduce((n, f) => n + oracleReads(f), 0));
      expect(await verifyFastqGzip(merged)).toMatchObject({ ok: true, reads });
      expect(zlib.gunzipSync(object)).toEqual(
        Buffer.concat(lanes.map((f) => zlib.gunzipSync(fs.readFileSync(f)))),
      );
    });

    it('errors on zero padding that arrives in a later chunk', async () => {
      const valid = fs.readFileSync(path.join(naming, 'SAMPLE1_R1.fastq.gz'));

      const result = await runChecker(
        Readable.from([valid, Buffer.alloc(100)]),
        'SAMPLE1_R1.fastq.gz',
      );

      expect(result.error).toBeInstanceOf(FastqGzipError);
      expect((result.error as FastqGzipError).problem.code).toBe('not-gzip');
      expect(result.didFinish).toBe(false);
    });

    it('errors when zero padding hides a second member', async () => {
      const a = fs.readFileSync(path.join(naming, 'SAMPLE1_R1.fastq.gz'));
      const b = fs.readFileSync(path.join(naming, 'SAMPLE4_R1.fq.gz'));

      const result = await runChecker(
        Readable.from([Buffer.concat([a, Buffer.alloc(8), b])]),
        'x',
      );

      expect((result.error as FastqGzipError).message).toMatch(
        /^x: .*bytes after the end of the gzip data/,
      );
    });

    it('accepts one-byte chunks', async () => {
      const file = path.join(naming, 'SAMPLE15.R2.fastq.gz');
      const bytes = fs.readFileSync(file).subarray(0, 4096);
      const rest = fs.readFileSync(file).subarray(4096);
      const chunks = [...Array.from(bytes, (b) => Buffer.from([b])), rest];

      const result = await runChecker(Readable.from(chunks), 'tiny');

      expect(result.error).toBeNull();
      expect(result.reads).toBe(oracleReads(file));
    });
  });

  describe('readFirstReadName()', () => {
    it('gives mates of a pair the same name', async () => {
      const r1 = await readFirstReadName(
        path.join(large, 'multiplex_bad_contam_1.fq.gz'),
      );
      const r2 = await readFirstReadName(
        path.join(large, 'multiplex_bad_contam_2.fq.gz'),
      );

      expect(r1).not.toBeNull();
      expect(r1).toBe(r2);
      expect(r1).not.toMatch(/\/[12]$/);
    });

    it('gives null for a file that is not gzip', async () => {
      expect(
        await readFirstReadName(path.join(corrupt, 'PLAINTEXT_R1.fastq.gz')),
      ).toBeNull();
    });
  });
});
