// The HTTP sink against a fake receiver on loopback, driven by a channel as
// in sidekick: an Elasticsearch bulk answer read item by item, and
// Retry-After honoured up to its cap.

import { sinkContext } from './context.js';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { SinkDriver } from '../../../src/pipeline/driver.js';
import { containerMeta, envelope, recordId, type Envelope } from '../../../src/core/record.js';
import { httpSink, RETRY_AFTER_MAX_MS, retryAfterMs } from '../../../src/sinks/http/sink.js';
import { waitFor } from '../wait.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const meta = containerMeta('e'.repeat(64), '/app', 'app:1', {});

function rec(i: number): Envelope {
  const time = `2026-01-02T03:04:05.${String(i).padStart(9, '0')}Z`;
  return envelope({ type: 'log', position: logPositions, time, host: 'h', container: meta, stream: 'stdout', seq: 1, message: `m${i}` });
}

interface Arrival {
  readonly at: number;
  readonly body: string;
}

type Answer = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A receiver on loopback that answers each request with the next of `answers` (the last one again when they run out). */
async function receiver(answers: Answer[]): Promise<{ url: string; arrivals: Arrival[]; close: () => Promise<void> }> {
  const arrivals: Arrival[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      arrivals.push({ at: Date.now(), body });
      answers[Math.min(arrivals.length, answers.length) - 1]!(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The _ids and documents of a bulk body. */
function bulk(body: string): { ids: string[]; messages: string[] } {
  const lines = body.split('\n').slice(0, -1);
  const ids: string[] = [];
  const messages: string[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    ids.push((JSON.parse(lines[i]!) as { create: { _id: string } }).create._id);
    messages.push((JSON.parse(lines[i + 1]!) as { message: string }).message);
  }
  return { ids, messages };
}

/** A bulk answer giving each document, in order, the status at its place. */
function bulkAnswer(statuses: readonly number[]): Answer {
  return (_req, _body, res) => {
    const items = statuses.map((status) => ({
      create:
        status < 300
          ? { status, result: 'created' }
          : { status, error: { type: status === 409 ? 'version_conflict_engine_exception' : `error_${status}`, reason: 'r' } },
    }));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ took: 1, errors: statuses.some((s) => s >= 300), items }));
  };
}

/** A channel over an HTTP sink built from its URI, and what it logs. */
function channel(uri: string): { ch: SinkDriver; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const spec = httpSink.parse(new URL(uri), uri);
  return { ch: new SinkDriver(spec.create(sinkContext(log), {}), log, undefined), logs };
}

describe('HTTP sink, Elasticsearch bulk answers', () => {
  const closing: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closing) await close();
  });

  it('counts 409 as stored, writes again only the 429 and 5xx items, and rejects a 400 once', async () => {
    const rx = await receiver([bulkAnswer([201, 409, 429, 500, 400]), bulkAnswer([201, 201])]);
    closing.push(rx.close);
    const { ch, logs } = channel(`${rx.url}/_bulk?format=elasticsearch&index=logs&batch=5&flush=5s`);
    await ch.start();
    const batch = [0, 1, 2, 3, 4].map(rec);
    for (const e of batch) ch.push(e);
    await waitFor('the failed items written again', () => rx.arrivals.length === 2 && ch.counts.sent === 4);

    const first = bulk(rx.arrivals[0]!.body);
    assert.deepEqual(first.messages, ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(
      first.ids,
      batch.map((e) => recordId(e.record)),
      '_id is the record id',
    );
    const second = bulk(rx.arrivals[1]!.body);
    assert.deepEqual(second.messages, ['m2', 'm3'], 'only the 429 and the 500');
    assert.deepEqual(second.ids, first.ids.slice(2, 4), 'under the same _id');

    assert.equal(await ch.close(Date.now() + 1000), 0);
    assert.equal(rx.arrivals.length, 2, 'nothing written a third time');
    assert.deepEqual({ ...ch.counts }, { sent: 4, dropped: 0, retried: 2, rejected: 1, unflushed: 0 });
    const rejections = logs.filter((l) => l['msg'] === 'sink rejected records of a batch; not retrying them');
    assert.equal(rejections.length, 1, 'logged once');
    assert.equal(rejections[0]!['records'], 1);
    assert.match(String(rejections[0]!['err']), /1 refused \(first: 400 error_400\), 2 to retry/);
  });

  it('writes the whole batch again when the items cannot be matched to its documents, and takes their 409s as stored', async () => {
    const rx = await receiver([bulkAnswer([201, 503]), bulkAnswer([409, 409, 201])]);
    closing.push(rx.close);
    const { ch } = channel(`${rx.url}/_bulk?format=elasticsearch&batch=3&flush=5s`);
    await ch.start();
    for (const i of [0, 1, 2]) ch.push(rec(i));
    await waitFor('delivered', () => ch.counts.sent === 3);
    assert.equal(await ch.close(Date.now() + 1000), 0);
    assert.deepEqual(
      rx.arrivals.map((a) => bulk(a.body).messages),
      [
        ['m0', 'm1', 'm2'],
        ['m0', 'm1', 'm2'],
      ],
    );
    assert.deepEqual({ ...ch.counts }, { sent: 3, dropped: 0, retried: 3, rejected: 0, unflushed: 0 });
  });

  it('takes an answer of 201 and 409 alone as all delivered, without a retry', async () => {
    const rx = await receiver([bulkAnswer([409, 201, 409])]);
    closing.push(rx.close);
    const { ch, logs } = channel(`${rx.url}/_bulk?format=elasticsearch&batch=3&flush=5s`);
    await ch.start();
    for (const i of [0, 1, 2]) ch.push(rec(i));
    await waitFor('delivered', () => ch.counts.sent === 3);
    assert.equal(await ch.close(Date.now() + 1000), 0);
    assert.equal(rx.arrivals.length, 1);
    assert.deepEqual({ ...ch.counts }, { sent: 3, dropped: 0, retried: 0, rejected: 0, unflushed: 0 });
    assert.equal(ch.error, undefined);
    assert.deepEqual(
      logs.filter((l) => (l['level'] as number) >= 40),
      [],
      'no warning',
    );
  });
});

describe('HTTP sink, Retry-After', () => {
  it('waits as long as a Retry-After below the cap asks', async () => {
    const unavailable: Answer = (_req, _body, res) => {
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
    };
    const ok: Answer = (_req, _body, res) => res.end();
    const rx = await receiver([unavailable, ok]);
    try {
      const { ch } = channel(`${rx.url}/in?flush=0s`);
      await ch.start();
      ch.push(rec(1));
      await waitFor('delivered after the wait', () => ch.counts.sent === 1, 5000);
      const waited = rx.arrivals[1]!.at - rx.arrivals[0]!.at;
      // Without Retry-After the first retry comes after 100 to 200 ms.
      assert.ok(waited >= 950 && waited < 2500, `retried after ${waited} ms`);
      assert.equal(await ch.close(Date.now() + 1000), 0);
    } finally {
      await rx.close();
    }
  });

  it('reads seconds and HTTP dates, and caps either at RETRY_AFTER_MAX_MS (5 minutes)', () => {
    const now = Date.parse('2026-01-02T03:04:05.000Z');
    assert.equal(RETRY_AFTER_MAX_MS, 5 * 60_000);
    assert.equal(retryAfterMs('1', now), 1000);
    assert.equal(retryAfterMs(' 120 ', now), 120_000);
    assert.equal(retryAfterMs(new Date(now + 2000).toUTCString(), now), 2000);
    assert.equal(retryAfterMs(new Date(now - 2000).toUTCString(), now), 0, 'a date past: at once');
    assert.equal(retryAfterMs('300', now), RETRY_AFTER_MAX_MS);
    assert.equal(retryAfterMs('86400', now), RETRY_AFTER_MAX_MS, 'a day');
    assert.equal(retryAfterMs('99999999999999999999', now), RETRY_AFTER_MAX_MS);
    assert.equal(retryAfterMs(new Date(now + 86_400_000).toUTCString(), now), RETRY_AFTER_MAX_MS, 'a date a day ahead');
    assert.equal(retryAfterMs(['7', '9'], now), 7000, 'the first of repeated headers');
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});
