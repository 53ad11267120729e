import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Journal, JournalError } from './journal.ts';

describe('Journal', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-test-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('open()', () => {
    it('creates the file and its folders, in WAL mode', () => {
      const file = path.join(dir, 'a', 'b', 'journal.db');

      const journal = Journal.open(file);
      const mode = journal.db.prepare('PRAGMA journal_mode').get() as {
        journal_mode: string;
      };
      journal.close();

      expect(mode.journal_mode).toBe('wal');
      expect(journal.isClosed).toBe(true);
    });

    it('throws JournalError naming the file when it is not a database', () => {
      const file = path.join(dir, 'not-a-db');
      writeFileSync(file, 'this is plain text, not SQLite, '.repeat(100));

      expect(() => Journal.open(file)).toThrow(JournalError);
      expect(() => Journal.open(file)).toThrow(file);
    });
  });

  describe('ensureSchema()', () => {
    it('runs each version once and records it in schema_versions', () => {
      const file = path.join(dir, 'j.db');
      const journal = Journal.open(file);

      const first = journal.ensureSchema('things', 1, [
        'CREATE TABLE things (id INTEGER PRIMARY KEY)',
      ]);
      const again = journal.ensureSchema('things', 1, [
        'CREATE TABLE things (id INTEGER PRIMARY KEY)',
      ]);
      const second = journal.ensureSchema('things', 2, [
        'ALTER TABLE things ADD COLUMN name TEXT',
      ]);
      journal.close();
      const reopened = Journal.open(file);
      const version = reopened.schemaVersion('things');
      const columns = reopened.db
        .prepare('PRAGMA table_info(things)')
        .all()
        .map((c) => (c as { name: string }).name);
      reopened.close();

      expect([first, again, second]).toEqual([true, false, true]);
      expect(version).toBe(2);
      expect(columns).toEqual(['id', 'name']);
    });

    it('keeps nothing of a step whose statement fails, and names it', () => {
      const journal = Journal.open(path.join(dir, 'j.db'));

      expect(() =>
        journal.ensureSchema('broken', 1, [
          'CREATE TABLE good (id INTEGER)',
          'CREATE TABLEX bad',
        ]),
      ).toThrow(/broken v1 failed on "CREATE TABLEX bad"/);
      const tables = journal.db
        .prepare("SELECT name FROM sqlite_master WHERE name = 'good'")
        .all();
      const version = journal.schemaVersion('broken');
      journal.close();

      expect(tables).toEqual([]);
      expect(version).toBe(0);
    });

    it('leaves a newer recorded version alone', () => {
      const journal = Journal.open(path.join(dir, 'j.db'));
      journal.ensureSchema('m', 3, ['CREATE TABLE m (id INTEGER)']);

      const ran = journal.ensureSchema('m', 2, ['DROP TABLE m']);
      const version = journal.schemaVersion('m');
      journal.close();

      expect(ran).toBe(false);
      expect(version).toBe(3);
    });
  });

  describe('jobs', () => {
    it('stores, updates and lists jobs across a reopen', () => {
      const file = path.join(dir, 'j.db');
      const journal = Journal.open(file);
      journal.createJob({
        id: 'a',
        kind: 'upload',
        title: 'A',
        request: { x: 1 },
      });
      journal.createJob({
        id: 'b',
        kind: 'download',
        title: 'B',
        request: [2],
      });

      journal.updateJob('a', {
        state: 'running',
        attempt: 1,
        startedAt: '2024-01-01T00:00:00.000Z',
      });
      journal.updateJob('b', {
        state: 'failed',
        error: { code: 'network', message: 'down' },
        result: { files: [] },
      });
      journal.close();
      const reopened = Journal.open(file);
      const running = reopened.listJobs(['running', 'queued']);
      const b = reopened.getJob('b');
      reopened.close();

      expect(running.map((j) => [j.id, j.state, j.attempt, j.request])).toEqual(
        [['a', 'running', 1, { x: 1 }]],
      );
      expect(b?.error).toEqual({ code: 'network', message: 'down' });
      expect(b?.result).toEqual({ files: [] });
      expect(b?.request).toEqual([2]);
    });

    it('throws JournalError when updating a job that does not exist', () => {
      const journal = Journal.open(path.join(dir, 'j.db'));

      expect(() => journal.updateJob('nope', { state: 'done' })).toThrow(
        /no job nope/,
      );
      journal.close();
    });
  });

  describe('transaction()', () => {
    it('rolls back everything when the function throws, nested calls included', () => {
      const journal = Journal.open(path.join(dir, 'j.db'));

      expect(() =>
        journal.transaction(() => {
          journal.createJob({
            id: 'x',
            kind: 'upload',
            title: 'X',
            request: null,
          });
          journal.transaction(() => {
            journal.createJob({
              id: 'y',
              kind: 'upload',
              title: 'Y',
              request: null,
            });
          });
          throw new Error('boom');
        }),
      ).toThrow('boom');
      const jobs = journal.listJobs();
      journal.close();

      expect(jobs).toEqual([]);
    });

    it('rolls back only the inner part when a nested call throws and is caught', () => {
      const journal = Journal.open(path.join(dir, 'j.db'));

      journal.transaction(() => {
        journal.createJob({
          id: 'x',
          kind: 'upload',
          title: 'X',
          request: null,
        });
        try {
          journal.transaction(() => {
            journal.createJob({
              id: 'y',
              kind: 'upload',
              title: 'Y',
              request: null,
            });
            throw new Error('inner');
          });
        } catch {
          // expected
        }
      });
      const ids = journal.listJobs().map((j) => j.id);
      journal.close();

      expect(ids).toEqual(['x']);
    });
  });
});
