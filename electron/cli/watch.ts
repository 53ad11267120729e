/**
 * `gencove-desktop watch <folder> --project-id ID`: watch a sequencer's
 * output folder in the foreground and upload each finished run once,
 * assigned to the project. One line per change of a run's state (JSON
 * lines with --json); Ctrl-C stops watching (uploads in progress are kept
 * in the journal and continued by the next start). With --once, deliver
 * what is complete now, wait for those uploads, print a summary and exit.
 */
import path from 'node:path';

import type { WatchFolderView, WatchRunView } from '../../shared/domain.ts';
import { Engine } from '../engine/engine.ts';
import { ValidationError } from '../engine/errors.ts';
import { WatchService } from '../engine/watch/watchService.ts';
import type { AddWatchFolderOptions } from '../engine/watch/watchService.ts';
import { connect, engineDir } from './context.ts';
import type { GlobalOptions } from './context.ts';

/** Options of `watchCommand` (commander's names for the flags). */
export interface WatchCommandOptions extends GlobalOptions {
  projectId?: string;
  destination?: string;
  /** JSON text, as typed. */
  metadata?: string;
  poll?: boolean;
  /** Seconds; a string straight from the command line is accepted. */
  settleSeconds?: number | string;
  includeUndetermined?: boolean;
  once?: boolean;
}

const UUID =
  /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * checkWatchArguments turns the command line into folder options, or
 * throws a ValidationError saying which option is wrong and why. The folder
 * need not exist (it is watched until it appears).
 */
export function checkWatchArguments(
  folder: string,
  opts: WatchCommandOptions,
): AddWatchFolderOptions {
  if (typeof folder !== 'string' || folder.trim() === '') {
    throw new ValidationError('Give the folder to watch');
  }
  if (!opts.projectId) {
    throw new ValidationError(
      '--project-id is required: the project the runs are assigned to',
    );
  }
  if (!UUID.test(opts.projectId)) {
    throw new ValidationError(
      `--project-id "${opts.projectId}" is not a project UUID`,
    );
  }
  if (
    opts.destination !== undefined &&
    !opts.destination.startsWith('gncv://')
  ) {
    throw new ValidationError(
      `--destination "${opts.destination}" must start with gncv:// (for example gncv://my-project/runs/)`,
    );
  }
  let metadata: unknown;
  if (opts.metadata !== undefined) {
    try {
      metadata = JSON.parse(opts.metadata);
    } catch (err) {
      throw new ValidationError(
        `--metadata is not valid JSON: ${(err as Error).message}`,
      );
    }
  }
  let settleSeconds: number | undefined;
  if (opts.settleSeconds !== undefined) {
    settleSeconds =
      typeof opts.settleSeconds === 'number'
        ? opts.settleSeconds
        : Number(opts.settleSeconds);
    if (
      !Number.isFinite(settleSeconds) ||
      settleSeconds < 0 ||
      String(opts.settleSeconds).trim() === ''
    ) {
      throw new ValidationError(
        `--settle-seconds "${opts.settleSeconds}" is not a number of seconds (0 or more)`,
      );
    }
  }
  return {
    path: path.resolve(folder),
    projectId: opts.projectId,
    destination: opts.destination,
    metadata,
    polling: opts.poll === true,
    settleSeconds,
    includeUndetermined: opts.includeUndetermined === true,
  };
}

/** watchCommand runs `gencove-desktop watch`; sets process.exitCode. */
export async function watchCommand(
  folder: string,
  opts: WatchCommandOptions,
): Promise<void> {
  const options = checkWatchArguments(folder, opts);
  const { client, host } = await connect(opts);
  const engine = new Engine({
    dataDir: engineDir(opts, host),
    client,
    log: (level, msg) => {
      if (level === 'error') process.stderr.write(`${msg}\n`);
    },
  });
  const service = new WatchService({
    engine,
    client,
    log: (level, msg) => {
      if (level === 'error' || level === 'warn')
        process.stderr.write(`${msg}\n`);
    },
  });
  const printer = new WatchPrinter(opts.json === true);
  let unsubscribeRuns = (): void => {};
  let unsubscribeFolders = (): void => {};
  // The service's timers do not hold the process open (a settle wait with
  // nothing else pending would end it with exit code 13): this one does.
  const keepAlive = setInterval(() => {}, 60_000);
  try {
    const added = service.addFolder(options);
    // Only this folder is printed (and watched): the journal is shared with
    // the desktop app, which may have watch folders of its own.
    unsubscribeRuns = service.onDidChangeRun((e) => {
      if (e.folderId === added.id) printer.run(e.run);
    });
    unsubscribeFolders = service.onDidChangeFolder((f) => {
      if (f.id === added.id) printer.folder(f);
    });
    if (opts.once) {
      const view = await service.deliverOnce(added.id);
      printer.summary(view);
      process.exitCode = exitCodeForFolder(view);
      return;
    }
    await service.start({ folderIds: [added.id] });
    await untilInterrupted();
    process.stderr.write(
      '\nStopping: uploads in progress continue on the next start.\n',
    );
    await service.stop();
  } finally {
    clearInterval(keepAlive);
    unsubscribeRuns();
    unsubscribeFolders();
    await service.stop().catch(() => {});
    await engine.close();
    client.close();
  }
}

/**
 * exitCodeForFolder is 0 when the folder could be read and no run of it
 * is failed, else 1.
 */
export function exitCodeForFolder(view: WatchFolderView): number {
  if (view.status === 'missing' || view.status === 'unreadable') return 1;
  return view.runs.some((r) => r.state === 'failed') ? 1 : 0;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Prints a line per change of a run's state or message, or a folder's status. */
class WatchPrinter {
  readonly #isJson: boolean;
  readonly #lastRun = new Map<string, string>();
  #lastFolder = '';

  constructor(isJson: boolean) {
    this.#isJson = isJson;
  }

  run(run: WatchRunView): void {
    const key = `${run.state}\u0000${run.message}`;
    if (this.#lastRun.get(run.path) === key) return;
    this.#lastRun.set(run.path, key);
    if (this.#isJson) {
      process.stdout.write(`${JSON.stringify({ event: 'run', run })}\n`);
      return;
    }
    process.stdout.write(
      `${stamp()} ${run.name}  ${run.state}: ${run.message}\n`,
    );
  }

  folder(folder: WatchFolderView): void {
    const key = `${folder.status}\u0000${folder.message}`;
    if (key === this.#lastFolder) return;
    this.#lastFolder = key;
    if (this.#isJson) {
      process.stdout.write(
        `${JSON.stringify({ event: 'folder', folder: { ...folder, runs: undefined } })}\n`,
      );
      return;
    }
    process.stdout.write(
      `${stamp()} [${folder.path}] ${folder.status}: ${folder.message}\n`,
    );
  }

  summary(view: WatchFolderView): void {
    if (this.#isJson) {
      process.stdout.write(
        `${JSON.stringify({ event: 'summary', folder: view })}\n`,
      );
      return;
    }
    const counts = new Map<string, number>();
    for (const run of view.runs)
      counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
    const parts = [...counts].map(([state, n]) => `${n} ${state}`);
    const lines = [
      `${view.path}: ${view.runs.length} run folder(s)${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`,
    ];
    for (const run of view.runs) {
      const detail =
        run.state === 'assigned'
          ? run.assigned.map((a) => `${a.clientId}=${a.sampleId}`).join(', ')
          : run.message;
      lines.push(`  ${run.name}  ${run.state}${detail ? `: ${detail}` : ''}`);
    }
    if (view.status === 'missing' || view.status === 'unreadable')
      lines.push(`  ${view.message}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

function stamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}
