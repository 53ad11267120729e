/**
 * headerOf reads one request header as a single string: repeated headers
 * are joined with ',' (as HTTP allows for list-valued fields), an absent one
 * is undefined.
 */

import type { IncomingHttpHeaders } from 'node:http';

/** headerOf returns the value of header `name` (lower case), or undefined. */
export function headerOf(
  headers: IncomingHttpHeaders,
  name: string,
): string | undefined {
  const value = headers[name];
  if (value === undefined) {
    return undefined;
  }
  return Array.isArray(value) ? value.join(',') : value;
}
