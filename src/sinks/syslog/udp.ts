// syslog over UDP: one datagram a message, cut to `max` bytes on a UTF-8
// boundary (counted), sent on a connected socket.

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import type { Envelope } from '../../core/record.js';
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
    let slab = this.slab;
    let at = 0;
    for (const e of batch) {
      const r = e.record;
      let buf: Buffer | undefined;
      const most = r.type === 'log' ? this.lines.bytesMost(r) : SLAB_BYTES;
      // A line longer than a slab (cut to max anyway) is made as text.
      if (r.type === 'log' && most < SLAB_BYTES) {
        // A slab filled is left to the views already made of it.
        if (slab.length - at < most) {
          slab = Buffer.allocUnsafe(SLAB_BYTES);
          at = 0;
        }
        const end = this.lines.write(r, slab, at);
        if (end >= 0) {
          buf = slab.subarray(at, end);
          at = end;
        }
      }
      buf ??= Buffer.from(formatSyslog(e, this.o.format, this.o.facility));
      if (buf.length > this.o.max) {
        buf = truncateUtf8(buf, this.o.max);
        this.events.messageTruncated({ max: this.o.max });
      }
      datagrams.push(buf);
    }
    // Reused by the next batch: this one's sends are all done when write() returns.
    this.slab = slab;
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
