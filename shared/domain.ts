/**
 * Domain types shared by the engine (main process, CLI, serve mode) and the
 * renderer. Plain data only: no Node, DOM or Electron imports, everything
 * here must survive structured cloning and JSON.
 */

/** Which read of a pair a file holds. */
export type Read = 'R1' | 'R2';

/** A problem found while planning, tied to the file or sample it concerns. */
export interface PlanProblem {
  /** Stable machine-readable code. */
  code:
    | 'no-fastq'
    | 'not-gzip'
    | 'truncated-gzip'
    | 'bad-crc'
    | 'empty-file'
    | 'no-reads'
    | 'not-fastq'
    | 'malformed-fastq'
    | 'missing-r2'
    | 'missing-r1'
    | 'duplicate-file'
    | 'no-read-token'
    | 'undetermined'
    | 'unreadable'
    | 'ignored-extension'
    | 'client-id-changed'
    | 'sample-sheet-missing-files'
    | 'sample-sheet-unknown-sample'
    /** R1 and R2 of one sample hold different numbers of reads. */
    | 'read-count-mismatch';
  /** 'error' keeps the sample (or file) out of the upload; 'warning' does not. */
  severity: 'error' | 'warning';
  /** Human-readable sentence naming what is wrong. */
  message: string;
  /** Absolute path of the file concerned, when there is one. */
  path?: string;
  /** Client id of the sample concerned, when there is one. */
  clientId?: string;
}

/** One local file as the planner understood it. */
export interface PlanFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the dropped/scanned root, '/' separated, for display. */
  relativePath: string;
  size: number;
  read: Read;
  /** Lane number (1-based) or null when the name carries none. */
  lane: number | null;
  /** Chunk number (the trailing _001, _002 of bcl2fastq/CASAVA), or null. */
  chunk: number | null;
  /** How the name was read, e.g. "Illumina: <sample>_S<n>_L<lane>_R<read>_<chunk>". */
  rule: string;
}

/** One read of one sample: its files, concatenated in lane then chunk order. */
export interface PlannedRead {
  read: Read;
  files: PlanFile[];
  /** Sum of the file sizes: the size of the uploaded object. */
  size: number;
  /** Destination of the object, `gncv://<folder>/<clientId>_<read>.fastq.gz`. */
  destination: string;
}

export interface PlannedSample {
  /** Stable key within the plan (does not change when the client id is edited). */
  key: string;
  /** Client id the sample will be uploaded under. Never contains '_'. */
  clientId: string;
  /** The sample name as found in the file names, before it was made a client id. */
  sourceName: string;
  /** Explanation of how the file names became this client id. */
  derivation: string;
  r1?: PlannedRead;
  r2?: PlannedRead;
  /** Problems of this sample; any 'error' excludes it unless fixed. */
  problems: PlanProblem[];
  /** false when the user left it out, or when it has an error. */
  included: boolean;
}

export interface UploadPlan {
  /**
   * Id under which the serving side (main process or serve mode) keeps this
   * plan; `plan:edit` and `upload:start` take it as `planId`. Absent only on
   * plans that were never handed to a renderer (the engine's own use).
   */
  id?: string;
  /** Roots that were scanned, absolute. */
  roots: string[];
  /** Destination folder, normalised to end with exactly one '/': `gncv://name/`. */
  destination: string;
  samples: PlannedSample[];
  /** Problems not tied to one sample (no FASTQ found, unreadable file...). */
  problems: PlanProblem[];
  /** Files that were seen but are not part of any sample, with the reason. */
  ignored: { path: string; reason: string }[];
  /** Total bytes of included samples. */
  totalBytes: number;
  createdAt: string;
}

export interface PlanOptions {
  /** Destination folder; generated (`gncv://gencove-desktop-<utc>-<hex>/`) when absent. */
  destination?: string;
  /** Include Undetermined_* files as samples (default false). */
  includeUndetermined?: boolean;
  /** Check gzip integrity and FASTQ records of every file (default true). */
  verifyContents?: boolean;
}

/** Lifecycle of one scheduled job (upload batch, download, watch-triggered upload). */
export type JobState =
  | 'queued'
  | 'running'
  | 'paused'
  | 'retrying'
  | 'done'
  | 'failed'
  | 'cancelled';

export interface FileProgress {
  /** Object destination (upload) or local path (download). */
  name: string;
  clientId?: string;
  bytesDone: number;
  bytesTotal: number | null;
  state: JobState | 'skipped';
  error?: string;
}

/** A throttled snapshot of one job, sent a few times per second at most. */
export interface TransferSnapshot {
  id: string;
  kind: 'upload' | 'download';
  title: string;
  state: JobState;
  projectId?: string;
  bytesDone: number;
  bytesTotal: number | null;
  /** Bytes per second, moving average; null when not yet known. */
  speed: number | null;
  /** Seconds left; null when it cannot be computed ("unknown"). */
  etaSeconds: number | null;
  files: FileProgress[];
  attempt: number;
  error?: { code: string; message: string };
  startedAt: string | null;
  finishedAt: string | null;
  /** Upload only: samples created by the assignment. */
  assigned?: { clientId: string; sampleId: string }[];
}

export interface ProjectSummary {
  id: string;
  name: string;
  description: string;
  pipelineCapabilities: string;
  configurationName: string | null;
  sampleCount: number;
  created: string;
}

export interface SampleRow {
  id: string;
  clientId: string;
  status: string;
  archiveStatus: string | null;
  failedQc: boolean;
  created: string;
  modified: string;
}

export interface QcMetric {
  key: string;
  name: string;
  type: string;
  valueMeasured: number | null;
  valueExpected: number | null;
  valueString: string;
  status: 'succeeded' | 'failed' | 'skipped';
}

export interface SampleFile {
  id: string;
  fileType: string;
  size: number | null;
  downloadable: boolean;
  checksumSha256: string;
}

export interface SampleDetail extends SampleRow {
  projectId: string;
  files: SampleFile[];
  qc: QcMetric[];
  metadata: unknown;
}

export interface DownloadRequest {
  /** Folder the template is expanded under. */
  destination: string;
  projectId?: string;
  sampleIds?: string[];
  fileTypes?: string[];
  template?: string;
  skipExisting?: boolean;
}

/** Default download template (DESIGN section 4). */
export const DEFAULT_DOWNLOAD_TEMPLATE =
  '{client_id}/{gencove_id}/{gencove_id}_{file_type}.{file_extension}';

/** Known hosts. */
export const HOSTS = {
  production: 'https://api.gencove.com',
  staging: 'https://api-stage.gencove.com',
} as const;

// ---------------------------------------------------------------------------
// Watch folders (sequencer output folders watched for finished runs)

/**
 * Where a run found in a watch folder stands. A run moves forward only:
 * waiting-for-run, settling, planned, uploading, then assigned; or it ends
 * failed, ignored or duplicate. 'not-a-run' is a folder that looks like a
 * run but has no usable RunInfo.xml (it is never uploaded).
 */
export type WatchRunState =
  /** Completion markers are missing (see `missingMarkers`), or no FASTQ yet. */
  | 'waiting-for-run'
  /** Markers are there; FASTQs are still changing or end mid-gzip-member. */
  | 'settling'
  /** The upload plan is made (see `plan`); the upload is being queued. */
  | 'planned'
  /** The upload job `jobId` is queued or running. */
  | 'uploading'
  /** Uploaded and assigned to the project (see `assigned`). */
  | 'assigned'
  /** The plan has blocking problems, or the upload failed (see `message`). */
  | 'failed'
  /**
   * Left out by the user (or there before the folder was added, with
   * `ignoreExistingRuns`).
   */
  | 'ignored'
  /** Already delivered to this project (same Run Id) from another watch folder. */
  | 'duplicate'
  /** Looks like a run folder but has no RunInfo.xml with a Run Id. */
  | 'not-a-run';

/** A FASTQ of a run that is not ready to upload yet, and why. */
export interface WatchUnsettledFile {
  /** Path relative to the run folder, '/' separated. */
  path: string;
  reason: string;
  /** When it counts as settled if it does not change again (ISO), if known. */
  readyAt: string | null;
}

/** A summary of a run's upload plan (the full plan: `WatchService.getPlan`). */
export interface WatchPlanSummary {
  destination: string;
  /** Samples that will be (or were) uploaded. */
  includedSamples: number;
  /** Samples found, included or not. */
  totalSamples: number;
  totalBytes: number;
}

/** One run of a watch folder, as the UI and the CLI show it. */
export interface WatchRunView {
  /** Run Id from RunInfo.xml; null for 'not-a-run' entries. */
  runId: string | null;
  folderId: string;
  /** The run folder (absolute path) this entry is about. */
  path: string;
  /** The run folder's name. */
  name: string;
  state: WatchRunState;
  /** One sentence for the user: what the run waits for, or why it failed. */
  message: string;
  /** Instrument model, when known (e.g. `NextSeq 1000/2000`). */
  instrument: string | null;
  /** Completion markers not found yet, relative to the run folder. */
  missingMarkers: string[];
  /** FASTQs not settled yet (state 'settling'). */
  unsettledFiles: WatchUnsettledFile[];
  /** Problems of the plan: blocking ones made the run 'failed'. */
  problems: PlanProblem[];
  plan: WatchPlanSummary | null;
  /** The upload job (a transfer), once queued. */
  jobId: string | null;
  /** Samples the assignment created. */
  assigned: { clientId: string; sampleId: string }[];
  /** Other folders holding the same run (copies): never uploaded again. */
  copies: string[];
  /** False when the run folder is not on disk now (moved, deleted...). */
  isPresent: boolean;
  firstSeenAt: string;
  updatedAt: string;
}

/** How a watch folder itself is doing. */
export type WatchFolderStatus =
  /** Watching for runs. */
  | 'watching'
  /** Paused by the user: no new work starts. */
  | 'paused'
  /** The folder does not exist (or its share is not mounted); retried. */
  | 'missing'
  /** The folder exists but cannot be read; retried with backoff. */
  | 'unreadable'
  /** Not being watched now (the service is stopped). */
  | 'stopped';

/** A watch folder with its runs. */
export interface WatchFolderView {
  id: string;
  /** Absolute path of the watched folder. */
  path: string;
  projectId: string;
  /** Name of the project, once the platform told it. */
  projectName: string | null;
  /**
   * Base destination given by the user (each run goes to
   * `<destination><run folder>/`), or null for `gncv://<project name>/`.
   */
  destination: string | null;
  metadata: unknown;
  /** Stat-based polling (network shares) instead of file-system events. */
  isPolling: boolean;
  settleSeconds: number;
  includeUndetermined: boolean;
  status: WatchFolderStatus;
  /** One sentence about the status (why it is missing, when it is retried). */
  message: string;
  /** When a missing or unreadable folder is looked at again (ISO time). */
  nextRetryAt: string | null;
  runs: WatchRunView[];
  createdAt: string;
}
