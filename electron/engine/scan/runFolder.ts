/**
 * Recognising Illumina run folders and finding their FASTQs.
 *
 * A folder is a run folder when it holds `RunInfo.xml` (any case). FASTQs
 * are looked for in the layouts instruments and their software write, in
 * this order of preference; the first layout that has FASTQs is used and
 * the others are mentioned in `notes`:
 *
 * 1. On-instrument DRAGEN BCL Convert (NextSeq 1000/2000, NovaSeq X):
 *    `Analysis/<n>/Data/BCLConvert/fastq/` or `Analysis/<n>/Data/fastq/`;
 *    with several analyses, the highest `<n>` (the newest).
 * 2. Local Run Manager (iSeq 100, MiniSeq, MiSeq with MCS v3+, NextSeq):
 *    `Alignment_<n>/<YYYYMMDD_HHMMSS>/Fastq/`; with several, the latest
 *    timestamp (then the highest `<n>`).
 * 3. MiSeq Reporter and offline bcl2fastq:
 *    `Data/Intensities/BaseCalls/[<Project>/][<Sample_ID>/]`.
 *
 * Below the chosen root, folders up to two levels deep that hold FASTQ-like
 * files are listed (lane folders of BCL files, `Reports`, `Stats` and hidden
 * folders are skipped). Completion markers are not looked at here: that is
 * the watcher's job.
 */

import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';

import { splitFastqExtension, classifyNonFastqName } from './names.ts';
import { readSampleSheet, type SampleSheet } from './sampleSheet.ts';

/** Which software wrote the FASTQs that were found. */
export type RunLayout =
  'bclconvert-onboard' | 'lrm' | 'miseq-reporter' | 'bcl2fastq' | 'none';

/** What {@link describeRunFolder} found. */
export interface RunFolderInfo {
  /** The folder described, as given. */
  dir: string;
  /** True when RunInfo.xml is present. */
  isRunFolder: boolean;
  /** Run id from RunInfo.xml, else the folder name; null when not a run folder. */
  runId: string | null;
  /** Instrument id from RunInfo.xml (e.g. `M00119`). */
  instrumentId: string | null;
  /** Instrument model guessed from RunParameters.xml or the instrument id. */
  instrument: string | null;
  flowcell: string | null;
  laneCount: number | null;
  runInfoPath: string | null;
  runParametersPath: string | null;
  /** The sample sheet used (an analysis's own copy when there is one). */
  sampleSheetPath: string | null;
  sampleSheet: SampleSheet | null;
  /** Why the sample sheet could not be used, when it could not. */
  sampleSheetError: string | null;
  layout: RunLayout;
  /** Folder under which the chosen FASTQs are, or null when none were found. */
  fastqRoot: string | null;
  /** Folders holding FASTQ-like files under `fastqRoot`, sorted. */
  fastqDirs: string[];
  /** Human-readable remarks: which analysis was chosen and why, etc. */
  notes: string[];
}

async function list(dir: string): Promise<Dirent[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  } catch {
    return [];
  }
}

function findFile(entries: Dirent[], ...names: string[]): string | null {
  const wanted = names.map((n) => n.toLowerCase());
  for (const want of wanted) {
    const hit = entries.find(
      (e) => !e.isDirectory() && e.name.toLowerCase() === want,
    );
    if (hit !== undefined) return hit.name;
  }
  return null;
}

function findDir(entries: Dirent[], name: string): string | null {
  const hit = entries.find(
    (e) => e.isDirectory() && e.name.toLowerCase() === name.toLowerCase(),
  );
  return hit === undefined ? null : hit.name;
}

function isFastqLike(name: string): boolean {
  if (name.startsWith('.')) return false;
  return (
    splitFastqExtension(name) !== null ||
    classifyNonFastqName(name).kind !== 'unrelated'
  );
}

const SKIPPED_DIRS =
  /^(?:L\d+|Reports|Stats|Logs|InterOp|Thumbnail_Images|Matrix|Phasing|Plots|Recipe|Config)$/i;

/** Folders up to `depth` levels under root (root included) that hold FASTQ-like files. */
async function fastqDirsUnder(root: string, depth = 2): Promise<string[]> {
  const found: string[] = [];
  const visit = async (dir: string, level: number): Promise<void> => {
    const entries = await list(dir);
    if (entries.some((e) => !e.isDirectory() && isFastqLike(e.name)))
      found.push(dir);
    if (level >= depth) return;
    for (const e of entries) {
      if (
        !e.isDirectory() ||
        e.name.startsWith('.') ||
        SKIPPED_DIRS.test(e.name)
      )
        continue;
      await visit(join(dir, e.name), level + 1);
    }
  };
  await visit(root, 0);
  return found.sort();
}

function xmlText(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`, 'i').exec(xml);
  return m === null || m[1] === '' ? null : m[1];
}

/** Instrument model from RunParameters.xml text. */
function instrumentFromParameters(xml: string): string | null {
  const text = [
    xmlText(xml, 'InstrumentType'),
    xmlText(xml, 'ApplicationName'),
    xmlText(xml, 'Application'),
  ]
    .filter((t) => t !== null)
    .join(' ');
  const rules: [RegExp, string][] = [
    [/NovaSeq\s*X\s*Plus|NovaSeqXPlus/i, 'NovaSeq X Plus'],
    [/NovaSeq\s*X/i, 'NovaSeq X'],
    [/NovaSeq/i, 'NovaSeq 6000'],
    [/NextSeq\s*(1000|2000|1k2k)/i, 'NextSeq 1000/2000'],
    [/NextSeq/i, 'NextSeq 500/550'],
    [/MiniSeq/i, 'MiniSeq'],
    [/MiSeq/i, 'MiSeq'],
    [/iSeq/i, 'iSeq 100'],
    [/HiSeq\s*X/i, 'HiSeq X'],
    [/HiSeq/i, 'HiSeq'],
  ];
  return rules.find(([re]) => re.test(text))?.[1] ?? null;
}

/** Instrument model from the instrument id's prefix. */
function instrumentFromId(id: string): string | null {
  const rules: [RegExp, string][] = [
    [/^LH/, 'NovaSeq X'],
    [/^VH|^VL/, 'NextSeq 1000/2000'],
    [/^N[BSD]/, 'NextSeq 500/550'],
    [/^MN/, 'MiniSeq'],
    [/^FS/, 'iSeq 100'],
    [/^M/, 'MiSeq'],
    [/^A/, 'NovaSeq 6000'],
    [/^K/, 'HiSeq 3000/4000'],
    [/^E/, 'HiSeq X'],
    [/^(D|SN|ST|HWI)/, 'HiSeq'],
  ];
  return rules.find(([re]) => re.test(id))?.[1] ?? null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

interface Candidate {
  layout: RunLayout;
  root: string;
  dirs: string[];
  /** Analysis folder whose own sample sheet is preferred. */
  sheetDirs: string[];
  label: string;
  note: string | null;
}

/** Layout 1: Analysis/<n>/Data/[BCLConvert/]fastq. */
async function onboardCandidate(
  dir: string,
  top: Dirent[],
): Promise<Candidate | null> {
  const analysisName = findDir(top, 'Analysis');
  if (analysisName === null) return null;
  const analysisDir = join(dir, analysisName);
  const found: { n: number; root: string; dirs: string[]; base: string }[] = [];
  for (const e of await list(analysisDir)) {
    if (!e.isDirectory() || !/^\d+$/.test(e.name)) continue;
    const base = join(analysisDir, e.name);
    for (const sub of [
      ['Data', 'BCLConvert', 'fastq'],
      ['Data', 'fastq'],
    ]) {
      const root = join(base, ...sub);
      const dirs = await fastqDirsUnder(root);
      if (dirs.length > 0) {
        found.push({ n: Number(e.name), root, dirs, base });
        break;
      }
    }
  }
  if (found.length === 0) return null;
  found.sort((a, b) => b.n - a.n);
  const chosen = found[0];
  const label = relative(dir, chosen.root);
  return {
    layout: 'bclconvert-onboard',
    root: chosen.root,
    dirs: chosen.dirs,
    sheetDirs: [join(chosen.base, 'Data'), chosen.base],
    label,
    note:
      found.length > 1
        ? `${found.length} analyses have FASTQs (${found
            .map((f) => f.n)
            .sort((a, b) => a - b)
            .join(', ')}); using the newest, Analysis/${chosen.n}`
        : null,
  };
}

/** Layout 2: Alignment_<n>/<timestamp>/Fastq. */
async function lrmCandidate(
  dir: string,
  top: Dirent[],
): Promise<Candidate | null> {
  const found: {
    n: number;
    stamp: string;
    root: string;
    dirs: string[];
    base: string;
  }[] = [];
  for (const e of top) {
    const m = /^Alignment_(\d+)$/i.exec(e.name);
    if (!e.isDirectory() || m === null) continue;
    for (const run of await list(join(dir, e.name))) {
      if (!run.isDirectory()) continue;
      const base = join(dir, e.name, run.name);
      const fastqName = findDir(await list(base), 'Fastq');
      if (fastqName === null) continue;
      const root = join(base, fastqName);
      const dirs = await fastqDirsUnder(root);
      if (dirs.length > 0)
        found.push({ n: Number(m[1]), stamp: run.name, root, dirs, base });
    }
  }
  if (found.length === 0) return null;
  found.sort((a, b) =>
    a.stamp !== b.stamp ? (a.stamp < b.stamp ? 1 : -1) : b.n - a.n,
  );
  const chosen = found[0];
  const label = relative(dir, chosen.root);
  return {
    layout: 'lrm',
    root: chosen.root,
    dirs: chosen.dirs,
    sheetDirs: [chosen.base],
    label,
    note:
      found.length > 1
        ? `${found.length} Local Run Manager analyses have FASTQs; using the newest, ${label}`
        : null,
  };
}

/** Layout 3: Data/Intensities/BaseCalls[/<Project>][/<Sample_ID>]. */
async function baseCallsCandidate(
  dir: string,
  top: Dirent[],
  instrument: string | null,
): Promise<Candidate | null> {
  const dataName = findDir(top, 'Data');
  if (dataName === null) return null;
  const intensities = findDir(await list(join(dir, dataName)), 'Intensities');
  if (intensities === null) return null;
  const baseCallsName = findDir(
    await list(join(dir, dataName, intensities)),
    'BaseCalls',
  );
  if (baseCallsName === null) return null;
  const root = join(dir, dataName, intensities, baseCallsName);
  const dirs = await fastqDirsUnder(root);
  if (dirs.length === 0) return null;
  const isFlat = dirs.length === 1 && dirs[0] === root;
  return {
    layout: isFlat && instrument === 'MiSeq' ? 'miseq-reporter' : 'bcl2fastq',
    root,
    dirs,
    sheetDirs: [],
    label: relative(dir, root),
    note: null,
  };
}

/**
 * describeRunFolder says whether `dir` is an Illumina run folder and, if so,
 * what it holds: run id, instrument, sample sheet and the folders holding
 * the FASTQs of the layout used (see this module's comment). It never
 * throws for content problems: an unreadable or invalid sample sheet is
 * reported in `sampleSheetError`, missing FASTQs as layout 'none'.
 */
export async function describeRunFolder(dir: string): Promise<RunFolderInfo> {
  const top = await list(dir);
  const info: RunFolderInfo = {
    dir,
    isRunFolder: false,
    runId: null,
    instrumentId: null,
    instrument: null,
    flowcell: null,
    laneCount: null,
    runInfoPath: null,
    runParametersPath: null,
    sampleSheetPath: null,
    sampleSheet: null,
    sampleSheetError: null,
    layout: 'none',
    fastqRoot: null,
    fastqDirs: [],
    notes: [],
  };
  const runInfoName = findFile(top, 'RunInfo.xml');
  if (runInfoName === null) return info;

  info.isRunFolder = true;
  info.runInfoPath = join(dir, runInfoName);
  const runInfo = (await readText(info.runInfoPath)) ?? '';
  info.runId = /<Run\s[^>]*\bId="([^"]+)"/i.exec(runInfo)?.[1] ?? basename(dir);
  info.instrumentId = xmlText(runInfo, 'Instrument');
  info.flowcell = xmlText(runInfo, 'Flowcell');
  const lanes = /LaneCount="(\d+)"/i.exec(runInfo)?.[1];
  info.laneCount = lanes === undefined ? null : Number(lanes);

  const parametersName = findFile(top, 'RunParameters.xml');
  if (parametersName !== null) {
    info.runParametersPath = join(dir, parametersName);
    const xml = (await readText(info.runParametersPath)) ?? '';
    info.instrument = instrumentFromParameters(xml);
  }
  if (info.instrument === null && info.instrumentId !== null) {
    info.instrument = instrumentFromId(info.instrumentId);
  }

  const candidates = [
    await onboardCandidate(dir, top),
    await lrmCandidate(dir, top),
    await baseCallsCandidate(dir, top, info.instrument),
  ].filter((c) => c !== null);
  const chosen = candidates[0];
  if (chosen !== undefined) {
    info.layout = chosen.layout;
    info.fastqRoot = chosen.root;
    info.fastqDirs = chosen.dirs;
    if (chosen.note !== null) info.notes.push(chosen.note);
    for (const other of candidates.slice(1)) {
      info.notes.push(
        `FASTQs also found under ${other.label}; not used (${chosen.label} is preferred)`,
      );
    }
  } else {
    info.notes.push('no FASTQ files found in the known run-folder layouts');
  }

  await attachSampleSheet(info, chosen?.sheetDirs ?? [], top);
  return info;
}

async function attachSampleSheet(
  info: RunFolderInfo,
  sheetDirs: string[],
  top: Dirent[],
): Promise<void> {
  let path: string | null = null;
  for (const sheetDir of sheetDirs) {
    const name = findFile(
      await list(sheetDir),
      'SampleSheetUsed.csv',
      'SampleSheet.csv',
    );
    if (name !== null) {
      path = join(sheetDir, name);
      info.notes.push(
        `using the analysis's own sample sheet, ${relative(info.dir, path)}`,
      );
      break;
    }
  }
  if (path === null) {
    const name = findFile(top, 'SampleSheet.csv');
    if (name !== null) path = join(info.dir, name);
  }
  if (path === null) {
    info.notes.push(
      'no SampleSheet.csv: sample names come from the file names',
    );
    return;
  }

  info.sampleSheetPath = path;
  try {
    info.sampleSheet = await readSampleSheet(path);
  } catch (err) {
    info.sampleSheetError = (err as Error).message;
  }
}
