// The OTLP logs encoder, checked by what protoc (against the official
// opentelemetry-proto schemas) decodes of its protobuf, and by its OTLP/JSON
// read back: both must say the same, and what the mapping says.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  containerMeta,
  recordId,
  type ContainerMeta,
  type EventRecord,
  type FileRecord,
  type GapRecord,
  type InspectRecord,
  type LogRecord,
  type SidekickRecord,
  type StatsRecord,
} from '../../../../src/core/record.js';
import { encodeLogs, jsonLevel } from '../../../../src/sinks/otlp/logs.js';
import { nanos } from '../../../../src/sinks/otlp/protobuf.js';
import { SCOPE_NAME, scopeVersion } from '../../../../src/sinks/otlp/resource.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';
import { filePositions } from '../../../../src/sources/files/position.js';
import { logsFromJson, logsFromProto, type NormalLogRecord, type Scoped, type Value } from './normal.js';
import { decode, LOGS_REQUEST } from './protoc.js';

/** 2026-01-02T03:04:05.987654321Z, when the batch was sent. */
const OBSERVED = nanos(1767323045, 987654321);
const OBSERVED_TEXT = '1767323045987654321';

/** Nanoseconds since the epoch of an RFC 3339 UTC time, worked out apart from the encoder's own arithmetic. */
function nanosOf(time: string): string {
  const seconds = BigInt(Date.parse(time.slice(0, 19) + 'Z') / 1000);
  const fraction = time.length > 21 && time[19] === '.' ? time.slice(20, -1) : '';
  return (seconds * 1_000_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9))).toString();
}

/** Both encodings of a batch, in the plain form; the JSON one's strings as UTF-8 makes them (as protobuf's are). */
function encodeBoth(records: readonly SidekickRecord[]): { proto: Scoped<NormalLogRecord>[]; json: Scoped<NormalLogRecord>[] } {
  const proto = logsFromProto(decode(encodeLogs(records, 'protobuf', OBSERVED), LOGS_REQUEST));
  const text = encodeLogs(records, 'json', OBSERVED);
  const json = logsFromJson(JSON.parse(text, (_key, v: unknown) => (typeof v === 'string' ? utf8(v) : v)));
  return { proto, json };
}

/** A string as it reads after a trip through UTF-8: a lone surrogate becomes U+FFFD. */
function utf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

const web = containerMeta('a1'.repeat(32), '/web', 'registry.local:5000/team/web:1.2@sha256:' + 'f'.repeat(64), {
  'com.docker.compose.project': 'shop',
  'com.docker.compose.service': 'frontend',
});
const db = containerMeta('b2'.repeat(32), '/db', 'postgres', {});

function log(meta: ContainerMeta, time: string, stream: 'stdout' | 'stderr', message: string, extra: Partial<LogRecord> = {}): LogRecord {
  return { type: 'log', position: logPositions, time, host: 'node1', container: meta, stream, seq: 1, message, ...extra };
}

const tailed = { path: '/var/log/app "x".log', dev: 1, ino: 2, fingerprint: 'cd'.repeat(32), generation: 1 };

const T1 = '2026-01-02T03:04:05.123456789Z';
const T2 = '2026-01-02T03:04:05.000000001Z';
const T3 = '2199-12-31T23:59:59.5Z';
const T4 = '1970-01-01T00:00:01Z';

const LONG = 'x'.repeat(300);
const STACK = 'Error: boom\n    at f (a.js:1:1)\n    at g (b.js:2:2)';

const batch: SidekickRecord[] = [
  log(web, T1, 'stdout', 'hello'),
  log(db, T2, 'stderr', 'oops'),
  log(web, T3, 'stdout', LONG, { truncated: true }),
  log(web, T4, 'stderr', STACK, { seq: 2, from: { time: T4, count: 0 }, through: { time: T4, count: 3 } }),
  log(db, T1, 'stdout', '{"msg":"slow","level":"warn"}', { json: true }),
  log(web, T1, 'stdout', '{"level":50,"msg":"broken"}', { json: true, seq: 2 }),
  log(web, T2, 'stdout', 'one line of a multiline container', { from: { time: T2, count: 0 }, through: { time: T2, count: 1 } }),
  {
    type: 'file',
    position: filePositions,
    time: T2,
    host: 'node1',
    path: tailed.path,
    message: 'from a file',
    file: tailed,
    start: 10,
    end: 22,
    truncated: true,
  },
  {
    type: 'event',
    time: T1,
    host: 'node1',
    container: web,
    object: 'container',
    action: 'start',
    actor: { id: web.id, attributes: { name: 'web', image: web.image } },
    scope: 'local',
  },
  { type: 'event', time: T2, host: 'node1', object: 'container', action: 'exec_start: sh -c ls', actor: { id: db.id, attributes: {} }, scope: 'local' },
  { type: 'inspect', time: T3, host: 'node1', container: db, inspect: { Id: db.id, State: { Status: 'running', StartedAt: T2 } } },
  { type: 'gap', time: T3, host: 'node1', dropped: 12, from: T1, to: T3, reason: 'buffer_full' },
];

describe('encodeLogs', () => {
  it('groups records by container, in order of first appearance, each with its resource and the scope', () => {
    const { proto } = encodeBoth(batch);
    assert.equal(proto.length, 3, 'web, db, and the host for records of no container');
    const [webLogs, dbLogs, hostLogs] = proto as [Scoped<NormalLogRecord>, Scoped<NormalLogRecord>, Scoped<NormalLogRecord>];
    assert.equal(webLogs.resource['container.id'], web.id);
    assert.equal(webLogs.resource['service.name'], 'frontend');
    assert.deepEqual(webLogs.resource['container.image.tags'], ['1.2']);
    assert.equal(dbLogs.resource['container.id'], db.id);
    assert.equal(hostLogs.resource['host.name'], 'node1');
    assert.equal(hostLogs.resource['container.id'], undefined);
    for (const r of proto) assert.deepEqual(r.scope, { name: SCOPE_NAME, version: scopeVersion() });
    const bodies = (s: Scoped<NormalLogRecord>): Value[] => s.items.map((r) => r.body as Value);
    assert.deepEqual(bodies(webLogs), ['hello', LONG, STACK, '{"level":50,"msg":"broken"}', 'one line of a multiline container', 'container.start']);
    assert.deepEqual(bodies(dbLogs), ['oops', '{"msg":"slow","level":"warn"}', JSON.stringify((batch[10] as InspectRecord).inspect)]);
    assert.deepEqual(bodies(hostLogs), ['from a file', 'container.exec_start', `sidekick dropped 12 records from ${T1} to ${T3} (buffer_full)`]);
  });

  it('writes each record as the mapping says', () => {
    const records = encodeBoth(batch).proto.flatMap((s) => s.items);
    const [hello, truncated, stack, json50, oneLine, start, stderr, warn, inspect, file, exec, gap] = records;
    const uid = (i: number): string => recordId(batch[i] as SidekickRecord);

    assert.deepEqual(hello, {
      time: '1767323045123456789',
      observed: OBSERVED_TEXT,
      severityNumber: 9,
      severityText: 'INFO',
      body: 'hello',
      eventName: '',
      attributes: { 'log.iostream': 'stdout', 'log.record.uid': uid(0) },
    });
    assert.deepEqual(truncated, {
      time: '7258118399500000000',
      observed: OBSERVED_TEXT,
      severityNumber: 9,
      severityText: 'INFO',
      body: LONG,
      eventName: '',
      attributes: { 'log.iostream': 'stdout', 'log.record.uid': uid(2), 'sidekick.truncated': true },
    });
    assert.deepEqual(stack, {
      time: '1000000000',
      observed: OBSERVED_TEXT,
      severityNumber: 17,
      severityText: 'ERROR',
      body: STACK,
      eventName: '',
      attributes: { 'log.iostream': 'stderr', 'log.record.uid': uid(3), 'sidekick.multiline': true },
    });
    assert.equal(json50?.severityNumber, 17);
    assert.equal(json50?.severityText, 'ERROR');
    assert.deepEqual(oneLine?.attributes, { 'log.iostream': 'stdout', 'log.record.uid': uid(6) }, 'one line: not multiline');
    assert.deepEqual(start, {
      time: '1767323045123456789',
      observed: OBSERVED_TEXT,
      severityNumber: 9,
      severityText: 'INFO',
      body: 'container.start',
      eventName: 'container.start',
      attributes: {
        'event.name': 'container.start',
        'log.record.uid': uid(8),
        'docker.event.action': 'start',
        'docker.event.actor.id': web.id,
        'docker.event.scope': 'local',
        'docker.event.attributes.name': 'web',
        'docker.event.attributes.image': web.image,
      },
    });
    assert.deepEqual(stderr, {
      time: '1767323045000000001',
      observed: OBSERVED_TEXT,
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'oops',
      eventName: '',
      attributes: { 'log.iostream': 'stderr', 'log.record.uid': uid(1) },
    });
    assert.equal(warn?.severityNumber, 13);
    assert.equal(warn?.severityText, 'warn');
    assert.deepEqual(inspect, {
      time: '7258118399500000000',
      observed: OBSERVED_TEXT,
      severityNumber: 9,
      severityText: 'INFO',
      body: '{"Id":"' + db.id + '","State":{"Status":"running","StartedAt":"' + T2 + '"}}',
      eventName: 'container.inspect',
      attributes: { 'event.name': 'container.inspect', 'log.record.uid': uid(10) },
    });
    assert.deepEqual(file, {
      time: '1767323045000000001',
      observed: OBSERVED_TEXT,
      severityNumber: 9,
      severityText: 'INFO',
      body: 'from a file',
      eventName: '',
      attributes: { 'log.file.path': tailed.path, 'log.record.uid': 'cdcdcdcdcdcdcdcd-10', 'sidekick.truncated': true },
    });
    assert.equal(exec?.eventName, 'container.exec_start');
    assert.equal(exec?.attributes['docker.event.action'], 'exec_start: sh -c ls');
    assert.deepEqual(gap, {
      time: '7258118399500000000',
      observed: OBSERVED_TEXT,
      severityNumber: 13,
      severityText: 'WARN',
      body: `sidekick dropped 12 records from ${T1} to ${T3} (buffer_full)`,
      eventName: 'sidekick.gap',
      attributes: {
        'event.name': 'sidekick.gap',
        'log.record.uid': uid(11),
        'sidekick.gap.dropped': 12,
        'sidekick.gap.from': T1,
        'sidekick.gap.to': T3,
        'sidekick.gap.reason': 'buffer_full',
      },
    });
  });

  it('says the same in OTLP/JSON, with 64-bit integers as strings and enums as numbers', () => {
    const { proto, json } = encodeBoth(batch);
    assert.deepEqual(json, proto);
    const text = encodeLogs(batch, 'json', OBSERVED);
    const first = JSON.parse(text).resourceLogs[0].scopeLogs[0].logRecords[0];
    assert.equal(first.timeUnixNano, '1767323045123456789');
    assert.equal(first.observedTimeUnixNano, OBSERVED_TEXT);
    assert.equal(first.severityNumber, 9);
    assert.equal(first.eventName, undefined, 'a log line is no event');
  });

  it('writes an empty request for no records, and the same bytes for the same batch', () => {
    assert.equal(encodeLogs([], 'protobuf', OBSERVED).length, 0);
    assert.deepEqual(JSON.parse(encodeLogs([], 'json', OBSERVED)), { resourceLogs: [] });
    assert.deepEqual(encodeLogs(batch, 'protobuf', OBSERVED), encodeLogs(batch, 'protobuf', OBSERVED));
  });

  it('refuses a stats record: those are metrics', () => {
    const stats: StatsRecord = {
      type: 'stats',
      time: T1,
      host: 'h',
      container: web,
      stats: {
        cpu_percent: null,
        cpu_seconds: 0,
        memory: { usage: 0, raw_usage: 0, limit: 0, percent: 0 },
        network: {},
        blkio: { read_bytes: 0, write_bytes: 0 },
        pids: 0,
      },
    };
    assert.throws(() => encodeLogs([batch[0] as SidekickRecord, stats], 'protobuf', OBSERVED), /stats record.*metrics/);
    assert.throws(() => encodeLogs([stats], 'json', OBSERVED), /stats record.*metrics/);
  });
});

describe('severity of a JSON line', () => {
  const severityOf = (message: string, stream: 'stdout' | 'stderr' = 'stdout'): [number, string] => {
    const [record] = logsFromJson(JSON.parse(encodeLogs([log(web, T1, stream, message, { json: true })], 'json', OBSERVED)))[0]?.items ?? [];
    return [record?.severityNumber ?? -1, record?.severityText ?? ''];
  };

  it('reads level, severity, log.level or lvl, by name in any case or by pino number', () => {
    const cases: Array<[string, number, string]> = [
      ['{"level":"trace"}', 1, 'trace'],
      ['{"level":"DEBUG"}', 5, 'DEBUG'],
      ['{"level":"Info"}', 9, 'Info'],
      ['{"level":"information"}', 9, 'information'],
      ['{"level":"notice"}', 10, 'notice'],
      ['{"level":"WARNING"}', 13, 'WARNING'],
      ['{"level":"err"}', 17, 'err'],
      ['{"level":"crit"}', 21, 'crit'],
      ['{"level":"alert"}', 21, 'alert'],
      ['{"level":"emerg"}', 21, 'emerg'],
      ['{"level":"emergency"}', 21, 'emergency'],
      ['{"level":"panic"}', 21, 'panic'],
      ['{"level":"critical"}', 21, 'critical'],
      ['{"level":"fatal"}', 21, 'fatal'],
      ['{"level":10}', 1, 'TRACE'],
      ['{"level":20}', 5, 'DEBUG'],
      ['{"level":30}', 9, 'INFO'],
      ['{"level":40}', 13, 'WARN'],
      ['{"level":60}', 21, 'FATAL'],
      ['{"severity":"ERROR","msg":"x"}', 17, 'ERROR'],
      ['{"msg":"x","log.level":"warn"}', 13, 'warn'],
      ['{"lvl":"debug"}', 5, 'debug'],
      ['{"lvl":"debug","severity":"error"}', 17, 'error'],
      ['{"log.level":"debug","severity":"error","level":"info"}', 9, 'info'],
      ['{"nested":{"level":"error"},"s":"\\"level\\":\\"fatal\\"","level" : "warn"}', 13, 'warn'],
    ];
    for (const [message, n, text] of cases) assert.deepEqual(severityOf(message), [n, text], message);
  });

  it("keeps the stream's severity when the level is unknown, missing or of no level type", () => {
    for (const message of [
      '{"level":"verbose"}',
      '{"level":35}',
      '{"level":70}',
      '{"level":null,"severity":"info"}',
      '{"msg":"no level"}',
      '{"level":{"x":1}}',
    ]) {
      assert.deepEqual(severityOf(message, 'stderr'), [17, 'ERROR'], message);
      assert.deepEqual(severityOf(message, 'stdout'), [9, 'INFO'], message);
    }
  });

  it('ignores the level of a line not marked JSON', () => {
    const [record] = logsFromJson(JSON.parse(encodeLogs([log(web, T1, 'stdout', '{"level":"error"}')], 'json', OBSERVED)))[0]?.items ?? [];
    assert.equal(record?.severityNumber, 9);
  });

  const LEVEL_KEYS = ['level', 'severity', 'log.level', 'lvl'];

  /** What jsonLevel should find, from the parsed object. */
  function expectedLevel(text: string): string | number | undefined {
    const o = JSON.parse(text) as Record<string, unknown>;
    const key = LEVEL_KEYS.find((k) => Object.hasOwn(o, k));
    const v = key === undefined ? undefined : o[key];
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return JSON.stringify(v).includes('\\') ? undefined : v;
    return undefined;
  }

  it('property: jsonLevel finds what JSON.parse finds, in any JSON object, however spaced', () => {
    const key = fc.oneof(fc.constantFrom(...LEVEL_KEYS, 'levels', 'lv', 'log', 'msg'), fc.string());
    const level = fc.oneof(fc.constantFrom('info', 'WARN', 'x"y', 'a\\b'), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.jsonValue());
    fc.assert(
      fc.property(fc.dictionary(key, fc.oneof(level, fc.jsonValue())), fc.constantFrom(0, 1, '\t'), (object, space) => {
        const text = JSON.stringify(object, null, space);
        assert.equal(jsonLevel(text), expectedLevel(text), text);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: jsonLevel never throws nor hangs, whatever the text', () => {
    const level = fc.constantFrom('{"level":"info"', '{"level":', '{"a":"\\"', '{"a":{"b":[', '{"a"', '{', '');
    fc.assert(
      fc.property(level, fc.string({ unit: 'binary-ascii' }), (head, tail) => {
        const v = jsonLevel(head + tail);
        assert.ok(v === undefined || typeof v === 'string' || typeof v === 'number');
      }),
      { numRuns: 1000 },
    );
  });
});

// Records of any content, and what the mapping says of each.

/** A unit of text: any code point, or a lone surrogate (which UTF-8 cannot carry). */
const anyChar = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', '😀', '👩‍👩‍👧') },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
const text = fc.oneof(fc.string({ unit: anyChar, maxLength: 40 }), fc.string({ unit: anyChar, minLength: 100, maxLength: 400 }));

const MAX_SECONDS = Date.UTC(2200, 11, 31, 23, 59, 59) / 1000;
const time = fc
  .tuple(fc.integer({ min: 0, max: MAX_SECONDS }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 999_999_999 }))
  .map(([seconds, digits, fraction]) => {
    const head = new Date(seconds * 1000).toISOString().slice(0, 19);
    return digits === 0 ? head + 'Z' : head + '.' + String(fraction).padStart(9, '0').slice(0, digits) + 'Z';
  });

const meta = fc
  .record({
    id: fc.stringMatching(/^[0-9a-f]{64}$/),
    name: fc.string(),
    image: fc.oneof(
      fc.constantFrom('registry.example:5000/team/app:1.2@sha256:' + 'e'.repeat(64), 'localhost:5000/app', 'app@sha256:' + '0'.repeat(64), 'nginx:1.27'),
      fc.string(),
    ),
    compose: fc.option(fc.tuple(fc.string(), fc.string())),
    fields: fc.option(fc.dictionary(fc.string(), text, { maxKeys: 3 })),
  })
  .map(({ id, name, image, compose, fields }): ContainerMeta => {
    const labels: Record<string, string> = compose === null ? {} : { 'com.docker.compose.project': compose[0], 'com.docker.compose.service': compose[1] };
    const m = containerMeta(id, name, image, labels);
    return fields === null ? m : { ...m, fields };
  });

const LEVELS = [
  'trace',
  'Debug',
  'INFO',
  'information',
  'notice',
  'warn',
  'WARNING',
  'error',
  'err',
  'fatal',
  'critical',
  'crit',
  'alert',
  'emerg',
  'panic',
  'loud',
];
const jsonMessage = fc
  .tuple(
    fc.option(fc.constantFrom('level', 'severity', 'log.level', 'lvl')),
    fc.oneof(fc.constantFrom(...LEVELS), fc.constantFrom(10, 20, 30, 40, 50, 60, 35, 0)),
    fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  )
  .map(([key, level, rest]) => JSON.stringify(key === null ? rest : { ...rest, [key]: level }));

const SEVERITY: Record<string, number> = { trace: 1, debug: 5, info: 9, information: 9, notice: 10, warn: 13, warning: 13, error: 17, err: 17 };
for (const name of ['fatal', 'critical', 'crit', 'alert', 'emerg', 'emergency', 'panic']) SEVERITY[name] = 21;
const PINO: Record<number, [number, string]> = { 10: [1, 'TRACE'], 20: [5, 'DEBUG'], 30: [9, 'INFO'], 40: [13, 'WARN'], 50: [17, 'ERROR'], 60: [21, 'FATAL'] };

function lineSeverity(fallback: [number, string], json: boolean, message: string): [number, string] {
  const level = json ? expectedLevelOf(message) : undefined;
  if (typeof level === 'string' && SEVERITY[level.toLowerCase()] !== undefined) return [SEVERITY[level.toLowerCase()] as number, level];
  if (typeof level === 'number' && PINO[level] !== undefined) return PINO[level];
  return fallback;
}

function expectedLevelOf(message: string): unknown {
  const o = JSON.parse(message) as Record<string, unknown>;
  const key = ['level', 'severity', 'log.level', 'lvl'].find((k) => Object.hasOwn(o, k));
  return key === undefined ? undefined : o[key];
}

function record(metas: readonly ContainerMeta[]): fc.Arbitrary<SidekickRecord> {
  const container = fc.constantFrom(...metas);
  const logRecord = fc
    .record({
      container,
      time,
      stream: fc.constantFrom('stdout' as const, 'stderr' as const),
      seq: fc.integer({ min: 1, max: 1000 }),
      plain: fc.oneof(
        text,
        text.map((t) => t + '\n' + t),
      ),
      json: fc.option(jsonMessage),
      truncated: fc.boolean(),
      joined: fc.boolean(),
    })
    .map(({ container, time, stream, seq, plain, json, truncated, joined }): LogRecord => {
      const r: LogRecord = log(container, time, stream, json ?? plain, { seq });
      return {
        ...r,
        ...(json === null ? {} : { json: true }),
        ...(truncated ? { truncated: true } : {}),
        ...(joined ? { from: { time, count: seq - 1 }, through: { time, count: seq + 2 } } : {}),
      };
    });
  const fileRecord = fc
    .record({
      time,
      path: text,
      line: fc.oneof(
        text.map((message) => ({ message, json: false })),
        jsonMessage.map((message) => ({ message, json: true })),
      ),
      start: fc.nat(),
      truncated: fc.boolean(),
      container: fc.option(container),
    })
    .map(
      ({ time, path, line, start, truncated, container }): FileRecord => ({
        type: 'file',
        position: filePositions,
        time,
        host: 'node1',
        path,
        message: line.message,
        file: tailed,
        start,
        end: start + 1,
        ...(line.json ? { json: true } : {}),
        ...(truncated ? { truncated: true } : {}),
        ...(container === null ? {} : { container }),
      }),
    );
  const eventRecord = fc
    .record({
      time,
      object: text,
      action: fc.oneof(text, fc.constantFrom('exec_start: sh -c ls', 'health_status : healthy', ' kill:9', 'a:b:c')),
      id: text,
      attributes: fc.dictionary(text, text, { maxKeys: 4 }),
      scope: fc.constantFrom('local', 'swarm'),
    })
    .map(
      ({ time, object, action, id, attributes, scope }): EventRecord => ({
        type: 'event',
        time,
        host: 'node1',
        object,
        action,
        actor: { id, attributes },
        scope,
      }),
    );
  const inspectRecord = fc
    .record({ container, time, inspect: fc.jsonValue({ maxDepth: 3 }) })
    .map(({ container, time, inspect }): InspectRecord => ({ type: 'inspect', time, host: 'node1', container, inspect }));
  const gapRecord = fc
    .record({ time, dropped: fc.nat(), from: time, to: time, reason: fc.constantFrom('buffer_full' as const, 'tap_behind' as const) })
    .map((g): GapRecord => ({ type: 'gap', host: 'node1', ...g }));
  return fc.oneof({ weight: 6, arbitrary: logRecord }, fileRecord, eventRecord, inspectRecord, gapRecord);
}

/** What the mapping says of a record, written out apart from the encoder. */
function expected(r: SidekickRecord): NormalLogRecord {
  const base = { time: nanosOf(r.time), observed: OBSERVED_TEXT, eventName: '' };
  const uid = recordId(r);
  const event = (name: string): Pick<NormalLogRecord, 'eventName'> & { attributes: Record<string, Value> } => ({
    eventName: utf8(name),
    attributes: { 'event.name': utf8(name), 'log.record.uid': uid },
  });
  switch (r.type) {
    case 'log': {
      const [severityNumber, severityText] = lineSeverity(r.stream === 'stderr' ? [17, 'ERROR'] : [9, 'INFO'], r.json === true, r.message);
      const attributes: Record<string, Value> = { 'log.iostream': r.stream, 'log.record.uid': uid };
      if (r.truncated) attributes['sidekick.truncated'] = true;
      if (r.from !== undefined && r.message.includes('\n')) attributes['sidekick.multiline'] = true;
      return { ...base, severityNumber, severityText, body: utf8(r.message), attributes };
    }
    case 'file': {
      const [severityNumber, severityText] = lineSeverity([9, 'INFO'], r.json === true, r.message);
      const attributes: Record<string, Value> = { 'log.file.path': utf8(r.path), 'log.record.uid': uid };
      if (r.truncated) attributes['sidekick.truncated'] = true;
      return { ...base, severityNumber, severityText, body: utf8(r.message), attributes };
    }
    case 'event': {
      const colon = r.action.indexOf(':');
      const name = r.object + '.' + (colon < 0 ? r.action : r.action.slice(0, colon).trim());
      const e = event(name);
      const attributes: Record<string, Value> = {
        ...e.attributes,
        'docker.event.action': utf8(r.action),
        'docker.event.actor.id': utf8(r.actor.id),
        'docker.event.scope': r.scope,
      };
      for (const [k, v] of Object.entries(r.actor.attributes)) attributes[utf8('docker.event.attributes.' + k)] = utf8(v);
      return { ...base, ...e, attributes, severityNumber: 9, severityText: 'INFO', body: utf8(name) };
    }
    case 'inspect':
      return { ...base, ...event('container.inspect'), severityNumber: 9, severityText: 'INFO', body: utf8(JSON.stringify(r.inspect)) };
    case 'gap': {
      const e = event('sidekick.gap');
      const attributes = {
        ...e.attributes,
        'sidekick.gap.dropped': r.dropped,
        'sidekick.gap.from': r.from,
        'sidekick.gap.to': r.to,
        'sidekick.gap.reason': r.reason,
      };
      const body = `sidekick dropped ${r.dropped} records from ${r.from} to ${r.to} (${r.reason})`;
      return { ...base, ...e, attributes, severityNumber: 13, severityText: 'WARN', body };
    }
    case 'stats':
      throw new Error('no stats in a logs request');
  }
}

/** The batch grouped as the request must group it: by container, else by host and static fields, in order of first appearance. */
function expectedGroups(records: readonly SidekickRecord[]): Array<{ resource: Record<string, Value>; items: NormalLogRecord[] }> {
  const groups = new Map<unknown, { resource: Record<string, Value>; items: NormalLogRecord[] }>();
  for (const r of records) {
    const key = r.container ?? r.host + '\n' + JSON.stringify(r.fields);
    let g = groups.get(key);
    if (g === undefined) {
      g = { resource: r.container === undefined ? { 'host.name': r.host } : { 'container.id': r.container.id }, items: [] };
      groups.set(key, g);
    }
    g.items.push(expected(r));
  }
  return [...groups.values()];
}

describe('encodeLogs of any records', () => {
  it('property: protoc decodes what the mapping says, and the OTLP/JSON says the same', () => {
    const batches = fc.array(meta, { minLength: 1, maxLength: 3 }).chain((metas) => fc.array(record(metas), { minLength: 1, maxLength: 12 }));
    fc.assert(
      fc.property(batches, (records) => {
        const { proto, json } = encodeBoth(records);
        const want = expectedGroups(records);
        assert.equal(proto.length, want.length, 'one resource_logs per container');
        proto.forEach((got, i) => {
          const w = want[i] as (typeof want)[number];
          for (const [k, v] of Object.entries(w.resource)) assert.equal(got.resource[k], v, k);
          assert.deepEqual(got.scope, { name: SCOPE_NAME, version: scopeVersion() });
          assert.deepEqual(got.items, w.items);
        });
        assert.deepEqual(json, proto);
      }),
      { numRuns: 100 },
    );
  });
});
