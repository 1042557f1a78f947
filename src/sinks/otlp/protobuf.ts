// A protocol buffers writer for the few wire types OTLP needs, by hand: the
// encoders run on every record, and a generic library's message objects
// would be built and dropped a record at a time. One growing Buffer; a
// nested message's length is written when it ends (one byte kept for it,
// the bytes moved only when it is 128 or longer).

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

/** A fixed64 of nanoseconds since the epoch, as its two 32-bit halves. */
export interface Nanos {
  readonly lo: number;
  readonly hi: number;
}

export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /** A copy of what was written, and the writer emptied for the next message. */
  finish(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private varint(n: number): void {
    this.ensure(10);
    const b = this.buf;
    // Above 2^31 the bit operators no longer apply: divide.
    while (n > 0x7fffffff) {
      b[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    while (n > 0x7f) {
      b[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[this.pos++] = n;
  }

  /** Field numbers below 2^28, as every OTLP field's is (the shift is of 32 bits). */
  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** An unsigned or non-negative integer (uint32, uint64, int64, enum) up to 2^53. */
  uint(field: number, n: number): void {
    this.tag(field, VARINT);
    this.varint(n);
  }

  bool(field: number, b: boolean): void {
    this.tag(field, VARINT);
    this.varint(b ? 1 : 0);
  }

  double(field: number, v: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  fixed32(field: number, v: number): void {
    this.tag(field, FIXED32);
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  /** A fixed64 (or sfixed64, non-negative) from its halves. */
  fixed64(field: number, v: Nanos): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buf.writeUInt32LE(v.lo >>> 0, this.pos);
    this.buf.writeUInt32LE(v.hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  string(field: number, s: string): void {
    this.tag(field, LENGTH);
    // A string of up to 42 UTF-16 units is at most 126 bytes: its length takes one byte.
    if (s.length <= 42) {
      this.ensure(1 + s.length * 3);
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, LENGTH);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Starts a nested message; pass what it returns to `end` once its fields are written. */
  begin(field: number): number {
    this.tag(field, LENGTH);
    this.ensure(1);
    this.pos += 1;
    return this.pos;
  }

  end(start: number): void {
    const n = this.pos - start;
    if (n < 128) {
      this.buf[start - 1] = n;
      return;
    }
    let size = 1;
    for (let v = n; v >= 128; v = Math.floor(v / 128)) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(start - 1 + size, start, this.pos);
    this.pos = start - 1;
    this.varint(n);
    this.pos += n;
  }
}

/** Nanoseconds since the epoch from whole seconds and the nanoseconds after them, exactly. */
export function nanos(seconds: number, fraction: number): Nanos {
  // seconds * 1e9 passes 2^53: split seconds in 16-bit halves so every product stays exact.
  const high = Math.floor(seconds / 65536) * 1e9; // < 2^46
  const low = (seconds % 65536) * 1e9 + fraction; // < 2^47
  const spill = (high % 65536) * 65536 + low; // < 2^48
  return { lo: spill % 4294967296, hi: Math.floor(high / 65536) + Math.floor(spill / 4294967296) };
}

const ZERO: Nanos = { lo: 0, hi: 0 };
const DIGITS = /^[0-9]+$/;

/** The second last read by timeNanos, and its seconds since the epoch. */
let lastSecond = '';
let lastSeconds = 0;

/**
 * An RFC 3339 UTC time with up to nine digits of fraction as nanoseconds
 * since the epoch; zero (unknown, as OTLP has it) for a time it cannot read.
 */
export function timeNanos(time: string): Nanos {
  const second = time.slice(0, 19);
  if (second !== lastSecond) {
    const ms = Date.parse(second + 'Z');
    if (Number.isNaN(ms) || ms < 0) return ZERO;
    lastSecond = second;
    lastSeconds = ms / 1000;
  }
  let fraction = 0;
  if (time.length > 21 && time.charCodeAt(19) === 46) {
    const digits = time.slice(20, time.length - 1);
    // Number() would also take `1e3`, `0x1` or ` 1`: digits only, else the time is unreadable.
    if (!DIGITS.test(digits)) return ZERO;
    fraction = Number(digits.length >= 9 ? digits.slice(0, 9) : digits.padEnd(9, '0'));
  }
  return nanos(lastSeconds, fraction);
}

/** Nanoseconds since the epoch as a decimal string, the form OTLP/JSON writes a fixed64 in. */
export function nanosText(n: Nanos): string {
  return (BigInt(n.hi) * 4294967296n + BigInt(n.lo)).toString();
}
