import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../../shared/domain.ts';
import { ValidationError } from '../errors.ts';
import {
  checkCollisions,
  checkRequest,
  hasEnded,
  isAvailable,
  matchesFileTypes,
  normaliseUuid,
} from './plan.ts';
import type { PlannedFile } from './plan.ts';

const ID = '5a1b4c2e-0d3f-4e6a-9b7c-8d9e0f1a2b3c';

function planned(relPath: string, overrides: Partial<PlannedFile> = {}): PlannedFile {
  return {
    kind: 'file',
    sampleId: ID,
    clientId: 'S1',
    fileId: ID,
    fileType: 'fastq-r1',
    size: 1,
    checksum: null,
    url: 'http://127.0.0.1:1/x',
    filename: 'x',
    relPath,
    absPath: path.resolve('/tmp/d', relPath),
    ...overrides,
  };
}

describe('checkRequest()', () => {
  it('applies the defaults', () => {
    const got = checkRequest({ destination: 'out', projectId: ID.toUpperCase() });

    expect(got).toEqual({
      destination: path.resolve('out'),
      projectId: ID,
      sampleIds: null,
      fileTypes: null,
      template: DEFAULT_DOWNLOAD_TEMPLATE,
      skipExisting: true,
    });
  });

  it('normalises and de-duplicates sample ids and file types', () => {
    const got = checkRequest({
      destination: '/tmp/x',
      sampleIds: [ID, ID.replace(/-/g, ''), ` ${ID.toUpperCase()} `],
      fileTypes: [' FASTQ-R1', 'fastq-r1', '', 'qc'],
      skipExisting: false,
    });

    expect(got.sampleIds).toEqual([ID]);
    expect(got.fileTypes).toEqual(['fastq-r1', 'qc']);
    expect(got.skipExisting).toBe(false);
  });

  const bad: { name: string; req: Parameters<typeof checkRequest>[0]; field: string }[] = [
    { name: 'no destination', req: { destination: ' ', projectId: ID }, field: 'destination' },
    { name: 'neither id', req: { destination: '/x' }, field: 'projectId' },
    { name: 'both ids', req: { destination: '/x', projectId: ID, sampleIds: [ID] }, field: 'sampleIds' },
    { name: 'a bad project id', req: { destination: '/x', projectId: 'p1' }, field: 'projectId' },
    { name: 'an empty sample list', req: { destination: '/x', sampleIds: [] }, field: 'sampleIds' },
    { name: 'a bad sample id', req: { destination: '/x', sampleIds: [ID, 'zz'] }, field: 'sampleIds' },
    { name: 'a bad template', req: { destination: '/x', projectId: ID, template: '{x}' }, field: 'template' },
  ];
  for (const { name, req, field } of bad) {
    it(`rejects ${name}`, () => {
      let caught: unknown;
      try {
        checkRequest(req);
      } catch (err) {
        caught = err;
      }

      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).field).toBe(field);
    });
  }
});

describe('matchesFileTypes()', () => {
  const cases: { type: string; filter: string[] | null; want: boolean }[] = [
    { type: 'fastq-r1', filter: null, want: true },
    { type: 'qc', filter: null, want: true },
    { type: 'fastq-r1', filter: ['fastq-r1'], want: true },
    { type: 'fastq-r2', filter: ['fastq-r1'], want: false },
    { type: 'call_capture-vcf_pathogenic', filter: ['call_capture-vcf'], want: true },
    { type: 'Impute-VCF', filter: ['impute-vcf'], want: true },
    { type: 'qc', filter: ['fastq-r1'], want: false },
    { type: 'metadata', filter: ['metadata'], want: true },
  ];
  for (const { type, filter, want } of cases) {
    it(`${want ? 'takes' : 'leaves'} ${type} with ${JSON.stringify(filter)}`, () => {
      expect(matchesFileTypes(type, filter)).toBe(want);
    });
  }
});

describe('checkCollisions()', () => {
  it('accepts distinct paths', () => {
    expect(() => checkCollisions([planned('a/b'), planned('a/c'), planned('b')])).not.toThrow();
  });

  const cases: { name: string; paths: string[]; message: RegExp }[] = [
    { name: 'the same path twice', paths: ['a/b', 'a/b'], message: /two files on a\/b/ },
    { name: 'paths that differ by case', paths: ['S1/x', 's1/X'], message: /two files on/ },
    { name: 'a file on another file’s folder', paths: ['a/b/c', 'a/b'], message: /a folder that/ },
    { name: 'a file on another file’s .part', paths: ['x.gz', 'x.gz.part'], message: /temporary name/ },
  ];
  for (const { name, paths, message } of cases) {
    it(`rejects ${name}`, () => {
      expect(() => checkCollisions(paths.map((p) => planned(p, { fileType: p })))).toThrow(message);
    });
  }
});

describe('normaliseUuid()', () => {
  const cases: [string, string | null][] = [
    [ID, ID],
    [ID.toUpperCase(), ID],
    [ID.replace(/-/g, ''), ID],
    [`  ${ID}  `, ID],
    ['5a1b4c2e-0d3f-4e6a-9b7c-8d9e0f1a2b3', null],
    ['not-a-uuid', null],
    ['', null],
  ];
  for (const [input, want] of cases) {
    it(`gives ${want} for ${JSON.stringify(input)}`, () => {
      expect(normaliseUuid(input)).toBe(want);
    });
  }
});

describe('isAvailable() and hasEnded()', () => {
  const archive: [string | null, boolean][] = [
    ['available', true],
    ['restored', true],
    ['Available', true],
    ['archived', false],
    ['restore_requested', false],
    ['restore_started', false],
    [null, true],
  ];
  for (const [status, want] of archive) {
    it(`archive status ${status} is ${want ? '' : 'not '}downloadable`, () => {
      expect(isAvailable(status)).toBe(want);
    });
  }

  const analysis: [string | null, boolean][] = [
    ['succeeded', true],
    ['failed qc', true],
    ['failed', true],
    ['FAILED QC', true],
    ['running', false],
    ['scheduled', false],
    [null, false],
  ];
  for (const [status, want] of analysis) {
    it(`analysis status ${status} has ${want ? '' : 'not '}ended`, () => {
      expect(hasEnded(status)).toBe(want);
    });
  }
});
