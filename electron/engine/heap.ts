/**
 * How the garbage collector should treat the buffers that transfers churn
 * through.
 *
 * Every socket read, file read and write batch of a transfer is a Buffer
 * whose memory lives outside the JavaScript heap. V8 before 14.8 starts a
 * full mark-compact each time a few MiB of such memory has been allocated
 * since the last one, however little of it is still alive: a download at
 * a few hundred MiB/s ran some 15 of them a second over a 15 MB heap, and
 * their marking took about a third of a core. V8's flag
 * `--external-memory-accounted-in-global-limit` counts that memory in the
 * heap's own limit instead, so the young collections that free these
 * buffers anyway are left to do it. From V8 14.8 that is V8's default and
 * the flag is gone, and Node 22's V8 (12.4) does not have it yet; it is
 * set from 13.6, the V8 of Node 24. An unknown flag would print an error,
 * so the version decides.
 *
 * Call `tuneHeapForTransfers` once, first thing, in every process that
 * runs the engine or the sandbox (the command line and the desktop app's
 * main process do).
 */
import v8 from 'node:v8';

const FLAG = '--external-memory-accounted-in-global-limit';

/**
 * externalMemoryFlagFor returns the V8 flag a process on V8 `version`
 * (as in `process.versions.v8`) should set, or null when it needs none.
 */
export function externalMemoryFlagFor(version: string): string | null {
  const match = /^(\d+)\.(\d+)\./.exec(version);
  if (!match) {
    return null;
  }
  const release = Number(match[1]) * 100 + Number(match[2]);
  return release >= 1306 && release < 1408 ? FLAG : null;
}

let isTuned = false;

/**
 * tuneHeapForTransfers sets the flag this V8 needs, once per process.
 * Returns the flag it set, or null when it set none.
 */
export function tuneHeapForTransfers(): string | null {
  const flag = externalMemoryFlagFor(process.versions.v8);
  if (flag !== null && !isTuned) {
    v8.setFlagsFromString(flag);
    isTuned = true;
  }
  return flag;
}
