/**
 * End to end, as a user clicks: serve mode with the built renderer in
 * Debian's Chromium, the built-in sandbox behind it, and copies of real
 * FASTQs (a folder of pairs and a lane-split NextSeq run folder). Sign in,
 * open a project, pick the folders in the folder browser, check the plan,
 * upload, wait for the analysis, download the project and check the files
 * on disk. Every screen is saved, light and dark, under
 * test-artifacts/screenshots/.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type {
  SampleDetail,
  SampleRow,
  UploadPlan,
} from '../../shared/domain.ts';
import { buildPlan } from '../../electron/engine/scan/plan.ts';
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

const RUN_NAME = '180723_NB500892_0277_AHJYM2BGX7';

/** Samples of the run's sample sheet (data README, run folder 2). */
const RUN_SHEET_SAMPLES = 12;
/** The NextSeq run splits every sample over four lanes. */
const RUN_LANES = 4;
/** Read pairs under fastq/pairs (data README, read sources). */
const PAIR_FOLDERS = 4;


async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

describe('the app in a browser (serve mode)', () => {
  let root: string;
  let inputDir: string;
  let downloadsDir: string;
  let service: AppService;
  let serve: ServeHandle;
  let context: BrowserContext;
  let page: Page;
  let shot = 0;
  let app: ServedApp;

  /** Saves the current screen in light and in dark. */
  async function screenshot(name: string): Promise<void> {
    shot += 1;
    const prefix = String(shot).padStart(2, '0');
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      // Let the style change paint before the capture.
      await page.evaluate(
        () =>
          new Promise((r) =>
            requestAnimationFrame(() => requestAnimationFrame(r)),
          ),
      );
      await page.screenshot({
        path: path.join(screenshotDir, `${prefix}-${name}-${colorScheme}.png`),
      });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  beforeAll(async () => {
    assertCanRun();

    root = await fs.mkdtemp(path.join(os.tmpdir(), 'gencove-e2e-'));
    inputDir = path.join(root, 'input');
    downloadsDir = path.join(root, 'Downloads');
    await fs.cp(
      path.join(sharedData, 'fastq', 'pairs'),
      path.join(inputDir, 'pairs'),
      {
        recursive: true,
      },
    );
    await fs.cp(
      path.join(sharedData, 'runs', RUN_NAME),
      path.join(inputDir, RUN_NAME),
      {
        recursive: true,
      },
    );
    await fs.mkdir(screenshotDir, { recursive: true });

    app = await openServedApp(root, {
      downloadsDir,
    });
    ({ service, serve, context, page } = app);
  });

  afterAll(async () => {
    await app?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('signs in, uploads two folders into a project, waits for the analysis and downloads it', async () => {
    // Sign in to the built-in sandbox.
    await page.goto(serve.url);
    await page.locator(byTestId('signin')).waitFor();
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    await screenshot('signin');
    await page.locator(byTestId('signin-host-sandbox')).check();
    await page.locator(byTestId('signin-sandbox-button')).click();

    // Projects: the sandbox's, as the API lists them.
    const projectRows = page.locator(byTestId('project-row'));
    await projectRows.first().waitFor();
    const projects = await service.handle('projects:list', {});
    await expect.poll(() => projectRows.count()).toBe(projects.length);
    await expect
      .poll(() => page.locator(byTestId('session-host')).textContent())
      .toBeTruthy();
    await screenshot('projects');
    const project = projects[0];
    await page
      .locator(`${byTestId('project-row')}[data-project-id="${project.id}"]`)
      .locator(byTestId('project-open'))
      .click();
    await page
      .locator(`${byTestId('project-detail')}[data-project-id="${project.id}"]`)
      .waitFor();
    await expect
      .poll(() => page.locator(byTestId('project-name')).textContent())
      .toBe(project.name);
    await screenshot('project-empty');

    // Pick the two folders in the folder browser.
    const pairsDir = path.join(inputDir, 'pairs');
    const runDir = path.join(inputDir, RUN_NAME);
    await page.locator(byTestId('upload-button')).click();
    const browser = page.locator(byTestId('folder-browser'));
    await browser.waitFor();
    await browser.locator(byTestId('folder-browser-go-input')).fill(inputDir);
    await browser.locator(byTestId('folder-browser-go')).click();
    await expect
      .poll(() =>
        browser.locator(byTestId('folder-browser-path')).textContent(),
      )
      .toBe(inputDir);
    for (const dir of [pairsDir, runDir]) {
      await browser
        .locator(`${byTestId('folder-entry')}[data-path="${dir}"]`)
        .locator(byTestId('folder-entry-add'))
        .click();
    }
    await expect
      .poll(() =>
        browser.locator(byTestId('folder-browser-selected-item')).count(),
      )
      .toBe(2);
    await screenshot('folder-browser');
    await browser.locator(byTestId('folder-browser-confirm')).click();

    // The plan: what the planner finds in these folders, shown as it is.
    const preview = page.locator(byTestId('plan-preview'));
    await preview.locator(byTestId('plan-summary')).waitFor();
    const expected: UploadPlan = await buildPlan([pairsDir, runDir]);
    const sampleRows = preview.locator(byTestId('plan-sample-row'));
    await expect.poll(() => sampleRows.count()).toBe(expected.samples.length);
    expect(expected.samples.length).toBe(RUN_SHEET_SAMPLES + PAIR_FOLDERS);
    for (const sample of expected.samples) {
      const row = preview.locator(
        `${byTestId('plan-sample-row')}[data-sample-key="${sample.key}"]`,
      );
      await expect
        .poll(() => row.getAttribute('data-included'))
        .toBe(String(sample.included));
      await expect
        .poll(() => row.locator(byTestId('plan-client-id-input')).inputValue())
        .toBe(sample.clientId);
      const r1Files = row.locator(
        `${byTestId('plan-read')}[data-read="R1"] ${byTestId('plan-file')}`,
      );
      await expect
        .poll(() => r1Files.count())
        .toBe(sample.r1?.files.length ?? 0);
    }
    const runSamples = expected.samples.filter((s) =>
      s.r1?.files[0]?.path.startsWith(runDir + path.sep),
    );
    expect(runSamples).toHaveLength(RUN_SHEET_SAMPLES);
    for (const sample of runSamples) {
      expect(sample.r1!.files.map((f) => f.lane)).toEqual(
        [1, 2, 3, 4].slice(0, RUN_LANES),
      );
      expect(sample.r2!.files).toHaveLength(RUN_LANES);
    }
    const problems = preview.locator(byTestId('plan-problem'));
    const expectedProblems = [
      ...expected.problems,
      ...expected.samples.flatMap((s) => s.problems),
    ];
    await expect.poll(() => problems.count()).toBe(expectedProblems.length);
    expect(expectedProblems.map((p) => p.code)).toContain('undetermined');
    await expect
      .poll(() =>
        preview
          .locator(`${byTestId('plan-problem')}[data-code="undetermined"]`)
          .count(),
      )
      .toBe(1);
    await screenshot('plan-preview');
    const included = expected.samples.filter((s) => s.included);

    // Upload; the samples are assigned to the project.
    await preview.locator(byTestId('plan-start')).click();
    await page.locator(byTestId('transfers')).waitFor();
    const uploadRow = page.locator(
      `${byTestId('transfer-row')}[data-kind="upload"]`,
    );
    await uploadRow.waitFor();
    await screenshot('transfers-uploading');
    await expect
      .poll(() => uploadRow.getAttribute('data-state'), { timeout: 60_000 })
      .toBe('done');
    await expect
      .poll(() => uploadRow.locator(byTestId('transfer-assigned-row')).count())
      .toBe(included.length);
    await screenshot('transfers-uploaded');

    // The analysis runs in the sandbox; the project shows every sample finish.
    await uploadRow.locator(byTestId('transfer-open-project')).click();
    await page
      .locator(`${byTestId('project-detail')}[data-project-id="${project.id}"]`)
      .waitFor();
    const tableRows = page.locator(byTestId('sample-row'));
    let rows: SampleRow[] = [];
    await expect
      .poll(
        async () => {
          rows = await service.handle('samples:list', {
            projectId: project.id,
          });
          return (
            rows.length === included.length &&
            rows.every(
              (r) => r.status === 'succeeded' || r.status.startsWith('failed'),
            )
          );
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    await page.locator(byTestId('samples-refresh')).click();
    await expect
      .poll(
        () =>
          page
            .locator(`${byTestId('sample-status')}[data-status="succeeded"]`)
            .count(),
        {
          timeout: 20_000,
        },
      )
      .toBe(rows.filter((r) => r.status === 'succeeded').length);
    expect(await tableRows.count()).toBeGreaterThan(0);
    expect(rows.map((r) => r.clientId).sort()).toEqual(
      included.map((s) => s.clientId).sort(),
    );
    await screenshot('project-samples');

    // One sample's QC and files.
    const opened = rows[0];
    await page
      .locator(`${byTestId('sample-row')}[data-sample-id="${opened.id}"]`)
      .click();
    const panel = page.locator(byTestId('sample-detail'));
    await panel.waitFor();
    const detail: SampleDetail = await service.handle('samples:get', {
      sampleId: opened.id,
    });
    await expect
      .poll(() => panel.locator(byTestId('sample-qc-row')).count())
      .toBe(detail.qc.length);
    await expect
      .poll(() => panel.locator(byTestId('sample-file-row')).count())
      .toBe(detail.files.length);
    await screenshot('sample-detail');
    await panel.locator(byTestId('sample-detail-close')).click();

    // Download the whole project into the default folder.
    await page.locator(byTestId('download-project-button')).click();
    const dialog = page.locator(byTestId('download-dialog'));
    await dialog.waitFor();
    const destination = path.join(downloadsDir, 'Gencove');
    await expect
      .poll(() => dialog.locator(byTestId('download-destination')).inputValue())
      .toBe(destination);
    await screenshot('download-dialog');
    await dialog.locator(byTestId('download-submit')).click();
    await page.locator(byTestId('transfers')).waitFor();
    const downloadRow = page.locator(
      `${byTestId('transfer-row')}[data-kind="download"]`,
    );
    await downloadRow.waitFor();
    await expect
      .poll(() => downloadRow.getAttribute('data-state'), { timeout: 60_000 })
      .toBe('done');
    await expect
      .poll(() => downloadRow.locator(byTestId('transfer-title')).textContent())
      .toBe(`Download of ${project.name} to ${destination}`);
    await screenshot('transfers-downloaded');

    // On disk: every deliverable, checksum-verified, under the default template.
    for (const row of rows) {
      const sample = await service.handle('samples:get', { sampleId: row.id });
      const folder = path.join(destination, row.clientId, row.id);
      const names = await fs.readdir(folder);
      for (const file of sample.files) {
        const name = names.find((n) =>
          n.startsWith(`${row.id}_${file.fileType}.`),
        );
        expect(name, `${row.clientId}: ${file.fileType}`).toBeDefined();
        expect(await sha256(path.join(folder, name!))).toBe(
          file.checksumSha256,
        );
      }
    }
    // A lane-split sample arrives as its lanes, concatenated in lane order.
    const merged = runSamples[0];
    const mergedRow = rows.find((r) => r.clientId === merged.clientId)!;
    const lanes = await Promise.all(
      merged.r1!.files.map((f) => fs.readFile(f.path)),
    );
    const downloadedR1 = await fs.readFile(
      path.join(
        destination,
        mergedRow.clientId,
        mergedRow.id,
        `${mergedRow.id}_fastq-r1.fastq.gz`,
      ),
    );
    expect(downloadedR1.equals(Buffer.concat(lanes))).toBe(true);

    // Sign out.
    await page.locator(byTestId('signout-button')).click();
    await page.locator(byTestId('signin')).waitFor();
    expect(app.pageErrors).toEqual([]);
  }, 240_000);
});
