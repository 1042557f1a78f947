// syslog over UDP: one datagram a message, cut to `max` bytes on a UTF-8
// boundary (counted), sent on a connected socket.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { Envelope, LogRecord } from '../../core/record.js';
import type { SinkEvents } from '../../observe/events.js';
import { SinkError, SMALL_BATCH_GAP_MS, type Sink } from '../sink.js';
import { formatSyslog, SyslogLineWriter, truncateUtf8 } from './format.js';
import type { SyslogOptions } from './options.js';

/** The buffer a batch's log lines are written into, each datagram a view of it; another when it is full. */
const SLAB_BYTES = 64 * 1024;

export class UdpSyslogSink implements Sink {
  readonly batching = { gapMs: SMALL_BATCH_GAP_MS };
  private socket: UdpSocket | undefined;
  private address: { address: string; family: number } | undefined;
  private readonly lines: SyslogLineWriter;
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  /** Where the batch being written goes on in the slab. */
  private at = 0;

  constructor(
    readonly name: string,
    private readonly o: SyslogOptions,
    private readonly events: SinkEvents,
  ) {
    this.lines = new SyslogLineWriter(o.format, o.facility);
  }

  async start(): Promise<void> {
    // Resolved lazily on the first write, so a name that does not resolve yet is retried.
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const socket = await this.open();
    const datagrams: Buffer[] = [];
    // From the slab's start: the last batch's sends are all done (write() returned).
    this.at = 0;
    for (const e of batch) {
      const r = e.record;
      let buf = r.type === 'log' ? this.written(r) : undefined;
      buf ??= Buffer.from(formatSyslog(e, this.o.format, this.o.facility));
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

  /** A log line's datagram written into the slab (a view of it), or undefined when it is made as text. */
  private written(r: LogRecord): Buffer | undefined {
    const head = this.lines.headOf(r);
    const most = this.lines.bytesMost(head, r);
    // A line longer than a slab (cut to max anyway) is made as text.
    if (most > SLAB_BYTES) return undefined;
    // A slab filled is left to the views already made of it.
    if (this.slab.length - this.at < most) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.at = 0;
    }
    const end = this.lines.write(head, r, this.slab, this.at);
    if (end < 0) return undefined;
    const view = this.slab.subarray(this.at, end);
    this.at = end;
    return view;
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
