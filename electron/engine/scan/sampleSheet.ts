/**
 * Illumina sample sheets: v1 (IEM v3/v4/v5, LRM; samples in `[Data]`) and
 * v2 (BCL Convert; samples in `[BCLConvert_Data]`).
 *
 * Accepted as instruments write them: CRLF or LF line ends, a UTF-8 byte
 * order mark, rows padded with trailing commas, quoted cells, comment lines
 * starting with '#', blank lines, and a `Lane` column (one row per sample
 * and lane). Section and column names are compared without regard to case.
 */

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** One row of the sheet's sample table. */
export interface SheetSample {
  sampleId: string;
  /** Sample_Name as written; '' when the column is absent or empty. */
  sampleName: string;
  project?: string;
  lane?: number;
  index?: string;
  index2?: string;
  /**
   * The name the demultiplexer gives this sample's FASTQ files: Sample_Name
   * when set (bcl2fastq, v1), else Sample_ID (always Sample_ID in v2).
   */
  fastqPrefix: string;
  /** 1-based line of the row in the file. */
  line: number;
}

/** A parsed sample sheet. */
export interface SampleSheet {
  version: 1 | 2;
  /** Every sample row, in file order (one per sample and lane). */
  samples: SheetSample[];
  /** Distinct FASTQ name prefixes, in file order. */
  fastqPrefixes: string[];
  /** Distinct Sample_IDs in file order; position + 1 is bcl2fastq's S number. */
  sampleIds: string[];
  /** Key/value pairs of the `[Header]` section. */
  header: Record<string, string>;
}

/** SampleSheetError names the file and, when known, the line at fault. */
export class SampleSheetError extends Error {
  readonly file: string;
  readonly line: number | null;

  constructor(file: string, line: number | null, message: string) {
    super(
      line === null
        ? `${file}: ${message}`
        : `${file} line ${line}: ${message}`,
    );
    this.name = 'SampleSheetError';
    this.file = file;
    this.line = line;
  }
}

interface Row {
  line: number;
  cells: string[];
}

/** Splits one CSV line into cells; doubled quotes inside quotes are quotes. */
function splitCsvLine(text: string, file: string, line: number): string[] {
  const cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        inQuotes = false;
      } else {
        cell += c;
      }
    } else if (c === '"' && cell.trim() === '') {
      inQuotes = true;
      cell = '';
    } else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  if (inQuotes)
    throw new SampleSheetError(file, line, 'a quoted cell is not closed');
  cells.push(cell.trim());
  return cells;
}

function isBlank(cells: string[]): boolean {
  return cells.every((c) => c === '');
}

/** Drops the empty cells that trailing commas leave at the end. */
function trimTrailing(cells: string[]): string[] {
  let end = cells.length;
  while (end > 0 && cells[end - 1] === '') end--;
  return cells.slice(0, end);
}

/**
 * parseSampleSheet parses the text of a sample sheet. It throws a
 * {@link SampleSheetError} naming `fileName` and the line when the sheet has
 * no sample table, lacks a Sample_ID column, has a row with an empty
 * Sample_ID, a bad Lane, more cells than the table header, or the same
 * sample twice in one lane.
 */
export function parseSampleSheet(
  text: string,
  fileName = 'SampleSheet.csv',
): SampleSheet {
  const sections = new Map<string, Row[]>();
  const sectionLine = new Map<string, number>();
  let current: Row[] | null = null;

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trimStart().startsWith('#')) return;
    const cells = splitCsvLine(raw, fileName, line);
    const heading = /^\[([^\]]+)\]$/.exec(cells[0]);
    if (heading !== null) {
      const name = heading[1].trim().toLowerCase();
      current = [];
      sections.set(name, current);
      sectionLine.set(name, line);
      return;
    }
    if (isBlank(cells)) return;
    if (current === null) {
      throw new SampleSheetError(
        fileName,
        line,
        'text before the first [Section] heading; is this a sample sheet?',
      );
    }
    current.push({ line, cells });
  });

  const header: Record<string, string> = {};
  for (const row of sections.get('header') ?? []) {
    const [key, value = ''] = trimTrailing(row.cells);
    if (key !== undefined && key !== '') header[key] = value;
  }

  const declared = Object.entries(header).find(
    ([key]) => key.toLowerCase() === 'fileformatversion',
  )?.[1];
  const isV2 = declared === '2' || sections.has('bclconvert_data');
  const tableName = isV2 ? 'bclconvert_data' : 'data';
  const table = sections.get(tableName);
  if (table === undefined) {
    throw new SampleSheetError(
      fileName,
      null,
      isV2
        ? 'FileFormatVersion is 2 but there is no [BCLConvert_Data] section'
        : 'no [Data] section (v1) or [BCLConvert_Data] section (v2) with the samples',
    );
  }
  if (table.length === 0) {
    throw new SampleSheetError(
      fileName,
      sectionLine.get(tableName) ?? null,
      `the [${isV2 ? 'BCLConvert_Data' : 'Data'}] section is empty`,
    );
  }

  const samples = parseTable(table, isV2 ? 2 : 1, fileName);
  const fastqPrefixes = unique(samples.map((s) => s.fastqPrefix));
  const sampleIds = unique(samples.map((s) => s.sampleId));
  return { version: isV2 ? 2 : 1, samples, fastqPrefixes, sampleIds, header };
}

function parseTable(rows: Row[], version: 1 | 2, file: string): SheetSample[] {
  const [head, ...body] = rows;
  const columns = trimTrailing(head.cells).map((c) => c.toLowerCase());
  const col = (name: string): number => columns.indexOf(name);
  const idAt = col('sample_id');
  if (idAt === -1) {
    throw new SampleSheetError(
      file,
      head.line,
      `the sample table header has no Sample_ID column (found: ${head.cells.filter((c) => c !== '').join(', ')})`,
    );
  }
  const nameAt = col('sample_name');
  const projectAt = col('sample_project');
  const laneAt = col('lane');
  const indexAt = col('index');
  const index2At = col('index2');

  const seen = new Map<string, number>();
  return body.map((row) => {
    const cells = trimTrailing(row.cells);
    if (cells.length > columns.length) {
      throw new SampleSheetError(
        file,
        row.line,
        `the row has ${cells.length} cells but the table header on line ${head.line} names ${columns.length} columns`,
      );
    }
    const get = (at: number): string => (at === -1 ? '' : (cells[at] ?? ''));
    const sampleId = get(idAt);
    if (sampleId === '') {
      throw new SampleSheetError(file, row.line, 'Sample_ID is empty');
    }

    const sample: SheetSample = {
      sampleId,
      sampleName: get(nameAt),
      fastqPrefix: version === 1 && get(nameAt) !== '' ? get(nameAt) : sampleId,
      line: row.line,
    };
    const laneText = get(laneAt);
    if (laneText !== '') {
      if (!/^\d+$/.test(laneText) || Number(laneText) < 1) {
        throw new SampleSheetError(
          file,
          row.line,
          `Lane must be a whole number from 1, not "${laneText}"`,
        );
      }
      sample.lane = Number(laneText);
    }
    if (get(projectAt) !== '') sample.project = get(projectAt);
    if (get(indexAt) !== '') sample.index = get(indexAt);
    if (get(index2At) !== '') sample.index2 = get(index2At);

    const key = `${sampleId}\u0000${sample.lane ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) {
      const where = sample.lane === undefined ? '' : ` in lane ${sample.lane}`;
      throw new SampleSheetError(
        file,
        row.line,
        `sample ${sampleId}${where} is listed twice (first on line ${first})`,
      );
    }
    seen.set(key, row.line);
    return sample;
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * readSampleSheet reads and parses a sample sheet file. It throws a
 * {@link SampleSheetError} for content problems and the file system's error
 * when the file cannot be read.
 */
export async function readSampleSheet(path: string): Promise<SampleSheet> {
  const text = await readFile(path, 'utf8');
  return parseSampleSheet(text, basename(path));
}
