// A buffer a sink keeps from batch to batch and writes a batch into: grown,
// what is written kept, when a batch needs more room.

const EMPTY = Buffer.alloc(0);

export class KeptBuffer {
  private buf: Buffer | undefined;

  constructor(private readonly initialBytes: number) {}

  /** The buffer as room() last gave it (empty before the first call). */
  get bytes(): Buffer {
    return this.buf ?? EMPTY;
  }

  /** The buffer, with at least `bytes` of room after `at`: a bigger one, its first `at` bytes copied, when it lacks them. */
  room(at: number, bytes: number): Buffer {
    let buf = this.buf;
    if (buf === undefined) {
      buf = Buffer.allocUnsafe(Math.max(this.initialBytes, at + bytes));
    } else if (buf.length - at < bytes) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + bytes));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    this.buf = buf;
    return buf;
  }
}
