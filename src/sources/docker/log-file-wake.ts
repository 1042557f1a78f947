// When a json-file follower reads again: on a change notice for the file's
// folder (inotify), after a while without one (a notice missed), on a timer
// while the file grows fast, and when sidekick stops.

import { stat, watch, type FSWatcher, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** Without change notices (inotify unavailable): how often the file is looked at. */
const POLL_MS = 250;
/**
 * More change notices than this between two reads that found lines (each
 * notice delivered is a wakeup of the event loop; dockerd writes each line on
 * its own): the container prints fast, and the follower reads every
 * COALESCE_MS with notices off until a read finds nothing. A container
 * printing now and then wakes it once a read.
 */
const BUSY_NOTICES = 2;

/**
 * Whether the path's stat (undefined: it could not be taken) shows nothing
 * for the follower to do: the file it has open is the one at the path, and
 * read to its size.
 */
export type CaughtUp = (st: Stats | undefined) => boolean;

/**
 * Wakes the follower when the file's folder changes, or after a while, or
 * when sidekick stops. Its change notices can be paused while the follower
 * reads on a timer (a container printing fast).
 */
export class Wake {
  private watcher: FSWatcher | undefined;
  private waiting: (() => void) | undefined;
  private pending = false;
  /** Change notices since busy() was last asked. */
  private notices = 0;
  /** Notices are off (pause): the follower reads on a timer. */
  paused = false;
  /** Bound once: the abort signal calls it. */
  private readonly wakeUp = (): void => this.notify();
  /**
   * The timers of next() and sleep(), one each a follower, armed again with
   * refresh(): a quiet container's follower waits twice a line, and a timer
   * made and cleared each time was a tenth of what it allocated.
   */
  private readonly safety = new ReusedTimer(() => this.lookAgain());
  private readonly nap = new ReusedTimer(() => this.napping?.());
  private napping: (() => void) | undefined;
  /** The safety timer's delay while next() waits. */
  private safetyMs = 0;
  /** The path's stat is being taken for the safety timer. */
  private looking = false;
  private readonly changed = (): void => {
    this.notices++;
    this.notify();
  };
  private readonly looked = (err: Error | null, st: Stats | undefined): void => {
    this.looking = false;
    // No wait (also after close, which ends it): a look in flight has nothing to wake.
    if (this.waiting === undefined) return;
    if (this.caughtUp(err === null ? st : undefined)) this.safety.arm(this.safetyMs);
    else this.waiting();
  };

  constructor(
    private readonly path: string,
    private readonly signal: AbortSignal,
    private readonly caughtUp: CaughtUp,
  ) {
    this.openWatcher();
    signal.addEventListener('abort', this.wakeUp, { once: true });
  }

  /** More notices than BUSY_NOTICES since the last call. */
  busy(): boolean {
    const busy = this.notices > BUSY_NOTICES;
    this.notices = 0;
    return busy;
  }

  /** Notices off: the follower reads on a timer. */
  pause(): void {
    if (this.paused || this.watcher === undefined) return;
    this.paused = true;
    this.closeWatcher();
  }

  /** Notices on again; true if they were off (the follower then reads once more before it waits). */
  resume(): boolean {
    if (!this.paused) return false;
    this.paused = false;
    this.openWatcher();
    return true;
  }

  notify(): void {
    this.pending = true;
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /**
   * Resolves `coalesceMs` after the next notice (or one that came since the
   * last call), or once the path, looked at every `safetyMs` without one,
   * shows something new: one wait a line, not a wait for the notice and
   * another for more. The wait of an idle container's follower lasts as long
   * as the container stays quiet: one made every `safetyMs` outlived two
   * young-generation collections, and 200 idle followers filled the old
   * generation with them (a quarter of what it took in, watching 220
   * containers). A look that finds nothing is a stat, not a read and a stat.
   */
  next(safetyMs: number, coalesceMs = 0): Promise<void> {
    if (this.pending || this.signal.aborted) {
      this.pending = false;
      return coalesceMs === 0 ? Promise.resolve() : this.sleep(coalesceMs);
    }
    return new Promise((resolve) => {
      this.waiting = (): void => {
        this.pending = false;
        this.waiting = undefined;
        if (coalesceMs === 0) {
          resolve();
          return;
        }
        this.napping = resolve;
        this.nap.arm(coalesceMs);
      };
      this.safetyMs = this.watcher === undefined ? POLL_MS : safetyMs;
      this.safety.arm(this.safetyMs);
    });
  }

  /** Resolves after `ms` (the follower never closes it meanwhile: close comes after its loop). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.napping = resolve;
      this.nap.arm(ms);
    });
  }

  close(): void {
    this.signal.removeEventListener('abort', this.wakeUp);
    this.closeWatcher();
    this.safety.clear();
    this.nap.clear();
    this.notify();
  }

  /** The safety timer: the path's stat, and a wakeup only if it shows something new. */
  private lookAgain(): void {
    if (this.waiting === undefined || this.looking) return;
    this.looking = true;
    stat(this.path, this.looked);
  }

  private openWatcher(): void {
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, this.changed);
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      this.watcher = undefined;
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

/** A timer armed again and again for one callback: refresh() when the delay is the same, no new timer. */
class ReusedTimer {
  private timer: NodeJS.Timeout | undefined;
  private ms = 0;

  constructor(private readonly fire: () => void) {}

  arm(ms: number): void {
    if (this.timer !== undefined && this.ms === ms) {
      this.timer.refresh();
      return;
    }
    clearTimeout(this.timer);
    this.ms = ms;
    this.timer = setTimeout(this.fire, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
