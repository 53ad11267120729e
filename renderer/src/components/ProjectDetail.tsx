/**
 * ProjectDetail: one project — its sample table (refreshed every few
 * seconds while any sample is still in progress), the open sample's QC and
 * files, uploads by drop or folder browser (through the plan preview), and
 * downloads of the whole project or the selected samples.
 *
 * data-testid: `project-detail` (with `data-project-id`), `project-back`,
 * `project-name`, `upload-button`, `download-project-button`,
 * `download-selected-button`, `samples-refresh`, `samples-updated`,
 * `samples-error`, `samples-loading`.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';

import type { SampleRow } from '../../../shared/domain.ts';
import { formatClock, plural } from '../lib/format.ts';
import { isTerminalStatus } from '../lib/status.ts';
import { useAppStore, useBridge } from '../store/react.tsx';
import { DownloadDialog } from './DownloadDialog.tsx';
import type { DownloadScope } from './DownloadDialog.tsx';
import { DropZone } from './DropZone.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { FolderBrowser } from './FolderBrowser.tsx';
import { PlanPreview } from './PlanPreview.tsx';
import { SampleDetailPanel } from './SampleDetailPanel.tsx';
import { SampleTable } from './SampleTable.tsx';

/**
 * Pause between the end of one automatic sample refresh and the start of
 * the next, by project size: listing a large project costs the platform
 * (and this app) more, so it is asked less often.
 */
export const AUTO_REFRESH_STEPS: readonly { upTo: number; ms: number }[] = [
  { upTo: 500, ms: 5_000 },
  { upTo: 5_000, ms: 15_000 },
  { upTo: Infinity, ms: 60_000 },
];

/** refreshIntervalMs is the automatic refresh pause for a sample count. */
export function refreshIntervalMs(sampleCount: number): number {
  const step = AUTO_REFRESH_STEPS.find((s) => sampleCount <= s.upTo);
  return (step ?? AUTO_REFRESH_STEPS[AUTO_REFRESH_STEPS.length - 1]).ms;
}

const SERVE_DROP_NOTICE =
  'Browsers do not reveal where dropped files are stored. Pick the same folders or files here; the app reads them from this computer.';

export function ProjectDetail(props: { projectId: string }) {
  const { projectId } = props;
  const bridge = useBridge();
  const project = useAppStore(
    (s) =>
      s.projects.items.find((p) => p.id === projectId) ??
      s.projects.search?.items.find((p) => p.id === projectId),
  );
  const projectsStatus = useAppStore((s) => s.projects.status);
  const samples = useAppStore((s) => s.samples);
  const selection = useAppStore((s) => s.selection);
  const openSampleId = useAppStore((s) => s.detail?.sampleId ?? null);
  const detailModified = useAppStore((s) => s.detail?.value?.modified ?? null);
  const planOpen = useAppStore(
    (s) => s.plan.status !== 'idle' && s.plan.projectId === projectId,
  );
  const loadSamples = useAppStore((s) => s.loadSamples);
  const loadProjects = useAppStore((s) => s.loadProjects);
  const setSelection = useAppStore((s) => s.setSelection);
  const openSample = useAppStore((s) => s.openSample);
  const createPlan = useAppStore((s) => s.createPlan);
  const navigate = useAppStore((s) => s.navigate);
  const pushToast = useAppStore((s) => s.pushToast);

  const [browser, setBrowser] = useState<{ notice?: string } | null>(null);
  const [download, setDownload] = useState<DownloadScope | null>(null);

  const headingRef = useRef<HTMLHeadingElement>(null);
  const name = project?.name ?? 'Project';
  const ours = samples.projectId === projectId;
  const rows = ours ? samples.rows : [];

  useEffect(() => {
    void loadSamples(projectId);
  }, [projectId, loadSamples]);

  // Keyboard and screen-reader users land on the project they opened.
  useEffect(() => {
    headingRef.current?.focus();
  }, [projectId]);

  useEffect(() => {
    if (projectsStatus === 'idle') {
      void loadProjects();
    }
  }, [projectsStatus, loadProjects]);

  const inProgress = useMemo(
    () => rows.reduce((n, r) => (isTerminalStatus(r.status) ? n : n + 1), 0),
    [rows],
  );

  const intervalMs = refreshIntervalMs(rows.length);
  const isLoading = samples.status === 'loading' || samples.refreshing;
  const canChange = inProgress > 0;

  // Poll while anything can still change; stop as soon as all is terminal.
  // The next refresh is planned only once the previous one has ended (each
  // end changes loadedAt or refreshing), so two never overlap.
  useEffect(() => {
    if (!ours || samples.status !== 'ready' || !canChange || isLoading) {
      return;
    }
    const timer = setTimeout(() => {
      void loadSamples(projectId, { background: true });
    }, intervalMs);
    return () => clearTimeout(timer);
  }, [
    ours,
    samples.status,
    samples.loadedAt,
    canChange,
    isLoading,
    intervalMs,
    projectId,
    loadSamples,
  ]);

  // The open sample changed on the platform: reload its detail too.
  useEffect(() => {
    if (!openSampleId || !detailModified) {
      return;
    }
    const row = rows.find((r) => r.id === openSampleId);
    if (row && row.modified !== detailModified) {
      void openSample(openSampleId);
    }
  }, [rows, openSampleId, detailModified, openSample]);

  const onOpen = useCallback(
    (row: SampleRow) => void openSample(row.id),
    [openSample],
  );
  const onSelectionChange = useCallback(
    (ids: Set<string>) => setSelection(ids),
    [setSelection],
  );

  function scan(paths: string[]) {
    setBrowser(null);
    void createPlan(projectId, paths);
  }

  function onPathsUnavailable(names: string[], someHadPaths: boolean) {
    if (!someHadPaths) {
      setBrowser({ notice: SERVE_DROP_NOTICE });
      return;
    }
    pushToast({
      kind: 'error',
      title: `${plural(names.length, 'dropped item')} left out`,
      message: `No local path is known for ${names.slice(0, 3).join(', ')}${names.length > 3 ? '…' : ''}; add them with “Upload files…”.`,
    });
  }

  const selectedHere = rows.filter((r) => selection.has(r.id));
  const exampleRow = selectedHere[0] ?? rows[0];

  return (
    <DropZone
      onPaths={scan}
      onPathsUnavailable={onPathsUnavailable}
      label={`Drop to plan an upload to ${name}`}
      disabled={planOpen}
      className="page page-project"
    >
      <section
        className="project-detail"
        data-testid="project-detail"
        data-project-id={projectId}
        aria-labelledby="project-title"
      >
        <header className="page-header">
          <div>
            <button
              type="button"
              className="link-button small"
              onClick={() => navigate({ name: 'projects' })}
              data-testid="project-back"
            >
              ← All projects
            </button>
            <h1
              id="project-title"
              data-testid="project-name"
              tabIndex={-1}
              ref={headingRef}
            >
              {name}
            </h1>
            <p className="muted">
              {project?.configurationName ??
                project?.pipelineCapabilities ??
                ''}
              {project ? ' · ' : ''}
              {ours && samples.status !== 'loading'
                ? plural(rows.length, 'sample')
                : 'Loading samples…'}
              {inProgress > 0
                ? ` · ${inProgress.toLocaleString()} in progress`
                : ''}
            </p>
          </div>
          <div className="page-actions">
            <button
              type="button"
              className="button button-primary"
              onClick={() => setBrowser({})}
              data-testid="upload-button"
            >
              Upload files…
            </button>
            <button
              type="button"
              className="button"
              onClick={() =>
                setDownload({ kind: 'project', projectId, projectName: name })
              }
              disabled={rows.length === 0}
              data-testid="download-project-button"
            >
              Download project
            </button>
            <button
              type="button"
              className="button"
              onClick={() =>
                setDownload({
                  kind: 'samples',
                  sampleIds: selectedHere.map((r) => r.id),
                  projectName: name,
                })
              }
              disabled={selectedHere.length === 0}
              data-testid="download-selected-button"
            >
              Download selected
              {selectedHere.length > 0
                ? ` (${selectedHere.length.toLocaleString()})`
                : ''}
            </button>
          </div>
        </header>

        <div className="project-status-line">
          <span className="muted small">
            {bridge.mode === 'desktop'
              ? 'Drop FASTQ files or folders anywhere here to plan an upload.'
              : 'Use “Upload files…” to pick FASTQ files or folders on this computer.'}
          </span>
          <span className="spacer" />
          {samples.loadedAt && ours ? (
            <span
              className="muted small"
              data-testid="samples-updated"
              aria-live="off"
            >
              {isLoading
                ? 'Refreshing…'
                : `Updated ${formatClock(samples.loadedAt)}`}
              {canChange
                ? ` · refreshes every ${intervalMs / 1000} s while samples are in progress`
                : ''}
            </span>
          ) : null}
          <button
            type="button"
            className="button button-ghost button-small"
            onClick={() => void loadSamples(projectId, { background: true })}
            disabled={samples.status === 'loading' || samples.refreshing}
            data-testid="samples-refresh"
          >
            Refresh
          </button>
        </div>

        {ours && samples.error ? (
          <ErrorNote
            error={samples.error}
            title={
              samples.rows.length > 0
                ? 'The last refresh failed; showing earlier data.'
                : 'Could not load the samples.'
            }
            onRetry={() => void loadSamples(projectId)}
            testId="samples-error"
          />
        ) : null}

        <div className={`project-body${openSampleId ? ' has-detail' : ''}`}>
          {ours && samples.status === 'loading' && rows.length === 0 ? (
            <div className="empty" data-testid="samples-loading">
              <span className="spinner" aria-hidden="true" /> Loading samples…
            </div>
          ) : (
            <SampleTable
              rows={rows}
              selection={selection}
              onSelectionChange={onSelectionChange}
              onOpen={onOpen}
              openSampleId={openSampleId}
              emptyMessage="No samples in this project yet. Upload FASTQ files to add some."
            />
          )}
          <SampleDetailPanel />
        </div>
      </section>

      {browser ? (
        <FolderBrowser
          mode="paths"
          title={`Choose files to upload to ${name}`}
          notice={browser.notice}
          confirmLabel="Scan"
          onCancel={() => setBrowser(null)}
          onConfirm={scan}
        />
      ) : null}

      {planOpen ? (
        <PlanPreview
          projectName={name}
          onClose={() => undefined}
          onChooseOther={() => setBrowser({})}
          onStarted={() => {
            pushToast({
              kind: 'info',
              title: 'Upload started',
              message: `Samples will be assigned to ${name} when the upload finishes.`,
            });
            navigate({ name: 'transfers' });
          }}
        />
      ) : null}

      {download ? (
        <DownloadDialog
          scope={download}
          exampleSample={exampleRow}
          onClose={() => setDownload(null)}
          onStarted={() => {
            setDownload(null);
            pushToast({
              kind: 'info',
              title: 'Download started',
              message: 'Follow its progress here in Transfers.',
            });
            navigate({ name: 'transfers' });
          }}
        />
      ) : null}
    </DropZone>
  );
}
