import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { externalMemoryFlagFor } from './heap.ts';

const FLAG = '--external-memory-accounted-in-global-limit';
const HEAP_MODULE = fileURLToPath(new URL('./heap.ts', import.meta.url));

/**
 * Runs a child Node that receives 2 GiB the way a download does (64 KiB
 * buffers, a few MiB of them held by writes in flight, the rest dropped)
 * and returns how many mark-compacts it ran, with or without the tuning.
 */
function markCompactsOfChurn(tuned: boolean): number {
  const script = `
    const { tuneHeapForTransfers } = await import(${JSON.stringify(HEAP_MODULE)});
    if (${tuned}) tuneHeapForTransfers();
    const inFlight = [];
    for (let i = 0; i < 32768; i++) {
      const chunk = Buffer.allocUnsafeSlow(64 * 1024);
      chunk[0] = i & 255;
      inFlight.push(chunk);
      if (inFlight.length > 64) inFlight.shift();
      if (i % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  `;
  const child = spawnSync(
    process.execPath,
    ['--trace-gc', '--input-type=module', '--eval', script],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(child.status, child.stderr).toBe(0);
  return child.stdout.split('\n').filter((l) => l.includes('Mark-Compact'))
    .length;
}

describe('externalMemoryFlagFor()', () => {
  it('asks for the flag on the V8 of Node 24 and of Electron, up to 14.8', () => {
    expect(externalMemoryFlagFor('13.6.233.17-node.53')).toBe(FLAG);
    expect(externalMemoryFlagFor('14.2.231.16')).toBe(FLAG);
    expect(externalMemoryFlagFor('14.7.10')).toBe(FLAG);
  });

  it('asks for nothing where V8 lacks the flag: before 13.6 and from 14.8', () => {
    expect(externalMemoryFlagFor('12.4.254.21-node.22')).toBeNull();
    expect(externalMemoryFlagFor('13.5.212')).toBeNull();
    expect(externalMemoryFlagFor('14.8.0')).toBeNull();
    expect(externalMemoryFlagFor('15.1.2')).toBeNull();
  });

  it('asks for nothing when the version cannot be read', () => {
    expect(externalMemoryFlagFor('')).toBeNull();
    expect(externalMemoryFlagFor('v13')).toBeNull();
  });
});

describe('tuneHeapForTransfers()', () => {
  it('leaves a transfer-like buffer churn to the young collections', () => {
    // The tests run on Node 24 (.ci/run installs it), whose V8 needs the
    // flag; on another V8 this says so instead of passing for nothing.
    expect(
      externalMemoryFlagFor(process.versions.v8),
      `V8 ${process.versions.v8}`,
    ).toBe(FLAG);
    const untuned = markCompactsOfChurn(false);
    const tuned = markCompactsOfChurn(true);
    expect(untuned).toBeGreaterThanOrEqual(8);
    expect(tuned).toBeLessThanOrEqual(Math.floor(untuned / 4));
  });
});
