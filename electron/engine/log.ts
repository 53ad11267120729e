/**
 * Named loggers over one sink.
 *
 * Levels, and what they mean here:
 * - debug: retries, resumes and other internals;
 * - info: each finished transfer (object uploaded, batch assigned);
 * - warn: a problem that was recovered from (skipped, restarted);
 * - error: what the user must know (a job or file failed).
 *
 * Messages start with `Module/operation(id):` and name their subject.
 * Never pass credentials, tokens or full local paths of samples.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log sink: the engine's `log` option. */
export type LogSink = (level: LogLevel, msg: string) => void;

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** The sink form, for modules that take `(level, msg)`. */
  sink: LogSink;
}

/** A sink that drops everything. */
export const silentSink: LogSink = () => {};

/**
 * createLogger returns a logger that prefixes each message with `[name]`
 * and hands it to `sink`. A throwing sink never breaks the caller.
 */
export function createLogger(name: string, sink: LogSink = silentSink): Logger {
  const write: LogSink = (level, msg) => {
    try {
      sink(level, `[${name}] ${msg}`);
    } catch {
      // Logging must not change what the engine does.
    }
  };
  return {
    debug: (msg) => write('debug', msg),
    info: (msg) => write('info', msg),
    warn: (msg) => write('warn', msg),
    error: (msg) => write('error', msg),
    sink: write,
  };
}
