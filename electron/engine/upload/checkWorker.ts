/**
 * The checker thread of uploads (started by partChecks.ts): it runs every
 * content check of the process, each as a job of its own.
 *
 * A job reads an object's files through the FASTQ gzip checker and reports
 * each part's digest as soon as the part's bytes went through, then 'done'
 * once every file passed, or 'error' with the first problem. Decompressing
 * and checking the records here keeps that work (and its garbage) off the
 * main thread, which only moves bytes. One thread for all jobs keeps the
 * memory of one JavaScript heap; the decompression itself runs on libuv's
 * thread pool, in parallel across jobs.
 *
 * Flow control: after posting part n a job waits until the main thread has
 * taken part n - lookahead + 1, so reading never runs far ahead of sending.
 */
import { parentPort } from 'node:worker_threads';

import { CancelledError } from '../errors.ts';
import { createFastqGzipChecker } from '../scan/fastq.ts';
import {
  ContentError,
  LocalFileError,
  checkedPartDigests,
} from './checkedRead.ts';
import type {
  CheckJob,
  FromCheckWorker,
  ToCheckWorker,
} from './partChecks.ts';

const port = parentPort;
if (port === null) {
  throw new Error('checkWorker.ts must run as a worker thread');
}
const post = (message: FromCheckWorker): void => port.postMessage(message);

interface RunningJob {
  controller: AbortController;
  taken: number;
  wake: (() => void) | null;
}

const jobs = new Map<number, RunningJob>();

port.on('message', (message: ToCheckWorker) => {
  switch (message.type) {
    case 'start': {
      const job: RunningJob = {
        controller: new AbortController(),
        taken: 0,
        wake: null,
      };
      jobs.set(message.job.id, job);
      void run(message.job, job);
      return;
    }
    case 'taken': {
      const job = jobs.get(message.id);
      if (job) {
        job.taken = Math.max(job.taken, message.number);
        wakeUp(job);
      }
      return;
    }
    case 'cancel': {
      const job = jobs.get(message.id);
      if (job) {
        job.controller.abort();
        wakeUp(job);
      }
      return;
    }
  }
});

function wakeUp(job: RunningJob): void {
  const wake = job.wake;
  job.wake = null;
  wake?.();
}

async function run(spec: CheckJob, job: RunningJob): Promise<void> {
  const { id } = spec;
  const signal = job.controller.signal;
  try {
    for await (const part of checkedPartDigests(
      spec.files,
      spec.partSize,
      spec.algorithm,
      createFastqGzipChecker,
      signal,
    )) {
      post({ type: 'part', id, ...part });
      while (part.number >= job.taken + spec.lookahead && !signal.aborted) {
        await new Promise<void>((resolve) => {
          job.wake = resolve;
        });
      }
    }
    post({ type: 'done', id });
  } catch (err) {
    if (signal.aborted || err instanceof CancelledError) {
      post({ type: 'cancelled', id });
    } else {
      post({
        type: 'error',
        id,
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
  } finally {
    jobs.delete(id);
  }
}

post({ type: 'ready' });
