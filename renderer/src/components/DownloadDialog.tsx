/**
 * DownloadDialog: download a whole project's deliverables or the selected
 * samples' — destination folder (default from `download:defaults`,
 * editable, with a folder browser; absolute paths only), path template
 * (with a live example of the resulting path, names made safe as the engine
 * will) and skip-existing. Progress then shows in Transfers.
 *
 * data-testid: `download-dialog`, `download-destination`, `download-browse`,
 * `download-destination-error`, `download-template`,
 * `download-template-reset`, `download-template-error`,
 * `download-template-warning`, `download-template-reserved`,
 * `download-example`, `download-skip-existing`,
 * `download-submit`, `download-cancel`, `download-error`,
 * `download-defaults-error`.
 */
import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';

import type { ContractError } from '../../../shared/contract.ts';
import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../../shared/domain.ts';
import type { DownloadRequest } from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import { plural } from '../lib/format.ts';
import {
  TEMPLATE_TOKENS,
  absolutePathError,
  exampleValues,
  expandTemplateSafely,
  joinLocalPath,
  reservedNameNote,
  templateError,
  templateWarning,
} from '../lib/template.ts';
import { useAppStore, useBridge, useServices } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { FolderBrowser } from './FolderBrowser.tsx';
import { Modal } from './Modal.tsx';

export type DownloadScope =
  | { kind: 'project'; projectId: string; projectName: string }
  | { kind: 'samples'; sampleIds: string[]; projectName: string };

export interface DownloadDialogProps {
  scope: DownloadScope;
  /** A sample to build the live example from. */
  exampleSample?: { clientId: string; id: string };
  onClose: () => void;
  onStarted: (jobId: string) => void;
}

export function DownloadDialog(props: DownloadDialogProps) {
  const bridge = useBridge();
  const { notifier } = useServices();
  const startDownload = useAppStore((s) => s.startDownload);
  const [destination, setDestination] = useState('');
  const [template, setTemplate] = useState(DEFAULT_DOWNLOAD_TEMPLATE);
  const [defaultTemplate, setDefaultTemplate] = useState(
    DEFAULT_DOWNLOAD_TEMPLATE,
  );
  const [skipExisting, setSkipExisting] = useState(true);
  const [defaultsError, setDefaultsError] = useState<ContractError | null>(
    null,
  );
  const [loadingDefaults, setLoadingDefaults] = useState(true);
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<ContractError | null>(null);
  const [browsing, setBrowsing] = useState(false);
  const [touched, setTouched] = useState(false);
  const [destLeft, setDestLeft] = useState(false);

  useEffect(() => {
    let live = true;
    call(bridge, 'download:defaults', {}).then(
      (defaults) => {
        if (!live) {
          return;
        }
        setDestination((d) => (d === '' ? defaults.folder : d));
        setTemplate((t) =>
          t === DEFAULT_DOWNLOAD_TEMPLATE ? defaults.template : t,
        );
        setDefaultTemplate(defaults.template);
        setLoadingDefaults(false);
      },
      (err: unknown) => {
        if (!live) {
          return;
        }
        setDefaultsError(toContractError(err));
        setLoadingDefaults(false);
      },
    );
    return () => {
      live = false;
    };
  }, [bridge]);

  const tplProblem = templateError(template);
  const tplWarning = tplProblem ? null : templateWarning(template);
  const tplReserved = tplProblem ? null : reservedNameNote(template);
  const destProblem = absolutePathError(destination);
  // Said once the user leaves the field or submits, not while typing.
  const showDestProblem = destProblem !== null && (touched || destLeft);
  const example =
    tplProblem || destProblem
      ? null
      : joinLocalPath(
          destination.trim(),
          expandTemplateSafely(template, exampleValues(props.exampleSample)),
        );

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setTouched(true);
    if (tplProblem || destProblem || submitting) {
      return;
    }
    notifier.maybeRequestPermission();
    setSubmitting(true);
    setError(null);
    const request: DownloadRequest = {
      destination: destination.trim(),
      template,
      skipExisting,
      ...(props.scope.kind === 'project'
        ? { projectId: props.scope.projectId }
        : { sampleIds: props.scope.sampleIds }),
    };
    const result = await startDownload(request);
    setSubmitting(false);
    if (result.ok) {
      props.onStarted(result.value.jobId);
    } else {
      setError(result.error);
    }
  }

  const title =
    props.scope.kind === 'project'
      ? `Download ${props.scope.projectName}`
      : `Download ${plural(props.scope.sampleIds.length, 'selected sample')}`;

  return (
    <>
      <Modal
        title={title}
        subtitle={
          props.scope.kind === 'project'
            ? 'Every sample’s deliverables, checked against the platform’s checksums.'
            : `From ${props.scope.projectName}, checked against the platform’s checksums.`
        }
        onClose={props.onClose}
        testId="download-dialog"
      >
        <form className="stack" onSubmit={(e) => void onSubmit(e)} noValidate>
          {defaultsError ? (
            <ErrorNote
              error={defaultsError}
              title="Could not read the default folder; enter one."
              testId="download-defaults-error"
            />
          ) : null}

          <div className="field">
            <label className="field-label" htmlFor="download-destination">
              Destination folder
            </label>
            <div className="input-row">
              <input
                id="download-destination"
                type="text"
                className="mono"
                value={destination}
                placeholder={
                  loadingDefaults ? 'Loading the default folder…' : ''
                }
                onChange={(e) => setDestination(e.target.value)}
                onBlur={() => setDestLeft(destination.trim() !== '')}
                spellCheck={false}
                aria-invalid={showDestProblem ? true : undefined}
                aria-describedby={
                  showDestProblem ? 'download-destination-error' : undefined
                }
                data-testid="download-destination"
              />
              <button
                type="button"
                className="button"
                onClick={() => setBrowsing(true)}
                data-testid="download-browse"
              >
                Browse…
              </button>
            </div>
            {showDestProblem ? (
              <span
                id="download-destination-error"
                className="field-error"
                role="alert"
                data-testid="download-destination-error"
              >
                {destProblem}
              </span>
            ) : null}
          </div>

          <div className="field">
            <label className="field-label" htmlFor="download-template">
              Path template
            </label>
            <div className="input-row">
              <input
                id="download-template"
                type="text"
                className="mono"
                value={template}
                onChange={(e) => setTemplate(e.target.value)}
                spellCheck={false}
                aria-invalid={tplProblem ? true : undefined}
                aria-describedby="download-template-help"
                data-testid="download-template"
              />
              <button
                type="button"
                className="button button-ghost"
                onClick={() => setTemplate(defaultTemplate)}
                disabled={template === defaultTemplate}
                data-testid="download-template-reset"
              >
                Default
              </button>
            </div>
            {tplProblem ? (
              <span
                className="field-error"
                role="alert"
                data-testid="download-template-error"
              >
                {tplProblem}
              </span>
            ) : null}
            {tplWarning ? (
              <span
                className="field-warning"
                data-testid="download-template-warning"
              >
                {tplWarning}
              </span>
            ) : null}
            {tplReserved ? (
              <span
                className="field-warning"
                data-testid="download-template-reserved"
              >
                {tplReserved}
              </span>
            ) : null}
            <span id="download-template-help" className="field-help">
              Tokens:{' '}
              {TEMPLATE_TOKENS.map((t) => (
                <code key={t} className="token">{`{${t}}`}</code>
              ))}
            </span>
          </div>

          <div className="example" aria-live="polite">
            <span className="field-label">Example</span>
            <span
              className="mono small selectable"
              data-testid="download-example"
            >
              {example ?? '—'}
            </span>
          </div>

          <label className="check">
            <input
              type="checkbox"
              checked={skipExisting}
              onChange={(e) => setSkipExisting(e.target.checked)}
              data-testid="download-skip-existing"
            />
            Skip files that are already there with the right size and checksum
          </label>

          {error ? (
            <ErrorNote
              error={error}
              title="The download did not start."
              testId="download-error"
            />
          ) : null}

          <div className="row-actions">
            <button
              type="button"
              className="button"
              onClick={props.onClose}
              data-testid="download-cancel"
            >
              Cancel
            </button>
            <button
              type="submit"
              className="button button-primary"
              disabled={submitting || Boolean(tplProblem)}
              data-testid="download-submit"
            >
              {submitting ? 'Starting…' : 'Start download'}
            </button>
          </div>
        </form>
      </Modal>
      {browsing ? (
        <FolderBrowser
          mode="folder"
          title="Download into which folder?"
          initialPath={destination.trim() || undefined}
          onCancel={() => setBrowsing(false)}
          onConfirm={(paths) => {
            if (paths[0]) {
              setDestination(paths[0]);
            }
            setBrowsing(false);
          }}
        />
      ) : null}
    </>
  );
}
