/**
 * AddWatchFolderDialog: start watching a sequencer's output folder. The
 * user picks the folder (the folder browser in serve mode, the system's
 * picker on the desktop, or types the path), the project new runs are
 * assigned to, and optionally a destination, JSON metadata, whether the
 * folder is a network share (polling) and the settle time.
 *
 * data-testid: `watch-add-dialog`, `watch-add-path`, `watch-add-browse`,
 * `watch-add-path-error`, `watch-add-project`, `watch-add-destination`,
 * `watch-add-destination-help`, `watch-add-destination-error`,
 * `watch-add-metadata`, `watch-add-metadata-error`, `watch-add-kind-local`,
 * `watch-add-kind-share`, `watch-add-settle`, `watch-add-settle-error`,
 * `watch-add-ignore-existing`, `watch-add-error`, `watch-add-cancel`,
 * `watch-add-submit`.
 */
import { useEffect, useId, useState } from 'react';
import type { FormEvent } from 'react';

import { MAX_SETTLE_SECONDS } from '../../../shared/contract.ts';
import type {
  ContractError,
  WatchAddRequest,
} from '../../../shared/contract.ts';
import type { WatchFolderView } from '../../../shared/domain.ts';
import { call, toContractError } from '../lib/call.ts';
import { destinationError, normalizeDestination } from '../lib/validate.ts';
import { useAppStore, useBridge } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { FolderBrowser } from './FolderBrowser.tsx';
import { Modal } from './Modal.tsx';

/** Settle time offered by default, seconds (the engine's default). */
export const DEFAULT_SETTLE_SECONDS = 60;

/**
 * gncvSegment shows a name the way the engine turns it into one gncv
 * folder name (letters, digits, '.', '-' and '_' kept; other runs of
 * characters become '-').
 */
export function gncvSegment(name: string, fallback: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return cleaned === '' ? fallback : cleaned;
}

/**
 * metadataError checks the metadata the user typed: empty (none) or one
 * JSON value. Returns null when acceptable, else what is wrong.
 */
export function metadataError(text: string): string | null {
  if (text.trim() === '') {
    return null;
  }
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return `The metadata is not valid JSON: ${detail}`;
  }
}

/** settleError checks the settle time the user typed, in seconds. */
export function settleError(text: string): string | null {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    return 'The settle time must be a number of seconds.';
  }
  if (value < 0 || value > MAX_SETTLE_SECONDS) {
    return `The settle time must be between 0 and ${MAX_SETTLE_SECONDS.toLocaleString()} seconds (one day).`;
  }
  return null;
}

/** pathError checks the folder path the user typed. */
export function pathError(text: string): string | null {
  const value = text.trim();
  if (value === '') {
    return 'Choose the folder the instrument writes its run folders into.';
  }
  if (
    !value.startsWith('/') &&
    !/^[A-Za-z]:[\\/]/.test(value) &&
    !value.startsWith('\\\\')
  ) {
    return 'Give the full path of the folder (for example /data/sequencer/output).';
  }
  return null;
}

export function AddWatchFolderDialog(props: {
  /** Project chosen at first (e.g. the one open before). */
  initialProjectId?: string;
  onClose: () => void;
  onAdded: (folder: WatchFolderView) => void;
}) {
  const bridge = useBridge();
  const projects = useAppStore((s) => s.projects);
  const loadProjects = useAppStore((s) => s.loadProjects);
  const addWatchFolder = useAppStore((s) => s.addWatchFolder);
  const ids = useId();

  const [folder, setFolder] = useState('');
  const [projectId, setProjectId] = useState(props.initialProjectId ?? '');
  const [destination, setDestination] = useState('');
  const [metadata, setMetadata] = useState('');
  const [isShare, setIsShare] = useState(false);
  const [settle, setSettle] = useState(String(DEFAULT_SETTLE_SECONDS));
  const [ignoreExisting, setIgnoreExisting] = useState(false);
  const [isBrowsing, setIsBrowsing] = useState(false);
  const [isTouched, setIsTouched] = useState(false);
  const [isSaving, setIsSaving] = useState(false);
  const [error, setError] = useState<ContractError | null>(null);

  useEffect(() => {
    if (projects.status === 'idle') {
      void loadProjects();
    }
  }, [projects.status, loadProjects]);

  useEffect(() => {
    // Default to the first project once the list is there.
    if (projectId === '' && projects.items.length > 0) {
      setProjectId(projects.items[0].id);
    }
  }, [projectId, projects.items]);

  const project = projects.items.find((p) => p.id === projectId);
  const problems = {
    path: pathError(folder),
    project: projectId === '' ? 'Choose the project new runs go to.' : null,
    destination:
      destination.trim() === '' ? null : destinationError(destination.trim()),
    metadata: metadataError(metadata),
    settle: settleError(settle),
  };
  const hasProblem = Object.values(problems).some((p) => p !== null);
  const base =
    destination.trim() !== '' && !problems.destination
      ? normalizeDestination(destination.trim())
      : `gncv://${gncvSegment(project?.name ?? 'project', 'project')}/`;

  async function browse() {
    if (bridge.mode === 'serve') {
      setIsBrowsing(true);
      return;
    }
    try {
      const picked = await call(bridge, 'fs:pickFolder', {
        title: 'Choose the folder to watch',
      });
      if (picked) {
        setFolder(picked);
      }
    } catch (err) {
      setError(toContractError(err));
    }
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setIsTouched(true);
    if (hasProblem || isSaving) {
      return;
    }
    const request: WatchAddRequest = {
      path: folder.trim(),
      projectId,
      destination:
        destination.trim() === ''
          ? null
          : normalizeDestination(destination.trim()),
      polling: isShare,
      settleSeconds: Number(settle),
      ignoreExistingRuns: ignoreExisting,
      ...(metadata.trim() === ''
        ? {}
        : { metadata: JSON.parse(metadata) as WatchAddRequest['metadata'] }),
    };
    setIsSaving(true);
    setError(null);
    const result = await addWatchFolder(request);
    setIsSaving(false);
    if (result.ok) {
      props.onAdded(result.value);
    } else {
      setError(result.error);
    }
  }

  if (isBrowsing) {
    return (
      <FolderBrowser
        mode="folder"
        title="Choose the folder to watch"
        initialPath={folder.trim() || undefined}
        confirmLabel="Watch this folder"
        notice="Pick the folder the instrument writes its run folders into (not one run folder)."
        onCancel={() => setIsBrowsing(false)}
        onConfirm={(paths) => {
          setIsBrowsing(false);
          if (paths[0]) {
            setFolder(paths[0]);
          }
        }}
      />
    );
  }

  const show = (problem: string | null) => (isTouched ? problem : null);
  const edited =
    folder !== '' || destination !== '' || metadata !== '' || isShare;

  return (
    <Modal
      title="Add a watch folder"
      subtitle="Each run that appears in the folder is uploaded by itself once the instrument has finished it and its FASTQs stop changing, then assigned to the project."
      onClose={props.onClose}
      dismissible={!edited && !isSaving}
      size="medium"
      testId="watch-add-dialog"
      footer={
        <>
          <span className="spacer" />
          <button
            type="button"
            className="button"
            onClick={props.onClose}
            disabled={isSaving}
            data-testid="watch-add-cancel"
          >
            Cancel
          </button>
          <button
            type="submit"
            form={`${ids}-form`}
            className="button button-primary"
            disabled={isSaving || (isTouched && hasProblem)}
            data-testid="watch-add-submit"
          >
            {isSaving ? 'Adding…' : 'Watch folder'}
          </button>
        </>
      }
    >
      <form
        id={`${ids}-form`}
        className="stack"
        onSubmit={(e) => void submit(e)}
        noValidate
      >
        <div className="field">
          <label className="field-label" htmlFor={`${ids}-path`}>
            Folder to watch
          </label>
          <div className="input-row">
            <input
              id={`${ids}-path`}
              type="text"
              className="mono"
              value={folder}
              placeholder="/data/sequencer/output"
              spellCheck={false}
              onChange={(e) => setFolder(e.target.value)}
              aria-invalid={show(problems.path) ? true : undefined}
              data-testid="watch-add-path"
              data-autofocus
            />
            <button
              type="button"
              className="button"
              onClick={() => void browse()}
              data-testid="watch-add-browse"
            >
              Browse…
            </button>
          </div>
          {show(problems.path) ? (
            <span
              className="field-error"
              role="alert"
              data-testid="watch-add-path-error"
            >
              {problems.path}
            </span>
          ) : (
            <span className="field-help">
              The folder that holds the run folders. It may not exist yet (a
              share that is not mounted): it is watched until it appears.
            </span>
          )}
        </div>

        <div className="field">
          <label className="field-label" htmlFor={`${ids}-project`}>
            Project new runs go to
          </label>
          <select
            id={`${ids}-project`}
            value={projectId}
            onChange={(e) => setProjectId(e.target.value)}
            disabled={projects.items.length === 0}
            data-testid="watch-add-project"
          >
            {projects.items.length === 0 ? (
              <option value="">
                {projects.status === 'loading'
                  ? 'Loading projects…'
                  : 'No project'}
              </option>
            ) : null}
            {projects.items.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          {projects.error ? (
            <ErrorNote
              error={projects.error}
              title="Could not load the projects."
              onRetry={() => void loadProjects()}
            />
          ) : null}
        </div>

        <div className="field">
          <label className="field-label" htmlFor={`${ids}-destination`}>
            Destination on the platform (optional)
          </label>
          <input
            id={`${ids}-destination`}
            type="text"
            className="mono"
            value={destination}
            placeholder={`gncv://${gncvSegment(project?.name ?? 'project', 'project')}/`}
            spellCheck={false}
            onChange={(e) => setDestination(e.target.value)}
            aria-invalid={problems.destination ? true : undefined}
            data-testid="watch-add-destination"
          />
          {problems.destination ? (
            <span
              className="field-error"
              role="alert"
              data-testid="watch-add-destination-error"
            >
              {problems.destination}
            </span>
          ) : (
            <span
              className="field-help"
              data-testid="watch-add-destination-help"
            >
              Each run goes to{' '}
              <span className="mono">{base}&lt;run folder name&gt;/</span>
            </span>
          )}
        </div>

        <div className="field">
          <label className="field-label" htmlFor={`${ids}-metadata`}>
            Metadata for every sample (JSON, optional)
          </label>
          <textarea
            id={`${ids}-metadata`}
            className="mono textarea"
            rows={3}
            value={metadata}
            placeholder='{"lab": "north", "batch": 12}'
            spellCheck={false}
            onChange={(e) => setMetadata(e.target.value)}
            aria-invalid={problems.metadata ? true : undefined}
            data-testid="watch-add-metadata"
          />
          {problems.metadata ? (
            <span
              className="field-error"
              role="alert"
              data-testid="watch-add-metadata-error"
            >
              {problems.metadata}
            </span>
          ) : null}
        </div>

        <fieldset className="stack-tight">
          <legend className="field-label">Where the folder is</legend>
          <label className="check">
            <input
              type="radio"
              name={`${ids}-kind`}
              checked={!isShare}
              onChange={() => setIsShare(false)}
              data-testid="watch-add-kind-local"
            />
            On this computer (changes are reported by the system)
          </label>
          <label className="check">
            <input
              type="radio"
              name={`${ids}-kind`}
              checked={isShare}
              onChange={() => setIsShare(true)}
              data-testid="watch-add-kind-share"
            />
            On a network share (looked at every few seconds)
          </label>
        </fieldset>

        <div className="field">
          <label className="field-label" htmlFor={`${ids}-settle`}>
            Settle time (seconds)
          </label>
          <input
            id={`${ids}-settle`}
            type="text"
            inputMode="decimal"
            className="settle-input"
            value={settle}
            onChange={(e) => setSettle(e.target.value)}
            aria-invalid={problems.settle ? true : undefined}
            data-testid="watch-add-settle"
          />
          {problems.settle ? (
            <span
              className="field-error"
              role="alert"
              data-testid="watch-add-settle-error"
            >
              {problems.settle}
            </span>
          ) : (
            <span className="field-help">
              A run is uploaded once its completion markers are there and no
              FASTQ has changed for this long.
            </span>
          )}
        </div>

        <label className="check">
          <input
            type="checkbox"
            checked={ignoreExisting}
            onChange={(e) => setIgnoreExisting(e.target.checked)}
            data-testid="watch-add-ignore-existing"
          />
          Leave the runs already in the folder alone (upload new runs only)
        </label>

        {error ? (
          <ErrorNote
            error={error}
            title="The folder was not added."
            testId="watch-add-error"
          />
        ) : null}
      </form>
    </Modal>
  );
}
