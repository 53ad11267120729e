/** `gencove-desktop upload <source> [destination]`. */
import fs from 'node:fs';
import path from 'node:path';

import { Engine } from '../engine/engine.ts';
import { ValidationError } from '../engine/errors.ts';
import { formatPlan } from '../engine/scan/plan.ts';
import { connect, engineDir } from './context.ts';
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
    throw new ValidationError(`Source ${resolved} does not exist`);
  }
  if (destination !== undefined && !destination.startsWith('gncv://')) {
    throw new ValidationError(
      `Destination "${destination}" must start with gncv:// (for example gncv://my-batch/)`,
    );
  }
  let projectId: string | undefined;
  if (opts.runProjectId !== undefined) {
    if (!UUID.test(opts.runProjectId)) {
      throw new ValidationError(
        `--run-project-id "${opts.runProjectId}" is not a project UUID`,
      );
    }
    projectId = opts.runProjectId.toLowerCase();
  }
  let metadata: unknown = null;
  if (opts.metadata !== undefined) {
    if (!projectId) {
      throw new ValidationError('--metadata needs --run-project-id');
    }
    try {
      metadata = JSON.parse(opts.metadata);
    } catch (err) {
      throw new ValidationError(
        `--metadata is not valid JSON: ${(err as Error).message}`,
      );
    }
  }
  return { source: resolved, metadata, projectId };
}

export async function uploadCommand(
  source: string,
  destination: string | undefined,
  opts: UploadOptions,
): Promise<void> {
  const args = checkUploadArguments(source, destination, opts);
  const { client, host } = await connect(opts);
  const engine = new Engine({ dataDir: engineDir(opts, host), client });
  try {
    const plan = await engine.plan([args.source], {
      destination,
      includeUndetermined: opts.includeUndetermined,
      verifyContents: opts.verify !== false,
    });
    if (!opts.json) process.stdout.write(formatPlan(plan) + '\n');
    const included = plan.samples.filter((s) => s.included);
    if (opts.dryRun) {
      if (opts.json) process.stdout.write(JSON.stringify({ plan }, null, 2) + '\n');
      return;
    }
    if (included.length === 0) {
      if (opts.json) process.stdout.write(JSON.stringify({ plan }, null, 2) + '\n');
      throw new ValidationError(
        `Nothing to upload from ${args.source}: no sample without errors was found`,
      );
    }
    if (!opts.json) {
      process.stdout.write(
        `Uploading ${included.length} sample(s), ${formatBytes(plan.totalBytes)} to ${plan.destination}\n`,
      );
    }
    const jobId = engine.enqueueUpload(plan, {
      projectId: args.projectId,
      metadata: args.metadata,
    });
    const final = await followJob(engine, jobId, { quiet: opts.json });
    if (opts.json) {
      process.stdout.write(JSON.stringify({ plan, result: final }, null, 2) + '\n');
    } else {
      printUploadSummary(final);
    }
    process.exitCode = exitCodeFor(final);
  } finally {
    await engine.close();
  }
}

function printUploadSummary(
  final: Awaited<ReturnType<typeof followJob>>,
): void {
  const failed = final.files.filter((f) => f.state === 'failed');
  const skipped = final.files.filter((f) => f.state === 'skipped');
  const lines = [
    `Upload ${final.state}: ${final.files.length - failed.length - skipped.length} uploaded, ${skipped.length} already there, ${failed.length} failed`,
  ];
  for (const f of failed) lines.push(`  failed: ${f.name}: ${f.error ?? 'unknown error'}`);
  if (final.error) lines.push(`  ${final.error.message}`);
  for (const a of final.assigned ?? []) {
    lines.push(`  assigned ${a.clientId} as sample ${a.sampleId}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
