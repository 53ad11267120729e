/**
 * The sandbox analysis pipeline. Assigned samples move through the platform's
 * statuses on a clock of `pipelineStepMs` per step:
 *
 *   created --step--> running --step, then real QC--> succeeded | failed qc
 *
 * The state lives in the database (`samples.status`, `samples.next_step_at`),
 * so a restart continues where the previous run stopped; a QC interrupted by
 * a shutdown runs again. QC of at most `MAX_PARALLEL_QC` samples runs at a
 * time. Finished samples are announced to `onSampleFinished` listeners (the
 * hook later features such as webhooks attach to).
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { analysisDeliverables, type Configuration } from './catalog.ts';
import type { SandboxContext } from './context.ts';
import { transaction } from './db.ts';
import { syntheticContent } from './deliverables.ts';
import { runSampleQc, type SampleQcResult } from './qc.ts';
import {
  projectConfiguration,
  sampleDirectory,
  sampleFiles,
  storagePath,
  type FileRow,
  type ProjectRow,
  type SampleRow,
} from './records.ts';
import { errorText, newId, timestamp } from './util.ts';

/** How many samples may be in QC at once (the machines have 2 cores). */
export const MAX_PARALLEL_QC = 2;

/** What listeners learn when a sample reaches a terminal status. */
export interface SampleFinished {
  sampleId: string;
  projectId: string;
  clientId: string;
  status: 'succeeded' | 'failed qc';
}

/** Pipeline drives samples from `created` to a terminal status. */
export class Pipeline {
  private readonly ctx: SandboxContext;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(event: SampleFinished) => void>();
  private closed = false;

  constructor(ctx: SandboxContext) {
    this.ctx = ctx;
  }

  /**
   * onSampleFinished registers a listener; the returned function removes it.
   */
  onSampleFinished(listener: (event: SampleFinished) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** wake re-reads the schedule (after assignments, deletions, restarts). */
  wake(): void {
    if (this.closed) {
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const pending = [...this.inFlight.keys()];
    // At capacity only `created` samples can move; a finishing QC wakes the
    // clock again, so due `running` samples are not polled in a busy loop.
    const atCapacity = this.inFlight.size >= MAX_PARALLEL_QC ? 1 : 0;
    const row = this.ctx.db
      .prepare(
        `SELECT MIN(next_step_at) AS due FROM samples
         WHERE next_step_at IS NOT NULL AND deleted = 0
           AND (? = 0 OR status = 'created')
           AND id NOT IN (SELECT value FROM json_each(?))`,
      )
      .get(atCapacity, JSON.stringify(pending)) as { due: number | null };
    if (row.due === null) {
      return;
    }
    const delay = Math.max(0, row.due - this.ctx.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.step();
    }, delay);
  }

  /**
   * whenIdle resolves when no sample is due and no QC is running. It is for
   * tests and shutdown code; it does not wait for samples due in the future.
   */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  /** close stops the clock, aborts running QC and waits for it to stop. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.abort.abort();
    await this.whenIdle();
  }

  private step(): void {
    if (this.closed) {
      return;
    }
    const now = this.ctx.now();
    const due = this.ctx.db
      .prepare(
        `SELECT * FROM samples WHERE next_step_at IS NOT NULL AND next_step_at <= ? AND deleted = 0
         ORDER BY next_step_at, id`,
      )
      .all(now) as unknown as SampleRow[];
    for (const sample of due) {
      if (this.inFlight.has(sample.id)) {
        continue;
      }
      if (sample.status === 'created') {
        this.setStatus(
          sample,
          'running',
          'Quality control and analysis are running.',
          now + this.ctx.pipelineStepMs,
        );
        continue;
      }
      if (this.inFlight.size >= MAX_PARALLEL_QC) {
        continue;
      }
      const job = this.finish(sample)
        .catch((error: unknown) => {
          if (!this.abort.signal.aborted) {
            this.ctx.log(`pipeline: sample ${sample.id}: ${errorText(error)}`);
          }
        })
        .finally(() => {
          this.inFlight.delete(sample.id);
          this.wake();
        });
      this.inFlight.set(sample.id, job);
    }
    this.wake();
  }

  private setStatus(
    sample: SampleRow,
    status: string,
    note: string,
    nextStepAt: number | null,
    failedQc?: string[],
  ): void {
    const stamp = timestamp(this.ctx.now());
    const statusId = newId();
    transaction(this.ctx.db, () => {
      this.ctx.db
        .prepare(
          `UPDATE samples SET status = ?, status_id = ?, status_note = ?, status_created = ?, next_step_at = ?,
             failed_qc = COALESCE(?, failed_qc), modified = ? WHERE id = ?`,
        )
        .run(
          status,
          statusId,
          note,
          stamp,
          nextStepAt,
          failedQc ? JSON.stringify(failedQc) : null,
          stamp,
          sample.id,
        );
      this.ctx.db
        .prepare(
          'INSERT INTO sample_statuses (id, sample_id, status, note, created) VALUES (?, ?, ?, ?, ?)',
        )
        .run(statusId, sample.id, status, note, stamp);
      this.ctx.db
        .prepare('UPDATE projects SET modified = ? WHERE id = ?')
        .run(stamp, sample.project_id);
    });
  }

  /** finish runs QC for a `running` sample whose step time has passed. */
  private async finish(sample: SampleRow): Promise<void> {
    const ctx = this.ctx;
    const files = sampleFiles(ctx, sample.id);
    const locate = (type: string): string | null => {
      const f = files.find((x) => x.file_type === type);
      return f?.storage_path
        ? path.join(ctx.dataDir, ...f.storage_path.split('/'))
        : null;
    };
    const r1 = locate('fastq-r1');
    if (!r1) {
      throw new Error('sample has no R1 file');
    }
    const qc = await runSampleQc(
      { r1, r2: locate('fastq-r2') },
      { signal: this.abort.signal },
    );
    const project = ctx.db
      .prepare('SELECT * FROM projects WHERE id = ?')
      .get(sample.project_id) as ProjectRow | undefined;
    if (!project) {
      throw new Error(`project ${sample.project_id} of the sample is gone`);
    }
    const config = projectConfiguration(ctx, project);
    const produced = qc.passed
      ? await this.writeDeliverables(sample, config, qc, files)
      : [];

    const current = ctx.db
      .prepare('SELECT deleted FROM samples WHERE id = ?')
      .get(sample.id) as { deleted: number };
    if (current.deleted === 1) {
      // Deleted while its QC ran: drop what this run wrote.
      await rm(sampleDirectory(ctx, sample.id), {
        recursive: true,
        force: true,
      });
      return;
    }
    if (this.abort.signal.aborted) {
      return;
    }
    const stamp = timestamp(ctx.now());
    transaction(ctx.db, () => {
      ctx.db
        .prepare('DELETE FROM quality_controls WHERE sample_id = ?')
        .run(sample.id);
      qc.metrics.forEach((metric, position) => {
        ctx.db
          .prepare(
            'INSERT INTO quality_controls (sample_id, position, data) VALUES (?, ?, ?)',
          )
          .run(sample.id, position, JSON.stringify(metric));
      });
      for (const [type, report] of [
        ['fastq-r1', qc.r1],
        ['fastq-r2', qc.r2],
      ] as const) {
        if (report) {
          ctx.db
            .prepare(
              'UPDATE files SET checksum_sha256 = ?, size = ? WHERE sample_id = ? AND file_type = ?',
            )
            .run(report.stats.sha256, report.stats.fileBytes, sample.id, type);
        }
      }
      ctx.db
        .prepare(
          "DELETE FROM files WHERE sample_id = ? AND file_type NOT LIKE 'fastq-%'",
        )
        .run(sample.id);
      for (const p of produced) {
        ctx.db
          .prepare(
            `INSERT INTO files (id, sample_id, file_type, file_name, storage_path, s3_path, size, checksum_sha256, position, created)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            newId(),
            sample.id,
            p.fileType,
            p.name,
            p.storagePath,
            p.s3Path,
            p.size,
            p.sha256,
            p.position,
            stamp,
          );
      }
      const failedNote = qc.metrics
        .filter((m) => m.quality_control.status === 'failed')
        .map(
          (m) =>
            `${m.quality_control_type.key}: ${m.quality_control.value_string}`,
        )
        .join('; ');
      this.setStatus(
        sample,
        qc.passed ? 'succeeded' : 'failed qc',
        qc.passed ? '' : `QC failed (${failedNote})`.slice(0, 1000),
        null,
        qc.passed ? undefined : qc.failedChecks,
      );
    });
    ctx.log(
      `pipeline: sample ${sample.id} (${sample.client_id}) ${qc.passed ? 'succeeded' : `failed qc: ${qc.failedChecks.join(', ')}`}`,
    );
    const event: SampleFinished = {
      sampleId: sample.id,
      projectId: sample.project_id,
      clientId: sample.client_id,
      status: qc.passed ? 'succeeded' : 'failed qc',
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        ctx.log(
          `pipeline: a sample-finished listener failed: ${errorText(error)}`,
        );
      }
    }
  }

  private async writeDeliverables(
    sample: SampleRow,
    config: Configuration,
    qc: SampleQcResult,
    files: FileRow[],
  ): Promise<
    {
      fileType: string;
      name: string;
      storagePath: string;
      s3Path: string;
      size: number;
      sha256: string;
      position: number;
    }[]
  > {
    const ctx = this.ctx;
    const dir = sampleDirectory(ctx, sample.id);
    await mkdir(dir, { recursive: true });
    const org = ctx.db
      .prepare('SELECT organization_id FROM projects WHERE id = ?')
      .get(sample.project_id) as { organization_id: string };
    const out = [];
    let position = files.length;
    for (const d of analysisDeliverables(config)) {
      const name = `${sample.id}${d.suffix}`;
      const content = syntheticContent(d.fileType, {
        sampleId: sample.id,
        clientId: sample.client_id,
        configuration: config,
        qc,
      });
      const target = path.join(dir, name);
      const temp = `${target}.${process.pid}.tmp`;
      await writeFile(temp, content);
      await rename(temp, target);
      out.push({
        fileType: d.fileType,
        name,
        storagePath: storagePath(ctx, target),
        s3Path: `organization/${org.organization_id}/samples/${sample.id}/${name}`,
        size: content.length,
        sha256: createHash('sha256').update(content).digest('hex'),
        position,
      });
      position += 1;
    }
    return out;
  }
}
