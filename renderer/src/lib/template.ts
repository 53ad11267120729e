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
 * templateError checks a template: not empty, balanced braces, only known
 * tokens, relative (no leading '/', '\' or drive letter), no '..' folders,
 * and ending with a file name.
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
  if (/^([\\/]|[A-Za-z]:)/.test(template)) {
    return 'The template must be relative to the destination folder.';
  }
  if (template.split(/[\\/]/).some((segment) => segment === '..')) {
    return 'The template cannot contain ".." folders.';
  }
  if (/[\\/]$/.test(template)) {
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
