// otlp+http:// and otlp+https://: OTLP/HTTP, as the specification's exporter
// rules ask. A batch goes as one logs request (every record but stats) and
// one metrics request (stats), side by side, protobuf unless the URI asks
// for JSON. 429, 502, 503 and 504 and connection errors are retried, for that
// signal alone, honouring Retry-After; other failures are not. A success may
// say it refused some items (partial_success): those are counted, not sent
// again.

import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Pool } from 'undici';
import type { Envelope, StatsRecord } from '../../core/record.js';
import { version } from '../../core/version.js';
import type { SinkEvents } from '../../observe/events.js';
import { retryAfterMs } from '../http/sink.js';
import { caFile } from '../query.js';
import { SinkError, type Batching, type Sink, type SinkFactory } from '../sink.js';
import { failureMessage, partialSuccessOf, type Signal } from './answer.js';
import { nanos, type Nanos } from './protobuf.js';
import { parseOtlpUri, type OtlpOptions } from './options.js';

const gzip = promisify(gzipCb);

/** The OTLP/HTTP statuses the specification says to retry. */
const RETRYABLE = new Set([429, 502, 503, 504]);

const CONTENT_TYPE = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;

type Encoders = {
  readonly logs: typeof import('./logs.js').encodeLogs;
  readonly metrics: typeof import('./metrics.js').encodeMetrics;
};

/** How one signal's request ended: delivered (perhaps with records refused), or failed. */
type Outcome = { readonly refused: number } | { readonly error: SinkError };

class OtlpSink implements Sink {
  readonly batching: Batching;
  private pool: Pool | undefined;
  private encoders: Encoders | undefined;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly name: string,
    private readonly o: OtlpOptions,
    private readonly events: SinkEvents,
  ) {
    this.batching = o.batching;
    this.headers = {
      ...o.headers,
      'content-type': CONTENT_TYPE[o.encoding],
      'user-agent': `sidekick/${version()}`,
      ...(o.gzip ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  async start(): Promise<void> {
    // Loaded only when an OTLP sink is configured: the encoders bring the semantic conventions' names, and undici is large
    // (through its default export, its module.exports: the bundle's file of it has no other).
    const [undici, { encodeLogs }, { encodeMetrics }] = await Promise.all([import('undici'), import('./logs.js'), import('./metrics.js')]);
    const { Pool } = undici.default;
    this.encoders ??= { logs: encodeLogs, metrics: encodeMetrics };
    this.pool ??= new Pool(this.o.origin, {
      connections: this.o.batching.inFlight * 2,
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      connect: { ca: this.o.tls.ca, rejectUnauthorized: !this.o.tls.insecure },
    });
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const pool = this.pool;
    const encoders = this.encoders;
    if (pool === undefined || encoders === undefined) throw new SinkError('otlp sink written before start', 'state', false);
    const logs: Envelope[] = [];
    const stats: Envelope[] = [];
    for (const e of batch) (e.record.type === 'stats' ? stats : logs).push(e);
    // When sidekick observed the records: one instant for the batch.
    const now = Date.now();
    const observed = nanos(Math.floor(now / 1000), (now % 1000) * 1e6);
    const [logsOutcome, statsOutcome] = await Promise.all([
      logs.length === 0 ? undefined : this.send(pool, 'logs', this.encodeLogs(encoders, logs, observed)),
      stats.length === 0 ? undefined : this.send(pool, 'metrics', this.encodeMetrics(encoders, stats)),
    ]);
    const retry: Envelope[] = [];
    const rejected: Envelope[] = [];
    let failure: SinkError | undefined;
    let wait: number | undefined;
    for (const [outcome, envelopes] of [
      [logsOutcome, logs],
      [statsOutcome, stats],
    ] as const) {
      if (outcome === undefined) continue;
      if ('refused' in outcome) {
        // The receiver says how many, not which: the count is what is kept.
        rejected.push(...envelopes.slice(0, outcome.refused));
        continue;
      }
      failure ??= outcome.error;
      if (outcome.error.retryable) {
        retry.push(...envelopes);
        wait = Math.max(wait ?? 0, outcome.error.retryAfterMs ?? 0);
      } else rejected.push(...envelopes);
    }
    if (retry.length === 0 && rejected.length === 0) return;
    if (failure !== undefined && (retry.length === batch.length || rejected.length === batch.length)) throw failure;
    const what = failure?.message ?? `receiver refused ${rejected.length} of ${logs.length} log records`;
    throw new SinkError(what, failure?.kind ?? 'partial_success', retry.length > 0, wait, { retry, rejected });
  }

  private encodeLogs(encoders: Encoders, envelopes: readonly Envelope[], observed: Nanos): Buffer | string {
    const records = envelopes.map((e) => e.record);
    return this.o.encoding === 'json' ? encoders.logs(records, 'json', observed) : encoders.logs(records, 'protobuf', observed);
  }

  private encodeMetrics(encoders: Encoders, envelopes: readonly Envelope[]): Buffer | string {
    const records = envelopes.map((e) => e.record as StatsRecord);
    return this.o.encoding === 'json' ? encoders.metrics(records, 'json') : encoders.metrics(records, 'protobuf');
  }

  /** POSTs one signal's request and reads the answer. */
  private async send(pool: Pool, signal: Signal, body: Buffer | string): Promise<Outcome> {
    const path = signal === 'logs' ? this.o.logsPath : this.o.metricsPath;
    const payload = this.o.gzip ? await gzip(body) : body;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await pool.request({ path, method: 'POST', headers: this.headers, body: payload });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      return { error: new SinkError(`POST ${path} failed: ${(err as Error).message}`, code.toLowerCase(), true) };
    }
    const answer = Buffer.from(await res.body.arrayBuffer().catch(() => new ArrayBuffer(0)));
    const type = res.headers['content-type'];
    const contentType = Array.isArray(type) ? type[0] : type;
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      const partial = partialSuccessOf(answer, contentType, signal);
      if (partial === undefined) return { refused: 0 };
      this.events.partlyRejected(signal, partial.rejected, partial.message);
      // Data points are not records: a stats record refused in part is still delivered.
      return { refused: signal === 'logs' ? partial.rejected : 0 };
    }
    const retryable = RETRYABLE.has(status);
    const message = failureMessage(answer, contentType);
    return {
      error: new SinkError(
        `POST ${path}: HTTP ${status}${message === '' ? '' : `: ${message}`}`,
        `http_${status}`,
        retryable,
        retryable ? retryAfterMs(res.headers['retry-after']) : undefined,
      ),
    };
  }

  async stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}

export const otlpSink: SinkFactory = {
  usage:
    'otlp+http://host:4318/path, otlp+https://...  (POSTs /path/v1/logs and /path/v1/metrics) ?encoding=protobuf|json ?batch=512 ?bytes=4MiB ?flush=1s ?gzip=true ?header=Name:Value ?inflight=2 ?timeout=10s ?ca= ?insecure=true',
  parse(url, name) {
    const o = parseOtlpUri(url);
    return {
      name,
      scheme: url.protocol.slice(0, -1),
      files: caFile(url),
      create: (ctx, files) => new OtlpSink(name, { ...o, tls: { ...o.tls, ca: files['ca'] } }, ctx.events),
    };
  },
};
