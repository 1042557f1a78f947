// log: follows one container's stdout and stderr through the logs API, with
// Docker's timestamps, one record a line. Survives a broken connection by
// resuming from the last line it delivered (`since` = that line's time, then
// skipping the lines already delivered at that very time), and reads a
// stopped container's stream to its end, so a container that lived for
// milliseconds is still collected.

import { once } from '../../observe/events.js';
import type { Readable } from 'node:stream';
import type { ContainerInspectInfo } from 'dockerode';
import type { Logger } from 'pino';
import { retryForever } from '../../core/backoff.js';
import { errorKind, statusOf, type DockerApi } from '../../docker/client.js';
import { LogLineParser, type LogLine } from '../../docker/log-lines.js';
import type { Flow } from '../../core/flow.js';
import { nowTime, timeToSince } from '../../core/record.js';
import { endsCut, LogIntake, type IntakeContext, type LogsTarget, type Rereading } from './log-intake.js';

export interface LogsContext extends IntakeContext {
  readonly api: DockerApi;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** A read again for one sink that fell behind: paused while that sink is full (a live read never is). */
  readonly flow?: Flow;
  /** Set for a read again: one read of what is written now (see Rereading). */
  readonly rereading?: Rereading;
  /** Counts a frame that could not be read (skipped). */
  readonly malformed?: () => void;
}

type StreamEnd = ({ readonly ok: true } | { readonly ok: false; readonly error: Error }) & {
  /** Lines read from it. */
  readonly lines: number;
  /** The daemon said in the stream that it could not read the logs (a `--rm` job's file removed under it). */
  readonly systemerr: boolean;
};

/**
 * Follows the logs until the container has stopped and its stream is read to
 * the end; 'gone' when no line of it was read and it was removed before a
 * read once it had stopped could be trusted. (A job that printed nothing and
 * was removed at once is 'gone' too: nothing tells it from one whose lines
 * were lost, and a loss is not to go untold.)
 */
export async function followLogs(target: LogsTarget, ctx: LogsContext, exited?: Promise<void>): Promise<'read' | 'gone'> {
  const id = target.meta.id;
  let drainOnce = true;
  // Lines read from every stream so far. A follow that ends without any is no
  // proof the job printed nothing: dockerd 20.10's can end at a job's exit
  // without the lines written just before (they are in its json-file, for the
  // read after the stop).
  let lines = 0;
  const outcome = (): 'read' | 'gone' => (lines === 0 ? 'gone' : 'read');
  while (!ctx.signal.aborted) {
    // The read once stopped is not followed: it ends at the end of the log, however long it takes.
    const follow = drainOnce ? givenUpAfter(exited) : undefined;
    let stream: Readable | undefined;
    try {
      stream = await retryForever(() => ctx.api.logs(id, startOf(target), follow?.signal), {
        signal: ctx.signal,
        retryable: (err) => !isPermanent(err) && follow?.signal.aborted !== true,
        onFailure: (err, attempt) =>
          attempt === 1 && ctx.log.debug({ container: target.meta.name, err: err.message }, 'logs call failed: retried until it answers'),
      });
    } catch (err) {
      follow?.dispose();
      if (ctx.signal.aborted) return 'read';
      if (follow?.signal.aborted === true) {
        ctx.log.debug({ container: target.meta.name }, 'the logs call was not answered a while after the container died: read again');
      } else if (statusOf(err) === 404) {
        return outcome();
      } else if (statusOf(err) === 409) {
        // Dead or being removed: the engine refuses its logs from now on (a
        // removal that failed leaves it dead for good). What was read is all.
        ctx.log.debug({ container: target.meta.name, err: (err as Error).message }, 'logs refused: the container is dead or being removed');
        return outcome();
      } else {
        if (statusOf(err) === 501) {
          ctx.log.warn({ container: target.meta.name, id }, 'the log driver of this container cannot be read; no log records');
        } else {
          ctx.log.warn({ container: target.meta.name, id, err: (err as Error).message }, 'logs cannot be read');
        }
        return 'read';
      }
    }
    if (stream !== undefined) {
      ctx.log.debug({ container: target.meta.name, followed: follow !== undefined }, 'log stream open');
      const end = await readStream(stream, target, ctx, follow?.signal);
      follow?.dispose();
      lines += end.lines;
      if (ctx.signal.aborted) return 'read';
      if (!end.ok) {
        ctx.log.debug({ container: target.meta.name, err: end.error.message, kind: errorKind(end.error), lines: end.lines }, 'log stream broke');
      } else {
        ctx.log.debug({ container: target.meta.name, lines: end.lines, followed: follow !== undefined }, 'log stream ended');
      }
    }
    // The stream is over: the container stopped, or the connection broke.
    let state: ContainerState | undefined;
    try {
      state = await stateAfterStream(target, ctx);
    } catch (err) {
      // Stopping, or the container is gone.
      return statusOf(err) === 404 ? outcome() : 'read';
    }
    ctx.log.debug({ container: target.meta.name, status: state?.Status }, 'after the log stream');
    if (state?.Running === true) continue;
    // Stopped. Read once more from the last line: a follow that raced the
    // container's exit (or a broken connection) may have missed its last lines.
    // That read is the job's whole output only if its removal had not begun:
    // dockerd reads a stopped container's json-file through a logger that
    // creates the file again, empty, when a removal has just deleted it.
    if (!drainOnce) return beingRemoved(state) ? outcome() : 'read';
    drainOnce = false;
  }
  return 'read';
}

/**
 * The container's state once its log stream is over, asked until Docker
 * answers. Its own frame: the follow goes on, and would keep the whole
 * inspect answer (a few KiB) until its next stream ends.
 */
async function stateAfterStream(target: LogsTarget, ctx: LogsContext): Promise<ContainerState | undefined> {
  const info = await retryForever(() => ctx.api.inspect(target.meta.id), {
    signal: ctx.signal,
    retryable: (err) => statusOf(err) !== 404,
    onFailure: (err, attempt) =>
      attempt === 1 && ctx.log.debug({ container: target.meta.name, err: err.message }, 'inspect after the log stream failed: retried until it answers'),
  });
  return info.State;
}

/**
 * Reads the log again from the target's cursor to what is written now, for
 * one sink that fell behind (ctx.rereading); false if the container is gone.
 */
export async function readLogsAgain(target: LogsTarget, ctx: LogsContext): Promise<boolean> {
  let stream: Readable;
  try {
    const until = timeToSince(nowTime());
    stream = await retryForever(() => ctx.api.logs(target.meta.id, { ...startOf(target), until }), {
      signal: ctx.signal,
      retryable: (err) => !isPermanent(err),
    });
  } catch {
    return false;
  }
  const end = await readStream(stream, target, ctx);
  return end.ok && !end.systemerr;
}

type ContainerState = NonNullable<ContainerInspectInfo['State']>;

/** `docker rm` (or `--rm`) has begun: its files may be deleted already. */
function beingRemoved(state: ContainerState | undefined): boolean {
  return state?.Status === 'removing' || state?.Dead === true;
}

function isPermanent(err: Error): boolean {
  const status = statusOf(err);
  return status === 404 || status === 409 || status === 501 || status === 400;
}

function startOf(target: LogsTarget): { since?: string; tail?: number } {
  if (target.cursor !== undefined) return { since: timeToSince(target.cursor.time) };
  const start: { since?: string; tail?: number } = {};
  if (target.since !== undefined) start.since = target.since;
  if (target.tail !== undefined) start.tail = target.tail;
  return start;
}

/**
 * How long a follow may go on once its container died. dockerd answers the
 * call and ends the stream when the container's logger closes; a call not
 * answered or a stream still open by then is given up and the log read again
 * from its last line (nothing is lost or repeated by that), so a daemon that
 * silently stops answering cannot keep a `--rm` job's lines from being read
 * or told missed.
 */
export const FOLLOW_AFTER_DEATH_MS = 3_000;

/** A signal that aborts FOLLOW_AFTER_DEATH_MS after `exited` (never without it); dispose when the follow is over. */
function givenUpAfter(exited: Promise<void> | undefined): { readonly signal: AbortSignal; dispose(): void } {
  const given = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  void exited?.then(() => {
    if (!over) timer = setTimeout(() => given.abort(new Error('the container died a while ago')), FOLLOW_AFTER_DEATH_MS);
  });
  return {
    signal: given.signal,
    dispose(): void {
      over = true;
      clearTimeout(timer);
    },
  };
}

/** `givenUp`: the stream is destroyed when it aborts (see FOLLOW_AFTER_DEATH_MS). */
function readStream(stream: Readable, target: LogsTarget, ctx: LogsContext, givenUp?: AbortSignal): Promise<StreamEnd> {
  const { meta } = target;
  const intake = new LogIntake(target, ctx, target.cursor);
  const firstFault = once();
  let lines = 0;
  let systemerr = false;
  const parser = new LogLineParser(
    target.tty,
    {
      line(line: LogLine): void {
        lines++;
        intake.line(line.stream, line.time, line.message, line.truncated, line.plain);
      },
      fault(kind, detail): void {
        if (kind === 'malformed') ctx.malformed?.();
        else systemerr = true;
        // Once per stream: a stream full of garbage must not flood sidekick's own log.
        if (firstFault()) ctx.log.warn({ container: meta.name, kind, detail }, 'log stream: the daemon reported a fault (said once per stream)');
      },
    },
    ctx.maxLine,
  );
  return new Promise((resolve) => {
    let done = false;
    const abort = (): void => {
      stream.destroy();
    };
    const giveUp = (): void => {
      stream.destroy(new Error('the log stream stayed open a while after the container died'));
    };
    ctx.signal.addEventListener('abort', abort, { once: true });
    givenUp?.addEventListener('abort', giveUp, { once: true });
    if (givenUp?.aborted === true) giveUp();
    const finish = (end: { readonly ok: true } | { readonly ok: false; readonly error: Error }): void => {
      if (done) return;
      done = true;
      ctx.signal.removeEventListener('abort', abort);
      givenUp?.removeEventListener('abort', giveUp);
      // A line cut off by a stop or a broken connection is read again on resume.
      const cut = endsCut(ctx);
      if (end.ok && !cut) parser.end();
      intake.end(cut);
      resolve({ ...end, lines, systemerr });
    };
    const flow = ctx.flow;
    stream.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      flow?.hold(stream);
    });
    stream.on('end', () => finish({ ok: true }));
    stream.on('error', (error) => finish({ ok: false, error }));
    stream.on('close', () => finish({ ok: false, error: new Error('log stream closed') }));
  });
}
