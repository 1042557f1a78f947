// http:// and https://: batches of records POSTed through an undici Pool.
// Batches close by count, bytes or age; bodies may be gzipped; several
// batches may be in flight. Connection errors, 408, 429 and 5xx are retried
// by the driver with backoff (honouring Retry-After, up to a cap); other 4xx
// answers are counted as rejected and not retried.

import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Pool } from 'undici';
import type { Envelope } from '../../core/record.js';
import { caFile } from '../query.js';
import { SinkError, type Batching, type Sink, type SinkFactory } from '../sink.js';
import { checkBulkAnswer, formatBody } from './formats.js';
import { parseHttpUri, type HttpOptions } from './options.js';

const gzip = promisify(gzipCb);

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
    // Through its default export (its module.exports): the bundle's file of it has no other.
    const { Pool } = (await import('undici')).default;
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

export const httpSink: SinkFactory = {
  usage:
    'http://host:port/path, https://...  ?format=ndjson|json|splunk-hec|elasticsearch|loki ?batch=1000 ?bytes=1MiB ?flush=1s ?gzip=true ?header=Name:Value ?inflight=2 ?timeout=30s ?index= ?sourcetype= ?ca= ?insecure=true',
  parse(url, name) {
    const o = parseHttpUri(url);
    return {
      name,
      scheme: url.protocol.slice(0, -1),
      files: caFile(url),
      create: (_ctx, files) => new HttpSink(name, { ...o, tls: { ...o.tls, ca: files['ca'] } }),
    };
  },
};
