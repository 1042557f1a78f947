// The OTLP sink against a receiver on loopback: where each signal goes, the
// exporter rules (which statuses are retried, for which signal, after what
// wait) and partial success read in both encodings.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { containerMeta, envelope, type Envelope } from '../../../../src/core/record.js';
import { Events } from '../../../../src/observe/events.js';
import { configureSink } from '../../../../src/sinks/registry.js';
import { SinkError, type Sink } from '../../../../src/sinks/sink.js';
import { failureMessage, partialSuccessOf } from '../../../../src/sinks/otlp/answer.js';
import { parseOtlpUri } from '../../../../src/sinks/otlp/options.js';
import { ProtoWriter } from '../../../../src/sinks/otlp/protobuf.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';
import { logsFromProto, metricsFromProto } from './normal.js';
import { decode, encodeText, LOGS_REQUEST, LOGS_RESPONSE, METRICS_REQUEST, METRICS_RESPONSE } from './protoc.js';

const meta = containerMeta('c'.repeat(64), '/app', 'app:1', {});

function line(i: number): Envelope {
  return envelope({
    type: 'log',
    position: logPositions,
    time: `2026-01-02T03:04:05.${String(i).padStart(9, '0')}Z`,
    host: 'h',
    container: meta,
    stream: 'stdout',
    seq: 1,
    message: `m${i}`,
  });
}

function sample(i: number): Envelope {
  return envelope({
    type: 'stats',
    time: `2026-01-02T03:04:0${i}.000000000Z`,
    host: 'h',
    container: meta,
    stats: {
      cpu_percent: 12.5,
      cpu_seconds: 3,
      memory: { usage: 1000, raw_usage: 2000, limit: 4000, percent: 25 },
      network: {},
      blkio: { read_bytes: 1, write_bytes: 2 },
      pids: 3,
    },
  });
}

interface Arrival {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

type Answer = (res: ServerResponse, arrival: Arrival) => void;

/** A receiver answering each path's requests with that path's answers in turn (the last again when they run out). */
async function receiver(answers: Record<string, Answer[]>): Promise<{ port: number; arrivals: Arrival[]; close: () => Promise<void> }> {
  const arrivals: Arrival[] = [];
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const arrival = { path, headers: req.headers, body: Buffer.concat(chunks) };
      arrivals.push(arrival);
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      const list = answers[path] ?? [ok];
      list[Math.min(n, list.length) - 1]!(res, arrival);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ok: Answer = (res) => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
const status =
  (code: number, headers: Record<string, string> = {}): Answer =>
  (res) =>
    res.writeHead(code, headers).end();

async function sinkOf(uri: string, registry = new Registry()): Promise<Sink> {
  const log = pino({ level: 'silent' });
  const sink = configureSink(uri).create({ log, events: new Events(log, registry).forSink(uri) });
  await sink.start();
  return sink;
}

async function failure(p: Promise<void>): Promise<SinkError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof SinkError);
    return err;
  }
  assert.fail('the write should have failed');
}

describe('OTLP sink URI', () => {
  it('posts each signal under the URI path, as OTEL_EXPORTER_OTLP_ENDPOINT does, on port 4318 unless told', () => {
    const o = parseOtlpUri(new URL('otlp+http://gw/otel/'));
    assert.equal(o.origin, 'http://gw:4318');
    assert.equal(o.logsPath, '/otel/v1/logs');
    assert.equal(o.metricsPath, '/otel/v1/metrics');
    assert.equal(o.encoding, 'protobuf');
    const s = parseOtlpUri(new URL('otlp+https://user:pw@[::1]:443?encoding=json&gzip=true'));
    assert.equal(s.origin, 'https://[::1]:443');
    assert.equal(s.logsPath, '/v1/logs');
    assert.equal(s.encoding, 'json');
    assert.equal(s.gzip, true);
    assert.equal(s.headers['authorization'], 'Basic ' + Buffer.from('user:pw').toString('base64'));
  });

  it('names the option, the value and what is allowed', () => {
    assert.throws(() => configureSink('otlp+http://gw?encoding=grpc'), /encoding=grpc: allowed: protobuf, json/);
    assert.throws(() => configureSink('otlp+http://gw?format=json'), /unknown option "format"/);
    assert.throws(() => configureSink('otlp+http://gw?batch=0'), /batch=0: a whole number from 1/);
    assert.doesNotThrow(() => configureSink('otlp+http://gw?types=log%2Cstats&policy=block&buffer=8MiB'));
  });
});

describe('OTLP answers', () => {
  it('reads partial_success in protobuf and in JSON, and nothing from an empty success', () => {
    const logs = encodeText('partial_success { rejected_log_records: 3 error_message: "too old" }', LOGS_RESPONSE);
    assert.deepEqual(partialSuccessOf(logs, 'application/x-protobuf', 'logs'), { rejected: 3, message: 'too old' });
    const metrics = encodeText('partial_success { rejected_data_points: 7 }', METRICS_RESPONSE);
    assert.deepEqual(partialSuccessOf(metrics, 'application/x-protobuf', 'metrics'), { rejected: 7, message: '' });
    const json = Buffer.from('{"partialSuccess":{"rejectedLogRecords":"4","errorMessage":"bad"}}');
    assert.deepEqual(partialSuccessOf(json, 'application/json; charset=utf-8', 'logs'), { rejected: 4, message: 'bad' });
    assert.equal(partialSuccessOf(Buffer.alloc(0), 'application/x-protobuf', 'logs'), undefined);
    assert.equal(partialSuccessOf(Buffer.from('{"partialSuccess":{}}'), 'application/json', 'logs'), undefined);
    assert.equal(partialSuccessOf(Buffer.from([0x0a, 0x05, 1]), 'application/x-protobuf', 'logs'), undefined, 'a torn answer is no partial success');
  });

  it("reads a failure's google.rpc.Status message in protobuf and in JSON", () => {
    const w = new ProtoWriter();
    w.uint(1, 3);
    w.string(2, 'invalid time');
    assert.equal(failureMessage(w.finish(), 'application/x-protobuf'), 'invalid time');
    assert.equal(failureMessage(Buffer.from('{"code":3,"message":"bad json"}'), 'application/json'), 'bad json');
    assert.equal(failureMessage(Buffer.from('plain words'), 'text/plain'), 'plain words');
  });
});

describe('OTLP sink', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it('sends the logs and the stats of a batch to their paths, gzipped, with the headers asked for', async () => {
    const rx = await receiver({});
    closers.push(rx.close);
    const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}/base?gzip=true&header=X-Scope-OrgID:tenant`);
    await sink.write([line(1), sample(1), line(2)]);
    await sink.stop();
    const byPath = new Map(rx.arrivals.map((a) => [a.path, a]));
    const logs = byPath.get('/base/v1/logs');
    const metrics = byPath.get('/base/v1/metrics');
    assert.ok(logs && metrics);
    for (const a of [logs, metrics]) {
      assert.equal(a.headers['content-type'], 'application/x-protobuf');
      assert.equal(a.headers['content-encoding'], 'gzip');
      assert.equal(a.headers['x-scope-orgid'], 'tenant');
      assert.match(String(a.headers['user-agent']), /^sidekick\//);
    }
    const sent = logsFromProto(decode(gunzipSync(logs.body), LOGS_REQUEST));
    assert.deepEqual(
      sent.flatMap((s) => s.items.map((r) => r.body)),
      ['m1', 'm2'],
    );
    const names = metricsFromProto(decode(gunzipSync(metrics.body), METRICS_REQUEST)).flatMap((s) => s.items.map((m) => m.name));
    assert.ok(names.includes('container.pids.count'), 'the stats as metrics');
  });

  it('retries only the signal that failed with 429, 502, 503 or 504, after its Retry-After', async () => {
    for (const code of [429, 502, 503, 504]) {
      const rx = await receiver({ '/v1/logs': [status(code, { 'retry-after': '2' })] });
      closers.push(rx.close);
      const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}`);
      const batch = [line(1), sample(1), line(2)];
      const e = await failure(sink.write(batch));
      await sink.stop();
      assert.equal(e.retryable, true, `${code} is retried`);
      assert.equal(e.retryAfterMs, 2000);
      assert.deepEqual(e.partial?.retry, [batch[0], batch[2]], `${code}: the logs alone are sent again`);
      assert.deepEqual(e.partial?.rejected, []);
    }
  });

  it('retries a whole batch whose every signal failed, and a connection refused', async () => {
    const rx = await receiver({ '/v1/logs': [status(503)], '/v1/metrics': [status(503)] });
    closers.push(rx.close);
    const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}`);
    const e = await failure(sink.write([line(1), sample(1)]));
    assert.equal(e.retryable, true);
    assert.equal(e.partial, undefined);
    await sink.stop();
    await rx.close();
    const gone = await sinkOf(`otlp+http://127.0.0.1:${rx.port}`);
    const refused = await failure(gone.write([line(1)]));
    assert.equal(refused.retryable, true);
    assert.equal(refused.kind, 'econnrefused');
    await gone.stop();
  });

  it('does not retry another 4xx or a 500, and says the receiver’s reason', async () => {
    for (const code of [400, 401, 413, 500]) {
      const rx = await receiver({
        '/v1/logs': [(res) => res.writeHead(code, { 'content-type': 'application/json' }).end('{"code":3,"message":"no such tenant"}')],
      });
      closers.push(rx.close);
      const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}`);
      const e = await failure(sink.write([line(1)]));
      await sink.stop();
      assert.equal(e.retryable, false, `${code} is not retried`);
      assert.equal(e.kind, `http_${code}`);
      assert.match(e.message, /no such tenant/);
    }
  });

  it('counts a partial success as rejected, by signal, and does not send it again', async () => {
    const rx = await receiver({
      '/v1/logs': [
        (res) =>
          res
            .writeHead(200, { 'content-type': 'application/x-protobuf' })
            .end(encodeText('partial_success { rejected_log_records: 2 error_message: "too old" }', LOGS_RESPONSE)),
      ],
      '/v1/metrics': [(res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{"rejectedDataPoints":5}}')],
    });
    closers.push(rx.close);
    const registry = new Registry();
    const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}`, registry);
    const batch = [line(1), line(2), line(3), sample(1)];
    const e = await failure(sink.write(batch));
    await sink.stop();
    assert.equal(e.retryable, false);
    assert.deepEqual(e.partial?.retry, []);
    assert.equal(e.partial?.rejected.length, 2, 'two log records refused; a data point is not a record');
    const text = await registry.metrics();
    assert.match(text, /sidekick_sink_items_rejected_total\{sink="[^"]+",signal="logs"\} 2/);
    assert.match(text, /sidekick_sink_items_rejected_total\{sink="[^"]+",signal="metrics"\} 5/);
    assert.equal(rx.arrivals.length, 2);
  });

  it('sends OTLP/JSON when asked', async () => {
    const rx = await receiver({ '/v1/logs': [(res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')] });
    closers.push(rx.close);
    const sink = await sinkOf(`otlp+http://127.0.0.1:${rx.port}?encoding=json`);
    await sink.write([line(7)]);
    await sink.stop();
    const a = rx.arrivals[0]!;
    assert.equal(a.headers['content-type'], 'application/json');
    const body = JSON.parse(a.body.toString('utf8')) as { resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[] };
    assert.equal(body.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.body.stringValue, 'm7');
  });
});
