/**
 * Terminal output of the command line: progress bars when stderr is a
 * terminal, one plain line per change of state otherwise, and JSON for
 * scripts.
 */
import type { TransferSnapshot } from '../../shared/domain.ts';

/** formatBytes renders a byte count with binary units (`12.3 MiB`). */
export function formatBytes(n: number | null): string {
  if (n === null) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** formatEta renders seconds left as `1h02m`, `3m05s`, `12s`, or `unknown`. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'unknown';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '#'.repeat(filled) + '-'.repeat(width - filled);
}

/**
 * ProgressPrinter follows one transfer job. On a terminal it redraws a block
 * of lines (total plus running files); elsewhere it prints a line whenever a
 * file changes state, so logs stay short.
 */
export class ProgressPrinter {
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private drawnLines = 0;
  private readonly seenStates = new Map<string, string>();

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.tty = Boolean(stream.isTTY) && !process.env.CI;
  }

  update(snap: TransferSnapshot): void {
    if (this.tty) this.redraw(snap);
    else this.printChanges(snap);
  }

  /** finish leaves the last frame on screen and moves below it. */
  finish(snap: TransferSnapshot): void {
    this.update(snap);
    this.drawnLines = 0;
  }

  private redraw(snap: TransferSnapshot): void {
    const width = Math.max(20, Math.min(40, (this.stream.columns ?? 80) - 60));
    const total = snap.bytesTotal ?? 0;
    const fraction = total > 0 ? snap.bytesDone / total : 0;
    const lines = [
      `${snap.title}  [${bar(fraction, width)}] ${(fraction * 100).toFixed(0)}%  ` +
        `${formatBytes(snap.bytesDone)}/${formatBytes(snap.bytesTotal)}  ` +
        `${snap.speed === null ? '-' : formatBytes(snap.speed) + '/s'}  ETA ${formatEta(snap.etaSeconds)}  ${snap.state}`,
    ];
    for (const f of snap.files) {
      if (f.state !== 'running' && f.state !== 'retrying') continue;
      const ff = f.bytesTotal ? f.bytesDone / f.bytesTotal : 0;
      lines.push(`  ${f.name}  [${bar(ff, 20)}] ${(ff * 100).toFixed(0)}%`);
      if (lines.length > 8) break;
    }
    let out = '';
    if (this.drawnLines > 0) out += `\x1b[${this.drawnLines}A`;
    for (const line of lines) out += `\x1b[2K${line}\n`;
    for (let i = lines.length; i < this.drawnLines; i++) out += '\x1b[2K\n';
    if (this.drawnLines > lines.length) {
      out += `\x1b[${this.drawnLines - lines.length}A`;
    }
    this.stream.write(out);
    this.drawnLines = lines.length;
  }

  private printChanges(snap: TransferSnapshot): void {
    for (const f of snap.files) {
      const key = `${f.name}`;
      const state = f.state + (f.error ?? '');
      if (this.seenStates.get(key) === state) continue;
      this.seenStates.set(key, state);
      if (f.state === 'queued') continue;
      const detail = f.error ? `: ${f.error}` : '';
      this.stream.write(
        `${f.state.padEnd(9)} ${f.name} (${formatBytes(f.bytesTotal)})${detail}\n`,
      );
    }
  }
}
