// Whole answers to GET requests (a stats sample, an inspect), over connections
// to the daemon that are kept open and used again. Watching 220 containers,
// a stats sample of each every 10 s is 22 calls a second; through node:http
// (whose agent keeps connections open too), each cost about 1.07 ms of CPU and
// 23 KB of heap (a request, an answer, their streams, the agent's books);
// written here, 0.41 ms, the answer's JSON included, and 2-4 MiB less resident
// at 220 containers (bench/RESULTS.md, issue 19). undici did no better than
// node:http on this work. A log follow has a connection of its own for as
// long as it lasts (./http-stream.ts). A connection the daemon closes (or
// says it will) is not used again.

import type { Socket } from 'node:net';
import { AnswerReader, getRequest } from './answer.js';

/** An answer: its status and its whole body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** Why a call failed: a socket's error (its `code` kept), or a time limit (`TimeoutError`). */
function timeoutError(ms: number): Error {
  const err = new Error(`no answer within ${ms} ms`);
  err.name = 'TimeoutError';
  return err;
}

/** Connections kept idle for the next call, at most. */
export const MAX_IDLE = 32;
/** An idle connection unused this long is closed. */
export const IDLE_MS = 15_000;

const IDLE_EVENTS = ['data', 'end', 'error', 'close', 'timeout'] as const;

/**
 * GET requests for whole answers, over connections kept open between calls.
 * `connect` opens one (a unix socket, TCP, or TLS); `host` is the Host header.
 */
export class HttpGetPool {
  /** Idle connections, the newest last, each with what drops it if the daemon ends it while idle. */
  private readonly idle: { readonly socket: Socket; readonly drop: () => void }[] = [];
  /** Connections opened, in all (a counter for tests and metrics). */
  opened = 0;

  constructor(
    private readonly connect: () => Socket,
    private readonly host: string,
    private readonly maxIdle = MAX_IDLE,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Connections waiting for a call. */
  get idleCount(): number {
    return this.idle.length;
  }

  /** `GET path`, its whole answer; rejects on a connection's error or past `timeoutMs`. */
  get(path: string, timeoutMs: number): Promise<HttpAnswer> {
    const reused = this.take();
    return this.attempt(path, timeoutMs, reused).catch((err: unknown) => {
      // A kept connection the daemon closed just as it was used: nothing of
      // the answer came, and a GET may be asked again, once, on a new one.
      if (reused !== undefined && (err as { beforeAnswer?: boolean }).beforeAnswer === true) return this.attempt(path, timeoutMs, undefined);
      throw err;
    });
  }

  /** Closes the idle connections. */
  close(): void {
    for (const { socket } of this.idle.splice(0)) socket.destroy();
  }

  /** The newest idle connection, made busy again; undefined if none. */
  private take(): Socket | undefined {
    const kept = this.idle.pop();
    if (kept === undefined) return undefined;
    const { socket, drop } = kept;
    for (const event of IDLE_EVENTS) socket.removeListener(event, drop);
    socket.setTimeout(0);
    socket.ref();
    return socket;
  }

  private attempt(path: string, timeoutMs: number, reused: Socket | undefined): Promise<HttpAnswer> {
    const socket = reused ?? this.open();
    return new Promise<HttpAnswer>((resolve, reject) => {
      const reader = new AnswerReader();
      let settled = false;
      const finish = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        socket.removeListener('end', onEnd);
        socket.removeListener('close', onEnd);
        socket.removeListener('error', onError);
        if (err !== undefined) {
          socket.destroy();
          reject(err);
          return;
        }
        const answer = { status: reader.status, body: reader.body() };
        if (reader.keepAlive && !reader.extra && !socket.destroyed && socket.readyState === 'open') this.keep(socket);
        else socket.destroy();
        resolve(answer);
      };
      const failed = (err: Error): void => {
        if (!reader.started) (err as { beforeAnswer?: boolean }).beforeAnswer = true;
        finish(err);
      };
      const onData = (chunk: Buffer): void => {
        try {
          if (reader.push(chunk)) finish(undefined);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onEnd = (): void => {
        if (reader.end()) {
          reader.keepAlive = false;
          finish(undefined);
        } else failed(new Error(`the daemon closed the connection before its answer to GET ${path} was whole`));
      };
      const onError = (err: Error): void => failed(err);
      const timer = setTimeout(() => finish(timeoutError(timeoutMs)), timeoutMs);
      timer.unref();
      socket.on('data', onData);
      socket.on('end', onEnd);
      // A close without an end (a reset) is read as one.
      socket.on('close', onEnd);
      socket.on('error', onError);
      socket.write(getRequest(path, this.host));
    });
  }

  private open(): Socket {
    this.opened++;
    return this.connect();
  }

  /** Keeps a connection for the next call, or closes it if enough are kept. */
  private keep(socket: Socket): void {
    if (this.idle.length >= this.maxIdle) {
      socket.end();
      return;
    }
    const drop = (): void => {
      const at = this.idle.findIndex((k) => k.socket === socket);
      if (at >= 0) this.idle.splice(at, 1);
      socket.destroy();
    };
    // Anything from the daemon while idle (its close, an error, stray bytes), or a long idle, ends the connection.
    for (const event of IDLE_EVENTS) socket.on(event, drop);
    socket.setTimeout(this.idleMs);
    // An idle connection does not keep sidekick running.
    socket.unref();
    this.idle.push({ socket, drop });
  }
}
