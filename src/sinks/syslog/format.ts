// A record as a syslog message: RFC 5424 (default) or RFC 3164. APP-NAME is
// the container's name, MSGID the record type, structured data the
// container's id, name and image; PRI from the facility and the severity
// (stderr: err, stdout: info, events: notice). A log record's MSG is its
// line; any other record's MSG is its JSON. Each container's header fields
// are worked out once.

import type { ContainerMeta, Envelope, SidekickRecord } from '../../core/record.js';
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

/** Cuts UTF-8 text to at most `max` bytes without splitting a character. */
export function truncateUtf8(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to a character's start.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}
