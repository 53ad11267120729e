/**
 * DropZone: accepts files and folders dropped from the system. On the
 * desktop each dropped File's path comes from `bridge.pathForFile`; in a
 * browser there are no paths, and `onPathsUnavailable` is called instead
 * (the caller then offers the folder browser).
 *
 * data-testid: `drop-zone` (with `data-dragging` while files hover),
 * `drop-overlay`.
 */
import { useRef, useState } from 'react';
import type { DragEvent, ReactNode } from 'react';

import { useBridge } from '../store/react.tsx';

export interface DropZoneProps {
  /** Called with the absolute paths of what was dropped (at least one). */
  onPaths: (paths: string[]) => void;
  /**
   * Called when files were dropped but none has a path (serve mode), with
   * their names, and with the names of those left out when only some do.
   */
  onPathsUnavailable: (names: string[], someHadPaths: boolean) => void;
  /** Drop target text shown while dragging. */
  label: string;
  disabled?: boolean;
  children: ReactNode;
  className?: string;
}

function hasFiles(event: DragEvent): boolean {
  const types = event.dataTransfer?.types;
  if (!types) {
    return false;
  }
  return Array.from(types).includes('Files');
}

export function DropZone(props: DropZoneProps) {
  const bridge = useBridge();
  const [dragging, setDragging] = useState(false);
  // dragenter/dragleave fire for every child; count to know when we left.
  const depth = useRef(0);

  function onDragEnter(event: DragEvent<HTMLDivElement>) {
    if (props.disabled || !hasFiles(event)) {
      return;
    }
    event.preventDefault();
    depth.current += 1;
    setDragging(true);
  }

  function onDragOver(event: DragEvent<HTMLDivElement>) {
    if (props.disabled || !hasFiles(event)) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  }

  function onDragLeave() {
    depth.current = Math.max(0, depth.current - 1);
    if (depth.current === 0) {
      setDragging(false);
    }
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    depth.current = 0;
    setDragging(false);
    if (props.disabled) {
      return;
    }
    const files = Array.from(event.dataTransfer?.files ?? []);
    if (files.length === 0) {
      return;
    }
    event.preventDefault();
    const paths: string[] = [];
    const missing: string[] = [];
    for (const file of files) {
      let p: string | null = null;
      try {
        p = bridge.pathForFile(file);
      } catch {
        p = null;
      }
      if (p) {
        if (!paths.includes(p)) {
          paths.push(p);
        }
      } else {
        missing.push(file.name);
      }
    }
    if (paths.length > 0) {
      props.onPaths(paths);
    }
    if (missing.length > 0) {
      props.onPathsUnavailable(missing, paths.length > 0);
    }
  }

  return (
    <div
      className={`drop-zone${dragging ? ' is-dragging' : ''} ${props.className ?? ''}`}
      onDragEnter={onDragEnter}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
      data-testid="drop-zone"
      data-dragging={dragging ? 'true' : 'false'}
    >
      {props.children}
      {dragging ? (
        <div
          className="drop-overlay"
          data-testid="drop-overlay"
          aria-hidden="true"
        >
          <div className="drop-overlay-card">{props.label}</div>
        </div>
      ) : null}
    </div>
  );
}
