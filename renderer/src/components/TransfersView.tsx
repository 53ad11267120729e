/**
 * TransfersView: every upload and download job with total and per-file
 * progress, speed, ETA ("unknown" when it cannot be computed), state, the
 * failure reason, and pause / resume / cancel / retry (retry only when it
 * can help). A finished upload lists the samples it created; a finished
 * download offers "Open folder" on the desktop and shows its folder as text
 * in serve mode. Finished jobs can be dismissed from the list.
 *
 * data-testid: `transfers` (screen), `transfers-empty`, `transfers-error`,
 * `transfer-row` (with `data-transfer-id`, `data-state`, `data-kind`),
 * `transfer-title`, `transfer-state`, `transfer-progress`,
 * `transfer-bytes`, `transfer-speed`, `transfer-eta`, `transfer-attempt`,
 * `transfer-error`, `transfer-pause`, `transfer-resume`, `transfer-cancel`,
 * `transfer-retry`, `transfer-open-folder`, `transfer-folder-path`,
 * `transfer-copy-path`, `transfer-dismiss`, `transfer-open-project`,
 * `transfer-files-toggle`, `transfer-file-row` (with `data-state`),
 * `transfer-file-error`, `transfer-assigned`, `transfer-assigned-row`.
 */
import { useEffect, useState } from 'react';

import type {
  FileProgress,
  JobState,
  TransferSnapshot,
} from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import { commonFolder } from '../lib/paths.ts';
import {
  baseName,
  formatBytes,
  formatDateTime,
  formatEta,
  formatPercent,
  formatSpeed,
  plural,
} from '../lib/format.ts';
import type { Tone } from '../lib/status.ts';
import { useAppStore, useAppStoreShallow, useBridge } from '../store/react.tsx';
import type { TransferAction } from '../store/transfersSlice.ts';
import {
  isActiveTransfer,
  selectTransferTotals,
  selectVisibleTransferIds,
} from '../store/transfersSlice.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { StatusBadge } from './StatusBadge.tsx';

/** Files listed per job before "show all". */
export const FILES_SHOWN = 50;

const STATE_TEXT: Record<JobState | 'skipped', string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  retrying: 'Retrying',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  skipped: 'Already there',
};

const STATE_TONE: Record<JobState | 'skipped', Tone> = {
  queued: 'neutral',
  running: 'info',
  paused: 'warning',
  retrying: 'warning',
  done: 'success',
  failed: 'danger',
  cancelled: 'neutral',
  skipped: 'neutral',
};

/** Failure codes for which running the same job again cannot help. */
export const HOPELESS_CODES: ReadonlySet<string> = new Set([
  'validation',
  'not-found',
  'invalid-request',
  'unsupported',
]);

/**
 * actionsFor lists the controls a job in a state offers; a failure whose
 * code is in {@link HOPELESS_CODES} offers no retry.
 */
export function actionsFor(
  state: JobState,
  errorCode?: string,
): TransferAction[] {
  switch (state) {
    case 'queued':
    case 'running':
    case 'retrying':
      return ['pause', 'cancel'];
    case 'paused':
      return ['resume', 'cancel'];
    case 'failed':
    case 'cancelled':
      return errorCode !== undefined && HOPELESS_CODES.has(errorCode)
        ? []
        : ['retry'];
    case 'done':
      return [];
  }
}

const ACTION_TEXT: Record<TransferAction, string> = {
  pause: 'Pause',
  resume: 'Resume',
  cancel: 'Cancel',
  retry: 'Retry',
};

export function TransfersView() {
  const order = useAppStoreShallow(selectVisibleTransferIds);
  const status = useAppStore((s) => s.transfers.status);
  const error = useAppStore((s) => s.transfers.error);
  const loadTransfers = useAppStore((s) => s.loadTransfers);
  const totals = useAppStoreShallow(selectTransferTotals);

  useEffect(() => {
    void loadTransfers();
  }, [loadTransfers]);

  return (
    <section
      className="page"
      data-testid="transfers"
      aria-labelledby="transfers-title"
    >
      <header className="page-header">
        <div>
          <h1 id="transfers-title">Transfers</h1>
          <p className="muted">
            {totals.active > 0
              ? `${plural(totals.active, 'job')} in progress${totals.speed > 0 ? ` · ${formatSpeed(totals.speed)}` : ''}`
              : order.length > 0
                ? 'Nothing in progress.'
                : ''}
          </p>
        </div>
        <div className="page-actions">
          <button
            type="button"
            className="button"
            onClick={() => void loadTransfers()}
            disabled={status === 'loading'}
          >
            Refresh
          </button>
        </div>
      </header>
      {error ? (
        <ErrorNote
          error={error}
          title="Could not load the transfers."
          onRetry={() => void loadTransfers()}
          testId="transfers-error"
        />
      ) : null}
      {order.length === 0 && status !== 'loading' ? (
        <div className="empty" data-testid="transfers-empty">
          No transfers yet. Uploads and downloads you start appear here, with
          their progress.
        </div>
      ) : null}
      <ol className="transfer-list">
        {order.map((id) => (
          <TransferRow key={id} id={id} />
        ))}
      </ol>
    </section>
  );
}

/** TransferRow re-renders only when its own snapshot changes. */
export function TransferRow(props: { id: string }) {
  const t = useAppStore((s) => s.transfers.byId[props.id]);
  const pending = useAppStore((s) => s.transfers.pendingActions[props.id]);
  const destination = useAppStore((s) => s.transfers.destinations[props.id]);
  const controlTransfer = useAppStore((s) => s.controlTransfer);
  const dismissTransfer = useAppStore((s) => s.dismissTransfer);
  const navigate = useAppStore((s) => s.navigate);
  const pushToast = useAppStore((s) => s.pushToast);
  const bridge = useBridge();
  const [showFiles, setShowFiles] = useState(false);

  if (!t) {
    return null;
  }
  const active = isActiveTransfer(t);
  const pct = formatPercent(t.bytesDone, t.bytesTotal);
  const skipped = t.files.reduce(
    (n, f) => (f.state === 'skipped' ? n + 1 : n),
    0,
  );
  const allSkipped = t.files.length > 0 && skipped === t.files.length;
  const canOpenFolder = bridge.mode === 'desktop';
  const folder =
    t.kind === 'download'
      ? (destination ?? commonFolder(t.files.map((f) => f.name)))
      : null;
  const isSaved = t.kind === 'download' && t.state === 'done' && !!folder;

  async function openFolder() {
    if (!folder) {
      return;
    }
    try {
      await call(bridge, 'fs:openFolder', { path: folder });
    } catch (err) {
      pushToast({
        kind: 'error',
        title: 'Could not open the folder',
        message: toContractError(err).message,
      });
    }
  }

  return (
    <li
      className={`transfer transfer-${t.state}`}
      data-testid="transfer-row"
      data-transfer-id={t.id}
      data-state={t.state}
      data-kind={t.kind}
      aria-labelledby={`transfer-title-${t.id}`}
    >
      <div className="transfer-head">
        <span className={`kind-pill kind-${t.kind}`}>
          {t.kind === 'upload' ? 'Upload' : 'Download'}
        </span>
        <h2
          className="transfer-title"
          id={`transfer-title-${t.id}`}
          data-testid="transfer-title"
        >
          {t.title}
        </h2>
        <span data-testid="transfer-state" data-state={t.state}>
          <StatusBadge text={STATE_TEXT[t.state]} tone={STATE_TONE[t.state]} />
        </span>
      </div>

      <ProgressBar
        value={t.bytesDone}
        max={t.bytesTotal}
        label={`Progress of ${t.title}`}
        tone={
          t.state === 'failed'
            ? 'danger'
            : t.state === 'done'
              ? 'success'
              : t.state === 'paused'
                ? 'warning'
                : 'info'
        }
        active={active && t.state !== 'paused'}
        testId="transfer-progress"
      />

      <div className="transfer-figures">
        <span data-testid="transfer-bytes">
          {allSkipped ? (
            `${plural(skipped, 'file')} already there, nothing to ${t.kind}`
          ) : (
            <>
              {formatBytes(t.bytesDone)} of{' '}
              {t.bytesTotal === null
                ? 'unknown size'
                : formatBytes(t.bytesTotal)}
              {pct ? ` (${pct})` : ''}
              {skipped > 0
                ? ` · ${skipped.toLocaleString()} already there`
                : ''}
            </>
          )}
        </span>
        {active ? (
          <>
            <span data-testid="transfer-speed">
              <span className="muted">Speed </span>
              {t.state === 'running' && t.speed !== null && t.speed > 0
                ? formatSpeed(t.speed)
                : '—'}
            </span>
            <span data-testid="transfer-eta">
              <span className="muted">Time left </span>
              {t.state === 'paused' ? 'paused' : formatEta(t.etaSeconds)}
            </span>
          </>
        ) : null}
        {t.attempt > 1 ? (
          <span data-testid="transfer-attempt" className="muted">
            attempt {t.attempt}
          </span>
        ) : null}
        <span className="muted">
          {t.finishedAt
            ? `Finished ${formatDateTime(t.finishedAt)}`
            : t.startedAt
              ? `Started ${formatDateTime(t.startedAt)}`
              : t.state === 'queued'
                ? 'Waiting to start'
                : ''}
        </span>
      </div>

      {t.error && t.state !== 'cancelled' ? (
        <div
          className={`note ${t.state === 'failed' ? 'note-error' : 'note-warning'}`}
          role={t.state === 'failed' ? 'alert' : 'status'}
          data-testid="transfer-error"
        >
          <span>
            <strong>
              {t.state === 'failed' ? 'Failed: ' : 'Last error: '}
            </strong>
            {t.error.message}
          </span>
          <code className="note-code">{t.error.code}</code>
        </div>
      ) : null}

      <div className="transfer-actions">
        {actionsFor(t.state, t.error?.code).map((action) => (
          <button
            key={action}
            type="button"
            className={`button button-small${action === 'cancel' ? ' button-danger-ghost' : ''}`}
            disabled={pending !== undefined}
            onClick={() => void controlTransfer(action, t.id)}
            data-testid={`transfer-${action}`}
          >
            {pending === action
              ? `${ACTION_TEXT[action]}…`
              : ACTION_TEXT[action]}
          </button>
        ))}
        {isSaved && canOpenFolder ? (
          <button
            type="button"
            className="button button-small button-primary"
            onClick={() => void openFolder()}
            data-testid="transfer-open-folder"
            title={folder}
          >
            Open folder
          </button>
        ) : null}
        {t.kind === 'upload' && t.state === 'done' && t.projectId ? (
          <button
            type="button"
            className="button button-small"
            onClick={() =>
              navigate({ name: 'project', projectId: t.projectId as string })
            }
            data-testid="transfer-open-project"
          >
            Open project
          </button>
        ) : null}
        {!active ? (
          <button
            type="button"
            className="button button-ghost button-small"
            onClick={() => dismissTransfer(t.id)}
            aria-label={`Dismiss ${t.title}`}
            data-testid="transfer-dismiss"
          >
            Dismiss
          </button>
        ) : null}
        {t.files.length > 0 ? (
          <button
            type="button"
            className="button button-ghost button-small"
            aria-expanded={showFiles}
            onClick={() => setShowFiles((v) => !v)}
            data-testid="transfer-files-toggle"
          >
            {showFiles
              ? 'Hide files'
              : `Show ${plural(t.files.length, 'file')}`}
            {fileFailures(t) > 0 ? ` (${fileFailures(t)} failed)` : ''}
          </button>
        ) : null}
      </div>

      {isSaved && folder && !canOpenFolder ? (
        <FolderPath path={folder} />
      ) : null}

      {t.kind === 'upload' && t.assigned && t.assigned.length > 0 ? (
        <details
          className="assigned"
          data-testid="transfer-assigned"
          open={t.assigned.length <= 12}
        >
          <summary>
            {plural(t.assigned.length, 'sample')} assigned to the project
          </summary>
          <ul className="assigned-list">
            {t.assigned.map((a) => (
              <li key={a.sampleId} data-testid="transfer-assigned-row">
                <span className="strong">{a.clientId}</span>
                <span className="mono tiny muted selectable">{a.sampleId}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}

      {showFiles ? <FileList files={t.files} kind={t.kind} /> : null}
    </li>
  );
}

/**
 * FolderPath shows where a download went as selectable text, with a copy
 * button where the browser allows writing to the clipboard (serve mode
 * cannot open folders on this computer).
 */
function FolderPath(props: { path: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const canCopy =
    typeof navigator !== 'undefined' &&
    typeof navigator.clipboard?.writeText === 'function';

  async function copy() {
    try {
      await navigator.clipboard.writeText(props.path);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  }

  return (
    <div className="transfer-folder small">
      <span className="muted">Saved in </span>
      <code className="mono selectable" data-testid="transfer-folder-path">
        {props.path}
      </code>
      {canCopy ? (
        <button
          type="button"
          className="button button-ghost button-small"
          onClick={() => void copy()}
          data-testid="transfer-copy-path"
        >
          {copied === 'yes'
            ? 'Copied'
            : copied === 'failed'
              ? 'Copy failed; select the text'
              : 'Copy path'}
        </button>
      ) : null}
    </div>
  );
}

function fileFailures(t: TransferSnapshot): number {
  return t.files.reduce((n, f) => (f.state === 'failed' ? n + 1 : n), 0);
}

function FileList(props: {
  files: FileProgress[];
  kind: 'upload' | 'download';
}) {
  const [all, setAll] = useState(false);
  // Failures first, then what is moving, so problems never hide below.
  const rank = (f: FileProgress) =>
    f.state === 'failed'
      ? 0
      : f.state === 'running' || f.state === 'retrying'
        ? 1
        : 2;
  const files = [...props.files].sort((a, b) => rank(a) - rank(b));
  const shown = all ? files : files.slice(0, FILES_SHOWN);
  return (
    <div className="file-progress">
      <ul>
        {shown.map((f) => (
          <li
            key={f.name}
            className="file-progress-row"
            data-testid="transfer-file-row"
            data-state={f.state}
          >
            <span
              className="file-progress-name mono small clamp"
              title={f.name}
            >
              {f.clientId ? (
                <span className="strong">{f.clientId} · </span>
              ) : null}
              {props.kind === 'download' ? baseName(f.name) : f.name}
            </span>
            <ProgressBar
              value={f.bytesDone}
              max={f.bytesTotal}
              label={`Progress of ${baseName(f.name)}`}
              tone={
                f.state === 'failed'
                  ? 'danger'
                  : f.state === 'done'
                    ? 'success'
                    : 'info'
              }
              active={f.state === 'running'}
              size="thin"
            />
            <span className="muted tiny nowrap">
              {formatBytes(f.bytesDone)} / {formatBytes(f.bytesTotal)}
            </span>
            <StatusBadge
              text={STATE_TEXT[f.state]}
              tone={STATE_TONE[f.state]}
            />
            {f.error ? (
              <span
                className="danger-text small file-progress-error"
                data-testid="transfer-file-error"
              >
                {f.error}
              </span>
            ) : null}
          </li>
        ))}
      </ul>
      {files.length > shown.length ? (
        <button
          type="button"
          className="button button-ghost button-small"
          onClick={() => setAll(true)}
        >
          Show all {files.length.toLocaleString()} files
        </button>
      ) : null}
    </div>
  );
}
