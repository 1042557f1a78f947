// Whole answers to GET requests (a stats sample, an inspect), over connections
// to the daemon that are kept open and used again. Watching 220 containers,
// a stats sample of each every 10 s is 22 calls a second; through node:http
// (whose agent keeps connections open too), each cost about 1.07 ms of CPU and
// 23 KB of heap (a request, an answer, their streams, the agent's books);
// written here, 0.41 ms, the answer's JSON included, and 2-4 MiB less resident
// at 220 containers (bench/RESULTS.md, issue 19). undici did no better than
// node:http on this work. Streams (a log follow, the events) stay with
// node:http: one connection each, for as long as they last.
//
// Only what the daemon's answers need: HTTP/1.1, a body by Content-Length,
// chunked, or until the connection closes; a connection the daemon closes
// (or says it will) is not used again.

import type { Socket } from 'node:net';

/** An answer: its status and its whole body. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: Buffer;
}

/** A head bigger than this is not an HTTP answer worth reading. */
const MAX_HEAD = 64 * 1024;

const CRLF2 = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** What a reader is reading: the head, a body of known length, chunks (size line, data, the CRLF after it, trailers), or to the end. */
type ReadState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

/**
 * Reads one HTTP/1.1 answer from the bytes of a connection, however they are
 * cut. `push` answers true once the answer is whole; `end` says the
 * connection ended (an answer read to the close is then whole).
 */
export class AnswerReader {
  private state: ReadState = 'head';
  private pending: Buffer = EMPTY;
  private readonly body: Buffer[] = [];
  private left = 0;
  status = 0;
  /** Whether the connection may carry another request once the answer is read. */
  keepAlive = true;
  /** Bytes read past the answer's end: a connection that sends them is not used again. */
  extra = false;
  /** Whether any byte of the answer came. */
  started = false;

  push(chunk: Buffer): boolean {
    this.started = true;
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = EMPTY;
    for (;;) {
      switch (this.state) {
        case 'head': {
          const end = buf.indexOf(CRLF2);
          if (end < 0) {
            if (buf.length > MAX_HEAD) throw new Error(`the daemon's answer has a head longer than ${MAX_HEAD} bytes`);
            this.pending = buf;
            return false;
          }
          this.head(buf.toString('latin1', 0, end));
          buf = buf.subarray(end + 4);
          break;
        }
        case 'length':
        case 'chunk-data':
          buf = this.bodyBytes(buf);
          if (this.left > 0) return false;
          this.state = this.state === 'length' ? 'done' : 'chunk-end';
          break;
        case 'chunk-size': {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > 1024) throw new Error("the daemon's answer has a chunk size line that does not end");
            this.pending = buf;
            return false;
          }
          // A size may be followed by extensions (`;name=value`): ignored.
          const text = buf.toString('latin1', 0, eol).split(';')[0]!.trim();
          const size = /^[0-9a-fA-F]{1,8}$/.test(text) ? Number.parseInt(text, 16) : Number.NaN;
          if (Number.isNaN(size)) throw new Error(`the daemon's answer has a bad chunk size: ${JSON.stringify(text.slice(0, 20))}`);
          buf = buf.subarray(eol + 2);
          this.left = size;
          this.state = size === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-end': {
          if (buf.length < 2) {
            this.pending = buf;
            return false;
          }
          if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new Error("the daemon's answer has a chunk that does not end with CRLF");
          buf = buf.subarray(2);
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailer lines, then an empty line.
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > MAX_HEAD) throw new Error("the daemon's answer has trailers that do not end");
            this.pending = buf;
            return false;
          }
          buf = buf.subarray(eol + 2);
          if (eol === 0) this.state = 'done';
          break;
        }
        case 'close':
          if (buf.length > 0) this.body.push(buf);
          return false;
        case 'done':
          if (buf.length > 0) this.extra = true;
          return true;
      }
    }
  }

  /** Takes the body's bytes still to come (`left`) from `buf`; what follows them. */
  private bodyBytes(buf: Buffer): Buffer {
    const take = Math.min(this.left, buf.length);
    if (take > 0) this.body.push(buf.subarray(0, take));
    this.left -= take;
    return buf.subarray(take);
  }

  /** The connection ended. Whether the answer is whole: one read to the close is. */
  end(): boolean {
    if (this.state === 'close') this.state = 'done';
    return this.state === 'done';
  }

  /** The whole answer (once push or end said it is). */
  answer(): HttpAnswer {
    return { status: this.status, body: this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body) };
  }

  private head(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (statusLine === null) throw new Error(`the daemon's answer is not HTTP/1.x: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
    const status = Number(statusLine[2]);
    // An interim answer (100 Continue): the real one follows.
    if (status >= 100 && status < 200) return;
    this.status = status;
    this.keepAlive = statusLine[1] === '1';
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) throw new Error(`the daemon's answer has a bad Content-Length: ${JSON.stringify(value.slice(0, 20))}`);
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = value.split(',').some((v) => v.trim() === 'chunked');
      else if (name === 'connection') {
        if (value.split(',').some((v) => v.trim() === 'close')) this.keepAlive = false;
        else if (value.split(',').some((v) => v.trim() === 'keep-alive')) this.keepAlive = true;
      }
    }
    if (status === 204 || status === 304) this.state = 'done';
    else if (chunked) this.state = 'chunk-size';
    else if (length !== undefined) {
      this.left = length;
      this.state = length === 0 ? 'done' : 'length';
    } else {
      this.state = 'close';
      this.keepAlive = false;
    }
  }
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
        const answer = reader.answer();
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
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nUser-Agent: sidekick\r\nAccept: application/json\r\n\r\n`);
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
