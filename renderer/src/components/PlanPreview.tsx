/**
 * PlanPreview: what an upload will do, before any byte moves — each sample
 * with its R1/R2 files, the lanes merged into one object, sizes and
 * destination, and every problem with its reason (errors keep a sample out,
 * warnings do not). The user can change a client id, leave a sample out and
 * change the destination, then start the upload into the open project.
 *
 * data-testid: `plan-preview` (dialog), `plan-scanning`, `plan-scan-error`,
 * `plan-summary`, `plan-destination`, `plan-destination-error`,
 * `plan-problems` (plan-wide list), `plan-problem` (any problem, with
 * `data-severity` and `data-code`), `plan-only-problems`, `plan-sample-row`
 * (with `data-sample-key`, `data-included`), `plan-sample-include`,
 * `plan-client-id-input`, `plan-client-id-error`, `plan-derivation`,
 * `plan-read` (with
 * `data-read`), `plan-file` (with `data-path`), `plan-show-more`,
 * `plan-ignored`, `plan-edit-error`, `plan-start-error`, `plan-saving`,
 * `plan-discard`, `plan-start`, `plan-start-hint`; read-only (PlanReadOnly):
 * `plan-client-id`,
 * `plan-close`.
 *
 * PlanReadOnly shows a plan the engine made itself (a watched run) with the
 * same parts, nothing editable.
 */
import { useMemo, useState } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';

import type {
  PlanProblem,
  PlannedRead,
  PlannedSample,
  UploadPlan,
} from '../../../shared/domain.ts';
import { baseName, formatBytes, plural } from '../lib/format.ts';
import {
  clientIdError,
  destinationError,
  normalizeDestination,
} from '../lib/validate.ts';
import { useAppStore, useServices } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { Modal } from './Modal.tsx';
import { StatusBadge } from './StatusBadge.tsx';

/** Sample rows rendered at first; more on request. */
export const PLAN_PAGE_SIZE = 200;

export interface PlanPreviewProps {
  projectName: string;
  onClose: () => void;
  /** Called after `upload:start` succeeded. */
  onStarted: (jobId: string) => void;
  /** Called when the user wants to pick other files. */
  onChooseOther: () => void;
}

function hasError(sample: PlannedSample): boolean {
  return sample.problems.some((p) => p.severity === 'error');
}

/** Client ids are compared as the engine does: NFC, case ignored. */
function idKey(id: string): string {
  return id.normalize('NFC').toLowerCase();
}

/**
 * clientIdIssues validates every sample's client id as it will be sent
 * (drafts applied): the id rules, and no two samples sharing one, compared
 * without regard to case (their objects would have the same name). Like
 * the engine, it counts left-out samples too: a duplicate keeps both
 * samples out. Every sample concerned gets a message naming the others.
 * Returns key → message.
 */
export function clientIdIssues(
  samples: PlannedSample[],
  drafts: Record<string, string>,
): Map<string, string> {
  const issues = new Map<string, string>();
  const byId = new Map<string, PlannedSample[]>();
  for (const s of samples) {
    const id = drafts[s.key] ?? s.clientId;
    const problem = clientIdError(id);
    if (problem) {
      issues.set(s.key, problem);
      continue;
    }
    const list = byId.get(idKey(id)) ?? [];
    list.push(s);
    byId.set(idKey(id), list);
  }
  for (const list of byId.values()) {
    if (list.length < 2) {
      continue;
    }
    for (const sample of list) {
      const id = drafts[sample.key] ?? sample.clientId;
      const others = list
        .filter((o) => o !== sample)
        .map((o) => {
          const otherId = drafts[o.key] ?? o.clientId;
          return otherId === id
            ? `"${o.sourceName}"`
            : `"${o.sourceName}" (as "${otherId}")`;
        });
      const named =
        others.length > 3
          ? `${others.slice(0, 3).join(', ')} and ${others.length - 3} more`
          : others.join(', ');
      issues.set(
        sample.key,
        `Client id "${id}" is also used by ${named}; both would be ${id}_R1.fastq.gz (case is ignored). Neither is uploaded until one is renamed.`,
      );
    }
  }
  return issues;
}

/**
 * uploadableSamples are the samples an upload would really send: included,
 * without an error from the scan and without a client id issue.
 */
export function uploadableSamples(
  samples: PlannedSample[],
  issues: ReadonlyMap<string, string>,
): PlannedSample[] {
  return samples.filter(
    (s) => s.included && !hasError(s) && !issues.has(s.key),
  );
}

function countProblems(plan: UploadPlan): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  const all = [...plan.problems, ...plan.samples.flatMap((s) => s.problems)];
  for (const p of all) {
    if (p.severity === 'error') {
      errors += 1;
    } else {
      warnings += 1;
    }
  }
  return { errors, warnings };
}

export function PlanPreview(props: PlanPreviewProps) {
  const plan = useAppStore((s) => s.plan);
  const discardPlan = useAppStore((s) => s.discardPlan);

  function close() {
    discardPlan();
    props.onClose();
  }

  if (plan.status === 'scanning') {
    return (
      <Modal
        title="Scanning files…"
        onClose={close}
        testId="plan-preview"
        size="medium"
      >
        <div
          className="scanning"
          data-testid="plan-scanning"
          aria-live="polite"
        >
          <span className="spinner" aria-hidden="true" />
          <div>
            <p>
              Looking for FASTQ files in {plural(plan.paths.length, 'location')}
              . Every file is read to check its gzip integrity and FASTQ
              records, so large folders take a moment. Nothing is uploaded yet.
            </p>
            <ul className="path-list">
              {plan.paths.slice(0, 8).map((p) => (
                <li key={p} className="mono small clamp" title={p}>
                  {p}
                </li>
              ))}
              {plan.paths.length > 8 ? (
                <li className="muted small">
                  and {plan.paths.length - 8} more
                </li>
              ) : null}
            </ul>
          </div>
        </div>
        <div className="row-actions">
          <button
            type="button"
            className="button"
            onClick={close}
            data-testid="plan-discard"
          >
            Cancel
          </button>
        </div>
      </Modal>
    );
  }

  if (!plan.current) {
    return (
      <Modal
        title="Could not read these files"
        onClose={close}
        testId="plan-preview"
      >
        {plan.error ? (
          <ErrorNote
            error={plan.error}
            title="Scanning failed."
            testId="plan-scan-error"
          />
        ) : null}
        <div className="row-actions">
          <button
            type="button"
            className="button"
            onClick={close}
            data-testid="plan-discard"
          >
            Close
          </button>
          <button
            type="button"
            className="button button-primary"
            onClick={() => {
              discardPlan();
              props.onChooseOther();
            }}
          >
            Choose other files…
          </button>
        </div>
      </Modal>
    );
  }

  return (
    <PlanReady
      plan={plan.current}
      projectName={props.projectName}
      onClose={close}
      onStarted={props.onStarted}
    />
  );
}

function PlanReady(props: {
  plan: UploadPlan;
  projectName: string;
  onClose: () => void;
  onStarted: (jobId: string) => void;
}) {
  const { plan } = props;
  const { notifier } = useServices();
  const state = useAppStore((s) => s.plan);
  const renameSample = useAppStore((s) => s.renameSample);
  const setSampleIncluded = useAppStore((s) => s.setSampleIncluded);
  const setPlanDestination = useAppStore((s) => s.setPlanDestination);
  const startUpload = useAppStore((s) => s.startUpload);

  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [destinationDraft, setDestinationDraft] = useState<string | null>(null);
  const [onlyProblems, setOnlyProblems] = useState(false);

  const issues = useMemo(
    () => clientIdIssues(plan.samples, drafts),
    [plan.samples, drafts],
  );
  const destination = destinationDraft ?? plan.destination;
  const destProblem = destinationError(destination);
  const included = uploadableSamples(plan.samples, issues);
  const includedBytes = included.reduce(
    (sum, s) => sum + (s.r1?.size ?? 0) + (s.r2?.size ?? 0),
    0,
  );
  const counts = countProblems(plan);
  // Samples the user wants that an id issue keeps out.
  const blockingIssues = plan.samples.filter(
    (s) =>
      issues.has(s.key) &&
      (s.included || !state.edits.excluded.includes(s.key)),
  ).length;
  const starting = state.status === 'starting';
  // Escape must not throw edits away; "Discard plan" still does.
  const edited =
    Object.keys(state.edits.renames).length > 0 ||
    state.edits.excluded.length > 0 ||
    state.edits.destination !== undefined ||
    Object.keys(drafts).length > 0 ||
    destinationDraft !== null;
  const canStart =
    included.length > 0 &&
    blockingIssues === 0 &&
    !destProblem &&
    destinationDraft === null &&
    Object.keys(drafts).length === 0 &&
    state.editsInFlight === 0 &&
    !starting;

  const visible = onlyProblems
    ? plan.samples.filter((s) => s.problems.length > 0 || issues.has(s.key))
    : plan.samples;

  function commitClientId(sample: PlannedSample) {
    const draft = drafts[sample.key];
    if (draft === undefined) {
      return;
    }
    if (clientIdError(draft)) {
      return;
    }
    setDrafts((d) => {
      const next = { ...d };
      delete next[sample.key];
      return next;
    });
    if (draft !== sample.clientId) {
      void renameSample(sample.key, draft);
    }
  }

  function revertClientId(key: string) {
    setDrafts((d) => {
      const next = { ...d };
      delete next[key];
      return next;
    });
  }

  function commitDestination() {
    if (destinationDraft === null || destinationError(destinationDraft)) {
      return;
    }
    const normalized = normalizeDestination(destinationDraft);
    setDestinationDraft(null);
    if (normalized !== plan.destination) {
      void setPlanDestination(normalized);
    }
  }

  async function start() {
    notifier.maybeRequestPermission();
    const jobId = await startUpload();
    if (jobId) {
      props.onStarted(jobId);
    }
  }

  const startLabel = starting
    ? 'Starting…'
    : included.length === 0
      ? 'Nothing to upload'
      : `Upload ${plural(included.length, 'sample')} (${formatBytes(includedBytes)})`;

  return (
    <Modal
      title="Upload plan"
      subtitle={`Nothing moves until you start. Samples are assigned to ${props.projectName} after the upload.`}
      onClose={props.onClose}
      dismissible={!edited && !starting}
      size="large"
      testId="plan-preview"
      footer={
        <>
          <div className="footer-status">
            {state.editsInFlight > 0 ? (
              <span className="muted small" data-testid="plan-saving">
                Saving changes…
              </span>
            ) : null}
            {!canStart &&
            !starting &&
            (included.length > 0 || blockingIssues > 0) ? (
              <span className="muted small" data-testid="plan-start-hint">
                {blockingIssues > 0
                  ? `Fix ${plural(blockingIssues, 'client id')} to start.`
                  : destProblem
                    ? 'Fix the destination to start.'
                    : Object.keys(drafts).length > 0 ||
                        destinationDraft !== null
                      ? 'Press Enter to apply your edit.'
                      : ''}
              </span>
            ) : null}
          </div>
          <button
            type="button"
            className="button"
            onClick={props.onClose}
            data-testid="plan-discard"
          >
            Discard plan
          </button>
          <button
            type="button"
            className="button button-primary"
            onClick={() => void start()}
            disabled={!canStart}
            data-testid="plan-start"
          >
            {startLabel}
          </button>
        </>
      }
    >
      <PlanStats
        found={plan.samples.length}
        included={included.length}
        includedBytes={includedBytes}
        counts={counts}
      />

      <p className="muted small">
        Scanned:{' '}
        {plan.roots.map((r) => (
          <span key={r} className="mono chip" title={r}>
            {r}
          </span>
        ))}
      </p>

      <label className="field">
        <span className="field-label">Destination on the platform</span>
        <input
          type="text"
          className="mono"
          value={destination}
          spellCheck={false}
          onChange={(e) => setDestinationDraft(e.target.value)}
          onBlur={commitDestination}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              commitDestination();
            } else if (e.key === 'Escape' && destinationDraft !== null) {
              e.stopPropagation();
              setDestinationDraft(null);
            }
          }}
          aria-invalid={destProblem ? true : undefined}
          aria-describedby="plan-destination-help"
          data-testid="plan-destination"
        />
        {destProblem ? (
          <span
            className="field-error"
            role="alert"
            data-testid="plan-destination-error"
          >
            {destProblem}
          </span>
        ) : (
          <span id="plan-destination-help" className="field-help">
            Each sample becomes{' '}
            <span className="mono">
              {normalizeDestination(destination)}&lt;client id&gt;_R1.fastq.gz
            </span>{' '}
            and <span className="mono">_R2.fastq.gz</span>.
          </span>
        )}
      </label>

      {state.editError ? (
        <ErrorNote
          error={state.editError}
          title="Your last change was not saved and has been undone."
          testId="plan-edit-error"
        />
      ) : null}
      {state.error ? (
        <ErrorNote
          error={state.error}
          title="The upload did not start."
          testId="plan-start-error"
        />
      ) : null}

      {plan.problems.length > 0 ? (
        <section className="plan-section" aria-labelledby="plan-problems-title">
          <h3 id="plan-problems-title" className="small-heading">
            Problems found while scanning
          </h3>
          <ProblemList problems={plan.problems} testId="plan-problems" />
        </section>
      ) : null}

      <div className="plan-table-head">
        <h3 className="small-heading">Samples</h3>
        <label className="check small">
          <input
            type="checkbox"
            checked={onlyProblems}
            onChange={(e) => setOnlyProblems(e.target.checked)}
            data-testid="plan-only-problems"
          />
          Only samples with problems
        </label>
      </div>

      {plan.samples.length === 0 ? (
        <div className="empty">No sample was found in these files.</div>
      ) : (
        <PlanTable
          samples={visible}
          checkLabel="Upload"
          renderRow={(sample) => (
            <PlanSampleRow
              key={sample.key}
              sample={sample}
              draft={drafts[sample.key]}
              issue={issues.get(sample.key) ?? null}
              disabled={starting}
              onDraft={(value) =>
                setDrafts((d) => ({ ...d, [sample.key]: value }))
              }
              onCommit={() => commitClientId(sample)}
              onRevert={() => revertClientId(sample.key)}
              onInclude={(value) => void setSampleIncluded(sample.key, value)}
            />
          )}
        />
      )}

      <IgnoredFiles plan={plan} />
    </Modal>
  );
}

function PlanStats(props: {
  found: number;
  included: number;
  includedBytes: number;
  counts: { errors: number; warnings: number };
  /** Labels for a plan that was (or is being) sent by itself. */
  isPast?: boolean;
}) {
  const { counts } = props;
  return (
    <div className="plan-summary" data-testid="plan-summary">
      <div className="stat">
        <span className="stat-value">{props.found.toLocaleString()}</span>
        <span className="stat-label">samples found</span>
      </div>
      <div className="stat">
        <span className="stat-value">{props.included.toLocaleString()}</span>
        <span className="stat-label">
          {props.isPast ? 'uploaded' : 'to upload'}
        </span>
      </div>
      <div className="stat">
        <span className="stat-value">{formatBytes(props.includedBytes)}</span>
        <span className="stat-label">{props.isPast ? 'sent' : 'to send'}</span>
      </div>
      <div className={`stat${counts.errors > 0 ? ' stat-danger' : ''}`}>
        <span className="stat-value">{counts.errors.toLocaleString()}</span>
        <span className="stat-label">
          {counts.errors === 1 ? 'error' : 'errors'}
        </span>
      </div>
      <div className={`stat${counts.warnings > 0 ? ' stat-warning' : ''}`}>
        <span className="stat-value">{counts.warnings.toLocaleString()}</span>
        <span className="stat-label">
          {counts.warnings === 1 ? 'warning' : 'warnings'}
        </span>
      </div>
    </div>
  );
}

function IgnoredFiles(props: { plan: UploadPlan }) {
  const { plan } = props;
  if (plan.ignored.length === 0) {
    return null;
  }
  return (
    <details className="plan-section" data-testid="plan-ignored">
      <summary>
        {plural(plan.ignored.length, 'file')} not part of any sample
      </summary>
      <ul className="ignored-list">
        {plan.ignored.map((f) => (
          <li key={f.path}>
            <span className="mono small" title={f.path}>
              {baseName(f.path)}
            </span>
            <span className="muted small"> — {f.reason}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Props of {@link PlanReadOnly}. */
export interface PlanReadOnlyProps {
  plan: UploadPlan;
  title: string;
  subtitle?: string;
  /** The plan's samples were uploaded already (the figures say "uploaded"). */
  isDelivered?: boolean;
  onClose: () => void;
}

/**
 * PlanReadOnly shows a plan the engine made by itself (a watched run) the
 * way the upload preview shows a dropped folder: the same figures, samples,
 * lanes merged, problems and left-out files, with nothing to edit.
 *
 * data-testid: `plan-preview` (dialog, with `data-read-only`), and the
 * preview's own ids for its parts.
 */
export function PlanReadOnly(props: PlanReadOnlyProps) {
  const { plan } = props;
  const included = plan.samples.filter((s) => s.included);
  const includedBytes = included.reduce(
    (sum, s) => sum + (s.r1?.size ?? 0) + (s.r2?.size ?? 0),
    0,
  );
  return (
    <Modal
      title={props.title}
      subtitle={props.subtitle}
      onClose={props.onClose}
      size="large"
      testId="plan-preview"
      footer={
        <button
          type="button"
          className="button"
          onClick={props.onClose}
          data-testid="plan-close"
        >
          Close
        </button>
      }
    >
      <div data-read-only="true" className="stack">
        <PlanStats
          found={plan.samples.length}
          included={included.length}
          includedBytes={includedBytes}
          counts={countProblems(plan)}
          isPast={props.isDelivered}
        />
        <p className="muted small">
          Scanned:{' '}
          {plan.roots.map((r) => (
            <span key={r} className="mono chip" title={r}>
              {r}
            </span>
          ))}
        </p>
        <div className="field">
          <span className="field-label">Destination on the platform</span>
          <span className="mono selectable" data-testid="plan-destination">
            {plan.destination}
          </span>
        </div>
        {plan.problems.length > 0 ? (
          <section className="plan-section">
            <h3 className="small-heading">Problems found while scanning</h3>
            <ProblemList problems={plan.problems} testId="plan-problems" />
          </section>
        ) : null}
        {plan.samples.length === 0 ? (
          <div className="empty">No sample was found in this run.</div>
        ) : (
          <PlanTable
            samples={plan.samples}
            checkLabel="Uploaded"
            renderRow={(sample) => (
              <PlanSampleRow
                key={sample.key}
                sample={sample}
                draft={undefined}
                issue={null}
                disabled
                isReadOnly
                onDraft={() => undefined}
                onCommit={() => undefined}
                onRevert={() => undefined}
                onInclude={() => undefined}
              />
            )}
          />
        )}
        <IgnoredFiles plan={plan} />
      </div>
    </Modal>
  );
}


/**
 * The table of a plan's samples: one row per sample (`renderRow`), the
 * first PLAN_PAGE_SIZE shown and more on demand, so that a plan of
 * thousands of samples opens at once.
 */
function PlanTable({
  samples,
  checkLabel,
  renderRow,
}: {
  samples: readonly PlannedSample[];
  /** What the first column's check box means, for screen readers. */
  checkLabel: string;
  renderRow: (sample: PlannedSample) => ReactNode;
}) {
  const [limit, setLimit] = useState(PLAN_PAGE_SIZE);
  return (
    <div className="table-card">
      <table className="table plan-table">
        <thead>
          <tr>
            <th scope="col" className="col-check">
              <span className="visually-hidden">{checkLabel}</span>
            </th>
            <th scope="col" className="col-client">
              Client id
            </th>
            <th scope="col" className="col-files">
              Files (R1 / R2)
            </th>
            <th scope="col" className="num col-size">
              Size
            </th>
            <th scope="col" className="col-problems">
              Problems
            </th>
          </tr>
        </thead>
        <tbody>{samples.slice(0, limit).map(renderRow)}</tbody>
      </table>
      {samples.length > limit ? (
        <div className="table-more">
          <span className="muted small">
            Showing {limit.toLocaleString()} of{' '}
            {plural(samples.length, 'sample')}.
          </span>
          <button
            type="button"
            className="button button-small"
            onClick={() => setLimit((l) => l + PLAN_PAGE_SIZE)}
            data-testid="plan-show-more"
          >
            Show {Math.min(PLAN_PAGE_SIZE, samples.length - limit)} more
          </button>
        </div>
      ) : null}
    </div>
  );
}

function PlanSampleRow(props: {
  sample: PlannedSample;
  draft: string | undefined;
  issue: string | null;
  disabled: boolean;
  /** Shows the client id as text: nothing can be changed. */
  isReadOnly?: boolean;
  onDraft: (value: string) => void;
  onCommit: () => void;
  onRevert: () => void;
  onInclude: (value: boolean) => void;
}) {
  const { sample } = props;
  const blocked = hasError(sample);
  const inputId = `plan-client-id-${sample.key}`;
  const errorId = `${inputId}-error`;
  const value = props.draft ?? sample.clientId;

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === 'Enter') {
      event.preventDefault();
      props.onCommit();
    } else if (event.key === 'Escape' && props.draft !== undefined) {
      event.stopPropagation();
      props.onRevert();
    }
  }

  return (
    <tr
      className={`plan-row${sample.included ? '' : ' is-excluded'}${blocked ? ' has-error' : ''}`}
      data-testid="plan-sample-row"
      data-sample-key={sample.key}
      data-included={sample.included ? 'true' : 'false'}
    >
      <td className="col-check">
        <input
          type="checkbox"
          checked={sample.included}
          disabled={blocked || props.disabled}
          onChange={(e) => props.onInclude(e.target.checked)}
          aria-label={
            props.isReadOnly
              ? `${sample.clientId} ${sample.included ? 'uploaded' : 'left out'}`
              : `Upload ${sample.clientId}`
          }
          title={
            blocked
              ? 'This sample has an error and cannot be uploaded.'
              : undefined
          }
          data-testid="plan-sample-include"
        />
      </td>
      <td className="col-client">
        {props.isReadOnly ? (
          <span className="mono strong" data-testid="plan-client-id">
            {sample.clientId}
          </span>
        ) : (
          <>
            <label className="visually-hidden" htmlFor={inputId}>
              Client id of {sample.sourceName}
            </label>
            <input
              id={inputId}
              type="text"
              className="mono input-compact"
              value={value}
              disabled={props.disabled}
              onChange={(e) => props.onDraft(e.target.value)}
              onBlur={props.onCommit}
              onKeyDown={onKeyDown}
              aria-invalid={props.issue ? true : undefined}
              aria-describedby={props.issue ? errorId : undefined}
              spellCheck={false}
              data-testid="plan-client-id-input"
            />
          </>
        )}
        {props.issue ? (
          <div
            id={errorId}
            className="field-error"
            role="alert"
            data-testid="plan-client-id-error"
          >
            {props.issue}
          </div>
        ) : null}
        {sample.sourceName !== sample.clientId ? (
          <div className="muted tiny">
            from <span className="mono">{sample.sourceName}</span>
          </div>
        ) : null}
        <details
          className="derivation muted tiny"
          data-testid="plan-derivation"
        >
          <summary title="Show how the file names became this client id">
            {sample.derivation}
          </summary>
        </details>
      </td>
      <td className="col-files">
        <ReadFiles read={sample.r1} label="R1" />
        <ReadFiles read={sample.r2} label="R2" />
      </td>
      <td className="num nowrap">
        {formatBytes((sample.r1?.size ?? 0) + (sample.r2?.size ?? 0))}
      </td>
      <td className="col-problems">
        {sample.problems.length === 0 ? (
          <span className="muted small">None</span>
        ) : (
          <ProblemList problems={sample.problems} />
        )}
      </td>
    </tr>
  );
}

function ReadFiles(props: {
  read: PlannedRead | undefined;
  label: 'R1' | 'R2';
}) {
  if (!props.read) {
    return (
      <div
        className="read read-missing"
        data-testid="plan-read"
        data-read={props.label}
      >
        <span className="read-label">{props.label}</span>
        <span className="danger-text small">no file</span>
      </div>
    );
  }
  const { read } = props;
  const merged = read.files.length > 1;
  return (
    <div className="read" data-testid="plan-read" data-read={props.label}>
      <div className="read-head">
        <span className="read-label">{props.label}</span>
        <span className="mono small" title={read.destination}>
          → {baseName(read.destination)}
        </span>
        {merged ? (
          <span
            className="tag"
            title="Files are joined in lane, then chunk order into one object"
          >
            {read.files.length} files merged
          </span>
        ) : null}
      </div>
      <ul className="file-list">
        {read.files.map((f) => (
          <li key={f.path} data-testid="plan-file" data-path={f.path}>
            <span
              className="mono small clamp"
              title={`${f.relativePath}\n${f.rule}`}
            >
              {baseName(f.relativePath)}
            </span>
            <span className="muted tiny nowrap">
              {f.lane !== null ? `lane ${f.lane}` : 'no lane'}
              {f.chunk !== null ? ` · chunk ${f.chunk}` : ''} ·{' '}
              {formatBytes(f.size)}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function ProblemList(props: { problems: PlanProblem[]; testId?: string }) {
  const sorted = [...props.problems].sort((a, b) =>
    a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1,
  );
  return (
    <ul className="problem-list" data-testid={props.testId}>
      {sorted.map((p, i) => (
        <li
          key={`${p.code}-${p.path ?? ''}-${i}`}
          className={`problem problem-${p.severity}`}
          data-testid="plan-problem"
          data-severity={p.severity}
          data-code={p.code}
        >
          <StatusBadge
            text={p.severity === 'error' ? 'Error' : 'Warning'}
            tone={p.severity === 'error' ? 'danger' : 'warning'}
          />
          <span className="problem-text">
            {p.message}
            {p.path ? (
              <span className="mono small problem-file" title={p.path}>
                {' '}
                {baseName(p.path)}
              </span>
            ) : null}
          </span>
        </li>
      ))}
    </ul>
  );
}
