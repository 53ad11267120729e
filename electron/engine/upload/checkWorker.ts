/**
 * Worker thread of the upload's content check (started by partChecks.ts).
 *
 * It reads the object's files through the FASTQ gzip checker and reports
 * each part's digest as soon as the part's bytes went through, then 'done'
 * once every file passed, or 'error' with the first problem. Decompressing
 * and checking the records here keeps that work (and its garbage) off the
 * main thread, which only moves bytes.
 *
 * Flow control: after posting part n it waits until the main thread has
 * taken part n - lookahead + 1, so reading never runs far ahead of sending.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { createFastqGzipChecker } from '../scan/fastq.ts';
import {
  ContentError,
  LocalFileError,
  checkedPartDigests,
} from './checkedRead.ts';
import type {
  CheckWorkerData,
  FromCheckWorker,
  ToCheckWorker,
} from './partChecks.ts';

const port = parentPort;
if (port === null) {
  throw new Error('checkWorker.ts must run as a worker thread');
}
const data = workerData as CheckWorkerData;
const post = (message: FromCheckWorker): void => port.postMessage(message);

let taken = 0;
let wake: (() => void) | null = null;
port.on('message', (message: ToCheckWorker) => {
  if (message.type === 'taken') {
    taken = Math.max(taken, message.number);
    wake?.();
  }
});

post({ type: 'ready' });
try {
  // Never aborted: the main thread ends this worker by terminating it.
  const signal = new AbortController().signal;
  for await (const part of checkedPartDigests(
    data.files,
    data.partSize,
    createFastqGzipChecker,
    signal,
  )) {
    post({ type: 'part', ...part });
    while (part.number >= taken + data.lookahead) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  }
  post({ type: 'done' });
} catch (err) {
  post({
    type: 'error',
    kind:
      err instanceof ContentError
        ? 'content'
        : err instanceof LocalFileError
          ? 'local'
          : 'other',
    path:
      err instanceof ContentError || err instanceof LocalFileError
        ? err.path
        : '',
    message: err instanceof Error ? err.message : String(err),
  });
}
// The thread stays until the main thread terminates it, so that nothing
// posted above can be overtaken by the thread's exit.
