// Runs the real sidekick process against the real Docker engine, and real
// containers, for the end-to-end tests.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const IMAGE = process.env['SIDEKICK_TEST_IMAGE'] ?? 'sidekick-test/busybox:latest';
export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
export const ENGINE_SCRIPT = fileURLToPath(new URL('../../../test/e2e/engine.sh', import.meta.url));
/** Every container a test run starts carries this label, so cleanup finds them all. */
export const RUN_LABEL = `sidekick.test=${process.pid}`;

/**
 * Processes a test started and has not seen end. A failed test leaves its
 * sidekick running; the runner (--test-force-exit) ends the file anyway, and
 * this kills what is left, so no orphan collects the next file's containers.
 */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Kills `child` when the test file ends, unless it has ended by then. */
export function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/**
 * Test containers need no network. On this engine (--bridge=none) one left
 * on the default network leaves a sandbox behind when it is removed, and each
 * restart of dockerd spends a quarter of a second on every such sandbox: a
 * minute and more after the bursts of short-lived containers.
 */
export const NO_NETWORK = ['--network', 'none'] as const;

/** `docker run -d` with the run's label (and no network unless `args` names one); returns the full container id. */
export async function runContainer(name: string, args: readonly string[], command: string): Promise<string> {
  const network = args.includes('--network') ? [] : NO_NETWORK;
  return docker('run', '-d', '--name', name, '-l', RUN_LABEL, '--stop-timeout', '1', ...network, ...args, IMAGE, 'sh', '-c', command);
}

export async function waitExit(name: string): Promise<void> {
  await docker('wait', name);
}

export async function removeTestContainers(): Promise<void> {
  const ids = (await docker('ps', '-aq', '--filter', `label=${RUN_LABEL}`)).split('\n').filter((s) => s !== '');
  if (ids.length > 0) await docker('rm', '-f', ...ids);
}

export function uniqueName(base: string): string {
  return `sk-${base}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

export type Json = Record<string, unknown> & {
  type: string;
  time: string;
  host: string;
  container?: { id: string; name: string; image: string; labels: Record<string, string> };
};

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
}

/** A running sidekick process; its stdout parsed as records. */
export class Sidekick {
  readonly records: Json[] = [];
  /** When each record arrived (epoch ms), by its index in records. */
  readonly arrivals: number[] = [];
  /** Lines on stdout that are not JSON: must stay empty while collecting. */
  readonly notJson: string[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private rest = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `as`: run as another user, from a script that user can read (the checkout may be private to root). */
  constructor(env: Record<string, string> = {}, args: readonly string[] = [], as?: { readonly uid: number; readonly gid: number; readonly script: string }) {
    const user = as === undefined ? undefined : { uid: as.uid, gid: as.gid };
    this.child = spawn(process.execPath, [as?.script ?? MAIN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', SIDEKICK_LOG_LEVEL: 'debug', SIDEKICK_METRICS_ADDR: '127.0.0.1:0', SIDEKICK_STATE_DIR: 'off', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...user,
    });
    track(this.child);
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => {
      const lines = (this.rest + text).split('\n');
      this.rest = lines.pop()!;
      const now = Date.now();
      for (const line of lines) {
        try {
          this.records.push(JSON.parse(line) as Json);
          this.arrivals.push(now);
        } catch {
          this.notJson.push(line);
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then everything it wrote to stdout has been read.
      this.child.on('close', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Resident memory now, in bytes (from /proc): of the process and its
   * children (started without a heap limit, sidekick runs itself again with one).
   */
  rss(pid = this.pid): number {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((c) => c !== '');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024 + children.reduce((n, c) => n + this.rss(Number(c)), 0);
  }

  /**
   * The resident size of the process that collects: sidekick started without
   * a heap limit runs itself again with one and waits for that child, whose
   * own size (node's, about 50 MiB) says nothing of the collector's.
   */
  collectorRss(pid = this.pid): number {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((c) => c !== '');
    if (children.length === 1) return this.collectorRss(Number(children[0]));
    return this.rss(pid);
  }

  /** Samples the resident size every 200 ms until `stop()`; `peak` is the largest seen. */
  sampleRss(): { readonly peak: number; stop(): void } {
    let peak = 0;
    const timer = setInterval(() => {
      peak = Math.max(peak, this.rss());
    }, 200);
    return {
      get peak() {
        return peak;
      },
      stop: () => clearInterval(timer),
    };
  }

  /** The port of sidekick's HTTP server, from its log. */
  get metricsPort(): number {
    const m = /"port":(\d+),"msg":"serving \/metrics/.exec(this.stderr);
    if (m === null) throw new Error('sidekick has not said where /metrics is');
    return Number(m[1]);
  }

  /** GET a path of sidekick's HTTP server. */
  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Resolves once sidekick says it is collecting. */
  async ready(timeoutMs = 20_000): Promise<void> {
    await this.until(() => this.stderr.includes('sidekick is collecting'), timeoutMs, 'sidekick to start collecting');
  }

  /** Waits until `pred` holds for the records (polling), or fails naming `what` (a function: says what it saw). */
  async until(pred: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) {
        const said = typeof what === 'string' ? what : what();
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${said}; sidekick stderr:\n${this.stderr.slice(-4000)}`);
      }
      await sleep(50);
    }
  }

  of(name: string, type?: string): Json[] {
    return this.records.filter((r) => r.container?.name === name && (type === undefined || r.type === type));
  }

  logsOf(name: string): Json[] {
    return this.of(name, 'log');
  }

  /** SIGTERM, and how it ended and how long it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    const start = Date.now();
    this.child.kill(signal);
    const { code, signal: by } = await this.exited;
    return { code, signal: by, ms: Date.now() - start };
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}

/**
 * A unix socket that forwards to the Docker socket and can be cut: every
 * connection through it is broken and new ones are refused until restored.
 */
export class SocketProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly target = '/var/run/docker.sock',
  ) {}

  async open(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createServer((client) => {
      const upstream = connect(this.target);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
    rmSync(this.path, { force: true });
  }
}

/**
 * A read-only Docker socket proxy, like the ones operators put in front of the
 * socket: forwards GET requests to the endpoints it allows, refuses anything
 * else with 403, and remembers every request as "METHOD /path" (ids as {id}).
 */
export class ReadOnlyProxy {
  readonly requests: string[] = [];
  readonly refused: string[] = [];
  private server: HttpServer | undefined;

  constructor(
    readonly path: string,
    private readonly allowed: readonly RegExp[],
    private readonly target = '/var/run/docker.sock',
  ) {}

  async open(): Promise<void> {
    rmSync(this.path, { force: true });
    const server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://docker');
      const shape = `${req.method} ${url.pathname.replace(/\/[0-9a-f]{64}(?=\/|$)/, '/{id}')}`;
      this.requests.push(shape);
      if (req.method !== 'GET' || !this.allowed.some((a) => a.test(url.pathname))) {
        this.refused.push(shape);
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"refused by the read-only proxy"}');
        return;
      }
      const upstream = httpRequest({ socketPath: this.target, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A stream (/events, /logs) may send no body for a while: its headers go now.
        res.flushHeaders();
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}

/** The sidekick image the image and Swarm tests build from the repo's Dockerfile. */
export const SIDEKICK_IMAGE = 'sidekick-test/sidekick:dev';

/**
 * Builds SIDEKICK_IMAGE from the real Dockerfile, on base images made from
 * this machine's Node (image-bases.sh), since the test engine cannot pull.
 * Each test file that needs the image calls this: the engine's build cache
 * makes every build after the first quick.
 */
export async function buildImage(): Promise<string> {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  await exec('bash', [fileURLToPath(new URL('../../../test/e2e/image-bases.sh', import.meta.url))]);
  await exec(
    'docker',
    [
      'build',
      '--network',
      'host',
      '--build-arg',
      'BUILD_IMAGE=sidekick-test/node-build:latest',
      '--build-arg',
      'RUNTIME_IMAGE=sidekick-test/node-runtime:latest',
      '-t',
      SIDEKICK_IMAGE,
      root,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return SIDEKICK_IMAGE;
}

/** Runs test/e2e/engine.sh with the given command (restart, ensure), and extra dockerd flags for a start. */
export async function engine(command: string, ...dockerdFlags: string[]): Promise<void> {
  await exec('bash', [ENGINE_SCRIPT, command, ...dockerdFlags], { maxBuffer: 1024 * 1024 });
}

/** SIGTERM a helper process (rsyslogd, prometheus) and wait until it is gone. */
export async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
