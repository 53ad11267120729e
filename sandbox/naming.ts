/**
 * The sandbox's server-side file-name rule: how an uploaded file's name
 * becomes a sample-sheet row (client id, R1 or R2).
 *
 * The platform documents only the convention
 * `SAMPLEID_..._(R1|R2)_....fastq.gz`: the client id is the text before the
 * first underscore and the read is an underscore-delimited `R1`/`R2` token.
 * Where the documentation says nothing, the sandbox decides as follows (and
 * `parseUploadName` is the single place that implements it):
 *
 * - Extensions: `.fastq.gz`, `.fastq.bgz`, `.fq.gz` and `.fq.bgz` are removed,
 *   compared without regard to case. Any other name is used as it is.
 * - Client id: the text before the first underscore of what remains. A name
 *   with no underscore (`S1.R1.fastq.gz`) keeps its whole stem (`S1.R1`) as
 *   client id. A name that starts with an underscore keeps its whole stem too,
 *   so that a client id is never empty.
 * - Read: the first token after the client id (tokens split on `_`, each cut
 *   at its first `.`, so `S1_R2.fastq` has the token `R2`) that is `R1` or
 *   `R2`, compared without regard to case (`s1_r2.fastq.gz` is R2). `R10`,
 *   `R1-trimmed`, `.R1.` and the SRA `_1`/`_2` style are not tokens.
 * - No token at all: the file is the R1 of a single-end row (this is what the
 *   recorded platform traffic shows for `test.fastq.gz`).
 */

/** Read designation the sandbox derived from a file name. */
export type ReadToken = 'R1' | 'R2';

/** Result of `parseUploadName`. */
export interface ParsedUploadName {
  clientId: string;
  read: ReadToken;
  /** 'token' when an R1/R2 token was found, 'no-token' when R1 was assumed. */
  rule: 'token' | 'no-token';
}

/** FASTQ extensions the rule strips, lower case, longest first. */
export const FASTQ_EXTENSIONS = [
  '.fastq.bgz',
  '.fastq.gz',
  '.fq.bgz',
  '.fq.gz',
];

/** stripFastqExtension returns `name` without a FASTQ extension (any case). */
export function stripFastqExtension(name: string): string {
  const lower = name.toLowerCase();
  for (const ext of FASTQ_EXTENSIONS) {
    if (lower.endsWith(ext) && lower.length > ext.length) {
      return name.slice(0, name.length - ext.length);
    }
  }
  return name;
}

/**
 * parseUploadName applies the sandbox's naming rule (see the module comment)
 * to the last segment of a destination path. It never throws: every name maps
 * to some (client id, read).
 */
export function parseUploadName(fileName: string): ParsedUploadName {
  const stem = stripFastqExtension(fileName);
  const tokens = stem.split('_');
  const first = tokens[0];
  const clientId = tokens.length > 1 && first !== '' ? first : stem;
  if (tokens.length > 1 && first !== '') {
    for (const token of tokens.slice(1)) {
      const dot = token.indexOf('.');
      const upper = (dot === -1 ? token : token.slice(0, dot)).toUpperCase();
      if (upper === 'R1' || upper === 'R2') {
        return { clientId, read: upper, rule: 'token' };
      }
    }
  }
  return { clientId, read: 'R1', rule: 'no-token' };
}

/** baseName returns the last `/`-separated segment of a gncv:// path. */
export function baseName(destinationPath: string): string {
  const index = destinationPath.lastIndexOf('/');
  return index === -1 ? destinationPath : destinationPath.slice(index + 1);
}

/** folderOf returns a gncv:// path up to and including its last `/`. */
export function folderOf(destinationPath: string): string {
  const index = destinationPath.lastIndexOf('/');
  return index === -1 ? '' : destinationPath.slice(0, index + 1);
}
