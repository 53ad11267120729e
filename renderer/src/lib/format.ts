/**
 * Formatting of sizes, speeds, durations and timestamps for display. Pure
 * functions: the same input always gives the same text (dates use the
 * runtime's locale and time zone).
 */

const SIZE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/**
 * formatBytes renders a byte count with decimal (SI) units, e.g. `1.5 MB`.
 * Null, negative or non-finite input renders as an em dash.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) {
    return '—';
  }
  if (bytes < 1000) {
    return `${Math.round(bytes)} B`;
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${SIZE_UNITS[unit]}`;
}

/** formatSpeed renders bytes per second, e.g. `12.3 MB/s`; unknown is `—`. */
export function formatSpeed(bytesPerSecond: number | null | undefined): string {
  if (
    bytesPerSecond == null ||
    !Number.isFinite(bytesPerSecond) ||
    bytesPerSecond < 0
  ) {
    return '—';
  }
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * formatEta renders seconds left as `45 s`, `3 min 20 s`, `2 h 05 min` or
 * `3 d 4 h`. Null, negative or non-finite input renders as `unknown`: an ETA
 * that cannot be computed is never shown as 0.
 */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) {
    return 'unknown';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return s < 1 ? 'less than 1 s' : `${s} s`;
  }
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest === 0 ? `${m} min` : `${m} min ${rest} s`;
  }
  if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return `${h} h ${String(m).padStart(2, '0')} min`;
  }
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  return `${d} d ${h} h`;
}

/**
 * formatPercent renders done/total as a whole percentage (`42%`), or null
 * when the total is unknown or zero.
 */
export function formatPercent(
  done: number,
  total: number | null | undefined,
): string | null {
  if (total == null || !Number.isFinite(total) || total <= 0) {
    return null;
  }
  const pct = Math.min(100, Math.max(0, (done / total) * 100));
  return `${Math.floor(pct)}%`;
}

/**
 * parseTimestamp reads the platform's timestamps, including its
 * space-separated form (`2021-10-12 19:47:15.394485+00:00`). Returns
 * milliseconds since the epoch, or NaN when the text is not a timestamp.
 */
export function parseTimestamp(text: string | null | undefined): number {
  if (!text) {
    return Number.NaN;
  }
  const iso = /^\d{4}-\d{2}-\d{2} \d/.test(text)
    ? text.replace(' ', 'T')
    : text;
  return Date.parse(iso);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'short',
});
const timeFormat = new Intl.DateTimeFormat(undefined, {
  timeStyle: 'medium',
});

/**
 * formatDateTime renders a platform timestamp in the user's locale; text that
 * is not a timestamp is returned unchanged, an empty value as `—`.
 */
export function formatDateTime(text: string | null | undefined): string {
  if (!text) {
    return '—';
  }
  const ms = parseTimestamp(text);
  return Number.isNaN(ms) ? text : dateTimeFormat.format(ms);
}

/**
 * formatShortDateTime renders a platform timestamp as local
 * `YYYY-MM-DD HH:MM`, compact enough for table cells; text that is not a
 * timestamp is returned unchanged, an empty value as `—`.
 */
export function formatShortDateTime(text: string | null | undefined): string {
  if (!text) {
    return '—';
  }
  const ms = parseTimestamp(text);
  if (Number.isNaN(ms)) {
    return text;
  }
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** formatClock renders a time of day (e.g. "14:03:12") for "updated at". */
export function formatClock(ms: number): string {
  return timeFormat.format(ms);
}

/** shortId renders the first block of a UUID (`3f2a9c1e…`) for tight cells. */
export function shortId(id: string): string {
  const dash = id.indexOf('-');
  return dash > 0 ? `${id.slice(0, dash)}…` : id;
}

/** baseName returns the last segment of a '/' or '\' separated path. */
export function baseName(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/** plural picks the singular or plural noun for a count: `3 samples`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}
