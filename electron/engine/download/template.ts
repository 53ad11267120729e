/**
 * Download path templates: from a template such as
 * `{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}` and one
 * deliverable's facts to a relative path that is safe on Windows, macOS and
 * Linux and can never leave the destination folder.
 *
 * Unlike the platform's CLI, every token works in every path segment, and
 * substitution is a single pass: a value that itself contains `{...}` (a
 * client id with braces) is inserted literally and never expanded again.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

import { ValidationError } from '../errors.ts';

/** The values a template can refer to, for one deliverable. */
export interface TemplateContext {
  /** The sample's `client_id` (chosen by the customer, may be anything). */
  clientId: string;
  /** The sample's platform id (UUID). */
  gencoveId: string;
  /** The file's `file_type`, e.g. `impute-vcf`, or `qc` / `metadata`. */
  fileType: string;
  /** The platform's file name for the file (see `defaultFilename`). */
  defaultFilename: string;
}

/** Every token a template may use (reference 7.4). */
export const TEMPLATE_TOKENS = [
  'client_id',
  'gencove_id',
  'file_type',
  'file_extension',
  'default_filename',
] as const;

/** One of `TEMPLATE_TOKENS`. */
export type TemplateToken = (typeof TEMPLATE_TOKENS)[number];

/** Longest path segment (file or folder name) we produce, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255;

const TOKEN_SET: ReadonlySet<string> = new Set(TEMPLATE_TOKENS);

/** Braces, or anything between them: `{x}` tokens and stray `{` / `}`. */
const TOKEN_OR_BRACE = /\{([^{}]*)\}|[{}]/g;

/**
 * Characters Windows refuses in names (`<>:"/\|?*`), the C0 controls and
 * DEL. `/` and `\` are here because a value must never add a segment.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[<>:"/\\|?*\u0000-\u001f\u007f]/g;

/**
 * Names Windows reserves for devices, whatever the extension and case
 * (`NUL`, `nul.txt`, `COM1.fastq.gz`...), including the superscript-digit
 * forms of COM and LPT.
 */
const RESERVED_NAME =
  /^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9\u00b9\u00b2\u00b3])$/i;

/**
 * parseTemplate checks `template` and returns its segments (split on `/` and
 * `\`, empty segments dropped), each still holding its tokens.
 *
 * Throws ValidationError (field 'template') when the template is empty,
 * absolute, has a `.` or `..` segment, a stray brace, an empty last segment
 * or an unknown token; the message names the offending part.
 */
export function parseTemplate(template: string): string[] {
  if (typeof template !== 'string' || template.trim() === '') {
    throw new ValidationError('template', 'The download template is empty.');
  }
  if (/^[/\\]/.test(template) || /^[a-z]:/i.test(template)) {
    throw new ValidationError(
      'template',
      `The download template "${template}" is absolute: it must be a path relative to the destination folder.`,
    );
  }
  if (/[/\\]\s*$/.test(template)) {
    throw new ValidationError(
      'template',
      `The download template "${template}" ends with a folder separator: its last segment must name the file.`,
    );
  }
  for (const match of template.matchAll(TOKEN_OR_BRACE)) {
    if (match[1] === undefined) {
      throw new ValidationError(
        'template',
        `The download template "${template}" has an unmatched "${match[0]}" at position ${match.index + 1}: tokens look like {client_id}.`,
      );
    }
    if (!TOKEN_SET.has(match[1])) {
      throw new ValidationError(
        'template',
        `The download template "${template}" uses the unknown token {${match[1]}}; known tokens: ${TEMPLATE_TOKENS.map((t) => `{${t}}`).join(', ')}.`,
      );
    }
  }
  const segments = template.split(/[/\\]/).filter((s) => s !== '');
  for (const segment of segments) {
    if (segment.trim() === '.' || segment.trim() === '..') {
      throw new ValidationError(
        'template',
        `The download template "${template}" has a "${segment.trim()}" segment: files must stay inside the destination folder.`,
      );
    }
  }
  return segments;
}

/**
 * expandTemplate returns the relative path (segments joined with `/`) that
 * `template` gives for `ctx`. Every token works in every segment. Each
 * segment is made safe with `safeSegment` after substitution, so values can
 * never add, remove or climb segments. Throws ValidationError as
 * `parseTemplate` does.
 */
export function expandTemplate(template: string, ctx: TemplateContext): string {
  const segments = parseTemplate(template);
  const values: Record<TemplateToken, string> = {
    client_id: ctx.clientId,
    gencove_id: ctx.gencoveId,
    file_type: ctx.fileType,
    file_extension: fileExtension(ctx.defaultFilename),
    default_filename: ctx.defaultFilename,
  };
  return segments
    .map((segment) =>
      safeSegment(
        // One pass over the template text: replacement values are not
        // scanned again, so braces inside a client id stay literal.
        segment.replace(
          TOKEN_OR_BRACE,
          (_whole, token: string) => values[token as TemplateToken],
        ),
      ),
    )
    .join('/');
}

/**
 * fileExtension is everything after the first dot of `filename`
 * (`x_R1.fastq.gz` → `fastq.gz`), or '' when it has no dot.
 */
export function fileExtension(filename: string): string {
  const dot = filename.indexOf('.');
  return dot === -1 ? '' : filename.slice(dot + 1);
}

/**
 * safeSegment makes one file or folder name safe on Windows, macOS and
 * Linux: `<>:"/\|?*` and control characters become `_`, trailing dots and
 * spaces are removed, a name reserved by Windows gets a `_` prefix, an empty
 * result (or `.` / `..`) becomes `_`, and a name longer than 255 UTF-8 bytes
 * is shortened, keeping its extension and adding a hash of the full name so
 * that different long names stay different. The same input always gives the
 * same output.
 */
export function safeSegment(name: string): string {
  let safe = name.normalize('NFC').replace(UNSAFE_CHARS, '_');
  safe = safe.replace(/[. ]+$/, '');
  if (safe === '' || safe === '.' || safe === '..') return '_';
  const stem = safe.split('.')[0]!.replace(/ +$/, '');
  if (RESERVED_NAME.test(stem)) safe = `_${safe}`;
  return Buffer.byteLength(safe) > MAX_SEGMENT_BYTES ? shorten(safe) : safe;
}

/**
 * defaultFilename is the platform's name for a deliverable: the `filename`
 * of the download URL's `response-content-disposition` query parameter
 * (`attachment; filename=<name>`, quoted or RFC 5987 `filename*=` forms
 * too), else the last segment of the URL path (percent-decoded), else
 * `fallback`. Folder parts of the name are dropped.
 */
export function defaultFilename(
  downloadUrl: string | null | undefined,
  fallback: string,
): string {
  if (!downloadUrl) return fallback;
  let url: URL;
  try {
    url = new URL(downloadUrl);
  } catch {
    return fallback;
  }
  const disposition = url.searchParams.get('response-content-disposition');
  const fromDisposition = disposition
    ? filenameFromDisposition(disposition)
    : null;
  const candidates = [
    fromDisposition,
    decodeSafely(url.pathname.split('/').pop() ?? ''),
  ];
  for (const candidate of candidates) {
    const name = candidate ? baseName(candidate) : '';
    if (name !== '') return name;
  }
  return fallback;
}

/**
 * resolveInside returns the absolute path of `relative` under `destination`,
 * or throws ValidationError when it would land outside it (or on it).
 */
export function resolveInside(destination: string, relative: string): string {
  const root = path.resolve(destination);
  const target = path.resolve(root, relative);
  const back = path.relative(root, target);
  const climbs = back === '..' || back.startsWith(`..${path.sep}`);
  if (back === '' || climbs || path.isAbsolute(back)) {
    throw new ValidationError(
      'template',
      `The path "${relative}" is not inside the destination folder ${root}.`,
    );
  }
  return target;
}

function filenameFromDisposition(value: string): string | null {
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(value);
  if (extended) {
    const encoded = extended[1]!.trim().replace(/^[^']*'[^']*'/, '');
    const name = decodeSafely(encoded.replace(/^"|"$/g, ''));
    if (name) return name;
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(value);
  if (quoted) return quoted[1]!.replace(/\\(.)/g, '$1');
  const plain = /(?:^|;)\s*filename\s*=\s*([^;]*)/i.exec(value);
  if (plain) return plain[1]!.trim();
  return null;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function baseName(name: string): string {
  return (name.split(/[/\\]/).pop() ?? '').trim();
}

/**
 * shorten cuts `name` to MAX_SEGMENT_BYTES: stem cut on a code point
 * boundary, then `~` and 8 hex digits of the full name's SHA-256, then the
 * extension (when it is short enough to keep).
 */
function shorten(name: string): string {
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  const dot = name.indexOf('.', 1);
  let extension = dot === -1 ? '' : name.slice(dot);
  if (Buffer.byteLength(extension) > 64) extension = '';
  const stem = extension === '' ? name : name.slice(0, dot);
  const room =
    MAX_SEGMENT_BYTES - Buffer.byteLength(extension) - hash.length - 1;
  let cut = '';
  let bytes = 0;
  for (const char of stem) {
    const size = Buffer.byteLength(char);
    if (bytes + size > room) break;
    cut += char;
    bytes += size;
  }
  return `${cut.replace(/[. ]+$/, '')}~${hash}${extension}`;
}
