// A real rsyslogd on loopback: UDP, plain TCP (imptcp) and TLS (imtcp with
// GnuTLS), writing every message it receives, as it parsed it, to a file.
// Also makes the CA and certificates its TLS listener uses.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { makeCerts } from '../certs.js';
import { terminate, track } from './harness.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Received {
  /** imudp, imptcp (plain TCP) or imtcp (TLS). */
  readonly input: string;
  readonly hostname: string;
  readonly app: string;
  readonly severity: string;
  readonly facility: string;
  readonly msgid: string;
  readonly sd: string;
  readonly msg: string;
}

/** A free TCP port on loopback (also used for UDP: nothing else listens here). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export class Rsyslog {
  readonly dir = mkdtempSync(join(tmpdir(), 'sidekick-rsyslog-'));
  readonly out = join(this.dir, 'received.log');
  udpPort = 0;
  tcpPort = 0;
  tlsPort = 0;
  certs: { ca: string; cert: string; key: string; otherCa: string } | undefined;
  private child: ChildProcess | undefined;
  private stderr = '';

  async start(): Promise<void> {
    this.certs = await makeCerts(this.dir);
    [this.udpPort, this.tcpPort, this.tlsPort] = [await freePort(), await freePort(), await freePort()];
    const conf = join(this.dir, 'rsyslog.conf');
    writeFileSync(
      conf,
      `global(workDirectory="${this.dir}" maxMessageSize="256k"
  defaultNetstreamDriverCAFile="${this.certs.ca}"
  defaultNetstreamDriverCertFile="${this.certs.cert}"
  defaultNetstreamDriverKeyFile="${this.certs.key}")
module(load="imudp")
module(load="imptcp")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
# A burst of datagrams must not overflow the default 208 KiB socket buffer.
input(type="imudp" address="127.0.0.1" port="${this.udpPort}" rcvbufSize="4m")
input(type="imptcp" address="127.0.0.1" port="${this.tcpPort}")
input(type="imtcp" address="127.0.0.1" port="${this.tlsPort}")
template(name="fields" type="list") {
  property(name="inputname") constant(value="\\t")
  property(name="hostname") constant(value="\\t")
  property(name="app-name") constant(value="\\t")
  property(name="syslogseverity-text") constant(value="\\t")
  property(name="syslogfacility-text") constant(value="\\t")
  property(name="msgid") constant(value="\\t")
  property(name="structured-data") constant(value="\\t")
  property(name="msg" controlcharacters="escape") constant(value="\\n")
}
action(type="omfile" file="${this.out}" template="fields" flushOnTXEnd="on" asyncWriting="off")
`,
    );
    writeFileSync(this.out, '');
    await this.spawn();
  }

  /** Stops rsyslogd and starts it again on the same ports, keeping what it received. */
  async restart(downMs: number): Promise<void> {
    await this.kill();
    await new Promise((r) => setTimeout(r, downMs));
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    const conf = join(this.dir, 'rsyslog.conf');
    const child = track(
      spawn('rsyslogd', ['-n', '-f', conf, '-i', join(this.dir, 'rsyslogd.pid')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    child.stderr!.setEncoding('utf8').on('data', (t: string) => {
      this.stderr += t;
    });
    this.child = child;
    await this.waitListening();
  }

  private async waitListening(): Promise<void> {
    const end = Date.now() + 15_000;
    for (;;) {
      const ok = await Promise.all(
        [this.tcpPort, this.tlsPort].map(
          (port) =>
            new Promise<boolean>((resolve) => {
              const s = createConnection(port, '127.0.0.1');
              s.once('connect', () => {
                s.destroy();
                resolve(true);
              });
              s.once('error', () => resolve(false));
            }),
        ),
      );
      if (ok.every(Boolean)) return;
      if (Date.now() > end || this.child?.exitCode !== null) {
        throw new Error(`rsyslogd did not start listening: ${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** What rsyslog wrote, one parsed message a line. */
  received(): Received[] {
    return readFileSync(this.out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [input, hostname, app, severity, facility, msgid, sd, ...rest] = l.split('\t');
        return { input: input!, hostname: hostname!, app: app!, severity: severity!, facility: facility!, msgid: msgid!, sd: sd!, msg: rest.join('\t') };
      });
  }

  private async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await terminate(child);
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
