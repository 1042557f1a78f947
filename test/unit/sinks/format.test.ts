// How sinks lay out records: syslog structured data, the Elasticsearch bulk _id.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { containerMeta, envelope, logId, recordId, type FileRecord, type LogRecord } from '../../../src/core/record.js';
import { formatBody } from '../../../src/sinks/http/formats.js';
import { formatSyslog, SyslogLineWriter, truncateUtf8 } from '../../../src/sinks/syslog/format.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';
import { filePositions } from '../../../src/sources/files/position.js';

const TIME = '2026-01-02T03:04:05.123456789Z';
const meta = containerMeta('a'.repeat(64), '/app', 'img', {});
const file = { path: '/logs/a "b".log', dev: 1, ino: 2, fingerprint: 'cd'.repeat(32), generation: 1 };
const fileLine: FileRecord = { type: 'file', position: filePositions, time: TIME, host: 'h', path: file.path, message: 'hello', file, start: 0, end: 6 };
const logLine: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stderr', seq: 1, message: 'oops' };

describe('formatSyslog', () => {
  it('gives a file line its path in the structured data, with or without a container', () => {
    assert.equal(
      formatSyslog(envelope(fileLine), 'rfc5424', 1),
      '<14>1 2026-01-02T03:04:05.123456Z h sidekick - file [sidekick@32473 path="/logs/a \\"b\\".log"] hello',
    );
    assert.match(
      formatSyslog(envelope({ ...fileLine, container: meta }), 'rfc5424', 1),
      / app - file \[sidekick@32473 id="a{64}" name="app" image="img" path="[^"]*\\"b\\"\.log"\] hello$/,
    );
    assert.match(formatSyslog(envelope(logLine), 'rfc5424', 1), /^<11>1 .* stream="stderr"\] oops$/);
  });
});

describe('SyslogLineWriter', () => {
  /** What the writer writes of a line at `at` of a buffer with just bytesMost of room (undefined: left to formatSyslog). */
  const written = (w: SyslogLineWriter, r: LogRecord, at = 3): Buffer | undefined => {
    const head = w.headOf(r);
    const most = w.bytesMost(head, r);
    const buf = Buffer.alloc(at + most + 1, 0xee);
    const end = w.write(head, r, buf, at);
    assert.equal(buf[at + most], 0xee, 'nothing past its room');
    return end < 0 ? undefined : buf.subarray(at, end);
  };

  it("property: writes a log line as formatSyslog's text in UTF-8, within the room it asks for, in both formats", () => {
    const times = fc.constantFrom(TIME, '2026-12-31T23:59:59Z', '2026-10-09T00:00:00.1Z', '2026-13-00T03:04:05.123Z', '2026-01-02T03:04:05.1234567é');
    const writers = [new SyslogLineWriter('rfc5424', 1), new SyslogLineWriter('rfc3164', 23), new SyslogLineWriter('rfc5424', 0)];
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc.record({ time: times, stream: fc.constantFrom<'stdout' | 'stderr'>('stdout', 'stderr'), host: fc.constantFrom('h', 'hôte "1"', '') }),
        fc.string(),
        (name, image, message, o, tag) => {
          const m = { ...containerMeta('a'.repeat(64), name, image, { 'é "x"': ']' }), ...(tag === '' ? {} : { tag }) };
          const r: LogRecord = { ...logLine, container: m, message, time: o.time, stream: o.stream, host: o.host };
          for (const w of writers) {
            const format = w === writers[1] ? 'rfc3164' : 'rfc5424';
            const facility = w === writers[1] ? 23 : w === writers[0] ? 1 : 0;
            const bytes = written(w, r);
            if (o.time.includes('é')) assert.equal(bytes, undefined, 'a time of another form is left to formatSyslog');
            else assert.equal(bytes?.toString('utf8'), Buffer.from(formatSyslog(envelope(r), format, facility)).toString('utf8'));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes a line of a host named anew with the new name', () => {
    const w = new SyslogLineWriter('rfc5424', 1);
    assert.match(written(w, logLine)?.toString() ?? '', / h app - log /);
    assert.match(written(w, { ...logLine, host: 'other' })?.toString() ?? '', / other app - log /);
  });
});

describe('syslog from hostile output', () => {
  const RFC5424 = /^<\d{1,3}>1 \S+ [\x21-\x7e]{1,255} [\x21-\x7e]{1,48} - [\x21-\x7e]+ (-|\[sidekick@32473( [a-z]+="([^"\\\]]|\\["\\\]])*")+\]) /s;

  it('property: any container name, label, path and message give a well-formed header and structured data', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string({ unit: 'binary' }), (name, image, path, message) => {
        const m = containerMeta('a'.repeat(64), name, image, {});
        const log = formatSyslog(envelope({ ...logLine, container: m, message }), 'rfc5424', 1);
        assert.match(log, RFC5424);
        assert.ok(log.endsWith(message));
        const fromFile = formatSyslog(envelope({ ...fileLine, path, container: m, message }), 'rfc5424', 1);
        assert.match(fromFile, RFC5424);
        const old = formatSyslog(envelope({ ...logLine, container: m, message }), 'rfc3164', 1);
        assert.match(old, /^<\d{1,3}>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [\x21-\x7e]+ [\x21-\x7e]{1,32}: /s);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a UDP datagram cut to its size is still valid UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 0, max: 64 }), (text, max) => {
        const cut = truncateUtf8(Buffer.from(text), max);
        assert.ok(cut.length <= max);
        assert.equal(Buffer.from(cut.toString('utf8')).equals(cut), true, 'no character split');
      }),
      { numRuns: 300 },
    );
  });
});

describe('formatBody ndjson', () => {
  it("is each record's JSON a line, in UTF-8; a body stays whole while the next is made (requests in flight)", () => {
    const o = { format: 'ndjson', index: 'logs', sourcetype: 's' } as const;
    const first = [logLine, { ...logLine, seq: 2, message: 'é "quoted" 🐳' }, fileLine].map(envelope);
    const second = [{ ...logLine, seq: 3, message: 'x'.repeat(300) }].map(envelope);
    const a = formatBody(first, o);
    const b = formatBody(second, o);
    assert.equal(a.contentType, 'application/x-ndjson');
    assert.equal(a.text.toString(), first.map((e) => `${e.json}\n`).join(''));
    assert.equal(b.text.toString(), second.map((e) => `${e.json}\n`).join(''));
  });
});

describe('formatBody elasticsearch', () => {
  it('names each record by its id, so a record sent twice is stored once', () => {
    const event = envelope({ type: 'event', time: TIME, host: 'h', object: 'network', action: 'create', actor: { id: 'n', attributes: {} }, scope: 'local' });
    const stats = envelope({
      type: 'stats',
      time: TIME,
      host: 'h',
      container: meta,
      stats: {
        cpu_percent: null,
        cpu_seconds: 0,
        memory: { usage: 0, raw_usage: 0, limit: 0, percent: 0 },
        network: {},
        blkio: { read_bytes: 0, write_bytes: 0 },
        pids: 0,
      },
    });
    const inspect = envelope({ type: 'inspect', time: TIME, host: 'h', container: meta, inspect: { State: { StartedAt: TIME } } });
    const gap = envelope({ type: 'gap', time: TIME, host: 'h', dropped: 1, from: TIME, to: TIME, reason: 'buffer_full' });
    const batch = [envelope(logLine), envelope(fileLine), event, stats, inspect, gap];
    const lines = formatBody(batch, { format: 'elasticsearch', index: 'logs', sourcetype: 's' }).text.toString().split('\n');
    assert.equal(lines[0], `{"create":{"_index":"logs","_id":"${logId(logLine)}"}}`);
    assert.equal(lines[2], `{"create":{"_index":"logs","_id":"${'cd'.repeat(8)}-0"}}`);
    batch.forEach((e, i) => {
      assert.equal(lines[2 * i], `{"create":{"_index":"logs","_id":"${recordId(e.record)}"}}`, e.record.type);
      assert.equal(lines[2 * i + 1], e.json);
    });
    assert.equal(new Set(batch.map((e) => recordId(e.record))).size, batch.length);
  });
});
