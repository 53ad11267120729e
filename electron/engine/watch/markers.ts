/**
 * Completion markers: the files an Illumina instrument (and its on-board
 * analysis) writes when a run is finished, per instrument and layout.
 *
 * The rules, as data (see `completionRule`), follow the table of
 * instrument facts in the team's test-data notes:
 *
 * - Every run: `RTAComplete.txt` (sequencing finished).
 * - NextSeq 1000/2000, NovaSeq 6000, NovaSeq X, iSeq 100, MiniSeq: also
 *   `CopyComplete.txt` at the run root (the run folder finished copying;
 *   RTAComplete alone comes too early there).
 * - On-instrument DRAGEN analysis (`Analysis/<n>/`): that analysis's
 *   `CopyComplete.txt` and `Data/Secondary_Analysis_Complete.txt`.
 * - MiSeq Reporter and Local Run Manager: `CompletedJobInfo.xml`, at the
 *   run root or in the analysis folder.
 * - Offline bcl2fastq output writes no flag of its own: the settle time of
 *   the FASTQs (see stability.ts) is what guards it.
 *
 * Names are matched without regard to case, segment by segment.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import type { RunFolderInfo, RunLayout } from '../scan/runFolder.ts';

/** One marker a run needs before it is taken. */
export interface MarkerRequirement {
  /** Path relative to the run folder, '/' separated, as shown to the user. */
  path: string;
  /** Other places the same marker may be; any one found is enough. */
  alternatives: string[];
  /** What the marker says, for messages. */
  meaning: string;
}

/** What the rules look at. */
export interface CompletionFacts {
  /** Instrument model as `describeRunFolder` names it, or null. */
  instrument: string | null;
  layout: RunLayout;
  /**
   * The analysis folder the FASTQs come from, relative to the run folder
   * (`Analysis/1`, `Alignment_1/20200124_110517`); for a run without FASTQs
   * yet, the newest `Analysis/<n>` when there is one; else null.
   */
  analysisDir: string | null;
}

/** Instruments whose run root gets `CopyComplete.txt`. */
const COPY_COMPLETE_INSTRUMENTS =
  /^(?:NextSeq 1000\/2000|NovaSeq 6000|NovaSeq X|NovaSeq X Plus|iSeq 100|MiniSeq)$/;

const RTA_COMPLETE: MarkerRequirement = {
  path: 'RTAComplete.txt',
  alternatives: [],
  meaning: 'the instrument finished sequencing',
};

const COPY_COMPLETE: MarkerRequirement = {
  path: 'CopyComplete.txt',
  alternatives: [],
  meaning: 'the run folder finished copying',
};

/**
 * completionRule lists the markers a run needs, in the order they are
 * normally written. Pure: the same facts give the same list.
 */
export function completionRule(facts: CompletionFacts): MarkerRequirement[] {
  const rule: MarkerRequirement[] = [RTA_COMPLETE];
  if (
    facts.instrument !== null &&
    COPY_COMPLETE_INSTRUMENTS.test(facts.instrument)
  ) {
    rule.push(COPY_COMPLETE);
  }
  const analysis = facts.analysisDir;
  const isOnboard =
    facts.layout === 'bclconvert-onboard' ||
    (facts.layout === 'none' &&
      analysis !== null &&
      /^Analysis\/\d+$/i.test(analysis));
  if (isOnboard && analysis !== null) {
    rule.push(
      {
        path: `${analysis}/CopyComplete.txt`,
        alternatives: [],
        meaning: `the on-instrument analysis ${analysis} finished copying`,
      },
      {
        path: `${analysis}/Data/Secondary_Analysis_Complete.txt`,
        alternatives: [],
        meaning: `the on-instrument analysis ${analysis} finished`,
      },
    );
  }
  if (facts.layout === 'lrm' || facts.layout === 'miseq-reporter') {
    const alternatives: string[] = [];
    if (analysis !== null) {
      alternatives.push(`${analysis}/CompletedJobInfo.xml`);
      const parent = path.posix.dirname(analysis);
      if (parent !== '.') alternatives.push(`${parent}/CompletedJobInfo.xml`);
    }
    rule.push({
      path: 'CompletedJobInfo.xml',
      alternatives,
      meaning:
        facts.layout === 'lrm'
          ? 'Local Run Manager finished writing the FASTQs'
          : 'MiSeq Reporter finished writing the FASTQs',
    });
  }
  return rule;
}

/**
 * completionFacts derives the facts of `completionRule` from a described
 * run folder. It reads at most the run's `Analysis` folder listing.
 */
export async function completionFacts(
  info: RunFolderInfo,
): Promise<CompletionFacts> {
  const facts: CompletionFacts = {
    instrument: info.instrument,
    layout: info.layout,
    analysisDir: null,
  };
  if (info.fastqRoot !== null && info.layout === 'bclconvert-onboard') {
    const relative = toPosix(path.relative(info.dir, info.fastqRoot));
    const match = /^(Analysis\/\d+)\//i.exec(relative);
    facts.analysisDir = match === null ? null : match[1];
  } else if (info.fastqRoot !== null && info.layout === 'lrm') {
    facts.analysisDir = toPosix(
      path.relative(info.dir, path.dirname(info.fastqRoot)),
    );
  } else if (info.layout === 'none') {
    facts.analysisDir = await newestAnalysis(info.dir);
  }
  return facts;
}

/**
 * findMissingMarkers returns the requirements of `rule` that are not met
 * in `dir` (none of their paths exists as a file). Never throws: an
 * unreadable folder counts as missing markers.
 */
export async function findMissingMarkers(
  dir: string,
  rule: readonly MarkerRequirement[],
): Promise<MarkerRequirement[]> {
  const listings = new Map<string, Promise<Dirent[]>>();
  const missing: MarkerRequirement[] = [];
  for (const requirement of rule) {
    let isFound = false;
    for (const candidate of [requirement.path, ...requirement.alternatives]) {
      if (await existsIgnoringCase(dir, candidate, listings)) {
        isFound = true;
        break;
      }
    }
    if (!isFound) missing.push(requirement);
  }
  return missing;
}

/** Resolves `relative` under `root` segment by segment, ignoring case. */
async function existsIgnoringCase(
  root: string,
  relative: string,
  listings: Map<string, Promise<Dirent[]>>,
): Promise<boolean> {
  const segments = relative.split('/');
  let current = root;
  for (let i = 0; i < segments.length; i++) {
    const isLast = i === segments.length - 1;
    const wanted = segments[i].toLowerCase();
    let listing = listings.get(current);
    if (listing === undefined) {
      listing = readdir(current, { withFileTypes: true }).catch(() => []);
      listings.set(current, listing);
    }
    const entry = (await listing).find(
      (e) =>
        e.name.toLowerCase() === wanted &&
        (isLast ? e.isFile() || e.isSymbolicLink() : e.isDirectory()),
    );
    if (entry === undefined) return false;
    current = path.join(current, entry.name);
  }
  return true;
}

/** The highest-numbered `Analysis/<n>` folder, or null. */
async function newestAnalysis(dir: string): Promise<string | null> {
  const top = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const analysis = top.find(
    (e) => e.isDirectory() && e.name.toLowerCase() === 'analysis',
  );
  if (analysis === undefined) return null;
  const entries = await readdir(path.join(dir, analysis.name), {
    withFileTypes: true,
  }).catch(() => []);
  const numbers = entries
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => Number(b) - Number(a));
  return numbers.length === 0 ? null : `${analysis.name}/${numbers[0]}`;
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
