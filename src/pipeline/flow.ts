// Back-pressure from sinks under the `block` policy to the sources: while any
// such sink's buffer is full, sources stop reading Docker's streams (Docker
// keeps the logs, so waiting loses nothing) until it has drained.

import type { Readable } from 'node:stream';

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
