// Records as an OTLP ExportLogsServiceRequest, in protobuf or OTLP/JSON:
// every record type but stats (those are metrics). Each record's fields are
// worked out once into a scratch reused from record to record, then written
// straight into the one writer (or string) of the request: a log line costs
// its strings and little else.

import { ATTR_EVENT_NAME, ATTR_LOG_FILE_PATH, ATTR_LOG_IOSTREAM, ATTR_LOG_RECORD_UID } from '@opentelemetry/semantic-conventions/incubating';
import { recordId, type SidekickRecord, type StatsRecord } from '../../core/record.js';
import { anyValueJson, writeAnyValue, writeAttribute, type AttributeValue } from './attributes.js';
import type { OtlpEncoding } from './options.js';
import { ProtoWriter, nanosText, timeNanos, type Nanos } from './protobuf.js';
import { resourceOf, SCOPE_NAME, scopeVersion, type EncodedResource } from './resource.js';

export type { OtlpEncoding } from './options.js';

/** ExportLogsServiceRequest.resource_logs; ResourceLogs.resource, .scope_logs; ScopeLogs.scope, .log_records. */
const RESOURCE_LOGS = 1;
const RESOURCE = 1;
const SCOPE_LOGS = 2;
const SCOPE = 1;
const LOG_RECORDS = 2;
/** InstrumentationScope's fields. */
const SCOPE_NAME_FIELD = 1;
const SCOPE_VERSION_FIELD = 2;
/** LogRecord's fields. */
const TIME = 1;
const SEVERITY_NUMBER = 2;
const SEVERITY_TEXT = 3;
const BODY = 5;
const ATTRIBUTES = 6;
const OBSERVED_TIME = 11;
const EVENT_NAME = 12;

/** SeverityNumber values sidekick writes. */
const TRACE = 1;
const DEBUG = 5;
const INFO = 9;
const INFO2 = 10;
const WARN = 13;
const ERROR = 17;
const FATAL = 21;

/** Severity names as loggers write them (lower case), and their SeverityNumber. */
const SEVERITY_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['trace', TRACE],
  ['debug', DEBUG],
  ['info', INFO],
  ['information', INFO],
  ['notice', INFO2],
  ['warn', WARN],
  ['warning', WARN],
  ['error', ERROR],
  ['err', ERROR],
  ['fatal', FATAL],
  ['critical', FATAL],
  ['crit', FATAL],
  ['alert', FATAL],
  ['emerg', FATAL],
  ['emergency', FATAL],
  ['panic', FATAL],
]);

/** Where the level is in a JSON line, most telling key first (pino and bunyan `level`, GCP `severity`, ECS `log.level`, logfmt-style `lvl`). */
const LEVEL_KEYS = ['level', 'severity', 'log.level', 'lvl'] as const;

/** The sidekick attributes of no semantic convention. */
const TRUNCATED = 'sidekick.truncated';
const MULTILINE = 'sidekick.multiline';
const GAP_DROPPED = 'sidekick.gap.dropped';
const GAP_FROM = 'sidekick.gap.from';
const GAP_TO = 'sidekick.gap.to';
const GAP_REASON = 'sidekick.gap.reason';
const EVENT_ACTION = 'docker.event.action';
const EVENT_ACTOR_ID = 'docker.event.actor.id';
const EVENT_SCOPE = 'docker.event.scope';
const EVENT_ATTRIBUTES = 'docker.event.attributes.';

const INSPECT_EVENT = 'container.inspect';
const GAP_EVENT = 'sidekick.gap';

type LogsRecord = Exclude<SidekickRecord, StatsRecord>;

/** One record's LogRecord fields. One instance, refilled for each record. */
class LogFields {
  time: Nanos = { lo: 0, hi: 0 };
  severity = INFO;
  severityText = 'INFO';
  body = '';
  /** Empty for a log line: only events have a name. */
  eventName = '';
  /** Attributes as parallel arrays, the first `count` in use: refilled without allocating. */
  readonly keys: string[] = [];
  readonly values: AttributeValue[] = [];
  count = 0;

  attribute(key: string, value: AttributeValue): void {
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count++;
  }
}

const fields = new LogFields();

/** The one writer of every protobuf request: finish() copies the request out and empties it. */
const writer = new ProtoWriter();

/**
 * The records an OTLP logs request carries: every type but stats. `observed`
 * is when sidekick read the batch, every record's observed_time_unix_nano.
 */
export function encodeLogs(records: readonly SidekickRecord[], encoding: 'protobuf', observed: Nanos): Buffer;
export function encodeLogs(records: readonly SidekickRecord[], encoding: 'json', observed: Nanos): string;
export function encodeLogs(records: readonly SidekickRecord[], encoding: OtlpEncoding, observed: Nanos): Buffer | string {
  const groups = byResource(records);
  return encoding === 'json' ? requestJson(groups, observed) : requestProto(groups, observed);
}

/** Records by resource (one per container, or per host), in order of first appearance. */
function byResource(records: readonly SidekickRecord[]): Map<EncodedResource, LogsRecord[]> {
  const groups = new Map<EncodedResource, LogsRecord[]>();
  for (const r of records) {
    if (r.type === 'stats') throw new Error('encodeLogs was given a stats record: stats go to the OTLP metrics encoder');
    const resource = resourceOf(r);
    const group = groups.get(resource);
    if (group === undefined) groups.set(resource, [r]);
    else group.push(r);
  }
  return groups;
}

/** InstrumentationScope, the same in every request: its bytes, and its OTLP/JSON. */
let scopeProto: Buffer | undefined;
let scopeJson: string | undefined;

function requestProto(groups: Map<EncodedResource, LogsRecord[]>, observed: Nanos): Buffer {
  const w = writer;
  // A request that threw midway left its bytes: not to be sent with this one.
  if (w.length > 0) w.finish();
  if (scopeProto === undefined) {
    const s = new ProtoWriter(64);
    s.string(SCOPE_NAME_FIELD, SCOPE_NAME);
    s.string(SCOPE_VERSION_FIELD, scopeVersion());
    scopeProto = s.finish();
  }
  for (const [resource, records] of groups) {
    const resourceLogs = w.begin(RESOURCE_LOGS);
    w.bytes(RESOURCE, resource.proto);
    const scopeLogs = w.begin(SCOPE_LOGS);
    w.bytes(SCOPE, scopeProto);
    for (const r of records) {
      fieldsOf(r, fields);
      writeLogRecord(w, fields, observed);
    }
    w.end(scopeLogs);
    w.end(resourceLogs);
  }
  return w.finish();
}

function writeLogRecord(w: ProtoWriter, f: LogFields, observed: Nanos): void {
  const at = w.begin(LOG_RECORDS);
  w.fixed64(TIME, f.time);
  w.uint(SEVERITY_NUMBER, f.severity);
  w.string(SEVERITY_TEXT, f.severityText);
  writeAnyValue(w, BODY, f.body);
  for (let i = 0; i < f.count; i++) writeAttribute(w, ATTRIBUTES, f.keys[i] as string, f.values[i] as AttributeValue);
  w.fixed64(OBSERVED_TIME, observed);
  if (f.eventName !== '') w.string(EVENT_NAME, f.eventName);
  w.end(at);
}

function requestJson(groups: Map<EncodedResource, LogsRecord[]>, observed: Nanos): string {
  scopeJson ??= '{"name":' + JSON.stringify(SCOPE_NAME) + ',"version":' + JSON.stringify(scopeVersion()) + '}';
  const observedText = nanosText(observed);
  let out = '{"resourceLogs":[';
  let firstGroup = true;
  for (const [resource, records] of groups) {
    out += (firstGroup ? '{"resource":' : ',{"resource":') + resource.json + ',"scopeLogs":[{"scope":' + scopeJson + ',"logRecords":[';
    firstGroup = false;
    for (let i = 0; i < records.length; i++) {
      fieldsOf(records[i] as LogsRecord, fields);
      out += (i === 0 ? '' : ',') + logRecordJson(fields, observedText);
    }
    out += ']}]}';
  }
  return out + ']}';
}

function logRecordJson(f: LogFields, observed: string): string {
  let out =
    '{"timeUnixNano":"' +
    nanosText(f.time) +
    '","observedTimeUnixNano":"' +
    observed +
    '","severityNumber":' +
    f.severity +
    ',"severityText":' +
    JSON.stringify(f.severityText) +
    ',"body":' +
    anyValueJson(f.body) +
    ',"attributes":[';
  for (let i = 0; i < f.count; i++) {
    out += (i === 0 ? '{"key":' : ',{"key":') + JSON.stringify(f.keys[i]) + ',"value":' + anyValueJson(f.values[i] as AttributeValue) + '}';
  }
  return out + (f.eventName === '' ? ']}' : '],"eventName":' + JSON.stringify(f.eventName) + '}');
}

/** Fills `f` with the LogRecord fields of `r`. */
function fieldsOf(r: LogsRecord, f: LogFields): void {
  f.time = timeNanos(r.time);
  f.count = 0;
  f.eventName = '';
  switch (r.type) {
    case 'log':
      if (r.stream === 'stderr') severity(f, ERROR, 'ERROR');
      else severity(f, INFO, 'INFO');
      if (r.json === true) severityOfJson(r.message, f);
      f.body = r.message;
      f.attribute(ATTR_LOG_IOSTREAM, r.stream);
      f.attribute(ATTR_LOG_RECORD_UID, recordId(r));
      if (r.truncated === true) f.attribute(TRUNCATED, true);
      // Only a joined record has `from`; a single line of it has no newline in it.
      if (r.from !== undefined && r.message.includes('\n')) f.attribute(MULTILINE, true);
      return;
    case 'file':
      severity(f, INFO, 'INFO');
      if (r.json === true) severityOfJson(r.message, f);
      f.body = r.message;
      f.attribute(ATTR_LOG_FILE_PATH, r.path);
      f.attribute(ATTR_LOG_RECORD_UID, recordId(r));
      if (r.truncated === true) f.attribute(TRUNCATED, true);
      return;
    case 'event': {
      severity(f, INFO, 'INFO');
      const name = r.object + '.' + actionName(r.action);
      event(f, name);
      f.body = name;
      f.attribute(ATTR_LOG_RECORD_UID, recordId(r));
      f.attribute(EVENT_ACTION, r.action);
      f.attribute(EVENT_ACTOR_ID, r.actor.id);
      f.attribute(EVENT_SCOPE, r.scope);
      const attributes = r.actor.attributes;
      for (const key in attributes) f.attribute(EVENT_ATTRIBUTES + key, attributes[key] as string);
      return;
    }
    case 'inspect':
      severity(f, INFO, 'INFO');
      event(f, INSPECT_EVENT);
      // JSON.stringify gives undefined for an undefined answer, which a body cannot be.
      f.body = JSON.stringify(r.inspect) ?? 'null';
      f.attribute(ATTR_LOG_RECORD_UID, recordId(r));
      return;
    case 'gap':
      severity(f, WARN, 'WARN');
      event(f, GAP_EVENT);
      f.body = `sidekick dropped ${r.dropped} records from ${r.from} to ${r.to} (${r.reason})`;
      f.attribute(ATTR_LOG_RECORD_UID, recordId(r));
      f.attribute(GAP_DROPPED, r.dropped);
      f.attribute(GAP_FROM, r.from);
      f.attribute(GAP_TO, r.to);
      f.attribute(GAP_REASON, r.reason);
      return;
  }
}

function severity(f: LogFields, n: number, text: string): void {
  f.severity = n;
  f.severityText = text;
}

function event(f: LogFields, name: string): void {
  f.eventName = name;
  // event.name is deprecated for the LogRecord's event_name, which older receivers drop: both.
  f.attribute(ATTR_EVENT_NAME, name);
}

/** Docker's action without its details: `exec_start: sh -c ls` is `exec_start`, `health_status: healthy` is `health_status`. */
function actionName(action: string): string {
  const colon = action.indexOf(':');
  return colon < 0 ? action : action.slice(0, colon).trim();
}

/** Severity names of pino's and bunyan's numeric levels, the tens from 10 to 60. */
const NUMERIC_LEVELS: ReadonlyArray<readonly [number, string]> = [
  [TRACE, 'TRACE'],
  [DEBUG, 'DEBUG'],
  [INFO, 'INFO'],
  [WARN, 'WARN'],
  [ERROR, 'ERROR'],
  [FATAL, 'FATAL'],
];

/** The severity of a JSON object line from its level, when it names one sidekick knows; else `f` keeps the stream's. */
function severityOfJson(message: string, f: LogFields): void {
  const level = jsonLevel(message);
  if (typeof level === 'string') {
    const n = SEVERITY_BY_NAME.get(level) ?? SEVERITY_BY_NAME.get(level.toLowerCase());
    if (n !== undefined) severity(f, n, level);
  } else if (typeof level === 'number' && level % 10 === 0) {
    const known = NUMERIC_LEVELS[level / 10 - 1];
    if (known !== undefined) severity(f, known[0], known[1]);
  }
}

/**
 * The value of a JSON object's level: of the first of LEVEL_KEYS among its
 * top-level keys. A string (undefined when it has escapes: no level name
 * needs one) or a number; undefined when no key is there or its value is
 * neither. Found by scanning the text, not parsing it: nothing of the object
 * is built, and the scan ends at a `level` key, which pino writes first.
 * Never throws: text that is not a JSON object gives what was found before
 * it went wrong.
 */
export function jsonLevel(json: string): string | number | undefined {
  let i = skipSpace(json, 0);
  if (json.charCodeAt(i) !== 0x7b) return undefined;
  i = skipSpace(json, i + 1);
  let rank: number = LEVEL_KEYS.length;
  let value: string | number | undefined;
  while (json.charCodeAt(i) === 0x22) {
    const keyEnd = stringEnd(json, i);
    if (keyEnd < 0) break;
    const keyRank = levelKeyRank(json, i + 1, keyEnd - 1);
    i = skipSpace(json, keyEnd);
    if (json.charCodeAt(i) !== 0x3a) break;
    i = skipSpace(json, i + 1);
    const valueEnd = valueEndAt(json, i);
    if (valueEnd < 0) break;
    // Of a key written twice the last counts, as with JSON.parse; but the scan ends at the first `level`.
    if (keyRank < LEVEL_KEYS.length && keyRank <= rank) {
      rank = keyRank;
      value = scalar(json, i, valueEnd);
      if (rank === 0) break;
    }
    i = skipSpace(json, valueEnd);
    if (json.charCodeAt(i) !== 0x2c) break;
    i = skipSpace(json, i + 1);
  }
  return value;
}

/** The index in LEVEL_KEYS of the key between `start` and `end`, or LEVEL_KEYS.length. */
function levelKeyRank(json: string, start: number, end: number): number {
  const length = end - start;
  for (let k = 0; k < LEVEL_KEYS.length; k++) {
    const key = LEVEL_KEYS[k] as string;
    if (key.length === length && json.startsWith(key, start)) return k;
  }
  return LEVEL_KEYS.length;
}

/** A string or number value between `start` and `end`; undefined for any other value. */
function scalar(json: string, start: number, end: number): string | number | undefined {
  const c = json.charCodeAt(start);
  if (c === 0x22) {
    const text = json.slice(start + 1, end - 1);
    return text.includes('\\') ? undefined : text;
  }
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
    const n = Number(json.slice(start, end));
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/** The index after the JSON value at `i`, or -1 when there is none. */
function valueEndAt(json: string, i: number): number {
  const c = json.charCodeAt(i);
  if (c === 0x22) return stringEnd(json, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < json.length; j++) {
      const d = json.charCodeAt(j);
      if (d === 0x22) {
        const end = stringEnd(json, j);
        if (end < 0) return -1;
        j = end - 1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return -1;
  }
  // A number, true, false or null: up to what ends a value.
  let j = i;
  for (; j < json.length; j++) {
    const d = json.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
  }
  return j === i ? -1 : j;
}

/** The index after the string whose opening quote is at `i`, or -1 when it does not end. */
function stringEnd(json: string, i: number): number {
  let quote = json.indexOf('"', i + 1);
  while (quote >= 0) {
    let backslashes = 0;
    while (json.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    quote = json.indexOf('"', quote + 1);
  }
  return -1;
}

function skipSpace(json: string, i: number): number {
  for (;;) {
    const c = json.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}
