import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { SinkDriver } from '../../../src/pipeline/driver.js';
import { containerMeta, serialize, type LogRecord, type SidekickRecord } from '../../../src/core/record.js';
import { Router, type Output } from '../../../src/pipeline/router.js';
import { Taps } from '../../../src/observe/tap.js';
import { Selection } from '../../../src/transforms/route.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const log = pino({ level: 'silent' });

async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('Router', () => {
  it('fans one record out to every channel with the same Envelope and JSON', async () => {
    const a = new MemorySink();
    const b = new MemorySink();
    const channels = [new SinkDriver(a, log, undefined), new SinkDriver(b, log, undefined)];
    for (const c of channels) await c.start();
    const router = new Router(channels);
    const record: LogRecord = {
      type: 'log',
      position: logPositions,
      time: '2024-01-02T03:04:05.000000001Z',
      host: 'h',
      container: containerMeta('e'.repeat(64), '/web', 'nginx', {}),
      stream: 'stdout',
      seq: 1,
      message: 'hello',
    };
    router.emit(record);
    await waitFor('both delivered', () => a.received.length === 1 && b.received.length === 1);
    assert.equal(a.received[0], b.received[0], 'one envelope, serialized once');
    assert.equal(a.received[0]!.record, record);
    assert.equal(a.received[0]!.json, serialize(record));
    assert.equal(b.received[0]!.json, serialize(record));
    for (const c of channels) assert.equal(await c.close(Date.now() + 1000), 0);
  });

  it('counts routed records by type', () => {
    const router = new Router([]);
    const meta = containerMeta('e'.repeat(64), '/web', 'nginx', {});
    router.emit({ type: 'log', position: logPositions, time: 't', host: 'h', container: meta, stream: 'stdout', seq: 1, message: '1' });
    router.emit({ type: 'log', position: logPositions, time: 't', host: 'h', container: meta, stream: 'stderr', seq: 1, message: '2' });
    router.emit({ type: 'event', time: 't', host: 'h', object: 'image', action: 'pull', actor: { id: 'x', attributes: {} }, scope: 'local' });
    assert.deepEqual(Object.fromEntries(router.routed), { log: 2, event: 1 });
  });

  it('pushes to each output that takes the record, /tap clients as any other', () => {
    const pushed: string[] = [];
    const output = (name: string, takes: (r: SidekickRecord) => boolean): Output => ({ takes, push: (e) => pushed.push(`${name}:${e.record.type}`) });
    const router = new Router([output('logs', (r) => r.type === 'log'), output('nobody', () => false), output('all', () => true)]);
    const meta = containerMeta('e'.repeat(64), '/web', 'nginx', {});
    router.emit({ type: 'log', position: logPositions, time: 't', host: 'h', container: meta, stream: 'stdout', seq: 1, message: '1' });
    router.emit({ type: 'event', time: 't', host: 'h', object: 'image', action: 'pull', actor: { id: 'x', attributes: {} }, scope: 'local' });
    assert.deepEqual(pushed, ['logs:log', 'all:log', 'all:event']);
  });

  it('takes records for /tap only while a client reads it', () => {
    const taps = new Taps(() => 'h');
    const meta = containerMeta('e'.repeat(64), '/web', 'nginx', {});
    assert.equal(taps.takes(), false);
    const res = new PassThrough() as unknown as ServerResponse;
    Object.assign(res, { writeHead: () => res, flushHeaders: () => undefined });
    taps.add(res, { types: new Set(['log']), containers: new Selection() });
    assert.equal(taps.takes(), true);
    new Router([taps]).emit({ type: 'log', position: logPositions, time: 't', host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'hi' });
    assert.match(String((res as unknown as PassThrough).read()), /"message":"hi"/);
  });
});
