/**
 * Runs the sandbox in the foreground:
 *
 *   node sandbox/main.ts --port N --data DIR [--step-ms N] [--mfa-user]
 *
 * Prints the API URL and the demo account, then serves until SIGINT or
 * SIGTERM, when it stops cleanly (exit code 0). Bad arguments exit with 2,
 * a failure to start with 1.
 */
import { parseArgs } from 'node:util';

const USAGE =
  'usage: node sandbox/main.ts --port N --data DIR [--step-ms N] [--mfa-user] [--verbose]';

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(value)) {
    throw new Error(
      `--${name} must be a whole number, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        data: { type: 'string' },
        'step-ms': { type: 'string' },
        'mfa-user': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.data) {
    process.stderr.write(`--data DIR is required\n${USAGE}\n`);
    return 2;
  }
  let port: number | undefined;
  let stepMs: number | undefined;
  try {
    port = integer('port', args.port);
    stepMs = integer('step-ms', args['step-ms']);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }

  // Loaded after the arguments are checked, so that usage errors are quick.
  const { MFA_EMAIL, MFA_OTP, startSandbox } = await import('./server.ts');
  let sandbox;
  try {
    sandbox = await startSandbox({
      dataDir: args.data,
      port,
      pipelineStepMs: stepMs,
      mfaUser: args['mfa-user'] === true,
      log: args.verbose
        ? (line) => process.stderr.write(`${line}\n`)
        : undefined,
    });
  } catch (error) {
    process.stderr.write(
      `sandbox failed to start: ${(error as Error).message}\n`,
    );
    return 1;
  }
  const { info } = sandbox;
  process.stdout.write(
    [
      `Gencove sandbox listening on ${info.api_url}`,
      `  S3 endpoint: ${info.s3_endpoint}`,
      `  email:       ${info.email}`,
      `  password:    ${info.password}`,
      `  API key:     ${info.api_key}`,
      `  projects:    ${info.project_ids.join(', ')}`,
      ...(args['mfa-user']
        ? [
            `  MFA account: ${MFA_EMAIL} (same password, one-time password ${MFA_OTP})`,
          ]
        : []),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.close();
  process.stdout.write('sandbox stopped\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  },
);
