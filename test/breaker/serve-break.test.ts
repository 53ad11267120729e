/**
 * Regression tests for bugs found by breaking the app in a browser and serve
 * mode (issue #3). Each test runs the real serve mode (built renderer, real
 * AppService with its in-process sandbox) on loopback, talks to it over its
 * WebSocket or drives Debian's Chromium, and fails while its bug is present.
 */
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import type { Result, SessionInfo } from '../../shared/contract.ts';
import type { ProjectSummary, TransferSnapshot } from '../../shared/domain.ts';
import { startServe } from '../../electron/serve.ts';
import type { ServeHandle } from '../../electron/serve.ts';
import { makeTempDir, repoRoot, sharedData } from '../helpers.ts';

const rendererDir = path.join(repoRoot, 'dist', 'renderer');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const byTestId = (id: string) => `[data-testid="${id}"]`;

/** A client of serve mode's WebSocket, as the page's bridge is. */
class SocketClient {
  #ws: WebSocket;
  #next = 1;
  #waiting = new Map<number, (result: Result<unknown>) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as {
        id?: number;
        result?: Result<unknown>;
      };
      if (frame.id !== undefined && frame.result) {
        this.#waiting.get(frame.id)?.(frame.result);
        this.#waiting.delete(frame.id);
      }
    });
  }

  static async open(serve: ServeHandle): Promise<SocketClient> {
    const token = new URL(serve.url).searchParams.get('token');
    const origin = `http://127.0.0.1:${serve.port}`;
    const ws = new WebSocket(
      `ws://127.0.0.1:${serve.port}/ws?token=${token}`,
      { headers: { Origin: origin } },
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new SocketClient(ws);
  }

  call<T>(channel: string, request: unknown): Promise<Result<T>> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve as (r: Result<unknown>) => void);
      this.#ws.send(JSON.stringify({ id, channel, request }));
    });
  }

  async value<T>(channel: string, request: unknown): Promise<T> {
    const result = await this.call<T>(channel, request);
    if (!result.ok) {
      const { code, message } = result.error;
      throw new Error(`${channel}: ${code} ${message}`);
    }
    return result.value;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Resolves with `promise`, or with `fallback` after `ms`. */
function within<T, F>(promise: Promise<T>, ms: number, fallback: F) {
  return Promise.race([
    promise,
    new Promise<F>((resolve) => setTimeout(() => resolve(fallback), ms)),
  ]);
}

function assertBuilt(): void {
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error(
      `The renderer is not built (${rendererDir} has no index.html): run \`npm run build:renderer\` first.`,
    );
  }
}

describe('serve mode sessions', () => {
  let root: string;
  const serves: ServeHandle[] = [];
  const sockets: net.Socket[] = [];
  let silent: net.Server | undefined;

  beforeAll(() => {
    assertBuilt();
    root = makeTempDir('serve-break');
  });

  afterAll(async () => {
    // Let a sign-in stuck on the silent server fail before closing.
    for (const s of sockets) s.destroy();
    silent?.close();
    for (const serve of serves) await serve.close();
    await fs.rm(root, { recursive: true, force: true });
  }, 60_000);

  it('signs in to the sandbox while an earlier sign-in waits on a host that never answers', async () => {
    // A server that accepts connections and never says a word: a proxy or a
    // firewall that swallows packets looks like this to the app.
    silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) =>
      silent!.listen(0, '127.0.0.1', () => resolve()),
    );
    const silentPort = (silent.address() as net.AddressInfo).port;

    const serve = await startServe({
      dataDir: path.join(root, 'hung'),
      rendererDir,
      startInSandbox: true,
    });
    serves.push(serve);
    const client = await SocketClient.open(serve);

    const stuck = client.call<SessionInfo>('session:signIn', {
      host: { kind: 'custom', url: `http://127.0.0.1:${silentPort}` },
      credentials: { kind: 'api-key', apiKey: 'no-such-key' },
    });
    // The first sign-in reaches the silent host once the start-up restore of
    // the sandbox session is done.
    for (let i = 0; i < 100 && sockets.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sockets.length).toBeGreaterThan(0);

    // The user gives up on that host and picks the sandbox instead.
    const sandbox = await within(
      client.call<SessionInfo>('session:signIn', {
        host: { kind: 'sandbox' },
        credentials: { kind: 'sandbox-demo' },
      }),
      15_000,
      'still waiting after 15 s' as const,
    );
    expect(sandbox).toMatchObject({
      ok: true,
      value: { signedIn: true, sandbox: true },
    });
    client.close();
    void stuck;
  }, 30_000);

  it('reports a sign-in as remembered only when the next start is signed in', async () => {
    const dataDir = path.join(root, 'remember');
    const first = await startServe({ dataDir, rendererDir });
    const client = await SocketClient.open(first);
    const info = await client.value<SessionInfo>('session:signIn', {
      host: { kind: 'sandbox' },
      credentials: { kind: 'sandbox-demo' },
      remember: true,
    });
    expect(info.signedIn).toBe(true);
    client.close();
    await first.close();

    // `gencove-desktop serve` started again on the same data folder.
    const second = await startServe({ dataDir, rendererDir });
    serves.push(second);
    const again = await SocketClient.open(second);
    const after = await again.value<SessionInfo>('session:get', {});
    again.close();
    // The sign-in page promised "Stay signed in on this computer".
    expect({ remembered: info.remembered ?? false }).toEqual({
      remembered: after.signedIn,
    });
  }, 60_000);
});

describe('serve mode in a browser', () => {
  let root: string;
  let serve: ServeHandle;
  let browser: Browser;
  let page: Page;
  let project: ProjectSummary;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBuilt();
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM} (install it with \`apt-get install -y chromium\`).`,
      );
    }
    root = makeTempDir('serve-break-ui');
    const input = path.join(root, 'input');
    await fs.mkdir(input, { recursive: true });
    for (const name of ['SAMPLE1_R1.fastq.gz', 'SAMPLE1_R2.fastq.gz']) {
      await fs.copyFile(
        path.join(sharedData, 'naming', name),
        path.join(input, name),
      );
    }

    serve = await startServe({
      dataDir: path.join(root, 'app-data'),
      rendererDir,
      startInSandbox: true,
    });

    // One sample in a project, so that the project can be downloaded.
    const client = await SocketClient.open(serve);
    project = (await client.value<ProjectSummary[]>('projects:list', {}))[0];
    const plan = await client.value<{ id: string }>('plan:create', {
      paths: [input],
    });
    const { jobId } = await client.value<{ jobId: string }>('upload:start', {
      planId: plan.id,
      projectId: project.id,
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const jobs = await client.value<TransferSnapshot[]>('transfers:list', {});
      const job = jobs.find((j) => j.id === jobId);
      if (job?.state === 'done') break;
      if (job && ['failed', 'cancelled'].includes(job.state)) {
        throw new Error(`The setup upload ended ${job.state}`);
      }
      if (Date.now() > deadline) throw new Error('The setup upload hung');
      await new Promise((r) => setTimeout(r, 200));
    }
    client.close();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(serve.url);
    await page
      .locator(`${byTestId('project-row')}[data-project-id="${project.id}"]`)
      .locator(byTestId('project-open'))
      .click();
    await page.locator(byTestId('sample-row')).first().waitFor();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('closes the download dialog with Escape after "Default" restored the template', async () => {
    await page.locator(byTestId('download-project-button')).click();
    const dialog = page.locator(byTestId('download-dialog'));
    await dialog.waitFor();
    await dialog
      .locator(byTestId('download-template'))
      .fill('{client_id}/{file_type}.{file_extension}');
    // The button disables itself once the template is the default again.
    const reset = dialog.locator(byTestId('download-template-reset'));
    await reset.click();
    await expect.poll(() => reset.isDisabled()).toBe(true);

    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count(), { timeout: 3_000 }).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('offers no "Open folder" for a finished download when the browser cannot open one', async () => {
    // Independent of the test above: close its dialog if Escape did not.
    const cancel = page.locator(byTestId('download-cancel'));
    if ((await cancel.count()) > 0) await cancel.click();
    await page.locator(byTestId('download-project-button')).click();
    const dialog = page.locator(byTestId('download-dialog'));
    await dialog.waitFor();
    const destination = path.join(root, 'downloads');
    await dialog.locator(byTestId('download-destination')).fill(destination);
    await dialog.locator(byTestId('download-submit')).click();

    const row = page.locator(
      `${byTestId('transfer-row')}[data-kind="download"]`,
    );
    await expect
      .poll(() => row.first().getAttribute('data-state'), { timeout: 30_000 })
      .toBe('done');
    // Serve mode answers fs:openFolder with 'unsupported', so the button
    // could only ever end in an error toast.
    const openFolder = row.first().locator(byTestId('transfer-open-folder'));
    expect(await openFolder.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 45_000);
});
