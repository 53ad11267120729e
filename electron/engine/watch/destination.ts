/**
 * Where a watched run is uploaded: `gncv://<project name>/<run folder>/` by
 * default, or `<base>/<run folder>/` under a destination the user chose.
 * Each run gets its own batch folder, so objects of two runs never collide
 * and the assignment (which looks up the sample sheet by folder prefix)
 * sees only this run's uploads.
 */
import { normaliseDestination } from '../scan/plan.ts';

/** Longest folder name segment we make. */
const MAX_SEGMENT_LENGTH = 100;

/**
 * safeGncvSegment turns a name into one gncv path segment: letters
 * (Unicode letters included, NFC), digits, '.', '-' and '_' are kept; any
 * run of other characters (spaces, slashes, '#', '?'…) becomes one '-';
 * leading and trailing '-' and '.' are dropped, and the result is cut to
 * {@link MAX_SEGMENT_LENGTH} characters. Returns `fallback` when nothing
 * is left.
 */
export function safeGncvSegment(name: string, fallback: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  const cut = Array.from(cleaned).slice(0, MAX_SEGMENT_LENGTH).join('');
  const trimmed = cut.replace(/[-.]+$/g, '');
  return trimmed === '' ? fallback : trimmed;
}

/**
 * runDestination returns the batch folder of one run, ending with '/'.
 * With `base` (a `gncv://` folder the user gave) it is
 * `<base><run folder>/`; without, `gncv://<project name>/<run folder>/`.
 * Throws a ValidationError when `base` does not start with `gncv://`.
 */
export function runDestination(opts: {
  base: string | null;
  projectName: string;
  runFolderName: string;
}): string {
  const run = safeGncvSegment(opts.runFolderName, 'run');
  if (opts.base !== null) {
    return normaliseDestination(`${normaliseDestination(opts.base)}${run}`);
  }
  const project = safeGncvSegment(opts.projectName, 'project');
  return `gncv://${project}/${run}/`;
}
