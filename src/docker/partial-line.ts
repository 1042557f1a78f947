// A line the engine split into parts (it writes at most 16 KiB of a line at
// a time, in the logs API's frames and in the json-file's entries alike),
// joined again per stream up to the longest line kept. The parts are strings
// where the json-file is read and Buffers where the logs API's frames are:
// one joiner for both, told how to cut, keep and join its kind of text.
// Only lines longer than a part come here; whole lines never do.

import type { LogStream } from '../core/record.js';

/** What the joiner needs of a kind of text. */
export interface TextKind<T extends { readonly length: number }> {
  /** The first `n` units of `t`. */
  head(t: T, n: number): T;
  /** A copy that outlives the buffer it came in, where that buffer is reused. */
  keep(t: T): T;
  join(parts: readonly T[]): T;
  /** Without a trailing "\n" or "\r\n". */
  trimEol(t: T): T;
}

export const STRING_TEXT: TextKind<string> = {
  head: (t, n) => t.slice(0, n),
  keep: (t) => t,
  join: (parts) => parts.join(''),
  trimEol(t) {
    let end = t.length;
    if (end > 0 && t.charCodeAt(end - 1) === 0x0a) end--;
    if (end > 0 && t.charCodeAt(end - 1) === 0x0d) end--;
    return end === t.length ? t : t.slice(0, end);
  },
};

export const BUFFER_TEXT: TextKind<Buffer> = {
  head: (t, n) => t.subarray(0, n),
  // The frame's buffer may be reused by the demuxer or the socket.
  keep: (t) => Buffer.from(t),
  join: (parts) => Buffer.concat(parts),
  trimEol(t) {
    let end = t.length;
    if (end > 0 && t[end - 1] === 0x0a) end--;
    if (end > 0 && t[end - 1] === 0x0d) end--;
    return end === t.length ? t : t.subarray(0, end);
  },
};

/** One line's parts so far, with the time of its first part. */
export class PartialLine<T extends { readonly length: number }> {
  private readonly parts: T[] = [];
  private length = 0;
  /** Parts went past the maximum: what is kept is cut. */
  truncated = false;

  constructor(
    private readonly kind: TextKind<T>,
    readonly time: string,
  ) {}

  /** Adds a part; what goes past `max` units is dropped and the line marked truncated. */
  add(text: T, max: number): void {
    const room = max - this.length;
    if (text.length > room) {
      this.truncated = true;
      if (room <= 0) return;
      text = this.kind.head(text, room);
    }
    this.parts.push(this.kind.keep(text));
    this.length += text.length;
  }

  /** The line, joined; without its line end (the "\r" of a "\r\n" may end one part and the "\n" come alone in the next). */
  text(): T {
    return this.kind.trimEol(this.parts.length === 1 ? this.parts[0]! : this.kind.join(this.parts));
  }

  /** The parts joined as they came (a raw TTY line still carries its time). */
  joined(): T {
    return this.parts.length === 1 ? this.parts[0]! : this.kind.join(this.parts);
  }
}

/** The line each stream has begun and not ended yet (stdout and stderr are split apart). */
export class PendingLines<T extends { readonly length: number }> {
  private stdout: PartialLine<T> | undefined;
  private stderr: PartialLine<T> | undefined;

  constructor(private readonly kind: TextKind<T>) {}

  get(stream: LogStream): PartialLine<T> | undefined {
    return stream === 'stdout' ? this.stdout : this.stderr;
  }

  /** Adds a part of `stream`'s line; answers the line when this part ended it. */
  add(stream: LogStream, time: string, text: T, complete: boolean, max: number): PartialLine<T> | undefined {
    const p = this.get(stream) ?? new PartialLine(this.kind, time);
    p.add(text, max);
    this.set(stream, complete ? undefined : p);
    return complete ? p : undefined;
  }

  /** Takes every line begun (the input ended): stdout's first. */
  *drain(): IterableIterator<[LogStream, PartialLine<T>]> {
    const { stdout, stderr } = this;
    this.stdout = this.stderr = undefined;
    if (stdout !== undefined) yield ['stdout', stdout];
    if (stderr !== undefined) yield ['stderr', stderr];
  }

  private set(stream: LogStream, p: PartialLine<T> | undefined): void {
    if (stream === 'stdout') this.stdout = p;
    else this.stderr = p;
  }
}
