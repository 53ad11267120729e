/**
 * Before any test: the shared test data must be there, else every test
 * that reads it would fail on its own with a bare ENOENT.
 */
import { existsSync } from 'node:fs';

import { SHARED_DATA, SHARED_REFERENCE } from './shared.ts';

export default function checkSharedData(): void {
  const missing = [SHARED_DATA, SHARED_REFERENCE].filter((d) => !existsSync(d));
  if (missing.length > 0) {
    throw new Error(
      `The shared test data is missing (${missing.join(', ')}). Keep the clone next to the folder "shared" that holds data/ and reference/, or set GENCOVE_SHARED_DIR to that folder.`,
    );
  }
}
