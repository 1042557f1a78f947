// What every scenario needs: the engine, containers that print numbered lines,
// CPU and memory of a process read from /proc, receivers that count lines and
// check sequence numbers, and medians.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { MALLOC_ENV } from '../src/relaunch.js';

const exec = promisify(execFile);
/**
 * The node flags the image runs sidekick with (its Dockerfile's NODE_OPTIONS;
 * the systemd unit has the same): the heap limit and the young generation.
 */
export const IMAGE_NODE_OPTIONS = imageSetting('NODE_OPTIONS');
/** The image's environment for the runtime (node's flags, glibc's malloc settings as the image gives them): what its rows run with. */
export const IMAGE_ENV = {
  NODE_OPTIONS: IMAGE_NODE_OPTIONS,
  ...Object.fromEntries(Object.keys(MALLOC_ENV).map((name) => [name, imageSetting(name)])),
};

function imageSetting(name: string): string {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const m = new RegExp(`\\b${name}=(?:"([^"]*)"|(\\S+))`).exec(dockerfile);
  const value = m?.[1] ?? m?.[2];
  if (value === undefined) throw new Error(`no ${name} in the Dockerfile`);
  return value;
}
export const IMAGE = process.env['SIDEKICK_TEST_IMAGE'] ?? 'sidekick-test/busybox:latest';
export const LABEL = `sidekick.bench=${process.pid}`;
/** Pads every line to about 100 bytes. */
const PAD = 'x'.repeat(92);

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 256 * 1024 * 1024 });
  return stdout.trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A container that waits `delay` seconds (time to attach readers), then prints
 * lines "<prefix><n> xxx…" for n = 1..count, about 100 bytes each, as fast as it can.
 */
export async function printer(name: string, prefix: string, count: number, delay = 1): Promise<string> {
  return docker('run', '-d', '--name', name, '-l', LABEL, IMAGE, 'sh', '-c', `sleep ${delay}; seq 1 ${count} | sed "s/^/${prefix}/; s/\\$/ ${PAD}/"`);
}

export async function removeBenchContainers(): Promise<void> {
  for (;;) {
    const ids = (await docker('ps', '-aq', '--filter', `label=${LABEL}`)).split('\n').filter((s) => s !== '');
    if (ids.length === 0) return;
    await docker('rm', '-f', ...ids.slice(0, 100));
  }
}

/** Seconds between a container's start and its exit, by Docker's clock. */
export async function runSeconds(name: string): Promise<number> {
  const [started, finished] = (await docker('inspect', '-f', '{{.State.StartedAt}} {{.State.FinishedAt}}', name)).split(' ');
  return epochSeconds(finished!) - epochSeconds(started!);
}

/** An RFC 3339 UTC time with up to nine fraction digits, in seconds since the epoch. */
export function epochSeconds(t: string): number {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(t);
  if (m === null) return NaN;
  return Date.parse(m[1] + 'Z') / 1000 + (m[2] === undefined ? 0 : Number('0.' + m[2]));
}

const TICK = 100; // USER_HZ

/** user+sys CPU seconds of a process so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/** Peak resident memory of a process since it started, in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

export function rssMiB(pid: number): number {
  return residentMiB(pid).rss;
}

/**
 * Resident memory, and how much of it is anonymous (heaps, buffers: the
 * process's own) and file-backed (the executable's pages, which every process
 * of that executable on the host shares).
 */
export function residentMiB(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

export function openFds(pid: number): { fds: number; sockets: number } {
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed meanwhile
    }
  }
  return { fds: fds.length, sockets };
}

export function dockerdPid(): number {
  return Number(readFileSync('/var/run/docker.pid', 'utf8').trim());
}

/** Counts numbered lines ("<prefix><n> …") and which numbers were seen. */
export class SequenceCounter {
  readonly seen = new Map<string, Uint8Array>();
  lines = 0;
  /** Numbered lines seen at least once: counted as they come, since a run asks for it every 20 ms. */
  unique = 0;
  bytes = 0;
  duplicates = 0;
  lastAt = 0;

  constructor(private readonly expect: ReadonlyMap<string, number>) {
    for (const [prefix, count] of expect) this.seen.set(prefix, new Uint8Array(count + 1));
  }

  /** One message; returns whether it was a numbered line of ours. */
  add(message: string): boolean {
    const sp = message.indexOf(' ');
    const head = sp < 0 ? message : message.slice(0, sp);
    const m = /^([a-z]+-)(\d+)$/.exec(head);
    if (m === null) return false;
    const marks = this.seen.get(m[1]!);
    const n = Number(m[2]);
    if (marks === undefined || n >= marks.length) return false;
    if (marks[n] === 1) this.duplicates++;
    else this.unique++;
    marks[n] = 1;
    this.lines++;
    this.bytes += message.length + 1;
    this.lastAt = performance.now();
    return true;
  }

  get total(): number {
    let n = 0;
    for (const c of this.expect.values()) n += c;
    return n;
  }
}

/** A process whose stdout is JSON records (or lines) fed to a counter. */
export class Collector {
  readonly child: ChildProcess;
  stderr = '';
  private rest = '';

  constructor(command: string, args: string[], env: Record<string, string>, onLine: (line: string) => void) {
    this.child = spawn(command, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (t: string) => {
      const lines = (this.rest + t).split('\n');
      this.rest = lines.pop()!;
      for (const l of lines) onLine(l);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (t: string) => {
      this.stderr = (this.stderr + t).slice(-20_000);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async until(pred: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end || this.child.exitCode !== null) return false;
      await sleep(20);
    }
    return true;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 12_000);
    await exited;
    clearTimeout(t);
  }
}

/** A UDP syslog receiver that counts the numbered lines in datagrams. */
export async function udpReceiver(onMessage: (msg: string) => void): Promise<{ port: number; close: () => void }> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 64 * 1024 * 1024 });
  socket.on('message', (buf) => {
    const text = buf.toString('utf8');
    // RFC 5424: "<pri>1 time host app - msgid [sd] msg": the message follows "] ".
    const at = text.indexOf('] ');
    onMessage(at < 0 ? text : text.slice(at + 2));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

/** An HTTP receiver taking NDJSON batches. */
export async function httpReceiver(onRecord: (line: string) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      for (const line of body.toString('utf8').split('\n')) if (line !== '') onRecord(line);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * An OTLP/HTTP receiver taking protobuf logs requests: it walks each request
 * down to its log records' bodies (ResourceLogs 1, ScopeLogs 2, LogRecord 2,
 * body 5, string_value 1), enough to count lines without a decoder's cost.
 */
export async function otlpReceiver(onBody: (line: string) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const PATH = [1, 2, 2, 5, 1];
  const walk = (b: Buffer, start: number, end: number, depth: number): void => {
    let i = start;
    const varint = (): number => {
      let n = 0;
      let scale = 1;
      for (;;) {
        const byte = b[i++] as number;
        n += (byte & 0x7f) * scale;
        if (byte < 0x80) return n;
        scale *= 128;
      }
    };
    while (i < end) {
      const key = varint();
      const wire = key & 7;
      if (wire === 0) varint();
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else {
        const n = varint();
        if (key >>> 3 === PATH[depth]) {
          if (depth === PATH.length - 1) onBody(b.toString('utf8', i, i + n));
          else walk(b, i, i + n, depth + 1);
        }
        i += n;
      }
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.endsWith('/v1/logs')) walk(body, 0, body.length, 0);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The engine's own ceiling: a raw HTTP client following a container's logs,
 * parsing only frame headers and counting frames (one a line).
 */
export function rawFollow(id: string, follow: boolean): Promise<{ lines: number; firstAt: number; endAt: number; cpuUsPerLine: number }> {
  // This process does nothing else meanwhile: its CPU is the reader's.
  const cpu0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: '/var/run/docker.sock', path: `/containers/${id}/logs?follow=${follow ? 1 : 0}&stdout=1&stderr=1`, method: 'GET' },
      (res) => {
        let lines = 0;
        let firstAt = 0;
        let need = 8;
        let inHeader = true;
        const header = Buffer.alloc(8);
        let fill = 0;
        res.on('data', (chunk: Buffer) => {
          if (firstAt === 0) firstAt = performance.now();
          let at = 0;
          while (at < chunk.length) {
            const take = Math.min(need, chunk.length - at);
            if (inHeader) {
              chunk.copy(header, fill, at, at + take);
              fill += take;
            }
            at += take;
            need -= take;
            if (need === 0) {
              if (inHeader) {
                need = header.readUInt32BE(4);
                inHeader = need === 0;
                if (inHeader) need = 8;
                lines++;
                fill = 0;
              } else {
                inHeader = true;
                need = 8;
              }
            }
          }
        });
        res.on('end', () => {
          const cpu = process.cpuUsage(cpu0);
          resolve({ lines, firstAt, endAt: performance.now(), cpuUsPerLine: (cpu.user + cpu.system) / Math.max(1, lines) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function stat(values: readonly number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

export function fmt(s: Stat | undefined, digits = 0): string {
  if (s === undefined) return 'n/a';
  const f = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
