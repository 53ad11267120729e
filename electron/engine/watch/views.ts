/**
 * The plain, serialisable views of watch folders and their runs that the
 * UI and the CLI get (types in shared/domain.ts).
 */
import path from 'node:path';

import type {
  WatchFolderStatus,
  WatchFolderView,
  WatchRunView,
} from '../../../shared/domain.ts';
import type { UnsettledFile } from './stability.ts';
import type { WatchFolderRecord, WatchRunRecord } from './store.ts';

/** What a folder view shows besides its stored settings. */
export interface FolderLiveState {
  projectName: string | null;
  status: WatchFolderStatus;
  message: string;
  /** When a missing folder is looked at again (ms since the epoch), or null. */
  nextRetryAt: number | null;
}

/** A folder that looks like a run but is not one. */
export interface NotRunFacts {
  path: string;
  reason: string;
  /** When it was first seen (ms since the epoch). */
  firstSeenAt: number;
}

/** folderViewOf builds a folder's view; `runs` are its run views. */
export function folderViewOf(
  record: WatchFolderRecord,
  live: FolderLiveState,
  runs: WatchRunView[],
): WatchFolderView {
  return {
    id: record.id,
    path: record.path,
    projectId: record.projectId,
    projectName: live.projectName,
    destination: record.destination,
    metadata: record.metadata,
    isPolling: record.isPolling,
    settleSeconds: record.settleSeconds,
    includeUndetermined: record.includeUndetermined,
    status: live.status,
    message: live.message,
    nextRetryAt:
      live.nextRetryAt === null
        ? null
        : new Date(live.nextRetryAt).toISOString(),
    runs,
    createdAt: record.createdAt,
  };
}

/**
 * runViewOf builds a run's view. `unsettled` counts only while the run is
 * settling; `presentPaths` (child folder -> Run Id, on disk now) gives
 * `isPresent` and `copies`.
 */
export function runViewOf(
  record: WatchRunRecord,
  unsettled: readonly UnsettledFile[],
  presentPaths: ReadonlyMap<string, string>,
): WatchRunView {
  return {
    runId: record.runId,
    folderId: record.folderId,
    path: record.path,
    name: path.basename(record.path),
    state: record.state,
    message: record.message,
    instrument: record.detail.instrument,
    missingMarkers:
      record.state === 'waiting-for-run'
        ? [...record.detail.missingMarkers]
        : [],
    unsettledFiles:
      record.state === 'settling'
        ? unsettled.map((u) => ({
            path: u.path,
            reason: u.reason,
            readyAt: Number.isNaN(u.readyAt)
              ? null
              : new Date(u.readyAt).toISOString(),
          }))
        : [],
    problems: record.detail.problems.map((p) => ({ ...p })),
    plan:
      record.detail.planSummary === null
        ? null
        : { ...record.detail.planSummary },
    jobId: record.jobId,
    assigned: record.assigned.map((a) => ({ ...a })),
    copies: [...presentPaths]
      .filter(([p, id]) => id === record.runId && p !== record.path)
      .map(([p]) => p)
      .sort(),
    isPresent: presentPaths.get(record.path) === record.runId,
    firstSeenAt: record.firstSeenAt,
    updatedAt: record.updatedAt,
  };
}

/** notRunViewOf builds the view of a folder that looks like a run but is not one. */
export function notRunViewOf(
  folderId: string,
  facts: NotRunFacts,
): WatchRunView {
  const seen = new Date(facts.firstSeenAt).toISOString();
  return {
    runId: null,
    folderId,
    path: facts.path,
    name: path.basename(facts.path),
    state: 'not-a-run',
    message: facts.reason,
    instrument: null,
    missingMarkers: [],
    unsettledFiles: [],
    problems: [],
    plan: null,
    jobId: null,
    assigned: [],
    copies: [],
    isPresent: true,
    firstSeenAt: seen,
    updatedAt: seen,
  };
}
