// What sidekick keeps about one container from the moment it hears of it
// until the container is destroyed: kept across its restarts, so a restart
// resumes its logs where the last run stopped.

import type { ContainerInspectInfo } from 'dockerode';
import type { ContainerMeta, FilePosition, LogPosition, RecordType } from '../../core/record.js';
import type { LogCursor, LogsTarget } from './log-intake.js';

export interface Watch {
  meta: ContainerMeta | undefined;
  /** What is collected of it, from the policy, once it is inspected. */
  types: ReadonlySet<RecordType> | undefined;
  /** The log position, kept across the container's restarts. */
  cursor: LogCursor | undefined;
  /** Collecting now (inspect, then logs until the container stops). */
  active: Promise<void> | undefined;
  /** Started again while still collecting its previous run. */
  again: boolean;
  destroyed: boolean;
  /** Called when the container dies (ends a run that does not follow logs). */
  died: (() => void) | undefined;
  /** The log stream being followed, with its live cursor. */
  following: LogsTarget | undefined;
  /** Where its json-file was read up to (with `cursor`), when logs are read from files. */
  logFile: FilePosition | undefined;
  /** How its logs are read now. */
  source: 'api' | 'file' | undefined;
  /** How its logs were last read (its json-file, or the API when undefined): how a sink that fell behind reads them again. */
  logs: { readonly target: LogsTarget; readonly path: string | undefined } | undefined;
  /**
   * An inspect made when its create (or start) event arrived, not yet used
   * by a run: a start reads its logs at once, without asking again, so a
   * `--rm` job that is removed a moment later is still read.
   */
  inspected: { readonly info: ContainerInspectInfo; readonly atStart: boolean } | undefined;
  /** Running, as the event stream (and lists) tell: a run that waits for its death checks this first. */
  running: boolean;
  /** The inspect started when its create event arrived, while earlier events were still being handled. */
  inspecting: Promise<ContainerInspectInfo | undefined> | undefined;
}

/** A container newly heard of, resuming from where an earlier run of sidekick left its logs. */
export function newWatch(saved: LogPosition | undefined): Watch {
  return {
    meta: undefined,
    types: undefined,
    cursor: saved === undefined ? undefined : { time: saved.time, count: saved.count, ahead: saved.ahead },
    active: undefined,
    again: false,
    destroyed: false,
    died: undefined,
    following: undefined,
    logFile: undefined,
    source: undefined,
    logs: undefined,
    inspected: undefined,
    running: false,
    inspecting: undefined,
  };
}

/**
 * Resolves when the container dies (`w.died` is called) or `signal` aborts;
 * at once when `stillRunning` says it runs no more (it is asked once the
 * wait is set, so a death in between is not missed).
 */
export function untilDies(w: Watch, signal: AbortSignal, stillRunning: () => boolean | Promise<boolean>): Promise<void> {
  let done!: () => void;
  const dies = new Promise<void>((resolve) => {
    done = (): void => {
      if (w.died === done) w.died = undefined;
      signal.removeEventListener('abort', done);
      resolve();
    };
  });
  w.died = done;
  signal.addEventListener('abort', done, { once: true });
  const running = stillRunning();
  if (running === false) done();
  else if (running !== true) void running.then((yes) => yes || done());
  return dies;
}
