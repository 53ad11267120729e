/**
 * Does a gzip file end with a complete member? A FASTQ that an instrument
 * or a copy is still writing almost always ends inside a gzip member (or
 * in zero bytes reserved ahead of the data); a finished one ends with the
 * last member's trailer (CRC-32 and length).
 *
 * The check is cheap for the usual files: it reads only the last
 * {@link DEFAULT_TAIL_WINDOW_BYTES} and decompresses from the latest gzip
 * member start found there to the end of the file (BGZF and bcl2fastq
 * output have many small members). Only when no member starts in that
 * window (one big member) is the whole file decompressed, streaming.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';

/** Bytes read from the end of the file for the cheap check. */
export const DEFAULT_TAIL_WINDOW_BYTES = 1024 * 1024;

/** At most this many candidate member starts are tried in the window. */
const MAX_CANDIDATES = 64;

/**
 * What `checkGzipTail` found:
 * - 'complete': the data from a member start to the end of the file
 *   decompresses completely and ends exactly at the end of the file;
 * - 'incomplete': the last member is cut short, or the file ends in zero
 *   bytes or a partial header: it is still being written (or was cut);
 * - 'damaged': the file is not gzip or its data is broken in a way writing
 *   more will not fix; the planner reports the exact problem.
 */
export type GzipTailVerdict =
  | { kind: 'complete' }
  | { kind: 'incomplete'; reason: string }
  | { kind: 'damaged'; reason: string };

/** What decompressing from one offset gave. */
type Decoded =
  | { isOk: true; consumed: number; total: number }
  | { isOk: false; isTruncated: boolean; message: string };

/**
 * checkGzipTail reads the end of `file` and says whether it ends with a
 * complete gzip member. Never rejects for file problems: an unreadable or
 * empty file is 'incomplete' with the reason (it may still appear or be
 * written).
 */
export async function checkGzipTail(
  file: string,
  opts: { windowBytes?: number } = {},
): Promise<GzipTailVerdict> {
  const windowBytes = Math.max(
    64,
    opts.windowBytes ?? DEFAULT_TAIL_WINDOW_BYTES,
  );
  let size: number;
  let head: Buffer;
  let tail: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      size = (await handle.stat()).size;
      head = Buffer.alloc(Math.min(2, size));
      await handle.read(head, 0, head.length, 0);
      const start = Math.max(0, size - windowBytes);
      tail = Buffer.alloc(size - start);
      await handle.read(tail, 0, tail.length, start);
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { kind: 'incomplete', reason: `cannot be read now (${code})` };
  }

  if (size === 0) {
    return {
      kind: 'incomplete',
      reason: 'the file is empty (0 bytes): not written yet',
    };
  }
  if (head[0] !== 0x1f || (size > 1 && head[1] !== 0x8b)) {
    return {
      kind: 'damaged',
      reason: 'not gzip data (it does not start with 1f 8b)',
    };
  }
  if (size < 2) {
    return {
      kind: 'incomplete',
      reason: 'the file holds only the first byte of a gzip header',
    };
  }

  const isWholeFile = tail.length === size;
  for (const offset of memberStarts(tail, isWholeFile)) {
    const decoded = await decode([tail.subarray(offset)]);
    // A member that decompressed with a valid trailer proves the start was
    // real, and so does offset 0 of the whole file: their verdict is final.
    // A failure elsewhere may be a false match inside compressed data, so
    // the next candidate is tried.
    if (decoded.isOk || (isWholeFile && offset === 0)) {
      return judge(decoded, tail.subarray(offset));
    }
  }
  if (isWholeFile) {
    return {
      kind: 'damaged',
      reason: 'no gzip member decompresses to the end of the file',
    };
  }
  return judgeWholeFile(file);
}

/** Candidate member starts in `buf`, latest first (0 first-listed last). */
function memberStarts(buf: Buffer, isWholeFile: boolean): number[] {
  const starts: number[] = [];
  for (let i = buf.length - 4; i >= 0 && starts.length < MAX_CANDIDATES; i--) {
    // Magic, deflate, and no reserved flag bits: a plausible header.
    if (
      buf[i] === 0x1f &&
      buf[i + 1] === 0x8b &&
      buf[i + 2] === 0x08 &&
      (buf[i + 3] & 0xe0) === 0
    ) {
      starts.push(i);
    }
  }
  if (isWholeFile && !starts.includes(0)) starts.push(0);
  return starts;
}

/** The verdict for data decoded from a member start to the end of the file. */
function judge(decoded: Decoded, data: Buffer): GzipTailVerdict {
  if (!decoded.isOk) {
    return decoded.isTruncated
      ? {
          kind: 'incomplete',
          reason: 'the last gzip member is cut short (still being written?)',
        }
      : { kind: 'damaged', reason: decoded.message };
  }
  if (decoded.consumed >= decoded.total) return { kind: 'complete' };
  const rest = data.subarray(decoded.consumed);
  return judgeTrailing(rest, decoded.total - decoded.consumed);
}

/**
 * Bytes after the last complete member: reserved space, a header begun,
 * or garbage.
 */
function judgeTrailing(rest: Buffer, count: number): GzipTailVerdict {
  if (rest.every((b) => b === 0)) {
    return {
      kind: 'incomplete',
      reason: `the file ends with ${count} zero bytes after its last complete gzip member (space reserved by a copy in progress?)`,
    };
  }
  const header = [0x1f, 0x8b, 0x08];
  if (rest.length < header.length && rest.every((b, i) => b === header[i])) {
    return {
      kind: 'incomplete',
      reason: 'the next gzip member has only just begun',
    };
  }
  return {
    kind: 'damaged',
    reason: `${count} bytes after the last complete gzip member are not gzip data`,
  };
}

/** Decompresses the whole file, streaming (its last member is large). */
async function judgeWholeFile(file: string): Promise<GzipTailVerdict> {
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  let lastChunks: Buffer[] = [];
  let seen = 0;
  const recorded = (async function* () {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      // Keep the last two chunks to look at trailing bytes afterwards.
      lastChunks = [...lastChunks.slice(-1), buf];
      seen += buf.length;
      yield buf;
    }
  })();
  let decoded: Decoded;
  try {
    decoded = await decode(recorded);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { kind: 'incomplete', reason: `cannot be read now (${code})` };
  } finally {
    stream.destroy();
  }
  if (!decoded.isOk || decoded.consumed >= decoded.total) {
    return judge(decoded, Buffer.alloc(0));
  }
  const kept = Buffer.concat(lastChunks);
  const keptStart = seen - kept.length;
  const rest =
    decoded.consumed >= keptStart
      ? kept.subarray(decoded.consumed - keptStart)
      : kept;
  return judgeTrailing(rest, decoded.total - decoded.consumed);
}

/**
 * Decompresses the chunks (multi-member gzip), discarding the output.
 * `consumed` is where the gzip data ended; Node's decompressor stops by
 * itself at zero padding after a member, so it can be less than `total`.
 */
async function decode(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
): Promise<Decoded> {
  const gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  let error: NodeJS.ErrnoException | null = null;
  let hasEnded = false;
  const ended = new Promise<void>((resolve) => {
    gunzip.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err;
      resolve();
    });
    gunzip.on('end', () => {
      hasEnded = true;
      resolve();
    });
  });
  gunzip.resume();
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (error !== null || hasEnded) continue;
    if (!gunzip.write(chunk)) {
      await Promise.race([
        new Promise<void>((resolve) => gunzip.once('drain', () => resolve())),
        ended,
      ]);
    }
  }
  if (error === null && !hasEnded) gunzip.end();
  await ended;
  const consumed = gunzip.bytesWritten;
  gunzip.destroy();
  if (error !== null) {
    const err = error as NodeJS.ErrnoException;
    const isTruncated =
      err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message);
    return {
      isOk: false,
      isTruncated,
      message: `damaged gzip data (${err.message})`,
    };
  }
  return { isOk: true, consumed, total };
}
