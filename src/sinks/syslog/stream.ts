// syslog over TCP and TLS: octet-counting framing (RFC 6587 / 5425), one
// connection, reconnected with backoff by the driver's retries.

import { connect as tcpConnect, type Socket } from 'node:net';
import type { Envelope } from '../../core/record.js';
import { tlsConnect } from '../../core/tls.js';
import { SinkError, SMALL_BATCH_GAP_MS, type Sink } from '../sink.js';
import { formatSyslog } from './format.js';
import type { SyslogOptions } from './options.js';

const CONNECT_TIMEOUT_MS = 10_000;

export class StreamSyslogSink implements Sink {
  readonly batching = { gapMs: SMALL_BATCH_GAP_MS };
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
