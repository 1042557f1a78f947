// log: follows one container's stdout and stderr through the logs API, with
// Docker's timestamps, one record a line. Survives a broken connection by
// resuming from the last line it delivered (`since` = that line's time, then
// skipping the lines already delivered at that very time), and reads a
// stopped container's stream to its end, so a container that lived for
// milliseconds is still collected.

import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { retryForever } from '../backoff.js';
import { errorKind, statusOf, type DockerApi } from '../docker/client.js';
import { LogLineParser, type LogLine } from '../docker/log-lines.js';
import type { Flow } from '../pipeline/flow.js';
import { nowTime, timeToSince, type ContainerMeta, type LogRecord, type LogStream, type Mutable } from '../pipeline/record.js';
import { isJsonObject } from '../pipeline/policy.js';
import { redactText } from '../pipeline/redact.js';
import { MultilineJoiner } from './multiline.js';


/** The newest line delivered: its time, and how many lines carried that time. */
export interface LogCursor {
  time: string;
  count: number;
}

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

export interface LogsContext {
  readonly api: DockerApi;
  readonly host: string;
  readonly log: Logger;
  readonly emit: (record: LogRecord) => void;
  readonly signal: AbortSignal;
  /** Paused while a sink under the `block` policy is full. */
  readonly flow: Flow;
  /** The longest line (or multiline record) kept whole, in bytes. */
  readonly maxLine: number;
  readonly multilineFlushMs: number;
  /** Masked in every line; undefined: nothing. */
  readonly redact?: RegExp | undefined;
  /** Counts a frame that could not be read (skipped). */
  readonly malformed?: () => void;
}

type StreamEnd = { readonly ok: true } | { readonly ok: false; readonly error: Error };

/** Follows the logs until the container has stopped and its stream is read to the end. */
export async function followLogs(target: LogsTarget, ctx: LogsContext): Promise<void> {
  const id = target.meta.id;
  let drainOnce = true;
  while (!ctx.signal.aborted) {
    let stream: IncomingMessage;
    try {
      stream = await retryForever(() => ctx.api.logs(id, startOf(target)), {
        signal: ctx.signal,
        retryable: (err) => !isPermanent(err),
      });
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (statusOf(err) === 501) {
        ctx.log.warn({ container: target.meta.name, id }, 'the log driver of this container cannot be read; no log records');
      } else if (statusOf(err) !== 404) {
        ctx.log.warn({ container: target.meta.name, id, err: (err as Error).message }, 'logs cannot be read');
      }
      return;
    }
    const end = await readStream(stream, target, ctx);
    if (ctx.signal.aborted) return;
    if (!end.ok) {
      ctx.log.debug({ container: target.meta.name, err: end.error.message, kind: errorKind(end.error) }, 'log stream broke');
    }
    // The stream is over: the container stopped, or the connection broke.
    let running: boolean;
    try {
      const info = await retryForever(() => ctx.api.inspect(id), {
        signal: ctx.signal,
        retryable: (err) => statusOf(err) !== 404,
      });
      running = info.State?.Running === true;
    } catch {
      return; // stopping, or the container is gone
    }
    if (running) continue;
    // Stopped. Read once more from the last line: a follow that raced the
    // container's exit (or a broken connection) may have missed its last lines.
    if (!drainOnce) return;
    drainOnce = false;
  }
}

function isPermanent(err: Error): boolean {
  const status = statusOf(err);
  return status === 404 || status === 501 || status === 400;
}

function startOf(target: LogsTarget): { since?: string; tail?: number } {
  if (target.cursor !== undefined) return { since: timeToSince(target.cursor.time) };
  const start: { since?: string; tail?: number } = {};
  if (target.since !== undefined) start.since = target.since;
  if (target.tail !== undefined) start.tail = target.tail;
  return start;
}

function readStream(stream: IncomingMessage, target: LogsTarget, ctx: LogsContext): Promise<StreamEnd> {
  const { meta } = target;
  const host = ctx.host;
  // Lines at the cursor's time that a resumed stream repeats.
  const resumeAt = target.cursor?.time;
  let repeats = target.cursor?.count ?? 0;
  const redact = ctx.redact;
  const parseJson = target.parseJson === true;
  const emit = (stream: LogStream, time: string, seq: number, line: string, truncated: boolean): void => {
    const message = redactText(line, redact);
    const r: Mutable<LogRecord> = { type: 'log', time, host, container: meta, stream, message, seq };
    if (truncated) r.truncated = true;
    if (parseJson && isJsonObject(message)) r.json = true;
    ctx.emit(r);
  };
  const joiner =
    target.multiline === undefined
      ? undefined
      : new MultilineJoiner(target.multiline, ctx.multilineFlushMs, ctx.maxLine, (j) =>
          emit(j.stream, j.time, j.seq, j.message, j.truncated),
        );
  let faults = 0;
  const parser = new LogLineParser(target.tty, {
    line(line: LogLine): void {
      let time = line.time;
      let seq = 1;
      if (time === '') {
        time = nowTime();
      } else {
        if (resumeAt !== undefined && time <= resumeAt) {
          if (time < resumeAt) return;
          if (repeats > 0) {
            repeats--;
            return;
          }
        }
        const cursor = target.cursor;
        if (cursor === undefined || time > cursor.time) target.cursor = { time, count: 1 };
        else if (time === cursor.time) seq = ++cursor.count;
      }
      if (joiner === undefined) emit(line.stream, time, seq, line.message, line.truncated);
      else joiner.push(line.stream, time, seq, line.message, line.truncated);
    },
    fault(kind, detail): void {
      if (kind === 'malformed') ctx.malformed?.();
      // Once per stream: a stream full of garbage must not flood sidekick's own log.
      if (faults++ === 0) ctx.log.warn({ container: meta.name, kind, detail }, 'log stream: the daemon reported a fault (said once per stream)');
    },
  }, ctx.maxLine);
  return new Promise((resolve) => {
    let done = false;
    const abort = (): void => {
      stream.destroy();
    };
    ctx.signal.addEventListener('abort', abort, { once: true });
    const finish = (end: StreamEnd): void => {
      if (done) return;
      done = true;
      ctx.signal.removeEventListener('abort', abort);
      // A line cut off by a stop or a broken connection is read again on resume.
      if (end.ok) parser.end();
      // A multiline record waiting for more: sent now, unless sidekick is stopping
      // (then it is read again on restart, from the checkpoint before it).
      if (ctx.signal.aborted) joiner?.discard();
      else joiner?.end();
      resolve(end);
    };
    const flow = ctx.flow;
    stream.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      if (flow.paused && !stream.isPaused()) {
        stream.pause();
        void flow.resumed().then(() => stream.resume());
      }
    });
    stream.on('end', () => finish({ ok: true }));
    stream.on('error', (error) => finish({ ok: false, error }));
    stream.on('close', () => finish({ ok: false, error: new Error('log stream closed') }));
  });
}
