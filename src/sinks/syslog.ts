// syslog+udp://, syslog+tcp://, syslog+tls://: records as syslog messages.
// RFC 5424 (default) or RFC 3164. APP-NAME is the container's name, MSGID the
// record type, structured data the container's id, name and image; PRI from
// the facility and the severity (stderr: err, stdout: info, events: notice).
// A log record's MSG is its line; any other record's MSG is its JSON.
// UDP: one datagram a message, cut to `max` bytes on a UTF-8 boundary
// (counted). TCP and TLS: octet-counting framing (RFC 6587 / 5425), one
// connection, reconnected with backoff by the channel's retries.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ContainerMeta, Envelope, SidekickRecord } from '../core/record.js';
import type { SinkEvents } from '../observe/events.js';
import { checkQueryKeys, SinkError, type Sink, type SinkFactory } from './sink.js';

export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const SEVERITY = { err: 3, notice: 5, info: 6 } as const;
/** The structured-data ID: an example enterprise number (RFC 5612). */
const SD_ID = 'sidekick@32473';
const DEFAULT_UDP_MAX = 2048;
const CONNECT_TIMEOUT_MS = 10_000;

export type SyslogFormat = 'rfc5424' | 'rfc3164';

export interface SyslogOptions {
  readonly transport: 'udp' | 'tcp' | 'tls';
  readonly host: string;
  readonly port: number;
  readonly format: SyslogFormat;
  readonly facility: number;
  /** UDP: the largest datagram sent. */
  readonly max: number;
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer; readonly insecure: boolean };
}

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

class UdpSyslogSink implements Sink {
  private socket: UdpSocket | undefined;
  private address: { address: string; family: number } | undefined;

  constructor(
    readonly name: string,
    private readonly o: SyslogOptions,
    private readonly events: SinkEvents,
  ) {}

  async start(): Promise<void> {
    // Resolved lazily on the first write, so a name that does not resolve yet is retried.
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const socket = await this.open();
    const datagrams: Buffer[] = [];
    for (const e of batch) {
      let buf: Buffer = Buffer.from(formatSyslog(e, this.o.format, this.o.facility));
      if (buf.length > this.o.max) {
        buf = truncateUtf8(buf, this.o.max);
        this.events.messageTruncated({ max: this.o.max });
      }
      datagrams.push(buf);
    }
    if (datagrams.length === 0) return;
    // Sends finish in order: the last one's callback means all are sent. A
    // datagram has no delivery to wait for; a failed send is counted (the
    // others' errors reach the socket's 'error' handler), not retried.
    await new Promise<void>((resolve) => {
      const last = datagrams.length - 1;
      for (let i = 0; i < last; i++) socket.send(datagrams[i]!);
      socket.send(datagrams[last]!, (err) => {
        if (err) this.events.sendFailed();
        resolve();
      });
    });
  }

  private async open(): Promise<UdpSocket> {
    if (this.socket !== undefined) return this.socket;
    try {
      this.address = await lookup(this.o.host);
    } catch (err) {
      throw new SinkError(`cannot resolve ${this.o.host}: ${(err as Error).message}`, 'dns', true);
    }
    const socket = createSocket(this.address.family === 6 ? 'udp6' : 'udp4');
    socket.on('error', () => this.events.sendFailed());
    socket.unref();
    // Connected: each send skips the address lookup and the kernel's route lookup.
    const address = this.address.address;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(this.o.port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      throw new SinkError(`cannot connect to ${address}:${this.o.port}: ${(err as Error).message}`, 'network', true);
    }
    this.socket = socket;
    return socket;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

class StreamSyslogSink implements Sink {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;

  constructor(
    readonly name: string,
    private readonly o: SyslogOptions,
  ) {}

  async start(): Promise<void> {
    // Connected on the first write; failures are retried by the channel.
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const socket = await this.connection();
    let text = '';
    for (const e of batch) {
      const msg = formatSyslog(e, this.o.format, this.o.facility);
      text += `${Buffer.byteLength(msg)} ${msg}`;
    }
    await new Promise<void>((resolve, reject) => {
      socket.write(text, (err) => {
        if (err) {
          socket.destroy();
          reject(new SinkError(`syslog ${this.o.transport} write failed: ${err.message}`, 'io', true));
        } else {
          resolve();
        }
      });
    });
  }

  private connection(): Promise<Socket> {
    const open = this.socket;
    if (open !== undefined && !open.destroyed) return Promise.resolve(open);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private connect(): Promise<Socket> {
    const { host, port, transport, tls } = this.o;
    return new Promise((resolve, reject) => {
      const socket =
        transport === 'tls'
          ? tlsConnect({
              host,
              port,
              servername: /^[\d.:]+$/.test(host) ? undefined : host,
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              rejectUnauthorized: !tls.insecure,
            })
          : tcpConnect({ host, port });
      const ready = transport === 'tls' ? 'secureConnect' : 'connect';
      socket.setTimeout(CONNECT_TIMEOUT_MS);
      const fail = (err: Error): void => {
        socket.destroy();
        const kind = transport === 'tls' && !('code' in err && String(err.code).startsWith('E')) ? 'tls' : 'connect';
        reject(new SinkError(`cannot connect to ${host}:${port}: ${err.message}`, kind, true));
      };
      socket.once('error', fail);
      socket.once('timeout', () => fail(new Error('connect timed out')));
      socket.once(ready, () => {
        socket.off('error', fail);
        socket.setTimeout(0);
        socket.setKeepAlive(true, 30_000);
        // After connecting, errors surface through the next write; keep them from being unhandled.
        socket.on('error', () => socket.destroy());
        // The receiver sends nothing; reading keeps a close from going unnoticed.
        socket.resume();
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined || socket.destroyed) return;
    await new Promise<void>((resolve) => socket.end(resolve));
  }
}

function parseSyslogUri(url: URL): SyslogOptions {
  const transport = url.protocol.slice('syslog+'.length, -1) as SyslogOptions['transport'];
  const tlsKeys = transport === 'tls' ? ['ca', 'cert', 'key', 'insecure'] : [];
  checkQueryKeys(url, ['format', 'facility', ...(transport === 'udp' ? ['max'] : []), ...tlsKeys]);
  const q = url.searchParams;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error('needs a host: syslog+udp://host:514');
  const port = url.port === '' ? (transport === 'tls' ? 6514 : 514) : Number(url.port);
  const format = q.get('format') ?? 'rfc5424';
  if (format !== 'rfc5424' && format !== 'rfc3164') throw new Error(`format=${format}: allowed: rfc5424, rfc3164`);
  const facilityName = q.get('facility') ?? 'daemon';
  const facility = FACILITIES[facilityName] ?? (/^\d+$/.test(facilityName) ? Number(facilityName) : undefined);
  if (facility === undefined || facility > 23) {
    throw new Error(`facility=${facilityName}: allowed: ${Object.keys(FACILITIES).join(', ')} or 0-23`);
  }
  const maxText = q.get('max');
  const max = maxText === null ? DEFAULT_UDP_MAX : Number(maxText);
  if (!Number.isInteger(max) || max < 480 || max > 65_000) throw new Error(`max=${maxText}: a number of bytes from 480 to 65000`);
  const insecure = q.get('insecure');
  if (insecure !== null && insecure !== 'true' && insecure !== 'false') {
    throw new Error(`insecure=${insecure}: allowed: true, false`);
  }
  return {
    transport,
    host,
    port,
    format,
    facility,
    max,
    tls: { insecure: insecure === 'true' },
  };
}

/** The PEM files a syslog+tls URI names (checkQueryKeys refuses them on udp and tcp). */
function pemFiles(url: URL): Record<string, string> {
  const files: Record<string, string> = {};
  for (const option of ['ca', 'cert', 'key']) {
    const path = url.searchParams.get(option);
    if (path !== null) files[option] = path;
  }
  return files;
}

export const syslogSink: SinkFactory = {
  usage:
    'syslog+udp://host:514, syslog+tcp://host:514, syslog+tls://host:6514  ?format=rfc5424|rfc3164 ?facility=daemon ?max=2048 (udp) ?ca= ?cert= ?key= ?insecure=true (tls)',
  parse(url, name) {
    const o = parseSyslogUri(url);
    return {
      name,
      scheme: url.protocol.slice(0, -1),
      files: pemFiles(url),
      create: (ctx, files) =>
        o.transport === 'udp'
          ? new UdpSyslogSink(name, o, ctx.events)
          : new StreamSyslogSink(name, { ...o, tls: { ...o.tls, ca: files['ca'], cert: files['cert'], key: files['key'] } }),
    };
  },
};
