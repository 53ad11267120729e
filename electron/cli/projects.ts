/** `gencove-desktop projects` and `gencove-desktop samples <project-id>`. */
import { connect } from './context.ts';
import type { GlobalOptions } from './context.ts';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => (r[i] ?? '').length)),
  );
  return rows
    .map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd())
    .join('\n');
}

export async function projectsCommand(
  opts: GlobalOptions & { search?: string },
): Promise<void> {
  const { client } = await connect(opts);
  const projects = await client.listProjects({ search: opts.search });
  const capabilityIds = [
    ...new Set(projects.map((p) => p.pipeline_capabilities).filter(Boolean)),
  ] as string[];
  const capabilities = capabilityIds.length
    ? await client.getPipelineCapabilities(capabilityIds)
    : [];
  const names = new Map(capabilities.map((c) => [c.id, c.name]));
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        projects.map((p) => ({
          ...p,
          configuration: names.get(p.pipeline_capabilities ?? '') ?? null,
        })),
        null,
        2,
      ) + '\n',
    );
    return;
  }
  if (projects.length === 0) {
    process.stdout.write('No projects.\n');
    return;
  }
  const rows = [['ID', 'NAME', 'CONFIGURATION', 'SAMPLES', 'CREATED']];
  for (const p of projects) {
    rows.push([
      p.id,
      p.name,
      names.get(p.pipeline_capabilities ?? '') ?? '-',
      String(p.sample_count ?? 0),
      String(p.created ?? '').slice(0, 10),
    ]);
  }
  process.stdout.write(table(rows) + '\n');
}

export async function samplesCommand(
  projectId: string,
  opts: GlobalOptions & { status?: string },
): Promise<void> {
  const { client } = await connect(opts);
  const samples = await client.listProjectSamples(projectId, {
    status: opts.status as 'all',
  });
  const qcFailed = (s: (typeof samples)[number]) =>
    s.last_status?.status === 'failed qc';
  if (opts.json) {
    process.stdout.write(JSON.stringify(samples, null, 2) + '\n');
    return;
  }
  if (samples.length === 0) {
    process.stdout.write('No samples.\n');
    return;
  }
  const rows = [['GENCOVE ID', 'CLIENT ID', 'STATUS', 'QC', 'ARCHIVE', 'MODIFIED']];
  for (const s of samples) {
    const status = s.last_status?.status ?? 'unknown';
    const terminal = status === 'succeeded' || status.startsWith('failed');
    rows.push([
      s.id,
      s.client_id ?? '',
      status,
      terminal ? (qcFailed(s) ? 'failed' : 'passed') : '-',
      s.archive_last_status?.status ?? 'unknown',
      String(s.modified ?? '').replace('T', ' ').slice(0, 19),
    ]);
  }
  process.stdout.write(table(rows) + '\n');
}
