// An OTLP/HTTP receiver on loopback for the OTLP sink's tests. It decodes
// each request with a decoder no one here wrote (protoc against the official
// schemas, or JSON.parse for OTLP/JSON), gunzipping when asked, keeps what it
// answered 2xx to in one plain form, and answers faults on cue: an error
// status (with Retry-After), or a partial success.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import {
  logsFromJson,
  logsFromProto,
  metricsFromJson,
  metricsFromProto,
  type NormalLogRecord,
  type NormalMetric,
  type Scoped,
} from '../unit/sinks/otlp/normal.js';
import { decode, encodeText, LOGS_REQUEST, LOGS_RESPONSE, METRICS_REQUEST } from '../unit/sinks/otlp/protoc.js';

export type OtlpFault = { readonly status: number; readonly headers?: Record<string, string> } | { readonly rejectLogs: number; readonly message: string };

export interface OtlpRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly logs: Scoped<NormalLogRecord>[];
  readonly metrics: Scoped<NormalMetric>[];
}

export class OtlpReceiver {
  readonly accepted: OtlpRequest[] = [];
  /** Bodies that did not decode: must stay empty. */
  readonly malformed: string[] = [];
  /** Faults for the next logs requests (metrics requests are always taken), in order. */
  readonly logFaults: OtlpFault[] = [];
  /** Every request that arrived, by path. */
  readonly arrived = new Map<string, number>();
  port = 0;
  private server: Server | undefined;

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  }

  /** Every log record accepted, with its resource. */
  logRecords(
    pathPrefix = '',
  ): Array<NormalLogRecord & { readonly resource: Scoped<NormalLogRecord>['resource']; readonly scope: Scoped<NormalLogRecord>['scope'] }> {
    return this.accepted
      .filter((r) => r.path.startsWith(pathPrefix))
      .flatMap((r) => r.logs.flatMap((s) => s.items.map((item) => ({ ...item, resource: s.resource, scope: s.scope }))));
  }

  /** Every metric accepted, with its resource. */
  metrics(pathPrefix = ''): Array<NormalMetric & { readonly resource: Scoped<NormalMetric>['resource'] }> {
    return this.accepted
      .filter((r) => r.path.startsWith(pathPrefix))
      .flatMap((r) => r.metrics.flatMap((s) => s.items.map((item) => ({ ...item, resource: s.resource }))));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.arrived.set(path, (this.arrived.get(path) ?? 0) + 1);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const isLogs = path.endsWith('/v1/logs');
    const fault = isLogs ? this.logFaults.shift() : undefined;
    if (fault !== undefined && 'status' in fault) {
      res.writeHead(fault.status, fault.headers).end();
      return;
    }
    const json = req.headers['content-type'] === 'application/json';
    let logs: Scoped<NormalLogRecord>[] = [];
    let metrics: Scoped<NormalMetric>[] = [];
    try {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      if (!json && req.headers['content-type'] !== 'application/x-protobuf') throw new Error(`content-type ${req.headers['content-type']}`);
      if (isLogs) logs = json ? logsFromJson(JSON.parse(body.toString('utf8'))) : logsFromProto(decode(body, LOGS_REQUEST));
      else if (path.endsWith('/v1/metrics'))
        metrics = json ? metricsFromJson(JSON.parse(body.toString('utf8'))) : metricsFromProto(decode(body, METRICS_REQUEST));
      else throw new Error('not an OTLP path');
    } catch (err) {
      this.malformed.push(`${path}: ${(err as Error).message}`);
      res.writeHead(400).end();
      return;
    }
    this.accepted.push({ path, headers: req.headers, logs, metrics });
    if (fault !== undefined) {
      // A partial success, in the encoding asked in.
      if (json) {
        const answer = { partialSuccess: { rejectedLogRecords: String(fault.rejectLogs), errorMessage: fault.message } };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      } else {
        const answer = encodeText(
          `partial_success { rejected_log_records: ${fault.rejectLogs} error_message: ${JSON.stringify(fault.message)} }`,
          LOGS_RESPONSE,
        );
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(answer);
      }
      return;
    }
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
  }
}
