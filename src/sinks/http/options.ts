// What an http(s) sink URI says, validated (no I/O): format, batching,
// gzip, headers (userinfo as basic auth), timeout, and the CA file it names.

import { parseDuration, parseSize } from '../../core/units.js';
import { checkQueryKeys, type Batching } from '../sink.js';
import { HTTP_FORMATS, type FormatOptions, type HttpFormat } from './formats.js';

export interface HttpOptions extends FormatOptions {
  readonly origin: string;
  readonly path: string;
  readonly gzip: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly batching: Batching;
  readonly timeoutMs: number;
  readonly tls: { readonly ca?: Buffer; readonly insecure: boolean };
}

const DEFAULTS = { batch: 1000, bytes: 1024 * 1024, flushMs: 1000, inFlight: 2, timeoutMs: 30_000 };

export function parseHttpUri(url: URL): HttpOptions {
  checkQueryKeys(url, ['format', 'batch', 'bytes', 'flush', 'gzip', 'header', 'inflight', 'timeout', 'index', 'sourcetype', 'ca', 'insecure']);
  const q = url.searchParams;
  const format = q.get('format') ?? 'ndjson';
  if (!(HTTP_FORMATS as readonly string[]).includes(format)) {
    throw new Error(`format=${format}: allowed: ${HTTP_FORMATS.join(', ')}`);
  }
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const v = q.get(key);
    if (v === null) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new Error(`${key}=${v}: a whole number from ${min} to ${max}`);
    return Number(v);
  };
  const sizeOf = (key: string, fallback: number): number => {
    const v = q.get(key);
    if (v === null) return fallback;
    const n = parseSize(v);
    if (n === undefined || n < 1) throw new Error(`${key}=${v}: a size like 1MiB`);
    return n;
  };
  const durationOf = (key: string, fallback: number): number => {
    const v = q.get(key);
    if (v === null) return fallback;
    const n = parseDuration(v);
    if (n === undefined) throw new Error(`${key}=${v}: a duration like 1s or 250ms`);
    return n;
  };
  const flag = (key: string): boolean => {
    const v = q.get(key);
    if (v === null || v === 'false') return false;
    if (v === 'true') return true;
    throw new Error(`${key}=${v}: allowed: true, false`);
  };
  const headers: Record<string, string> = {};
  for (const h of q.getAll('header')) {
    const colon = h.indexOf(':');
    if (colon < 1) throw new Error('header=***: expected Name:Value');
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (url.username !== '' && headers['authorization'] === undefined) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers['authorization'] = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  }
  const inFlight = num('inflight', DEFAULTS.inFlight, 1, 64);
  return {
    origin: url.origin,
    path: url.pathname === '' ? '/' : url.pathname,
    format: format as HttpFormat,
    gzip: flag('gzip'),
    headers,
    batching: {
      records: num('batch', DEFAULTS.batch, 1, 100_000),
      bytes: sizeOf('bytes', DEFAULTS.bytes),
      flushMs: durationOf('flush', DEFAULTS.flushMs),
      inFlight,
    },
    timeoutMs: durationOf('timeout', DEFAULTS.timeoutMs),
    index: q.get('index') ?? 'sidekick',
    sourcetype: q.get('sourcetype') ?? 'sidekick',
    tls: { insecure: flag('insecure') },
  };
}
