/**
 * Local path helpers for display and for finding a download's folder.
 */

/** commonFolder is the deepest folder holding every path, or null. */
export function commonFolder(paths: string[]): string | null {
  if (paths.length === 0) {
    return null;
  }
  const sep = paths[0].includes('\\') && !paths[0].includes('/') ? '\\' : '/';
  const split = paths.map((p) => p.split(sep).slice(0, -1));
  const first = split[0];
  let n = first.length;
  for (const parts of split.slice(1)) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) {
      i += 1;
    }
    n = i;
  }
  if (n === 0) {
    return null;
  }
  const folder = first.slice(0, n).join(sep);
  return folder === '' ? sep : folder;
}
