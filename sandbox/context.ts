/**
 * The shared state every sandbox module works with. One context exists per
 * running sandbox; modules receive it instead of reaching for globals.
 */
import type { DatabaseSync } from 'node:sqlite';

import type { TokenService } from './auth.ts';

/** Bucket of the upload area (path-style S3 on the sandbox's own origin). */
export const UPLOAD_BUCKET = 'gencove-sandbox-uploads';

/** Folder (under the objects folder) that holds deliverable files. */
export const DELIVERABLES_DIR = 'deliverables';

/** Creates a signed download URL for a stored file. */
export interface UrlSigner {
  /** url returns an absolute signed URL for file `fileId` named `fileName`. */
  url(fileId: string, fileName: string): string;
}

/** SandboxContext is what route handlers, the pipeline and S3 glue share. */
export interface SandboxContext {
  db: DatabaseSync;
  tokens: TokenService;
  signer: UrlSigner;
  /** `http://127.0.0.1:<port>`: API, downloads and S3 live on this origin. */
  origin: string;
  dataDir: string;
  /** `<dataDir>/objects`: S3 root and deliverables. */
  objectsDir: string;
  /** Time per pipeline status step, in ms. */
  pipelineStepMs: number;
  credentialTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  now: () => number;
  log: (line: string) => void;
  /**
   * objectFile maps an S3 object to its file on disk (the S3 module's layout).
   */
  objectFile(bucket: string, key: string): string;
  /** Tells the pipeline that samples were assigned or changed. */
  wakePipeline(): void;
}
