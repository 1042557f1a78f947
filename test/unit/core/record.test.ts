import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { getHeapStatistics } from 'node:v8';
import { nanosToSince } from '../../../src/docker/events.js';
import {
  containerMeta,
  ENVELOPE_OVERHEAD,
  envelope,
  type Envelope,
  millisToTime,
  nanosToTime,
  nowTime,
  recordId,
  serialize,
  storedEnvelopeOf,
  timeToSince,
  type EventRecord,
  type FileRecord,
  type GapRecord,
  type InspectRecord,
  type LogRecord,
  type SidekickRecord,
  type StatsRecord,
} from '../../../src/core/record.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';
import { filePositions } from '../../../src/sources/files/position.js';
import { collectGarbage } from '../wait.js';

const ID = '2f1e8c7a6b5d4c3b2a1908f7e6d5c4b3a2918070f6e5d4c3b2a190807f6e5d4c';
const TIME = '2023-11-14T22:13:20.123456789Z';
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

const labels = {
  'com.docker.compose.project': 'shop',
  'com.docker.compose.service': 'web',
  'org.opencontainers.image.title': 'web "front" \\ end',
};
const meta = containerMeta(ID, '/shop-web-1', 'nginx:1.27', labels);

const expectedContainer = {
  id: ID,
  name: 'shop-web-1',
  image: 'nginx:1.27',
  labels,
  compose: { project: 'shop', service: 'web' },
};

function parsed(json: string): Record<string, unknown> {
  assert.ok(!json.includes('\n'), 'one line');
  return JSON.parse(json) as Record<string, unknown>;
}

describe('serialize', () => {
  it('writes a log record that parses back to exactly its fields, in schema order', () => {
    const record: LogRecord = {
      type: 'log',
      position: logPositions,
      time: TIME,
      host: 'docker-01',
      container: meta,
      stream: 'stderr',
      seq: 3,
      message: 'quote " backslash \\ tab \t newline-less \u2028 é 🐳 \u0000',
    };
    const back = parsed(serialize(record));
    assert.deepEqual(back, {
      type: 'log',
      time: TIME,
      host: 'docker-01',
      id: `${meta.id.slice(0, 16)}-${TIME.replace(/[^0-9]/g, '')}-3`,
      container: expectedContainer,
      stream: 'stderr',
      message: record.message,
    });
    assert.deepEqual(Object.keys(back), ['type', 'time', 'host', 'id', 'container', 'stream', 'message']);
  });

  it('property: writes any message of a log or file line as JSON.stringify does', () => {
    const file = { path: '/logs/a.log', dev: 1, ino: 2, fingerprint: 'cd'.repeat(32), generation: 1 };
    // Every UTF-16 unit, lone surrogates too, and the characters JSON escapes, often.
    const unit = fc.oneof(
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', '\ud83d', '\ude00', '🐳', 'é'),
      fc.string({ unit: 'binary', maxLength: 1 }),
    );
    fc.assert(
      fc.property(
        fc.array(unit, { maxLength: 40 }).map((units) => units.join('')),
        fc.boolean(),
        (message, truncated) => {
          const log: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stdout', seq: 1, message };
          const line: FileRecord = { type: 'file', position: filePositions, time: TIME, host: 'h', path: file.path, message, file, start: 0, end: 1 };
          const end = truncated ? ',"truncated":true}' : '}';
          for (const r of [log, line]) {
            const json = serialize(truncated ? { ...r, truncated: true } : r);
            assert.ok(json.endsWith(`,"message":${JSON.stringify(message)}${end}`), json);
            assert.equal(parsed(json)['message'], message);
          }
        },
      ),
    );
  });

  it('property: writes a message marked plain (ASCII, nothing JSON escapes) as JSON.stringify does, without a field for the mark', () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
    fc.assert(
      fc.property(
        printable.filter((m) => !m.includes('"') && !m.includes('\\')),
        fc.constantFrom<'stdout' | 'stderr'>('stdout', 'stderr'),
        (message, stream) => {
          const log: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream, seq: 1, message };
          assert.equal(serialize({ ...log, plain: true }), serialize(log));
          assert.ok(serialize(log).endsWith(`"stream":"${stream}","message":${JSON.stringify(message)}}`));
        },
      ),
    );
  });

  it('adds truncated: true only to a cut log line', () => {
    const base: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'abc' };
    const cut = parsed(serialize({ ...base, truncated: true }));
    assert.equal(cut['truncated'], true);
    assert.deepEqual(Object.keys(cut), ['type', 'time', 'host', 'id', 'container', 'stream', 'message', 'truncated']);
    assert.equal('truncated' in parsed(serialize(base)), false);
  });

  it('writes a file line with its path and an id from its file and offset, without its internal fields', () => {
    const file = { path: '/logs/app.log', dev: 2049, ino: 77, fingerprint: 'ab'.repeat(32), generation: 3 };
    const record: FileRecord = {
      type: 'file',
      position: filePositions,
      time: TIME,
      host: 'h',
      container: meta,
      path: file.path,
      message: 'GET / 200',
      file,
      start: 120,
      end: 130,
    };
    const back = parsed(serialize(record));
    assert.deepEqual(back, {
      type: 'file',
      time: TIME,
      host: 'h',
      id: `${'ab'.repeat(8)}-120`,
      container: expectedContainer,
      path: '/logs/app.log',
      message: 'GET / 200',
    });
    const hostOnly = parsed(serialize({ ...record, container: undefined, truncated: true }));
    assert.deepEqual(Object.keys(hostOnly), ['type', 'time', 'host', 'id', 'path', 'message', 'truncated']);
  });

  it('writes a container’s tag and fields after it, and a JSON message also as json', () => {
    const tagged = { ...meta, tag: 'shop/web', fields: { dc: 'ams1' } };
    const record: LogRecord = {
      type: 'log',
      position: logPositions,
      time: TIME,
      host: 'h',
      container: tagged,
      stream: 'stdout',
      seq: 1,
      message: '{"level":"info","n":1}',
      json: true,
    };
    const back = parsed(serialize(record));
    assert.deepEqual(Object.keys(back), ['type', 'time', 'host', 'id', 'container', 'tag', 'fields', 'stream', 'message', 'json']);
    assert.deepEqual(back['container'], expectedContainer);
    assert.equal(back['tag'], 'shop/web');
    assert.deepEqual(back['fields'], { dc: 'ams1' });
    assert.equal(back['message'], '{"level":"info","n":1}');
    assert.deepEqual(back['json'], { level: 'info', n: 1 });
    const hostOnly: EventRecord = {
      type: 'event',
      time: TIME,
      host: 'h',
      object: 'daemon',
      action: 'reload',
      actor: { id: 'd', attributes: {} },
      scope: 'local',
      fields: { dc: 'ams1' },
    };
    assert.deepEqual(parsed(serialize(hostOnly))['fields'], { dc: 'ams1' });
  });

  it('writes an event record, with and without a container', () => {
    const record: EventRecord = {
      type: 'event',
      time: TIME,
      host: 'docker-01',
      object: 'container',
      action: 'exec_start: sh -c "echo hi"',
      actor: { id: ID, attributes: { name: 'shop-web-1', image: 'nginx:1.27', exitCode: '0' } },
      scope: 'local',
    };
    const bare = parsed(serialize(record));
    assert.deepEqual(bare, {
      type: 'event',
      time: TIME,
      host: 'docker-01',
      id: recordId(record),
      object: 'container',
      action: 'exec_start: sh -c "echo hi"',
      actor: { id: ID, attributes: { name: 'shop-web-1', image: 'nginx:1.27', exitCode: '0' } },
      scope: 'local',
    });
    assert.deepEqual(Object.keys(bare), ['type', 'time', 'host', 'id', 'object', 'action', 'actor', 'scope']);

    const tagged = parsed(serialize({ ...record, container: meta }));
    assert.deepEqual(tagged, { ...bare, container: expectedContainer });
    assert.deepEqual(Object.keys(tagged), ['type', 'time', 'host', 'id', 'container', 'object', 'action', 'actor', 'scope']);
  });

  it('writes an inspect record', () => {
    const inspect = { Id: ID, Name: '/shop-web-1', State: { Running: true, Pid: 4242 }, Config: { Env: ['A=<redacted>'] } };
    const record: InspectRecord = { type: 'inspect', time: TIME, host: 'docker-01', container: meta, inspect };
    const back = parsed(serialize(record));
    assert.deepEqual(back, { type: 'inspect', time: TIME, host: 'docker-01', id: recordId(record), container: expectedContainer, inspect });
    assert.deepEqual(Object.keys(back), ['type', 'time', 'host', 'id', 'container', 'inspect']);
  });

  it('writes a stats and a gap record with their ids', () => {
    const stats: StatsRecord = { type: 'stats', time: TIME, host: 'h', container: meta, stats: STATS };
    assert.deepEqual(Object.keys(parsed(serialize(stats))), ['type', 'time', 'host', 'id', 'container', 'stats']);
    assert.equal(parsed(serialize(stats))['id'], recordId(stats));
    const gap: GapRecord = { type: 'gap', time: TIME, host: 'h', dropped: 3, from: TIME, to: TIME, reason: 'buffer_full' };
    assert.deepEqual(parsed(serialize(gap)), {
      type: 'gap',
      time: TIME,
      host: 'h',
      id: recordId(gap),
      dropped: 3,
      from: TIME,
      to: TIME,
      reason: 'buffer_full',
    });
  });

  it('escapes the host name', () => {
    const record: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'we"ird\\host', container: meta, stream: 'stdout', seq: 1, message: '' };
    assert.equal(parsed(serialize(record))['host'], 'we"ird\\host');
  });

  it('gives each container its own JSON', () => {
    const other = containerMeta('0'.repeat(64), '/db', 'postgres:16', {});
    const a = parsed(serialize({ type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'x' }));
    const b = parsed(serialize({ type: 'log', position: logPositions, time: TIME, host: 'h', container: other, stream: 'stdout', seq: 1, message: 'x' }));
    const a2 = parsed(serialize({ type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'y' }));
    assert.deepEqual(a['container'], expectedContainer);
    assert.deepEqual(b['container'], { id: '0'.repeat(64), name: 'db', image: 'postgres:16', labels: {} });
    assert.deepEqual(a2['container'], expectedContainer);
  });

  it('envelope() carries the record and its serialized JSON', () => {
    const record: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'h', container: meta, stream: 'stdout', seq: 1, message: 'hi' };
    const e = envelope(record);
    assert.equal(e.record, record);
    assert.equal(e.json, serialize(record));
  });
});

describe('envelope', () => {
  const file = { path: '/logs/a.log', dev: 1, ino: 2, fingerprint: 'cd'.repeat(32), generation: 1 };
  const log: LogRecord = { type: 'log', position: logPositions, time: TIME, host: 'docker-01', container: meta, stream: 'stderr', seq: 7, message: 'm' };
  const line: FileRecord = { type: 'file', position: filePositions, time: TIME, host: 'h', path: file.path, message: 'm', file, start: 0, end: 1 };

  it("builds a line's JSON only when it is first read, and once", () => {
    const record = { ...log, message: 'as read' };
    const e = envelope(record);
    // A sink that formats the message itself (syslog, OTLP) never reads it.
    record.message = 'changed before a sink asked';
    assert.equal(JSON.parse(e.json).message, 'changed before a sink asked');
    record.message = 'changed after';
    assert.equal(JSON.parse(e.json).message, 'changed before a sink asked');
  });

  it("counts a line's size as its JSON's length, its message and the objects, before the JSON is built", () => {
    const fields = { env: 'prod', 'a "b"': 'c' };
    const lines: (LogRecord | FileRecord)[] = [
      log,
      { ...log, stream: 'stdout', seq: 1, message: 'x'.repeat(300) },
      { ...log, seq: 12, message: '{}', json: true },
      { ...log, seq: 123456, truncated: true, time: '2023-11-14T22:13:20.1Z' },
      line,
      { ...line, container: meta, start: 98765 },
      { ...line, fields, json: true, message: '{}', truncated: true },
    ];
    for (const r of lines) {
      const sized = envelope(r).size;
      assert.equal(sized, serialize(r).length + r.message.length + ENVELOPE_OVERHEAD, serialize(r));
    }
  });

  it('holds a line without its JSON until a sink reads it: a flood waiting in a buffer is a third of the size', async () => {
    const heldBy = async (n: number, read: boolean): Promise<number> => {
      await collectGarbage();
      const before = getHeapStatistics().used_heap_size;
      const held: Envelope[] = [];
      for (let i = 0; i < n; i++) {
        const e = envelope({ ...log, seq: i, message: `${i} ${'x'.repeat(100)}` });
        if (read) void e.json;
        held.push(e);
      }
      await collectGarbage();
      const bytes = getHeapStatistics().used_heap_size - before;
      assert.equal(held.length, n);
      return bytes / n;
    };
    const waiting = await heldBy(20_000, false);
    const read = await heldBy(20_000, true);
    // A record, its message and the envelope: about 320 bytes; its JSON more than 600 again.
    assert.ok(waiting < 450, `${waiting.toFixed(0)} bytes a line waiting`);
    assert.ok(read > waiting + 400, `${read.toFixed(0)} bytes a line read, ${waiting.toFixed(0)} waiting`);
  });

  /** What writeJson writes at `at` of a buffer with just jsonBytesMost of room, and that it stayed in it. */
  const written = (e: Envelope, at = 5): string => {
    const most = e.jsonBytesMost;
    const buf = Buffer.alloc(at + most + 1, 0xee);
    const end = e.writeJson(buf, at);
    assert.ok(end - at <= most, `${end - at} bytes, at most ${most}`);
    assert.equal(buf[at + most], 0xee, 'nothing past its room');
    return buf.subarray(at, end).toString('utf8');
  };
  /** A text as its UTF-8 bytes read back (a lone surrogate becomes U+FFFD, as on any write). */
  const asUtf8 = (text: string): string => Buffer.from(text).toString('utf8');

  it("property: writes a line's JSON as UTF-8, the same bytes as its text, within the room it asks for", () => {
    const unit = fc.oneof(
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', '\ud83d', '\ude00', '🐳', 'é', '語'),
      fc.string({ unit: 'binary', maxLength: 1 }),
    );
    const times = fc.constantFrom(TIME, '2023-11-14T22:13:20.1Z', '2023-11-14T22:13:20Z', '', '2023-11-14T22:13:20.12345678éZ');
    const unicodeMeta = containerMeta(ID, '/web', 'img', { 'é "label"': '語 \\ 🐳' });
    fc.assert(
      fc.property(
        fc.array(unit, { maxLength: 40 }).map((units) => units.join('')),
        fc.record({
          time: times,
          stream: fc.constantFrom<'stdout' | 'stderr'>('stdout', 'stderr'),
          seq: fc.nat(),
          truncated: fc.boolean(),
          json: fc.boolean(),
        }),
        fc.boolean(),
        (message, o, unicode) => {
          const r: LogRecord = {
            type: 'log',
            position: logPositions,
            time: o.time,
            host: unicode ? 'hôte "1"' : 'h',
            container: unicode ? unicodeMeta : meta,
            stream: o.stream,
            seq: o.seq,
            message,
            ...(o.truncated ? { truncated: true as const } : {}),
            ...(o.json ? { json: true as const } : {}),
          };
          assert.equal(written(envelope(r)), asUtf8(serialize(r)));
        },
      ),
    );
  });

  it('property: writes a plain line (ASCII, nothing JSON escapes) as its text', () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    fc.assert(
      fc.property(
        printable.filter((m) => !m.includes('"') && !m.includes('\\')),
        (message) => {
          const r: LogRecord = { ...log, message, plain: true };
          assert.equal(written(envelope(r)), asUtf8(serialize(r)));
        },
      ),
    );
  });

  it("writes a line's JSON without building its text, which a sink asking later still gets", () => {
    const record = { ...log, message: 'as written' };
    const e = envelope(record);
    assert.equal(JSON.parse(written(e)).message, 'as written');
    // Not built by the write: the text is made from the record when first asked for.
    record.message = 'changed after the write';
    assert.equal(JSON.parse(e.json).message, 'changed after the write');
    // Once built, the text is what is written.
    record.message = 'changed again';
    assert.equal(written(e), e.json);
  });

  it('writes any other record, and a stored one, as its text', () => {
    const fields = { env: 'prod', 'é "b"': 'c' };
    const records: SidekickRecord[] = [
      line,
      { ...line, container: meta, start: 98765, message: 'é "x"' },
      { ...line, fields, json: true, message: '{}', truncated: true },
      { type: 'event', time: TIME, host: 'h', object: 'container', action: 'die', actor: { id: ID, attributes: { name: 'é' } }, scope: 'local' },
    ];
    for (const r of records) {
      assert.equal(written(envelope(r)), serialize(r));
      assert.equal(written(storedEnvelopeOf(r, serialize(r))), serialize(r));
    }
  });
});

const STATS: StatsRecord['stats'] = {
  cpu_percent: 1.5,
  cpu_seconds: 2,
  memory: { usage: 1, raw_usage: 2, limit: 3, percent: 33 },
  network: {},
  blkio: { read_bytes: 0, write_bytes: 0 },
  pids: 1,
};

/** TIME's digits, as every id writes a time. */
const DIGITS = '20231114221320123456789';
/** What a record read again from Docker is: the same values in new objects. */
const again = <T>(r: T): T => structuredClone(r);
/** The ids of every type share one plain form: safe inside any JSON string or URL path. */
const ID_FORM = /^[0-9a-f]{16}-\d+(-[a-z0-9]+)?$/;

describe('record ids', () => {
  const event: EventRecord = {
    type: 'event',
    time: TIME,
    host: 'h',
    object: 'container',
    action: 'die',
    actor: { id: ID, attributes: { exitCode: '0', name: 'web' } },
    scope: 'local',
  };
  const stats: StatsRecord = { type: 'stats', time: TIME, host: 'h', container: meta, stats: STATS };
  const inspect: InspectRecord = {
    type: 'inspect',
    time: '2026-01-01T00:00:00.000000000Z',
    host: 'h',
    container: meta,
    inspect: { Id: ID, State: { Running: true, StartedAt: '2023-11-14T22:13:20.1234567Z' } },
  };
  const gap: GapRecord = {
    type: 'gap',
    time: TIME,
    host: 'h',
    container: meta,
    dropped: 7,
    from: '2023-11-14T22:13:19.000000001Z',
    to: TIME,
    reason: 'buffer_full',
  };

  it('gives every type an id, the same for the same record read again', () => {
    const records: SidekickRecord[] = [event, stats, inspect, gap];
    for (const r of records) {
      const id = recordId(r);
      assert.match(id, ID_FORM, r.type);
      assert.equal(recordId(again(r)), id, `${r.type}: deterministic`);
      assert.equal(parsed(serialize(again(r)))['id'], id, `${r.type}: serialized`);
    }
  });

  it("an event: a digest of its object, action and actor, then Docker's time in ns", () => {
    const id = recordId(event);
    assert.match(id, new RegExp(`^[0-9a-f]{16}-${DIGITS}$`));
    assert.notEqual(recordId({ ...event, action: 'start' }), id, 'another action');
    assert.notEqual(recordId({ ...event, object: 'network' }), id, 'another object');
    assert.notEqual(recordId({ ...event, actor: { id: 'f'.repeat(64), attributes: event.actor.attributes } }), id, 'another actor');
    assert.notEqual(recordId({ ...event, time: '2023-11-14T22:13:20.123456790Z' }), id, 'one ns later');
    assert.equal(recordId({ ...event, container: meta, fields: { dc: 'ams1' } }), id, 'not of how sidekick tags it');
  });

  it("a stats sample: its container and Docker's read time", () => {
    assert.equal(recordId(stats), `${ID.slice(0, 16)}-${DIGITS}-s`);
    assert.equal(recordId({ ...stats, stats: { ...STATS, pids: 9 } }), recordId(stats), 'the sample, not its values');
  });

  it('an inspect: its container and when it started, fraction padded to nine digits, not when inspected', () => {
    assert.equal(recordId(inspect), `${ID.slice(0, 16)}-20231114221320123456700-i`);
    assert.equal(recordId({ ...inspect, time: nowTime() }), recordId(inspect), 'inspected again after a restart');
    const restarted = { ...inspect, inspect: { State: { StartedAt: '2023-11-14T23:00:00Z' } } };
    assert.equal(recordId(restarted), `${ID.slice(0, 16)}-20231114230000000000000-i`, 'each start its own');
    const created = { ...inspect, inspect: { State: { StartedAt: '0001-01-01T00:00:00Z' } } };
    assert.equal(recordId(created), `${ID.slice(0, 16)}-00010101000000000000000-i`, 'never started');
    assert.equal(recordId({ ...inspect, inspect: {} }), `${ID.slice(0, 16)}-20260101000000000000000-i`, 'no StartedAt: its time');
  });

  it('a gap: a digest of the loss it tells of, then its latest time; not of when it is told', () => {
    const id = recordId(gap);
    assert.match(id, new RegExp(`^[0-9a-f]{16}-${DIGITS}$`));
    assert.equal(recordId({ ...gap, time: nowTime() }), id);
    assert.notEqual(recordId({ ...gap, dropped: 8 }), id);
    assert.notEqual(recordId({ ...gap, from: TIME }), id);
    assert.notEqual(recordId({ ...gap, container: undefined }), id);
  });

  it('property: whatever an event holds, its id keeps the plain form', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.dictionary(fc.string(), fc.string()), (object, action, actorId, attributes) => {
        assert.match(recordId({ ...event, object, action, actor: { id: actorId, attributes } }), ID_FORM);
      }),
    );
  });
});

describe('containerMeta', () => {
  it('strips one leading "/" from the name', () => {
    assert.equal(containerMeta(ID, '/web', 'img', {}).name, 'web');
    assert.equal(containerMeta(ID, 'web', 'img', {}).name, 'web');
    assert.equal(containerMeta(ID, '//web', 'img', {}).name, '/web');
    assert.equal(containerMeta(ID, '', 'img', {}).name, '');
  });

  it('sets compose only when both compose labels exist', () => {
    assert.deepEqual(containerMeta(ID, '/w', 'img', labels).compose, { project: 'shop', service: 'web' });
    const onlyProject = containerMeta(ID, '/w', 'img', { 'com.docker.compose.project': 'shop' });
    assert.equal('compose' in onlyProject, false);
    const onlyService = containerMeta(ID, '/w', 'img', { 'com.docker.compose.service': 'web' });
    assert.equal('compose' in onlyService, false);
    assert.equal('compose' in containerMeta(ID, '/w', 'img', {}), false);
  });

  it('keeps labels as given and turns missing labels into {}', () => {
    assert.deepEqual(containerMeta(ID, '/w', 'img', null), { id: ID, name: 'w', image: 'img', labels: {} });
    assert.deepEqual(containerMeta(ID, '/w', 'img', undefined), { id: ID, name: 'w', image: 'img', labels: {} });
    assert.deepEqual(containerMeta(ID, '/w', 'img', { a: '1' }).labels, { a: '1' });
  });
});

describe('times', () => {
  it('nanosToTime writes RFC 3339 with all nine digits', () => {
    assert.equal(nanosToTime('1700000000123456789'), '2023-11-14T22:13:20.123456789Z');
    assert.equal(nanosToTime('1700000000000000000'), '2023-11-14T22:13:20.000000000Z');
    assert.equal(nanosToTime('5'), '1970-01-01T00:00:00.000000005Z');
  });

  it('timeToSince reads RFC 3339 nano into seconds.nanoseconds', () => {
    assert.equal(timeToSince('2023-11-14T22:13:20.123456789Z'), '1700000000.123456789');
    assert.equal(timeToSince('2023-11-14T22:13:20Z'), '1700000000.000000000');
    assert.equal(timeToSince('2023-11-14T22:13:20.5Z'), '1700000000.500000000');
    assert.equal(timeToSince('1970-01-01T00:00:00.000000001Z'), '0.000000001');
    assert.equal(timeToSince('not a time'), undefined);
    assert.equal(timeToSince(''), undefined);
  });

  it('property: timeToSince(nanosToTime(n)) === nanosToSince(n)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 4_102_444_800_000_000_000n }), (n) => {
        const nanos = n.toString();
        const time = nanosToTime(nanos);
        assert.match(time, RFC3339_NANO);
        assert.equal(timeToSince(time), nanosToSince(nanos));
      }),
    );
  });

  it('millisToTime gives nine fraction digits', () => {
    assert.equal(millisToTime(1700000000123), '2023-11-14T22:13:20.123000000Z');
    assert.equal(millisToTime(0), '1970-01-01T00:00:00.000000000Z');
  });

  it('nowTime is RFC 3339 nano and now', () => {
    const before = Date.now();
    const now = nowTime();
    const after = Date.now();
    assert.match(now, RFC3339_NANO);
    const ms = Date.parse(now);
    assert.ok(ms >= before && ms <= after, `${now} between ${before} and ${after}`);
  });
});
