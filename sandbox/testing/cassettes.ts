/**
 * Test support (never imported by product code): read the recorded platform
 * traffic in `../shared/reference/cassettes` (VCR YAML files).
 */
import fs from 'node:fs';
import path from 'node:path';

import YAML from 'yaml';

import { referenceDir } from './harness.ts';

/** One recorded response. */
export interface RecordedInteraction {
  method: string;
  uri: string;
  status: number;
  headers: Record<string, string[]>;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  text: string;
}

interface Cassette {
  interactions: {
    request: { method: string; uri: string };
    response: {
      status: { code: number };
      headers?: Record<string, string[]>;
      body?: { string?: unknown };
    };
  }[];
}

/** readCassette returns the interactions of `cassettes/<relative>`. */
export function readCassette(relative: string): RecordedInteraction[] {
  const text = fs.readFileSync(
    path.join(referenceDir, 'cassettes', relative),
    'utf8',
  );
  // Some cassettes carry Python-specific tags for binary bodies; they are
  // storage downloads and of no interest here.
  const doc = YAML.parse(text, { logLevel: 'silent' }) as Cassette;
  return doc.interactions.map((i) => {
    const body =
      typeof i.response.body?.string === 'string' ? i.response.body.string : '';
    let json: unknown;
    try {
      json = body === '' ? undefined : JSON.parse(body);
    } catch {
      json = undefined;
    }
    return {
      method: i.request.method,
      uri: i.request.uri,
      status: i.response.status.code,
      headers: i.response.headers ?? {},
      json,
      text: body,
    };
  });
}

/**
 * recorded returns the first recorded response whose URI path contains
 * `fragment`.
 */
export function recorded(
  relative: string,
  method: string,
  fragment: string,
): RecordedInteraction {
  const found = readCassette(relative).find(
    (i) => i.method === method && new URL(i.uri).pathname.includes(fragment),
  );
  if (!found) {
    throw new Error(`cassette ${relative} has no ${method} …${fragment}`);
  }
  return found;
}
