/**
 * Real FASTQ quality control for the sandbox pipeline.
 *
 * `inspectFastq` streams one gzipped FASTQ file once: it hashes the stored
 * bytes (SHA-256), decompresses every gzip member (plain multi-member gzip and
 * BGZF alike), parses the 4-line records and measures reads, bases, read
 * lengths, GC content and base qualities (Phred+33 or Phred+64, detected from
 * the quality characters). `runSampleQc` combines the R1 and R2 reports into
 * the platform's QC metric rows and names the first failing check.
 *
 * Nothing here loads a whole file into memory; memory use is bounded by the
 * stream chunk size plus one partial line.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** Quality encodings the inspector can tell apart. */
export type QualityEncoding = 'phred+33' | 'phred+64';

/** Which QC check a problem belongs to (also the QC metric key). */
export type QcCheck = 'gzip' | 'format' | 'reads' | 'paired_read_counts';

/** Stable codes for what is wrong with one file. */
export type FastqProblemCode =
  | 'unreadable'
  | 'empty-file'
  | 'not-gzip'
  | 'truncated-gzip'
  | 'bad-crc'
  | 'corrupt-gzip'
  | 'not-fastq'
  | 'malformed-fastq'
  | 'no-reads';

/** The first problem found in one file. */
export interface FastqProblem {
  check: QcCheck;
  code: FastqProblemCode;
  /** Sentence naming what is wrong and where (record number, byte offset). */
  message: string;
}

/**
 * Measurements of one file; read statistics are null when there are no reads.
 */
export interface FastqStats {
  /** Size of the stored (compressed) file in bytes. */
  fileBytes: number;
  /** SHA-256 of the stored bytes, lowercase hex. */
  sha256: string;
  /** True when the first gzip member carries the BGZF `BC` extra field. */
  bgzf: boolean;
  /** Bytes after decompression. */
  decompressedBytes: number;
  reads: number;
  bases: number;
  minLength: number | null;
  maxLength: number | null;
  meanLength: number | null;
  /** G and C bases (either case). */
  gcBases: number;
  /** A, C, G and T bases (either case); N and other codes are not counted. */
  acgtBases: number;
  /** gcBases / acgtBases; null when there is no A, C, G or T. */
  gcFraction: number | null;
  encoding: QualityEncoding | null;
  meanQuality: number | null;
  /** Fraction of bases with quality 30 or more. */
  q30Fraction: number | null;
}

/** Result of `inspectFastq`: the measurements and the first problem, if any. */
export interface FastqReport {
  stats: FastqStats;
  problem: FastqProblem | null;
}

/** Options for `inspectFastq` and `runSampleQc`. */
export interface InspectOptions {
  signal?: AbortSignal;
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const FLAG_EXTRA = 0x04;

/** Phred+33 qualities never need characters below ';' (59) in +64 files. */
const PHRED64_MIN_CHAR = 59;
/** 'J' (Q41 in +33) is the highest common +33 character. */
const PHRED33_MAX_CHAR = 74;
/** Longest line accepted; bounds memory for content without line breaks. */
const MAX_LINE_LENGTH = 4 * 1024 * 1024;

/**
 * Streaming FASTQ record parser. Lines are decoded as latin1 so that every
 * byte stays one character; FASTQ content is ASCII.
 */
class FastqParser {
  stats = {
    reads: 0,
    bases: 0,
    minLength: Number.POSITIVE_INFINITY,
    maxLength: 0,
    gc: 0,
    acgt: 0,
  };
  /** Count of quality characters by character code. */
  qualityHistogram = new Float64Array(128);
  problem: FastqProblem | null = null;

  /** Pieces of the current, unfinished line. */
  private carry: string[] = [];
  private carryLength = 0;
  private lineInRecord = 0;
  private lineNumber = 0;
  private sequenceLength = 0;
  private blankSeen = 0;

  push(text: string): void {
    if (this.problem) {
      return;
    }
    if (text.indexOf('\n') === -1) {
      // No line ends here: keep the piece without copying the partial line.
      this.carry.push(text);
      this.carryLength += text.length;
      if (this.carryLength > MAX_LINE_LENGTH) {
        this.fail(
          'malformed-fastq',
          `line ${this.lineNumber + 1} is longer than ${MAX_LINE_LENGTH} characters: this is not FASTQ text`,
        );
        this.carry = [];
        this.carryLength = 0;
      }
      return;
    }
    let start = 0;
    const data = this.carry.length === 0 ? text : this.carry.join('') + text;
    this.carry = [];
    this.carryLength = 0;
    for (;;) {
      const newline = data.indexOf('\n', start);
      if (newline === -1) {
        break;
      }
      this.line(data, start, newline);
      if (this.problem) {
        return;
      }
      start = newline + 1;
    }
    if (start < data.length) {
      this.carry.push(data.slice(start));
      this.carryLength = data.length - start;
    }
  }

  end(): void {
    if (this.problem) {
      return;
    }
    if (this.carry.length > 0) {
      const rest = this.carry.join('');
      this.carry = [];
      this.carryLength = 0;
      this.line(rest, 0, rest.length);
      if (this.problem) {
        return;
      }
    }
    if (this.lineInRecord !== 0) {
      const missing = ['sequence', 'separator (+)', 'quality'][
        this.lineInRecord - 1
      ];
      this.fail(
        'malformed-fastq',
        `record ${this.stats.reads + 1} is incomplete: the file ends before its ${missing} line`,
      );
    }
  }

  private fail(code: FastqProblemCode, message: string): void {
    this.problem = {
      check: code === 'no-reads' ? 'reads' : 'format',
      code,
      message,
    };
  }

  private line(data: string, start: number, endIndex: number): void {
    let end = endIndex;
    if (end > start && data.charCodeAt(end - 1) === 13) {
      end -= 1;
    }
    this.lineNumber += 1;
    const length = end - start;
    if (this.lineInRecord === 0) {
      if (length === 0) {
        this.blankSeen += 1;
        return;
      }
      if (this.blankSeen > 0) {
        this.fail(
          'malformed-fastq',
          `line ${this.lineNumber - 1} is blank between records`,
        );
        return;
      }
      if (data.charCodeAt(start) !== 64) {
        if (this.stats.reads === 0) {
          this.fail(
            'not-fastq',
            `content is not FASTQ: line 1 does not start with '@' (starts with ${JSON.stringify(data.slice(start, Math.min(end, start + 20)))})`,
          );
        } else {
          this.fail(
            'malformed-fastq',
            `record ${this.stats.reads + 1} (line ${this.lineNumber}) does not start with '@'`,
          );
        }
        return;
      }
      this.lineInRecord = 1;
      return;
    }
    if (this.lineInRecord === 1) {
      this.sequence(data, start, end);
      this.lineInRecord = 2;
      return;
    }
    if (this.lineInRecord === 2) {
      if (length === 0 || data.charCodeAt(start) !== 43) {
        this.fail(
          'malformed-fastq',
          `record ${this.stats.reads + 1} (line ${this.lineNumber}) has no '+' separator line`,
        );
        return;
      }
      this.lineInRecord = 3;
      return;
    }
    this.quality(data, start, end);
    this.lineInRecord = 0;
  }

  private sequence(data: string, start: number, end: number): void {
    let gc = 0;
    let acgt = 0;
    for (let i = start; i < end; i += 1) {
      const c = data.charCodeAt(i) | 0x20;
      if (c === 0x67 || c === 0x63) {
        gc += 1;
        acgt += 1;
      } else if (c === 0x61 || c === 0x74) {
        acgt += 1;
      } else if (!(c >= 0x61 && c <= 0x7a) && c !== 0x2e && c !== 0x2d) {
        // Letters (IUPAC codes, N), '.' and '-' are accepted as bases.
        this.fail(
          'malformed-fastq',
          `record ${this.stats.reads + 1} (line ${this.lineNumber}) has a character that is not a base: ${JSON.stringify(data[i])}`,
        );
        return;
      }
    }
    this.sequenceLength = end - start;
    this.stats.gc += gc;
    this.stats.acgt += acgt;
  }

  private quality(data: string, start: number, end: number): void {
    const length = end - start;
    if (length !== this.sequenceLength) {
      this.fail(
        'malformed-fastq',
        `record ${this.stats.reads + 1} (line ${this.lineNumber}) has ${length} quality characters for ${this.sequenceLength} bases`,
      );
      return;
    }
    const histogram = this.qualityHistogram;
    for (let i = start; i < end; i += 1) {
      const c = data.charCodeAt(i);
      if (c < 33 || c > 126) {
        this.fail(
          'malformed-fastq',
          `record ${this.stats.reads + 1} (line ${this.lineNumber}) has a quality character outside '!'..'~'`,
        );
        return;
      }
      histogram[c] += 1;
    }
    const stats = this.stats;
    stats.reads += 1;
    stats.bases += length;
    if (length < stats.minLength) {
      stats.minLength = length;
    }
    if (length > stats.maxLength) {
      stats.maxLength = length;
    }
  }
}

/** Reads the BGZF marker from the first gzip member header, if present. */
function hasBgzfExtra(head: Buffer): boolean {
  if (head.length < 12 || (head[3] & FLAG_EXTRA) === 0) {
    return false;
  }
  const extraLength = head.readUInt16LE(10);
  let offset = 12;
  const end = Math.min(head.length, 12 + extraLength);
  while (offset + 4 <= end) {
    const id1 = head[offset];
    const id2 = head[offset + 1];
    const length = head.readUInt16LE(offset + 2);
    if (id1 === 66 && id2 === 67) {
      return true;
    }
    offset += 4 + length;
  }
  return false;
}

function looksLikeText(head: Buffer): boolean {
  for (const byte of head.subarray(0, 64)) {
    if (byte !== 9 && byte !== 10 && byte !== 13 && (byte < 32 || byte > 126)) {
      return false;
    }
  }
  return true;
}

/** Signatures of other compressors, so that the message names the format. */
const OTHER_FORMATS: [string, number[]][] = [
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
];

function describeNotGzip(head: Buffer): string {
  for (const [name, signature] of OTHER_FORMATS) {
    if (signature.every((byte, i) => head[i] === byte)) {
      return `not a gzip file: it is ${name}-compressed`;
    }
  }
  if (head.length > 0 && head[0] === 64 && looksLikeText(head)) {
    return 'not a gzip file: it holds uncompressed FASTQ text';
  }
  if (looksLikeText(head)) {
    return 'not a gzip file: it holds plain text';
  }
  return 'not a gzip file: the gzip signature (1f 8b) is missing';
}

/** Maps a zlib failure to the check it breaks. */
function gzipProblem(error: unknown, compressedOffset: number): FastqProblem {
  const code =
    error && typeof error === 'object' && 'code' in error
      ? String(error.code)
      : '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(message)) {
    return {
      check: 'gzip',
      code: 'truncated-gzip',
      message: `truncated gzip data: the file ends inside a gzip member (after ${compressedOffset} bytes)`,
    };
  }
  if (/incorrect data check/i.test(message)) {
    return {
      check: 'gzip',
      code: 'bad-crc',
      message:
        'gzip CRC-32 check failed: the decompressed data does not match the stored checksum',
    };
  }
  if (/incorrect header check|unknown compression method/i.test(message)) {
    return {
      check: 'gzip',
      code: 'corrupt-gzip',
      message: `corrupt gzip data: a gzip member header is invalid (${message})`,
    };
  }
  return {
    check: 'gzip',
    code: 'corrupt-gzip',
    message: `corrupt gzip data: ${message}`,
  };
}

function finishStats(
  parser: FastqParser,
  fileBytes: number,
  sha256: string,
  bgzf: boolean,
  decompressedBytes: number,
): FastqStats {
  const s = parser.stats;
  const hasReads = s.reads > 0;
  let minChar = 128;
  let maxChar = -1;
  let total = 0;
  const histogram = parser.qualityHistogram;
  for (let c = 33; c < 128; c += 1) {
    if (histogram[c] > 0) {
      minChar = Math.min(minChar, c);
      maxChar = Math.max(maxChar, c);
      total += histogram[c];
    }
  }
  let encoding: QualityEncoding | null = null;
  let meanQuality: number | null = null;
  let q30Fraction: number | null = null;
  if (total > 0) {
    encoding =
      minChar >= PHRED64_MIN_CHAR && maxChar > PHRED33_MAX_CHAR
        ? 'phred+64'
        : 'phred+33';
    const offset = encoding === 'phred+64' ? 64 : 33;
    let sum = 0;
    let q30 = 0;
    for (let c = minChar; c <= maxChar; c += 1) {
      const q = c - offset;
      sum += q * histogram[c];
      if (q >= 30) {
        q30 += histogram[c];
      }
    }
    meanQuality = sum / total;
    q30Fraction = q30 / total;
  }
  return {
    fileBytes,
    sha256,
    bgzf,
    decompressedBytes,
    reads: s.reads,
    bases: s.bases,
    minLength: hasReads ? s.minLength : null,
    maxLength: hasReads ? s.maxLength : null,
    meanLength: hasReads ? s.bases / s.reads : null,
    gcBases: s.gc,
    acgtBases: s.acgt,
    gcFraction: s.acgt > 0 ? s.gc / s.acgt : null,
    encoding,
    meanQuality,
    q30Fraction,
  };
}

/**
 * inspectFastq streams the file at `filePath` once and reports its
 * measurements and its first problem (null when it is a valid, non-empty
 * gzipped FASTQ). It resolves for every kind of bad content; it rejects only
 * when `signal` aborts.
 */
export async function inspectFastq(
  filePath: string,
  options: InspectOptions = {},
): Promise<FastqReport> {
  const hash = createHash('sha256');
  const parser = new FastqParser();
  let fileBytes = 0;
  let decompressedBytes = 0;
  let head: Buffer = Buffer.alloc(0);
  let bgzf = false;
  let problem: FastqProblem | null = null;

  // Stage 1: hash and count every stored byte, remember the first ones.
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (head.length < 512) {
        head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
      }
      fileBytes += chunk.length;
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      decompressedBytes += chunk.length;
      parser.push(chunk.toString('latin1'));
      callback();
    },
    final(callback) {
      parser.end();
      callback();
    },
  });

  // The gzip signature is checked before any byte reaches zlib, so that a
  // plain-text file gets a precise message instead of "incorrect header".
  const gate = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (
        head.length >= 2 &&
        (head[0] !== GZIP_MAGIC_0 || head[1] !== GZIP_MAGIC_1)
      ) {
        callback(new NotGzipError());
        return;
      }
      callback(null, chunk);
    },
  });

  try {
    await pipeline(
      createReadStream(filePath),
      tap,
      gate,
      createGunzip(),
      sink,
      { signal: options.signal },
    );
  } catch (error) {
    if (options.signal?.aborted) {
      throw error;
    }
    if (error instanceof NotGzipError) {
      problem = {
        check: 'gzip',
        code: 'not-gzip',
        message: describeNotGzip(head),
      };
    } else if (isFsError(error)) {
      problem = {
        check: 'gzip',
        code: 'unreadable',
        message: `the file cannot be read (${(error as NodeJS.ErrnoException).code})`,
      };
    } else {
      problem = gzipProblem(error, fileBytes);
    }
  }
  bgzf = hasBgzfExtra(head);

  // The signature decides over whatever zlib said about a very short file.
  if (problem?.code !== 'unreadable') {
    if (fileBytes === 0) {
      problem = {
        check: 'gzip',
        code: 'empty-file',
        message: 'empty file (0 bytes): not a gzip file',
      };
    } else if (
      head.length < 2 ||
      head[0] !== GZIP_MAGIC_0 ||
      head[1] !== GZIP_MAGIC_1
    ) {
      problem = {
        check: 'gzip',
        code: 'not-gzip',
        message: describeNotGzip(head),
      };
    }
  }
  if (!problem && parser.problem) {
    problem = parser.problem;
  }
  if (!problem && parser.stats.reads === 0) {
    problem = {
      check: 'reads',
      code: 'no-reads',
      message: 'no reads: the gzip data decompresses to no FASTQ records',
    };
  }
  // A file whose bytes could not be read at all has no meaningful hash.
  const sha256 = problem?.code === 'unreadable' ? '' : hash.digest('hex');
  return {
    stats: finishStats(parser, fileBytes, sha256, bgzf, decompressedBytes),
    problem,
  };
}

class NotGzipError extends Error {
  constructor() {
    super('not gzip');
    this.name = 'NotGzipError';
  }
}

function isFsError(error: unknown): boolean {
  const code =
    error && typeof error === 'object' && 'code' in error
      ? String(error.code)
      : '';
  return code.startsWith('E') && !code.startsWith('ERR_');
}

/** One QC row in the platform's shape (sample-quality-controls results). */
export interface QcMetricRow {
  quality_control_type: {
    key: string;
    type: string;
    name: string;
    description_markdown: string;
    display_type: string;
    display_only_if_failed: boolean;
  };
  quality_control: {
    value_expected: number | null;
    value_measured: number | null;
    value_string: string;
    status: 'succeeded' | 'failed' | 'skipped';
  };
}

/** Result of `runSampleQc`. */
export interface SampleQcResult {
  /** True when no check failed. */
  passed: boolean;
  /** Keys of the failed checks, in metric order (the sample's `failed_qc`). */
  failedChecks: string[];
  metrics: QcMetricRow[];
  r1: FastqReport;
  r2: FastqReport | null;
}

interface MetricType {
  key: string;
  type: string;
  name: string;
  description: string;
  display: string;
  onlyIfFailed: boolean;
}

/** The sandbox's QC metric catalogue, in the order rows are returned. */
export const QC_METRIC_TYPES: readonly MetricType[] = [
  {
    key: 'gzip',
    type: 'bool',
    name: 'Valid gzip compression',
    description:
      'Every FASTQ file is complete gzip data with valid CRC-32 checks.',
    display: 'boolean',
    onlyIfFailed: false,
  },
  {
    key: 'format',
    type: 'bool',
    name: 'Valid FASTQ format',
    description:
      'FASTQ format validity: 4-line records, quality length equals sequence length.',
    display: 'boolean',
    onlyIfFailed: false,
  },
  {
    key: 'reads',
    type: 'int',
    name: 'Number of reads',
    description:
      'Reads in all FASTQ files of the sample; at least one is required.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'paired_read_counts',
    type: 'bool',
    name: 'R1/R2 read-count agreement',
    description:
      'R1 and R2 hold the same number of reads (value: the difference).',
    display: 'boolean',
    onlyIfFailed: false,
  },
  {
    key: 'bases',
    type: 'int',
    name: 'Number of bases',
    description: 'Bases in all FASTQ files of the sample.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'read_length_min',
    type: 'int',
    name: 'Minimum read length',
    description: 'Shortest read, in bases.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'read_length_mean',
    type: 'float',
    name: 'Mean read length',
    description: 'Mean read length, in bases.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'read_length_max',
    type: 'int',
    name: 'Maximum read length',
    description: 'Longest read, in bases.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'gc_content',
    type: 'float',
    name: 'GC content',
    description: 'Fraction of G and C among A, C, G and T bases.',
    display: 'percentage',
    onlyIfFailed: false,
  },
  {
    key: 'mean_quality',
    type: 'float',
    name: 'Mean base quality',
    description: 'Mean Phred base quality.',
    display: 'number',
    onlyIfFailed: false,
  },
  {
    key: 'q30_fraction',
    type: 'float',
    name: 'Bases with quality 30 or more',
    description: 'Fraction of bases with Phred quality of at least 30.',
    display: 'percentage',
    onlyIfFailed: false,
  },
  {
    key: 'quality_encoding',
    type: 'string',
    name: 'Quality encoding',
    description: 'Quality offset detected from the quality characters.',
    display: 'text',
    onlyIfFailed: false,
  },
];

function row(
  key: string,
  status: 'succeeded' | 'failed' | 'skipped',
  measured: number | null = null,
  expected: number | null = null,
  text = '',
): QcMetricRow {
  const type = QC_METRIC_TYPES.find((t) => t.key === key);
  if (!type) {
    throw new Error(`unknown QC metric ${key}`);
  }
  return {
    quality_control_type: {
      key: type.key,
      type: type.type,
      name: type.name,
      description_markdown: type.description,
      display_type: type.display,
      display_only_if_failed: type.onlyIfFailed,
    },
    quality_control: {
      value_expected: expected,
      value_measured: measured,
      value_string: text.slice(0, 128),
      status,
    },
  };
}

function round(value: number | null, digits: number): number | null {
  if (value === null) {
    return null;
  }
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function problemText(
  files: { label: string; report: FastqReport }[],
  check: QcCheck,
): string {
  return files
    .filter((f) => f.report.problem?.check === check)
    .map((f) => `${f.label}: ${f.report.problem?.message ?? ''}`)
    .join('; ');
}

/**
 * runSampleQc inspects R1 (and R2 when given) and returns the platform-shaped
 * metric rows. Structural checks (gzip, format, reads, R1/R2 agreement) decide
 * `passed`; the measurements are reported with status `succeeded` when they
 * could be computed and `skipped` otherwise.
 */
export async function runSampleQc(
  files: { r1: string; r2?: string | null },
  options: InspectOptions = {},
): Promise<SampleQcResult> {
  const r1 = await inspectFastq(files.r1, options);
  const r2 = files.r2 ? await inspectFastq(files.r2, options) : null;
  const labelled = [{ label: 'R1', report: r1 }];
  if (r2) {
    labelled.push({ label: 'R2', report: r2 });
  }
  const reports = labelled.map((f) => f.report);
  const metrics: QcMetricRow[] = [];

  const gzipBad = reports.some((r) => r.problem?.check === 'gzip');
  metrics.push(
    gzipBad
      ? row('gzip', 'failed', 0, 1, problemText(labelled, 'gzip'))
      : row('gzip', 'succeeded', 1, 1),
  );
  const formatBad = reports.some((r) => r.problem?.check === 'format');
  metrics.push(
    gzipBad
      ? row(
          'format',
          'skipped',
          null,
          null,
          'not checked: gzip data is invalid',
        )
      : formatBad
        ? row('format', 'failed', 0, 1, problemText(labelled, 'format'))
        : row('format', 'succeeded', 1, 1),
  );
  const structural = gzipBad || formatBad;
  const totalReads = reports.reduce((n, r) => n + r.stats.reads, 0);
  const readsBad =
    !structural && reports.some((r) => r.problem?.check === 'reads');
  metrics.push(
    structural
      ? row('reads', 'skipped', null, 1, 'not counted: the files are invalid')
      : readsBad
        ? row('reads', 'failed', totalReads, 1, problemText(labelled, 'reads'))
        : row('reads', 'succeeded', totalReads, 1),
  );
  let pairBad = false;
  if (!r2) {
    metrics.push(
      row(
        'paired_read_counts',
        'skipped',
        null,
        0,
        'single-end sample (no R2)',
      ),
    );
  } else if (structural || readsBad) {
    metrics.push(
      row(
        'paired_read_counts',
        'skipped',
        null,
        0,
        'not compared: the files are invalid',
      ),
    );
  } else {
    const difference = Math.abs(r1.stats.reads - r2.stats.reads);
    pairBad = difference !== 0;
    metrics.push(
      row(
        'paired_read_counts',
        pairBad ? 'failed' : 'succeeded',
        difference,
        0,
        `R1 ${r1.stats.reads} reads, R2 ${r2.stats.reads} reads`,
      ),
    );
  }

  const measurable = !structural && !readsBad;
  const combined = combineStats(reports.map((r) => r.stats));
  const measured = (
    key: string,
    value: number | null,
    digits: number,
    text = '',
  ): QcMetricRow =>
    measurable && value !== null
      ? row(key, 'succeeded', round(value, digits), null, text)
      : row(key, 'skipped', null, null, 'not measured: the files are invalid');
  metrics.push(measured('bases', combined.bases, 0));
  metrics.push(measured('read_length_min', combined.minLength, 0));
  metrics.push(measured('read_length_mean', combined.meanLength, 2));
  metrics.push(measured('read_length_max', combined.maxLength, 0));
  metrics.push(measured('gc_content', combined.gcFraction, 4));
  metrics.push(measured('mean_quality', combined.meanQuality, 2));
  metrics.push(measured('q30_fraction', combined.q30Fraction, 4));
  const encodings = [...new Set(reports.map((r) => r.stats.encoding))];
  metrics.push(
    measurable && encodings.length === 1 && encodings[0]
      ? row('quality_encoding', 'succeeded', null, null, encodings[0])
      : measurable
        ? row(
            'quality_encoding',
            'succeeded',
            null,
            null,
            encodings.join(' / '),
          )
        : row(
            'quality_encoding',
            'skipped',
            null,
            null,
            'not measured: the files are invalid',
          ),
  );

  const failedChecks = metrics
    .filter((m) => m.quality_control.status === 'failed')
    .map((m) => m.quality_control_type.key);
  return { passed: failedChecks.length === 0, failedChecks, metrics, r1, r2 };
}

/** Pools the statistics of the files of one sample (bases-weighted). */
function combineStats(all: FastqStats[]): {
  bases: number;
  minLength: number | null;
  maxLength: number | null;
  meanLength: number | null;
  gcFraction: number | null;
  meanQuality: number | null;
  q30Fraction: number | null;
} {
  const reads = all.reduce((n, s) => n + s.reads, 0);
  const bases = all.reduce((n, s) => n + s.bases, 0);
  const withReads = all.filter((s) => s.reads > 0);
  const gc = all.reduce((n, s) => n + s.gcBases, 0);
  const acgt = all.reduce((n, s) => n + s.acgtBases, 0);
  const weighted = (pick: (s: FastqStats) => number | null): number | null => {
    let sum = 0;
    let weight = 0;
    for (const s of withReads) {
      const value = pick(s);
      if (value !== null) {
        sum += value * s.bases;
        weight += s.bases;
      }
    }
    return weight > 0 ? sum / weight : null;
  };
  return {
    bases,
    minLength: withReads.length
      ? Math.min(...withReads.map((s) => s.minLength ?? Infinity))
      : null,
    maxLength: withReads.length
      ? Math.max(...withReads.map((s) => s.maxLength ?? 0))
      : null,
    meanLength: reads > 0 ? bases / reads : null,
    gcFraction: acgt > 0 ? gc / acgt : null,
    meanQuality: weighted((s) => s.meanQuality),
    q30Fraction: weighted((s) => s.q30Fraction),
  };
}
