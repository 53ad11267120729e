/**
 * How a FASTQ file name becomes (sample name, read, lane, chunk).
 *
 * Only names ending in `.fastq.gz`, `.fq.gz`, `.fastq.bgz` or `.fq.bgz`
 * (compared without regard to case) are FASTQ files. For those, the stem
 * (the name without that extension) is matched against these rules, in
 * this order; the first that matches wins:
 *
 * 1. Illumina bcl2fastq / BCL Convert, lane-split:
 *    `<sample>_S<n>_L<lane>_R<read>_<chunk>` (`CTR_5_S11_L002_R2_001` is
 *    sample `CTR_5`, lane 2, R2, chunk 1). The sample part may hold
 *    underscores: the fixed tail is matched from the end.
 * 2. Illumina without lane splitting (`--no-lane-splitting`):
 *    `<sample>_S<n>_R<read>_<chunk>`.
 * 3. CASAVA 1.8: `<sample>_<barcode>_L<lane>_R<read>_<chunk>` where the
 *    barcode is A/C/G/T/N letters (two indexes joined by '-' or '+') or
 *    `NoIndex` (`Hm2_GTGAAA_L005_R1_001` is sample `Hm2`).
 * 4. The platform's own convention: an underscore-delimited `R1`/`R2` token
 *    (`r1`/`r2` accepted too) after the first token. As the platform does,
 *    the sample is the text before the first underscore, other tokens are
 *    ignored (`SAMPLE2_LANE1_SEQUENCER1_R1` is `SAMPLE2`), an `L<lane>` token
 *    gives the lane (`SAMPLE3_R1_L001`: read before lane, lane 1) and a
 *    three-digit token right after the read gives the chunk. The planner
 *    falls back to the whole text before the read token (`longSampleName`)
 *    when the short name would make two different files collide.
 * 5. Dot separators: `<sample>.R1` / `<sample>.R2` (`SAMPLE15.R1`).
 * 6. SRA / ENA: `<sample>_1` / `<sample>_2` at the end of the stem
 *    (`SAMPLE8_1`, `ecoli_1K_1` is `ecoli_1K`).
 * 7. Anything else has no read token. The planner then tries
 *    {@link findDigitPairs}: two files of one folder whose names differ only
 *    by a single 1 and 2 digit (`read1.fq.gz` / `read2.fq.gz`) are R1 and R2
 *    of one sample.
 *
 * Index reads (`_I1_`, `_I2_`) and reads other than 1 and 2 are recognised
 * and refused. A sample called `Undetermined` (Illumina's reads that matched
 * no index; also CASAVA's `lane<n>_Undetermined`) is flagged with
 * `isUndetermined` so the planner can leave it out.
 */

/** What a FASTQ file name says about its content. */
export interface ParsedName {
  /** The sample as written in the name (may hold '_', spaces, any letter). */
  sampleName: string;
  read: 'R1' | 'R2';
  /** Lane number from `L<nnn>`, or null. */
  lane: number | null;
  /** Chunk number from the trailing `_<nnn>`, or null. */
  chunk: number | null;
  /** Which rule matched, as a sentence for the plan. */
  rule: string;
  /** Illumina's `S<n>` sample number, when the name has one. */
  sampleNumber: number | null;
  /** True for Illumina/CASAVA Undetermined reads. */
  isUndetermined: boolean;
  /**
   * Rule 4 only: the whole text before the read token (lane token left
   * out), used when the short sample name is ambiguous.
   */
  longSampleName?: string;
  /** The FASTQ extension as written (`.fastq.gz`, `.FQ.GZ`, ...). */
  extension: string;
}

/** Why a name is not used as a FASTQ file. */
export type NameErrorKind =
  /** Not a FASTQ name at all (RunInfo.xml, a .bcl file...). */
  | 'unrelated'
  /** `.fastq` / `.fq` without compression. */
  | 'uncompressed'
  /** A copy in progress (`.part`, `.tmp`, ...). */
  | 'in-progress'
  /** Compressed with something other than gzip. */
  | 'other-compression'
  /** A side file such as a checksum. */
  | 'side-file'
  /** Mentions FASTQ but does not end in an accepted extension. */
  | 'bad-extension'
  /** An index read (`_I1_`/`_I2_`) or a read other than 1 and 2. */
  | 'not-r1-r2'
  /** A FASTQ file whose name carries no R1/R2 designation. */
  | 'no-read-token';

/** Returned by {@link parseFastqName} when the name is not used. */
export interface NameError {
  error: string;
  kind: NameErrorKind;
}

/** Accepted FASTQ extensions, lower case. */
export const FASTQ_EXTENSIONS = [
  '.fastq.gz',
  '.fq.gz',
  '.fastq.bgz',
  '.fq.bgz',
] as const;

const ACCEPTED_EXT = /\.(?:fastq|fq)\.b?gz$/i;
const FASTQ_MENTION = /\.(?:fastq|fq)(?:\.|$)/i;
const UNCOMPRESSED_EXT = /\.(?:fastq|fq)$/i;
const IN_PROGRESS_EXT =
  /(?:\.(?:part|partial|tmp|temp|filepart|crdownload|download|inprogress|copying)|~)$/i;
const OTHER_COMPRESSION_EXT =
  /\.(?:fastq|fq)\.(bz2|xz|zst|zstd|lz4|zip|7z|dsrc|ora|spring)$/i;
const SIDE_FILE_EXT =
  /\.(?:md5|md5sum|sha1|sha256|sha512|crc|bai|fai|csi|tbi|json|txt|log|html)$/i;

const ILLUMINA = /^(.+)_S(\d+)_L(\d{3})_([RI])(\d)_(\d{3})$/;
const ILLUMINA_NO_LANE = /^(.+)_S(\d+)_([RI])(\d)_(\d{3})$/;
const CASAVA =
  /^(.+)_((?:[ACGTN]+(?:[-+][ACGTN]+)?)|NoIndex)_L(\d{3})_([RI])(\d)_(\d{3})$/;
const READ_TOKEN = /^[Rr]([12])$/;
const LANE_TOKEN = /^L(\d{1,3})$/;
const CHUNK_TOKEN = /^\d{3}$/;
const SRA = /^(.+)_([12])$/;
const UNDETERMINED = /^(?:lane\d+_)?undetermined$/i;

/** Rule texts, shown in the plan. */
export const RULES = {
  illumina:
    'Illumina bcl2fastq/BCL Convert: <sample>_S<n>_L<lane>_R<read>_<chunk>',
  illuminaNoLane:
    'Illumina without lane splitting: <sample>_S<n>_R<read>_<chunk>',
  casava: 'CASAVA 1.8: <sample>_<barcode>_L<lane>_R<read>_<chunk>',
  plain: 'Gencove convention: <sample>_R<read>',
  readBeforeLane: 'read before lane: <sample>_R<read>_L<lane>',
  platform:
    'Gencove convention: <sample>_..._R<read>_... (sample = text before the first underscore)',
  dots: 'dot separators: <sample>.R<read>',
  sra: 'SRA/ENA: <sample>_<1|2>',
} as const;

/**
 * splitFastqExtension returns the stem and the accepted extension of a
 * FASTQ file name, or null when the name does not end in one.
 */
export function splitFastqExtension(
  fileName: string,
): { stem: string; extension: string } | null {
  const match = ACCEPTED_EXT.exec(fileName);
  if (match === null || match.index === 0) return null;
  return {
    stem: fileName.slice(0, match.index),
    extension: fileName.slice(match.index),
  };
}

/**
 * classifyNonFastqName says why a name without an accepted extension is not
 * used; kind 'unrelated' means it does not look like sequencing data at all.
 */
export function classifyNonFastqName(fileName: string): NameError {
  if (ACCEPTED_EXT.exec(fileName)?.index === 0) {
    return { kind: 'bad-extension', error: 'the name is only an extension' };
  }
  if (IN_PROGRESS_EXT.test(fileName) && FASTQ_MENTION.test(fileName)) {
    return {
      kind: 'in-progress',
      error:
        'temporary name of a copy in progress; it is picked up once the copy has finished and has its final name',
    };
  }
  if (UNCOMPRESSED_EXT.test(fileName)) {
    return {
      kind: 'uncompressed',
      error: 'not compressed: gzip it first (the platform takes .fastq.gz)',
    };
  }
  const other = OTHER_COMPRESSION_EXT.exec(fileName);
  if (other !== null) {
    return {
      kind: 'other-compression',
      error: `compressed with ${other[1].toLowerCase()}, not gzip: recompress it as .fastq.gz`,
    };
  }
  if (FASTQ_MENTION.test(fileName)) {
    return SIDE_FILE_EXT.test(fileName)
      ? {
          kind: 'side-file',
          error: 'side file of a FASTQ (checksum, index, report)',
        }
      : {
          kind: 'bad-extension',
          error: `not a FASTQ file name: it does not end in ${FASTQ_EXTENSIONS.join(', ')}`,
        };
  }
  return { kind: 'unrelated', error: 'not a FASTQ file' };
}

function readOf(letter: string, digit: string): 'R1' | 'R2' | NameError {
  if (letter === 'I') {
    return {
      kind: 'not-r1-r2',
      error: `index read I${digit}: only R1 and R2 are uploaded`,
    };
  }
  if (digit !== '1' && digit !== '2') {
    return {
      kind: 'not-r1-r2',
      error: `read R${digit}: the platform takes only R1 and R2`,
    };
  }
  return digit === '1' ? 'R1' : 'R2';
}

function isNameError(value: unknown): value is NameError {
  return typeof value === 'object' && value !== null && 'error' in value;
}

/**
 * parseFastqName reads sample, read, lane and chunk from a file name (the
 * last path segment, not a path), by the rules in this module's comment.
 * It returns a {@link NameError} (never throws) when the name is not an
 * accepted FASTQ name or carries no read designation.
 */
export function parseFastqName(fileName: string): ParsedName | NameError {
  const split = splitFastqExtension(fileName);
  if (split === null) return classifyNonFastqName(fileName);
  const { stem, extension } = split;

  const result = (
    sampleName: string,
    read: 'R1' | 'R2' | NameError,
    fields: Partial<ParsedName> & { rule: string },
  ): ParsedName | NameError => {
    if (isNameError(read)) return read;
    return {
      sampleName,
      read,
      lane: null,
      chunk: null,
      sampleNumber: null,
      isUndetermined: UNDETERMINED.test(sampleName),
      extension,
      ...fields,
    };
  };

  let m = ILLUMINA.exec(stem);
  if (m !== null) {
    return result(m[1], readOf(m[4], m[5]), {
      rule: RULES.illumina,
      sampleNumber: Number(m[2]),
      lane: Number(m[3]),
      chunk: Number(m[6]),
    });
  }
  m = ILLUMINA_NO_LANE.exec(stem);
  if (m !== null) {
    return result(m[1], readOf(m[3], m[4]), {
      rule: RULES.illuminaNoLane,
      sampleNumber: Number(m[2]),
      chunk: Number(m[5]),
    });
  }
  m = CASAVA.exec(stem);
  if (m !== null) {
    return result(m[1], readOf(m[4], m[5]), {
      rule: RULES.casava,
      lane: Number(m[3]),
      chunk: Number(m[6]),
    });
  }

  const platform = parsePlatformConvention(stem);
  if (platform !== null)
    return result(platform.sampleName, platform.read, platform);

  const dotted = stem.split('.');
  const dotIndex = dotted.findIndex((t, i) => i > 0 && READ_TOKEN.test(t));
  if (dotIndex > 0) {
    const read = dotted[dotIndex].toUpperCase() as 'R1' | 'R2';
    return result(dotted.slice(0, dotIndex).join('.'), read, {
      rule: RULES.dots,
    });
  }

  m = SRA.exec(stem);
  if (m !== null) {
    return result(m[1], m[2] === '1' ? 'R1' : 'R2', { rule: RULES.sra });
  }

  return {
    kind: 'no-read-token',
    error:
      'the name has no R1/R2 designation (expected e.g. <sample>_R1.fastq.gz or <sample>_S1_L001_R1_001.fastq.gz)',
  };
}

/** Rule 4: the platform's underscore-delimited R1/R2 token. */
function parsePlatformConvention(
  stem: string,
):
  | (Partial<ParsedName> & {
      sampleName: string;
      read: 'R1' | 'R2';
      rule: string;
    })
  | null {
  const tokens = stem.split('_');
  const readAt = tokens.findIndex((t, i) => i > 0 && READ_TOKEN.test(t));
  if (readAt <= 0 || tokens[0].trim() === '') return null;

  const read = tokens[readAt].toUpperCase() as 'R1' | 'R2';
  const laneAt = tokens.findIndex(
    (t, i) => i > 0 && i !== readAt && LANE_TOKEN.test(t),
  );
  const lane = laneAt > 0 ? Number(LANE_TOKEN.exec(tokens[laneAt])?.[1]) : null;
  const next = tokens[readAt + 1];
  const chunk =
    next !== undefined && readAt + 1 !== laneAt && CHUNK_TOKEN.test(next)
      ? Number(next)
      : null;

  const ignored = tokens.filter(
    (t, i) =>
      i > 0 &&
      i !== readAt &&
      i !== laneAt &&
      !(i === readAt + 1 && chunk !== null),
  );
  let rule: string;
  if (tokens.length === 2) {
    rule = RULES.plain;
  } else if (laneAt === readAt + 1 && ignored.length === 0) {
    rule = RULES.readBeforeLane;
  } else {
    rule = RULES.platform;
    if (ignored.length > 0) {
      rule += `; tokens ${ignored.join(', ')} ignored, as the platform does`;
    }
  }
  const longParts = tokens
    .slice(0, readAt)
    .filter((_, i) => i === 0 || i !== laneAt);
  return {
    sampleName: tokens[0],
    read,
    lane,
    chunk,
    rule,
    longSampleName: longParts.join('_'),
  };
}

/** One R1/R2 pair found by {@link findDigitPairs}. */
export interface DigitPair {
  r1: string;
  r2: string;
  /** Sample name chosen for the pair. */
  sampleName: string;
  /** How the pair and its sample name were decided, for the plan. */
  rule: string;
}

/** Words that say "read" rather than naming a sample. */
const GENERIC_WORDS = new Set([
  '',
  'r',
  'read',
  'reads',
  'seq',
  'seqs',
  'sequence',
  'sequences',
  'fastq',
  'fq',
  'file',
  'files',
  'pair',
  'pe',
  'mate',
  'end',
  'data',
  'sample',
  'out',
  'output',
]);

/**
 * findDigitPairs looks, among file names of ONE folder that carry no read
 * token, for pairs that differ only by a single digit, 1 in one name and 2
 * in the other, at the same place (`read1.fq.gz` / `read2.fq.gz`). A digit
 * next to another digit does not count (`s11` / `s12` are two samples), and
 * a pair is refused when a third name differs from it at the same place
 * (`s1`, `s2`, `s3` are three samples). The sample name is the common text
 * without the digit, trimmed of separators, unless that is a word such as
 * `read` or empty; then the folder's name is used.
 */
export function findDigitPairs(
  fileNames: string[],
  folderName: string,
): DigitPair[] {
  const byPattern = new Map<string, { name: string; digit: string }[]>();
  for (const name of fileNames) {
    for (let i = 0; i < name.length; i++) {
      const c = name[i];
      if (c < '0' || c > '9') continue;
      if (isDigit(name[i - 1]) || isDigit(name[i + 1])) continue;
      const key = `${i}\u0000${name.slice(0, i)}\u0000${name.slice(i + 1)}`;
      const list = byPattern.get(key) ?? [];
      list.push({ name, digit: c });
      byPattern.set(key, list);
    }
  }

  const pairs: DigitPair[] = [];
  const used = new Set<string>();
  for (const [key, list] of byPattern) {
    if (list.length !== 2) continue;
    const one = list.find((x) => x.digit === '1');
    const two = list.find((x) => x.digit === '2');
    if (one === undefined || two === undefined) continue;
    if (used.has(one.name) || used.has(two.name)) continue;
    used.add(one.name);
    used.add(two.name);

    const [, before, after] = key.split('\u0000');
    const split = splitFastqExtension(one.name);
    const afterStem =
      split === null
        ? after
        : after.slice(0, after.length - split.extension.length);
    const common = `${before}${afterStem}`.replace(/^[\s._-]+|[\s._-]+$/g, '');
    const useFolder = GENERIC_WORDS.has(common.toLowerCase());
    const sampleName = useFolder ? folderName : common;
    pairs.push({
      r1: one.name,
      r2: two.name,
      sampleName,
      rule: `pairing fallback: ${one.name} and ${two.name} differ only by 1/2, taken as R1 and R2 of one sample named ${
        useFolder
          ? `after its folder (${folderName})`
          : `after the common part of the names (${common})`
      }`,
    });
  }
  return pairs;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
