/**
 * `gencove-desktop serve`: the desktop app's interface in a browser, on
 * 127.0.0.1 only, behind a random token in the URL.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServe } from '../serve.ts';
import { appDataDir } from './context.ts';
import type { GlobalOptions } from './context.ts';

export async function serveCommand(opts: GlobalOptions & { port?: number }): Promise<void> {
  const rendererDir = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../dist/renderer',
  );
  const server = await startServe({
    port: opts.port,
    dataDir: appDataDir(opts.dataDir),
    host: '127.0.0.1',
    rendererDir,
    startInSandbox: true,
  });
  process.stdout.write(
    `Gencove Desktop is served at:\n\n  ${server.url}\n\nOpen it in a browser on this machine. Press Ctrl-C to stop.\n`,
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
  await server.close();
}
