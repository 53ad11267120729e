/** `gencove-desktop upload <source> [destination]`. */
import fs from 'node:fs';
import path from 'node:path';

import { Engine } from '../engine/engine.ts';
import { ValidationError } from '../engine/errors.ts';
import { formatPlan, normaliseDestination } from '../engine/scan/plan.ts';
import { plannedObjects } from '../engine/upload/job.ts';
import type { UploadPlan } from '../../shared/domain.ts';
import { connect, engineDir, UsageError } from './context.ts';
import type { GlobalOptions } from './context.ts';
import { formatBytes } from './output.ts';
import { exitCodeFor, followJob } from './run.ts';

interface UploadOptions extends GlobalOptions {
  runProjectId?: string;
  metadata?: string;
  includeUndetermined?: boolean;
  verify?: boolean;
  dryRun?: boolean;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * checkUploadArguments rejects bad input before anything is read or sent:
 * a missing source, a destination that is not gncv://, a project id that is
 * not a UUID, metadata that is not JSON.
 */
export function checkUploadArguments(
  source: string,
  destination: string | undefined,
  opts: UploadOptions,
): { source: string; metadata: unknown; projectId?: string } {
  const resolved = path.resolve(source);
  if (!fs.existsSync(resolved)) {
    throw new UsageError(`Source ${resolved} does not exist`);
  }
  if (destination !== undefined) {
    try {
      normaliseDestination(destination);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  let projectId: string | undefined;
  if (opts.runProjectId !== undefined) {
    if (!UUID.test(opts.runProjectId)) {
      throw new UsageError(
        `--run-project-id "${opts.runProjectId}" is not a project UUID`,
      );
    }
    projectId = opts.runProjectId.toLowerCase();
  }
  let metadata: unknown = null;
  if (opts.metadata !== undefined) {
    if (!projectId) {
      throw new UsageError('--metadata needs --run-project-id');
    }
    try {
      metadata = JSON.parse(opts.metadata);
    } catch (err) {
      throw new UsageError(
        `--metadata is not valid JSON: ${(err as Error).message}`,
      );
    }
  }
  return { source: resolved, metadata, projectId };
}

/**
 * The fingerprint of what a plan uploads: every object's destination with
 * its source files and sizes. Two plans with the same fingerprint send the
 * same bytes to the same places.
 */
function planFingerprint(plan: UploadPlan): string {
  return plannedObjects(plan)
    .map(
      (o) =>
        `${o.read.destination}<${o.read.files.map((f) => `${f.path}:${f.size}`).join(',')}`,
    )
    .sort()
    .join('\n');
}

interface UploadJobRequest {
  plan: UploadPlan;
  projectId?: string;
}

/**
 * findUnfinishedUpload returns the newest upload job of the journal that was
 * interrupted (Ctrl-C, a crash, a failure) for the same source, project and
 * (when given) destination: running the same command again takes it up.
 */
function findUnfinishedUpload(
  engine: Engine,
  source: string,
  destination: string | undefined,
  projectId: string | undefined,
): { id: string; request: UploadJobRequest } | null {
  const wanted = destination === undefined ? undefined : normaliseDestination(destination);
  const jobs = engine.journal
    .listJobs(['queued', 'running', 'retrying', 'paused', 'cancelled', 'failed'])
    .filter((job) => job.kind === 'upload');
  for (const job of jobs.reverse()) {
    const request = job.request as UploadJobRequest;
    const roots = request.plan?.roots ?? [];
    if (roots.length !== 1 || roots[0] !== source) continue;
    if ((request.projectId ?? undefined) !== projectId) continue;
    if (wanted !== undefined && request.plan.destination !== wanted) continue;
    return { id: job.id, request };
  }
  return null;
}

export async function uploadCommand(
  source: string,
  destination: string | undefined,
  opts: UploadOptions,
): Promise<void> {
  const args = checkUploadArguments(source, destination, opts);
  const { client, host } = await connect(opts);
  if (args.projectId) {
    // A project that does not exist is said now, before any byte moves.
    await client.getProject(args.projectId);
  }
  const engine = new Engine({ dataDir: engineDir(opts, host), client });
  try {
    const previous = findUnfinishedUpload(
      engine,
      args.source,
      destination,
      args.projectId,
    );
    const planStarted = performance.now();
    const plan = await engine.plan([args.source], {
      destination: destination ?? previous?.request.plan.destination,
      includeUndetermined: opts.includeUndetermined,
      verifyContents: opts.verify !== false,
    });
    const planSeconds = (performance.now() - planStarted) / 1000;
    if (!opts.json) process.stdout.write(formatPlan(plan) + '\n');
    const included = plan.samples.filter((s) => s.included);
    const left = plan.samples.length - included.length;
    // Errors no sample carries (a folder that cannot be read, say) leave
    // files out too: the run is incomplete as when a sample is left out.
    const strays = plan.problems.filter(
      (p) => p.severity === 'error' && p.clientId === undefined,
    ).length;
    const isIncomplete = left > 0 || strays > 0;
    if (opts.dryRun) {
      if (opts.json) process.stdout.write(JSON.stringify({ plan }, null, 2) + '\n');
      process.exitCode = included.length === 0 || isIncomplete ? 1 : 0;
      return;
    }
    if (included.length === 0) {
      if (opts.json) process.stdout.write(JSON.stringify({ plan }, null, 2) + '\n');
      throw new ValidationError(
        `Nothing to upload from ${args.source}: no sample without errors was found`,
      );
    }
    let jobId: string;
    if (previous && planFingerprint(previous.request.plan) === planFingerprint(plan)) {
      jobId = previous.id;
      engine.resumeJob(jobId);
      if (!opts.json) {
        process.stdout.write(
          `Resuming the interrupted upload to ${plan.destination}: finished parts are not sent again.\n`,
        );
      }
    } else {
      if (!opts.json) {
        process.stdout.write(
          `Uploading ${included.length} sample(s), ${formatBytes(plan.totalBytes)} to ${plan.destination}\n`,
        );
      }
      jobId = engine.enqueueUpload(plan, {
        projectId: args.projectId,
        metadata: args.metadata,
      });
    }
    const final = await followJob(engine, jobId, { quiet: opts.json });
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({ plan, planSeconds, result: final }, null, 2) + '\n',
      );
    } else {
      printUploadSummary(final, left, strays);
    }
    const code = exitCodeFor(final);
    // Samples left out for errors make the run incomplete: say so in the code.
    process.exitCode = code === 0 && isIncomplete ? 1 : code;
  } finally {
    await engine.close();
  }
}

function printUploadSummary(
  final: Awaited<ReturnType<typeof followJob>>,
  leftOut: number,
  strays: number,
): void {
  const count = (state: string) => final.files.filter((f) => f.state === state).length;
  const lines = [
    `Upload ${final.state}: ${count('done')} uploaded, ${count('skipped')} already there, ${count('failed')} failed` +
      (count('cancelled') + count('queued') > 0
        ? `, ${count('cancelled') + count('queued')} not finished (run the same command again to resume)`
        : ''),
  ];
  for (const f of final.files) {
    if (f.state === 'failed') lines.push(`  failed: ${f.name}: ${f.error ?? 'unknown error'}`);
  }
  if (final.error && final.state !== 'cancelled') lines.push(`  ${final.error.message}`);
  for (const a of final.assigned ?? []) {
    lines.push(`  assigned ${a.clientId} as sample ${a.sampleId}`);
  }
  if (leftOut > 0) {
    lines.push(`  ${leftOut} sample(s) left out because of the problems listed in the plan`);
  }
  if (strays > 0) {
    lines.push(
      `  ${strays} file(s) or folder(s) left out because of the errors listed in the plan`,
    );
  }
  const out = final.state === 'done' ? process.stdout : process.stderr;
  out.write(lines.join('\n') + '\n');
}
