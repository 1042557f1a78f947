// A streamed answer (a log follow, the event stream), read from a connection
// of its own for as long as it lasts. dockerd flushes each frame of a follow
// as an HTTP chunk of its own: through node:http, each became an answer chunk, a Buffer
// and a 'data' event, about 1.3 us of CPU a line in a flood. Here a read of the
// connection (up to 64 KiB) is one 'data' event of its body's bytes, gathered
// in the read's own buffer. The connection is read into one buffer of the
// stream's (node's `onread`), paced by ./read-pace.ts: a flood's lines come
// in reads of a hundred, with no buffer made a read (bench/RESULTS.md, issue 19).

import type { OnReadOpts, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { AnswerReader, getRequest } from './answer.js';
import { READ_REST_MS, ReadPace } from './read-pace.js';

/** A read of the connection takes at most this. */
const READ_SIZE = 64 * 1024;

/** Opens a connection; with `onread`, its reads go into the buffer and to the callback it gives. */
export type Connect = (onread?: OnReadOpts) => Socket;

/**
 * The answer's body; `status` as the head said it. A chunk handed to a
 * 'data' listener is a view of the read buffer, valid during the event (as
 * node's `onread` buffer is): the buffer is read into again unless the chunk
 * stayed in the stream (a reader paused, or reading as an async iterator).
 */
export class AnswerStream extends Readable {
  readonly socket: Socket;
  private readonly reader = new AnswerReader((buf, from, to) => this.body(buf, from, to));
  private readonly pace = new ReadPace();
  private readBuffer = Buffer.allocUnsafeSlow(READ_SIZE);
  /** A chunk handed on is still in the stream, in readBuffer: the next read goes into a new one. */
  private lent = false;
  /** The read's body bytes so far, `out[outFrom, outTo)`: its first range, then the others moved down to follow it. */
  private out: Buffer | undefined;
  private outFrom = 0;
  private outTo = 0;
  /** The stream's reader asked for no more for now (push said so). */
  private held = false;
  /** Reads came back to back: the next waits for this timer (./read-pace.ts). */
  private resting: NodeJS.Timeout | undefined;
  /** The answer's end was read (or the stream destroyed): nothing more is pushed. */
  private over = false;

  /** Connects with `connect`; `onRead` is given each read of the connection (which it hands to decode). */
  constructor(connect: Connect, onRead: (chunk: Buffer) => void) {
    super();
    this.socket = connect({
      buffer: () => this.nextReadBuffer(),
      callback: (bytes) => {
        onRead(this.readBuffer.subarray(0, bytes));
        return this.readOn(bytes);
      },
    });
  }

  get status(): number {
    return this.reader.status;
  }

  get headRead(): boolean {
    return this.reader.headRead;
  }

  /**
   * A read of the connection: its body's bytes handed on as one chunk.
   * Whether the answer is whole. The chunk's bytes are rearranged (the body's
   * ranges moved down over the chunks' framing between them).
   */
  decode(chunk: Buffer): boolean {
    const whole = this.reader.push(chunk);
    this.flush();
    if (whole) this.finish();
    return whole;
  }

  /** The connection ended: the end of an answer read to the close, else an error. */
  connectionEnded(): void {
    if (this.over) return;
    if (this.reader.end()) this.finish();
    else this.destroy(new Error('the daemon closed the connection before the answer ended'));
  }

  override _read(): void {
    this.held = false;
    this.readAgain();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.stop();
    this.socket.destroy();
    // As node:http's answers do: an error is told to those who listen for
    // one, and a stream no one listens to for errors is only closed (an
    // unheard 'error' would end the process).
    callback(this.listenerCount('error') > 0 ? err : null);
  }

  /** Whether to read on after a read of `bytes` (false pauses the connection until readAgain). */
  private readOn(bytes: number): boolean {
    if (this.over) return false;
    if (this.pace.rest(bytes, performance.now())) this.resting = setTimeout(this.wake, READ_REST_MS);
    return !this.held && this.resting === undefined;
  }

  private readonly wake = (): void => {
    this.resting = undefined;
    this.readAgain();
  };

  private readAgain(): void {
    if (!this.over && !this.held && this.resting === undefined) this.socket.resume();
  }

  private nextReadBuffer(): Buffer {
    if (this.lent) {
      this.lent = false;
      this.readBuffer = Buffer.allocUnsafeSlow(READ_SIZE);
    }
    return this.readBuffer;
  }

  private stop(): void {
    this.over = true;
    clearTimeout(this.resting);
    this.resting = undefined;
  }

  private finish(): void {
    this.stop();
    this.push(null);
  }

  private body(buf: Buffer, from: number, to: number): void {
    if (this.out === undefined) {
      this.out = buf;
      this.outFrom = from;
      this.outTo = to;
      return;
    }
    // A later range of the same read (one buffer): moved down to follow the
    // ones before, over the framing between them, which the reader has read.
    buf.copyWithin(this.outTo, from, to);
    this.outTo += to - from;
  }

  private flush(): void {
    const out = this.out;
    if (out === undefined) return;
    this.out = undefined;
    if (!this.push(out.subarray(this.outFrom, this.outTo))) this.held = true;
    // No one took it at once: it stays in the stream, and its bytes with it.
    if (this.readableLength > 0 && out.buffer === this.readBuffer.buffer) this.lent = true;
  }
}

/**
 * `GET path` on a connection of its own; resolves once the answer's head is
 * read (whatever its status), rejects if the connection fails first or
 * `signal` aborts first. The connection is never used again.
 */
export function openAnswerStream(connect: Connect, host: string, path: string, signal?: AbortSignal): Promise<AnswerStream> {
  return new Promise<AnswerStream>((resolve, reject) => {
    const answer = new AnswerStream(connect, read);
    const socket = answer.socket;
    /** Until the head is read 'asked'; then the answer is the caller's, or the call failed. */
    let state: 'asked' | 'answered' | 'failed' = 'asked';
    const fail = (err: Error): void => {
      if (state === 'answered') answer.destroy(err);
      else if (state === 'asked') {
        state = 'failed';
        signal?.removeEventListener('abort', aborted);
        socket.destroy();
        reject(err);
      }
    };
    function aborted(): void {
      const err = new Error('The operation was aborted', { cause: signal?.reason });
      err.name = 'AbortError';
      fail(err);
    }
    function read(chunk: Buffer): void {
      let whole: boolean;
      try {
        whole = answer.decode(chunk);
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (state === 'asked' && answer.headRead) {
        state = 'answered';
        signal?.removeEventListener('abort', aborted);
        resolve(answer);
      }
      // Whole: the connection is not used again.
      if (whole) socket.destroy();
    }
    const ended = (): void => {
      if (state === 'answered') answer.connectionEnded();
      else fail(new Error(`the daemon closed the connection before answering GET ${path}`));
    };
    socket.on('end', ended);
    // A close without an end (a reset) is read as one.
    socket.on('close', ended);
    socket.on('error', fail);
    if (signal?.aborted === true) aborted();
    else signal?.addEventListener('abort', aborted, { once: true });
    socket.write(getRequest(path, host));
  });
}
