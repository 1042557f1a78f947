// One schema for everything sidekick forwards. Every source builds one of
// these records; every sink reads them. Serialisation happens once per record
// (see `serialize`), with each container's fixed JSON cached.

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
}

export type LogStream = 'stdout' | 'stderr';

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
export type PositionedRecord = LogRecord | FileRecord;

export function isPositioned(r: SidekickRecord): r is PositionedRecord {
  return r.type === 'log' || r.type === 'file';
}

/** The source a positioned record comes from: a container's log, or a path. */
export function sourceKey(r: PositionedRecord): string {
  return r.type === 'log' ? r.container.id : fileSourceKey(r.path);
}

/** Whether two positioned records come from one source (sourceKey without building it). */
export function sameSource(a: PositionedRecord, b: PositionedRecord): boolean {
  if (a.type === 'log') return b.type === 'log' && a.container.id === b.container.id;
  return b.type === 'file' && a.path === b.path;
}

export function fileSourceKey(path: string): string {
  return `file:${path}`;
}

/** A record with its JSON form, built once and shared by every sink. */
export interface Envelope {
  readonly record: SidekickRecord;
  readonly json: string;
}

const COMPOSE_PROJECT = 'com.docker.compose.project';
const COMPOSE_SERVICE = 'com.docker.compose.service';

export function containerMeta(
  id: string,
  name: string,
  image: string,
  labels: Readonly<Record<string, string>> | null | undefined,
): ContainerMeta {
  const l = labels ?? {};
  const project = l[COMPOSE_PROJECT];
  const service = l[COMPOSE_SERVICE];
  const bare = name.startsWith('/') ? name.slice(1) : name;
  return project !== undefined && service !== undefined
    ? { id, name: bare, image, labels: l, compose: { project, service } }
    : { id, name: bare, image, labels: l };
}

const containerJson = new WeakMap<ContainerMeta, string>();

/** `,"container":{…}` and the container's `tag` and `fields`, built once per container. */
function containerFragment(meta: ContainerMeta): string {
  let json = containerJson.get(meta);
  if (json === undefined) {
    const { tag, fields, ...container } = meta;
    json =
      ',"container":' +
      JSON.stringify(container) +
      (tag === undefined ? '' : ',"tag":' + JSON.stringify(tag)) +
      (fields === undefined ? '' : ',"fields":' + JSON.stringify(fields));
    containerJson.set(meta, json);
  }
  return json;
}

/** A log or file line's message, and the same as `json` when it is a JSON object. */
function messageFragment(r: LogRecord | FileRecord): string {
  return ',"message":' + JSON.stringify(r.message) + (r.json === true ? ',"json":' + r.message : '') + (r.truncated === true ? ',"truncated":true}' : '}');
}

/** The record as one line of JSON (no newline). */
export function serialize(record: SidekickRecord): string {
  const head =
    '{"type":"' + record.type + '","time":"' + record.time + '","host":' + JSON.stringify(record.host);
  const container =
    record.container !== undefined
      ? containerFragment(record.container)
      : record.fields === undefined
        ? ''
        : ',"fields":' + JSON.stringify(record.fields);
  switch (record.type) {
    case 'log':
      return (
        head +
        ',"id":"' +
        logId(record) +
        '"' +
        container +
        ',"stream":"' +
        record.stream +
        '"' +
        messageFragment(record)
      );
    case 'file':
      return (
        head +
        ',"id":"' +
        fileLineId(record) +
        '"' +
        container +
        ',"path":' +
        JSON.stringify(record.path) +
        messageFragment(record)
      );
    case 'event':
      return (
        head +
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
      return head + container + ',"inspect":' + JSON.stringify(record.inspect) + '}';
    case 'stats':
      return head + container + ',"stats":' + JSON.stringify(record.stats) + '}';
    case 'gap':
      return (
        head +
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
  // Lines come in bursts within one second: its digits are worked out once.
  const prefix = t.slice(0, 19);
  if (prefix !== idPrefix) {
    idPrefix = prefix;
    idDigits = t.slice(0, 4) + t.slice(5, 7) + t.slice(8, 10) + t.slice(11, 13) + t.slice(14, 16) + t.slice(17, 19);
  }
  return r.container.id.slice(0, 16) + '-' + idDigits + t.slice(20, t.length - 1) + '-' + r.seq;
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

/** The id idempotent receivers deduplicate by, for the records that have one. */
export function recordId(r: SidekickRecord): string | undefined {
  if (r.type === 'log') return logId(r);
  if (r.type === 'file') return fileLineId(r);
  return undefined;
}

export function envelope(record: SidekickRecord): Envelope {
  const json = serialize(record);
  // V8 keeps a string built by concatenation as a tree of its pieces, about
  // twice the size of the text, until something reads it whole. A record may
  // wait in a buffer for long: flatten it now (a number conversion reads the
  // whole string), so what a buffer holds is what it counts.
  Number(json);
  return { record, json };
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
