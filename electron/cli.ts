/**
 * `gencove-desktop`: the command line over the same engine as the desktop
 * app. Every command returns an exit code: 0 success, 1 failure, 2 a usage
 * error (bad option or argument).
 */
import { realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError, Option } from 'commander';

import { tuneHeapForTransfers } from './engine/heap.ts';

// Node caches the compiled modules (TypeScript already stripped) in its
// compile cache (NODE_COMPILE_CACHE, else a folder in the temp dir), so a
// second start does not strip and compile them again; NODE_DISABLE_COMPILE_CACHE
// turns it off. It applies to modules loaded from here on, which is why
// every command below is imported only when it runs.
enableCompileCache();
tuneHeapForTransfers();

/** The signature commander calls an action with. */
type Action = (...args: never[]) => Promise<void>;

/**
 * lazy returns an action that loads its command's module when it runs, so
 * that a command only pays for the modules it needs (`--help` for none).
 */
function lazy<M>(
  load: () => Promise<M>,
  pick: (module: M) => Action,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const action = pick(await load()) as (...a: unknown[]) => Promise<void>;
    await action(...args);
  };
}

/** Adds the options every platform command accepts. */
function withConnection(cmd: Command): Command {
  return cmd
    .option(
      '--host <host>',
      'sandbox (default), production, staging or an http(s) URL; or GENCOVE_HOST',
    )
    .option('--email <email>', 'account email (or GENCOVE_EMAIL)')
    .option('--password <password>', 'account password (or GENCOVE_PASSWORD)')
    .option('--api-key <key>', 'API key (or GENCOVE_API_KEY)')
    .option(
      '--data-dir <dir>',
      'where the journal and sandbox data live (or GENCOVE_DESKTOP_HOME)',
    )
    .option('--json', 'print machine-readable JSON on stdout');
}

function buildProgram(): Command {
  const program = new Command('gencove-desktop')
    .description(
      'Send FASTQ files to the Gencove platform (or the built-in sandbox) and take the results back.',
    )
    .showHelpAfterError()
    .exitOverride();

  program
    .command('sandbox')
    .description('run the built-in sandbox platform in the foreground')
    .option('--port <n>', 'port to listen on (default: a free port)', parsePort)
    .option('--data <dir>', 'data folder (default: the app data folder)')
    .option(
      '--step-ms <ms>',
      'pipeline clock: time per analysis step',
      parsePositiveInt,
    )
    .option('--data-dir <dir>', 'app data folder (or GENCOVE_DESKTOP_HOME)')
    .action(
      lazy(
        () => import('./cli/sandbox.ts'),
        (m) => m.sandboxCommand,
      ),
    );

  withConnection(program.command('projects'))
    .description('list projects')
    .option('--search <text>', 'only projects whose name contains this')
    .action(
      lazy(
        () => import('./cli/projects.ts'),
        (m) => m.projectsCommand,
      ),
    );

  withConnection(program.command('samples'))
    .description("list a project's samples with status and QC")
    .argument('<project-id>', 'project UUID')
    .addOption(
      new Option('--status <status>', 'filter by status')
        .choices(['all', 'completed', 'failed', 'running', 'succeeded'])
        .default('all'),
    )
    .action(
      lazy(
        () => import('./cli/projects.ts'),
        (m) => m.samplesCommand,
      ),
    );

  withConnection(program.command('upload'))
    .description(
      'plan and upload a folder of FASTQ files; with --run-project-id assign them so analysis starts',
    )
    .argument('<source>', 'folder (or FASTQ file) to upload')
    .argument('[destination]', 'gncv://folder/ (default: generated)')
    .option('--run-project-id <id>', 'project to assign the uploads to')
    .option('--metadata <json>', 'JSON metadata for every assigned sample')
    .option('--include-undetermined', 'upload Undetermined_* files as a sample')
    .option('--no-verify', 'do not read every file before planning')
    .option('--dry-run', 'print the plan and stop')
    .action(
      lazy(
        () => import('./cli/upload.ts'),
        (m) => m.uploadCommand,
      ),
    );

  withConnection(program.command('download'))
    .description("download deliverables of a project's samples")
    .argument('<destination>', 'local folder')
    .option('--project-id <id>', 'every sample of this project')
    .option('--sample-ids <ids>', 'comma-separated sample UUIDs')
    .option('--file-types <types>', 'comma-separated file types (prefixes)')
    .option('--download-template <template>', 'path template under the folder')
    .option('--no-skip-existing', 'download again files that are already there')
    .action(
      lazy(
        () => import('./cli/download.ts'),
        (m) => m.downloadCommand,
      ),
    );

  withConnection(program.command('serve'))
    .description(
      'serve the app to a browser on 127.0.0.1 (for machines without a display)',
    )
    .option('--port <n>', 'port (default: a free port)', parsePort)
    .action(
      lazy(
        () => import('./cli/serve.ts'),
        (m) => m.serveCommand,
      ),
    );

  withConnection(program.command('watch'))
    .description(
      "watch a sequencer's output folder and deliver each finished run",
    )
    .argument('<folder>', 'folder the instrument writes runs to')
    .requiredOption('--project-id <id>', 'project new runs are assigned to')
    .option(
      '--destination <gncv>',
      'destination prefix (default: gncv://<project name>/<run folder>/)',
    )
    .option('--metadata <json>', 'JSON metadata for every assigned sample')
    .option('--poll', 'poll the folder (network shares)')
    .option(
      '--settle-seconds <n>',
      'how long FASTQ files must stay unchanged (default 60)',
      parsePositiveInt,
    )
    .option('--include-undetermined', 'upload Undetermined_* files too')
    .option('--once', 'deliver the runs that are complete now, then exit')
    .action(
      lazy(
        () => import('./cli/watch.ts'),
        (m) => m.watchCommand,
      ),
    );

  return program;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new CommanderError(2, 'usage', `--port ${value} is not a port number (0-65535)`);
  }
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new CommanderError(2, 'usage', `${value} is not a positive whole number`);
  }
  return n;
}

/**
 * main runs the command line with the given arguments (without `node` and
 * the script) and resolves to the exit code; it never throws.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({
    writeErr: (s) => process.stderr.write(s),
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return 0;
      }
      if (err.code === 'usage') process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    // Loaded here, not up front: a command that fails has loaded them anyway.
    const [{ toUserMessage }, { UsageError }] = await Promise.all([
      import('./engine/errors.ts'),
      import('./cli/context.ts'),
    ]);
    process.stderr.write(`error: ${toUserMessage(err)}\n`);
    if (err instanceof UsageError) return 2;
    if (process.env.GENCOVE_DESKTOP_DEBUG && err instanceof Error) {
      process.stderr.write(`${err.stack}\n`);
    }
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
