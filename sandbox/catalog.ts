/**
 * The public analysis configurations the sandbox offers (DESIGN section 8),
 * the deliverable file types each one produces, and the platform's file-type
 * vocabulary. Pure data: the database stores only which configuration a
 * capability stands for.
 */

/** What a configuration adds beyond FASTQ, BAM and imputed VCF. */
export type ExtraAnalysis = 'ancestry' | 'breed' | 'strain' | null;

/** One public configuration. */
export interface Configuration {
  /** Stable identifier stored in the database, e.g. `human-lowpass-v2`. */
  id: string;
  /** Display name, as DESIGN section 8 names it. */
  title: string;
  species: string;
  reference: string;
  panel: string;
  extra: ExtraAnalysis;
  /** Human low-pass also reports polygenic scores. */
  polygenicScores: boolean;
  category:
    | 'Human Genomics'
    | 'Agriculture Animals & Plant Genomics'
    | 'Companion Animals'
    | 'Other';
  /** Version part of the capability key. */
  version: string;
  /** Configuration part of the capability key. */
  configKey: string;
}

/** The configurations of DESIGN section 8, in its order. */
export const CONFIGURATIONS: readonly Configuration[] = [
  {
    id: 'chicken-lowpass',
    title: 'Chicken low-pass',
    species: 'chicken',
    reference: 'galGal6',
    panel: '26M variants from ENA PRJEB30270',
    extra: null,
    polygenicScores: false,
    category: 'Agriculture Animals & Plant Genomics',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'cattle-lowpass',
    title: 'Cattle low-pass',
    species: 'cow',
    reference: 'ARS-UCD1.2',
    panel: '484 samples, 49M SNPs',
    extra: 'breed',
    polygenicScores: false,
    category: 'Agriculture Animals & Plant Genomics',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'cattle-lowpass-v2',
    title: 'Cattle low-pass v2',
    species: 'cow',
    reference: 'ARS-UCD1.2',
    panel: '946 samples, 70M SNPs',
    extra: 'breed',
    polygenicScores: false,
    category: 'Agriculture Animals & Plant Genomics',
    version: 'v2_0_0',
    configKey: 'lowpass_v2',
  },
  {
    id: 'dog-lowpass',
    title: 'Dog low-pass',
    species: 'dog',
    reference: 'canFam3',
    panel: '435 dogs, 46M sites',
    extra: 'breed',
    polygenicScores: false,
    category: 'Companion Animals',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'dog-lowpass-v2',
    title: 'Dog low-pass v2',
    species: 'dog',
    reference: 'canFam3',
    panel: '676 dogs, 53M sites',
    extra: 'breed',
    polygenicScores: false,
    category: 'Companion Animals',
    version: 'v2_0_0',
    configKey: 'lowpass_v2',
  },
  {
    id: 'human-lowpass',
    title: 'Human low-pass',
    species: 'human',
    reference: 'hs37-1kg',
    panel: '1000 Genomes phase 3, filtered',
    extra: 'ancestry',
    polygenicScores: true,
    category: 'Human Genomics',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'human-lowpass-v2',
    title: 'Human low-pass v2',
    species: 'human',
    reference: 'hs37-1kg',
    panel: '1000 Genomes phase 3, all sites incl. X',
    extra: 'ancestry',
    polygenicScores: true,
    category: 'Human Genomics',
    version: 'v2_0_0',
    configKey: 'lowpass_v2',
  },
  {
    id: 'maize-lowpass',
    title: 'Maize low-pass',
    species: 'maize',
    reference: 'AGPv4',
    panel: 'Maize 282 panel',
    extra: 'strain',
    polygenicScores: false,
    category: 'Agriculture Animals & Plant Genomics',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'mouse-lowpass',
    title: 'Mouse low-pass',
    species: 'mouse',
    reference: 'GRCm38_68',
    panel: 'Mouse Genomes Project, ~59M SNPs, 36 lines',
    extra: null,
    polygenicScores: false,
    category: 'Other',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'rat-lowpass',
    title: 'Rat low-pass',
    species: 'rat',
    reference: 'rn6',
    panel: '42 genomes, 8.7M variants',
    extra: 'strain',
    polygenicScores: false,
    category: 'Other',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'soy-lowpass',
    title: 'Soy low-pass',
    species: 'soy',
    reference: 'Wm82.a2.v1',
    panel: 'GmHapMap, ~11M SNPs',
    extra: null,
    polygenicScores: false,
    category: 'Agriculture Animals & Plant Genomics',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
  {
    id: 'cat-lowpass',
    title: 'Domestic cat low-pass',
    species: 'cat',
    reference: 'felCat9',
    panel: '78 genomes (99 Lives), 49M SNPs and indels',
    extra: null,
    polygenicScores: false,
    category: 'Companion Animals',
    version: 'v1_0_0',
    configKey: 'lowpass',
  },
];

/** Configurations that get a demo project on first start. */
export const DEMO_PROJECT_CONFIGURATIONS = [
  'human-lowpass-v2',
  'dog-lowpass-v2',
  'cattle-lowpass-v2',
  'chicken-lowpass',
];

/** The pipeline version every sandbox capability belongs to. */
export const PIPELINE_VERSION = 'v1.0.0-sandbox';

/** configuration returns the configuration with `id`, or undefined. */
export function configuration(id: string): Configuration | undefined {
  return CONFIGURATIONS.find((c) => c.id === id);
}

/** capabilityName is the display name of a configuration's capability. */
export function capabilityName(c: Configuration): string {
  return `${c.title} ${c.reference} [0.1x-6x]`;
}

/**
 * capabilityKey encodes a configuration as the platform does:
 * `web/<species>/<reference>/<version>/<configuration>`.
 */
export function capabilityKey(c: Configuration): string {
  const reference = c.reference.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return `web/${c.species}/${reference}/${c.version}/${c.configKey}`;
}

/**
 * Project modifications every sandbox capability lists (values are UI
 * defaults).
 */
export const SUPPORTED_MODIFICATIONS = [
  { key: 'disable_qc', value: false },
  { key: 'soft_qc', value: false },
];

/** capabilityDescription is the markdown shown for a capability. */
export function capabilityDescription(c: Configuration): string {
  const extras: string[] = [];
  if (c.extra === 'ancestry') {
    extras.push('ancestry');
  }
  if (c.extra === 'breed') {
    extras.push('breed analysis');
  }
  if (c.extra === 'strain') {
    extras.push('strain analysis');
  }
  if (c.polygenicScores) {
    extras.push('polygenic scores');
  }
  return [
    `**${c.title}** (sandbox): reference ${c.reference}, imputation panel ${c.panel}.`,
    extras.length ? `Extra deliverables: ${extras.join(', ')}.` : '',
    'Sandbox deliverables are synthetic; only the QC measurements are real.',
  ]
    .filter(Boolean)
    .join('\n\n');
}

/** One deliverable type: its key and the suffix of its default file name. */
export interface DeliverableType {
  fileType: string;
  /** Appended to the sample id: `<sample id><suffix>`. */
  suffix: string;
}

const BASE_DELIVERABLES: DeliverableType[] = [
  { fileType: 'alignment-bam', suffix: '.bam' },
  { fileType: 'alignment-bai', suffix: '.bam.bai' },
  { fileType: 'impute-vcf', suffix: '_impute.vcf.gz' },
  { fileType: 'impute-tbi', suffix: '_impute.vcf.gz.tbi' },
];

/** Default file-name suffixes of the FASTQ deliverables. */
export const FASTQ_SUFFIX: Record<'fastq-r1' | 'fastq-r2', string> = {
  'fastq-r1': '_R1.fastq.gz',
  'fastq-r2': '_R2.fastq.gz',
};

/**
 * analysisDeliverables lists what a successful sample of configuration `c`
 * delivers besides its FASTQs, in delivery order.
 */
export function analysisDeliverables(c: Configuration): DeliverableType[] {
  const out = [...BASE_DELIVERABLES];
  if (c.extra) {
    out.push({ fileType: 'ancestry-json', suffix: '_ancestry.json' });
  }
  if (c.polygenicScores) {
    out.push({ fileType: 'traits-json', suffix: '_traits.json' });
  }
  return out;
}

/**
 * sampleFileTypes lists the sample file types of a configuration's projects.
 */
export function sampleFileTypes(c: Configuration): string[] {
  return [
    'fastq-r1',
    'fastq-r2',
    ...analysisDeliverables(c).map((d) => d.fileType),
  ];
}

/** Pseudo file types the CLI builds from the QC and metadata endpoints. */
export const PSEUDO_FILE_TYPES = ['qc', 'metadata'];

/** Every sample file type the sandbox knows (the platform's public list). */
export const ALL_SAMPLE_FILE_TYPES = [
  'alignment-bai',
  'alignment-bam',
  'ancestry-json',
  'cnv-cnr',
  'cnv-cns',
  'cnv-pdf',
  'fastq-r1',
  'fastq-r2',
  'impute-csi',
  'impute-tbi',
  'impute-vcf',
  'kraken-report',
  'traits-json',
  'traits-scores',
];

/** Reference-genome file types (the sandbox has no such files). */
export const REFERENCE_GENOME_FILE_TYPES = [
  'genome-dict',
  'genome-fasta',
  'genome-fasta_amb',
  'genome-fasta_ann',
  'genome-fasta_bwt',
  'genome-fasta_chromosomes',
  'genome-fasta_fai',
  'genome-fasta_gzi',
  'genome-fasta_pac',
  'genome-fasta_sa',
  'genome-fasta_vcf_header',
];
