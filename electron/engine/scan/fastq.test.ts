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

/**
 * Seeded xorshift PRNG giving integers in [0, n), so that a failing random
 * case can be rerun.
 */
function makeRandom(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return Math.floor(((x >>> 0) / 2 ** 32) * n);
  };
}

type OracleVerdict =
  | { code: 'ok'; reads: number; bases: number }
  | { code: FastqProblemCode };

/**
 * Independent reading of decompressed FASTQ, line by line with regular
 * expressions, following the rules the checker documents: one CR before
 * each LF is dropped, blank lines may only end the file, and a problem in
 * the first record means "not FASTQ" unless it is in the quality line.
 */
function oracleVerdict(text: Buffer): OracleVerdict {
  const lines = text.toString('latin1').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let reads = 0;
  let bases = 0;
  let state = 0;
  let seqLen = 0;
  let sawBlank = false;
  let sawContent = false;
  const fail = (notFastqIfFirst: boolean): OracleVerdict => ({
    code: notFastqIfFirst && reads === 0 ? 'not-fastq' : 'malformed-fastq',
  });
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (state === 0) {
      if (line === '') {
        sawBlank = true;
        continue;
      }
      sawContent = true;
      if (sawBlank) return fail(false);
      if (!line.startsWith('@')) return fail(true);
    } else if (state === 1) {
      if (!/^[A-Za-z.*-]*$/.test(line)) return fail(true);
      seqLen = line.length;
    } else if (state === 2) {
      if (!line.startsWith('+')) return fail(true);
    } else {
      if (line.length !== seqLen || !/^[!-~]*$/.test(line)) return fail(false);
      reads++;
      bases += seqLen;
    }
    state = (state + 1) % 4;
  }
  if (state !== 0) return { code: 'malformed-fastq' };
  if (reads === 0) return { code: sawContent ? 'not-fastq' : 'no-reads' };
  return { code: 'ok', reads, bases };
}

/** Random FASTQ text, sometimes damaged in one or two places. */
function randomFastq(random: (n: number) => number): Buffer {
  const pick = (chars: string): string => chars[random(chars.length)];
  const letters = random(4) === 0 ? 'ACGTNacgtn.-*' : 'ACGTN';
  const lineEnd = (): string =>
    random(3) === 0 ? (random(8) === 0 ? '\n' : '\r\n') : '\n';
  const isCrlf = random(3) === 0;
  const parts: string[] = [];
  const reads = random(12);
  for (let r = 0; r < reads; r++) {
    const eol = isCrlf ? lineEnd() : '\n';
    let header = '@';
    for (let i = random(30); i > 0; i--) header += pick('abc:1/ #\t\v\0\xff');
    const len = random(8) === 0 ? random(4) : random(151);
    let seq = '';
    let qual = '';
    for (let i = 0; i < len; i++) {
      seq += pick(letters);
      qual += String.fromCharCode(0x21 + random(94));
    }
    parts.push(header, eol, seq, eol, '+', eol, qual, eol);
  }
  if (random(8) === 0) parts.push('\n\n');
  const bytes = [...Buffer.from(parts.join(''), 'latin1')];
  const odd = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x2a, 0x2b, 0x40, 0x7e, 0x7f];
  for (let m = random(2) === 0 ? 0 : 1 + random(2); m > 0; m--) {
    const at = random(bytes.length + 1);
    const value = random(2) === 0 ? odd[random(odd.length)] : random(256);
    const how = random(4);
    if (how === 0) bytes.splice(at, 1);
    else if (how === 1) bytes.splice(at, 0, value);
    else if (how === 2 && at < bytes.length) bytes[at] = value;
    else bytes.length = at;
  }
  return Buffer.from(bytes);
}

/** Gzips `text` as one to three members cut at random points. */
function randomGzip(text: Buffer, random: (n: number) => number): Buffer {
  const cuts = [0, random(text.length + 1), random(text.length + 1)];
  cuts.length = 1 + random(3);
  cuts.sort((a, b) => a - b);
  cuts.push(text.length);
  const members: Buffer[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    members.push(zlib.gzipSync(text.subarray(cuts[i], cuts[i + 1])));
  }
  return Buffer.concat(members);
}

/** Splits `data` into chunks of random sizes, sometimes tiny. */
function randomChunks(data: Buffer, random: (n: number) => number): Buffer[] {
  const chunks: Buffer[] = [];
  const most = [1, 7, 300, 5000][random(4)];
  for (let at = 0; at < data.length; ) {
    const size = 1 + random(most);
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

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
        name: 'a CR inside the sequence line',
        text: '@a\nACGT\rY+\nIIII\r\n',
        code: 'not-fastq',
        message: /sequence has the character/,
      },
      {
        name: 'a CR inside the quality line',
        text: '@a\r\nACGT\r\n+\r\nIIII\rY\n@b\nA\n+\nI\n',
        code: 'malformed-fastq',
        message: /6 characters but the sequence has 4/,
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

    for (const seed of [1, 2, 3, 4]) {
      it(`agrees with a line-by-line reading of random FASTQ, damaged or not (seed ${seed})`, async () => {
        const random = makeRandom(seed);
        const seen = new Set<string>();

        for (let n = 0; n < 150; n++) {
          const text = randomFastq(random);
          const gz = randomGzip(text, random);
          const expected = oracleVerdict(text);
          const result = await runChecker(
            Readable.from(randomChunks(gz, random)),
            `case-${n}`,
          );

          const where = `seed ${seed} case ${n}: ${JSON.stringify(text.toString('latin1'))}`;
          if (expected.code === 'ok') {
            expect(result.error, where).toBeNull();
            expect(result.reads, where).toBe(expected.reads);
            expect(sha256(result.output), where).toBe(sha256(gz));
          } else {
            expect(result.error, where).toBeInstanceOf(FastqGzipError);
            expect((result.error as FastqGzipError).problem.code, where).toBe(
              expected.code,
            );
            expect(result.didFinish, where).toBe(false);
          }
          seen.add(expected.code);
        }

        // The cases must reach the accepting and the refusing paths alike.
        expect(seen).toContain('ok');
        expect(seen).toContain('malformed-fastq');
      });
    }

    it('accepts CRLF, lower case and ".-*" in many records', async () => {
      const text = zlib
        .gunzipSync(
          fs.readFileSync(path.join(large, 'multiplex_bad_contam_1.fq.gz')),
        )
        .toString('latin1');
      const lines = text.split('\n').slice(0, 40_000);
      const changed = lines.map((line, i) =>
        i % 4 === 1 ? line.replace(/A/g, 'a').replace(/T/g, '.') : line,
      );
      const file = writeTemp(
        'crlf_R1.fastq.gz',
        zlib.gzipSync(changed.join('\r\n') + '\r\n'),
      );

      const result = await runChecker(fs.createReadStream(file), 'crlf');

      expect(result.error).toBeNull();
      expect(result.reads).toBe(10_000);
    });

    it('reports a FASTQ problem before the gzip cut that follows it', async () => {
      const text = zlib.gunzipSync(
        fs.readFileSync(path.join(naming, 'SAMPLE1_R1.fastq.gz')),
      );
      const lines = text.toString('latin1').split('\n');
      lines[5] = `${lines[5]}X`; // record 2's sequence outgrows its quality
      const gz = zlib.gzipSync(lines.join('\n'));
      const cut = gz.subarray(0, Math.floor(gz.length * 0.8));

      const broken = await runChecker(Readable.from([cut]), 'cut');
      const onlyCut = await runChecker(
        Readable.from([zlib.gzipSync(text).subarray(0, cut.length)]),
        'cut',
      );

      expect((broken.error as FastqGzipError).problem.code).toBe(
        'malformed-fastq',
      );
      expect((broken.error as FastqGzipError).message).toMatch(/record 2/);
      expect((onlyCut.error as FastqGzipError).problem.code).toBe(
        'truncated-gzip',
      );
    });

    it('reports a FASTQ problem rather than the zero padding after it', async () => {
      const text = '@a\nACGT\n+\nIII\n'.repeat(3);

      const result = await runChecker(
        Readable.from([
          Buffer.concat([zlib.gzipSync(text), Buffer.alloc(64)]),
        ]),
        'padded',
      );

      expect((result.error as FastqGzipError).problem.code).toBe(
        'malformed-fastq',
      );
    });

    // Bytes at the edges of the ranges the checks test, for the ends of a
    // line; inside it, every byte value is tried.
    const EDGE_BYTES = [
      0x00, 0x0a, 0x0d, 0x20, 0x21, 0x2a, 0x2d, 0x2e, 0x40, 0x41, 0x5a, 0x5b,
      0x60, 0x61, 0x7a, 0x7b, 0x7e, 0x7f, 0x80, 0xff,
    ];
    for (const line of ['header', 'sequence', 'quality'] as const) {
      it(`judges each byte value at each alignment in the ${line} line`, async () => {
        const all = Array.from({ length: 256 }, (_, v) => v);
        const places = [
          { at: 13, values: all },
          { at: 1, values: EDGE_BYTES },
          { at: 31, values: EDGE_BYTES },
        ];
        let checked = 0;

        for (const { at, values } of places) {
          for (const value of values) {
            for (let shift = 0; shift < 4; shift++) {
              // The header's length moves the other lines across 4-byte
              // words; in the header itself the byte moves instead.
              const header = Buffer.from(`@${'h'.repeat(32 + shift)}`);
              const seq = Buffer.from('ACGT'.repeat(8));
              const qual = Buffer.from('I'.repeat(32));
              const target = { header, sequence: seq, quality: qual }[line];
              target[line === 'header' ? at + shift : at] = value;
              const text = Buffer.concat([
                header,
                Buffer.from('\n'),
                seq,
                Buffer.from('\n+\n'),
                qual,
                Buffer.from('\n@b\nAC\n+\nII\n'),
              ]);
              const expected = oracleVerdict(text);

              const result = await runChecker(
                Readable.from([zlib.gzipSync(text)]),
                'byte',
              );

              const where = `${line} byte 0x${value.toString(16)} at ${at} shift ${shift}`;
              if (expected.code === 'ok') {
                expect(result.error, where).toBeNull();
                expect(result.reads, where).toBe(expected.reads);
              } else {
                expect(
                  (result.error as FastqGzipError).problem.code,
                  where,
                ).toBe(expected.code);
              }
              checked++;
            }
          }
        }

        expect(checked).toBe(4 * (256 + 2 * EDGE_BYTES.length));
      });
    }

    it('ends a header at its LF wherever the LF falls in a 4-byte word', async () => {
      for (let length = 1; length <= 12; length++) {
        const header = `@${'h'.repeat(length)}`;
        // Read across a missed LF, the 2nd and 3rd lines would pass for a
        // record with a 2-line header.
        const bad = `${header}\nACGT\nACGT\n+\nIIII\n`;
        const good = `${header}\nACGT\n+\nIIII\n`.repeat(3);

        const refused = await runChecker(
          Readable.from([zlib.gzipSync(bad)]),
          'bad',
        );
        const accepted = await runChecker(
          Readable.from([zlib.gzipSync(good)]),
          'good',
        );

        expect((refused.error as FastqGzipError).problem.code, header).toBe(
          'not-fastq',
        );
        expect(accepted.error, header).toBeNull();
        expect(accepted.reads, header).toBe(3);
      }
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
