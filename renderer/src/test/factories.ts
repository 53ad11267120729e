/**
 * Fixture factories with overrides for renderer tests. Test-only.
 */
import type { SessionInfo } from '../../../shared/contract.ts';
import type {
  PlanFile,
  PlannedRead,
  PlannedSample,
  ProjectSummary,
  Read,
  SampleRow,
  TransferSnapshot,
  UploadPlan,
  WatchFolderView,
  WatchRunView,
} from '../../../shared/domain.ts';

export function makeSession(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    signedIn: true,
    host: { kind: 'sandbox' },
    hostUrl: 'http://127.0.0.1:7777',
    email: 'demo@sandbox.local',
    sandbox: true,
    mode: 'desktop',
    ...overrides,
  };
}

export function makeProject(
  overrides: Partial<ProjectSummary> = {},
): ProjectSummary {
  return {
    id: '11111111-1111-4111-8111-111111111111',
    name: 'Dog breeds 2024',
    description: 'Low-pass dog samples',
    pipelineCapabilities: 'dog-lowpass-v2',
    configurationName: 'Dog low-pass v2',
    sampleCount: 3,
    created: '2024-03-01T10:00:00Z',
    ...overrides,
  };
}

export function makeFile(
  read: Read,
  name: string,
  overrides: Partial<PlanFile> = {},
): PlanFile {
  return {
    path: `/data/run1/${name}`,
    relativePath: `run1/${name}`,
    size: 1_000_000,
    read,
    lane: null,
    chunk: null,
    rule: 'Illumina: <sample>_S<n>_L<lane>_R<read>_<chunk>',
    ...overrides,
  };
}

export function makeRead(
  read: Read,
  clientId: string,
  files: PlanFile[],
  destination = 'gncv://batch-1/',
): PlannedRead {
  return {
    read,
    files,
    size: files.reduce((s, f) => s + f.size, 0),
    destination: `${destination}${clientId}_${read}.fastq.gz`,
  };
}

/** A paired sample whose files are named `<clientId>_S1_L00<lane>_R<n>_001.fastq.gz`. */
export function makePlannedSample(
  clientId: string,
  overrides: Partial<PlannedSample> & { lanes?: number } = {},
): PlannedSample {
  const lanes = overrides.lanes ?? 1;
  const filesOf = (read: Read) =>
    Array.from({ length: lanes }, (_, i) =>
      makeFile(read, `${clientId}_S1_L00${i + 1}_${read}_001.fastq.gz`, {
        lane: i + 1,
        chunk: 1,
      }),
    );
  const { lanes: _lanes, ...rest } = overrides;
  void _lanes;
  return {
    key: `key-${clientId}`,
    clientId,
    sourceName: clientId,
    derivation: 'text before the first underscore',
    r1: makeRead('R1', clientId, filesOf('R1')),
    r2: makeRead('R2', clientId, filesOf('R2')),
    problems: [],
    included: true,
    ...rest,
  };
}

export function makePlan(overrides: Partial<UploadPlan> = {}): UploadPlan {
  const samples = overrides.samples ?? [
    makePlannedSample('S1'),
    makePlannedSample('S2', { lanes: 2 }),
  ];
  return {
    id: 'plan-1',
    roots: ['/data/run1'],
    destination: 'gncv://batch-1/',
    problems: [],
    ignored: [],
    totalBytes: samples
      .filter((s) => s.included)
      .reduce((n, s) => n + (s.r1?.size ?? 0) + (s.r2?.size ?? 0), 0),
    createdAt: '2024-05-01T12:00:00Z',
    ...overrides,
    samples,
  };
}

const STATUSES = ['succeeded', 'failed qc', 'running', 'succeeded', 'failed'];

/** n sample rows with ids `00000000-0000-4000-8000-<index>` and client ids `C<index>`. */
export function makeRows(n: number): SampleRow[] {
  const rows: SampleRow[] = [];
  for (let i = 0; i < n; i += 1) {
    const status = STATUSES[i % STATUSES.length];
    const day = String(1 + (i % 28)).padStart(2, '0');
    rows.push({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      clientId: `C${i}`,
      status,
      archiveStatus: 'available',
      failedQc: status === 'failed qc',
      created: `2024-01-${day}T08:00:00Z`,
      modified: `2024-02-${day}T08:${String(i % 60).padStart(2, '0')}:00Z`,
    });
  }
  return rows;
}

export function makeSnapshot(
  overrides: Partial<TransferSnapshot> = {},
): TransferSnapshot {
  return {
    id: 'job-1',
    kind: 'upload',
    title: 'Upload of 2 samples to Dog breeds 2024',
    state: 'running',
    projectId: '11111111-1111-4111-8111-111111111111',
    bytesDone: 250_000_000,
    bytesTotal: 1_000_000_000,
    speed: 12_500_000,
    etaSeconds: 60,
    files: [
      {
        name: 'gncv://batch-1/S1_R1.fastq.gz',
        clientId: 'S1',
        bytesDone: 250_000_000,
        bytesTotal: 500_000_000,
        state: 'running',
      },
      {
        name: 'gncv://batch-1/S1_R2.fastq.gz',
        clientId: 'S1',
        bytesDone: 0,
        bytesTotal: 500_000_000,
        state: 'queued',
      },
    ],
    attempt: 1,
    startedAt: '2024-05-01T12:00:00Z',
    finishedAt: null,
    ...overrides,
  };
}

/** A run of watch folder `folder-1`, waiting for its markers by default. */
export function makeWatchRun(
  overrides: Partial<WatchRunView> = {},
): WatchRunView {
  const name = overrides.name ?? '20200123_FS10000482_42_BPG80712-1010';
  return {
    runId: name,
    folderId: 'folder-1',
    path: `/data/incoming/${name}`,
    name,
    state: 'waiting-for-run',
    message:
      'Waiting for the instrument to finish: CopyComplete.txt is missing.',
    instrument: 'iSeq 100',
    missingMarkers: ['CopyComplete.txt'],
    unsettledFiles: [],
    problems: [],
    plan: null,
    jobId: null,
    assigned: [],
    copies: [],
    isPresent: true,
    firstSeenAt: '2024-05-01T12:00:00Z',
    updatedAt: '2024-05-01T12:00:00Z',
    ...overrides,
  };
}

/** A watched folder `/data/incoming` of the default project, with no run. */
export function makeWatchFolder(
  overrides: Partial<WatchFolderView> = {},
): WatchFolderView {
  return {
    id: 'folder-1',
    path: '/data/incoming',
    projectId: '11111111-1111-4111-8111-111111111111',
    projectName: 'Dog breeds 2024',
    destination: null,
    metadata: null,
    isPolling: false,
    settleSeconds: 60,
    includeUndetermined: false,
    status: 'watching',
    message: 'Watching for runs.',
    nextRetryAt: null,
    runs: [],
    createdAt: '2024-05-01T11:00:00Z',
    ...overrides,
  };
}
