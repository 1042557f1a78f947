// A record as a syslog message: RFC 5424 (default) or RFC 3164. APP-NAME is
// the container's name, MSGID the record type, structured data the
// container's id, name and image; PRI from the facility and the severity
// (stderr: err, stdout: info, events: notice). A log record's MSG is its
// line; any other record's MSG is its JSON. Each container's header fields
// are worked out once.

import type { ContainerMeta, Envelope, LogRecord, SidekickRecord } from '../../core/record.js';
import type { SyslogFormat } from './options.js';

const SEVERITY = { err: 3, notice: 5, info: 6 } as const;
/** The structured-data ID: an example enterprise number (RFC 5612). */
const SD_ID = 'sidekick@32473';
function severityOf(r: SidekickRecord): number {
  switch (r.type) {
    case 'log':
      return r.stream === 'stderr' ? SEVERITY.err : SEVERITY.info;
    case 'event':
    case 'gap':
      return SEVERITY.notice;
    default:
      return SEVERITY.info;
  }
}

/** Printable US-ASCII without spaces, at most `max` characters, or "-". */
function header(text: string | undefined, max: number): string {
  if (text === undefined || text === '') return '-';
  const clean = text.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

function sdValue(text: string): string {
  return text.replace(/["\\\]]/g, (c) => '\\' + c);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** What every message of one container starts with, worked out once per container. */
interface ContainerHeader {
  readonly app5424: string;
  readonly app3164: string;
  /** RFC 5424 structured-data parameters naming the container. */
  readonly params: string;
}

const containerHeaders = new WeakMap<ContainerMeta, ContainerHeader>();

function containerHeader(c: ContainerMeta): ContainerHeader {
  let h = containerHeaders.get(c);
  if (h === undefined) {
    const app = c.tag ?? c.name;
    h = { app5424: header(app, 48), app3164: header(app, 32), params: ` id="${c.id}" name="${sdValue(c.name)}" image="${sdValue(c.image)}"` };
    containerHeaders.set(c, h);
  }
  return h;
}

/** The last host name seen, as a header field: every record of a run has the same. */
let hostSeen = '';
let hostField = '-';

/** One record as one syslog message (no framing). */
export function formatSyslog(e: Envelope, format: SyslogFormat, facility: number): string {
  const r = e.record;
  const pri = `<${facility * 8 + severityOf(r)}>`;
  const c = r.container === undefined ? undefined : containerHeader(r.container);
  if (r.host !== hostSeen) {
    hostSeen = r.host;
    hostField = header(r.host, 255);
  }
  const msg = r.type === 'log' || r.type === 'file' ? r.message : e.json;
  if (format === 'rfc3164') {
    // "Mmm dd hh:mm:ss": the record's time in UTC, day padded with a space.
    const month = MONTHS[Number(r.time.slice(5, 7)) - 1] ?? 'Jan';
    const day = r.time.slice(8, 10).replace(/^0/, ' ');
    return `${pri}${month} ${day} ${r.time.slice(11, 19)} ${hostField} ${c?.app3164 ?? 'sidekick'}: ${msg}`;
  }
  // RFC 5424 allows at most 6 digits of fractional seconds.
  const time = r.time.length > 27 ? r.time.slice(0, 26) + 'Z' : r.time;
  let params = c === undefined ? '' : c.params;
  if (r.type === 'log') params += ` stream="${r.stream}"`;
  else if (r.type === 'file') params += ` path="${sdValue(r.path)}"`;
  const sd = params === '' ? '-' : `[${SD_ID}${params}]`;
  return `${pri}1 ${time} ${hostField} ${c?.app5424 ?? 'sidekick'} - ${r.type} ${sd} ${msg}`;
}

/** What comes before a log line's time (its PRI and version) and after it (host, app, structured data), for one stream. */
export interface LineHead {
  readonly beforeTime: Buffer;
  readonly afterTime: Buffer;
}

/** A container's line heads, and the host they were made with. */
interface LineHeads {
  readonly host: string;
  readonly stdout: LineHead;
  readonly stderr: LineHead;
}

/** Most bytes of a time as a header writes it: RFC 5424's is cut to 27 characters, RFC 3164's is 15. */
const TIME_MOST = 27;

/**
 * A sink's log lines as syslog messages written straight into a buffer, the
 * same bytes as formatSyslog's text: what comes before and after the time is
 * made once per container and stream. To UDP, a line's text (its pieces, then
 * a copy made whole) and the bytes made from it were three quarters of what
 * sidekick allocated a line.
 */
export class SyslogLineWriter {
  private readonly heads = new WeakMap<ContainerMeta, LineHeads>();

  constructor(
    private readonly format: SyslogFormat,
    private readonly facility: number,
  ) {}

  /** The room write() needs for this line with its head (headOf). */
  bytesMost(h: LineHead, r: LogRecord): number {
    return h.beforeTime.length + TIME_MOST + h.afterTime.length + 3 * r.message.length;
  }

  /**
   * The line's message written at `at` with its head (headOf; bytesMost of
   * room); returns where it ends, or -1 for a time not of the engine's form
   * (formatSyslog then).
   */
  write(h: LineHead, r: LogRecord, buf: Buffer, at: number): number {
    const t = r.time;
    if (!engineShaped(t)) return -1;
    buf.set(h.beforeTime, at);
    let i = at + h.beforeTime.length;
    if (this.format === 'rfc3164') {
      // "Mmm dd hh:mm:ss", as formatSyslog writes it.
      const month = MONTHS[(t.charCodeAt(5) - 0x30) * 10 + t.charCodeAt(6) - 0x30 - 1] ?? 'Jan';
      for (let k = 0; k < 3; k++) buf[i++] = month.charCodeAt(k);
      buf[i++] = 0x20;
      buf[i++] = t.charCodeAt(8) === 0x30 ? 0x20 : t.charCodeAt(8);
      buf[i++] = t.charCodeAt(9);
      buf[i++] = 0x20;
      for (let k = 11; k < 19; k++) buf[i++] = t.charCodeAt(k);
    } else {
      // At most 6 digits of fraction (RFC 5424).
      const cut = t.length > TIME_MOST;
      const n = cut ? 26 : t.length;
      for (let k = 0; k < n; k++) buf[i++] = t.charCodeAt(k);
      if (cut) buf[i++] = 0x5a;
    }
    buf.set(h.afterTime, i);
    i += h.afterTime.length;
    return i + buf.write(r.message, i);
  }

  /** What comes before and after the line's time: looked up once a line, for bytesMost and write. */
  headOf(r: LogRecord): LineHead {
    let heads = this.heads.get(r.container);
    if (heads === undefined || heads.host !== r.host) {
      heads = { host: r.host, stdout: this.lineHead(r.container, r.host, 'stdout'), stderr: this.lineHead(r.container, r.host, 'stderr') };
      this.heads.set(r.container, heads);
    }
    return r.stream === 'stdout' ? heads.stdout : heads.stderr;
  }

  private lineHead(meta: ContainerMeta, host: string, stream: 'stdout' | 'stderr'): LineHead {
    const c = containerHeader(meta);
    const hostText = header(host, 255);
    const pri = `<${this.facility * 8 + (stream === 'stderr' ? SEVERITY.err : SEVERITY.info)}>`;
    return this.format === 'rfc3164'
      ? { beforeTime: Buffer.from(pri), afterTime: Buffer.from(` ${hostText} ${c.app3164}: `) }
      : { beforeTime: Buffer.from(`${pri}1 `), afterTime: Buffer.from(` ${hostText} ${c.app5424} - log [${SD_ID}${c.params} stream="${stream}"] `) };
  }
}

/** The engine's form of a time (its digits where an RFC 3339 time has them, ASCII throughout): what SyslogLineWriter writes. */
function engineShaped(t: string): boolean {
  const n = t.length;
  if (n < 20) return false;
  for (let k = 0; k < n; k++) {
    const ch = t.charCodeAt(k);
    if (ch > 0x7f) return false;
    if (k < 19 && k !== 4 && k !== 7 && k !== 10 && k !== 13 && k !== 16 && (ch < 0x30 || ch > 0x39)) return false;
  }
  return true;
}

/** Cuts UTF-8 text to at most `max` bytes without splitting a character. */
export function truncateUtf8(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to a character's start.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}
