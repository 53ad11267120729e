/**
 * WatchFoldersView: the watched sequencer folders, each with its status
 * (watching, paused, missing, unreadable) and the reason, and every run
 * found in it with its state: what it waits for (missing markers, files
 * still settling), its plan, its upload's progress, the samples it created
 * or why it failed. Folders are added, paused, resumed and removed here;
 * runs can be ignored or retried. On the desktop, the "Start at login and
 * watch folders" setting lives here too.
 *
 * data-testid: `watch-view`, `watch-add-button`, `watch-empty`,
 * `watch-error`, `watch-start-at-login`, `watch-folder` (with
 * `data-folder-id`, `data-status`), `watch-folder-path`,
 * `watch-folder-status`, `watch-folder-message`, `watch-folder-project`,
 * `watch-folder-destination`, `watch-folder-kind`, `watch-folder-pause`,
 * `watch-folder-resume`, `watch-folder-remove`, `watch-runs-empty`,
 * `watch-run` (with `data-run-id`, `data-state`), `watch-run-name`,
 * `watch-run-state`, `watch-run-message`, `watch-run-markers`,
 * `watch-run-unsettled`, `watch-run-plan-summary`, `watch-run-progress`,
 * `watch-run-assigned`, `watch-run-problems`, `watch-run-show-plan`,
 * `watch-run-show-transfer`, `watch-run-open-project`, `watch-run-ignore`,
 * `watch-run-retry`, `watch-remove-dialog`, `watch-remove-confirm`,
 * `watch-remove-cancel`, `watch-plan-error`.
 */
import { useEffect, useState } from 'react';

import type { ContractError } from '../../../shared/contract.ts';
import type {
  UploadPlan,
  WatchFolderStatus,
  WatchFolderView,
  WatchRunState,
  WatchRunView,
} from '../../../shared/domain.ts';
import {
  formatBytes,
  formatClock,
  formatDateTime,
  formatPercent,
  parseTimestamp,
  plural,
} from '../lib/format.ts';
import type { Tone } from '../lib/status.ts';
import { useAppStore } from '../store/react.tsx';
import { runKey } from '../store/watchSlice.ts';
import { AddWatchFolderDialog, gncvSegment } from './AddWatchFolderDialog.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { Modal } from './Modal.tsx';
import { PlanReadOnly } from './PlanPreview.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { StatusBadge } from './StatusBadge.tsx';

const FOLDER_STATUS: Record<WatchFolderStatus, { text: string; tone: Tone }> = {
  watching: { text: 'Watching', tone: 'success' },
  paused: { text: 'Paused', tone: 'warning' },
  missing: { text: 'Missing', tone: 'danger' },
  unreadable: { text: 'Unreadable', tone: 'danger' },
  stopped: { text: 'Not watched', tone: 'neutral' },
};

const RUN_STATE: Record<WatchRunState, { text: string; tone: Tone }> = {
  'waiting-for-run': { text: 'Waiting for the run', tone: 'neutral' },
  settling: { text: 'Settling', tone: 'warning' },
  planned: { text: 'Planned', tone: 'info' },
  uploading: { text: 'Uploading', tone: 'info' },
  assigned: { text: 'Assigned', tone: 'success' },
  failed: { text: 'Failed', tone: 'danger' },
  ignored: { text: 'Ignored', tone: 'neutral' },
  duplicate: { text: 'Already delivered', tone: 'neutral' },
  'not-a-run': { text: 'Not a run', tone: 'neutral' },
};

/** States in which the user may leave a run out. */
const IGNORABLE: ReadonlySet<WatchRunState> = new Set([
  'waiting-for-run',
  'settling',
  'planned',
  'failed',
]);

/** States in which the user may give a run another chance. */
const RETRYABLE: ReadonlySet<WatchRunState> = new Set(['failed', 'ignored']);

/** Unsettled files listed per run before "and N more". */
const UNSETTLED_SHOWN = 5;

/** Run order: the ones still moving first, then newest first. */
function runOrder(a: WatchRunView, b: WatchRunView): number {
  const rank = (r: WatchRunView) =>
    r.state === 'not-a-run'
      ? 2
      : RETRYABLE.has(r.state) ||
          r.state === 'assigned' ||
          r.state === 'duplicate'
        ? 1
        : 0;
  const byRank = rank(a) - rank(b);
  if (byRank !== 0) {
    return byRank;
  }
  return a.firstSeenAt < b.firstSeenAt
    ? 1
    : a.firstSeenAt > b.firstSeenAt
      ? -1
      : 0;
}

/** destinationText says where a folder's runs go. */
export function destinationText(folder: WatchFolderView): string {
  const base =
    folder.destination ??
    `gncv://${gncvSegment(folder.projectName ?? 'project', 'project')}/`;
  return `${base}<run folder name>/`;
}

interface PlanView {
  run: WatchRunView;
  plan: UploadPlan | null;
  error: ContractError | null;
  isLoading: boolean;
}

export function WatchFoldersView() {
  const watch = useAppStore((s) => s.watch);
  const settings = useAppStore((s) => s.settings);
  const session = useAppStore((s) => s.session);
  const loadWatchFolders = useAppStore((s) => s.loadWatchFolders);
  const loadSettings = useAppStore((s) => s.loadSettings);
  const setStartAtLogin = useAppStore((s) => s.setStartAtLogin);
  const loadWatchPlan = useAppStore((s) => s.loadWatchPlan);
  const pushToast = useAppStore((s) => s.pushToast);

  const [isAdding, setIsAdding] = useState(false);
  const [removing, setRemoving] = useState<WatchFolderView | null>(null);
  const [planView, setPlanView] = useState<PlanView | null>(null);

  useEffect(() => {
    void loadWatchFolders();
    void loadSettings();
  }, [loadWatchFolders, loadSettings]);

  async function showPlan(run: WatchRunView) {
    if (!run.runId) {
      return;
    }
    setPlanView({ run, plan: null, error: null, isLoading: true });
    const result = await loadWatchPlan(run.folderId, run.runId);
    setPlanView((current) =>
      current?.run.path !== run.path
        ? current
        : result.ok
          ? { run, plan: result.value, error: null, isLoading: false }
          : { run, plan: null, error: result.error, isLoading: false },
    );
  }

  const canStartAtLogin =
    session?.mode === 'desktop' && settings.value?.canStartAtLogin === true;

  return (
    <section
      className="page"
      data-testid="watch-view"
      aria-labelledby="watch-title"
    >
      <header className="page-header">
        <div>
          <h1 id="watch-title">Watch folders</h1>
          <p className="muted">
            Folders your sequencers write to. Each finished run is uploaded by
            itself, once, and assigned to the folder’s project.
          </p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="button button-primary"
            onClick={() => setIsAdding(true)}
            data-testid="watch-add-button"
          >
            Add watch folder…
          </button>
        </div>
      </header>

      {canStartAtLogin ? (
        <label className="check setting-row">
          <input
            type="checkbox"
            checked={settings.value?.startAtLogin ?? false}
            disabled={settings.isSaving}
            onChange={(e) => void setStartAtLogin(e.target.checked)}
            data-testid="watch-start-at-login"
          />
          <span>
            <strong>Start at login and watch folders</strong>
            <span className="muted small">
              {' '}
              — the app opens when you log in to this computer and keeps
              delivering runs.
            </span>
          </span>
        </label>
      ) : null}

      {watch.error ? (
        <ErrorNote
          error={watch.error}
          title="Could not load the watch folders."
          onRetry={() => void loadWatchFolders()}
          testId="watch-error"
        />
      ) : null}

      {watch.status !== 'loading' &&
      watch.folders.length === 0 &&
      !watch.error ? (
        <div className="empty" data-testid="watch-empty">
          No watch folder yet. Add the folder a sequencer writes its run folders
          into: runs are uploaded when the instrument has finished them.
        </div>
      ) : null}

      <ul className="watch-list">
        {watch.folders.map((folder) => (
          <WatchFolderCard
            key={folder.id}
            folder={folder}
            onRemove={() => setRemoving(folder)}
            onShowPlan={(run) => void showPlan(run)}
          />
        ))}
      </ul>

      {isAdding ? (
        <AddWatchFolderDialog
          onClose={() => setIsAdding(false)}
          onAdded={(folder) => {
            setIsAdding(false);
            pushToast({
              kind: 'info',
              title: 'Watching the folder',
              message: `New runs in ${folder.path} go to ${folder.projectName ?? 'the project'}.`,
            });
          }}
        />
      ) : null}

      {removing ? (
        <RemoveDialog folder={removing} onClose={() => setRemoving(null)} />
      ) : null}

      {planView?.plan ? (
        <PlanReadOnly
          plan={planView.plan}
          title={`Upload plan of ${planView.run.name}`}
          subtitle="Made by the watch folder when the run was complete. Samples with errors were left out."
          isDelivered={planView.run.state === 'assigned'}
          onClose={() => setPlanView(null)}
        />
      ) : null}
      {planView && !planView.plan ? (
        <Modal
          title={`Upload plan of ${planView.run.name}`}
          onClose={() => setPlanView(null)}
          size="small"
        >
          {planView.isLoading ? (
            <p className="muted">
              <span className="spinner" aria-hidden="true" /> Loading the plan…
            </p>
          ) : planView.error ? (
            <ErrorNote
              error={planView.error}
              title="Could not load the plan."
              testId="watch-plan-error"
            />
          ) : (
            <p className="muted">This run has not been planned yet.</p>
          )}
        </Modal>
      ) : null}
    </section>
  );
}

function WatchFolderCard(props: {
  folder: WatchFolderView;
  onRemove: () => void;
  onShowPlan: (run: WatchRunView) => void;
}) {
  const { folder } = props;
  const pending = useAppStore((s) => s.watch.pending[folder.id]);
  const controlWatchFolder = useAppStore((s) => s.controlWatchFolder);
  const navigate = useAppStore((s) => s.navigate);
  const status = FOLDER_STATUS[folder.status];
  const isTroubled =
    folder.status === 'missing' || folder.status === 'unreadable';
  const runs = [...folder.runs].sort(runOrder);
  const titleId = `watch-folder-${folder.id}`;

  return (
    <li
      className={`watch-folder${isTroubled ? ' watch-folder-troubled' : ''}`}
      data-testid="watch-folder"
      data-folder-id={folder.id}
      data-status={folder.status}
      aria-labelledby={titleId}
    >
      <div className="watch-folder-head">
        <h2
          id={titleId}
          className="watch-folder-path mono"
          data-testid="watch-folder-path"
          title={folder.path}
        >
          {folder.path}
        </h2>
        <span data-testid="watch-folder-status" data-status={folder.status}>
          <StatusBadge text={status.text} tone={status.tone} />
        </span>
      </div>

      <div className="watch-folder-facts small">
        <span>
          <span className="muted">Project </span>
          <button
            type="button"
            className="link-button"
            onClick={() =>
              navigate({ name: 'project', projectId: folder.projectId })
            }
            data-testid="watch-folder-project"
          >
            {folder.projectName ?? folder.projectId}
          </button>
        </span>
        <span>
          <span className="muted">Destination </span>
          <span className="mono" data-testid="watch-folder-destination">
            {destinationText(folder)}
          </span>
        </span>
        <span data-testid="watch-folder-kind">
          {folder.isPolling ? 'Network share (polling)' : 'Local folder'}
          <span className="muted">
            {' '}
            · settles after {folder.settleSeconds.toLocaleString()} s
          </span>
        </span>
        {folder.metadata !== null && folder.metadata !== undefined ? (
          <span>
            <span className="muted">Metadata </span>
            <code
              className="mono clamp metadata-inline"
              title={JSON.stringify(folder.metadata, null, 2)}
            >
              {JSON.stringify(folder.metadata)}
            </code>
          </span>
        ) : null}
      </div>

      <div
        className={`note ${isTroubled ? 'note-error' : folder.status === 'paused' ? 'note-warning' : 'note-info'} watch-folder-message`}
        role={isTroubled ? 'alert' : 'status'}
        data-testid="watch-folder-message"
      >
        <span>
          {folder.message}
          {folder.nextRetryAt ? (
            <span className="muted">
              {' '}
              (next look at {formatClock(parseTimestamp(folder.nextRetryAt))})
            </span>
          ) : null}
        </span>
      </div>

      <div className="transfer-actions">
        {folder.status === 'paused' ? (
          <button
            type="button"
            className="button button-small"
            disabled={pending !== undefined}
            onClick={() => void controlWatchFolder('resume', folder.id)}
            data-testid="watch-folder-resume"
          >
            {pending === 'resume' ? 'Resuming…' : 'Resume'}
          </button>
        ) : (
          <button
            type="button"
            className="button button-small"
            disabled={pending !== undefined}
            onClick={() => void controlWatchFolder('pause', folder.id)}
            data-testid="watch-folder-pause"
          >
            {pending === 'pause' ? 'Pausing…' : 'Pause'}
          </button>
        )}
        <button
          type="button"
          className="button button-small button-danger-ghost"
          disabled={pending !== undefined}
          onClick={props.onRemove}
          data-testid="watch-folder-remove"
        >
          Remove…
        </button>
      </div>

      {runs.length === 0 ? (
        <p className="muted small" data-testid="watch-runs-empty">
          No run folder found yet.
        </p>
      ) : (
        <div className="table-card">
          <table className="table watch-runs">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">State</th>
                <th scope="col">Details</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <WatchRunRow
                  key={run.path}
                  run={run}
                  projectId={folder.projectId}
                  onShowPlan={() => props.onShowPlan(run)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  );
}

function WatchRunRow(props: {
  run: WatchRunView;
  projectId: string;
  onShowPlan: () => void;
}) {
  const { run } = props;
  const transfer = useAppStore((s) =>
    run.jobId ? s.transfers.byId[run.jobId] : undefined,
  );
  const pending = useAppStore((s) =>
    run.runId ? s.watch.pending[runKey(run.folderId, run.runId)] : undefined,
  );
  const controlWatchRun = useAppStore((s) => s.controlWatchRun);
  const navigate = useAppStore((s) => s.navigate);
  const state = RUN_STATE[run.state];
  const hasBlockingProblem = run.problems.some((p) => p.severity === 'error');

  return (
    <tr
      className={`watch-run watch-run-${run.state}`}
      data-testid="watch-run"
      data-run-id={run.runId ?? ''}
      data-state={run.state}
    >
      <td className="watch-run-name">
        <span
          className="mono strong"
          data-testid="watch-run-name"
          title={run.path}
        >
          {run.name}
        </span>
        <div className="muted tiny">
          {run.instrument ? `${run.instrument} · ` : ''}
          found {formatDateTime(run.firstSeenAt)}
          {run.isPresent ? '' : ' · not on disk now'}
        </div>
      </td>
      <td className="nowrap">
        <span data-testid="watch-run-state" data-state={run.state}>
          <StatusBadge text={state.text} tone={state.tone} />
        </span>
      </td>
      <td>
        <div className="watch-run-details">
          <div data-testid="watch-run-message">{run.message}</div>
          {run.state === 'waiting-for-run' && run.missingMarkers.length > 0 ? (
            <div className="small" data-testid="watch-run-markers">
              <span className="muted">Missing: </span>
              {run.missingMarkers.map((m) => (
                <span key={m} className="mono chip">
                  {m}
                </span>
              ))}
            </div>
          ) : null}
          {run.state === 'settling' && run.unsettledFiles.length > 0 ? (
            <ul
              className="watch-unsettled small"
              data-testid="watch-run-unsettled"
            >
              {run.unsettledFiles.slice(0, UNSETTLED_SHOWN).map((f) => (
                <li key={f.path}>
                  <span className="mono">{f.path}</span>
                  <span className="muted">
                    {' '}
                    — {f.reason}
                    {f.readyAt
                      ? ` (settled at ${formatClock(parseTimestamp(f.readyAt))} if unchanged)`
                      : ''}
                  </span>
                </li>
              ))}
              {run.unsettledFiles.length > UNSETTLED_SHOWN ? (
                <li className="muted">
                  and{' '}
                  {plural(
                    run.unsettledFiles.length - UNSETTLED_SHOWN,
                    'more file',
                  )}
                </li>
              ) : null}
            </ul>
          ) : null}
          {run.plan ? (
            <div className="small muted" data-testid="watch-run-plan-summary">
              {plural(run.plan.includedSamples, 'sample')} of{' '}
              {run.plan.totalSamples.toLocaleString()} ·{' '}
              {formatBytes(run.plan.totalBytes)} to{' '}
              <span className="mono">{run.plan.destination}</span>
            </div>
          ) : null}
          {run.state === 'uploading' && transfer ? (
            <div
              className="watch-run-progress"
              data-testid="watch-run-progress"
            >
              <ProgressBar
                value={transfer.bytesDone}
                max={transfer.bytesTotal}
                label={`Upload of ${run.name}`}
                size="thin"
                active
              />
              <span className="muted tiny">
                {formatBytes(transfer.bytesDone)} of{' '}
                {formatBytes(transfer.bytesTotal)}
                {transfer.bytesTotal
                  ? ` (${formatPercent(transfer.bytesDone, transfer.bytesTotal)})`
                  : ''}
              </span>
            </div>
          ) : null}
          {run.state === 'assigned' && run.assigned.length > 0 ? (
            <details className="small" data-testid="watch-run-assigned">
              <summary>
                {plural(run.assigned.length, 'sample')} assigned
              </summary>
              <ul className="assigned-list">
                {run.assigned.map((a) => (
                  <li key={a.sampleId}>
                    <span className="mono">{a.clientId}</span>
                    <span className="mono muted">{a.sampleId}</span>
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
          {run.problems.length > 0 && run.state === 'failed' ? (
            <ul className="problem-list" data-testid="watch-run-problems">
              {run.problems.slice(0, 5).map((p, i) => (
                <li
                  key={`${p.code}-${i}`}
                  className={`problem problem-${p.severity}`}
                >
                  <StatusBadge
                    text={p.severity === 'error' ? 'Error' : 'Warning'}
                    tone={p.severity === 'error' ? 'danger' : 'warning'}
                  />
                  <span className="problem-text small">{p.message}</span>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      </td>
      <td className="watch-run-actions">
        {run.plan && run.runId ? (
          <button
            type="button"
            className="button button-small button-ghost"
            onClick={props.onShowPlan}
            data-testid="watch-run-show-plan"
          >
            Show plan
          </button>
        ) : null}
        {run.state === 'uploading' && run.jobId ? (
          <button
            type="button"
            className="button button-small button-ghost"
            onClick={() => navigate({ name: 'transfers' })}
            data-testid="watch-run-show-transfer"
          >
            Show in Transfers
          </button>
        ) : null}
        {run.state === 'assigned' ? (
          <button
            type="button"
            className="button button-small"
            onClick={() =>
              navigate({ name: 'project', projectId: props.projectId })
            }
            data-testid="watch-run-open-project"
          >
            Open project
          </button>
        ) : null}
        {run.runId && RETRYABLE.has(run.state) ? (
          <button
            type="button"
            className="button button-small"
            disabled={pending !== undefined}
            onClick={() =>
              void controlWatchRun(
                'retryRun',
                run.folderId,
                run.runId as string,
              )
            }
            data-testid="watch-run-retry"
            title={
              hasBlockingProblem
                ? 'Looks at the run again; samples with errors still stay out.'
                : undefined
            }
          >
            {pending === 'retryRun'
              ? 'Retrying…'
              : run.state === 'ignored'
                ? 'Watch again'
                : 'Retry'}
          </button>
        ) : null}
        {run.runId && IGNORABLE.has(run.state) ? (
          <button
            type="button"
            className="button button-small button-ghost"
            disabled={pending !== undefined}
            onClick={() =>
              void controlWatchRun(
                'ignoreRun',
                run.folderId,
                run.runId as string,
              )
            }
            data-testid="watch-run-ignore"
          >
            {pending === 'ignoreRun' ? 'Ignoring…' : 'Ignore run'}
          </button>
        ) : null}
      </td>
    </tr>
  );
}

function RemoveDialog(props: { folder: WatchFolderView; onClose: () => void }) {
  const controlWatchFolder = useAppStore((s) => s.controlWatchFolder);
  const [isRemoving, setIsRemoving] = useState(false);
  const active = props.folder.runs.filter(
    (r) => r.state === 'uploading',
  ).length;

  async function remove() {
    setIsRemoving(true);
    const isDone = await controlWatchFolder('remove', props.folder.id);
    setIsRemoving(false);
    if (isDone) {
      props.onClose();
    }
  }

  return (
    <Modal
      title="Stop watching this folder?"
      onClose={props.onClose}
      dismissible={!isRemoving}
      size="small"
      testId="watch-remove-dialog"
      footer={
        <>
          <span className="spacer" />
          <button
            type="button"
            className="button"
            onClick={props.onClose}
            disabled={isRemoving}
            data-testid="watch-remove-cancel"
          >
            Keep watching
          </button>
          <button
            type="button"
            className="button button-primary"
            onClick={() => void remove()}
            disabled={isRemoving}
            data-testid="watch-remove-confirm"
          >
            {isRemoving ? 'Removing…' : 'Stop watching'}
          </button>
        </>
      }
    >
      <p className="mono selectable">{props.folder.path}</p>
      <p>
        <strong>Nothing is deleted on disk:</strong> the folder, its run folders
        and their FASTQs stay where they are. Samples already assigned stay in
        the project.
      </p>
      <p className="muted small">
        {active > 0
          ? `${plural(active, 'upload')} already started ${active === 1 ? 'goes' : 'go'} on (see Transfers). `
          : ''}
        If you add the folder again later, runs it already delivered are not
        uploaded twice.
      </p>
    </Modal>
  );
}
