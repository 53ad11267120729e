/**
 * SampleDetailPanel: one sample's status, QC metrics and deliverable files
 * (`samples:get`), beside the sample table.
 *
 * Escape closes it while it is open (unless a dialog is open above it).
 *
 * data-testid: `sample-detail`, `sample-detail-close`, `sample-detail-error`,
 * `sample-qc-row` (with `data-key`, `data-status`), `sample-file-row` (with
 * `data-file-type`), `sample-metadata`.
 */
import { useEffect } from 'react';

import type { QcMetric } from '../../../shared/domain.ts';
import { formatBytes, formatDateTime } from '../lib/format.ts';
import { qcLabel, statusTone } from '../lib/status.ts';
import { useAppStore } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { isModalOpen } from './Modal.tsx';
import { StatusBadge } from './StatusBadge.tsx';

const compact = new Intl.NumberFormat(undefined, {
  notation: 'compact',
  maximumSignificantDigits: 3,
});

/**
 * formatMetric renders a QC value: its text when it has one, else the
 * number (millions and more in compact form, e.g. `2.91B`).
 */
export function formatMetric(value: number | null, text: string): string {
  if (text !== '') {
    return text;
  }
  if (value === null) {
    return '—';
  }
  if (Math.abs(value) >= 1e6) {
    return compact.format(value);
  }
  if (Number.isInteger(value)) {
    return value.toLocaleString();
  }
  return value.toLocaleString(undefined, { maximumSignificantDigits: 4 });
}

const METRIC_RESULT: Record<QcMetric['status'], string> = {
  succeeded: 'passed',
  failed: 'failed',
  skipped: 'skipped',
};

function metricTone(metric: QcMetric) {
  return metric.status === 'succeeded'
    ? 'success'
    : metric.status === 'failed'
      ? 'danger'
      : 'neutral';
}

export function SampleDetailPanel() {
  const detail = useAppStore((s) => s.detail);
  const closeSample = useAppStore((s) => s.closeSample);
  const openSample = useAppStore((s) => s.openSample);
  const row = useAppStore((s) =>
    s.detail
      ? s.samples.rows.find((r) => r.id === s.detail?.sampleId)
      : undefined,
  );
  const isOpen = detail !== null;

  useEffect(() => {
    if (!isOpen) {
      return;
    }
    function onKeyDown(event: KeyboardEvent) {
      if (event.key !== 'Escape' || event.defaultPrevented || isModalOpen()) {
        return;
      }
      event.preventDefault();
      const hadFocus =
        document.activeElement?.closest('.detail-panel') instanceof Element;
      closeSample();
      // Focus inside the panel would be lost with it: go back to the table.
      if (hadFocus) {
        document
          .querySelector<HTMLElement>('.sample-table [role="grid"]')
          ?.focus();
      }
    }
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, [isOpen, closeSample]);

  if (!detail) {
    return null;
  }
  const value = detail.value;
  const heading = value?.clientId ?? row?.clientId ?? 'Sample';
  const base = value ?? row;
  const qc = base ? qcLabel(base) : null;

  return (
    <aside
      className="detail-panel"
      aria-labelledby="sample-detail-title"
      data-testid="sample-detail"
      data-sample-id={detail.sampleId}
    >
      <header className="detail-header">
        <div>
          <h2 id="sample-detail-title">{heading}</h2>
          <p className="mono small muted selectable">{detail.sampleId}</p>
        </div>
        <button
          type="button"
          className="button button-ghost button-small"
          onClick={closeSample}
          data-testid="sample-detail-close"
        >
          Close
        </button>
      </header>

      {base ? (
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusBadge
              text={base.status || 'unknown'}
              tone={statusTone(base.status)}
            />
          </dd>
          <dt>QC</dt>
          <dd>{qc ? <StatusBadge text={qc.text} tone={qc.tone} /> : '—'}</dd>
          <dt>Archive</dt>
          <dd>{base.archiveStatus ?? 'unknown'}</dd>
          <dt>Created</dt>
          <dd>{formatDateTime(base.created)}</dd>
          <dt>Modified</dt>
          <dd>{formatDateTime(base.modified)}</dd>
        </dl>
      ) : null}

      {detail.status === 'loading' ? (
        <p className="muted" aria-live="polite">
          Loading QC metrics and files…
        </p>
      ) : null}
      {detail.error ? (
        <ErrorNote
          error={detail.error}
          title="Could not load this sample."
          onRetry={() => void openSample(detail.sampleId)}
          testId="sample-detail-error"
        />
      ) : null}

      {value ? (
        <>
          <section className="detail-section" aria-labelledby="qc-title">
            <h3 id="qc-title">Quality control</h3>
            {value.qc.length === 0 ? (
              <p className="muted small">No QC metrics yet.</p>
            ) : (
              <table className="table table-compact">
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col" className="num">
                      Measured
                    </th>
                    <th scope="col" className="num">
                      Expected
                    </th>
                    <th scope="col">Result</th>
                  </tr>
                </thead>
                <tbody>
                  {value.qc.map((m) => (
                    <tr
                      key={m.key}
                      data-testid="sample-qc-row"
                      data-key={m.key}
                      data-status={m.status}
                    >
                      <th scope="row" title={m.key}>
                        {m.name || m.key}
                      </th>
                      <td
                        className="num"
                        title={
                          m.valueMeasured === null
                            ? undefined
                            : String(m.valueMeasured)
                        }
                      >
                        {formatMetric(m.valueMeasured, m.valueString)}
                      </td>
                      <td
                        className="num"
                        title={
                          m.valueExpected === null
                            ? undefined
                            : String(m.valueExpected)
                        }
                      >
                        {formatMetric(m.valueExpected, '')}
                      </td>
                      <td>
                        <StatusBadge
                          text={METRIC_RESULT[m.status] ?? m.status}
                          tone={metricTone(m)}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          <section className="detail-section" aria-labelledby="files-title">
            <h3 id="files-title">Files</h3>
            {value.files.length === 0 ? (
              <p className="muted small">No deliverables yet.</p>
            ) : (
              <table className="table table-compact">
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col" className="num">
                      Size
                    </th>
                    <th scope="col">Download</th>
                  </tr>
                </thead>
                <tbody>
                  {value.files.map((f) => (
                    <tr
                      key={f.id}
                      data-testid="sample-file-row"
                      data-file-type={f.fileType}
                    >
                      <th scope="row">
                        <span className="mono">{f.fileType}</span>
                        {f.checksumSha256 ? (
                          <div
                            className="mono tiny muted clamp selectable"
                            title={`SHA-256 ${f.checksumSha256}`}
                          >
                            sha256 {f.checksumSha256.slice(0, 16)}…
                          </div>
                        ) : null}
                      </th>
                      <td className="num">{formatBytes(f.size)}</td>
                      <td>
                        {f.downloadable ? (
                          <StatusBadge text="available" tone="success" />
                        ) : (
                          <StatusBadge
                            text="not available"
                            tone="neutral"
                            title="Archived or not produced yet"
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>

          {value.metadata != null ? (
            <section
              className="detail-section"
              aria-labelledby="metadata-title"
            >
              <h3 id="metadata-title">Metadata</h3>
              <pre
                className="code-block selectable"
                data-testid="sample-metadata"
              >
                {JSON.stringify(value.metadata, null, 2)}
              </pre>
            </section>
          ) : null}
        </>
      ) : null}
    </aside>
  );
}
