// One sink behind its own bounded buffer. Sources push and move on; a loop
// takes batches from the buffer and awaits the sink. A slow or dead sink only
// fills its own buffer (then drops its oldest records, counted), never
// another sink's and never the sources.

import type { Logger } from 'pino';
import type { Sink } from '../sinks/sink.js';
import { RecordBuffer } from './buffer.js';
import type { Envelope } from './record.js';

export const DEFAULT_BUFFER_RECORDS = 100_000;
export const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;
const BATCH = 512;

export interface ChannelCounts {
  /** Delivered to the sink. */
  sent: number;
  /** Dropped by the buffer because it was full. */
  dropped: number;
  /** Lost because the sink failed to take them. */
  failed: number;
}

export class SinkChannel {
  readonly counts: ChannelCounts = { sent: 0, dropped: 0, failed: 0 };
  private readonly buffer: RecordBuffer;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private closing = false;
  private failing = false;
  private droppingSince: number | undefined;

  constructor(
    readonly sink: Sink,
    private readonly log: Logger,
    maxRecords = DEFAULT_BUFFER_RECORDS,
    maxBytes = DEFAULT_BUFFER_BYTES,
  ) {
    this.buffer = new RecordBuffer(maxRecords, maxBytes);
  }

  get depth(): { readonly records: number; readonly bytes: number } {
    return { records: this.buffer.length, bytes: this.buffer.bytes };
  }

  async start(): Promise<void> {
    await this.sink.start();
    this.loop ??= this.run();
  }

  push(e: Envelope): void {
    if (this.closing) return;
    const dropped = this.buffer.push(e);
    if (dropped > 0) {
      if (this.droppingSince === undefined) {
        this.droppingSince = this.counts.dropped;
        this.log.warn({ sink: this.sink.name }, 'sink buffer full: dropping the oldest records');
      }
      this.counts.dropped += dropped;
    }
    this.wake?.();
  }

  /** Stops taking records, delivers what is buffered until `deadline` (epoch ms); returns what was left. */
  async close(deadline: number): Promise<number> {
    this.closing = true;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([this.loop, late]);
    clearTimeout(timer);
    const left = this.buffer.length;
    await this.sink.stop();
    return left;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.buffer.length === 0) {
        this.dropEpisodeOver();
        if (this.closing) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const batch = this.buffer.shift(BATCH);
      try {
        await this.sink.write(batch);
        this.counts.sent += batch.length;
        if (this.failing) {
          this.failing = false;
          this.log.info({ sink: this.sink.name }, 'sink delivering again');
        }
      } catch (err) {
        this.counts.failed += batch.length;
        if (!this.failing) {
          this.failing = true;
          this.log.error({ sink: this.sink.name, err: (err as Error).message }, 'sink failed to take records');
        }
      }
    }
  }

  private dropEpisodeOver(): void {
    if (this.droppingSince === undefined) return;
    const dropped = this.counts.dropped - this.droppingSince;
    this.droppingSince = undefined;
    this.log.warn({ sink: this.sink.name, dropped }, 'sink caught up: no longer dropping');
  }
}
