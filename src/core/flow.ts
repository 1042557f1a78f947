// Back-pressure from one sink to what reads again for it: a sink that fell
// behind catches up by having its sources read again from where it is done
// with (ReadAgain); those reads pause while its buffer is full, and go on
// once it has drained. Live reading never waits: no sink delays another.

import type { Readable } from 'node:stream';
import type { SidekickRecord } from './record.js';

/** What a source reads again into, for one sink that fell behind. */
export interface ReadAgain {
  /** Each record read again, in order. */
  readonly emit: (record: SidekickRecord) => void;
  /** Paused while that sink is full. */
  readonly flow: Flow;
  /** Aborts when that sink stops. */
  readonly signal: AbortSignal;
}

export class Flow {
  private readonly blockers = new Set<object>();
  private waiters: (() => void)[] = [];

  get paused(): boolean {
    return this.blockers.size > 0;
  }

  block(by: object): void {
    this.blockers.add(by);
  }

  unblock(by: object): void {
    if (!this.blockers.delete(by) || this.blockers.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * How every reader waits: resolves when no sink blocks any more (at once
   * if none does), or when `signal` aborts (the reader is stopping).
   */
  ready(signal?: AbortSignal): Promise<void> {
    if (!this.paused || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        const at = this.waiters.indexOf(done);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** For a reader that is a stream: after each chunk, pauses it while a sink blocks (the daemon holds the rest). */
  hold(stream: Readable): void {
    if (!this.paused || stream.isPaused()) return;
    stream.pause();
    void this.ready().then(() => stream.resume());
  }
}
