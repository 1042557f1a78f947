// What an http(s) sink URI says, validated (no I/O): format, batching,
// gzip, headers (userinfo as basic auth), timeout, and the CA file it names.

import { headersOf, queryReader } from '../query.js';
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
  const read = queryReader(q);
  const inFlight = read.whole('inflight', DEFAULTS.inFlight, 1, 64);
  return {
    origin: url.origin,
    path: url.pathname === '' ? '/' : url.pathname,
    format: format as HttpFormat,
    gzip: read.flag('gzip'),
    headers: headersOf(url),
    batching: {
      records: read.whole('batch', DEFAULTS.batch, 1, 100_000),
      bytes: read.size('bytes', DEFAULTS.bytes),
      flushMs: read.duration('flush', DEFAULTS.flushMs),
      // flushMs keeps batches apart already.
      gapMs: 0,
      inFlight,
    },
    timeoutMs: read.duration('timeout', DEFAULTS.timeoutMs),
    index: q.get('index') ?? 'sidekick',
    sourcetype: q.get('sourcetype') ?? 'sidekick',
    tls: { insecure: read.flag('insecure') },
  };
}
