import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBuffer } from '../../../src/pipeline/buffer/disk/disk-buffer.js';
import { RecordBuffer } from '../../../src/pipeline/buffer/memory.js';
import { SinkDriver, type ReadAgainFor } from '../../../src/pipeline/driver.js';
import { containerMeta, envelope, type Envelope, type LogPosition, type LogRecord } from '../../../src/core/record.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { SinkError, type Sink } from '../../../src/sinks/sink.js';
import { gate, timersMadeBy, waitFor } from '../wait.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const log = pino({ level: 'silent' });
const meta = containerMeta('c'.repeat(64), '/app', 'app:1', {});

function time(i: number): string {
  return `2024-01-02T03:04:05.${String(i).padStart(9, '0')}Z`;
}

function rec(i: number): Envelope {
  return envelope({ type: 'log', position: logPositions, time: time(i), host: 'h', container: meta, stream: 'stdout', seq: 1, message: `m${i}` });
}

function messages(es: readonly Envelope[]): string[] {
  return es.map((e) => (e.record.type === 'log' ? e.record.message : e.record.type));
}

/** A container's log as a source that can read it again: what was written, read from a position on. */
class LogSource {
  private readonly written: Envelope[] = [];
  reads = 0;
  gone = false;

  write(i: number): Envelope {
    const e = rec(i);
    this.written.push(e);
    return e;
  }

  readonly readAgain: ReadAgainFor = async (key, from, into) => {
    if (this.gone) return false;
    this.reads++;
    const codec = from.codec;
    for (const { record } of [...this.written]) {
      const through = codec.through(record);
      if (codec.key(record) !== key || codec.same(codec.least(through, from.at), through)) continue;
      await into.flow.ready(into.signal);
      if (into.signal.aborted) return true;
      into.emit(record);
    }
    return true;
  };
}

describe('SinkDriver', () => {
  it('delivers pushed records in order', async () => {
    const sink = new MemorySink();
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    for (let i = 0; i < 2000; i++) ch.push(rec(i));
    await waitFor('all delivered', () => sink.received.length === 2000);
    assert.deepEqual(
      messages(sink.received),
      Array.from({ length: 2000 }, (_, i) => `m${i}`),
    );
    assert.equal(ch.counts.sent, 2000);
    assert.equal(ch.counts.dropped, 0);
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('writes the batch the buffer gave, not a copy, when no gap record goes first', async () => {
    const given: Envelope[][] = [];
    class Watched extends RecordBuffer {
      override shift(max: number, maxBytes?: number): Envelope[] {
        const batch = super.shift(max, maxBytes);
        given.push(batch);
        return batch;
      }
    }
    const written: (readonly Envelope[])[] = [];
    const sink = new MemorySink();
    const write = sink.write.bind(sink);
    sink.write = (batch) => {
      written.push(batch);
      return write(batch);
    };
    const ch = new SinkDriver(sink, log, undefined, new Watched(1000, 1 << 20));
    await ch.start();
    for (let i = 0; i < 10; i++) {
      ch.push(rec(i));
      await waitFor('delivered', () => sink.received.length === i + 1);
    }
    assert.equal(written.length, 10);
    assert.ok(
      written.every((batch) => given.includes(batch as Envelope[])),
      'each batch written is the array shift() gave',
    );
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('tells, per container, the time of its oldest record not delivered yet: written or waiting', async () => {
    const other = containerMeta('d'.repeat(64), '/other', 'app:1', {});
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    const ms = 1_000_000;
    ch.push(rec(5 * ms));
    await waitFor('the first batch written', () => ch.depth.records === 0);
    ch.push(rec(7 * ms));
    ch.push(envelope({ type: 'log', position: logPositions, time: time(3 * ms), host: 'h', container: other, stream: 'stdout', seq: 1, message: 'o' }));
    const oldest = new Map<string, number>();
    ch.acks.oldestUnacked(oldest);
    assert.deepEqual(
      oldest,
      new Map([
        [meta.id, Date.parse(time(5 * ms))],
        [other.id, Date.parse(time(3 * ms))],
      ]),
    );
    slow.open();
    await waitFor('all delivered', () => sink.received.length === 3);
    const none = new Map<string, number>();
    ch.acks.oldestUnacked(none);
    assert.equal(none.size, 0);
    await ch.close(Date.now() + 1000);
  });

  it('hands every sink the same serialized JSON', async () => {
    const sink = new MemorySink();
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    const e = rec(1);
    ch.push(e);
    await waitFor('delivered', () => sink.received.length === 1);
    assert.equal(sink.received[0], e);
    await ch.close(Date.now() + 1000);
  });

  it('lets a batch wait out flushMs without a timer a record: pushes meanwhile wake no worker until the batch is full', async () => {
    const writes: number[] = [];
    const sink: Sink = {
      name: 'lingering://',
      batching: { flushMs: 200, records: 150 },
      start: async () => undefined,
      write: async (batch) => void writes.push(batch.length),
      stop: async () => undefined,
    };
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(rec(0));
    await new Promise((resolve) => setImmediate(resolve));
    const timers = await timersMadeBy(async () => {
      for (let i = 1; i < 100; i++) {
        ch.push(rec(i));
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    assert.equal(timers, 0);
    assert.deepEqual(writes, []);
    await waitFor('the batch after flushMs', () => writes.length === 1);
    assert.deepEqual(writes, [100]);
    // A full batch goes at once.
    for (let i = 100; i < 250; i++) ch.push(rec(i));
    await waitFor('the full batch', () => writes.length === 2);
    assert.equal(writes[1], 150);
    await ch.close(Date.now() + 1000);
  });

  it('keeps small batches gapMs apart: a lone record goes at once, a trickle in a few batches, a full batch without waiting', async () => {
    const writes: { size: number; at: number }[] = [];
    const sink: Sink = {
      name: 'trickle://',
      batching: { gapMs: 200, records: 50 },
      start: async () => undefined,
      write: async (batch) => void writes.push({ size: batch.length, at: Date.now() }),
      stop: async () => undefined,
    };
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    const started = Date.now();
    ch.push(rec(0));
    await waitFor('the lone record', () => writes.length === 1);
    assert.ok(writes[0]!.at - started < 100, `the lone record waited ${writes[0]!.at - started} ms`);
    // A record every 10 ms for 400 ms: a batch a record without the gap.
    for (let i = 1; i <= 40; i++) {
      ch.push(rec(i));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor('the trickle delivered', () => writes.reduce((n, w) => n + w.size, 0) === 41);
    assert.ok(writes.length <= 5, `${writes.length} batches: ${writes.map((w) => w.size).join(', ')}`);
    for (let i = 2; i < writes.length; i++) assert.ok(writes[i]!.at - writes[i - 1]!.at >= 190, 'small batches are gapMs apart');
    // A full batch goes at once.
    const before = writes.length;
    const fullAt = Date.now();
    for (let i = 41; i < 91; i++) ch.push(rec(i));
    await waitFor('the full batch', () => writes.length === before + 1);
    assert.equal(writes.at(-1)!.size, 50);
    assert.ok(writes.at(-1)!.at - fullAt < 100, 'the full batch did not wait');
    await ch.close(Date.now() + 1000);
  });

  it('never blocks push() on a slow sink; drops the oldest when full and counts them', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const ch = new SinkDriver(sink, log, undefined, new RecordBuffer(5, 1 << 30, 'drop-oldest'));
    await ch.start();
    ch.push(rec(0));
    await waitFor('the first record in flight', () => ch.depth.records === 0);
    const started = Date.now();
    for (let i = 1; i <= 10; i++) ch.push(rec(i));
    assert.ok(Date.now() - started < 100, 'push returns at once');
    assert.equal(sink.received.length, 0, 'the sink has not taken anything yet');
    assert.equal(ch.depth.records, 5);
    assert.equal(ch.counts.dropped, 5);

    slow.open();
    sink.delay = undefined;
    await waitFor('the rest delivered', () => sink.received.length === 6);
    assert.deepEqual(messages(sink.received), ['m0', 'm6', 'm7', 'm8', 'm9', 'm10']);
    assert.equal(ch.counts.sent, 6);

    // The loss is reported in-band, at the latest when the channel closes.
    assert.equal(await ch.close(Date.now() + 2000), 0);
    const gaps = sink.received.filter((e) => e.record.type === 'gap');
    assert.equal(gaps.length, 1);
    const gap = JSON.parse(gaps[0]!.json) as Record<string, unknown>;
    assert.equal(gap['dropped'], 5);
    assert.equal(gap['from'], time(1));
    assert.equal(gap['to'], time(5));
    assert.equal(gap['reason'], 'buffer_full');
    assert.deepEqual(gap['container'], JSON.parse(JSON.stringify(meta)));
  });

  it('counts every record one push drops to make room', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const small = rec(1);
    const bytes = 4 * (small.json.length + 400);
    const ch = new SinkDriver(sink, log, undefined, new RecordBuffer(1000, bytes, 'drop-oldest'));
    await ch.start();
    ch.push(rec(0));
    await waitFor('the first record in flight', () => ch.depth.records === 0);
    let n = 1;
    while (ch.counts.dropped === 0) ch.push(rec(n++));
    const before = ch.counts.dropped;
    const held = ch.depth.records;
    assert.ok(held >= 3, `${held} held`);
    // A record nearly as big as the whole buffer leaves room for nothing else.
    const sized = (n: number): Envelope =>
      envelope({ type: 'log', position: logPositions, time: time(99), host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'x'.repeat(n) });
    let len = 0;
    while (sized(len).size <= bytes - small.size) len++;
    const big = sized(len);
    assert.ok(big.size <= bytes);
    ch.push(big);
    assert.equal(ch.depth.records, 1);
    assert.equal(ch.counts.dropped - before, held);
    slow.open();
    sink.delay = undefined;
    await ch.close(Date.now() + 2000);
    const sent = sink.received.filter((e) => e.record.type !== 'gap');
    assert.equal(sent.length, 2);
    assert.equal(sent[1], big);
  });

  it('close(deadline) delivers what is buffered and returns 0', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    for (let i = 0; i < 5; i++) ch.push(rec(i));
    setTimeout(() => {
      sink.delay = undefined;
      slow.open();
    }, 30);
    const left = await ch.close(Date.now() + 3000);
    assert.equal(left, 0);
    assert.deepEqual(messages(sink.received), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(ch.counts.unflushed, 0);
  });

  it('ignores records pushed after close', async () => {
    const sink = new MemorySink();
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(rec(1));
    await ch.close(Date.now() + 1000);
    ch.push(rec(2));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(messages(sink.received), ['m1']);
    assert.equal(ch.depth.records, 0);
  });

  it('close(deadline) returns how many records were not delivered when the sink is stuck past the deadline', async () => {
    const sink = new MemorySink();
    sink.delay = new Promise<void>(() => {}); // never
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(rec(0));
    await waitFor('the first record in flight', () => ch.depth.records === 0);
    ch.push(rec(1));
    ch.push(rec(2));
    const started = Date.now();
    const left = await ch.close(Date.now() + 100);
    assert.ok(Date.now() - started < 1000, 'close keeps to its deadline');
    assert.equal(sink.received.length, 0);
    // m0 is stuck in the sink's write, m1 and m2 never left the buffer: none was delivered.
    assert.equal(left, 3);
    assert.equal(sink.stopped, 1);
  });

  it('retries a failing sink until it takes the records, and counts the retries', async () => {
    const sink = new MemorySink();
    sink.fail = new Error('connection refused');
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(rec(1));
    ch.push(rec(2));
    await waitFor('a failed write', () => ch.counts.retried >= 2);
    assert.equal(ch.error, 'connection refused');
    assert.equal(ch.counts.sent, 0);
    sink.fail = undefined;
    await waitFor('delivered after the retry', () => sink.received.length === 2);
    assert.deepEqual(messages(sink.received), ['m1', 'm2']);
    assert.equal(ch.counts.sent, 2);
    assert.equal(ch.error, undefined);
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('counts a batch the sink refuses for good as rejected and goes on', async () => {
    const sink = new MemorySink();
    sink.fail = new SinkError('HTTP 400 Bad Request', 'http_400', false);
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    for (let i = 0; i < 3; i++) ch.push(rec(i));
    await waitFor('rejected', () => ch.counts.rejected === 3);
    assert.equal(ch.counts.retried, 0);
    assert.equal(ch.counts.sent, 0);
    sink.fail = undefined;
    ch.push(rec(3));
    await waitFor('the next record delivered', () => sink.received.length === 1);
    assert.deepEqual(messages(sink.received), ['m3']);
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('writes again only the records a sink names as failed, and counts the others delivered or rejected', async () => {
    const writes: string[][] = [];
    const sink: Sink = {
      name: 'partial://',
      start: async () => {},
      stop: async () => {},
      write: async (batch) => {
        writes.push(messages(batch));
        if (writes.length > 1) return;
        // m0 stored, m1 refused for good, m2 and m3 to try again.
        throw new SinkError('bulk', 'bulk_item', true, undefined, { retry: [batch[2]!, batch[3]!], rejected: [batch[1]!] });
      },
    };
    const ch = new SinkDriver(sink, log, undefined);
    for (let i = 0; i < 4; i++) ch.push(rec(i));
    await ch.start();
    await waitFor('the failed part written again', () => writes.length === 2);
    assert.deepEqual(writes, [
      ['m0', 'm1', 'm2', 'm3'],
      ['m2', 'm3'],
    ]);
    assert.equal(await ch.close(Date.now() + 1000), 0);
    assert.deepEqual({ ...ch.counts }, { sent: 3, dropped: 0, retried: 2, rejected: 1, unflushed: 0 });
  });

  it('holds a batch in flight from the moment it leaves the buffer: a write settled meanwhile acks nothing past it', async () => {
    // Two writes at once: one settles just as the other worker takes a record
    // of the same container, at each moment around it.
    for (let later = 0; later < 4; later++) {
      const writes: (() => void)[] = [];
      const sink: Sink = {
        name: 'parallel://',
        batching: { records: 1, inFlight: 2 },
        start: async () => {},
        stop: async () => {},
        write: () => new Promise<void>((resolve) => writes.push(resolve)),
      };
      const ch = new SinkDriver(sink, log, undefined);
      await ch.start();
      const acked: unknown[] = [];
      ch.onSettled(() => acked.push(ch.acks.doneWith(meta.id)?.at));
      ch.push(rec(1));
      await waitFor('the first record written', () => writes.length === 1);
      const second = rec(2);
      writes[0]!();
      const push = (n: number): void => (n === 0 ? ch.push(second) : queueMicrotask(() => push(n - 1)));
      push(later);
      await waitFor('the first write settled', () => acked.length === 1);
      const notPast = logPositions.from(second.record as LogRecord);
      assert.ok(
        logPositions.same(logPositions.least(acked[0] as LogPosition, notPast), acked[0] as LogPosition),
        `${later} microtasks later: ${JSON.stringify(acked[0])}`,
      );
      await waitFor('the second record written', () => writes.length === 2);
      writes[1]!();
      assert.equal(await ch.close(Date.now() + 1000), 0);
    }
  });

  it('gives up on a failing sink at the deadline and counts what is left', async () => {
    const sink = new MemorySink();
    sink.fail = new Error('down');
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(rec(1));
    ch.push(rec(2));
    await waitFor('a failed write', () => ch.counts.retried > 0);
    const started = Date.now();
    assert.equal(await ch.close(Date.now() + 50), 2);
    assert.ok(Date.now() - started < 1000);
    assert.equal(ch.counts.unflushed, 2);
  });

  it('writes nothing more once the deadline passed and the sink is stopped: what is left is unflushed, not rejected', async () => {
    let stopped = false;
    let afterStop = 0;
    const sink: Sink = {
      name: 'slow-and-down://',
      batching: { records: 10, inFlight: 2 },
      start: async () => undefined,
      write: async () => {
        if (stopped) {
          afterStop++;
          // As the HTTP and OTLP sinks do once their pool is closed.
          throw new SinkError('written before start', 'state', false);
        }
        await new Promise((resolve) => setTimeout(resolve, 40));
        throw new SinkError('connection refused', 'econnrefused', true);
      },
      stop: async () => {
        stopped = true;
      },
    };
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    for (let i = 0; i < 200; i++) ch.push(rec(i));
    assert.equal(await ch.close(Date.now() + 100), 200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(afterStop, 0);
    assert.deepEqual({ ...ch.counts }, { sent: 0, dropped: 0, retried: ch.counts.retried, rejected: 0, unflushed: 200 });
  });

  it('calls sink.start and sink.stop once each', async () => {
    const sink = new MemorySink();
    const ch = new SinkDriver(sink, log, undefined);
    assert.equal(sink.started, 0);
    await ch.start();
    await ch.start();
    assert.equal(sink.started, 1);
    assert.equal(sink.stopped, 0);
    ch.push(rec(1));
    await ch.close(Date.now() + 1000);
    assert.equal(sink.started, 1);
    assert.equal(sink.stopped, 1);
  });

  it('under the block policy falls behind when full, never holding the sources, and catches up by reading again', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const source = new LogSource();
    const ch = new SinkDriver(sink, log, source.readAgain, new RecordBuffer(4, 1 << 30, 'block'));
    await ch.start();
    // The sink is stuck: past its 4 records (and the batch being written), the rest is left behind, not dropped.
    for (let i = 0; i < 100; i++) ch.push(source.write(i));
    assert.ok(ch.depth.records <= 4, `${ch.depth.records} records held`);
    assert.equal(ch.counts.dropped, 0);
    assert.equal(source.reads, 0, 'not read again while full');
    // What cannot be read again is dropped while full, counted, and told in a gap.
    ch.push(envelope({ type: 'event', time: time(100), host: 'h', container: meta, action: 'start', attributes: {} } as never));
    assert.equal(ch.counts.dropped, 1);
    // Back: it reads the log again from where it is done, while live lines keep coming.
    sink.delay = undefined;
    slow.open();
    for (let i = 100; i < 200; i++) {
      ch.push(source.write(i));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('every line', () => sink.received.filter((e) => e.record.type === 'log').length >= 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = sink.received.filter((e) => e.record.type === 'log');
    assert.deepEqual(
      messages(lines),
      Array.from({ length: 200 }, (_, i) => `m${i}`),
      'each line once, in order',
    );
    assert.ok(source.reads >= 1);
    await waitFor('the gap', () => sink.received.some((e) => e.record.type === 'gap'));
    assert.deepEqual(
      sink.received.filter((e) => e.record.type === 'gap').map((e) => e.record.type === 'gap' && e.record.dropped),
      [1],
    );
    // Caught up: live lines go straight in again.
    ch.push(source.write(200));
    await waitFor('the next line', () => sink.received.filter((e) => e.record.type === 'log').length === 201);
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('under the block policy counts what it left of a source that can no longer be read again as lost, in a gap', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const source = new LogSource();
    const ch = new SinkDriver(sink, log, source.readAgain, new RecordBuffer(4, 1 << 30, 'block'));
    await ch.start();
    for (let i = 0; i < 50; i++) ch.push(source.write(i));
    source.gone = true;
    sink.delay = undefined;
    slow.open();
    await waitFor('the gap', () => sink.received.some((e) => e.record.type === 'gap'));
    const held = sink.received.filter((e) => e.record.type === 'log').length;
    const gap = sink.received.find((e) => e.record.type === 'gap')!.record;
    assert.equal(gap.type === 'gap' && gap.dropped, 50 - held);
    assert.equal(ch.counts.dropped, 50 - held);
    assert.equal(await ch.close(Date.now() + 1000), 0);
  });

  it('under the block policy is done with a source it fell behind on only up to what it has, for the checkpoints', async () => {
    const sink = new MemorySink();
    const slow = gate();
    sink.delay = slow.promise;
    const other = containerMeta('d'.repeat(64), '/other', 'app:1', {});
    const ch = new SinkDriver(sink, log, new LogSource().readAgain, new RecordBuffer(2, 1 << 30, 'block'));
    await ch.start();
    for (let i = 0; i < 3; i++) ch.push(rec(i));
    // Full before any line of the other container went in: done only up to before its first.
    const first = envelope({ type: 'log', position: logPositions, time: time(7), host: 'h', container: other, stream: 'stdout', seq: 1, message: 'o' });
    ch.push(first);
    assert.deepEqual(ch.acks.doneWith(other.id)?.at, { time: time(7), count: 0 });
    assert.deepEqual(ch.acks.doneWith(meta.id)?.at, { time: time(0), count: 0 }, 'before the line being written');
    slow.open();
    await ch.close(Date.now() + 100);
  });

  it('with a disk buffer: what is on disk is done with for its source while the sink is down, and delivered once it is back, also by the next process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-driver-disk-'));
    try {
      const sink = new MemorySink();
      sink.fail = new SinkError('down', 'io', true);
      const disk = (): DiskBuffer => new DiskBuffer({ dir, maxBytes: 1 << 20, policy: 'block', corrupt: () => undefined });
      let ch = new SinkDriver(sink, log, undefined, disk());
      const settled: string[][] = [];
      ch.onSettled((batch) => settled.push(messages(batch)));
      await ch.start();
      for (let i = 1; i <= 3; i++) ch.push(rec(i));
      await waitFor('written to disk', () => settled.length === 1);
      assert.deepEqual(settled, [['m1', 'm2', 'm3']]);
      const done = ch.acks.doneWith(meta.id)?.at as LogPosition;
      assert.ok(logPositions.same(done, logPositions.through(rec(3).record as LogRecord)), JSON.stringify(done));
      await waitFor('a failed write', () => ch.counts.retried > 0);
      assert.equal(await ch.close(Date.now() + 10), 3);
      // The next process sends them once the sink is back.
      sink.fail = undefined;
      ch = new SinkDriver(sink, log, undefined, disk());
      await ch.start();
      await waitFor('delivered', () => sink.received.length === 3);
      assert.deepEqual(messages(sink.received), ['m1', 'm2', 'm3']);
      assert.equal(await ch.close(Date.now() + 1000), 0);
      ch = new SinkDriver(sink, log, undefined, disk());
      assert.equal(ch.depth.records, 0, 'acknowledged: not sent again');
      await ch.close(Date.now());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
