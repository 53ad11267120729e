/**
 * Validation of what the user types in the plan preview and the download
 * dialog. Each function returns null when the input is acceptable, or one
 * sentence saying what is wrong.
 */

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Longest client id the plan:edit channel accepts. */
export const MAX_CLIENT_ID_LENGTH = 256;

/**
 * clientIdError checks a client id the user typed. Client ids never contain
 * `_`: the platform takes the text before the first underscore as the id.
 */
export function clientIdError(value: string): string | null {
  if (value.trim() === '') {
    return 'A client id cannot be empty.';
  }
  if (value !== value.trim()) {
    return 'A client id cannot start or end with a space.';
  }
  if (value.includes('_')) {
    return 'A client id cannot contain "_": the platform reads the text before the first underscore as the id.';
  }
  if (/[\\/]/.test(value)) {
    return 'A client id cannot contain "/" or "\\".';
  }
  if (CONTROL_CHARS.test(value)) {
    return 'A client id cannot contain control characters.';
  }
  if (value.length > MAX_CLIENT_ID_LENGTH) {
    return `A client id can have at most ${MAX_CLIENT_ID_LENGTH} characters.`;
  }
  return null;
}

/**
 * destinationError checks an upload destination such as
 * `gncv://my-project/batch-1/`: the gncv:// scheme, at least one folder, no
 * empty, `.` or `..` segments, no backslashes, spaces at the ends or control
 * characters.
 */
export function destinationError(value: string): string | null {
  if (!value.startsWith('gncv://')) {
    return 'The destination must start with gncv:// (for example gncv://my-project/batch-1/).';
  }
  if (value.length > 1024) {
    return 'The destination can have at most 1024 characters.';
  }
  const rest = value.slice('gncv://'.length).replace(/\/$/, '');
  if (rest === '') {
    return 'The destination needs a folder name after gncv://.';
  }
  if (value.includes('\\')) {
    return 'The destination cannot contain "\\"; separate folders with "/".';
  }
  if (CONTROL_CHARS.test(value)) {
    return 'The destination cannot contain control characters.';
  }
  for (const segment of rest.split('/')) {
    if (segment === '') {
      return 'The destination cannot contain an empty folder name ("//").';
    }
    if (segment === '.' || segment === '..') {
      return 'The destination cannot contain "." or ".." folders.';
    }
    if (segment !== segment.trim()) {
      return `The folder name "${segment}" cannot start or end with a space.`;
    }
  }
  return null;
}

/** normalizeDestination ends a valid destination with exactly one '/'. */
export function normalizeDestination(value: string): string {
  return `${value.replace(/\/+$/, '')}/`;
}
