/**
 * Download path templates (reference section 7.4, DESIGN section 4): tokens
 * in braces, expanded per file under the chosen folder.
 */

/** Every token a download template may use. */
export const TEMPLATE_TOKENS = [
  'client_id',
  'gencove_id',
  'file_type',
  'file_extension',
  'default_filename',
] as const;
export type TemplateToken = (typeof TEMPLATE_TOKENS)[number];

export type TemplateValues = Record<TemplateToken, string>;

const TOKEN = /\{([^{}]*)\}/g;

/**
 * templateError checks a template as the engine will: not empty, balanced
 * braces, only known tokens, relative (no leading '/' or '\', no drive
 * letter), no '.' or '..' folders, and ending with a file name. Only an
 * absolute template is told to be relative.
 */
export function templateError(template: string): string | null {
  if (template.trim() === '') {
    return 'The template cannot be empty.';
  }
  const stripped = template.replace(TOKEN, '');
  if (/[{}]/.test(stripped)) {
    return 'The template has an unmatched "{" or "}".';
  }
  for (const match of template.matchAll(TOKEN)) {
    const name = match[1];
    if (!(TEMPLATE_TOKENS as readonly string[]).includes(name)) {
      return `Unknown token {${name}}; use ${TEMPLATE_TOKENS.map((t) => `{${t}}`).join(', ')}.`;
    }
  }
  if (/^[\\/]/.test(template) || /^[A-Za-z]:[\\/]/.test(template)) {
    return 'The template is an absolute path; it must be relative to the destination folder (remove the leading folder).';
  }
  const drive = /^([A-Za-z]:)/.exec(template);
  if (drive) {
    return `The template cannot start with a drive ("${drive[1]}"); files always go into the destination folder.`;
  }
  const dots = template
    .split(/[\\/]/)
    .map((segment) => segment.trim())
    .find((segment) => segment === '.' || segment === '..');
  if (dots !== undefined) {
    return `The template cannot contain "${dots}" folders: files must stay inside the destination folder.`;
  }
  if (/[\\/]\s*$/.test(template)) {
    return 'The template must end with a file name, not a folder.';
  }
  return null;
}

/**
 * templateWarning flags a valid template whose file name part may give two
 * files of one sample the same path (the engine then stops with a collision).
 */
export function templateWarning(template: string): string | null {
  const last = template.split(/[\\/]/).pop() ?? '';
  if (!/\{(file_type|default_filename)\}/.test(last)) {
    return 'Without {file_type} or {default_filename} in the file name, files of one sample may get the same path.';
  }
  return null;
}

// Device names Windows reserves, whatever the case and extension.
const RESERVED_NAME =
  /^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9\u00b9\u00b2\u00b3])$/i;
// Characters not allowed in a file name on Windows, and control characters.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[<>:"|?*\u0000-\u001f\u007f]/g;

/** isReservedName is true for a name Windows reserves (`CON`, `nul.txt`). */
export function isReservedName(segment: string): boolean {
  const stem = segment.trim().split('.')[0].replace(/ +$/, '');
  return RESERVED_NAME.test(stem);
}

/**
 * safeLocalSegment shows how the engine stores one file or folder name:
 * characters Windows refuses become `_`, trailing dots and spaces go, a
 * reserved name gets a `_` prefix and an empty name becomes `_`. (Very long
 * names are also shortened by the engine; that is not shown here.)
 */
export function safeLocalSegment(segment: string): string {
  let safe = segment.normalize('NFC').replace(UNSAFE_CHARS, '_');
  safe = safe.replace(/[. ]+$/, '');
  if (safe === '' || safe === '.' || safe === '..') {
    return '_';
  }
  return isReservedName(safe) ? `_${safe}` : safe;
}

/**
 * expandTemplateSafely gives the relative path the engine makes of a valid
 * template: each segment expanded, then made safe with
 * {@link safeLocalSegment} (a value can never add a folder), joined by '/'.
 */
export function expandTemplateSafely(
  template: string,
  values: TemplateValues,
): string {
  return template
    .split(/[\\/]/)
    .filter((segment) => segment !== '')
    .map((segment) =>
      safeLocalSegment(
        expandTemplate(segment, values).replace(/[\\/]/g, '_'),
      ),
    )
    .join('/');
}

/**
 * reservedNameNote names the first folder or file name of a template that
 * Windows reserves (`CON`, `NUL`, `COM1`…) and what it will become, or null.
 */
export function reservedNameNote(template: string): string | null {
  const segment = template
    .split(/[\\/]/)
    .find((part) => !part.includes('{') && isReservedName(part));
  if (segment === undefined) {
    return null;
  }
  return `"${segment.trim()}" is a name Windows reserves for a device; it will be saved as "${safeLocalSegment(segment)}".`;
}

/**
 * absolutePathError checks a destination folder: it must be a full path,
 * `/…` (macOS, Linux) or on Windows `C:\…`, `C:/…` or `\\server\share`.
 * Returns null when it is, else one sentence saying what is wrong.
 */
export function absolutePathError(value: string): string | null {
  const text = value.trim();
  if (text === '') {
    return 'Choose the folder to download into.';
  }
  if (
    text.startsWith('/') ||
    /^[A-Za-z]:[\\/]/.test(text) ||
    /^\\\\[^\\]+\\[^\\]+/.test(text)
  ) {
    return null;
  }
  if (text.startsWith('~')) {
    return `"${text}" starts with "~", which is not expanded here: write the folder's full path instead.`;
  }
  if (/^[A-Za-z]:/.test(text)) {
    return `"${text}" has a drive but no folder after it: write it as ${text.slice(0, 2)}\\${text.slice(2)}.`;
  }
  return `"${text}" is a relative path: enter the full path of the folder, starting with / (or a drive such as C:\\ on Windows).`;
}

/** expandTemplate replaces every known token; unknown ones stay as typed. */
export function expandTemplate(
  template: string,
  values: TemplateValues,
): string {
  return template.replace(TOKEN, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name as TemplateToken] : whole,
  );
}

/**
 * joinLocalPath puts a relative '/' path under a folder using the folder's
 * own separator (backslash for Windows-looking folders).
 */
export function joinLocalPath(folder: string, relative: string): string {
  const windows = folder.includes('\\') && !folder.includes('/');
  const sep = windows ? '\\' : '/';
  const base = folder.replace(/[\\/]+$/, '');
  const rel = relative.replace(/^[\\/]+/, '').replace(/[\\/]/g, sep);
  return base === '' ? `${sep}${rel}` : `${base}${sep}${rel}`;
}

/** Values used for the live example when no sample is at hand. */
export function exampleValues(sample?: {
  clientId: string;
  id: string;
}): TemplateValues {
  const id = sample?.id ?? '3f2a9c1e-0b7d-4c55-9e61-2a8f5d0c7b14';
  return {
    client_id: sample?.clientId ?? 'SAMPLE1',
    gencove_id: id,
    file_type: 'impute-vcf',
    file_extension: 'vcf.gz',
    default_filename: `${id}_impute-vcf.vcf.gz`,
  };
}
