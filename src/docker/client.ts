// The Docker API as sidekick uses it: GET requests only, every call bounded by
// one queue so that hundreds of containers starting at once do not open
// hundreds of connections at the same instant. A streaming call holds its
// place in the queue only until the daemon answers with headers. Every call
// is made here, on connections of sidekick's own (./http-get.ts,
// ./http-stream.ts): dockerode's modules alone were about 1 MiB resident at
// rest, and its calls cost more CPU and heap each (bench/RESULTS.md, issue 19);
// its types still describe the answers.

import { readFileSync, statSync } from 'node:fs';
import { connect as netConnect, isIP, type OnReadOpts } from 'node:net';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type Docker from 'dockerode';
import PQueue from 'p-queue';
import { tlsConnect } from '../core/tls.js';
import { EventStreamParser, type DockerEvent } from './events.js';
import { HttpGetPool } from './http-get.js';
import { type Connect, openAnswerStream } from './http-stream.js';
import { LogLineParser } from './log-lines.js';

/** A call that returns a whole answer must not wait on a hung daemon forever. */
const CALL_TIMEOUT_MS = 30_000;

/** The fields of a Docker mount that place it (from inspect's `Mounts`). */
export interface MountInfo {
  readonly Name?: string;
  readonly Source?: string;
  readonly Destination?: string;
}

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly State: string;
  readonly Image: string;
  readonly ImageID?: string;
  readonly Labels: Readonly<Record<string, string>> | null;
  readonly Mounts: readonly MountInfo[] | null;
}

export interface EngineInfo {
  readonly Name: string;
  readonly ServerVersion: string;
  /** Where the engine keeps its data (json-files under `containers/`); Podman's answer may lack it. */
  readonly DockerRootDir?: string;
}

export interface LogsOptions {
  /** `seconds.nanoseconds`: only lines at or after this time. */
  readonly since?: string;
  /** Only the last this many lines (and what follows). */
  readonly tail?: number;
  /**
   * `seconds.nanoseconds`: the stream ends at this time (else it follows until
   * the container stops). A follow, not a one-off read: a one-off answer
   * would be held whole in memory.
   */
  readonly until?: string;
}

/** What failing statuses mean (the Engine API's words, as dockerode's errors said them, so that errors read alike). */
type Answers = Readonly<Record<number, string>>;
/** Of a container's calls (inspect, stats, logs). */
const CONTAINER_ANSWERS: Answers = { 404: 'no such container', 500: 'server error' };
/** Of the engine's own (info, the container list, events). */
const ENGINE_ANSWERS: Answers = { 400: 'bad parameter', 500: 'server error' };

/** A call the daemon answered with a status other than 200; `statusCode` as dockerode's errors carried it. */
export class DockerCallError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** How to open a connection of one's own to the daemon (./http-get.ts, ./http-stream.ts; reads go where `onread` says), with the Host header to send. */
interface Endpoint {
  readonly connect: Connect;
  readonly host: string;
}

/** The daemon's address as `node:net` takes it (`node:tls`, with the client's certificates). */
function endpointOf(o: Docker.DockerOptions): Endpoint {
  const socketPath = o.socketPath;
  if (socketPath !== undefined) return { connect: (onread) => netConnect({ path: socketPath, onread }), host: 'localhost' };
  const host = o.host ?? 'localhost';
  const port = Number(o.port ?? (o.protocol === 'https' ? 2376 : 2375));
  const hostHeader = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  if (o.protocol !== 'https') return { connect: (onread) => netConnect({ host, port, onread }), host: hostHeader };
  const tls = { ca: o.ca, cert: o.cert, key: o.key } as ConnectionOptions;
  return {
    connect: (onread) => {
      // SNI is a name's, never an address's (as node:https does it). node's
      // tls.connect takes `onread` as net.connect does; its types leave it out.
      const options: ConnectionOptions & { onread?: OnReadOpts | undefined } = {
        ...tls,
        host,
        port,
        onread,
        ...(isIP(host) === 0 ? { servername: host } : {}),
      };
      return tlsConnect(options);
    },
    host: hostHeader,
  };
}

/** A call's query parameters; undefined ones are left out. */
type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export class DockerApi {
  private readonly endpoint: Endpoint;
  private readonly gets: HttpGetPool;
  private readonly queue: PQueue;

  constructor(
    private readonly options: Docker.DockerOptions,
    concurrency: number,
    /** Told of every failed call, by kind (for a counter). */
    private readonly onError: (kind: string) => void = () => undefined,
    /** Told how long each stats call took, in seconds, waiting for a place included. */
    private readonly onStatsCall: (seconds: number) => void = () => undefined,
  ) {
    this.endpoint = endpointOf(options);
    this.gets = new HttpGetPool(this.endpoint.connect, this.endpoint.host);
    this.queue = new PQueue({ concurrency });
  }

  /**
   * What to do about a failure the operator must fix, in words; undefined for
   * the others. Permission denied on the socket names the socket's group.
   */
  explain(err: unknown): string | undefined {
    const path = this.options.socketPath;
    if ((err as { code?: unknown } | null)?.code !== 'EACCES' || typeof path !== 'string') return undefined;
    let gid: number;
    try {
      gid = statSync(path).gid;
    } catch {
      return `permission denied on ${path}`;
    }
    const group = groupName(gid);
    const named = group === undefined ? `gid ${gid}` : `group ${group}, gid ${gid}`;
    return `permission denied on ${path} (${named}): run sidekick in that group (docker run --group-add ${gid}; systemd SupplementaryGroups=${group ?? gid})`;
  }

  /** Calls waiting for a place, and calls in flight. */
  get pending(): { readonly queued: number; readonly running: number } {
    return { queued: this.queue.size, running: this.queue.pending };
  }

  info(): Promise<EngineInfo> {
    return this.call(() => this.json('/info', ENGINE_ANSWERS, CALL_TIMEOUT_MS));
  }

  listRunning(): Promise<ContainerSummary[]> {
    return this.call(() => this.json('/containers/json', ENGINE_ANSWERS, CALL_TIMEOUT_MS));
  }

  /** Every container, stopped ones too. */
  listAll(): Promise<ContainerSummary[]> {
    return this.call(() => this.json(pathOf('/containers/json', { all: true }), ENGINE_ANSWERS, CALL_TIMEOUT_MS));
  }

  inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(() => this.json(containerPath(id, 'json', {}), CONTAINER_ANSWERS, CALL_TIMEOUT_MS));
  }

  /** One stats sample, at once (`one-shot`: no second sample a second later). */
  stats(id: string): Promise<unknown> {
    const started = performance.now();
    // Not through the queue: the engine answers at its next sampling tick, up
    // to a second later, and 220 containers' samples would keep every place
    // taken, with the inspects of new containers waiting behind them. Each
    // container has one sample in flight at most, spread over the interval.
    const sample = this.json<unknown>(containerPath(id, 'stats', { stream: false, 'one-shot': true }), CONTAINER_ANSWERS, CALL_TIMEOUT_MS);
    return this.counted(sample).finally(() => this.onStatsCall((performance.now() - started) / 1000));
  }

  /** Follows a container's logs, stdout and stderr, with Docker's timestamps; `signal` ends the call until it is answered, the stream is the caller's to end. */
  logs(id: string, options: LogsOptions, signal?: AbortSignal): Promise<Readable> {
    const query = { follow: true, stdout: true, stderr: true, timestamps: true, since: options.since, tail: options.tail, until: options.until };
    return this.call(() => this.stream(containerPath(id, 'logs', query), CONTAINER_ANSWERS, signal));
  }

  /** The event stream, from `since` (`seconds.nanoseconds`) or from now. */
  events(since: string | undefined): Promise<Readable> {
    return this.call(() => this.stream(pathOf('/events', { since }), ENGINE_ANSWERS, undefined));
  }

  // The health probes (observe/health.ts) below bypass the queue: they ask how
  // the daemon is doing, not how busy sidekick's own calls keep it, and come
  // one at a time, a few a round.

  /** Resolves if the daemon answers `GET /_ping` within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    await this.counted(this.whole('/_ping', ENGINE_ANSWERS, timeoutMs));
  }

  /** The events the daemon has from `since` to `until` (both `seconds.nanoseconds`): a bounded read, not a stream. */
  async eventsBetween(since: string, until: string, timeoutMs: number): Promise<DockerEvent[]> {
    const body = await this.counted(this.whole(pathOf('/events', { since, until }), ENGINE_ANSWERS, timeoutMs));
    const events: DockerEvent[] = [];
    const parser = new EventStreamParser({ event: (e) => events.push(e), malformed: () => undefined });
    parser.push(body);
    return events;
  }

  /** Docker's time of the container's newest log line (`tail=1`), normalized; undefined when it has none. */
  async newestLogTime(id: string, timeoutMs: number): Promise<string | undefined> {
    const query = { follow: false, stdout: true, stderr: true, timestamps: true, tail: 1 };
    const buf = await this.counted(this.whole(containerPath(id, 'logs', query), CONTAINER_ANSWERS, timeoutMs));
    // A TTY container's answer is raw lines; any other's, frames whose header starts with a stream number and three zeros.
    const framed = buf.length >= 8 && buf[0]! <= 3 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0;
    let newest: string | undefined;
    const parser = new LogLineParser(!framed, {
      line: (l) => {
        if (l.time !== '' && (newest === undefined || l.time > newest)) newest = l.time;
      },
      fault: () => undefined,
    });
    parser.push(buf);
    parser.end();
    return newest;
  }

  /** A whole answer's bytes (a stats sample, an inspect, the container list), over a kept-alive connection (./http-get.ts). */
  private async whole(path: string, answers: Answers, timeoutMs: number): Promise<Buffer> {
    const { status, body } = await this.gets.get(path, timeoutMs);
    if (status !== 200) throw callError(status, body, answers);
    return body;
  }

  /** A whole answer's JSON. */
  private async json<T>(path: string, answers: Answers, timeoutMs: number): Promise<T> {
    const body = await this.whole(path, answers, timeoutMs);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch (err) {
      throw new Error(`GET ${path.split('?')[0]}: the daemon's answer is not JSON (${(err as Error).message})`);
    }
  }

  /**
   * A streamed answer (a log follow, the events): its body as a stream once
   * its head is in, on a connection of its own for as long as it runs
   * (./http-stream.ts: one 'data' event a read of the connection, not one a
   * line or an event).
   */
  private async stream(path: string, answers: Answers, signal: AbortSignal | undefined): Promise<Readable> {
    const answer = await openAnswerStream(this.endpoint.connect, this.endpoint.host, path, signal);
    if (answer.status === 200) return answer;
    const chunks: Buffer[] = [];
    for await (const chunk of answer as AsyncIterable<Buffer>) chunks.push(chunk);
    throw callError(answer.status, Buffer.concat(chunks), answers);
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return this.counted(this.queue.add(fn, { throwOnTimeout: true }));
  }

  private counted<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      this.onError(errorKind(err));
      throw err;
    });
  }
}

/** `path` with its query; undefined values are left out. */
function pathOf(path: string, query: Query): string {
  let search = '';
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search += `${search === '' ? '?' : '&'}${key}=${encodeURIComponent(value)}`;
  return path + search;
}

/** `/containers/{id}/{what}` with its query: the calls made for each container. */
function containerPath(id: string, what: 'json' | 'logs' | 'stats', query: Query): string {
  return pathOf(`/containers/${encodeURIComponent(id)}/${what}`, query);
}

/** A failing status as an error, in dockerode's words: `(HTTP code 404) no such container - No such container: x`. */
function callError(status: number, body: Buffer, answers: Answers): DockerCallError {
  let said = body.toString('utf8').trim();
  try {
    const message = (JSON.parse(said) as { message?: unknown } | null)?.message;
    if (typeof message === 'string') said = message;
  } catch {
    // not JSON: the text as it came
  }
  return new DockerCallError(status, `(HTTP code ${status}) ${answers[status] ?? 'unexpected'} - ${said}`);
}

/** An HTTP status from the daemon, if the error carries one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A short, label-safe class of a Docker API failure. */
export function errorKind(err: unknown): string {
  const status = statusOf(err);
  if (status !== undefined) return `http_${status}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code.toLowerCase();
  if ((err as Error | null)?.name === 'AbortError' || (err as Error | null)?.name === 'TimeoutError') return 'timeout';
  return 'other';
}

/** The name of a group id, from /etc/group. */
function groupName(gid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id !== undefined && Number(id) === gid) return name;
    }
  } catch {
    // no /etc/group (a distroless image has one; a scratch image may not)
  }
  return undefined;
}
