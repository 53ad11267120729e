/**
 * What the end-to-end tests share: Debian's Chromium driven by
 * playwright-core, against serve mode over a real AppService (and so the
 * built-in sandbox), with a fresh browser profile per test file.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

import { startServe } from '../../electron/serve.ts';
import type { ServeHandle } from '../../electron/serve.ts';
import { AppService } from '../../electron/service/appService.ts';
import type { AppServiceOptions } from '../../electron/service/appService.ts';
import { MemorySecretStore } from '../../electron/service/secretStore.ts';
import { SHARED_DATA } from '../shared.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const sharedData = SHARED_DATA;
export const rendererDir = path.join(repoRoot, 'dist', 'renderer');
export const screenshotDir = path.join(repoRoot, 'test-artifacts', 'screenshots');
export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with no network of its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export const byTestId = (id: string) => `[data-testid="${id}"]`;

/** assertCanRun fails with a clear message when Chromium or the built renderer is missing. */
export function assertCanRun(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the end-to-end test needs it (install it with \`apt-get install -y chromium\`).`,
    );
  }
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error(
      `The renderer is not built (${rendererDir} has no index.html): run \`npm run build:renderer\` first.`,
    );
  }
}

export interface ServedApp {
  service: AppService;
  serve: ServeHandle;
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the page, for a final check. */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * openServedApp starts serve mode over a new AppService whose data lives in
 * `root/app-data`, and a light-themed Chromium page at 1280x860.
 */
export async function openServedApp(
  root: string,
  options: Partial<AppServiceOptions> = {},
): Promise<ServedApp> {
  const dataDir = path.join(root, 'app-data');
  const service = new AppService({
    dataDir,
    mode: 'serve',
    secretStore: new MemorySecretStore(),
    sandboxStepMs: 150,
    ...options,
  });
  const serve = await startServe({
    dataDir,
    rendererDir,
    host: '127.0.0.1',
    service,
  });
  const context = await chromium.launchPersistentContext(
    path.join(root, 'chromium-profile'),
    {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      colorScheme: 'light',
      viewport: { width: 1280, height: 860 },
    },
  );
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return {
    service,
    serve,
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      await serve.close();
      await service.close();
    },
  };
}
