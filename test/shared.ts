/**
 * Where the tests find the shared test data and the platform's reference
 * (recorded traffic, OpenAPI): the folder `shared` next to the repository,
 * or the one GENCOVE_SHARED_DIR names (for a clone kept elsewhere). The
 * product itself never reads it.
 */
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '..');

/** The shared folder (data/ and reference/ inside). */
export const SHARED_DIR = path.resolve(
  process.env.GENCOVE_SHARED_DIR || path.join(repoRoot, '..', 'shared'),
);

/** Real FASTQs, run folders, tricky names and corrupt files. */
export const SHARED_DATA = path.join(SHARED_DIR, 'data');

/** The platform's reference: recordings (cassettes/) and OpenAPI. */
export const SHARED_REFERENCE = path.join(SHARED_DIR, 'reference');
