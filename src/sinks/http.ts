// http:// and https://: batches of records POSTed through an undici Pool.
// Batches close by count, bytes or age; bodies may be gzipped; several
// batches may be in flight. Connection errors, 408, 429 and 5xx are retried
// by the channel with backoff (honouring Retry-After, up to a cap); other 4xx
// answers are counted as rejected and not retried. An Elasticsearch bulk
// answer is read item by item: only the failed records are written again.
// Body formats: ndjson, json (array), splunk-hec, elasticsearch (_bulk), loki
// (push API).

import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Pool } from 'undici';
import { recordId, timeToNanos, type Envelope, type SidekickRecord } from '../core/record.js';
import { parseDuration, parseSize } from '../core/units.js';
import { checkQueryKeys, SinkError, type Batching, type Sink, type SinkFactory } from './sink.js';

const gzip = promisify(gzipCb);

export const HTTP_FORMATS = ['ndjson', 'json', 'splunk-hec', 'elasticsearch', 'loki'] as const;
export type HttpFormat = (typeof HTTP_FORMATS)[number];

export interface HttpOptions {
  readonly origin: string;
  readonly path: string;
  readonly format: HttpFormat;
  readonly gzip: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly batching: Batching;
  readonly timeoutMs: number;
  /** Elasticsearch: the index written to. Splunk HEC: the sourcetype. */
  readonly index: string;
  readonly sourcetype: string;
  readonly tls: { readonly ca?: Buffer; readonly insecure: boolean };
}

interface Body {
  readonly contentType: string;
  readonly text: string;
}

function sourceOf(r: SidekickRecord): string {
  return r.container?.tag ?? r.container?.name ?? 'sidekick';
}

/** The request body for a batch, in the sink's format. */
export function formatBody(batch: readonly Envelope[], o: Pick<HttpOptions, 'format' | 'index' | 'sourcetype'>): Body {
  switch (o.format) {
    case 'ndjson': {
      let text = '';
      for (const e of batch) text += e.json + '\n';
      return { contentType: 'application/x-ndjson', text };
    }
    case 'json':
      return { contentType: 'application/json', text: '[' + batch.map((e) => e.json).join(',') + ']' };
    case 'splunk-hec': {
      let text = '';
      for (const e of batch) {
        const r = e.record;
        const nanos = timeToNanos(r.time) ?? '0000000000';
        const time = nanos.slice(0, -9) + '.' + nanos.slice(-9, -3);
        text +=
          `{"time":${time},"host":${JSON.stringify(r.host)},"source":${JSON.stringify(sourceOf(r))},` +
          `"sourcetype":${JSON.stringify(o.sourcetype)},"event":${e.json}}`;
      }
      return { contentType: 'application/json', text };
    }
    case 'elasticsearch': {
      // Records carry their id as _id: sent again (after a kill, a timeout), they are refused as duplicates (409).
      const action = `{"create":{"_index":${JSON.stringify(o.index)},"_id":"`;
      let text = '';
      for (const e of batch) text += action + recordId(e.record) + '"}}\n' + e.json + '\n';
      return { contentType: 'application/x-ndjson', text };
    }
    case 'loki': {
      const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
      for (const e of batch) {
        const r = e.record;
        const labels: Record<string, string> = { host: r.host, type: r.type };
        if (r.container !== undefined) labels['container'] = r.container.name;
        const key = `${labels['host']}\u0000${labels['type']}\u0000${labels['container'] ?? ''}`;
        let s = streams.get(key);
        if (s === undefined) {
          s = { stream: labels, values: [] };
          streams.set(key, s);
        }
        s.values.push([timeToNanos(r.time) ?? '0', e.json]);
      }
      return { contentType: 'application/json', text: JSON.stringify({ streams: [...streams.values()] }) };
    }
  }
}

/**
 * The longest wait a Retry-After obtains: a receiver asking for an hour (or
 * a clock far off in an HTTP date) must not stall a sink that long.
 */
export const RETRY_AFTER_MAX_MS = 5 * 60_000;

/** Retry-After: seconds, or an HTTP date; at most RETRY_AFTER_MAX_MS. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Math.min(RETRY_AFTER_MAX_MS, Number(v.trim()) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(RETRY_AFTER_MAX_MS, Math.max(0, at - now));
}

class HttpSink implements Sink {
  readonly batching: Batching;
  private pool: Pool | undefined;

  constructor(
    readonly name: string,
    private readonly o: HttpOptions,
  ) {
    this.batching = o.batching;
  }

  async start(): Promise<void> {
    // Loaded only when an HTTP sink is configured: undici is a fifth of sidekick's resident memory.
    const { Pool } = await import('undici');
    this.pool ??= new Pool(this.o.origin, {
      connections: this.o.batching.inFlight,
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      connect: { ca: this.o.tls.ca, rejectUnauthorized: !this.o.tls.insecure },
    });
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const pool = this.pool;
    if (pool === undefined) throw new SinkError('http sink written before start', 'state', false);
    const body = formatBody(batch, this.o);
    const headers: Record<string, string> = { ...this.o.headers, 'content-type': body.contentType };
    let payload: string | Buffer = body.text;
    if (this.o.gzip) {
      payload = await gzip(body.text);
      headers['content-encoding'] = 'gzip';
    }
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await pool.request({ path: this.o.path, method: 'POST', headers, body: payload });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      throw new SinkError(`POST failed: ${(err as Error).message}`, code.toLowerCase(), true);
    }
    const status = res.statusCode;
    const text = await res.body.text().catch(() => '');
    if (status >= 200 && status < 300) {
      if (this.o.format === 'elasticsearch') checkBulkAnswer(text, batch);
      return;
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    throw new SinkError(
      `HTTP ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
      `http_${status}`,
      retryable,
      retryable ? retryAfterMs(res.headers['retry-after']) : undefined,
    );
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}

/**
 * A _bulk answer is 200 even when documents failed: each item says. A 409 to
 * `create` is a document whose _id is stored already (sent before a kill or a
 * timeout): delivered. 429 and 5xx may pass later; any other failure never
 * will. Throws a SinkError naming the records of each kind; the others are
 * delivered.
 */
function checkBulkAnswer(text: string, batch: readonly Envelope[]): void {
  let answer: { errors?: unknown; items?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return;
  }
  if (answer.errors !== true) return;
  const items = Array.isArray(answer.items) ? (answer.items as unknown[]) : [];
  if (items.length !== batch.length) {
    // Which item is which cannot be told: all of them again (their _id makes it safe).
    throw new SinkError(`bulk: errors, and ${items.length} items for ${batch.length} documents`, 'bulk_item', true);
  }
  const retry: Envelope[] = [];
  const rejected: Envelope[] = [];
  let firstRefusal = '';
  for (let i = 0; i < items.length; i++) {
    const item = Object.values(items[i] ?? {})[0] as { status?: unknown; error?: { type?: unknown } } | undefined;
    const status = typeof item?.status === 'number' ? item.status : 0;
    if (status < 300 || status === 409) continue;
    if (status === 429 || status >= 500) {
      retry.push(batch[i]);
    } else {
      rejected.push(batch[i]);
      if (firstRefusal === '') firstRefusal = `${status} ${typeof item?.error?.type === 'string' ? item.error.type : ''}`.trim();
    }
  }
  if (retry.length === 0 && rejected.length === 0) return;
  throw new SinkError(
    `bulk: of ${batch.length} documents, ${rejected.length} refused${firstRefusal === '' ? '' : ` (first: ${firstRefusal})`}, ${retry.length} to retry`,
    'bulk_item',
    retry.length > 0,
    undefined,
    { retry, rejected },
  );
}

const DEFAULTS = { batch: 1000, bytes: 1024 * 1024, flushMs: 1000, inFlight: 2, timeoutMs: 30_000 };

function parseHttpUri(url: URL): HttpOptions {
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

export const httpSink: SinkFactory = {
  usage:
    'http://host:port/path, https://...  ?format=ndjson|json|splunk-hec|elasticsearch|loki ?batch=1000 ?bytes=1MiB ?flush=1s ?gzip=true ?header=Name:Value ?inflight=2 ?timeout=30s ?index= ?sourcetype= ?ca= ?insecure=true',
  parse(url, name) {
    const o = parseHttpUri(url);
    const ca = url.searchParams.get('ca');
    const files: Record<string, string> = ca === null ? {} : { ca };
    return {
      name,
      scheme: url.protocol.slice(0, -1),
      files,
      create: (_ctx, files) => new HttpSink(name, { ...o, tls: { ...o.tls, ca: files['ca'] } }),
    };
  },
};
