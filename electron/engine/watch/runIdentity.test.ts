/** Run identity from RunInfo.xml, on copies of real run folders. */
import fs from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readRunIdentity } from './runIdentity.ts';
import { RUNS, copyRun, makeTempDir, removeDir } from './testing.ts';

let work: string;

beforeAll(async () => {
  work = await makeTempDir('identity');
});

afterAll(async () => {
  await removeDir(work);
});

describe('runIdentity', () => {
  describe('readRunIdentity()', () => {
    for (const [key, name] of Object.entries(RUNS)) {
      it(`reads the Run Id of the ${key} run, whatever the folder is called`, async () => {
        const dir = copyRun(name, work, `copy of ${key}`);

        expect(await readRunIdentity(dir)).toEqual({
          kind: 'run',
          runId: name,
        });
      });
    }

    it('reports a folder named like a run without RunInfo.xml as not a run', async () => {
      const dir = copyRun(
        RUNS.nextseq500,
        work,
        '231001_NB500892_0300_AHXXXXXXXX',
      );
      fs.rmSync(path.join(dir, 'RunInfo.xml'));

      const identity = await readRunIdentity(dir);

      expect(identity).toEqual({
        kind: 'not-a-run',
        reason:
          'Looks like a run folder (its name is a run folder name) but has no RunInfo.xml; not uploaded.',
      });
    });

    it('reports a folder holding run files without RunInfo.xml as not a run', async () => {
      const dir = path.join(work, 'odd-name');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'RTAComplete.txt'), '');

      expect(await readRunIdentity(dir)).toMatchObject({
        kind: 'not-a-run',
        reason: expect.stringContaining('RTAComplete.txt'),
      });
    });

    it('reports a RunInfo.xml still being written (no Run Id yet)', async () => {
      const dir = path.join(work, 'half-written');
      fs.mkdirSync(dir);
      fs.writeFileSync(
        path.join(dir, 'RunInfo.xml'),
        '<?xml version="1.0"?>\n<RunInfo><Ru',
      );

      expect(await readRunIdentity(dir)).toMatchObject({
        kind: 'not-a-run',
        reason: expect.stringContaining('no Run Id'),
      });
    });

    it('ignores unrelated folders', async () => {
      const dir = path.join(work, 'Reports');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'summary.pdf'), '');

      expect(await readRunIdentity(dir)).toEqual({ kind: 'unrelated' });
    });
  });
});
