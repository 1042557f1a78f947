// One plain form of an OTLP request, from either encoding: what protoc
// decoded of a protobuf body, or an OTLP/JSON body as parsed. Tests compare
// the two, and check what arrived, in this form.

import type { Decoded } from './protoc.js';

export type Value = string | number | boolean | Value[];

export interface NormalLogRecord {
  readonly time: string;
  readonly observed: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly body: Value | undefined;
  readonly eventName: string;
  readonly attributes: Readonly<Record<string, Value>>;
}

export interface NormalPoint {
  readonly time: string;
  readonly value: number;
  readonly attributes: Readonly<Record<string, Value>>;
}

export interface NormalMetric {
  readonly name: string;
  readonly unit: string;
  readonly kind: 'gauge' | 'sum';
  /** Sums only. */
  readonly monotonic?: boolean;
  readonly cumulative?: boolean;
  readonly points: readonly NormalPoint[];
}

export interface Scoped<T> {
  readonly resource: Readonly<Record<string, Value>>;
  readonly scope: { readonly name: string; readonly version: string };
  readonly items: readonly T[];
}

const SEVERITIES = ['UNSPECIFIED', 'TRACE', 'TRACE2', 'TRACE3', 'TRACE4', 'DEBUG', 'DEBUG2', 'DEBUG3', 'DEBUG4', 'INFO', 'INFO2', 'INFO3', 'INFO4'];
SEVERITIES.push('WARN', 'WARN2', 'WARN3', 'WARN4', 'ERROR', 'ERROR2', 'ERROR3', 'ERROR4', 'FATAL', 'FATAL2', 'FATAL3', 'FATAL4');

type Obj = Record<string, unknown>;

const one = (d: Decoded, field: string): unknown => d[field]?.[0];
const msg = (d: Decoded, field: string): Decoded => (one(d, field) as Decoded | undefined) ?? {};
const many = (d: Decoded, field: string): Decoded[] => (d[field] ?? []) as Decoded[];
const text = (v: unknown): string => (v === undefined ? '' : String(v));

/** An AnyValue as protoc decoded it. */
function protoValue(v: Decoded): Value {
  if (v['string_value'] !== undefined) return String(one(v, 'string_value'));
  if (v['bool_value'] !== undefined) return one(v, 'bool_value') === 'true';
  if (v['int_value'] !== undefined) return Number(one(v, 'int_value'));
  if (v['double_value'] !== undefined) return Number(one(v, 'double_value'));
  if (v['array_value'] !== undefined) return many(msg(v, 'array_value'), 'values').map(protoValue);
  throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
}

function protoAttributes(list: Decoded[]): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of list) out[text(one(kv, 'key'))] = protoValue(msg(kv, 'value'));
  return out;
}

/** An AnyValue in OTLP/JSON. */
function jsonValue(v: Obj): Value {
  if ('stringValue' in v) return String(v['stringValue']);
  if ('boolValue' in v) return v['boolValue'] === true;
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('arrayValue' in v) return ((v['arrayValue'] as Obj)['values'] as Obj[]).map(jsonValue);
  throw new Error(`unexpected AnyValue ${JSON.stringify(v)}`);
}

function jsonAttributes(list: unknown): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of (list ?? []) as Obj[]) out[String(kv['key'])] = jsonValue(kv['value'] as Obj);
  return out;
}

function protoScoped<T>(resourceList: Decoded[], scopedField: string, itemsField: string, item: (d: Decoded) => T): Scoped<T>[] {
  return resourceList.map((r) => {
    const scoped = many(r, scopedField);
    if (scoped.length !== 1) throw new Error(`expected one ${scopedField}, got ${scoped.length}`);
    const s = scoped[0] as Decoded;
    return {
      resource: protoAttributes(many(msg(r, 'resource'), 'attributes')),
      scope: { name: text(one(msg(s, 'scope'), 'name')), version: text(one(msg(s, 'scope'), 'version')) },
      items: many(s, itemsField).map(item),
    };
  });
}

function jsonScoped<T>(resourceList: unknown, scopedField: string, itemsField: string, item: (o: Obj) => T): Scoped<T>[] {
  return ((resourceList ?? []) as Obj[]).map((r) => {
    const scoped = r[scopedField] as Obj[];
    if (scoped.length !== 1) throw new Error(`expected one ${scopedField}, got ${scoped.length}`);
    const s = scoped[0] as Obj;
    const scope = (s['scope'] ?? {}) as Obj;
    return {
      resource: jsonAttributes((r['resource'] as Obj | undefined)?.['attributes']),
      scope: { name: text(scope['name']), version: text(scope['version']) },
      items: ((s[itemsField] ?? []) as Obj[]).map(item),
    };
  });
}

export function logsFromProto(d: Decoded): Scoped<NormalLogRecord>[] {
  return protoScoped(many(d, 'resource_logs'), 'scope_logs', 'log_records', (r) => {
    const severity = text(one(r, 'severity_number') ?? 'SEVERITY_NUMBER_UNSPECIFIED').replace('SEVERITY_NUMBER_', '');
    const body = r['body'] === undefined ? undefined : protoValue(msg(r, 'body'));
    return {
      time: text(one(r, 'time_unix_nano') ?? 0),
      observed: text(one(r, 'observed_time_unix_nano') ?? 0),
      severityNumber: SEVERITIES.indexOf(severity),
      severityText: text(one(r, 'severity_text')),
      body,
      eventName: text(one(r, 'event_name')),
      attributes: protoAttributes(many(r, 'attributes')),
    };
  });
}

export function logsFromJson(o: Obj): Scoped<NormalLogRecord>[] {
  return jsonScoped(o['resourceLogs'], 'scopeLogs', 'logRecords', (r) => ({
    time: text(r['timeUnixNano'] ?? 0),
    observed: text(r['observedTimeUnixNano'] ?? 0),
    severityNumber: Number(r['severityNumber'] ?? 0),
    severityText: text(r['severityText']),
    body: r['body'] === undefined ? undefined : jsonValue(r['body'] as Obj),
    eventName: text(r['eventName']),
    attributes: jsonAttributes(r['attributes']),
  }));
}

export function metricsFromProto(d: Decoded): Scoped<NormalMetric>[] {
  return protoScoped(many(d, 'resource_metrics'), 'scope_metrics', 'metrics', (m) => {
    const kind = m['gauge'] !== undefined ? 'gauge' : 'sum';
    const data = msg(m, kind);
    const points = many(data, 'data_points').map((p) => ({
      time: text(one(p, 'time_unix_nano') ?? 0),
      value: Number(one(p, 'as_double') ?? one(p, 'as_int') ?? 0),
      attributes: protoAttributes(many(p, 'attributes')),
    }));
    const base = { name: text(one(m, 'name')), unit: text(one(m, 'unit')), points };
    if (kind === 'gauge') return { ...base, kind };
    return {
      ...base,
      kind,
      monotonic: one(data, 'is_monotonic') === 'true',
      cumulative: one(data, 'aggregation_temporality') === 'AGGREGATION_TEMPORALITY_CUMULATIVE',
    };
  });
}

export function metricsFromJson(o: Obj): Scoped<NormalMetric>[] {
  return jsonScoped(o['resourceMetrics'], 'scopeMetrics', 'metrics', (m) => {
    const kind = m['gauge'] !== undefined ? 'gauge' : 'sum';
    const data = m[kind] as Obj;
    const points = ((data['dataPoints'] ?? []) as Obj[]).map((p) => ({
      time: text(p['timeUnixNano'] ?? 0),
      value: Number(p['asDouble'] ?? p['asInt'] ?? 0),
      attributes: jsonAttributes(p['attributes']),
    }));
    const base = { name: text(m['name']), unit: text(m['unit']), points };
    if (kind === 'gauge') return { ...base, kind };
    return { ...base, kind, monotonic: data['isMonotonic'] === true, cumulative: data['aggregationTemporality'] === 2 };
  });
}
