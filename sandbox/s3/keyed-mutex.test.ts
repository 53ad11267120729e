import { describe, expect, it } from 'vitest';

import { KeyedMutex } from './keyed-mutex.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('KeyedMutex', () => {
  describe('run()', () => {
    it('runs sections of one key one after another, in call order', async () => {
      const mutex = new KeyedMutex();
      const events: string[] = [];

      await Promise.all(
        ['a', 'b', 'c'].map((name) =>
          mutex.run('k', async () => {
            events.push(`start ${name}`);
            await tick();
            events.push(`end ${name}`);
          }),
        ),
      );

      expect(events).toEqual([
        'start a',
        'end a',
        'start b',
        'end b',
        'start c',
        'end c',
      ]);
    });

    it('does not make other keys wait', async () => {
      const mutex = new KeyedMutex();
      const events: string[] = [];

      await Promise.all([
        mutex.run('x', async () => {
          await tick();
          events.push('x');
        }),
        mutex.run('y', async () => {
          events.push('y');
        }),
      ]);

      expect(events).toEqual(['y', 'x']);
    });

    it('releases the key when a section throws', async () => {
      const mutex = new KeyedMutex();

      await expect(
        mutex.run('k', async () => Promise.reject(new Error('boom'))),
      ).rejects.toThrow('boom');

      expect(await mutex.run('k', async () => 'next')).toBe('next');
    });
  });
});
