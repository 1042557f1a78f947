// Multiline records: stack traces and other messages printed over several
// lines, joined back into one record. A line that matches the start pattern
// begins a new record; any other line continues the current one. The record
// carries its first line's time and place (so its id is stable), and is
// emitted when the next record starts, when the stream ends, or after
// `flushMs` without a new line (so the last one is not held forever).
//
// Each record also says where the log is done with before and after it, for
// checkpoints: after it, its stream is done up to its last line (or on to
// the line just read), and the other stream only up to the first line of its
// own open record, which a restart must read again whole.

import { positionAt, type Place } from './docker/log-position.js';
import type { LogPosition, LogStream } from '../core/record.js';

/** Start patterns for common runtimes; any other value is a regular expression. */
export const MULTILINE_PRESETS: Readonly<Record<string, string>> = {
  // "Exception in thread…", then "\tat …", "Caused by: …", "\t... 3 more".
  java: '^(?!\\s|Caused by:|Suppressed:)',
  // "Traceback (most recent call last):", indented frames, then "ValueError: …".
  python: '^(?!\\s|[\\w.]+(?:Error|Exception|Warning|Exit|Interrupt)\\b|During handling of|The above exception)',
  // "Error: …" then "    at …".
  node: '^\\S',
};

/** The start pattern for a preset name or a regular expression; throws on a bad one. */
export function startPattern(value: string): RegExp {
  return new RegExp(MULTILINE_PRESETS[value] ?? value);
}

export interface JoinedLine {
  readonly stream: LogStream;
  readonly time: string;
  readonly seq: number;
  readonly message: string;
  readonly truncated: boolean;
  /** Where the log was done with before this record, and once it is (see LogRecord). */
  readonly from: LogPosition;
  readonly through: LogPosition;
}

interface Pending {
  readonly time: string;
  readonly seq: number;
  message: string;
  truncated: boolean;
  lastAt: number;
}

export class MultilineJoiner {
  private readonly pending: { stdout: Pending | undefined; stderr: Pending | undefined } = {
    stdout: undefined,
    stderr: undefined,
  };
  private timer: NodeJS.Timeout | undefined;
  /** The last line pushed: Docker's time, and its place at that time. */
  private lastTime = '';
  private lastSeq = 0;

  constructor(
    private readonly start: RegExp,
    private readonly flushMs: number,
    private readonly maxBytes: number,
    private readonly emit: (line: JoinedLine) => void,
  ) {}

  push(stream: LogStream, time: string, seq: number, message: string, truncated: boolean): void {
    const p = this.pending[stream];
    const now = Date.now();
    this.lastTime = time;
    this.lastSeq = seq;
    if (p !== undefined && !this.start.test(message)) {
      if (p.message.length + 1 + message.length > this.maxBytes) {
        p.truncated = true;
        p.message = (p.message + '\n' + message).slice(0, this.maxBytes);
      } else {
        p.message += '\n' + message;
      }
      p.truncated ||= truncated;
      p.lastAt = now;
      return;
    }
    this.pending[stream] = { time, seq, message, truncated, lastAt: now };
    if (p !== undefined) this.release(stream, p);
    this.arm(this.flushMs);
  }

  /** Emits what is pending: the stream ended. */
  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (p === undefined) continue;
      this.pending[stream] = undefined;
      this.release(stream, p);
    }
  }

  /** Forgets what is pending (sidekick is stopping: it is read again on restart). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.stdout = undefined;
    this.pending.stderr = undefined;
  }

  /** Emits `p`, no longer pending: what follows it in its stream is (a new record, or nothing yet). */
  private release(stream: LogStream, p: Pending): void {
    const before: Place = { time: p.time, count: p.seq - 1 };
    const after = this.doneIn(stream);
    const other = this.doneIn(stream === 'stdout' ? 'stderr' : 'stdout');
    const [from, through] = stream === 'stdout' ? [positionAt(before, other), positionAt(after, other)] : [positionAt(other, before), positionAt(other, after)];
    this.emit({ stream, time: p.time, seq: p.seq, message: p.message, truncated: p.truncated, from, through });
  }

  /** Up to where a stream's lines are emitted: just before its open record, or up to the last line read. */
  private doneIn(stream: LogStream): Place {
    const p = this.pending[stream];
    return p === undefined ? { time: this.lastTime, count: this.lastSeq } : { time: p.time, count: p.seq - 1 };
  }

  /** One timer for both streams, re-armed for whatever is due next. */
  private arm(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      let next = Infinity;
      for (const stream of ['stdout', 'stderr'] as const) {
        const p = this.pending[stream];
        if (p === undefined) continue;
        const due = p.lastAt + this.flushMs - now;
        if (due <= 0) {
          this.pending[stream] = undefined;
          this.release(stream, p);
        } else {
          next = Math.min(next, due);
        }
      }
      if (next !== Infinity) this.arm(next);
    }, ms);
  }
}
