/**
 * A child process for crash tests (used only by tests): runs one upload job
 * in an Engine until it is killed. argv[2] is JSON:
 * `{ dataDir, apiUrl, apiKey, s3Endpoint, partSize, partConcurrency, plan }`.
 * Prints the job id on stdout once the job is queued.
 */
import { GencoveClient } from '../api/client.ts';
import { Engine } from '../engine.ts';
import type { UploadPlan } from '../../../shared/domain.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as {
  dataDir: string;
  apiUrl: string;
  apiKey: string;
  s3Endpoint: string;
  partSize: number;
  partConcurrency: number;
  plan: UploadPlan;
};

const client = new GencoveClient({
  host: args.apiUrl,
  auth: { kind: 'api-key', apiKey: args.apiKey },
});
const engine = new Engine({
  dataDir: args.dataDir,
  client,
  s3Endpoint: args.s3Endpoint,
  partSize: args.partSize,
  partConcurrency: args.partConcurrency,
});
const id = engine.enqueueUpload(args.plan);
process.stdout.write(`${id}\n`);
await engine.whenIdle();
await engine.close();
