// Multiline records: stack traces and other messages printed over several
// lines, joined back into one record. A line that matches the start pattern
// begins a new record; any other line continues the current one. The record
// carries its first line's time and place (so its id is stable), and is
// emitted when the next record starts, when the stream ends, or after
// `flushMs` without a new line (so the last one is not held forever).

import type { LogStream } from '../pipeline/record.js';

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

  constructor(
    private readonly start: RegExp,
    private readonly flushMs: number,
    private readonly maxBytes: number,
    private readonly emit: (line: JoinedLine) => void,
  ) {}

  push(stream: LogStream, time: string, seq: number, message: string, truncated: boolean): void {
    const p = this.pending[stream];
    const now = Date.now();
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
    if (p !== undefined) this.release(stream, p);
    this.pending[stream] = { time, seq, message, truncated, lastAt: now };
    this.arm(this.flushMs);
  }

  /** Emits what is pending: the stream ended. */
  end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      const p = this.pending[stream];
      if (p !== undefined) this.release(stream, p);
    }
  }

  /** Forgets what is pending (sidekick is stopping: it is read again on restart). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.stdout = undefined;
    this.pending.stderr = undefined;
  }

  private release(stream: LogStream, p: Pending): void {
    this.pending[stream] = undefined;
    this.emit({ stream, time: p.time, seq: p.seq, message: p.message, truncated: p.truncated });
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
        if (due <= 0) this.release(stream, p);
        else next = Math.min(next, due);
      }
      if (next !== Infinity) this.arm(next);
    }, ms);
  }
}
