// The syslog sinks write a log line's message straight into a buffer (over
// UDP each record one datagram, a view of the batch's buffer; over TCP the
// batch's messages framed by their lengths in one buffer): the same bytes as
// its text.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { containerMeta, envelope, type LogRecord, type SidekickRecord } from '../../../src/core/record.js';
import { formatSyslog, truncateUtf8 } from '../../../src/sinks/syslog/format.js';
import { syslogSink } from '../../../src/sinks/syslog/sink.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';
import { waitFor } from '../wait.js';
import { sinkContext } from './context.js';

const TIME = '2026-01-02T03:04:05.123456789Z';
const meta = containerMeta('a'.repeat(64), '/app', 'img', { 'é "x"': ']' });
const line = (i: number, message: string, time = TIME): LogRecord => ({
  type: 'log',
  position: logPositions,
  time,
  host: 'h',
  container: meta,
  stream: i % 2 === 0 ? 'stdout' : 'stderr',
  seq: i,
  message,
});

describe('syslog sinks', () => {
  it('over UDP, sends each record as its message: lines filling several buffers, a long one cut to max, another record, a time of another form', async () => {
    const rx = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    const got: Buffer[] = [];
    rx.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve));
    const max = 1500;
    const uri = `syslog+udp://127.0.0.1:${rx.address().port}?max=${max}&format=rfc3164&facility=local0`;
    const sink = syslogSink.parse(new URL(uri), uri).create(sinkContext(), {});
    try {
      const records: SidekickRecord[] = [];
      // About 700 KB of lines, more than ten of the sink's 64 KiB buffers, some of them not ASCII.
      for (let i = 0; i < 1000; i++) records.push(line(i, `${i} ${i % 7 === 0 ? 'é語🐳' : ''}${'x'.repeat(600 + (i % 100))}`));
      records.push(line(1000, 'y'.repeat(100_000)));
      records.push({ type: 'event', time: TIME, host: 'h', object: 'container', action: 'die', actor: { id: 'b'.repeat(64), attributes: {} }, scope: 'local' });
      records.push(line(1001, 'a time not of the engine’s form', '2026-01-02T03:04:05.1é'));
      const batch = records.map(envelope);
      const want = batch.map((e) => truncateUtf8(Buffer.from(formatSyslog(e, 'rfc3164', 16)), max).toString('hex'));
      // Two batches one after the other: the second reuses what the first wrote into.
      await sink.write(batch.slice(0, 600));
      await sink.write(batch.slice(600));
      await waitFor('every datagram', () => got.length >= want.length);
      assert.deepEqual(
        got.map((d) => d.toString('hex')),
        want,
      );
    } finally {
      await sink.stop();
      rx.close();
    }
  });

  it('over TCP, frames each record by its length in bytes: lines of every length of digits, filling more than one buffer, another record, a time of another form', async () => {
    const chunks: Buffer[] = [];
    const server = createServer((c) => c.on('data', (d: Buffer) => chunks.push(d)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const uri = `syslog+tcp://127.0.0.1:${(server.address() as AddressInfo).port}?facility=daemon`;
    const sink = syslogSink.parse(new URL(uri), uri).create(sinkContext(), {});
    try {
      const records: SidekickRecord[] = [];
      // Messages of 0 to 1,200 characters: lengths of 2 to 4 digits, some a digit short of the room their most took.
      for (let i = 0; i < 400; i++) records.push(line(i, `${i % 5 === 0 ? 'é語🐳' : ''}${'x'.repeat((i * 3) % 1200)}`));
      records.push({ type: 'event', time: TIME, host: 'h', object: 'container', action: 'die', actor: { id: 'b'.repeat(64), attributes: {} }, scope: 'local' });
      records.push(line(1001, 'a time not of the engine’s form', '2026-01-02T03:04:05.1é'));
      const batch = records.map(envelope);
      const want = Buffer.concat(
        batch.map((e) => {
          const msg = Buffer.from(formatSyslog(e, 'rfc5424', 3));
          return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
        }),
      );
      // Two batches one after the other: the second reuses the buffer the first was written into.
      await sink.write(batch.slice(0, 250));
      await sink.write(batch.slice(250));
      await waitFor('every message', () => Buffer.concat(chunks).length >= want.length);
      assert.equal(Buffer.concat(chunks).toString('hex'), want.toString('hex'));
    } finally {
      await sink.stop();
      server.close();
    }
  });
});
