/**
 * Turning sample names into client ids the platform can take.
 *
 * The platform reads the client id of an upload as the text before the first
 * underscore of its file name, and the uploader names every object
 * `<clientId>_R1.fastq.gz`. So a client id must hold no underscore. The rules
 * applied by {@link toClientId}, in order:
 *
 * - Unicode NFC normalisation (a name typed on macOS and one typed on
 *   Windows become the same id); letters of any script are kept.
 * - Leading and trailing white space is removed.
 * - Each run of white space becomes one '-': spaces work on the platform, but
 *   they break shell use of the destination paths and download folders.
 * - Other control characters are removed.
 * - Each '_' becomes '-' (one for one, so `a__b` stays distinct from `a_b`).
 * - '/' and '\' become '-' (they would make path segments).
 * - Leading and trailing '-' are removed (a leading '-' reads as a command
 *   line option).
 * - At most {@link MAX_CLIENT_ID_LENGTH} characters (code points, never half
 *   a character).
 * - Never empty: a name with nothing left becomes `sample`.
 */

/** Longest client id accepted (characters). */
export const MAX_CLIENT_ID_LENGTH = 250;

/** Result of {@link toClientId}. */
export interface ClientIdResult {
  clientId: string;
  /** True when the id differs from the sample name as given. */
  changed: boolean;
  /** What was changed and why, as one sentence; empty when unchanged. */
  why: string;
}

// Control characters, built from code points so the source stays plain text.
const CONTROL_CHARS = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}]`,
  'g',
);

/**
 * toClientId derives the client id of a sample name by the rules in this
 * module's comment. The result always passes {@link isValidClientId}.
 */
export function toClientId(sampleName: string): ClientIdResult {
  const steps: string[] = [];
  let id = sampleName.normalize('NFC');
  if (id !== sampleName) steps.push('Unicode normalised (NFC)');

  const apply = (pattern: RegExp, replacement: string, note: string): void => {
    const next = id.replace(pattern, replacement);
    if (next !== id) steps.push(note);
    id = next;
  };
  apply(/^\s+|\s+$/g, '', 'surrounding spaces removed');
  apply(/\s+/g, '-', "spaces became '-'");
  apply(CONTROL_CHARS, '', 'control characters removed');
  apply(/_/g, '-', "'_' became '-' (the platform cuts client ids at '_')");
  apply(/[/\\]/g, '-', "'/' and '\\' became '-'");
  apply(/^-+|-+$/g, '', "leading and trailing '-' removed");

  const chars = Array.from(id);
  if (chars.length > MAX_CLIENT_ID_LENGTH) {
    id = chars.slice(0, MAX_CLIENT_ID_LENGTH).join('').replace(/-+$/, '');
    steps.push(`cut to ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  if (id === '') {
    id = 'sample';
    steps.push("nothing was left, so 'sample' is used");
  }

  const changed = id !== sampleName;
  return {
    clientId: id,
    changed,
    why: changed ? `${capitalise(steps.join('; '))}.` : '',
  };
}

/**
 * clientIdProblem says why an id typed by the user cannot be used, or
 * returns null when it can: it must not be empty, hold '_', '/', '\' or
 * control characters, start or end with white space, or be longer than
 * {@link MAX_CLIENT_ID_LENGTH} characters.
 */
export function clientIdProblem(id: string): string | null {
  if (id.length === 0) return 'the client id is empty';
  if (id.includes('_')) {
    return "the client id contains '_' (the platform would cut it there)";
  }
  if (id.includes('/') || id.includes('\\')) {
    return "the client id contains '/' or '\\'";
  }
  if (new RegExp(CONTROL_CHARS.source).test(id)) {
    return 'the client id contains control characters';
  }
  if (id.trim() !== id) {
    return 'the client id starts or ends with white space';
  }
  if (Array.from(id).length > MAX_CLIENT_ID_LENGTH) {
    return `the client id is longer than ${MAX_CLIENT_ID_LENGTH} characters`;
  }
  return null;
}

/** isValidClientId is true when {@link clientIdProblem} finds nothing. */
export function isValidClientId(id: string): boolean {
  return clientIdProblem(id) === null;
}

/**
 * clientIdKey is the form two ids are compared in to decide they collide:
 * NFC and lower case, because download folders named after client ids
 * would clash on case-insensitive file systems (macOS, Windows).
 */
export function clientIdKey(id: string): string {
  return id.normalize('NFC').toLowerCase();
}

function capitalise(text: string): string {
  return text.length === 0 ? text : text[0].toUpperCase() + text.slice(1);
}
