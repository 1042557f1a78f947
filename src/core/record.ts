// One schema for everything sidekick forwards. Every source builds one of
// these records; every sink reads them. Serialisation happens once per record
// (see `serialize`), with each container's fixed JSON cached.

import { createHash } from 'node:crypto';
import { digits, writeDigits } from './digits.js';
import type { AnyPositionCodec, PositionCodec } from './position.js';

export const RECORD_TYPES = ['log', 'event', 'inspect', 'stats', 'file'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export interface ComposeMeta {
  readonly project: string;
  readonly service: string;
}

/** What tags every record of one container. Immutable once built. */
export interface ContainerMeta {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly compose?: ComposeMeta;
  /** SIDEKICK_TAG rendered for this container: the record's `tag`, and syslog's APP-NAME. */
  readonly tag?: string;
  /** SIDEKICK_FIELDS and SIDEKICK_STATIC_FIELDS for this container: the record's `fields`. */
  readonly fields?: Readonly<Record<string, string>>;
}

interface RecordBase {
  /** RFC 3339 with nanoseconds, in UTC: Docker's own time when it has one. */
  readonly time: string;
  readonly host: string;
  readonly container?: ContainerMeta;
  /** SIDEKICK_STATIC_FIELDS, on records of no container (those of a container have its meta's). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Not serialised: how its source keeps positions, on records of a source that can be read again from a place. */
  readonly position?: AnyPositionCodec;
  /** Not serialised: the id of a record read back from a disk buffer, whose own fields no longer tell it all. */
  readonly storedId?: string;
}

export type LogStream = 'stdout' | 'stderr';

/** A place in a container's log: Docker's time, and how many lines at that time come before or at it. */
export interface LogPosition {
  readonly time: string;
  readonly count: number;
  /**
   * Multiline: one stream's lines are done further on, up to here, while a
   * record of the other stream is still open before it. Absent: both are at
   * `time`, `count`.
   */
  readonly ahead?: StreamPosition;
}

/** Where one stream of a container's log is, of its lines alone. */
export interface StreamPosition {
  readonly stream: LogStream;
  readonly time: string;
  readonly count: number;
}

export interface LogRecord extends RecordBase {
  readonly type: 'log';
  readonly container: ContainerMeta;
  readonly stream: LogStream;
  readonly message: string;
  /** Lines of this container at this very `time` up to this one (1 for the first): its place in the log. */
  readonly seq: number;
  /** Present when the line was longer than the maximum and was cut. */
  readonly truncated?: true;
  /** Present when the message is a JSON object (SIDEKICK_PARSE_JSON): also written as `json`. */
  readonly json?: true;
  /** Not serialised: the message is ASCII with nothing JSON escapes (see LogLine): its JSON is the message in quotes. */
  readonly plain?: boolean;
  /**
   * Not serialised, set on multiline records only (others are at their
   * `time` and `seq`): where the log was done with before this record and
   * after it, for checkpoints. A joined record ends at its last line, and a
   * record of one stream may be sent while one of the other stream, begun
   * earlier, is still open.
   */
  readonly from?: LogPosition;
  readonly through?: LogPosition;
  readonly position: PositionCodec<LogPosition, LogRecord>;
}

/** One file as sidekick tails it: the same file (device, inode) through renames, and a hash of its first bytes. */
export interface TailedFile {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  /** Hex digest of the file's first bytes: tells a reused inode from the file it was. */
  readonly fingerprint: string;
  /** Increases with each file opened by this run: orders the files seen at one path. */
  readonly generation: number;
}

/** A place in a tailed file: the file, and the byte offset to read on from. */
export interface FilePosition extends TailedFile {
  readonly offset: number;
}

/** A line of a tailed log file. */
export interface FileRecord extends RecordBase {
  readonly type: 'file';
  /** The path sidekick read it at. */
  readonly path: string;
  readonly message: string;
  readonly truncated?: true;
  /** Present when the message is a JSON object (SIDEKICK_PARSE_JSON): also written as `json`. */
  readonly json?: true;
  /** Not serialised: which file, and the bytes the line took in it (for checkpoints and the id). */
  readonly file: TailedFile;
  readonly start: number;
  readonly end: number;
  readonly position: PositionCodec<FilePosition, FileRecord>;
}

export interface EventRecord extends RecordBase {
  readonly type: 'event';
  /** Docker's event Type: container, image, network, volume, daemon, ... */
  readonly object: string;
  readonly action: string;
  readonly actor: { readonly id: string; readonly attributes: Readonly<Record<string, string>> };
  readonly scope: string;
}

export interface InspectRecord extends RecordBase {
  readonly type: 'inspect';
  readonly container: ContainerMeta;
  readonly inspect: unknown;
}

export interface StatsValues {
  /** CPU use since sidekick's previous sample, in % of one CPU; null for the first sample. */
  readonly cpu_percent: number | null;
  /** CPU time used since the container started. */
  readonly cpu_seconds: number;
  readonly memory: {
    /** In use, without reclaimable page cache (what `docker stats` shows). */
    readonly usage: number;
    /** The cgroup's whole usage, page cache included. */
    readonly raw_usage: number;
    readonly limit: number;
    readonly percent: number;
  };
  readonly network: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly blkio: { readonly read_bytes: number; readonly write_bytes: number };
  readonly pids: number;
}

export interface StatsRecord extends RecordBase {
  readonly type: 'stats';
  readonly container: ContainerMeta;
  readonly stats: StatsValues;
}

/** Records a sink lost (its buffer was full), reported in-band to that sink. */
export interface GapRecord extends RecordBase {
  readonly type: 'gap';
  readonly dropped: number;
  /** Times of the earliest and latest record lost. */
  readonly from: string;
  readonly to: string;
  /** A sink's buffer was full, or a /tap client was too slow. */
  readonly reason: 'buffer_full' | 'tap_behind';
}

/** A record being built, before it is handed on (then never changed). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type SidekickRecord = LogRecord | FileRecord | EventRecord | InspectRecord | StatsRecord | GapRecord;

/** Records a restart resumes from: each has a place in its source. */

/** A record with its JSON form, built once and shared by every sink. */
export interface Envelope {
  readonly record: SidekickRecord;
  readonly json: string;
  /** The most bytes its JSON can take in UTF-8: the room writeJson needs. */
  readonly jsonBytesMost: number;
  /**
   * Its JSON written in UTF-8 into `buf` at `at` (with jsonBytesMost of room
   * or more); returns where it ends. A log line's is written without building
   * its text when no sink has asked for that.
   */
  writeJson(buf: Buffer, at: number): number;
  /** The memory it holds, near enough, with its JSON built: what a buffer counts (the same from push to shift). */
  readonly size: number;
}

const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_SERVICE = 'com.docker.compose.service';

export function containerMeta(id: string, name: string, image: string, labels: Readonly<Record<string, string>> | null | undefined): ContainerMeta {
  const l = labels ?? {};
  const project = l[COMPOSE_PROJECT];
  const service = l[COMPOSE_SERVICE];
  const bare = name.startsWith('/') ? name.slice(1) : name;
  return project !== undefined && service !== undefined
    ? { id, name: bare, image, labels: l, compose: { project, service } }
    : { id, name: bare, image, labels: l };
}

/** A container's parts of its records' JSON, built once per container. */
interface ContainerJson {
  /** `,"container":{…}` and the container's `tag` and `fields`. */
  readonly fragment: string;
  /** How its log lines' ids start: the first 16 digits of its id, and "-". */
  readonly logIdStart: string;
  /** What comes between a log line's id and its message, for each stream: the end of the id, the container, the stream. */
  readonly stdoutMessage: string;
  readonly stderrMessage: string;
  /** Those parts in UTF-8, once a line of the container is written as bytes. */
  bytes?: ContainerBytes;
}

const containerJsons = new WeakMap<ContainerMeta, ContainerJson>();

function containerJsonOf(meta: ContainerMeta): ContainerJson {
  let json = containerJsons.get(meta);
  if (json === undefined) {
    const { tag, fields, ...container } = meta;
    const fragment =
      ',"container":' +
      JSON.stringify(container) +
      (tag === undefined ? '' : ',"tag":' + JSON.stringify(tag)) +
      (fields === undefined ? '' : ',"fields":' + JSON.stringify(fields));
    const afterId = '"' + fragment + ',"stream":';
    json = {
      fragment,
      logIdStart: meta.id.slice(0, 16) + '-',
      stdoutMessage: afterId + '"stdout","message":',
      stderrMessage: afterId + '"stderr","message":',
    };
    containerJsons.set(meta, json);
  }
  return json;
}

function containerFragment(meta: ContainerMeta): string {
  return containerJsonOf(meta).fragment;
}

/** The host's JSON, kept: it is the same for every record of this process. */
let hostText: string | undefined;
let hostJson = '';
/** What comes between a line's time and its id: the host, the id key. */
let afterTime = '';
/** afterTime in UTF-8. */
let afterTimeBytes = Buffer.alloc(0);

function hostJsonOf(host: string): string {
  if (host !== hostText) {
    hostText = host;
    hostJson = JSON.stringify(host);
    afterTime = '","host":' + hostJson + ',"id":"';
    afterTimeBytes = Buffer.from(afterTime);
  }
  return hostJson;
}

/** What JSON.stringify writes other than as it is in a string: a quote, a backslash, a control character, a surrogate (a lone one is escaped). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A message as a JSON string: most need no escaping (known of a `plain` one, see LogRecord), and are copied as they are. */
function messageJson(message: string, plain = false): string {
  return plain || !NEEDS_ESCAPING.test(message) ? '"' + message + '"' : JSON.stringify(message);
}

/** What ends a line's JSON: its message again as JSON (SIDEKICK_PARSE_JSON), and whether it was cut. */
function lineEnd(r: LogRecord | FileRecord): string {
  return (r.json === true ? ',"json":' + r.message : '') + (r.truncated === true ? ',"truncated":true}' : '}');
}

/**
 * The JSON of a log or file line, the records that come by the hundred
 * thousand a second: concatenated from parts a container's lines share
 * (built once per container), then flattened by the envelope. Joined from an
 * array of its parts instead, a line took twice as long (Array.prototype.join
 * is generic: 0.65-1.0 us a line against 0.3-0.45).
 */
function lineJson(r: LogRecord | FileRecord): string {
  hostJsonOf(r.host);
  if (r.type === 'log') {
    const c = containerJsonOf(r.container);
    const t = r.time;
    // The id: the container, the second's digits, the fraction, the place at that time.
    return (
      '{"type":"log","time":"' +
      t +
      afterTime +
      c.logIdStart +
      secondDigits(t) +
      t.slice(20, t.length - 1) +
      '-' +
      r.seq +
      (r.stream === 'stdout' ? c.stdoutMessage : c.stderrMessage) +
      messageJson(r.message, r.plain === true) +
      lineEnd(r)
    );
  }
  return (
    '{"type":"file","time":"' +
    r.time +
    afterTime +
    fileLineId(r) +
    '"' +
    ownerFragment(r) +
    ',"path":' +
    JSON.stringify(r.path) +
    ',"message":' +
    messageJson(r.message) +
    lineEnd(r)
  );
}

/** The parts of a container's log lines' JSON that writeLogJson copies, in UTF-8 (made for the containers whose lines it writes). */
interface ContainerBytes {
  readonly logIdStart: Buffer;
  readonly stdoutMessage: Buffer;
  readonly stderrMessage: Buffer;
}

function containerBytesOf(meta: ContainerMeta): ContainerBytes {
  const c = containerJsonOf(meta);
  c.bytes ??= { logIdStart: Buffer.from(c.logIdStart), stdoutMessage: Buffer.from(c.stdoutMessage), stderrMessage: Buffer.from(c.stderrMessage) };
  return c.bytes;
}

const LOG_HEAD = Buffer.from('{"type":"log","time":"');
const JSON_KEY = Buffer.from(',"json":');
const TRUNCATED_END = Buffer.from(',"truncated":true}');

/**
 * What lineJson gives a log line, written in UTF-8 straight into `buf` at
 * `at` (with room for it): no text built. Under a flood to stdout, the text's
 * pieces and its flattened copy were two thirds of what sidekick allocated a
 * line, and a fifth of its CPU went to collecting them. Returns where it
 * ends, or -1 for a time that is not ASCII of at least 21 characters (the
 * caller writes the text, which makes the id from such a time its own way).
 */
function writeLogJson(r: LogRecord, buf: Buffer, at: number): number {
  const t = r.time;
  const n = t.length;
  if (n < 21) return -1;
  hostJsonOf(r.host);
  const c = containerBytesOf(r.container);
  buf.set(LOG_HEAD, at);
  let i = at + LOG_HEAD.length;
  for (let k = 0; k < n; k++) {
    const ch = t.charCodeAt(k);
    if (ch > 0x7f) return -1;
    buf[i++] = ch;
  }
  buf.set(afterTimeBytes, i);
  i += afterTimeBytes.length;
  buf.set(c.logIdStart, i);
  i += c.logIdStart.length;
  // The id: the second's digits (secondDigits), the fraction, the place at that time.
  for (let k = 0; k < 19; k++) if (k !== 4 && k !== 7 && k !== 10 && k !== 13 && k !== 16) buf[i++] = t.charCodeAt(k);
  for (let k = 20; k < n - 1; k++) buf[i++] = t.charCodeAt(k);
  buf[i++] = 0x2d;
  i = writeDigits(buf, i, r.seq);
  const middle = r.stream === 'stdout' ? c.stdoutMessage : c.stderrMessage;
  buf.set(middle, i);
  i += middle.length;
  const m = r.message;
  if (r.plain === true) {
    buf[i++] = 0x22;
    i += buf.write(m, i, 'latin1');
    buf[i++] = 0x22;
  } else if (!NEEDS_ESCAPING.test(m)) {
    buf[i++] = 0x22;
    i += buf.write(m, i);
    buf[i++] = 0x22;
  } else {
    i += buf.write(JSON.stringify(m), i);
  }
  if (r.json === true) {
    buf.set(JSON_KEY, i);
    i += JSON_KEY.length;
    i += buf.write(m, i);
  }
  if (r.truncated === true) {
    buf.set(TRUNCATED_END, i);
    return i + TRUNCATED_END.length;
  }
  buf[i++] = 0x7d;
  return i;
}

/** How long lineJson's text is, without building it: exact but for what JSON escapes in the message. */
function lineJsonLength(r: LogRecord | FileRecord): number {
  hostJsonOf(r.host);
  const message = r.message.length + 2 + (r.json === true ? r.message.length + 8 : 0) + (r.truncated === true ? 18 : 1);
  const t = r.time.length;
  if (r.type === 'log') {
    const c = containerJsonOf(r.container);
    // The head, the time, the host, the id (container, second's 14 digits, fraction, "-", place), the container and stream.
    return 22 + t + afterTime.length + c.logIdStart.length + 14 + (t - 21) + 1 + digits(r.seq) + c.stdoutMessage.length + message;
  }
  // The head, the time, the host, the id (16 hex digits, "-", offset) and its quote, the container, the path.
  return 23 + t + afterTime.length + 18 + digits(r.start) + ownerFragment(r).length + 10 + r.path.length + 11 + message;
}

/** The fields SIDEKICK_STATIC_FIELDS gives records of no container (one object for all of them): their JSON, built once. */
const fieldsJsons = new WeakMap<object, string>();

/** `,"container":…` of a record's container, or `,"fields":…` of one of none that has static fields, or nothing. */
function ownerFragment(r: SidekickRecord): string {
  if (r.container !== undefined) return containerFragment(r.container);
  const fields = r.fields;
  if (fields === undefined) return '';
  let json = fieldsJsons.get(fields);
  if (json === undefined) {
    json = ',"fields":' + JSON.stringify(fields);
    fieldsJsons.set(fields, json);
  }
  return json;
}

/** The record as one line of JSON (no newline). */
export function serialize(record: SidekickRecord): string {
  if (record.type === 'log' || record.type === 'file') return lineJson(record);
  const head = '{"type":"' + record.type + '","time":"' + record.time + '","host":' + hostJsonOf(record.host);
  const container = ownerFragment(record);
  switch (record.type) {
    case 'event':
      return (
        head +
        ',"id":"' +
        eventId(record) +
        '"' +
        container +
        ',"object":' +
        JSON.stringify(record.object) +
        ',"action":' +
        JSON.stringify(record.action) +
        ',"actor":' +
        JSON.stringify(record.actor) +
        ',"scope":' +
        JSON.stringify(record.scope) +
        '}'
      );
    case 'inspect':
      return head + ',"id":"' + inspectId(record) + '"' + container + ',"inspect":' + JSON.stringify(record.inspect) + '}';
    case 'stats':
      return head + ',"id":"' + statsId(record) + '"' + container + ',"stats":' + JSON.stringify(record.stats) + '}';
    case 'gap':
      return (
        head +
        ',"id":"' +
        gapId(record) +
        '"' +
        container +
        ',"dropped":' +
        record.dropped +
        ',"from":"' +
        record.from +
        '","to":"' +
        record.to +
        '","reason":"' +
        record.reason +
        '"}'
      );
  }
}

/**
 * A log line's deterministic id: its container, Docker's time and its place
 * at that time. The same line read again (after a restart) has the same id,
 * so idempotent receivers keep it once.
 */
export function logId(r: LogRecord): string {
  const t = r.time;
  return containerJsonOf(r.container).logIdStart + secondDigits(t) + t.slice(20, t.length - 1) + '-' + r.seq;
}

/** The digits of a time's second ("2026-01-02T03:04:05.…" gives "20260102030405"). */
function secondDigits(t: string): string {
  // Lines come in bursts within one second: its digits are worked out once
  // (and its text compared where it is, not sliced out of each time).
  if (idPrefix.length !== 19 || !t.startsWith(idPrefix)) {
    idPrefix = t.slice(0, 19);
    idDigits = t.slice(0, 4) + t.slice(5, 7) + t.slice(8, 10) + t.slice(11, 13) + t.slice(14, 16) + t.slice(17, 19);
  }
  return idDigits;
}

/** The last second logId saw ("2026-01-02T03:04:05"), and its digits. */
let idPrefix = '';
let idDigits = '';

/**
 * A file line's deterministic id: the file's fingerprint and the line's byte
 * offset, the same after a rename rotation or a restart.
 */
export function fileLineId(r: FileRecord): string {
  return r.file.fingerprint.slice(0, 16) + '-' + r.start;
}

/**
 * An event's deterministic id: a digest of what happened to what (its
 * object, action and actor; an actor id is not always hex: an image's name,
 * a volume's) and Docker's time. The same event read again (the events
 * stream resumed after a reconnection) has the same id.
 */
function eventId(r: EventRecord): string {
  return digest16(r.object + '\n' + r.action + '\n' + JSON.stringify(r.actor)) + '-' + timeDigits(r.time);
}

/**
 * A stats sample's deterministic id: its container and Docker's `read` time
 * (the record's time), marked `s` apart from an inspect of the same instant.
 */
function statsId(r: StatsRecord): string {
  return r.container.id.slice(0, 16) + '-' + timeDigits(r.time) + '-s';
}

/**
 * An inspect record's deterministic id: its container and when it started
 * (`State.StartedAt`), marked `i`. Each start is described once: the inspect
 * sent again at sidekick's restart, of a container still running, has the
 * same id. An answer without StartedAt falls back to the record's time.
 */
function inspectId(r: InspectRecord): string {
  const state = (r.inspect as { State?: { StartedAt?: unknown } } | null)?.State;
  const started = typeof state?.StartedAt === 'string' ? state.StartedAt : r.time;
  return r.container.id.slice(0, 16) + '-' + timeDigits(started) + '-i';
}

/**
 * A gap's id: a digest of the loss it tells of (where, why, which records,
 * how many) and the time of the latest. Not of the sink nor of a count kept
 * in memory: neither survives a restart. The same records lost again after a
 * kill (read again from checkpoints, dropped again alike) are the same loss,
 * and keep one id.
 */
function gapId(r: GapRecord): string {
  const where = r.container?.id ?? r.host;
  return digest16(r.reason + '\n' + where + '\n' + r.from + '\n' + r.to + '\n' + r.dropped) + '-' + timeDigits(r.to);
}

/** The id idempotent receivers deduplicate by. */
export function recordId(r: SidekickRecord): string {
  if (r.storedId !== undefined) return r.storedId;
  switch (r.type) {
    case 'log':
      return logId(r);
    case 'file':
      return fileLineId(r);
    case 'event':
      return eventId(r);
    case 'inspect':
      return inspectId(r);
    case 'stats':
      return statsId(r);
    case 'gap':
      return gapId(r);
  }
}

/** First 16 hex digits of the SHA-256 of `text`. */
function digest16(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const RFC3339_UTC = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$/;

/**
 * An RFC 3339 UTC time as digits only, with nine of fraction (what logId
 * writes): `2026-01-02T03:04:05.5Z` gives `20260102030405500000000`. Another
 * form keeps just its digits: an id stays plain text whatever the engine wrote.
 */
function timeDigits(time: string): string {
  const m = RFC3339_UTC.exec(time);
  if (m === null) return time.replace(/\D/g, '');
  return m[1] + m[2] + m[3] + m[4] + m[5] + m[6] + (m[7] ?? '').padEnd(9, '0');
}

/** What one queued record costs beyond its strings: the record and envelope objects. */
export const ENVELOPE_OVERHEAD = 160;

/**
 * A record and its JSON. A line's JSON is built when a sink first asks for
 * it: syslog and OTLP never do (they format the message themselves), and
 * built at the sink's write it is garbage at once, where built when the line
 * was read it was the most of what a flood's records in flight hold while
 * they wait in a buffer, each young-generation collection copying them
 * (bench/RESULTS.md, issue 19). Other records, few and of every size, are
 * serialized at once: their JSON is their size.
 */
class RecordEnvelope implements Envelope {
  private text: string | undefined;
  readonly size: number;

  constructor(readonly record: SidekickRecord) {
    this.size =
      record.type === 'log' || record.type === 'file'
        ? lineJsonLength(record) + record.message.length + ENVELOPE_OVERHEAD
        : this.json.length + ENVELOPE_OVERHEAD;
  }

  get json(): string {
    let text = this.text;
    if (text === undefined) {
      text = flat(serialize(this.record));
      this.text = text;
    }
    return text;
  }

  get jsonBytesMost(): number {
    const r = this.record;
    // A UTF-16 unit is at most 3 bytes in UTF-8, and 6 escaped (\u001f): a line's message counted twice more.
    if (this.text === undefined && (r.type === 'log' || r.type === 'file')) return 3 * (lineJsonLength(r) + r.message.length);
    return 3 * this.json.length;
  }

  writeJson(buf: Buffer, at: number): number {
    const r = this.record;
    if (this.text === undefined && r.type === 'log') {
      const end = writeLogJson(r, buf, at);
      if (end >= 0) return end;
    }
    return at + buf.write(this.json, at);
  }
}

export function envelope(record: SidekickRecord): Envelope {
  return new RecordEnvelope(record);
}

/** An envelope of JSON as it was written (a disk buffer's record read back). */
export function storedEnvelopeOf(record: SidekickRecord, json: string): Envelope {
  return new StoredEnvelope(record, json);
}

class StoredEnvelope implements Envelope {
  readonly size: number;

  constructor(
    readonly record: SidekickRecord,
    readonly json: string,
  ) {
    this.size = json.length + (record.type === 'log' || record.type === 'file' ? record.message.length : 0) + ENVELOPE_OVERHEAD;
  }

  get jsonBytesMost(): number {
    return 3 * this.json.length;
  }

  writeJson(buf: Buffer, at: number): number {
    return at + buf.write(this.json, at);
  }
}

/**
 * `text` flattened: V8 keeps a string built by concatenation as a tree of its
 * pieces, about twice the size of the text, until something reads it whole.
 * A record may wait in a buffer for long (another sink's): flattened now, what
 * it holds is what its size says. A number conversion reads the whole string.
 */
function flat(text: string): string {
  Number(text);
  return text;
}

const NANO_PAD = '000000';

/** Now, as RFC 3339 with nanoseconds (millisecond precision). */
export function nowTime(): string {
  return millisToTime(Date.now());
}

export function millisToTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  return iso.slice(0, 23) + NANO_PAD + 'Z';
}

/** Nanoseconds since the epoch, as a decimal string, to RFC 3339 nano. */
export function nanosToTime(nanos: string): string {
  const digits = nanos.padStart(10, '0');
  const seconds = Number(digits.slice(0, -9));
  const fraction = digits.slice(-9);
  return new Date(seconds * 1000).toISOString().slice(0, 19) + '.' + fraction + 'Z';
}

/** RFC 3339 nano UTC time to nanoseconds since the epoch, as exact digits; undefined if unreadable. */
export function timeToNanos(time: string): string | undefined {
  const ms = Date.parse(time.slice(0, 19) + 'Z');
  if (Number.isNaN(ms)) return undefined;
  const fraction = time.length > 20 && time[19] === '.' ? time.slice(20, time.length - 1) : '';
  return String(ms / 1000) + fraction.padEnd(9, '0').slice(0, 9);
}

/** The `since` form of Docker's API (`seconds[.fraction]`) to RFC 3339 nano. */
export function sinceToTime(since: string): string {
  const [seconds = '0', fraction = ''] = since.split('.');
  return nanosToTime(seconds + fraction.padEnd(9, '0').slice(0, 9));
}

/**
 * Docker's RFC 3339 nano UTC time to the `since` form its API takes
 * (`seconds.nanoseconds`). Returns undefined for a time it cannot read.
 */
export function timeToSince(time: string): string | undefined {
  const digits = timeToNanos(time)?.padStart(10, '0');
  return digits === undefined ? undefined : digits.slice(0, -9) + '.' + digits.slice(-9);
}
