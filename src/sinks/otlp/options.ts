// What an otlp+http(s) sink URI says, validated (no I/O): where to POST each
// signal (as OTEL_EXPORTER_OTLP_ENDPOINT: the URI's path, then /v1/logs and
// /v1/metrics), the encoding, batching, gzip, headers, timeout, and the CA
// file it names.

import { headersOf, queryReader } from '../query.js';
import { checkQueryKeys, type Batching } from '../sink.js';

export const OTLP_ENCODINGS = ['protobuf', 'json'] as const;
export type OtlpEncoding = (typeof OTLP_ENCODINGS)[number];

export interface OtlpOptions {
  /** http://host:port or https://host:port. */
  readonly origin: string;
  readonly logsPath: string;
  readonly metricsPath: string;
  readonly encoding: OtlpEncoding;
  readonly gzip: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly batching: Batching;
  readonly timeoutMs: number;
  readonly tls: { readonly ca?: Buffer; readonly insecure: boolean };
}

/** The OpenTelemetry SDKs' batch exporter defaults: 512 records a request, every second (theirs is 5 s for spans; logs want less). */
const DEFAULTS = { batch: 512, bytes: 4 * 1024 * 1024, flushMs: 1000, inFlight: 2, timeoutMs: 10_000 };

export function parseOtlpUri(url: URL): OtlpOptions {
  checkQueryKeys(url, ['encoding', 'batch', 'bytes', 'flush', 'gzip', 'header', 'inflight', 'timeout', 'ca', 'insecure']);
  const q = url.searchParams;
  const encoding = q.get('encoding') ?? 'protobuf';
  if (!(OTLP_ENCODINGS as readonly string[]).includes(encoding)) {
    throw new Error(`encoding=${encoding}: allowed: ${OTLP_ENCODINGS.join(', ')}`);
  }
  if (url.hostname === '') throw new Error('needs a host: otlp+http://host:4318');
  const transport = url.protocol === 'otlp+https:' ? 'https' : 'http';
  // otlp+http is not a scheme URL knows the default port of: 4318 is OTLP/HTTP's.
  const origin = `${transport}://${url.hostname}:${url.port === '' ? '4318' : url.port}`;
  const base = url.pathname.replace(/\/+$/, '');
  const read = queryReader(q);
  return {
    origin,
    logsPath: `${base}/v1/logs`,
    metricsPath: `${base}/v1/metrics`,
    encoding: encoding as OtlpEncoding,
    gzip: read.flag('gzip'),
    headers: headersOf(url),
    batching: {
      records: read.whole('batch', DEFAULTS.batch, 1, 100_000),
      bytes: read.size('bytes', DEFAULTS.bytes),
      flushMs: read.duration('flush', DEFAULTS.flushMs),
      // flushMs keeps batches apart already.
      gapMs: 0,
      inFlight: read.whole('inflight', DEFAULTS.inFlight, 1, 64),
    },
    timeoutMs: read.duration('timeout', DEFAULTS.timeoutMs),
    tls: { insecure: read.flag('insecure') },
  };
}
