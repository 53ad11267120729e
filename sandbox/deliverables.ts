/**
 * Synthetic deliverables of the sandbox pipeline: small text files that stand
 * in for BAM, VCF, index and analysis outputs. Each is deterministic (the
 * same sample and input give the same bytes) and its first line says it is
 * synthetic sandbox output.
 */
import { createHash } from 'node:crypto';

import type { Configuration } from './catalog.ts';
import type { SampleQcResult } from './qc.ts';

/** The sentence every synthetic file starts with. */
export const SYNTHETIC_NOTE =
  'Synthetic sandbox output from the gencove-desktop sandbox: not real analysis results.';

/** What a synthetic file is made from. */
export interface DeliverableInput {
  sampleId: string;
  clientId: string;
  configuration: Configuration;
  qc: SampleQcResult;
}

/** A deterministic stream of numbers in [0, 1) seeded by text. */
function numbers(seed: string): () => number {
  let counter = 0;
  let pool = Buffer.alloc(0);
  let offset = 0;
  return () => {
    if (offset + 4 > pool.length) {
      pool = createHash('sha256').update(`${seed}:${counter}`).digest();
      counter += 1;
      offset = 0;
    }
    const value = pool.readUInt32BE(offset) / 0x1_0000_0000;
    offset += 4;
    return value;
  };
}

function proportions(
  names: string[],
  next: () => number,
): Record<string, number> {
  const raw = names.map(() => next() ** 2 + 0.01);
  const total = raw.reduce((a, b) => a + b, 0);
  const out: Record<string, number> = {};
  let assigned = 0;
  names.forEach((name, i) => {
    const value =
      i === names.length - 1
        ? Math.round((1 - assigned) * 10_000) / 10_000
        : Math.round((raw[i] / total) * 10_000) / 10_000;
    assigned += value;
    out[name] = value;
  });
  return out;
}

/** JSON whose first line carries the synthetic note (still valid JSON). */
function noteJson(rest: Record<string, unknown>): string {
  const body = JSON.stringify(rest, null, 2);
  return `{"note": ${JSON.stringify(SYNTHETIC_NOTE)},\n${body.slice(2)}\n`;
}

const ANALYSIS_LABELS: Record<string, string[]> = {
  human: ['AFR', 'AMR', 'EAS', 'EUR', 'SAS'],
  dog: [
    'Labrador Retriever',
    'German Shepherd Dog',
    'Golden Retriever',
    'Beagle',
    'Border Collie',
  ],
  cow: ['Holstein', 'Angus', 'Hereford', 'Jersey', 'Simmental'],
  maize: ['B73', 'Mo17', 'W22', 'Oh43'],
  rat: ['BN', 'F344', 'SHR', 'WKY'],
};

function summary(input: DeliverableInput): string[] {
  const r1 = input.qc.r1.stats;
  const r2 = input.qc.r2?.stats;
  const reads = r1.reads + (r2?.reads ?? 0);
  const bases = r1.bases + (r2?.bases ?? 0);
  return [
    `sample_id=${input.sampleId}`,
    `client_id=${input.clientId}`,
    `configuration=${input.configuration.title}`,
    `reference=${input.configuration.reference}`,
    `imputation_panel=${input.configuration.panel}`,
    `input_reads=${reads}`,
    `input_bases=${bases}`,
  ];
}

/**
 * syntheticContent returns the bytes of deliverable `fileType` for `input`.
 * It throws for a file type the sandbox does not synthesise.
 */
export function syntheticContent(
  fileType: string,
  input: DeliverableInput,
): Buffer {
  const next = numbers(`${input.sampleId}:${fileType}`);
  const c = input.configuration;
  switch (fileType) {
    case 'alignment-bam':
      return Buffer.from(
        [
          `# ${SYNTHETIC_NOTE} Stands in for an aligned BAM file.`,
          ...summary(input).map((l) => `# ${l}`),
          '',
        ].join('\n'),
      );
    case 'alignment-bai':
      return Buffer.from(
        `# ${SYNTHETIC_NOTE} Stands in for the index of ${input.sampleId}.bam.\n`,
      );
    case 'impute-vcf': {
      const lines = [
        `##gencove_sandbox=${SYNTHETIC_NOTE}`,
        '##fileformat=VCFv4.2',
        `##reference=${c.reference}`,
        `##imputation_panel=${c.panel}`,
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DS,Number=1,Type=Float,Description="Alternate allele dosage">',
        `#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t${input.sampleId}`,
      ];
      const bases = ['A', 'C', 'G', 'T'];
      let position = 10_000;
      for (let i = 0; i < 8; i += 1) {
        position += 1 + Math.floor(next() * 50_000);
        const ref = bases[Math.floor(next() * 4)];
        const alt = bases.filter((b) => b !== ref)[Math.floor(next() * 3)];
        const dosage = Math.round(next() * 200) / 100;
        const gt = dosage < 0.5 ? '0|0' : dosage < 1.5 ? '0|1' : '1|1';
        lines.push(
          `1\t${position}\t.\t${ref}\t${alt}\t.\tPASS\t.\tGT:DS\t${gt}:${dosage}`,
        );
      }
      return Buffer.from(`${lines.join('\n')}\n`);
    }
    case 'impute-tbi':
      return Buffer.from(
        `# ${SYNTHETIC_NOTE} Stands in for the tabix index of ${input.sampleId}_impute.vcf.gz.\n`,
      );
    case 'ancestry-json': {
      const labels = ANALYSIS_LABELS[c.species] ?? [
        'group-1',
        'group-2',
        'group-3',
      ];
      const kind =
        c.extra === 'breed'
          ? 'breeds'
          : c.extra === 'strain'
            ? 'strains'
            : 'populations';
      return Buffer.from(
        noteJson({
          sample_id: input.sampleId,
          client_id: input.clientId,
          configuration: c.title,
          [kind]: proportions(labels, next),
        }),
      );
    }
    case 'traits-json':
      return Buffer.from(
        noteJson({
          sample_id: input.sampleId,
          client_id: input.clientId,
          configuration: c.title,
          polygenic_scores: [
            'Coronary artery disease',
            'Breast cancer',
            'Prostate cancer',
          ].map((trait) => ({
            trait,
            percentile: Math.floor(next() * 100),
          })),
        }),
      );
    default:
      throw new Error(`the sandbox does not synthesise file type ${fileType}`);
  }
}
