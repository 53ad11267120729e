/**
 * `gencove-desktop sandbox`: the built-in platform in the foreground, until
 * Ctrl-C.
 */
import path from 'node:path';

import { startSandbox } from '../../sandbox/server.ts';
import { defaultSandboxDir } from './context.ts';

interface SandboxCommandOptions {
  port?: number;
  data?: string;
  stepMs?: number;
  dataDir?: string;
}

export async function sandboxCommand(opts: SandboxCommandOptions): Promise<void> {
  const dataDir = opts.data ? path.resolve(opts.data) : defaultSandboxDir(opts.dataDir);
  const sandbox = await startSandbox({
    dataDir,
    port: opts.port,
    pipelineStepMs: opts.stepMs,
  });
  const { info } = sandbox;
  process.stdout.write(
    [
      `Gencove sandbox running at ${info.api_url}`,
      `  data:     ${dataDir} (details in ${path.join(dataDir, 'sandbox.json')})`,
      `  email:    ${info.email}`,
      `  password: ${info.password}`,
      `  api key:  ${info.api_key}`,
      `  projects: ${info.project_ids.join(', ')}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.close();
  process.stdout.write('Sandbox stopped.\n');
}
