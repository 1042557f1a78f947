// Stats records as OTLP metrics: an ExportMetricsServiceRequest in protobuf
// or OTLP/JSON. The names, units and kinds are those of the OpenTelemetry
// Collector's docker_stats receiver, so that what is built for its metrics
// reads sidekick's too; the semantic conventions name no such container
// metrics. One ResourceMetrics a container; in it one Metric a name, with a
// point a sample (a point an interface for the network, an operation for
// block I/O), in time order.

import type { StatsRecord, StatsValues } from '../../core/record.js';
import { anyValueJson, writeAttribute } from './attributes.js';
import { nanosText, ProtoWriter, timeNanos, type Nanos } from './protobuf.js';
import { resourceOf, SCOPE_NAME, scopeVersion, type EncodedResource } from './resource.js';

/** ExportMetricsServiceRequest.resource_metrics. */
const RESOURCE_METRICS = 1;
/** ResourceMetrics.resource, .scope_metrics. */
const RESOURCE = 1;
const SCOPE_METRICS = 2;
/** ScopeMetrics.scope, .metrics; InstrumentationScope.name, .version. */
const SCOPE = 1;
const METRICS = 2;
const SCOPE_NAME_FIELD = 1;
const SCOPE_VERSION = 2;
/** Metric's fields. */
const NAME = 1;
const DESCRIPTION = 2;
const UNIT = 3;
const GAUGE = 5;
const SUM = 7;
/** Gauge.data_points and Sum's fields. */
const DATA_POINTS = 1;
const AGGREGATION_TEMPORALITY = 2;
const IS_MONOTONIC = 3;
/**
 * NumberDataPoint's fields. start_time_unix_nano (2) is left out, unknown as
 * OTLP allows: the sums count from the container's start, which a stats
 * record does not carry.
 */
const TIME_UNIX_NANO = 3;
const AS_DOUBLE = 4;
const AS_INT = 6;
const ATTRIBUTES = 7;

/** AggregationTemporality: every sum here counts from the container's start. */
const CUMULATIVE = 2;

/**
 * A Gauge of doubles, a monotonic cumulative Sum of integers, or a
 * non-monotonic one (OpenTelemetry's Gauge, Counter and UpDownCounter).
 */
type Kind = 'gauge' | 'counter' | 'updown';

/** Told a metric's points of one sample, one a call. */
interface PointSink {
  point(value: number, key?: string, attribute?: string): void;
}

interface MetricDef {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly kind: Kind;
  readonly points: (stats: StatsValues, out: PointSink) => void;
}

const INTERFACE = 'interface';
const OPERATION = 'operation';

function networkCounter(counter: string, unit: string, description: string): MetricDef {
  return {
    name: `container.network.io.usage.${counter}`,
    description,
    unit,
    kind: 'counter',
    points: (s, out) => {
      for (const [iface, counters] of Object.entries(s.network)) out.point(counters[counter] ?? 0, INTERFACE, iface);
    },
  };
}

const DEFS: readonly MetricDef[] = [
  {
    name: 'container.cpu.utilization',
    description: 'CPU used by the container since the previous sample: 1 is one CPU busy all the time.',
    // The receiver sends a percentage under this name and unit "1" (it was container.cpu.percent once); a
    // *.utilization is a ratio in OpenTelemetry's conventions, as system.cpu.utilization is: a fraction here.
    unit: '1',
    kind: 'gauge',
    points: (s, out) => {
      // The first sample of a container has nothing to compare with.
      if (s.cpu_percent !== null) out.point(s.cpu_percent / 100);
    },
  },
  {
    name: 'container.cpu.usage.total',
    description: 'CPU time used by the container.',
    unit: 'ns',
    kind: 'counter',
    // Rounded to whole nanoseconds where integers are written.
    points: (s, out) => out.point(s.cpu_seconds * 1e9),
  },
  {
    name: 'container.memory.usage.total',
    description: 'Memory used by the container, reclaimable page cache excluded.',
    unit: 'By',
    kind: 'updown',
    points: (s, out) => out.point(s.memory.usage),
  },
  {
    name: 'container.memory.usage.limit',
    description: 'Memory limit of the container.',
    unit: 'By',
    kind: 'updown',
    points: (s, out) => out.point(s.memory.limit),
  },
  {
    name: 'container.memory.percent',
    description: 'Memory used by the container, in percent of its limit.',
    // The receiver's value too, though it labels it "1": the unit of a percentage is "%".
    unit: '%',
    kind: 'gauge',
    points: (s, out) => out.point(s.memory.percent),
  },
  networkCounter('rx_bytes', 'By', 'Bytes received.'),
  networkCounter('tx_bytes', 'By', 'Bytes sent.'),
  networkCounter('rx_packets', '{packets}', 'Packets received.'),
  networkCounter('tx_packets', '{packets}', 'Packets sent.'),
  networkCounter('rx_errors', '{errors}', 'Receive errors.'),
  networkCounter('tx_errors', '{errors}', 'Send errors.'),
  networkCounter('rx_dropped', '{packets}', 'Incoming packets dropped.'),
  networkCounter('tx_dropped', '{packets}', 'Outgoing packets dropped.'),
  {
    name: 'container.blockio.io_service_bytes_recursive',
    description: 'Bytes read from and written to block devices by the container.',
    unit: 'By',
    kind: 'counter',
    // The receiver has a point per device too (device_major, device_minor); a record holds the sums over devices.
    points: (s, out) => {
      out.point(s.blkio.read_bytes, OPERATION, 'read');
      out.point(s.blkio.write_bytes, OPERATION, 'write');
    },
  },
  {
    name: 'container.pids.count',
    description: 'Processes and threads in the container.',
    unit: '{pids}',
    kind: 'updown',
    points: (s, out) => out.point(s.pids),
  },
];

/** The largest double an sfixed64 holds (2^63 - 1024). */
const MAX_INT64 = 2 ** 63 - 1024;

/**
 * A count as a whole number an sfixed64 holds. Counts are never below zero:
 * what a malformed answer has there goes as 0, as what stats.ts cannot read.
 */
function int64(v: number): number {
  return v > 0 ? Math.min(Math.round(v), MAX_INT64) : 0;
}

/** Counts the points it is told. */
class PointCount implements PointSink {
  n = 0;

  point(): void {
    this.n++;
  }
}

const counted = new PointCount();

function pointsOf(def: MetricDef, samples: readonly Sample[]): number {
  counted.n = 0;
  for (const s of samples) def.points(s.record.stats, counted);
  return counted.n;
}

interface Sample {
  readonly record: StatsRecord;
  readonly time: Nanos;
}

const byTime = (a: Sample, b: Sample): number => a.time.hi - b.time.hi || a.time.lo - b.time.lo;

/** The samples of each resource (container), in the order the containers first come, each container's in time order. */
function byResource(records: readonly StatsRecord[]): Map<EncodedResource, Sample[]> {
  const groups = new Map<EncodedResource, Sample[]>();
  for (const record of records) {
    const resource = resourceOf(record);
    let samples = groups.get(resource);
    if (samples === undefined) {
      samples = [];
      groups.set(resource, samples);
    }
    samples.push({ record, time: timeNanos(record.time) });
  }
  // Stable: samples of one instant keep their order.
  for (const samples of groups.values()) samples.sort(byTime);
  return groups;
}

const w = new ProtoWriter();

/** Writes each point told as a NumberDataPoint of the current metric and sample. */
class ProtoPoints implements PointSink {
  kind: Kind = 'gauge';
  time: Nanos = { lo: 0, hi: 0 };

  point(value: number, key?: string, attribute?: string): void {
    const at = w.begin(DATA_POINTS);
    if (key !== undefined && attribute !== undefined) writeAttribute(w, ATTRIBUTES, key, attribute);
    w.fixed64(TIME_UNIX_NANO, this.time);
    if (this.kind === 'gauge') w.double(AS_DOUBLE, value);
    else {
      const n = int64(value);
      w.fixed64(AS_INT, { lo: n % 4294967296, hi: Math.floor(n / 4294967296) });
    }
    w.end(at);
  }
}

const protoPoints = new ProtoPoints();

function encodeProtobuf(records: readonly StatsRecord[]): Buffer {
  for (const [resource, samples] of byResource(records)) {
    const resourceMetrics = w.begin(RESOURCE_METRICS);
    w.bytes(RESOURCE, resource.proto);
    const scopeMetrics = w.begin(SCOPE_METRICS);
    const scope = w.begin(SCOPE);
    w.string(SCOPE_NAME_FIELD, SCOPE_NAME);
    w.string(SCOPE_VERSION, scopeVersion());
    w.end(scope);
    for (const def of DEFS) {
      // A metric with no point (no CPU figure yet, no network) is left out.
      if (pointsOf(def, samples) === 0) continue;
      const metric = w.begin(METRICS);
      w.string(NAME, def.name);
      w.string(DESCRIPTION, def.description);
      w.string(UNIT, def.unit);
      const data = w.begin(def.kind === 'gauge' ? GAUGE : SUM);
      protoPoints.kind = def.kind;
      for (const s of samples) {
        protoPoints.time = s.time;
        def.points(s.record.stats, protoPoints);
      }
      if (def.kind !== 'gauge') w.uint(AGGREGATION_TEMPORALITY, CUMULATIVE);
      if (def.kind === 'counter') w.bool(IS_MONOTONIC, true);
      w.end(data);
      w.end(metric);
    }
    w.end(scopeMetrics);
    w.end(resourceMetrics);
  }
  return w.finish();
}

/** OTLP/JSON's text of a 64-bit integer: its decimal digits in a string, exact beyond 2^53 too. */
function int64Json(n: number): string {
  return Number.isSafeInteger(n) ? '"' + n + '"' : '"' + BigInt(n).toString() + '"';
}

/** A double in OTLP/JSON: a number, or "NaN", "Infinity" and "-Infinity" in strings, as protobuf's JSON mapping has them. */
function doubleJson(v: number): string {
  return Number.isFinite(v) ? String(v) : '"' + v + '"';
}

/** Each metric, with its OTLP/JSON up to its first data point and after its last. */
const JSON_METRICS = DEFS.map((def) => {
  const head = '{"name":' + JSON.stringify(def.name) + ',"description":' + JSON.stringify(def.description) + ',"unit":' + JSON.stringify(def.unit);
  if (def.kind === 'gauge') return { def, head: head + ',"gauge":{"dataPoints":[', tail: ']}}' };
  const sum = '],"aggregationTemporality":' + CUMULATIVE + ',"isMonotonic":' + (def.kind === 'counter') + '}}';
  return { def, head: head + ',"sum":{"dataPoints":[', tail: sum };
});

/** Appends each point told as a NumberDataPoint in OTLP/JSON. */
class JsonPoints implements PointSink {
  out = '';
  first = true;
  kind: Kind = 'gauge';
  /** `"timeUnixNano":"…"` of the current sample. */
  time = '';

  point(value: number, key?: string, attribute?: string): void {
    let p = this.first ? '{' : ',{';
    this.first = false;
    if (key !== undefined && attribute !== undefined) p += '"attributes":[{"key":' + JSON.stringify(key) + ',"value":' + anyValueJson(attribute) + '}],';
    p += this.time;
    p += this.kind === 'gauge' ? ',"asDouble":' + doubleJson(value) + '}' : ',"asInt":' + int64Json(int64(value)) + '}';
    this.out += p;
  }
}

const jsonPoints = new JsonPoints();

function encodeJson(records: readonly StatsRecord[]): string {
  const scope = '{"scope":{"name":' + JSON.stringify(SCOPE_NAME) + ',"version":' + JSON.stringify(scopeVersion()) + '},"metrics":[';
  let out = '{"resourceMetrics":[';
  let firstResource = true;
  for (const [resource, samples] of byResource(records)) {
    out += (firstResource ? '{"resource":' : ',{"resource":') + resource.json + ',"scopeMetrics":[' + scope;
    firstResource = false;
    const times = samples.map((s) => '"timeUnixNano":"' + nanosText(s.time) + '"');
    let firstMetric = true;
    for (const { def, head, tail } of JSON_METRICS) {
      if (pointsOf(def, samples) === 0) continue;
      jsonPoints.out = firstMetric ? head : ',' + head;
      firstMetric = false;
      jsonPoints.first = true;
      jsonPoints.kind = def.kind;
      for (let i = 0; i < samples.length; i++) {
        jsonPoints.time = times[i] as string;
        def.points((samples[i] as Sample).record.stats, jsonPoints);
      }
      out += jsonPoints.out + tail;
    }
    out += ']}]}';
  }
  return out + ']}';
}

/** The request of these stats records, in protobuf or OTLP/JSON. */
export function encodeMetrics(records: readonly StatsRecord[], encoding: 'protobuf'): Buffer;
export function encodeMetrics(records: readonly StatsRecord[], encoding: 'json'): string;
export function encodeMetrics(records: readonly StatsRecord[], encoding: 'protobuf' | 'json'): Buffer | string {
  return encoding === 'json' ? encodeJson(records) : encodeProtobuf(records);
}
