// What a container's log lines go through once read, whichever way they were
// read (the logs API or the json-file): lines at or before the resume cursor
// are skipped, the cursor moves on, multiline records are joined, secrets are
// masked, and each line becomes one record.

import { comparePlaces, logPositions } from './log-position.js';
import { nowTime, type ContainerMeta, type LogPosition, type LogRecord, type LogStream, type Mutable, type StreamPosition } from '../../core/record.js';
import { isJsonObject } from '../../transforms/policy.js';
import { redactText } from '../../transforms/redact.js';
import { MultilineJoiner } from '../multiline.js';

/** The newest line delivered (a LogPosition that moves as lines are read). */
export type LogCursor = Mutable<LogPosition>;

/** One container's log stream, as the collector asks for it. */
export interface LogsTarget {
  readonly meta: ContainerMeta;
  readonly tty: boolean;
  /** Where to start when there is no cursor: `seconds.nanoseconds` and/or the last `tail` lines; neither: the first line. */
  readonly since: string | undefined;
  readonly tail?: number;
  /** Joins multiline records: a line matching this starts a new one. */
  readonly multiline?: RegExp;
  /** Messages that are JSON objects are marked to go also as `json`. */
  readonly parseJson?: boolean;
  /** Shared with later runs for the same container, so a restart resumes. */
  cursor: LogCursor | undefined;
}

/**
 * A read of a container's log again, for one sink that fell behind, from
 * where that sink is done with to the end of what is written now.
 */
export interface Rereading {
  /**
   * Whether the container's own read is over. If not, a line or a multiline
   * record still open at the end is left to it (the live read sends it once
   * whole); if it is, the read again sends it as the live read did.
   */
  readonly liveOver: () => boolean;
}

/**
 * Whether a read that ends now leaves what is still open (a line cut short, a
 * multiline record) unsent: sidekick is stopping (it is read again on
 * restart), or a read again ends before the live read has.
 */
export function endsCut(ctx: { readonly signal: AbortSignal; readonly rereading?: Rereading | undefined }): boolean {
  return ctx.signal.aborted || (ctx.rereading !== undefined && !ctx.rereading.liveOver());
}

export interface IntakeContext {
  readonly host: string;
  readonly emit: (record: LogRecord) => void;
  readonly multilineFlushMs: number;
  /** The longest multiline record kept whole, in bytes. */
  readonly maxLine: number;
  /** Masked in every line; undefined: nothing. */
  readonly redact?: RegExp | undefined;
}

/**
 * How many of the last lines read are kept to number a line stamped out of
 * order: the engine writes such a line a few lines after its stamp's place.
 */
const RECENT = 256;

/** Turns one read of a container's log (from its cursor on) into records. */
export class LogIntake {
  /** Lines up to this time (and `repeats` lines at it) were read before: skipped. */
  private resumeAt: string | undefined;
  private repeats: number;
  /** Lines of one stream up to here were delivered by an earlier run (multiline): skipped, still counted. */
  private ahead: StreamPosition | undefined;
  private readonly joiner: MultilineJoiner | undefined;
  private readonly parseJson: boolean;
  /** The times of the last lines read (a ring), to number a line read after lines stamped later. */
  private readonly recent: string[] = new Array<string>(RECENT).fill('');
  private next = 0;
  /** Lines read again after skipThrough were read before: they are in `recent` already. */
  private rereading = false;

  /** `from`: lines up to it are skipped (usually the target's cursor; undefined: none). */
  constructor(
    private readonly target: LogsTarget,
    private readonly ctx: IntakeContext,
    from: LogCursor | undefined,
  ) {
    this.resumeAt = from?.time;
    this.repeats = from?.count ?? 0;
    this.ahead = from?.ahead;
    this.parseJson = target.parseJson === true;
    this.joiner =
      target.multiline === undefined
        ? undefined
        : new MultilineJoiner(target.multiline, ctx.multilineFlushMs, ctx.maxLine, (j) =>
            this.emit(j.stream, j.time, j.seq, j.message, j.truncated, j.from, j.through),
          );
  }

  /**
   * Lines up to `cursor` are skipped from now on, while files that may hold
   * lines already read are read again; undefined: none are any more.
   */
  skipThrough(cursor: LogCursor | undefined): void {
    this.resumeAt = cursor?.time;
    this.repeats = cursor?.count ?? 0;
    this.rereading = cursor !== undefined;
  }

  /** One line as read; `time` is Docker's (RFC 3339, 9 digits), or '' when it had none; `plain`: see LogLine. */
  line(stream: LogStream, time: string, message: string, truncated: boolean, plain = false): void {
    let seq = 1;
    if (time === '') {
      time = nowTime();
    } else {
      const resumeAt = this.resumeAt;
      if (resumeAt !== undefined && time <= resumeAt) {
        if (time < resumeAt || this.repeats > 0) {
          if (time === resumeAt) this.repeats--;
          if (!this.rereading) this.remember(time);
          return;
        }
      }
      this.rereading = false;
      const target = this.target;
      const cursor = target.cursor;
      if (cursor === undefined || time > cursor.time) target.cursor = this.ahead === undefined ? { time, count: 1 } : { time, count: 1, ahead: this.ahead };
      else if (time === cursor.time) seq = ++cursor.count;
      else seq = this.placeOfLate(time);
      this.remember(time);
      if (this.ahead !== undefined && this.delivered(stream, time, seq)) return;
    }
    if (this.joiner === undefined) this.emit(stream, time, seq, message, truncated, undefined, undefined, plain);
    else this.joiner.push(stream, time, seq, message, truncated);
  }

  private remember(time: string): void {
    this.recent[this.next] = time;
    this.next = (this.next + 1) % RECENT;
  }

  /**
   * The place at its time of a line stamped before the newest line read: the
   * engine stamps each stream's lines as it reads them and may write them out
   * of that order, so a line of one stream can come after lines of the other
   * stamped later, and have the same stamp as one of them. It comes after
   * those read before it with its stamp, as in every later read of the log.
   */
  private placeOfLate(time: string): number {
    let place = 1;
    for (const t of this.recent) if (t === time) place++;
    return place;
  }

  /**
   * Whether an earlier run delivered this line already: a line of the stream
   * ahead, up to where it was done. The first line past that ends skipping.
   */
  private delivered(stream: LogStream, time: string, seq: number): boolean {
    const ahead = this.ahead!;
    if (comparePlaces({ time, count: seq }, ahead) <= 0) return stream === ahead.stream;
    this.ahead = undefined;
    this.target.cursor!.ahead = undefined;
    return false;
  }

  /**
   * The read is over. A multiline record waiting for more is sent now, unless
   * sidekick is stopping (then it is read again on restart, from the
   * checkpoint before it).
   */
  end(stopping: boolean): void {
    if (stopping) this.joiner?.discard();
    else this.joiner?.end();
  }

  private emit(
    stream: LogStream,
    time: string,
    seq: number,
    line: string,
    truncated: boolean,
    from: LogPosition | undefined,
    through: LogPosition | undefined,
    plain = false,
  ): void {
    const message = redactText(line, this.ctx.redact);
    const r: Mutable<LogRecord> = {
      type: 'log',
      time,
      host: this.ctx.host,
      container: this.target.meta,
      stream,
      message,
      seq,
      // A mask put in may need escaping.
      plain: plain && message === line,
      position: logPositions,
    };
    if (truncated) r.truncated = true;
    if (this.parseJson && isJsonObject(message)) r.json = true;
    if (from !== undefined) {
      r.from = from;
      r.through = through;
    }
    this.ctx.emit(r);
  }
}
