// Docker's multiplexed stream (non-TTY attach and logs): frames of an 8-byte
// header [stream, 0, 0, 0, size as uint32 big-endian] and `size` bytes of
// payload. HTTP chunking cuts frames anywhere, so a header or a payload may
// arrive in pieces. On the fast path a whole frame inside one chunk is handed
// on as a range of that chunk: no copy, and no view made (a Buffer object a
// line, which a flood makes hundreds of thousands of a second).

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
/** Errors the daemon itself writes into the stream (API >= 1.42). */
export const SYSTEMERR = 3;

const HEADER = 8;
/**
 * The largest frame kept. Docker's log frames hold one message of at most
 * 16 KiB; a bigger size is garbage, and its bytes are skipped, not buffered.
 */
export const MAX_FRAME = 4 * 1024 * 1024;

/** The frame's payload is `bytes[from, to)`, valid only during the call. */
export type FrameHandler = (stream: number, bytes: Buffer, from: number, to: number) => void;

const EMPTY = Buffer.alloc(0);

export class FrameDemuxer {
  private readonly header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private payload: Buffer | undefined;
  private payloadFill = 0;
  private stream = 0;
  /** Bytes of an oversized frame still to skip. */
  private skip = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    /** Told of a frame too big to be one (skipped). */
    private readonly onOversized: (size: number) => void = () => undefined,
  ) {}

  /** True while a frame has started but not finished. */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.payload !== undefined;
  }

  push(chunk: Buffer): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, end - at);
        this.skip -= take;
        at += take;
        continue;
      }
      if (this.payload !== undefined) {
        at = this.fillPayload(chunk, at);
        continue;
      }
      if (this.headerFill === 0 && end - at >= HEADER) {
        const stream = chunk[at]!;
        const size = chunk.readUInt32BE(at + 4);
        const start = at + HEADER;
        if (size > MAX_FRAME) {
          this.oversized(size);
          at = start;
        } else if (end - start >= size) {
          this.onFrame(stream, chunk, start, start + size);
          at = start + size;
        } else {
          this.begin(stream, size);
          at = start;
        }
        continue;
      }
      const take = Math.min(HEADER - this.headerFill, end - at);
      chunk.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill === HEADER) {
        this.headerFill = 0;
        const size = this.header.readUInt32BE(4);
        if (size === 0) this.onFrame(this.header[0]!, EMPTY, 0, 0);
        else if (size > MAX_FRAME) this.oversized(size);
        else this.begin(this.header[0]!, size);
      }
    }
  }

  private oversized(size: number): void {
    this.skip = size;
    this.onOversized(size);
  }

  private begin(stream: number, size: number): void {
    this.stream = stream;
    this.payload = Buffer.allocUnsafe(size);
    this.payloadFill = 0;
  }

  private fillPayload(chunk: Buffer, at: number): number {
    const payload = this.payload!;
    const take = Math.min(payload.length - this.payloadFill, chunk.length - at);
    chunk.copy(payload, this.payloadFill, at, at + take);
    this.payloadFill += take;
    if (this.payloadFill === payload.length) {
      this.payload = undefined;
      this.onFrame(this.stream, payload, 0, payload.length);
    }
    return at + take;
  }
}
