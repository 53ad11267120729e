#!/usr/bin/env node
// Entry point of the `gencove-desktop` command. The command line is written
// in TypeScript and runs through Node's own type stripping, so this shim only
// checks the Node version and loads it (re-running Node with the stripping
// flag on versions where it is not on by default).
import { spawnSync } from 'node:child_process';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(
    `gencove-desktop needs Node.js 22.13 or newer (24 recommended); this is ${process.version}.\n`,
  );
  process.exit(1);
}

const cli = fileURLToPath(new URL('../electron/cli.ts', import.meta.url));
if (process.features.typescript) {
  // Compiled modules (TypeScript already stripped) are cached across starts
  // (NODE_COMPILE_CACHE, else a folder in the temp dir); see electron/cli.ts.
  module.enableCompileCache?.();
  const { main } = await import(cli);
  process.exitCode = await main(process.argv.slice(2));
} else {
  const result = spawnSync(
    process.execPath,
    ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', cli, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
