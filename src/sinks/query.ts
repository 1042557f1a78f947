// Readers of a sink URI's query values shared by the sinks that POST
// (http, otlp): each names the option, the value and what is allowed when
// the value is not, so a bad URI exits 2 with a message that says why.

import { parseDuration, parseSize } from '../core/units.js';

export interface QueryReader {
  /** A whole number from min to max; `fallback` when absent. */
  whole(key: string, fallback: number, min: number, max: number): number;
  /** A size like 1MiB; `fallback` when absent. */
  size(key: string, fallback: number): number;
  /** A duration like 1s or 250ms; `fallback` when absent. */
  duration(key: string, fallback: number): number;
  /** true or false; false when absent. */
  flag(key: string): boolean;
}

export function queryReader(q: URLSearchParams): QueryReader {
  return {
    whole(key, fallback, min, max) {
      const v = q.get(key);
      if (v === null) return fallback;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${key}=${v}: a whole number from ${min} to ${max}`);
      return Number(v);
    },
    size(key, fallback) {
      const v = q.get(key);
      if (v === null) return fallback;
      const n = parseSize(v);
      if (n === undefined || n < 1) throw new Error(`${key}=${v}: a size like 1MiB`);
      return n;
    },
    duration(key, fallback) {
      const v = q.get(key);
      if (v === null) return fallback;
      const n = parseDuration(v);
      if (n === undefined) throw new Error(`${key}=${v}: a duration like 1s or 250ms`);
      return n;
    },
    flag(key) {
      const v = q.get(key);
      if (v === null || v === 'false') return false;
      if (v === 'true') return true;
      throw new Error(`${key}=${v}: allowed: true, false`);
    },
  };
}

/**
 * The headers a URI asks for: each `header=Name:Value` (names in lower
 * case), and its userinfo as basic auth unless a header sets authorization.
 * A bad header is not echoed: it may hold a secret.
 */
export function headersOf(url: URL): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of url.searchParams.getAll('header')) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new Error('header=***: expected Name:Value');
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (url.username !== '' && headers['authorization'] === undefined) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers['authorization'] = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  }
  return headers;
}

/** The CA file a URI names (`?ca=`), by the option, for the registry to read when the config is read. */
export function caFile(url: URL): Record<string, string> {
  const ca = url.searchParams.get('ca');
  return ca === null ? {} : { ca };
}
