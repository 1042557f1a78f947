// A streamed answer (a log follow, the event stream), read from a connection
// of its own for as long as it lasts. dockerd flushes each frame of a follow
// as an HTTP chunk of its own: through node:http, each became an answer chunk, a Buffer
// and a 'data' event, about 1.3 us of CPU a line in a flood. Here a read of the
// connection (up to 64 KiB) is one 'data' event of its body's bytes, copied
// together when it holds more than one chunk (bench/RESULTS.md, issue 19).

import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { AnswerReader, getRequest } from './answer.js';

/** The answer's body; `status` as the head said it. */
export class AnswerStream extends Readable {
  private readonly reader = new AnswerReader((buf, from, to) => this.body(buf, from, to));
  /** The first range of body bytes of the read being decoded, kept without a copy until a second one comes. */
  private first: Buffer | undefined;
  private firstFrom = 0;
  private firstTo = 0;
  /** The read's body bytes, once it has more than one range. */
  private joined: Buffer | undefined;
  private joinedFill = 0;
  /** The answer's end was read (or the stream destroyed): nothing more is pushed. */
  private over = false;

  constructor(private readonly socket: Socket) {
    super();
  }

  get status(): number {
    return this.reader.status;
  }

  get headRead(): boolean {
    return this.reader.headRead;
  }

  /** A read of the connection: its body's bytes handed on as one chunk. Whether the answer is whole. */
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
    this.socket.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.over = true;
    this.socket.destroy();
    // As node:http's answers do: an error is told to those who listen for
    // one, and a stream no one listens to for errors is only closed (an
    // unheard 'error' would end the process).
    callback(this.listenerCount('error') > 0 ? err : null);
  }

  private finish(): void {
    this.over = true;
    this.push(null);
  }

  private body(buf: Buffer, from: number, to: number): void {
    if (this.first === undefined) {
      this.first = buf;
      this.firstFrom = from;
      this.firstTo = to;
      return;
    }
    if (this.joined === undefined) {
      // Ranges of one read are ranges of one buffer: together no bigger than it.
      this.joined = Buffer.allocUnsafe(buf.length);
      this.joinedFill = this.first.copy(this.joined, 0, this.firstFrom, this.firstTo);
    }
    this.joinedFill += buf.copy(this.joined, this.joinedFill, from, to);
  }

  private flush(): void {
    const first = this.first;
    if (first === undefined) return;
    const out = this.joined === undefined ? first.subarray(this.firstFrom, this.firstTo) : this.joined.subarray(0, this.joinedFill);
    this.first = undefined;
    this.joined = undefined;
    // The daemon holds the rest while the reader is paused.
    if (!this.push(out)) this.socket.pause();
  }
}

/**
 * `GET path` on a connection of its own; resolves once the answer's head is
 * read (whatever its status), rejects if the connection fails first or
 * `signal` aborts first. The connection is never used again.
 */
export function openAnswerStream(connect: () => Socket, host: string, path: string, signal?: AbortSignal): Promise<AnswerStream> {
  return new Promise<AnswerStream>((resolve, reject) => {
    const socket = connect();
    const answer = new AnswerStream(socket);
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
    socket.on('data', (chunk: Buffer) => {
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
    });
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
