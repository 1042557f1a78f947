// Back-pressure from sinks under the `block` policy to the sources: while any
// such sink's buffer is full, sources stop reading Docker's streams (Docker
// keeps the logs, so waiting loses nothing) until it has drained.

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

  /** Resolves when no sink blocks any more (at once if none does). */
  resumed(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
