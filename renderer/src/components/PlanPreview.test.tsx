// @vitest-environment jsdom
import {
  act,
  cleanup,
  fireEvent,
  screen,
  waitFor,
  within,
} from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PlanProblem, UploadPlan } from '../../../shared/domain.ts';
import type { RequestOf } from '../../../shared/contract.ts';
import { ContractFailure, createFakeBridge } from '../test/fakeBridge.ts';
import type { FakeBridge } from '../test/fakeBridge.ts';
import { makePlan, makePlannedSample, makeRead } from '../test/factories.ts';
import { renderApp } from '../test/renderApp.tsx';
import { applyPlanEdits } from '../../../electron/engine/scan/plan.ts';
import { PlanPreview, clientIdIssues } from './PlanPreview.tsx';

afterEach(cleanup);

const PROJECT_ID = '11111111-1111-4111-8111-111111111111';

/** Applies edits the way the engine is expected to: relative to the scanned plan. */
function engineEdit(
  scanned: UploadPlan,
  request: RequestOf<'plan:edit'>,
): UploadPlan {
  const { renames = {}, excluded = [], destination } = request.edits;
  const dest = destination ?? scanned.destination;
  const samples = scanned.samples.map((s) => {
    const clientId = renames[s.key] ?? s.clientId;
    const hasError = s.problems.some((p) => p.severity === 'error');
    return {
      ...s,
      clientId,
      included: !hasError && !excluded.includes(s.key),
      r1: s.r1 ? makeRead('R1', clientId, s.r1.files, dest) : undefined,
      r2: s.r2 ? makeRead('R2', clientId, s.r2.files, dest) : undefined,
    };
  });
  return makePlan({ ...scanned, destination: dest, samples });
}

function problem(overrides: Partial<PlanProblem>): PlanProblem {
  return {
    code: 'missing-r2',
    severity: 'error',
    message: 'R1 has no matching R2 file.',
    ...overrides,
  };
}

function scannedPlan(): UploadPlan {
  return makePlan({
    samples: [
      makePlannedSample('S1'),
      makePlannedSample('S2', { lanes: 2 }),
      makePlannedSample('S3', {
        r2: undefined,
        included: false,
        problems: [
          problem({
            path: '/data/run1/S3_S1_L001_R1_001.fastq.gz',
            clientId: 'S3',
          }),
        ],
      }),
      makePlannedSample('S4', {
        sourceName: 'S4_extra',
        problems: [
          problem({
            code: 'client-id-changed',
            severity: 'warning',
            message: 'The name S4_extra was shortened to S4.',
            path: '/data/run1/S4_extra_R1.fastq.gz',
          }),
        ],
      }),
    ],
    problems: [
      problem({
        code: 'not-gzip',
        severity: 'error',
        message: 'This file is not gzip-compressed.',
        path: '/data/run1/junk_R1.fastq.gz',
      }),
    ],
    ignored: [
      { path: '/data/run1/notes.txt', reason: 'not a FASTQ file name' },
    ],
  });
}

async function setup(plan = scannedPlan()) {
  const bridge: FakeBridge = createFakeBridge();
  bridge.handle('plan:create', () => plan);
  bridge.handle('plan:edit', (req) => engineEdit(plan, req));
  bridge.handle('upload:start', () => ({ jobId: 'job-42' }));
  const onStarted = vi.fn();
  const onClose = vi.fn();
  const utils = renderApp(
    <PlanPreview
      projectName="Dog breeds 2024"
      onClose={onClose}
      onStarted={onStarted}
      onChooseOther={() => undefined}
    />,
    bridge,
  );
  await act(() =>
    utils.store.getState().createPlan(PROJECT_ID, ['/data/run1']),
  );
  return { ...utils, bridge, onStarted, onClose };
}

function row(key: string): HTMLElement {
  const found = screen
    .getAllByTestId('plan-sample-row')
    .find((r) => r.dataset.sampleKey === key);
  if (!found) {
    throw new Error(`no plan row ${key}`);
  }
  return found;
}

describe('PlanPreview', () => {
  describe('samples', () => {
    it('lists every sample with its R1 and R2 files, merged lanes and sizes', async () => {
      await setup();

      expect(screen.getAllByTestId('plan-sample-row')).toHaveLength(4);
      const s2 = row('key-S2');
      const reads = within(s2).getAllByTestId('plan-read');
      expect(reads.map((r) => r.dataset.read)).toEqual(['R1', 'R2']);
      expect(within(reads[0]).getAllByTestId('plan-file')).toHaveLength(2);
      expect(reads[0].textContent).toContain('2 files merged');
      expect(reads[0].textContent).toContain('S2_R1.fastq.gz');
      const firstFile = within(reads[0]).getAllByTestId('plan-file')[0];
      expect(firstFile.textContent).toContain('S2_S1_L001_R1_001.fastq.gz');
      expect(
        firstFile.querySelector('[title]')?.getAttribute('title'),
      ).toContain('run1/S2_S1_L001_R1_001.fastq.gz');
      expect(reads[0].textContent).toContain('lane 2');
      expect(s2.textContent).toContain('4.0 MB');
    });

    it('sums what will be sent and shows the destination', async () => {
      await setup();

      const summary = screen.getByTestId('plan-summary');
      expect(summary.textContent).toContain('4samples found');
      expect(summary.textContent).toContain('3to upload');
      expect(summary.textContent).toContain('8.0 MB');
      expect(
        (screen.getByTestId('plan-destination') as HTMLInputElement).value,
      ).toBe('gncv://batch-1/');
      expect(screen.getByTestId('plan-start').textContent).toBe(
        'Upload 3 samples (8.0 MB)',
      );
    });

    it('shows a missing read as such', async () => {
      await setup();

      const missing = within(row('key-S3'))
        .getAllByTestId('plan-read')
        .find((r) => r.dataset.read === 'R2');
      expect(missing?.textContent).toContain('no file');
    });
  });

  describe('problems', () => {
    it('tells errors from warnings and names the file', async () => {
      await setup();

      const all = screen.getAllByTestId('plan-problem');
      const errors = all.filter((p) => p.dataset.severity === 'error');
      const warnings = all.filter((p) => p.dataset.severity === 'warning');
      expect(errors).toHaveLength(2);
      expect(warnings).toHaveLength(1);
      expect(errors.every((p) => p.textContent?.startsWith('Error'))).toBe(
        true,
      );
      expect(warnings[0].textContent).toMatch(/^Warning/);
      expect(warnings[0].textContent).toContain('S4_extra_R1.fastq.gz');
      const planWide = within(screen.getByTestId('plan-problems')).getByTestId(
        'plan-problem',
      );
      expect(planWide.dataset.code).toBe('not-gzip');
      expect(planWide.textContent).toContain('junk_R1.fastq.gz');
      expect(
        within(row('key-S3')).getByTestId('plan-problem').textContent,
      ).toContain('S3_S1_L001_R1_001.fastq.gz');
    });

    it('keeps a sample with an error out, and its checkbox cannot take it in', async () => {
      await setup();

      const s3 = row('key-S3');
      const box = within(s3).getByTestId(
        'plan-sample-include',
      ) as HTMLInputElement;
      expect(s3.dataset.included).toBe('false');
      expect(box.checked).toBe(false);
      expect(box.disabled).toBe(true);
    });

    it('lists ignored files with the reason', async () => {
      await setup();

      expect(screen.getByTestId('plan-ignored').textContent).toContain(
        'notes.txt — not a FASTQ file name',
      );
    });

    it('can show only the samples with problems', async () => {
      await setup();

      fireEvent.click(screen.getByTestId('plan-only-problems'));

      expect(
        screen
          .getAllByTestId('plan-sample-row')
          .map((r) => r.dataset.sampleKey),
      ).toEqual(['key-S3', 'key-S4']);
    });
  });

  describe('edit client id', () => {
    it('refuses an underscore, says why, and blocks Start without calling the engine', async () => {
      const { bridge } = await setup();
      const input = within(row('key-S1')).getByTestId('plan-client-id-input');

      fireEvent.change(input, { target: { value: 'S1_new' } });
      fireEvent.keyDown(input, { key: 'Enter' });

      expect(
        within(row('key-S1')).getByTestId('plan-client-id-error').textContent,
      ).toContain('cannot contain "_"');
      expect(input.getAttribute('aria-invalid')).toBe('true');
      expect(
        (screen.getByTestId('plan-start') as HTMLButtonElement).disabled,
      ).toBe(true);
      expect(bridge.callsOf('plan:edit')).toHaveLength(0);
    });

    it('refuses an empty client id', async () => {
      await setup();
      const input = within(row('key-S1')).getByTestId('plan-client-id-input');

      fireEvent.change(input, { target: { value: '  ' } });

      expect(
        within(row('key-S1')).getByTestId('plan-client-id-error').textContent,
      ).toContain('cannot be empty');
    });

    it('refuses two included samples with the same client id', async () => {
      await setup();
      const input = within(row('key-S2')).getByTestId('plan-client-id-input');

      fireEvent.change(input, { target: { value: 'S1' } });

      expect(
        within(row('key-S2')).getByTestId('plan-client-id-error').textContent,
      ).toContain('S1_R1.fastq.gz');
      expect(
        within(row('key-S1')).getByTestId('plan-client-id-error'),
      ).toBeTruthy();
    });

    it('sends a valid rename keyed by sample and shows the engine’s plan', async () => {
      const { bridge } = await setup();
      const input = within(row('key-S1')).getByTestId('plan-client-id-input');

      fireEvent.change(input, { target: { value: 'DOG-001' } });
      fireEvent.keyDown(input, { key: 'Enter' });

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));
      expect(bridge.callsOf('plan:edit')[0]).toEqual({
        planId: 'plan-1',
        edits: { renames: { 'key-S1': 'DOG-001' }, excluded: [] },
      });
      await waitFor(() =>
        expect(
          within(row('key-S1')).getAllByTestId('plan-read')[0].textContent,
        ).toContain('DOG-001_R1.fastq.gz'),
      );
      expect(
        (
          within(row('key-S1')).getByTestId(
            'plan-client-id-input',
          ) as HTMLInputElement
        ).value,
      ).toBe('DOG-001');
    });

    it('undoes a rename the engine refused and says so', async () => {
      const { bridge } = await setup();
      bridge.handle('plan:edit', () => {
        throw new ContractFailure(
          'validation',
          'Client id DOG/1 is not allowed.',
        );
      });
      const input = within(row('key-S1')).getByTestId('plan-client-id-input');

      fireEvent.change(input, { target: { value: 'DOG-1' } });
      fireEvent.blur(input);

      await waitFor(() =>
        expect(screen.getByTestId('plan-edit-error')).toBeTruthy(),
      );
      expect(screen.getByTestId('plan-edit-error').textContent).toContain(
        'not allowed',
      );
      expect(
        (
          within(row('key-S1')).getByTestId(
            'plan-client-id-input',
          ) as HTMLInputElement
        ).value,
      ).toBe('S1');
    });

    it('puts the old value back on Escape', async () => {
      await setup();
      const input = within(row('key-S1')).getByTestId(
        'plan-client-id-input',
      ) as HTMLInputElement;

      fireEvent.change(input, { target: { value: 'typo' } });
      fireEvent.keyDown(input, { key: 'Escape' });

      expect(input.value).toBe('S1');
    });
  });

  describe('exclude', () => {
    it('leaves a sample out and sends the exclusion', async () => {
      const { bridge } = await setup();

      fireEvent.click(within(row('key-S2')).getByTestId('plan-sample-include'));

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));
      expect(bridge.callsOf('plan:edit')[0].edits.excluded).toEqual(['key-S2']);
      await waitFor(() => expect(row('key-S2').dataset.included).toBe('false'));
      expect(screen.getByTestId('plan-start').textContent).toBe(
        'Upload 2 samples (4.0 MB)',
      );
    });

    it('takes a left-out sample back in', async () => {
      const { bridge } = await setup();
      fireEvent.click(within(row('key-S2')).getByTestId('plan-sample-include'));
      await waitFor(() => expect(row('key-S2').dataset.included).toBe('false'));

      fireEvent.click(within(row('key-S2')).getByTestId('plan-sample-include'));

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(2));
      expect(bridge.callsOf('plan:edit')[1].edits.excluded).toEqual([]);
      await waitFor(() => expect(row('key-S2').dataset.included).toBe('true'));
    });

    it('cannot start when every sample is left out', async () => {
      const plan = makePlan({ samples: [makePlannedSample('S1')] });
      await setup(plan);

      fireEvent.click(within(row('key-S1')).getByTestId('plan-sample-include'));

      await waitFor(() =>
        expect(screen.getByTestId('plan-start').textContent).toBe(
          'Nothing to upload',
        ),
      );
      expect(
        (screen.getByTestId('plan-start') as HTMLButtonElement).disabled,
      ).toBe(true);
    });
  });

  describe('destination', () => {
    const invalid = [
      { value: 'batch-1/', says: 'must start with gncv://' },
      { value: 'gncv://', says: 'needs a folder name' },
      { value: 'gncv://a//b/', says: 'empty folder name' },
      { value: 'gncv://a/../b/', says: '"." or ".."' },
      { value: 'gncv://a\\b/', says: 'cannot contain "\\"' },
    ];
    for (const c of invalid) {
      it(`refuses ${JSON.stringify(c.value)} and blocks Start`, async () => {
        const { bridge } = await setup();
        const input = screen.getByTestId('plan-destination');

        fireEvent.change(input, { target: { value: c.value } });
        fireEvent.blur(input);

        expect(
          screen.getByTestId('plan-destination-error').textContent,
        ).toContain(c.says);
        expect(
          (screen.getByTestId('plan-start') as HTMLButtonElement).disabled,
        ).toBe(true);
        expect(bridge.callsOf('plan:edit')).toHaveLength(0);
      });
    }

    it('sends a valid destination with exactly one trailing slash', async () => {
      const { bridge } = await setup();
      const input = screen.getByTestId('plan-destination');

      fireEvent.change(input, { target: { value: 'gncv://dogs/run-7' } });
      fireEvent.keyDown(input, { key: 'Enter' });

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));
      expect(bridge.callsOf('plan:edit')[0].edits.destination).toBe(
        'gncv://dogs/run-7/',
      );
      await waitFor(() =>
        expect(
          (screen.getByTestId('plan-destination') as HTMLInputElement).value,
        ).toBe('gncv://dogs/run-7/'),
      );
      expect(
        within(row('key-S1'))
          .getAllByTestId('plan-read')[0]
          .querySelector('[title]')
          ?.getAttribute('title'),
      ).toBe('gncv://dogs/run-7/S1_R1.fastq.gz');
    });
  });

  describe('start', () => {
    it('starts the plan by its id for the open project', async () => {
      const { bridge, onStarted, store } = await setup();

      fireEvent.click(screen.getByTestId('plan-start'));

      await waitFor(() => expect(onStarted).toHaveBeenCalledWith('job-42'));
      expect(bridge.callsOf('upload:start')).toEqual([
        { planId: 'plan-1', projectId: PROJECT_ID },
      ]);
      expect(store.getState().plan.status).toBe('idle');
    });

    it('waits for an edit in flight before starting', async () => {
      const { bridge, onStarted } = await setup();
      let release: () => void = () => undefined;
      const scanned = scannedPlan();
      bridge.handle(
        'plan:edit',
        (req) =>
          new Promise((resolve) => {
            release = () => resolve(engineEdit(scanned, req));
          }),
      );
      fireEvent.click(within(row('key-S2')).getByTestId('plan-sample-include'));
      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));

      expect(
        (screen.getByTestId('plan-start') as HTMLButtonElement).disabled,
      ).toBe(true);
      expect(screen.getByTestId('plan-saving')).toBeTruthy();
      await act(async () => release());

      fireEvent.click(screen.getByTestId('plan-start'));
      await waitFor(() => expect(onStarted).toHaveBeenCalled());
      const order = bridge.calls.map((c) => c.channel);
      expect(order.lastIndexOf('plan:edit')).toBeLessThan(
        order.indexOf('upload:start'),
      );
    });

    it('shows why the upload did not start and keeps the plan', async () => {
      const { bridge, onStarted } = await setup();
      bridge.handle('upload:start', () => {
        throw new ContractFailure('session-expired', 'The session expired.');
      });

      fireEvent.click(screen.getByTestId('plan-start'));

      await waitFor(() =>
        expect(screen.getByTestId('plan-start-error')).toBeTruthy(),
      );
      expect(screen.getByTestId('plan-start-error').textContent).toContain(
        'The session expired.',
      );
      expect(screen.getByTestId('plan-start-error').textContent).toContain(
        'Sign in again',
      );
      expect(onStarted).not.toHaveBeenCalled();
      expect(screen.getAllByTestId('plan-sample-row')).toHaveLength(4);
    });

    it('refuses to start a plan the engine gave no id', async () => {
      const { bridge } = await setup(makePlan({ id: undefined }));

      fireEvent.click(screen.getByTestId('plan-start'));

      await waitFor(() =>
        expect(screen.getByTestId('plan-start-error')).toBeTruthy(),
      );
      expect(screen.getByTestId('plan-start-error').textContent).toContain(
        'without an id',
      );
      expect(bridge.callsOf('upload:start')).toHaveLength(0);
    });
  });

  describe('closing', () => {
    it('discards an untouched plan on Escape', async () => {
      const { store, onClose } = await setup();

      fireEvent.keyDown(screen.getByTestId('plan-preview'), { key: 'Escape' });

      expect(onClose).toHaveBeenCalled();
      expect(store.getState().plan.status).toBe('idle');
    });

    it('keeps an edited plan on Escape; only Discard drops it', async () => {
      const { store, onClose, bridge } = await setup();
      fireEvent.click(within(row('key-S2')).getByTestId('plan-sample-include'));
      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));

      fireEvent.keyDown(screen.getByTestId('plan-preview'), { key: 'Escape' });

      expect(onClose).not.toHaveBeenCalled();
      expect(screen.queryByTestId('modal-close')).toBeNull();
      fireEvent.click(screen.getByTestId('plan-discard'));
      expect(onClose).toHaveBeenCalled();
      expect(store.getState().plan.status).toBe('idle');
    });
  });

  describe('scanning', () => {
    it('says it is scanning until the plan arrives, then shows it', async () => {
      const bridge = createFakeBridge();
      let finish: () => void = () => undefined;
      bridge.handle(
        'plan:create',
        () => new Promise((resolve) => (finish = () => resolve(scannedPlan()))),
      );
      const { store } = renderApp(
        <PlanPreview
          projectName="P"
          onClose={() => undefined}
          onStarted={() => undefined}
          onChooseOther={() => undefined}
        />,
        bridge,
      );

      let pending: Promise<void> = Promise.resolve();
      act(() => {
        pending = store
          .getState()
          .createPlan(PROJECT_ID, ['/data/run1', '/data/run2']);
      });
      expect(screen.getByTestId('plan-scanning').textContent).toContain(
        '2 locations',
      );
      await act(async () => {
        finish();
        await pending;
      });

      expect(screen.getAllByTestId('plan-sample-row')).toHaveLength(4);
      expect(bridge.callsOf('plan:create')).toEqual([
        { paths: ['/data/run1', '/data/run2'] },
      ]);
    });

    it('shows a scan failure with the engine’s message', async () => {
      const bridge = createFakeBridge();
      bridge.handle('plan:create', () => {
        throw new ContractFailure('not-found', 'No such folder: /data/gone');
      });
      const { store } = renderApp(
        <PlanPreview
          projectName="P"
          onClose={() => undefined}
          onStarted={() => undefined}
          onChooseOther={() => undefined}
        />,
        bridge,
      );

      await act(() => store.getState().createPlan(PROJECT_ID, ['/data/gone']));

      expect(screen.getByTestId('plan-scan-error').textContent).toContain(
        'No such folder: /data/gone',
      );
    });
  });

  describe('duplicate client ids (issue #3)', () => {
    /** The engine's own plan:edit rules, applied to a plan of valid samples. */
    async function setupWithEngine(ids: string[]) {
      const plan = makePlan({ samples: ids.map((id) => makePlannedSample(id)) });
      const bridge: FakeBridge = createFakeBridge();
      bridge.handle('plan:create', () => plan);
      bridge.handle('plan:edit', (req) => applyPlanEdits(plan, req.edits));
      bridge.handle('upload:start', () => ({ jobId: 'job-42' }));
      const utils = renderApp(
        <PlanPreview
          projectName="Dog breeds 2024"
          onClose={() => undefined}
          onStarted={() => undefined}
          onChooseOther={() => undefined}
        />,
        bridge,
      );
      await act(() =>
        utils.store.getState().createPlan(PROJECT_ID, ['/data/run1']),
      );
      return { ...utils, bridge };
    }

    function rename(key: string, value: string) {
      const input = within(row(key)).getByTestId('plan-client-id-input');
      fireEvent.change(input, { target: { value } });
      fireEvent.keyDown(input, { key: 'Enter' });
    }

    const start = () => screen.getByTestId('plan-start') as HTMLButtonElement;

    it('disables Start with nothing to upload when the only two samples share an id', async () => {
      const { bridge } = await setupWithEngine(['S1', 'S2']);
      expect(start().textContent).toBe('Upload 2 samples (4.0 MB)');

      rename('key-S2', 'S1');

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));
      await waitFor(() =>
        expect(row('key-S2').dataset.included).toBe('false'),
      );
      expect(start().textContent).toBe('Nothing to upload');
      expect(start().disabled).toBe(true);
      for (const [key, other] of [
        ['key-S1', '"S2"'],
        ['key-S2', '"S1"'],
      ]) {
        const text = within(row(key)).getByTestId(
          'plan-client-id-error',
        ).textContent;
        expect(text).toContain(`is also used by ${other};`);
      }
    });

    it('counts only the samples that will be uploaded, ids compared without case', async () => {
      const { bridge } = await setupWithEngine(['S1', 'S2', 'S3']);

      rename('key-S2', 's1');

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(1));
      await waitFor(() =>
        expect(row('key-S1').dataset.included).toBe('false'),
      );
      expect(start().textContent).toBe('Upload 1 sample (2.0 MB)');
      expect(start().disabled).toBe(true);
      expect(screen.getByTestId('plan-start-hint').textContent).toBe(
        'Fix 2 client ids to start.',
      );
      expect(
        within(row('key-S1')).getByTestId('plan-client-id-error').textContent,
      ).toContain('Client id "S1" is also used by "S2" (as "s1")');
    });

    it('lets the upload start again once the duplicate is renamed', async () => {
      const { bridge } = await setupWithEngine(['S1', 'S2', 'S3']);
      rename('key-S2', 'S1');
      await waitFor(() => expect(start().textContent).toBe('Upload 1 sample (2.0 MB)'));

      rename('key-S2', 'S2b');

      await waitFor(() => expect(bridge.callsOf('plan:edit')).toHaveLength(2));
      await waitFor(() =>
        expect(start().textContent).toBe('Upload 3 samples (6.0 MB)'),
      );
      expect(start().disabled).toBe(false);
      expect(screen.queryAllByTestId('plan-client-id-error')).toHaveLength(0);
    });

    it('flags a left-out sample that shares an id, as the engine does', () => {
      const samples = [
        makePlannedSample('S1'),
        makePlannedSample('S2', { included: false }),
      ];

      const issues = clientIdIssues(samples, { 'key-S2': 'S1' });

      expect([...issues.keys()].sort()).toEqual(['key-S1', 'key-S2']);
    });
  });
});
