// syslog over TCP and TLS: octet-counting framing (RFC 6587 / 5425), one
// connection, reconnected with backoff by the driver's retries.

import { connect as tcpConnect, type Socket } from 'node:net';
import { digits, writeDigits } from '../../core/digits.js';
import type { Envelope } from '../../core/record.js';
import { tlsConnect } from '../../core/tls.js';
import { SinkError, SMALL_BATCH_GAP_MS, type Sink } from '../sink.js';
import { KeptBuffer } from '../kept-buffer.js';
import { formatSyslog, SyslogLineWriter } from './format.js';
import type { SyslogOptions } from './options.js';

const CONNECT_TIMEOUT_MS = 10_000;

export class StreamSyslogSink implements Sink {
  readonly batching = { gapMs: SMALL_BATCH_GAP_MS };
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private readonly lines: SyslogLineWriter;
  private readonly kept = new KeptBuffer(64 * 1024);

  constructor(
    readonly name: string,
    private readonly o: SyslogOptions,
  ) {
    this.lines = new SyslogLineWriter(o.format, o.facility);
  }

  async start(): Promise<void> {
    // Connected on the first write; failures are retried by the channel.
  }

  /**
   * The batch as one buffer of framed messages: a log line's written straight
   * into it (SyslogLineWriter), any other record's from its text. Reused by
   * the next batch: write() returns once the socket has taken this one.
   */
  async write(batch: readonly Envelope[]): Promise<void> {
    const socket = await this.connection();
    let at = 0;
    for (const e of batch) {
      const r = e.record;
      if (r.type === 'log') {
        const head = this.lines.headOf(r);
        const start = this.reserve(at, this.lines.bytesMost(head, r));
        const end = this.lines.write(head, r, this.kept.bytes, start);
        if (end >= 0) {
          at = this.frame(at, start, end);
          continue;
        }
      }
      const text = formatSyslog(e, this.o.format, this.o.facility);
      const start = this.reserve(at, 3 * text.length);
      at = this.frame(at, start, start + this.kept.bytes.write(text, start));
    }
    const framed = this.kept.bytes.subarray(0, at);
    await new Promise<void>((resolve, reject) => {
      socket.write(framed, (err) => {
        if (err) {
          socket.destroy();
          reject(new SinkError(`syslog ${this.o.transport} write failed: ${err.message}`, 'io', true));
        } else {
          resolve();
        }
      });
    });
  }

  /**
   * Room at `at` for a message of at most `most` bytes and its length before
   * it (digits and a space); returns where the message goes.
   */
  private reserve(at: number, most: number): number {
    const room = digits(most) + 1;
    this.kept.room(at, room + most);
    return at + room;
  }

  /** The message written at `start` (as reserve() said) framed by its length at `at`, moved back if that took less room; returns its end. */
  private frame(at: number, start: number, end: number): number {
    const buf = this.kept.bytes;
    const length = end - start;
    let i = writeDigits(buf, at, length);
    buf[i++] = 0x20;
    if (i < start) buf.copyWithin(i, start, end);
    return i + length;
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
