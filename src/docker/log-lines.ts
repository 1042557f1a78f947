// Turns the body of `GET /containers/{id}/logs?timestamps=1` into lines.
//
// Non-TTY containers: a multiplexed stream (see frames.ts) in which every
// frame is one log message, "<RFC3339Nano> <text>\n". A message Docker split
// because it was longer than 16 KiB arrives as several frames whose text does
// not end in "\n"; they are joined back into one line, timed by its first part.
// TTY containers: a raw stream of "<RFC3339Nano> <text>\r\n" lines.
// Podman's API writes whole seconds ("…:05Z", podman#27691): such times are
// padded to 9 digits, as records carry them and cursors compare them.

import { FrameDemuxer, STDERR, STDOUT, SYSTEMERR } from './frames.js';
import { BUFFER_TEXT, PartialLine, PendingLines } from './partial-line.js';
import { engineTime } from './time.js';
import type { LogStream } from '../core/record.js';

export const DEFAULT_MAX_LINE = 1024 * 1024;

export interface LogLine {
  readonly stream: LogStream;
  /** Docker's timestamp of the line (of its first part, if it was split). */
  readonly time: string;
  readonly message: string;
  /** Set when the line was longer than the maximum and was cut. */
  readonly truncated: boolean;
  /**
   * The message is ASCII with nothing JSON escapes in it, as the json-file
   * reader knows of most lines for nothing: a record's JSON takes it as it is.
   */
  readonly plain?: boolean;
}

export interface LogLineHandlers {
  line(line: LogLine): void;
  /** The daemon reported an error inside the stream, or a frame made no sense. */
  fault(kind: 'systemerr' | 'malformed', detail: string): void;
}

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
/** "2006-01-02T15:04:05.000000000Z07:00" is the longest prefix Docker writes. */
const MAX_TIME = 40;

/** Where the space after the time is in `buf[from, to)`, or -1. */
function timeEnd(buf: Buffer, from: number, to: number): number {
  const limit = Math.min(to, from + MAX_TIME);
  for (let i = from; i < limit; i++) if (buf[i] === SPACE) return i;
  return -1;
}

/**
 * The time from `from` to the space at `sp` ('' if none), as engineTime
 * makes it: Docker's "2006-01-02T15:04:05.000000000Z" as is; any other form
 * (Podman's whole seconds, an offset) padded or converted; '' if it is not a time.
 */
function lineTime(buf: Buffer, from: number, sp: number): string {
  return sp < 0 ? '' : engineTime(buf.toString('latin1', from, sp));
}

/**
 * Whether `buf[from, to)` is ASCII with nothing JSON escapes (a quote, a
 * backslash, a control character): a LogLine's `plain`. Scanned here, a line's
 * JSON takes its message as it is; tested on the message as a string instead,
 * the test was 6% of sidekick's CPU in a flood through the logs API.
 */
function plainText(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b < 0x20 || b > 0x7f || b === 0x22 || b === 0x5c) return false;
  }
  return true;
}

/** Parses one container's log stream; create one per HTTP response. */
export class LogLineParser {
  private readonly demuxer: FrameDemuxer | undefined;
  private readonly pending = new PendingLines(BUFFER_TEXT);
  private rawRest: PartialLine<Buffer> | undefined;

  constructor(
    tty: boolean,
    private readonly handlers: LogLineHandlers,
    private readonly maxLine = DEFAULT_MAX_LINE,
  ) {
    this.demuxer = tty
      ? undefined
      : new FrameDemuxer(
          (stream, bytes, from, to) => this.frame(stream, bytes, from, to),
          (size) => this.handlers.fault('malformed', `a frame of ${size} bytes (skipped)`),
        );
  }

  push(chunk: Buffer): void {
    if (this.demuxer !== undefined) this.demuxer.push(chunk);
    else this.raw(chunk);
  }

  /** The stream ended: emit lines still waiting for their end. */
  end(): void {
    for (const [stream, line] of this.pending.drain()) this.emit(stream, line);
    const rest = this.rawRest;
    if (rest !== undefined) {
      this.rawRest = undefined;
      this.rawLine(rest.joined(), rest.truncated);
    }
  }

  private frame(kind: number, bytes: Buffer, from: number, end: number): void {
    if (kind !== STDOUT && kind !== STDERR) {
      if (kind === SYSTEMERR) this.handlers.fault('systemerr', bytes.toString('utf8', from, end).trim());
      else this.handlers.fault('malformed', `frame of unknown stream type ${kind}`);
      return;
    }
    const stream: LogStream = kind === STDOUT ? 'stdout' : 'stderr';
    const sp = timeEnd(bytes, from, end);
    const time = lineTime(bytes, from, sp);
    // The text starts after the space, or at the frame's start when it has no time.
    const text = sp < 0 ? from : sp + 1;
    const complete = end > text && bytes[end - 1] === NL;
    if (complete && this.pending.get(stream) === undefined) {
      // The common case, a whole line in one frame: decoded straight from the frame, no views made.
      const last = end >= text + 2 && bytes[end - 2] === CR ? end - 2 : end - 1;
      const truncated = last - text > this.maxLine;
      const stop = truncated ? text + this.maxLine : last;
      const plain = plainText(bytes, text, stop);
      this.handlers.line({ stream, time, message: bytes.toString(plain ? 'latin1' : 'utf8', text, stop), truncated, plain });
      return;
    }
    const rest = bytes.subarray(text, end);
    const line = this.pending.add(stream, time, complete ? BUFFER_TEXT.trimEol(rest) : rest, complete, this.maxLine);
    if (line !== undefined) this.emit(stream, line);
  }

  private emit(stream: LogStream, line: PartialLine<Buffer>): void {
    this.handlers.line({ stream, time: line.time, message: line.text().toString('utf8'), truncated: line.truncated });
  }

  private raw(chunk: Buffer): void {
    let at = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, at);
      if (nl < 0) break;
      const piece = chunk.subarray(at, nl);
      const rest = this.rawRest;
      if (rest === undefined) {
        this.rawLine(piece, false);
      } else {
        this.rawRest = undefined;
        rest.add(piece, this.maxLine + MAX_TIME);
        this.rawLine(rest.joined(), rest.truncated);
      }
      at = nl + 1;
    }
    if (at < chunk.length) {
      this.rawRest ??= new PartialLine(BUFFER_TEXT, '');
      this.rawRest.add(chunk.subarray(at), this.maxLine + MAX_TIME);
    }
  }

  private rawLine(line: Buffer, cut: boolean): void {
    const sp = timeEnd(line, 0, line.length);
    const time = lineTime(line, 0, sp);
    const body = BUFFER_TEXT.trimEol(line.subarray(sp + 1));
    const truncated = cut || body.length > this.maxLine;
    this.handlers.line({
      stream: 'stdout',
      time,
      message: (body.length > this.maxLine ? body.subarray(0, this.maxLine) : body).toString('utf8'),
      truncated,
    });
  }
}
