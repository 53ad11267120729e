/**
 * Watch folders end to end, as a user clicks: serve mode with the built
 * renderer in Debian's Chromium and the built-in sandbox behind it. The user
 * adds a watch folder with the folder browser; a real iSeq run folder
 * (copied from ../shared/data to a temp folder) is then copied into the
 * watched folder the way an instrument finishes it (completion marker
 * last); the run goes to assigned by itself and its samples appear in the
 * project. Every screen is saved, light and dark, under
 * test-artifacts/screenshots/ as watch-*.png.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { WatchTimings } from '../../electron/engine/watch/watchService.ts';
import type { ServeHandle } from '../../electron/serve.ts';
import type { AppService } from '../../electron/service/appService.ts';

import {
  assertCanRun,
  byTestId,
  openServedApp,
  screenshotDir,
  sharedData,
} from './harness.ts';
import type { ServedApp } from './harness.ts';

const RUN_NAME = '20200123_FS10000482_42_BPG80712-1010';
/** The marker the iSeq writes last (its copy to the output folder is done). */
const LAST_MARKER = 'CopyComplete.txt';
/** The run's FASTQ folder (data README, run folder layouts). */
const FASTQ_DIR = path.join('Alignment_1', '20200124_110517', 'Fastq');

/** Short timings: the defaults poll every few seconds. */
const FAST: Partial<WatchTimings> = {
  eventDelayMs: 100,
  waitingPollMs: 200,
  settlingPollMinMs: 100,
  settlingPollMaxMs: 300,
  notRunPollMs: 200,
  rescanMs: 1_000,
  pollingIntervalMs: 200,
  minGapMs: 200,
};


/** The client ids of the run's FASTQs: the text before `_S<n>_`, Undetermined left out. */
async function sampleNamesIn(fastqDir: string): Promise<string[]> {
  const names = new Set<string>();
  for (const file of await fs.readdir(fastqDir)) {
    const match = /^(.+?)_S\d+_/.exec(file);
    if (match && match[1] !== 'Undetermined') names.add(match[1]);
  }
  return [...names].sort();
}

describe('watch folders in a browser (serve mode)', () => {
  let root: string;
  let stagingRun: string;
  let watchedDir: string;
  let service: AppService;
  let serve: ServeHandle;
  let context: BrowserContext;
  let page: Page;
  let shot = 0;
  let app: ServedApp;

  /** Saves the current screen in light and in dark. */
  async function screenshot(name: string): Promise<void> {
    shot += 1;
    const prefix = `watch-${String(shot).padStart(2, '0')}`;
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      await page.evaluate(
        () =>
          new Promise((r) =>
            requestAnimationFrame(() => requestAnimationFrame(r)),
          ),
      );
      await page.screenshot({
        path: path.join(screenshotDir, `${prefix}-${name}-${colorScheme}.png`),
        fullPage: true,
      });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  beforeAll(async () => {
    assertCanRun();

    root = await fs.mkdtemp(path.join(os.tmpdir(), 'gencove-watch-e2e-'));
    stagingRun = path.join(root, 'staging', RUN_NAME);
    watchedDir = path.join(root, 'sequencer-output');
    await fs.cp(path.join(sharedData, 'runs', RUN_NAME), stagingRun, {
      recursive: true,
    });
    await fs.mkdir(watchedDir, { recursive: true });
    await fs.mkdir(screenshotDir, { recursive: true });

    app = await openServedApp(root, {
      downloadsDir: path.join(root, 'Downloads'),
      watchTimings: FAST,
    });
    ({ service, serve, context, page } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('adds a watch folder, and a run copied into it is uploaded and assigned to the project by itself', async () => {
    // Sign in to the built-in sandbox and open Watch folders.
    await page.goto(serve.url);
    await page.locator(byTestId('signin-host-sandbox')).check();
    await page.locator(byTestId('signin-sandbox-button')).click();
    await page.locator(byTestId('project-row')).first().waitFor();
    const [project] = await service.handle('projects:list', {});
    await page.locator(byTestId('nav-watch')).click();
    await page.locator(byTestId('watch-empty')).waitFor();
    await screenshot('empty');

    // Add the folder as a user does: the folder browser, the project, a
    // short settle time for the test, and metadata.
    await page.locator(byTestId('watch-add-button')).click();
    const dialog = page.locator(byTestId('watch-add-dialog'));
    await dialog.waitFor();
    await dialog.locator(byTestId('watch-add-browse')).click();
    const browser = page.locator(byTestId('folder-browser'));
    await browser.waitFor();
    await browser.locator(byTestId('folder-browser-go-input')).fill(watchedDir);
    await browser.locator(byTestId('folder-browser-go')).click();
    await expect
      .poll(() =>
        browser.locator(byTestId('folder-browser-path')).textContent(),
      )
      .toBe(watchedDir);
    await screenshot('folder-browser');
    await browser.locator(byTestId('folder-browser-confirm')).click();
    await dialog.waitFor();
    await expect
      .poll(() => dialog.locator(byTestId('watch-add-path')).inputValue())
      .toBe(watchedDir);
    await dialog
      .locator(byTestId('watch-add-project'))
      .selectOption(project.id);
    await dialog.locator(byTestId('watch-add-settle')).fill('0.5');
    await dialog
      .locator(byTestId('watch-add-metadata'))
      .fill('{"instrument": "iSeq 100", "batch": 42}');
    await expect
      .poll(() =>
        dialog.locator(byTestId('watch-add-destination-help')).textContent(),
      )
      .toMatch(/<run folder name>\/$/);
    await screenshot('add-dialog');
    await dialog.locator(byTestId('watch-add-submit')).click();
    const card = page.locator(byTestId('watch-folder'));
    await expect.poll(() => card.getAttribute('data-status')).toBe('watching');
    await expect
      .poll(() => card.locator(byTestId('watch-folder-path')).textContent())
      .toBe(watchedDir);

    // The instrument writes the run; its last marker is not there yet.
    await fs.cp(stagingRun, path.join(watchedDir, RUN_NAME), {
      recursive: true,
      filter: (source) => path.basename(source) !== LAST_MARKER,
    });
    const runRow = card.locator(byTestId('watch-run'));
    await expect
      .poll(() => runRow.getAttribute('data-state'))
      .toBe('waiting-for-run');
    await expect
      .poll(() => runRow.locator(byTestId('watch-run-markers')).textContent())
      .toContain(LAST_MARKER);
    await screenshot('waiting-for-run');

    // The instrument finishes: the run is uploaded and assigned by itself.
    await fs.copyFile(
      path.join(stagingRun, LAST_MARKER),
      path.join(watchedDir, RUN_NAME, LAST_MARKER),
    );
    // Stop early on a failed run, with its reason in the report.
    await expect
      .poll(() => runRow.getAttribute('data-state'), { timeout: 90_000 })
      .toMatch(/^(assigned|failed)$/);
    expect({
      state: await runRow.getAttribute('data-state'),
      message: await runRow
        .locator(byTestId('watch-run-message'))
        .textContent(),
    }).toMatchObject({ state: 'assigned' });
    await screenshot('assigned');

    const [folder] = await service.handle('watch:list', {});
    const run = folder!.runs.find((r) => r.name === RUN_NAME)!;
    const expected = await sampleNamesIn(path.join(stagingRun, FASTQ_DIR));
    expect(run.state).toBe('assigned');
    expect(run.assigned.map((a) => a.clientId).sort()).toEqual(expected);
    expect(await runRow.locator(byTestId('watch-run-name')).textContent()).toBe(
      RUN_NAME,
    );

    // The same plan preview as a dropped folder, read-only.
    await runRow.locator(byTestId('watch-run-show-plan')).click();
    const preview = page.locator(byTestId('plan-preview'));
    await preview.waitFor();
    await expect
      .poll(() => preview.locator(byTestId('plan-client-id')).allTextContents())
      .toEqual(expect.arrayContaining(expected));
    expect(await preview.locator(byTestId('plan-start')).count()).toBe(0);
    await screenshot('run-plan');
    await preview.locator(byTestId('plan-close')).click();
    await preview.waitFor({ state: 'detached' });

    // The upload job appears in Transfers.
    await page.locator(byTestId('nav-transfers')).click();
    const transfer = page.locator(
      `${byTestId('transfer-row')}[data-transfer-id="${run.jobId}"]`,
    );
    await expect.poll(() => transfer.getAttribute('data-state')).toBe('done');

    // Its samples are in the project, with the folder's metadata.
    await page.locator(byTestId('nav-watch')).click();
    await page
      .locator(byTestId('watch-run'))
      .locator(byTestId('watch-run-open-project'))
      .click();
    await page
      .locator(`${byTestId('project-detail')}[data-project-id="${project.id}"]`)
      .waitFor();
    const samples = await service.handle('samples:list', {
      projectId: project.id,
    });
    expect(samples.map((s) => s.id)).toEqual(
      expect.arrayContaining(run.assigned.map((a) => a.sampleId)),
    );
    const shown = page.locator(byTestId('sample-client-id'));
    await expect
      .poll(async () => (await shown.allTextContents()).sort())
      .toEqual(expect.arrayContaining(expected));
    const detail = await service.handle('samples:get', {
      sampleId: run.assigned[0]!.sampleId,
    });
    expect(detail.metadata).toEqual({ instrument: 'iSeq 100', batch: 42 });
    await screenshot('project-samples');

    expect(app.pageErrors).toEqual([]);
  }, 150_000);
});
