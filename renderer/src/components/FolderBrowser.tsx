/**
 * FolderBrowser: browse the engine's file system (`fs:list`) in a dialog.
 * In `paths` mode the user adds folders and files to a list and confirms
 * them (upload); in `folder` mode the user picks one folder (download
 * destination). On the desktop a button also opens the system's folder
 * picker (`fs:pickFolder`). Browsers hide where dropped files live, so
 * serve mode relies on this dialog.
 *
 * data-testid: `folder-browser` (dialog), `folder-browser-path` (current
 * folder), `folder-browser-go-input`, `folder-browser-go`,
 * `folder-browser-up`, `folder-browser-list`, `folder-entry` (with
 * `data-path`, `data-kind`), `folder-entry-open`, `folder-entry-add`,
 * `folder-browser-add-current`, `folder-browser-system`,
 * `folder-browser-selected`, `folder-browser-selected-item`,
 * `folder-browser-remove`, `folder-browser-confirm`,
 * `folder-browser-cancel`, `folder-browser-error`, `folder-browser-notice`.
 */
import { useCallback, useEffect, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';

import type { ContractError, DirListing } from '../../../shared/contract.ts';
import { call, toContractError } from '../lib/call.ts';
import { formatBytes, plural } from '../lib/format.ts';
import { useBridge } from '../store/react.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { Modal } from './Modal.tsx';

const FASTQ_NAME = /\.(fastq|fq)(\.gz|\.bgz)?$/i;

export interface FolderBrowserProps {
  mode: 'paths' | 'folder';
  title: string;
  /** Folder to open first; default the engine's (the home folder). */
  initialPath?: string;
  /** Label of the confirm button (gets the count in `paths` mode). */
  confirmLabel?: string;
  /** A note shown above the list (e.g. why the browser opened). */
  notice?: ReactNode;
  onConfirm: (paths: string[]) => void;
  onCancel: () => void;
}

export function FolderBrowser(props: FolderBrowserProps) {
  const bridge = useBridge();
  const [listing, setListing] = useState<DirListing | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ContractError | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const [goTo, setGoTo] = useState('');

  const open = useCallback(
    async (path?: string, fallbackToDefault = false) => {
      setLoading(true);
      setError(null);
      try {
        const next = await call(bridge, 'fs:list', path ? { path } : {});
        setListing(next);
        setGoTo(next.path);
      } catch (err) {
        if (fallbackToDefault && path) {
          // The suggested folder may not exist yet: start from the default.
          await open(undefined);
          return;
        }
        setError(toContractError(err));
      } finally {
        setLoading(false);
      }
    },
    [bridge],
  );

  useEffect(() => {
    // Only the first folder comes from props; later ones from the user.
    void open(props.initialPath || undefined, true);
  }, [open]);

  function add(path: string) {
    setSelected((prev) => (prev.includes(path) ? prev : [...prev, path]));
  }

  function remove(path: string) {
    setSelected((prev) => prev.filter((p) => p !== path));
  }

  async function systemPicker() {
    try {
      const picked = await call(bridge, 'fs:pickFolder', {
        title: props.title,
      });
      if (!picked) {
        return;
      }
      if (props.mode === 'folder') {
        props.onConfirm([picked]);
      } else {
        add(picked);
      }
    } catch (err) {
      setError(toContractError(err));
    }
  }

  function onGo(event: FormEvent) {
    event.preventDefault();
    const target = goTo.trim();
    if (target !== '') {
      void open(target);
    }
  }

  const entries = listing
    ? [...listing.entries]
        .filter((e) => props.mode === 'paths' || e.kind === 'dir')
        .sort((a, b) =>
          a.kind !== b.kind
            ? a.kind === 'dir'
              ? -1
              : 1
            : a.name.localeCompare(b.name, undefined, { numeric: true }),
        )
    : [];

  const confirmDisabled =
    props.mode === 'paths' ? selected.length === 0 : !listing || loading;
  const confirmText =
    props.mode === 'paths'
      ? `${props.confirmLabel ?? 'Scan'} ${plural(selected.length, 'item')}`
      : (props.confirmLabel ?? 'Use this folder');

  return (
    <Modal
      title={props.title}
      onClose={props.onCancel}
      size="large"
      testId="folder-browser"
      footer={
        <>
          {bridge.mode === 'desktop' ? (
            <button
              type="button"
              className="button button-ghost"
              onClick={() => void systemPicker()}
              data-testid="folder-browser-system"
            >
              System folder picker…
            </button>
          ) : null}
          <span className="spacer" />
          <button
            type="button"
            className="button"
            onClick={props.onCancel}
            data-testid="folder-browser-cancel"
          >
            Cancel
          </button>
          <button
            type="button"
            className="button button-primary"
            disabled={confirmDisabled}
            onClick={() =>
              props.onConfirm(
                props.mode === 'paths'
                  ? selected
                  : listing
                    ? [listing.path]
                    : [],
              )
            }
            data-testid="folder-browser-confirm"
          >
            {confirmText}
          </button>
        </>
      }
    >
      {props.notice ? (
        <div className="note note-info" data-testid="folder-browser-notice">
          {props.notice}
        </div>
      ) : null}

      <form className="path-bar" onSubmit={onGo}>
        <button
          type="button"
          className="button button-small"
          disabled={!listing?.parent || loading}
          onClick={() => listing?.parent && void open(listing.parent)}
          data-testid="folder-browser-up"
        >
          Up
        </button>
        <label className="path-input">
          <span className="visually-hidden">Folder path</span>
          <input
            type="text"
            value={goTo}
            onChange={(e) => setGoTo(e.target.value)}
            spellCheck={false}
            className="mono"
            data-testid="folder-browser-go-input"
          />
        </label>
        <button
          type="submit"
          className="button button-small"
          disabled={loading}
          data-testid="folder-browser-go"
        >
          Go
        </button>
      </form>

      <div className="browser-current">
        <span className="muted small">Current folder</span>
        <span className="mono selectable" data-testid="folder-browser-path">
          {listing?.path ?? '…'}
        </span>
        {props.mode === 'paths' && listing ? (
          <button
            type="button"
            className="button button-small"
            onClick={() => add(listing.path)}
            disabled={selected.includes(listing.path)}
            data-testid="folder-browser-add-current"
          >
            {selected.includes(listing.path) ? 'Added' : 'Add this folder'}
          </button>
        ) : null}
      </div>

      {error ? (
        <ErrorNote
          error={error}
          title="Could not open the folder."
          onRetry={() => void open(listing?.path)}
          testId="folder-browser-error"
        />
      ) : null}

      <div className="browser-layout">
        <ul
          className="browser-list"
          aria-label={
            listing ? `Contents of ${listing.path}` : 'Folder contents'
          }
          aria-busy={loading}
          data-testid="folder-browser-list"
        >
          {loading && !listing ? (
            <li className="muted browser-empty">Loading…</li>
          ) : null}
          {listing && entries.length === 0 && !loading ? (
            <li className="muted browser-empty">
              {props.mode === 'folder'
                ? 'No sub-folders here.'
                : 'This folder is empty.'}
            </li>
          ) : null}
          {entries.map((entry) => {
            const isAdded = selected.includes(entry.path);
            const fastq = entry.kind === 'file' && FASTQ_NAME.test(entry.name);
            return (
              <li
                key={entry.path}
                className={`browser-entry${entry.kind === 'file' && !fastq ? ' is-dim' : ''}`}
                data-testid="folder-entry"
                data-path={entry.path}
                data-kind={entry.kind}
              >
                <span
                  className={`entry-icon entry-icon-${entry.kind}`}
                  aria-hidden="true"
                />
                {entry.kind === 'dir' ? (
                  <button
                    type="button"
                    className="link-button entry-name"
                    onClick={() => void open(entry.path)}
                    data-testid="folder-entry-open"
                    title={`Open ${entry.name}`}
                  >
                    {entry.name}
                  </button>
                ) : (
                  <span className="entry-name" title={entry.name}>
                    {entry.name}
                  </span>
                )}
                <span className="entry-size muted small">
                  {entry.kind === 'file' ? formatBytes(entry.size) : 'folder'}
                </span>
                {props.mode === 'paths' ? (
                  <button
                    type="button"
                    className="button button-small"
                    onClick={() =>
                      isAdded ? remove(entry.path) : add(entry.path)
                    }
                    data-testid="folder-entry-add"
                    aria-label={`${isAdded ? 'Remove' : 'Add'} ${entry.name}`}
                    aria-pressed={isAdded}
                  >
                    {isAdded ? 'Added' : 'Add'}
                  </button>
                ) : null}
              </li>
            );
          })}
        </ul>

        {props.mode === 'paths' ? (
          <div
            className="browser-selected"
            data-testid="folder-browser-selected"
          >
            <h3 className="small-heading">To scan</h3>
            {selected.length === 0 ? (
              <p className="muted small">
                Add folders or FASTQ files. Folders are searched inside, run
                folders included.
              </p>
            ) : (
              <ul>
                {selected.map((p) => (
                  <li key={p} data-testid="folder-browser-selected-item">
                    <span className="mono small clamp" title={p}>
                      {p}
                    </span>
                    <button
                      type="button"
                      className="button button-ghost button-small"
                      onClick={() => remove(p)}
                      data-testid="folder-browser-remove"
                      aria-label={`Remove ${p}`}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </div>
        ) : null}
      </div>
    </Modal>
  );
}
