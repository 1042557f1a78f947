// A sink that keeps what it receives in memory: for tests that run the
// pipeline in one process. Not registered under a URI scheme.

import type { Envelope } from '../core/record.js';
import type { Sink } from './sink.js';

export class MemorySink implements Sink {
  readonly name = 'memory://';
  readonly received: Envelope[] = [];
  started = 0;
  stopped = 0;
  /** Set to make the next writes fail, or wait, as a broken or slow sink would. */
  fail: Error | undefined;
  delay: Promise<void> | undefined;

  async start(): Promise<void> {
    this.started++;
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    if (this.delay !== undefined) await this.delay;
    if (this.fail !== undefined) throw this.fail;
    this.received.push(...batch);
  }

  async stop(): Promise<void> {
    this.stopped++;
  }
}
