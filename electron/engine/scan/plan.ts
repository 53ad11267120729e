/**
 * Upload planning: from dropped paths to an {@link UploadPlan} that says,
 * before any byte moves, which samples and reads were found, which files are
 * concatenated into each uploaded object, and what is wrong.
 *
 * Decisions, so callers and reviewers can rely on them:
 *
 * - Walking and listing: see walk.ts. Inside folders, files whose names
 *   mention neither FASTQ nor a FASTQ extension are skipped silently; every
 *   other file that is not part of a sample is in `ignored` with its reason.
 * - Grouping: one sample per sample name; samples of a run folder are keyed
 *   by run id as well, so two runs with the same sample names never merge.
 *   Files of one sample and read are concatenated by lane, then chunk.
 * - R1 without R2 is a warning: the sample is uploaded single-end. R2
 *   without R1, two files for one lane/chunk, R1 and R2 with different lanes
 *   or chunks, corrupt files and R1/R2 read counts that differ (when
 *   contents are verified) are errors that keep the sample out.
 * - A name without R1/R2 that pairs with no other file by the 1/2 digit
 *   rule (names.ts) is R1 of a single-end sample, as the platform takes it,
 *   with a 'no-read-token' warning. A 1/2 pair whose first reads have
 *   different names is refused ('no-read-token' errors).
 * - Client ids: see clientId.ts. When two samples would get the same id
 *   (compared without regard to case, as download folders on macOS and
 *   Windows would), one keeps it (a sample whose name needed no change
 *   first, then key order) and the others get a `-2`, `-3`... suffix with
 *   a 'client-id-changed' warning.
 * - Destination: must start with `gncv://`; it is normalised to end with
 *   exactly one '/'. Default `gncv://gencove-desktop-<UTC yyyymmddHHMMSS>-<8 hex>/`.
 */

import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';

import type {
  PlanFile,
  PlannedRead,
  PlannedSample,
  PlanOptions,
  PlanProblem,
  Read,
  UploadPlan,
} from '../../../shared/domain.ts';
import { ValidationError } from '../errors.ts';
import { clientIdKey, clientIdProblem, toClientId } from './clientId.ts';
import { readFirstReadName, verifyFastqGzip } from './fastq.ts';
import {
  findDigitPairs,
  parseFastqName,
  splitFastqExtension,
  type NameError,
  type ParsedName,
} from './names.ts';
import type { SampleSheet, SheetSample } from './sampleSheet.ts';
import {
  compareNames,
  newWalk,
  walkRoot,
  type Found,
  type Walk,
} from './walk.ts';

export { formatBytes, formatPlan } from './formatPlan.ts';

/** Progress reported by {@link buildPlan}. */
export interface PlanProgress {
  filesSeen: number;
  filesChecked: number;
}

/** Options of {@link buildPlan}. */
export type BuildPlanOptions = PlanOptions & {
  signal?: AbortSignal;
  /**
   * Called before the content check reads an object (the files of one
   * sample and read, in upload order); the tap it returns gets every byte
   * of those files as they are read, then `end(ok)` once, `ok` only when
   * every file passed. Lets the upload reuse what the check computed.
   */
  tapObject?: (files: readonly PlanFile[]) => Promise<ContentTap | null>;
  onProgress?: (p: PlanProgress) => void;
  /** Clock, for tests; defaults to the current time. */
  now?: Date;
};

/** What the content check feeds with an object's bytes (see tapObject). */
export interface ContentTap {
  update(chunk: Buffer): void;
  end(ok: boolean): void;
}

/**
 * inUploadOrder returns the files of one sample and read in the order
 * their upload concatenates them: by lane, then chunk.
 */
export function inUploadOrder(files: readonly PlanFile[]): PlanFile[] {
  return [...files].sort(
    (a, b) => (a.lane ?? 0) - (b.lane ?? 0) || (a.chunk ?? 0) - (b.chunk ?? 0),
  );
}

/** Edits the user makes to a plan before starting it. */
export interface PlanEdits {
  /** New client ids by sample key. */
  renames?: Record<string, string>;
  /** When given, exactly the sample keys the user leaves out. */
  excluded?: string[];
  destination?: string;
}

/** Files verified at the same time. */
const VERIFY_CONCURRENCY = 2;

/** Longest sample key; longer keys are shortened with a hash. */
const MAX_KEY_LENGTH = 200;

const GNCV = 'gncv://';

/**
 * normaliseDestination checks that `destination` starts with `gncv://` and
 * returns it with exactly one trailing '/'. It throws a ValidationError
 * naming the value otherwise, or when nothing follows `gncv://`.
 */
export function normaliseDestination(destination: string): string {
  const trimmed = destination.trim();
  if (!trimmed.startsWith(GNCV)) {
    throw new ValidationError(
      'destination',
      `The destination "${destination}" must start with ${GNCV} (for example ${GNCV}my-project/batch-1/).`,
    );
  }
  const folder = trimmed.slice(GNCV.length).replace(/\/+$/, '');
  if (folder === '' || folder.startsWith('/')) {
    throw new ValidationError(
      'destination',
      `The destination "${destination}" needs a folder name after ${GNCV}.`,
    );
  }
  for (const segment of folder.split('/')) {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // Not percent-encoded text: judged as it is.
    }
    if (
      segment === '' ||
      decoded === '.' ||
      decoded === '..' ||
      /[\\\x00-\x1f\x7f]/.test(decoded)
    ) {
      throw new ValidationError(
        'destination',
        `The destination "${destination}" has an empty, "." or ".." folder, a backslash or a control character: use plain folder names such as ${GNCV}my-project/batch-1/.`,
      );
    }
  }
  return `${GNCV}${folder}/`;
}

/** generateDestination makes the default `gncv://gencove-desktop-<utc>-<hex>/`. */
export function generateDestination(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${GNCV}gencove-desktop-${stamp}-${randomBytes(4).toString('hex')}/`;
}

/** A FASTQ file that became part of a sample. */
interface Assigned {
  found: Found;
  parsed: ParsedName;
  sourceName: string;
  rule: string;
  sheetRow: SheetSample | null;
  /** Problems the file brings to its sample. */
  problems?: PlanProblem[];
}

const SINGLE_END_RULE =
  'no R1/R2 in the name: the whole name is the sample, R1 of single-end data';

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true }) || compareNames(a, b);
}

/**
 * buildPlan scans `paths` (folders or files) and returns the upload plan.
 * File-level trouble never throws: it becomes problems and ignored entries
 * in the plan. It throws a ValidationError for a destination that does not
 * start with `gncv://`, and rejects with the signal's reason when aborted.
 * Contents are verified (gzip integrity and FASTQ records) unless
 * `verifyContents` is false, two files at a time.
 */
export async function buildPlan(
  paths: string[],
  opts: BuildPlanOptions = {},
): Promise<UploadPlan> {
  const destination =
    opts.destination === undefined
      ? generateDestination(opts.now)
      : normaliseDestination(opts.destination);
  const { signal } = opts;
  signal?.throwIfAborted();

  const progress: PlanProgress = { filesSeen: 0, filesChecked: 0 };
  const report = (): void => opts.onProgress?.({ ...progress });
  const walk = newWalk();
  for (const input of paths) {
    await walkRoot(walk, input, signal, () => {
      progress.filesSeen = walk.filesSeen;
      if (walk.filesSeen % 200 === 0) report();
    });
  }
  progress.filesSeen = walk.filesSeen;
  report();

  const assigned = await assignFiles(walk, opts.includeUndetermined === true);
  const samples = groupSamples(assigned, walk);

  if (opts.verifyContents !== false) {
    await verifySamples(
      samples,
      signal,
      () => {
        progress.filesChecked++;
        report();
      },
      opts.tapObject,
    );
  } else {
    for (const sample of samples) flagEmptyFiles(sample);
  }

  const planned = samples.map((s) => withFiles(s));
  assignClientIds(planned);
  const hasFastq = walk.found.some((f) => splitFastqExtension(f.name) !== null);
  if (!hasFastq && !walk.problems.some((p) => p.code === 'no-fastq')) {
    walk.problems.push({
      code: 'no-fastq',
      severity: 'error',
      message: `No FASTQ files (.fastq.gz, .fq.gz, .fastq.bgz, .fq.bgz) were found in ${walk.roots.join(', ') || 'the given paths'}.`,
    });
  }

  return finish({
    roots: walk.roots,
    destination,
    samples: planned,
    problems: walk.problems,
    ignored: walk.ignored,
    totalBytes: 0,
    createdAt: (opts.now ?? new Date()).toISOString(),
  });
}

// ---------------------------------------------------------------------------
// Names to samples

/** Turns found files into sample files, or ignored entries and problems. */
async function assignFiles(
  walk: Walk,
  includeUndetermined: boolean,
): Promise<Assigned[]> {
  const assigned: Assigned[] = [];
  const noToken = new Map<string, Found[]>();
  const undetermined: string[] = [];

  for (const found of walk.found) {
    const parsed = parseFastqName(found.name);
    if ('error' in parsed) {
      if (parsed.kind === 'no-read-token') {
        const list = noToken.get(found.dir) ?? [];
        list.push(found);
        noToken.set(found.dir, list);
      } else {
        noteNameError(walk, found, parsed);
      }
      continue;
    }
    if (parsed.isUndetermined && !includeUndetermined) {
      walk.ignored.push({
        path: found.path,
        reason: 'Undetermined reads (matched no sample index): left out',
      });
      undetermined.push(found.relativePath);
      continue;
    }
    assigned.push({
      found,
      parsed,
      sourceName: parsed.sampleName,
      rule: parsed.rule,
      sheetRow: null,
    });
  }

  if (undetermined.length > 0) {
    walk.problems.push({
      code: 'undetermined',
      severity: 'warning',
      message: `${undetermined.length} Undetermined file${undetermined.length === 1 ? '' : 's'} left out (reads that matched no sample index): ${undetermined.join(', ')}.`,
    });
  }

  for (const files of noToken.values()) {
    assigned.push(...(await pairByDigit(walk, files)));
  }
  matchSampleSheets(assigned, walk);
  useLongNamesWhereAmbiguous(assigned);
  return assigned;
}

function noteNameError(walk: Walk, found: Found, error: NameError): void {
  if (error.kind === 'unrelated') {
    // Inside folders, unrelated files (xml, bcl, pdf...) are not listed.
    if (found.group === '' && walk.roots.includes(found.path)) {
      walk.ignored.push({ path: found.path, reason: error.error });
    }
    return;
  }
  walk.ignored.push({ path: found.path, reason: error.error });
  if (
    error.kind === 'uncompressed' ||
    error.kind === 'in-progress' ||
    error.kind === 'other-compression' ||
    error.kind === 'bad-extension'
  ) {
    walk.problems.push({
      code: 'ignored-extension',
      severity: 'warning',
      path: found.path,
      message: `${found.relativePath} is not uploaded: ${error.error}.`,
    });
  }
}

/** Applies the 1/2 digit pairing fallback to one folder's token-less files. */
async function pairByDigit(walk: Walk, files: Found[]): Promise<Assigned[]> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const folderName = basename(files[0].dir);
  const out: Assigned[] = [];
  const paired = new Set<string>();

  for (const pair of findDigitPairs([...byName.keys()], folderName)) {
    const r1 = byName.get(pair.r1) as Found;
    const r2 = byName.get(pair.r2) as Found;
    const [n1, n2] = await Promise.all([
      readFirstReadName(r1.path),
      readFirstReadName(r2.path),
    ]);
    if (n1 !== null && n2 !== null && n1 !== n2) {
      for (const f of [r1, r2]) {
        walk.problems.push({
          code: 'no-read-token',
          severity: 'error',
          path: f.path,
          message: `${f.relativePath} has no R1/R2 in its name; it differs from ${f === r1 ? r2.name : r1.name} only by 1/2, but their first reads have different names (${n1} and ${n2}), so they are not taken as a pair.`,
        });
        walk.ignored.push({
          path: f.path,
          reason: 'no R1/R2 designation in the name',
        });
      }
      paired.add(r1.name);
      paired.add(r2.name);
      continue;
    }
    const check =
      n1 !== null && n2 !== null
        ? `; their first reads share the name ${n1}`
        : '';
    for (const [f, read] of [
      [r1, 'R1'],
      [r2, 'R2'],
    ] as const) {
      out.push({
        found: f,
        parsed: {
          sampleName: pair.sampleName,
          read,
          lane: null,
          chunk: null,
          rule: pair.rule + check,
          sampleNumber: null,
          isUndetermined: false,
          extension: '',
        },
        sourceName: pair.sampleName,
        rule: pair.rule + check,
        sheetRow: null,
      });
      paired.add(f.name);
    }
  }

  // As the platform does for a name without a token: R1 of a single-end sample.
  for (const f of files) {
    if (paired.has(f.name)) continue;
    const sampleName = f.name.replace(/\.(?:fastq|fq)\.b?gz$/i, '');
    out.push({
      found: f,
      parsed: {
        sampleName,
        read: 'R1',
        lane: null,
        chunk: null,
        rule: SINGLE_END_RULE,
        sampleNumber: null,
        isUndetermined: false,
        extension: '',
      },
      sourceName: sampleName,
      rule: SINGLE_END_RULE,
      sheetRow: null,
      problems: [
        {
          code: 'no-read-token',
          severity: 'warning',
          path: f.path,
          message: `${f.relativePath} has no R1/R2 in its name, so it is taken as R1 of a single-end sample ${sampleName} (as the platform does); rename it if it is part of a pair.`,
        },
      ],
    });
  }
  return out;
}

/** Ties run-folder files to their sample sheet rows; notes the mismatches. */
function matchSampleSheets(assigned: Assigned[], walk: Walk): void {
  const sheets = new Map<
    string,
    { sheet: SampleSheet; file: string; matched: Set<string> }
  >();
  for (const a of assigned) {
    const { sheet, group, sheetFile } = a.found;
    if (sheet === null || group === '') continue;
    let entry = sheets.get(group);
    if (entry === undefined) {
      entry = {
        sheet,
        file: sheetFile ?? 'SampleSheet.csv',
        matched: new Set(),
      };
      sheets.set(group, entry);
    }
    const row = matchRow(sheet, a);
    if (row === null) continue;
    a.sheetRow = row;
    a.sourceName = row.sampleId;
    entry.matched.add(row.sampleId);
  }

  for (const [runId, { sheet, file, matched }] of sheets) {
    for (const id of sheet.sampleIds) {
      if (matched.has(id)) continue;
      const row = sheet.samples.find((s) => s.sampleId === id) as SheetSample;
      walk.problems.push({
        code: 'sample-sheet-missing-files',
        severity: 'warning',
        clientId: toClientId(id).clientId,
        message: `Run ${runId}: sample ${id} is listed in ${file} (line ${row.line}) but no FASTQ file was found for it.`,
      });
    }
  }
}

/** The sheet row a file belongs to, by folder, name prefix, then S number. */
function matchRow(sheet: SampleSheet, a: Assigned): SheetSample | null {
  const name = a.parsed.sampleName;
  const folder = basename(a.found.dir);
  const fits = (s: SheetSample): boolean =>
    s.fastqPrefix === name || s.sampleId === name;

  const inFolder = sheet.samples.find((s) => s.sampleId === folder && fits(s));
  if (inFolder !== undefined) return inFolder;

  const ids = [...new Set(sheet.samples.filter(fits).map((s) => s.sampleId))];
  if (ids.length === 1)
    return sheet.samples.find((s) => s.sampleId === ids[0]) as SheetSample;
  if (ids.length > 1 && a.parsed.sampleNumber !== null) {
    const id = sheet.sampleIds[a.parsed.sampleNumber - 1];
    if (id !== undefined && ids.includes(id)) {
      return sheet.samples.find((s) => s.sampleId === id) as SheetSample;
    }
  }
  return null;
}

/**
 * Rule 4 of names.ts takes the text before the first underscore, as the
 * platform does. When that makes two different files claim the same
 * sample, read, lane and chunk (`CTR_5_R1`, `CTR_6_R1`), the whole prefix
 * before the read token is used instead for every file of that short name.
 */
function useLongNamesWhereAmbiguous(assigned: Assigned[]): void {
  const byShort = new Map<string, Assigned[]>();
  for (const a of assigned) {
    if (a.parsed.longSampleName === undefined || a.sheetRow !== null) continue;
    const key = `${a.found.group}\u0000${a.sourceName}`;
    const list = byShort.get(key) ?? [];
    list.push(a);
    byShort.set(key, list);
  }
  for (const list of byShort.values()) {
    const slots = new Map<string, Set<string>>();
    let isAmbiguous = false;
    for (const a of list) {
      const slot = `${a.parsed.read}/${a.parsed.lane}/${a.parsed.chunk}`;
      const longs = slots.get(slot) ?? new Set();
      longs.add(a.parsed.longSampleName as string);
      slots.set(slot, longs);
      if (longs.size > 1) isAmbiguous = true;
    }
    if (!isAmbiguous) continue;
    for (const a of list) {
      const long = a.parsed.longSampleName as string;
      a.rule = `${a.rule}; the text before the first underscore (${a.sourceName}) is shared by files of different samples, so the whole prefix ${long} names the sample`;
      a.sourceName = long;
    }
  }
}

// ---------------------------------------------------------------------------
// Samples

interface SampleWork {
  planned: PlannedSample;
  files: Map<Read, { file: PlanFile; found: Found }[]>;
}

function sampleKey(group: string, sourceName: string): string {
  const key = group === '' ? sourceName : `${group}/${sourceName}`;
  if (key.length <= MAX_KEY_LENGTH) return key;
  let hash = 0;
  for (const c of key)
    hash = (Math.imul(hash, 31) + (c.codePointAt(0) ?? 0)) >>> 0;
  return `${Array.from(key)
    .slice(0, MAX_KEY_LENGTH - 10)
    .join('')}~${hash.toString(16).padStart(8, '0')}`;
}

function groupSamples(assigned: Assigned[], walk: Walk): SampleWork[] {
  const byKey = new Map<string, { sourceName: string; files: Assigned[] }>();
  for (const a of assigned) {
    const key = sampleKey(a.found.group, a.sourceName);
    const entry = byKey.get(key) ?? { sourceName: a.sourceName, files: [] };
    entry.files.push(a);
    byKey.set(key, entry);
  }

  const keys = [...byKey.keys()].sort(naturalCompare);
  return keys.map((key) => {
    const { sourceName, files } = byKey.get(key) as {
      sourceName: string;
      files: Assigned[];
    };
    const work: SampleWork = {
      planned: {
        key,
        clientId: '',
        sourceName,
        derivation: describeSource(sourceName, files, walk),
        problems: [],
        included: true,
      },
      files: new Map(),
    };
    for (const a of files) {
      const file: PlanFile = {
        path: a.found.path,
        relativePath: a.found.relativePath,
        size: a.found.size,
        read: a.parsed.read,
        lane: a.parsed.lane,
        chunk: a.parsed.chunk,
        rule: a.rule,
      };
      const list = work.files.get(file.read) ?? [];
      list.push({ file, found: a.found });
      work.files.set(file.read, list);
      work.planned.problems.push(...(a.problems ?? []));
    }
    checkSample(work, files);
    return work;
  });
}

function describeSource(
  sourceName: string,
  files: Assigned[],
  walk: Walk,
): string {
  const rules = [...new Set(files.map((f) => f.rule))];
  const row = files.find((f) => f.sheetRow !== null)?.sheetRow ?? null;
  const count = `${files.length} file${files.length === 1 ? '' : 's'}`;
  let text = `Sample "${sourceName}" from ${count} (${rules.join(' | ')})`;
  if (row !== null) {
    const file = files[0].found.sheetFile ?? 'SampleSheet.csv';
    const prefix =
      row.fastqPrefix === row.sampleId
        ? ''
        : `, FASTQ prefix ${row.fastqPrefix}`;
    text += `; listed in ${file} line ${row.line} as Sample_ID ${row.sampleId}${prefix}`;
  } else {
    const unknown = files.find(
      (f) => f.found.sheet !== null && !f.parsed.isUndetermined,
    );
    if (unknown !== undefined) {
      text += `; not listed in ${unknown.found.sheetFile ?? 'the sample sheet'}`;
    }
  }
  const run = walk.runs.get(files[0].found.group);
  return run === undefined ? `${text}.` : `${text}. ${run}`;
}

function slotOf(f: PlanFile): string {
  if (f.lane === null && f.chunk === null) return 'no lane or chunk';
  const parts = [];
  if (f.lane !== null) parts.push(`lane ${f.lane}`);
  if (f.chunk !== null) parts.push(`chunk ${f.chunk}`);
  return parts.join(' ');
}

function compareFiles(a: PlanFile, b: PlanFile): number {
  return (
    (a.lane ?? 0) - (b.lane ?? 0) ||
    (a.chunk ?? 0) - (b.chunk ?? 0) ||
    compareNames(a.relativePath, b.relativePath)
  );
}

/** Sorts each read's files and records the structural problems. */
function checkSample(work: SampleWork, files: Assigned[]): void {
  const { planned } = work;
  const problem = (p: Omit<PlanProblem, 'clientId'>): void => {
    planned.problems.push({ ...p });
  };

  const isUnlisted = (f: Assigned): boolean =>
    f.found.sheet !== null && f.sheetRow === null && !f.parsed.isUndetermined;
  if (files.some(isUnlisted)) {
    const file = files[0].found.sheetFile ?? 'the sample sheet';
    problem({
      code: 'sample-sheet-unknown-sample',
      severity: 'warning',
      path: files[0].found.path,
      message: `Sample ${planned.sourceName} is not listed in ${file}; its name comes from the file names.`,
    });
  }

  for (const [read, list] of work.files) {
    list.sort((a, b) => compareFiles(a.file, b.file));
    const bySlot = new Map<string, PlanFile>();
    for (const { file } of list) {
      const slot = slotOf(file);
      const other = bySlot.get(slot);
      if (other !== undefined) {
        problem({
          code: 'duplicate-file',
          severity: 'error',
          path: file.path,
          message: `${file.relativePath} and ${other.relativePath} both hold ${read} ${slot} of sample ${planned.sourceName}; keep one of them.`,
        });
      }
      bySlot.set(slot, file);
    }
    const bare = list.find(
      ({ file }) => file.lane === null && file.chunk === null,
    );
    if (bare !== undefined && list.length > 1 && bySlot.size > 1) {
      problem({
        code: 'duplicate-file',
        severity: 'error',
        path: bare.file.path,
        message: `${bare.file.relativePath} has no lane or chunk but other ${read} files of sample ${planned.sourceName} do; concatenating them would repeat reads. Keep either the merged file or the split ones.`,
      });
    }
  }

  const r1 = work.files.get('R1') ?? [];
  const r2 = work.files.get('R2') ?? [];
  const isNamedSingleEnd = r1.every(
    ({ file }) => file.rule === SINGLE_END_RULE,
  );
  if (r1.length > 0 && r2.length === 0) {
    // The no-read-token warning already says it is single-end.
    if (isNamedSingleEnd) return;
    problem({
      code: 'missing-r2',
      severity: 'warning',
      path: r1[0].file.path,
      message: `R1 without R2: sample ${planned.sourceName} has no R2 file, so it is uploaded as single-end data (R1 only).`,
    });
  } else if (r1.length === 0 && r2.length > 0) {
    problem({
      code: 'missing-r1',
      severity: 'error',
      path: r2[0].file.path,
      message: `R2 without R1: sample ${planned.sourceName} has no R1 file; the platform needs R1.`,
    });
  } else {
    compareSlots(r1, r2, 'R1', 'R2', 'missing-r2', planned);
    compareSlots(r2, r1, 'R2', 'R1', 'missing-r1', planned);
  }
}

function compareSlots(
  have: { file: PlanFile }[],
  other: { file: PlanFile }[],
  haveRead: Read,
  otherRead: Read,
  code: 'missing-r1' | 'missing-r2',
  planned: PlannedSample,
): void {
  const otherSlots = new Set(other.map(({ file }) => slotOf(file)));
  for (const { file } of have) {
    if (otherSlots.has(slotOf(file))) continue;
    planned.problems.push({
      code,
      severity: 'error',
      path: file.path,
      message: `${file.relativePath} holds ${haveRead} ${slotOf(file)} of sample ${planned.sourceName}, but there is no ${otherRead} file for ${slotOf(file)}; R1 and R2 would not pair up.`,
    });
  }
}

/** The planned sample with its reads' files in place (sizes and destinations follow in finish). */
function withFiles(work: SampleWork): PlannedSample {
  const sample = { ...work.planned };
  for (const read of ['R1', 'R2'] as const) {
    const files = (work.files.get(read) ?? []).map(({ file }) => file);
    if (files.length === 0) continue;
    const planned: PlannedRead = { read, files, size: 0, destination: '' };
    if (read === 'R1') sample.r1 = planned;
    else sample.r2 = planned;
  }
  return sample;
}

function flagEmptyFiles(work: SampleWork): void {
  for (const list of work.files.values()) {
    for (const { file } of list) {
      if (file.size > 0) continue;
      work.planned.problems.push({
        code: 'empty-file',
        severity: 'error',
        path: file.path,
        message: `${file.relativePath}: empty file (0 bytes).`,
      });
    }
  }
}

/**
 * Verifies every file's content, an object (the files of one sample and
 * read, in upload order) at a time and a few objects at once; records
 * problems. With `tapObject`, every object's bytes are also given to its
 * tap as they are read.
 */
async function verifySamples(
  samples: SampleWork[],
  signal: AbortSignal | undefined,
  onChecked: () => void,
  tapObject: BuildPlanOptions['tapObject'],
): Promise<void> {
  const jobs: { work: SampleWork; files: PlanFile[] }[] = [];
  for (const work of samples) {
    for (const list of work.files.values()) {
      const files = inUploadOrder(list.map(({ file }) => file));
      if (files.length > 0) jobs.push({ work, files });
    }
  }
  const reads = new Map<PlanFile, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      signal?.throwIfAborted();
      const { work, files } = jobs[next++];
      const tap = (await tapObject?.(files)) ?? null;
      let ok = true;
      try {
        for (const file of files) {
          const verdict = await verifyFastqGzip(file.path, {
            signal,
            onChunk: ok && tap ? (chunk) => tap.update(chunk) : undefined,
          });
          if (verdict.ok) {
            reads.set(file, verdict.reads);
          } else {
            ok = false;
            work.planned.problems.push({
              ...verdict.problem,
              message: `${file.relativePath}: ${verdict.problem.message}.`,
            });
          }
          onChecked();
        }
      } catch (err) {
        ok = false;
        throw err;
      } finally {
        tap?.end(ok);
      }
    }
  };
  await Promise.all(Array.from({ length: VERIFY_CONCURRENCY }, worker));

  for (const work of samples) {
    const count = (read: Read): number | null => {
      const list = work.files.get(read) ?? [];
      let total = 0;
      for (const { file } of list) {
        const n = reads.get(file);
        if (n === undefined) return null;
        total += n;
      }
      return list.length === 0 ? null : total;
    };
    const n1 = count('R1');
    const n2 = count('R2');
    if (n1 !== null && n2 !== null && n1 !== n2) {
      work.planned.problems.push({
        code: 'read-count-mismatch',
        severity: 'error',
        message: `R1 and R2 of sample ${work.planned.sourceName} hold different numbers of reads (${n1} and ${n2}); mates would not pair up and the platform's QC would fail.`,
      });
    }
  }
}

// ---------------------------------------------------------------------------
// Client ids, destinations, totals

/**
 * Derives every sample's client id, making them unique. Samples whose name
 * is already a valid id claim it first, so a suffix goes to a sample whose
 * name had to be changed anyway; otherwise the order is key order.
 */
function assignClientIds(samples: PlannedSample[]): void {
  const derived = new Map(samples.map((s) => [s, toClientId(s.sourceName)]));
  const order = [
    ...samples.filter((s) => !derived.get(s)?.changed),
    ...samples.filter((s) => derived.get(s)?.changed),
  ];
  const owners = new Map<string, PlannedSample>();
  for (const sample of order) {
    const { clientId, why } = derived.get(sample) as ReturnType<
      typeof toClientId
    >;
    let id = clientId;
    for (let n = 2; owners.has(clientIdKey(id)); n++) id = `${clientId}-${n}`;
    owners.set(clientIdKey(id), sample);
    sample.clientId = id;

    const notes = [
      why === ''
        ? `Client id ${clientId} is the sample name as it is.`
        : `Client id ${clientId}: ${why}`,
    ];
    if (id !== clientId) {
      const first = owners.get(clientIdKey(clientId)) as PlannedSample;
      const note = `${clientId} is already the client id of sample ${first.key}, so this sample is uploaded as ${id}`;
      notes.push(`${note}.`);
      sample.problems.push({
        code: 'client-id-changed',
        severity: 'warning',
        message: `${note}; rename it if you prefer another id.`,
      });
    }
    sample.derivation = `${sample.derivation} ${notes.join(' ')}`;
  }
}

function hasError(sample: PlannedSample): boolean {
  return sample.problems.some((p) => p.severity === 'error');
}

function makeRead(
  read: Read,
  files: PlanFile[],
  destination: string,
  clientId: string,
): PlannedRead | undefined {
  if (files.length === 0) return undefined;
  return {
    read,
    files,
    size: files.reduce((sum, f) => sum + f.size, 0),
    destination: `${destination}${clientId}_${read}.fastq.gz`,
  };
}

/**
 * Recomputes what follows from client ids and the destination: read
 * destinations, problems' client ids, `included` and `totalBytes`. The
 * `isUserExcluded` set lists keys the user left out.
 */
function finish(
  plan: UploadPlan,
  isUserExcluded: Set<string> = new Set(),
): UploadPlan {
  let totalBytes = 0;
  const samples = plan.samples.map((sample) => {
    const r1Files = sample.r1?.files ?? [];
    const r2Files = sample.r2?.files ?? [];
    const next: PlannedSample = {
      ...sample,
      problems: sample.problems.map((p) => ({
        ...p,
        clientId: sample.clientId,
      })),
    };
    const r1 = makeRead('R1', r1Files, plan.destination, sample.clientId);
    const r2 = makeRead('R2', r2Files, plan.destination, sample.clientId);
    if (r1 === undefined) delete next.r1;
    else next.r1 = r1;
    if (r2 === undefined) delete next.r2;
    else next.r2 = r2;
    next.included = !hasError(next) && !isUserExcluded.has(sample.key);
    if (next.included) totalBytes += (r1?.size ?? 0) + (r2?.size ?? 0);
    return next;
  });
  return { ...plan, samples, totalBytes };
}

// ---------------------------------------------------------------------------
// Edits

const RENAME_NOTE = 'Renamed by the user to';

/**
 * applyPlanEdits returns a new plan (the given one is not changed) with the
 * user's edits applied, and everything that follows recomputed: read
 * destinations, client-id problems, `included` and `totalBytes`.
 *
 * - `renames` sets client ids by sample key (NFC-normalised and trimmed).
 *   An id that {@link clientIdProblem} refuses, or that two samples share
 *   (compared without regard to case), is a 'client-id-changed' error on the
 *   samples concerned, which keeps them out until fixed.
 * - `excluded`, when given, is the complete list of keys the user leaves
 *   out; when absent, samples the user left out before stay out.
 * - `destination` is normalised as by {@link normaliseDestination}.
 *
 * It throws a ValidationError for an invalid destination or a key that is
 * not in the plan.
 */
export function applyPlanEdits(plan: UploadPlan, edits: PlanEdits): UploadPlan {
  const destination =
    edits.destination === undefined
      ? plan.destination
      : normaliseDestination(edits.destination);
  const keys = new Set(plan.samples.map((s) => s.key));
  for (const [field, list] of [
    ['renames', Object.keys(edits.renames ?? {})],
    ['excluded', edits.excluded ?? []],
  ] as const) {
    const unknown = list.find((key) => !keys.has(key));
    if (unknown !== undefined) {
      throw new ValidationError(
        field,
        `No sample with key "${unknown}" in this plan.`,
      );
    }
  }
  const userExcluded = new Set(
    edits.excluded ??
      plan.samples.filter((s) => !s.included && !hasError(s)).map((s) => s.key),
  );

  const samples = plan.samples.map((sample) => {
    const next: PlannedSample = { ...sample, problems: [...sample.problems] };
    const rename = edits.renames?.[sample.key];
    if (rename !== undefined) {
      const id = rename.normalize('NFC').trim();
      if (id !== sample.clientId) {
        next.clientId = id;
        next.problems = next.problems.filter(
          (p) => p.code !== 'client-id-changed',
        );
        const at = sample.derivation.indexOf(` ${RENAME_NOTE} `);
        const base =
          at === -1 ? sample.derivation : sample.derivation.slice(0, at);
        next.derivation = `${base} ${RENAME_NOTE} ${id}.`;
      }
    }
    // Id errors are recomputed below from the ids as they now are.
    next.problems = next.problems.filter(
      (p) => !(p.code === 'client-id-changed' && p.severity === 'error'),
    );
    const refusal = clientIdProblem(next.clientId);
    if (refusal !== null) {
      next.problems.push({
        code: 'client-id-changed',
        severity: 'error',
        message: `Client id "${next.clientId}" cannot be used: ${refusal}.`,
      });
    }
    return next;
  });

  const byId = new Map<string, PlannedSample[]>();
  for (const sample of samples) {
    const list = byId.get(clientIdKey(sample.clientId)) ?? [];
    list.push(sample);
    byId.set(clientIdKey(sample.clientId), list);
  }
  for (const list of byId.values()) {
    if (list.length < 2) continue;
    const names = list.map((s) => s.key).join(', ');
    for (const sample of list) {
      sample.problems.push({
        code: 'client-id-changed',
        severity: 'error',
        message: `Client id "${sample.clientId}" is used by several samples (${names}); give each a different id.`,
      });
    }
  }

  return finish({ ...plan, destination, samples }, userExcluded);
}
