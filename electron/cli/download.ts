/** `gencove-desktop download <destination>`. */
import path from 'node:path';

import { DEFAULT_DOWNLOAD_TEMPLATE } from '../../shared/domain.ts';
import type { DownloadRequest } from '../../shared/domain.ts';
import { Engine } from '../engine/engine.ts';
import { ValidationError } from '../engine/errors.ts';
import { connect, engineDir, UsageError } from './context.ts';
import type { GlobalOptions } from './context.ts';
import { exitCodeFor, followJob } from './run.ts';

interface DownloadOptions extends GlobalOptions {
  projectId?: string;
  sampleIds?: string;
  fileTypes?: string;
  downloadTemplate?: string;
  skipExisting?: boolean;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** checkDownloadArguments turns the options into a request or says what is wrong. */
export function checkDownloadArguments(
  destination: string,
  opts: DownloadOptions,
): DownloadRequest {
  if (Boolean(opts.projectId) === Boolean(opts.sampleIds)) {
    throw new UsageError('Give exactly one of --project-id and --sample-ids');
  }
  if (opts.projectId && !UUID.test(opts.projectId)) {
    throw new UsageError(`--project-id "${opts.projectId}" is not a project UUID`);
  }
  const sampleIds = splitList(opts.sampleIds);
  for (const id of sampleIds ?? []) {
    if (!UUID.test(id)) throw new UsageError(`--sample-ids: "${id}" is not a sample UUID`);
  }
  if (sampleIds && sampleIds.length === 0) {
    throw new UsageError('--sample-ids is empty');
  }
  return {
    destination: path.resolve(destination),
    projectId: opts.projectId?.toLowerCase(),
    sampleIds: sampleIds?.map((s) => s.toLowerCase()),
    fileTypes: splitList(opts.fileTypes),
    template: opts.downloadTemplate ?? DEFAULT_DOWNLOAD_TEMPLATE,
    skipExisting: opts.skipExisting !== false,
  };
}

export async function downloadCommand(
  destination: string,
  opts: DownloadOptions,
): Promise<void> {
  const request = checkDownloadArguments(destination, opts);
  const { client, host } = await connect(opts);
  const engine = new Engine({ dataDir: engineDir(opts, host), client });
  try {
    const jobId = engine.enqueueDownload(request);
    const final = await followJob(engine, jobId, { quiet: opts.json });
    if (opts.json) {
      process.stdout.write(JSON.stringify(final, null, 2) + '\n');
    } else {
      const count = (state: string) => final.files.filter((f) => f.state === state).length;
      // A job that stopped before its first file (a folder that cannot be
      // written, no room) has nothing to count: its reason is the message.
      const isStoppedBeforeFiles = final.files.length === 0 && final.error;
      const lines = isStoppedBeforeFiles
        ? [`Download ${final.state}: nothing was downloaded into ${request.destination}`]
        : [
            `Download ${final.state}: ${count('done')} downloaded, ${count('skipped')} skipped, ${count('failed')} failed, into ${request.destination}`,
          ];
      for (const f of final.files) {
        if (f.state === 'failed' || (f.state === 'skipped' && f.error)) {
          lines.push(`  ${f.state}: ${f.name}: ${f.error ?? ''}`);
        }
      }
      if (final.error) lines.push(`  ${final.error.message}`);
      const out = final.state === 'done' ? process.stdout : process.stderr;
      out.write(lines.join('\n') + '\n');
    }
    process.exitCode = exitCodeFor(final);
  } finally {
    await engine.close();
  }
}
