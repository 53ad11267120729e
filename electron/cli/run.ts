/**
 * Running one engine job from the command line: progress on stderr, Ctrl-C
 * cancels the job (the journal keeps what was done, so running the same
 * command again resumes), and the final snapshot decides the exit code.
 */
import type { TransferSnapshot } from '../../shared/domain.ts';
import type { Engine } from '../engine/engine.ts';
import { ProgressPrinter } from './output.ts';

export async function followJob(
  engine: Engine,
  jobId: string,
  opts: { quiet?: boolean },
): Promise<TransferSnapshot> {
  const printer = opts.quiet ? null : new ProgressPrinter();
  const unsubscribe = engine.onDidChange((snaps) => {
    const snap = snaps.find((s) => s.id === jobId);
    if (snap && printer) printer.update(snap);
  });
  const onSignal = () => {
    process.stderr.write('\nCancelling: finished parts are kept for a later resume.\n');
    engine.cancel(jobId);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const final = await engine.waitFor(jobId);
    printer?.finish(final);
    return final;
  } finally {
    unsubscribe();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Exit code for a finished job: 0 done, 130 cancelled, 1 otherwise. */
export function exitCodeFor(snap: TransferSnapshot): number {
  if (snap.state === 'done') return 0;
  if (snap.state === 'cancelled') return 130;
  return 1;
}
