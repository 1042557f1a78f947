// Drop episodes of one buffer, per container (or tailed file): how many
// records were lost, and the times of the first and last. The driver turns
// each episode that is over into a `gap` record, told in-band.

import type { ContainerMeta, SidekickRecord } from '../../core/record.js';

/** Records lost from one container (or file) in one episode. */
export interface Gap {
  readonly container: ContainerMeta | undefined;
  readonly host: string;
  dropped: number;
  /** Times of the earliest and latest record lost. */
  from: string;
  to: string;
  /** Epoch ms of the first and of the latest drop. */
  readonly startedAt: number;
  lastAt: number;
}

export class Gaps {
  private readonly open = new Map<string, Gap>();

  /** `count` records of one lane lost, `record` among them (its time and container tell the gap). */
  lost(key: string, record: Pick<SidekickRecord, 'time' | 'host' | 'container'>, now: number, count = 1, latest = record.time): void {
    const time = record.time;
    const gap = this.open.get(key);
    if (gap === undefined) {
      this.open.set(key, { container: record.container, host: record.host, dropped: count, from: time, to: latest, startedAt: now, lastAt: now });
      return;
    }
    gap.dropped += count;
    gap.lastAt = now;
    if (time < gap.from) gap.from = time;
    if (latest > gap.to) gap.to = latest;
  }

  /**
   * Gaps whose episode is over: no drop for `quietMs`, or open for `maxAgeMs`
   * (a flood that never stops still reports its losses at that pace).
   */
  take(now: number, quietMs: number, maxAgeMs: number): Gap[] {
    const out: Gap[] = [];
    for (const [key, gap] of this.open) {
      if (now - gap.lastAt >= quietMs || now - gap.startedAt >= maxAgeMs) {
        this.open.delete(key);
        out.push(gap);
      }
    }
    return out;
  }

  /** Episodes not yet taken. */
  get size(): number {
    return this.open.size;
  }
}
