// The request sidekick sends the daemon, and the reader of one HTTP/1.1
// answer from a connection's bytes, however they are cut: the head, then the
// body by Content-Length, chunked, or until the connection closes. The body
// is kept whole (a stats sample, an inspect: ./http-get.ts) or handed on as
// it comes (a log follow, the events: ./http-stream.ts). Indexes into the
// bytes, no view made a chunk: a log follow is one chunk a line (dockerd
// flushes each frame), hundreds of thousands a second in a flood.

/** A head bigger than this is not an HTTP answer worth reading. */
const MAX_HEAD = 64 * 1024;
/** A chunk size line longer than this (extensions included) is not one. */
const MAX_SIZE_LINE = 1024;

const CRLF2 = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/** The request for `GET path`, as every call to the daemon sends it (a stats sample, a follow, the events). */
export function getRequest(path: string, host: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: sidekick\r\n\r\n`;
}

/** What a reader is reading: the head, a body of known length, chunks (size line, data, the CRLF after it, trailers), or to the end. */
type ReadState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

/** The body's bytes `buf[from, to)`, valid only during the call. */
export type BodyHandler = (buf: Buffer, from: number, to: number) => void;

/**
 * `push` answers true once the answer is whole; `end` says the connection
 * ended (an answer read to the close is then whole). Without `onBody` the
 * body is kept for `body()`.
 */
export class AnswerReader {
  private state: ReadState = 'head';
  private pending: Buffer = EMPTY;
  private readonly kept: Buffer[] = [];
  private left = 0;
  /** Where the chunk size line chunkSize read ends (after its LF). */
  private sizeLineEnd = 0;
  status = 0;
  /** Whether the connection may carry another request once the answer is read. */
  keepAlive = true;
  /** Bytes read past the answer's end: a connection that sends them is not used again. */
  extra = false;
  /** Whether any byte of the answer came. */
  started = false;

  constructor(private readonly onBody: BodyHandler = (buf, from, to) => this.kept.push(buf.subarray(from, to))) {}

  /** Whether the head is read (status and framing known). */
  get headRead(): boolean {
    return this.state !== 'head';
  }

  /**
   * A read of the connection. The reader keeps none of its bytes past the
   * call (a streamed answer's read buffer is read into again): only `onBody`
   * may, as the default one does for body().
   */
  push(chunk: Buffer): boolean {
    this.started = true;
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = EMPTY;
    const end = buf.length;
    let at = 0;
    for (;;) {
      switch (this.state) {
        case 'head': {
          const headEnd = buf.indexOf(CRLF2, at);
          if (headEnd < 0) {
            if (end - at > MAX_HEAD) throw new Error(`the daemon's answer has a head longer than ${MAX_HEAD} bytes`);
            this.pending = Buffer.from(buf.subarray(at));
            return false;
          }
          this.head(buf.toString('latin1', at, headEnd));
          at = headEnd + 4;
          break;
        }
        case 'length':
        case 'chunk-data': {
          const take = Math.min(this.left, end - at);
          if (take > 0) this.onBody(buf, at, at + take);
          at += take;
          this.left -= take;
          if (this.left > 0) return false;
          this.state = this.state === 'length' ? 'done' : 'chunk-end';
          break;
        }
        case 'chunk-size': {
          const size = this.chunkSize(buf, at, end);
          if (size < 0) {
            this.pending = Buffer.from(buf.subarray(at));
            return false;
          }
          at = this.sizeLineEnd;
          this.left = size;
          this.state = size === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-end': {
          if (end - at < 2) {
            this.pending = Buffer.from(buf.subarray(at));
            return false;
          }
          if (buf[at] !== CR || buf[at + 1] !== LF) throw new Error("the daemon's answer has a chunk that does not end with CRLF");
          at += 2;
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailer lines, then an empty line.
          const eol = buf.indexOf('\r\n', at);
          if (eol < 0) {
            if (end - at > MAX_HEAD) throw new Error("the daemon's answer has trailers that do not end");
            this.pending = Buffer.from(buf.subarray(at));
            return false;
          }
          if (eol === at) this.state = 'done';
          at = eol + 2;
          break;
        }
        case 'close':
          if (end > at) this.onBody(buf, at, end);
          return false;
        case 'done':
          if (end > at) this.extra = true;
          return true;
      }
    }
  }

  /** The connection ended. Whether the answer is whole: one read to the close is. */
  end(): boolean {
    if (this.state === 'close') this.state = 'done';
    return this.state === 'done';
  }

  /** The whole body kept (once push or end said the answer is whole). */
  body(): Buffer {
    return this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept);
  }

  /**
   * The size on the chunk size line at `at` (hex digits, then extensions
   * `;name=value`, ignored), or -1 if the line has not ended yet. Read from
   * the bytes: no string made a chunk.
   */
  private chunkSize(buf: Buffer, at: number, end: number): number {
    const eol = buf.indexOf(LF, at);
    if (eol < 0 || eol - at > MAX_SIZE_LINE) {
      if (eol < 0 && end - at <= MAX_SIZE_LINE) return -1;
      throw new Error("the daemon's answer has a chunk size line that does not end");
    }
    let size = 0;
    let digits = 0;
    let i = at;
    for (; i < eol; i++) {
      const c = buf[i]!;
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (d < 0) break;
      size = size * 16 + d;
      digits++;
    }
    // After the digits: spaces or tabs, then extensions or the CR.
    while (i < eol && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    const good = digits > 0 && digits <= 8 && buf[eol - 1] === CR && (i === eol - 1 || buf[i] === 0x3b);
    if (!good) {
      const text = buf.toString('latin1', at, eol).replace(/\r$/, '').split(';')[0]!.trim();
      throw new Error(`the daemon's answer has a bad chunk size: ${JSON.stringify(text.slice(0, 20))}`);
    }
    this.sizeLineEnd = eol + 1;
    return size;
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
