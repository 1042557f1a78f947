// Malformed answers from the daemon: the log-frame demultiplexer and line
// parser, the event-stream parser and the stats parser take any input without
// throwing, looping or buffering without bound, and skip what is not theirs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EventStreamParser, type DockerEvent } from '../../../src/docker/events.js';
import { FrameDemuxer, MAX_FRAME } from '../../../src/docker/frames.js';
import { LogLineParser, type LogLine } from '../../../src/docker/log-lines.js';
import { computeStats, sampleTime, type DockerStats } from '../../../src/sources/docker/stats.js';

/** Cuts `bytes` at the given points (any order, any count). */
function cut(bytes: Uint8Array, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(from, p)));
    from = p;
  }
  return out;
}

const RUNS = { numRuns: 300 };

describe('fuzz: log streams', () => {
  it('any bytes, in any chunks, multiplexed or TTY: no exception, lines are strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.array(fc.nat(), { maxLength: 20 }), fc.boolean(), (bytes, points, tty) => {
        const lines: LogLine[] = [];
        let faults = 0;
        const parser = new LogLineParser(tty, { line: (l) => lines.push(l), fault: () => faults++ }, 1024);
        for (const chunk of cut(bytes, points)) parser.push(chunk);
        parser.end();
        for (const l of lines) {
          assert.equal(typeof l.message, 'string');
          assert.ok(Buffer.byteLength(l.message) <= 1024 * 3, 'cut to the maximum (a replaced byte may take 3)');
        }
      }),
      RUNS,
    );
  });

  it('a frame header claiming gigabytes is skipped, not allocated, and the frames after it still read', () => {
    const got: string[] = [];
    const oversized: number[] = [];
    const demux = new FrameDemuxer(
      (_s, bytes, from, to) => got.push(bytes.toString('utf8', from, to)),
      (size) => oversized.push(size),
    );
    const huge = MAX_FRAME + 10;
    const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
    header.writeUInt32BE(huge, 4);
    const after = Buffer.from([1, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
    demux.push(header);
    for (let left = huge; left > 0; left -= 65536) demux.push(Buffer.alloc(Math.min(65536, left), 0x78));
    demux.push(after);
    assert.deepEqual(oversized, [huge]);
    assert.deepEqual(got, ['hi']);
    assert.equal(demux.midFrame, false);
  });
});

describe('fuzz: event stream', () => {
  it('any text or bytes, in any chunks: no exception; what is read is a well-formed event, the rest is counted', () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      fc
        .array(fc.oneof(fc.json(), fc.string(), fc.constant('{"Type":"container","Action":"start","Actor":{"ID":"x"},"timeNano":1}')), { maxLength: 20 })
        .map((lines) => new TextEncoder().encode(lines.join('\n') + '\n')),
    );
    fc.assert(
      fc.property(junk, fc.array(fc.nat(), { maxLength: 20 }), (bytes, points) => {
        const events: DockerEvent[] = [];
        let malformed = 0;
        const parser = new EventStreamParser({ event: (e) => events.push(e), malformed: () => malformed++ });
        for (const chunk of cut(bytes, points)) parser.push(chunk);
        for (const e of events) {
          for (const f of [e.type, e.action, e.actorId, e.scope]) assert.equal(typeof f, 'string');
          assert.match(e.timeNanos, /^\d+$/);
          for (const v of Object.values(e.attributes)) assert.equal(typeof v, 'string');
        }
      }),
      RUNS,
    );
  });
});

describe('fuzz: stats answers', () => {
  const anyAt = (keys: string[]): fc.Arbitrary<Record<string, unknown>> =>
    fc.record(Object.fromEntries(keys.map((k) => [k, fc.anything()])), { requiredKeys: [] });
  const answer = fc.oneof(
    fc.anything().map((v) => ({ cpu_stats: v, memory_stats: v, networks: v, blkio_stats: v, pids_stats: v, read: v })),
    fc.record(
      {
        read: fc.anything(),
        cpu_stats: anyAt(['cpu_usage', 'system_cpu_usage', 'online_cpus']),
        memory_stats: anyAt(['usage', 'limit', 'stats']),
        networks: fc.dictionary(fc.string(), fc.oneof(fc.anything(), anyAt(['rx_bytes', 'tx_bytes']))),
        blkio_stats: fc.record({ io_service_bytes_recursive: fc.oneof(fc.anything(), fc.array(fc.oneof(fc.anything(), anyAt(['op', 'value'])))) }),
        pids_stats: anyAt(['current']),
      },
      { requiredKeys: [] },
    ),
  );

  it('a denormal limit or system delta does not make a percentage infinite', () => {
    const s = computeStats(
      { memory_stats: { usage: 8.9e-18, limit: 5e-324 }, cpu_stats: { cpu_usage: { total_usage: 2 }, system_cpu_usage: 5e-324, online_cpus: 1 } },
      { cpu_usage: { total_usage: 1 }, system_cpu_usage: 0 },
    );
    assert.equal(s.memory.percent, 0);
    assert.equal(s.cpu_percent, null);
    const huge = computeStats(
      {
        memory_stats: { usage: 1e308, limit: 1 },
        blkio_stats: {
          io_service_bytes_recursive: [
            { op: 'read', value: 1e308 },
            { op: 'Read', value: 1e308 },
          ],
        },
      },
      undefined,
    );
    assert.equal(huge.memory.percent, 0);
    assert.equal(huge.blkio.read_bytes, 0);
  });

  it('whatever each field holds: no exception, and every value a finite number (or null CPU)', () => {
    fc.assert(
      fc.property(answer, answer, (cur, prev) => {
        const s = computeStats(cur as DockerStats, (prev as DockerStats).cpu_stats as never);
        const numbers = [s.cpu_seconds, s.memory.usage, s.memory.raw_usage, s.memory.limit, s.memory.percent, s.blkio.read_bytes, s.blkio.write_bytes, s.pids];
        for (const n of Object.values(s.network).flatMap((c) => Object.values(c))) numbers.push(n);
        if (s.cpu_percent !== null) numbers.push(s.cpu_percent);
        for (const n of numbers) assert.ok(typeof n === 'number' && Number.isFinite(n), `${n}`);
        JSON.parse(JSON.stringify(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('a `read` time that is not RFC 3339 becomes now', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        assert.match(sampleTime(text), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      }),
      RUNS,
    );
  });
});
