// The OTLP metrics of stats records, decoded by protoc against the official
// schema: names, units, kinds, points and their exact values and times, one
// ResourceMetrics a container; and the OTLP/JSON form carrying the same.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { containerMeta, type ContainerMeta, type StatsRecord, type StatsValues } from '../../../../src/core/record.js';
import { encodeMetrics } from '../../../../src/sinks/otlp/metrics.js';
import { scopeVersion } from '../../../../src/sinks/otlp/resource.js';
import { decode, METRICS_REQUEST, type Decoded } from './protoc.js';

/** A point in one form for both encodings: an as_int as its decimal digits (exact past 2^53), an as_double as a number. */
interface Point {
  readonly time: string;
  readonly value: string | number;
  readonly attributes: Readonly<Record<string, string>>;
}

interface Metric {
  readonly unit: string;
  readonly kind: 'gauge' | 'sum';
  /** Sums only. */
  readonly cumulative?: boolean;
  readonly monotonic?: boolean;
  readonly points: readonly Point[];
}

interface Group {
  readonly resource: Readonly<Record<string, string | readonly string[]>>;
  readonly scope: { readonly name: string; readonly version: string };
  /** By name: each name once. */
  readonly metrics: Readonly<Record<string, Metric>>;
}

type Obj = Record<string, unknown>;

const first = (d: Decoded, field: string): unknown => d[field]?.[0];
const all = (d: Decoded, field: string): Decoded[] => (d[field] ?? []) as Decoded[];
const only = <T>(list: readonly T[], what: string): T => {
  assert.equal(list.length, 1, `one ${what}`);
  return list[0] as T;
};

function byName(list: ReadonlyArray<readonly [string, Metric]>): Record<string, Metric> {
  const out: Record<string, Metric> = {};
  for (const [name, metric] of list) {
    assert.ok(!(name in out), `one Metric named ${name}`);
    out[name] = metric;
  }
  return out;
}

function protoString(v: Decoded): string | string[] {
  if (v['string_value'] !== undefined) return String(first(v, 'string_value'));
  return all(first(v, 'array_value') as Decoded, 'values').map((x) => String(first(x, 'string_value')));
}

function protoAttributes(list: Decoded[]): Record<string, string | string[]> {
  return Object.fromEntries(list.map((kv) => [String(first(kv, 'key')), protoString(first(kv, 'value') as Decoded)]));
}

function fromProto(bytes: Buffer): Group[] {
  return all(decode(bytes, METRICS_REQUEST), 'resource_metrics').map((rm) => {
    const sm = only(all(rm, 'scope_metrics'), 'ScopeMetrics');
    const scope = first(sm, 'scope') as Decoded;
    const metrics = all(sm, 'metrics').map((m): [string, Metric] => {
      assert.notEqual(String(first(m, 'description') ?? ''), '', 'a description');
      const kind = m['gauge'] !== undefined ? 'gauge' : 'sum';
      const data = first(m, kind) as Decoded;
      const points = all(data, 'data_points').map((p) => {
        assert.equal(p['start_time_unix_nano'], undefined);
        const int = first(p, 'as_int');
        return {
          time: String(first(p, 'time_unix_nano')),
          value: int === undefined ? Number(first(p, 'as_double')) : String(int),
          attributes: protoAttributes(all(p, 'attributes')) as Record<string, string>,
        };
      });
      const base = { unit: String(first(m, 'unit')), kind, points } as const;
      if (kind === 'gauge') return [String(first(m, 'name')), base];
      const cumulative = first(data, 'aggregation_temporality') === 'AGGREGATION_TEMPORALITY_CUMULATIVE';
      return [String(first(m, 'name')), { ...base, cumulative, monotonic: first(data, 'is_monotonic') === 'true' }];
    });
    return {
      resource: protoAttributes(all(first(rm, 'resource') as Decoded, 'attributes')),
      scope: { name: String(first(scope, 'name')), version: String(first(scope, 'version')) },
      metrics: byName(metrics),
    };
  });
}

function jsonString(v: Obj): string | string[] {
  if ('stringValue' in v) return String(v['stringValue']);
  return ((v['arrayValue'] as Obj)['values'] as Obj[]).map((x) => String(x['stringValue']));
}

function jsonAttributes(list: unknown): Record<string, string | string[]> {
  return Object.fromEntries(((list ?? []) as Obj[]).map((kv) => [String(kv['key']), jsonString(kv['value'] as Obj)]));
}

/** A 64-bit integer in OTLP/JSON: decimal digits in a string. */
function digits(v: unknown): string {
  assert.equal(typeof v, 'string');
  assert.match(v as string, /^(0|[1-9]\d*)$/);
  return v as string;
}

function fromJson(text: string): Group[] {
  return ((JSON.parse(text) as Obj)['resourceMetrics'] as Obj[]).map((rm) => {
    const sm = only(rm['scopeMetrics'] as Obj[], 'ScopeMetrics');
    const scope = sm['scope'] as Obj;
    const metrics = (sm['metrics'] as Obj[]).map((m): [string, Metric] => {
      const kind = m['gauge'] !== undefined ? 'gauge' : 'sum';
      const data = m[kind] as Obj;
      const points = (data['dataPoints'] as Obj[]).map((p) => ({
        time: digits(p['timeUnixNano']),
        value: p['asInt'] === undefined ? Number(p['asDouble']) : digits(p['asInt']),
        attributes: jsonAttributes(p['attributes']) as Record<string, string>,
      }));
      const base = { unit: String(m['unit']), kind, points } as const;
      if (kind === 'gauge') return [String(m['name']), base];
      return [String(m['name']), { ...base, cumulative: data['aggregationTemporality'] === 2, monotonic: data['isMonotonic'] === true }];
    });
    return {
      resource: jsonAttributes((rm['resource'] as Obj)['attributes']),
      scope: { name: String(scope['name']), version: String(scope['version']) },
      metrics: byName(metrics),
    };
  });
}

/** Both encodings of `records`, decoded: they must agree. */
function encoded(records: readonly StatsRecord[]): Group[] {
  const groups = fromProto(encodeMetrics(records, 'protobuf'));
  assert.deepEqual(fromJson(encodeMetrics(records, 'json')), groups);
  return groups;
}

const gauge = (unit: string, points: Point[]): Metric => ({ unit, kind: 'gauge', points });
const counter = (unit: string, points: Point[]): Metric => ({ unit, kind: 'sum', cumulative: true, monotonic: true, points });
const updown = (unit: string, points: Point[]): Metric => ({ unit, kind: 'sum', cumulative: true, monotonic: false, points });
const at = (time: string, value: string | number, attributes: Record<string, string> = {}): Point => ({ time, value, attributes });

const NETWORK = ['rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped', 'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped'] as const;

function iface(base: number): Record<string, number> {
  return Object.fromEntries(NETWORK.map((f, i) => [f, base + i]));
}

const web = containerMeta('a'.repeat(64), '/shop-web-1', 'registry:5000/shop/web:2.1', {
  'com.docker.compose.project': 'shop',
  'com.docker.compose.service': 'web',
});
const db = containerMeta('b'.repeat(64), '/db', 'postgres', {});

function sample(container: ContainerMeta, time: string, stats: StatsValues): StatsRecord {
  return { type: 'stats', time, host: 'node-1', container, stats };
}

const WEB_1 = sample(web, '2026-01-02T03:04:05.000000001Z', {
  cpu_percent: null,
  cpu_seconds: 1.5,
  memory: { usage: 104857600, raw_usage: 209715200, limit: 2147483648, percent: 4.8828125 },
  network: { eth0: iface(100), eth1: iface(200) },
  blkio: { read_bytes: 4096, write_bytes: 8192 },
  pids: 7,
});
const DB_1 = sample(db, '2026-01-02T03:04:10.500000000Z', {
  cpu_percent: 0.5,
  cpu_seconds: 0.25,
  memory: { usage: 1024, raw_usage: 2048, limit: 0, percent: 0 },
  network: {},
  blkio: { read_bytes: 0, write_bytes: 0 },
  pids: 1,
});
const WEB_2 = sample(web, '2026-01-02T03:04:15.123456789Z', {
  cpu_percent: 250,
  cpu_seconds: 26.123456789,
  memory: { usage: 115343360, raw_usage: 230686720, limit: 2147483648, percent: 5.37109375 },
  network: { eth0: { ...iface(1000), rx_bytes: 2 ** 53 - 1 }, eth1: iface(2000) },
  blkio: { read_bytes: 12288, write_bytes: 2 ** 40 },
  pids: 9,
});

// 2026-01-02T03:04:05Z is 1767323045 s after the epoch.
const T1 = '1767323045000000001';
const T_DB = '1767323050500000000';
const T2 = '1767323055123456789';

/** The points of one network counter: field number `i` of NETWORK in both samples of `web`, both interfaces each. */
function webNetwork(field: (typeof NETWORK)[number], unit: string): Metric {
  const i = NETWORK.indexOf(field);
  const second = field === 'rx_bytes' ? String(2 ** 53 - 1) : String(1000 + i);
  return counter(unit, [
    at(T1, String(100 + i), { interface: 'eth0' }),
    at(T1, String(200 + i), { interface: 'eth1' }),
    at(T2, second, { interface: 'eth0' }),
    at(T2, String(2000 + i), { interface: 'eth1' }),
  ]);
}

describe('encodeMetrics', () => {
  it('gives each container one ResourceMetrics, each metric one Metric, each sample its points in time order', () => {
    const groups = encoded([WEB_1, DB_1, WEB_2]);
    assert.equal(groups.length, 2);
    const [webGroup, dbGroup] = groups as [Group, Group];
    assert.deepEqual(webGroup.scope, { name: 'sidekick', version: scopeVersion() });
    assert.equal(webGroup.resource['container.id'], web.id);
    assert.equal(webGroup.resource['service.name'], 'web');
    assert.equal(dbGroup.resource['container.id'], db.id);
    assert.deepEqual(webGroup.metrics, {
      // The first sample has no CPU figure: one point, the second's, 250 % of one CPU as a ratio.
      'container.cpu.utilization': gauge('1', [at(T2, 2.5)]),
      'container.cpu.usage.total': counter('ns', [at(T1, '1500000000'), at(T2, '26123456789')]),
      'container.memory.usage.total': updown('By', [at(T1, '104857600'), at(T2, '115343360')]),
      'container.memory.usage.limit': updown('By', [at(T1, '2147483648'), at(T2, '2147483648')]),
      'container.memory.percent': gauge('%', [at(T1, 4.8828125), at(T2, 5.37109375)]),
      'container.network.io.usage.rx_bytes': webNetwork('rx_bytes', 'By'),
      'container.network.io.usage.tx_bytes': webNetwork('tx_bytes', 'By'),
      'container.network.io.usage.rx_packets': webNetwork('rx_packets', '{packets}'),
      'container.network.io.usage.tx_packets': webNetwork('tx_packets', '{packets}'),
      'container.network.io.usage.rx_errors': webNetwork('rx_errors', '{errors}'),
      'container.network.io.usage.tx_errors': webNetwork('tx_errors', '{errors}'),
      'container.network.io.usage.rx_dropped': webNetwork('rx_dropped', '{packets}'),
      'container.network.io.usage.tx_dropped': webNetwork('tx_dropped', '{packets}'),
      'container.blockio.io_service_bytes_recursive': counter('By', [
        at(T1, '4096', { operation: 'read' }),
        at(T1, '8192', { operation: 'write' }),
        at(T2, '12288', { operation: 'read' }),
        at(T2, '1099511627776', { operation: 'write' }),
      ]),
      'container.pids.count': updown('{pids}', [at(T1, '7'), at(T2, '9')]),
    });
    // No network: no network metric, rather than metrics without points.
    assert.deepEqual(dbGroup.metrics, {
      'container.cpu.utilization': gauge('1', [at(T_DB, 0.005)]),
      'container.cpu.usage.total': counter('ns', [at(T_DB, '250000000')]),
      'container.memory.usage.total': updown('By', [at(T_DB, '1024')]),
      'container.memory.usage.limit': updown('By', [at(T_DB, '0')]),
      'container.memory.percent': gauge('%', [at(T_DB, 0)]),
      'container.blockio.io_service_bytes_recursive': counter('By', [at(T_DB, '0', { operation: 'read' }), at(T_DB, '0', { operation: 'write' })]),
      'container.pids.count': updown('{pids}', [at(T_DB, '1')]),
    });
  });

  it('orders the samples of a container by time whatever the order they come in', () => {
    const [group] = encoded([WEB_2, WEB_1]) as [Group];
    assert.deepEqual(
      group.metrics['container.pids.count']?.points.map((p) => p.time),
      [T1, T2],
    );
  });

  it('writes counts past 2^53 exactly, and the same request again from its reused writer', () => {
    const big = sample(db, DB_1.time, { ...DB_1.stats, cpu_seconds: 1e8, memory: { ...DB_1.stats.memory, limit: 2 ** 60 } });
    const [group] = encoded([big]) as [Group];
    assert.deepEqual(group.metrics['container.cpu.usage.total']?.points, [at(T_DB, '100000000000000000')]);
    assert.deepEqual(group.metrics['container.memory.usage.limit']?.points, [at(T_DB, '1152921504606846976')]);
    assert.deepEqual(encodeMetrics([big, WEB_1], 'protobuf'), encodeMetrics([big, WEB_1], 'protobuf'));
  });

  it('sends a count no sfixed64 holds as the nearest it does, and one below zero or not a number as 0', () => {
    const odd = sample(db, DB_1.time, { ...DB_1.stats, cpu_seconds: 1e10, pids: -3, memory: { ...DB_1.stats.memory, usage: Number.NaN } });
    const [group] = encoded([odd]) as [Group];
    assert.equal(group.metrics['container.cpu.usage.total']?.points[0]?.value, '9223372036854774784');
    assert.equal(group.metrics['container.pids.count']?.points[0]?.value, '0');
    assert.equal(group.metrics['container.memory.usage.total']?.points[0]?.value, '0');
  });

  it('writes an empty request for no records', () => {
    assert.equal(encodeMetrics([], 'protobuf').length, 0);
    assert.deepEqual(JSON.parse(encodeMetrics([], 'json')), { resourceMetrics: [] });
  });
});

/** What the request of `records` must hold, computed plainly from the records. */
function expected(records: readonly StatsRecord[], nanosOf: (time: string) => bigint): Array<{ id: string; metrics: Record<string, Metric> }> {
  const containers = [...new Set(records.map((r) => r.container))];
  return containers.map((meta) => {
    const samples = records
      .filter((r) => r.container === meta)
      .map((r) => ({ r, t: nanosOf(r.time) }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
    const points: Record<string, Point[]> = {};
    const add = (name: string, time: bigint, value: string | number, attributes: Record<string, string> = {}): void => {
      points[name] ??= [];
      points[name].push({ time: String(time), value, attributes });
    };
    for (const { r, t } of samples) {
      const s = r.stats;
      if (s.cpu_percent !== null) add('container.cpu.utilization', t, s.cpu_percent / 100);
      add('container.cpu.usage.total', t, String(BigInt(Math.round(s.cpu_seconds * 1e9))));
      add('container.memory.usage.total', t, String(s.memory.usage));
      add('container.memory.usage.limit', t, String(s.memory.limit));
      add('container.memory.percent', t, s.memory.percent);
      for (const [name, counters] of Object.entries(s.network)) {
        for (const f of NETWORK) add(`container.network.io.usage.${f}`, t, String(counters[f]), { interface: name });
      }
      add('container.blockio.io_service_bytes_recursive', t, String(s.blkio.read_bytes), { operation: 'read' });
      add('container.blockio.io_service_bytes_recursive', t, String(s.blkio.write_bytes), { operation: 'write' });
      add('container.pids.count', t, String(s.pids));
    }
    const unit = (name: string): string => {
      if (name.endsWith('utilization')) return '1';
      if (name.endsWith('percent')) return '%';
      if (name.endsWith('cpu.usage.total')) return 'ns';
      if (name.endsWith('pids.count')) return '{pids}';
      if (name.endsWith('_packets') || name.endsWith('_dropped')) return '{packets}';
      if (name.endsWith('_errors')) return '{errors}';
      return 'By';
    };
    const metrics: Record<string, Metric> = {};
    for (const [name, list] of Object.entries(points)) {
      const u = unit(name);
      if (u === '1' || u === '%') metrics[name] = gauge(u, list);
      else if (name.startsWith('container.memory') || name.endsWith('pids.count')) metrics[name] = updown(u, list);
      else metrics[name] = counter(u, list);
    }
    return { id: meta.id, metrics };
  });
}

describe('encodeMetrics, property', () => {
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const time = fc
    .record({
      year: fc.integer({ min: 1970, max: 2200 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 28 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 9 }).map((d) => d.join('')),
    })
    .map(({ year, month, day, hour, minute, second, fraction }) => ({
      text: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction === '' ? '' : `.${fraction}`}Z`,
      nanos: (BigInt(Date.UTC(year, month - 1, day, hour, minute, second)) / 1000n) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0')),
    }));
  // -0 is no figure sidekick computes (and OTLP/JSON has no -0 for it).
  const ratio = (max: number) => fc.double({ min: 0, max, noNaN: true }).map(Math.abs);
  const count = fc.maxSafeNat();
  const counters = fc.record(Object.fromEntries(NETWORK.map((f) => [f, count])) as Record<(typeof NETWORK)[number], typeof count>);
  const stats: fc.Arbitrary<StatsValues> = fc.record({
    cpu_percent: fc.option(ratio(1e5), { nil: null }),
    cpu_seconds: ratio(9e9),
    memory: fc.record({ usage: count, raw_usage: count, limit: count, percent: ratio(1e4) }),
    network: fc.dictionary(fc.string({ unit: 'binary', maxLength: 20 }), counters, { maxKeys: 6 }),
    blkio: fc.record({ read_bytes: count, write_bytes: count }),
    pids: fc.nat(),
  });
  const metas = ['1', '2', '3'].map((c) => containerMeta(c.repeat(64), `/c${c}`, 'img', {}));

  it('carries every value, time and interface of any batch exactly, in both encodings', () => {
    const times = new Map<string, bigint>();
    const batch = fc.array(fc.record({ c: fc.constantFrom(...metas), time, stats }), { minLength: 1, maxLength: 10 }).map((list) =>
      list.map(({ c, time, stats }): StatsRecord => {
        times.set(time.text, time.nanos);
        return sample(c, time.text, stats);
      }),
    );
    fc.assert(
      fc.property(batch, (records) => {
        const groups = encoded(records);
        const want = expected(records, (t) => times.get(t) as bigint);
        assert.deepEqual(
          groups.map((g) => ({ id: g.resource['container.id'], metrics: g.metrics })),
          want,
        );
      }),
      { numRuns: 60 },
    );
  });
});
