// Fans every record out to each sink's channel. Serialises a record once for
// all sinks, and never awaits a sink.

import type { SinkChannel } from './channel.js';
import { envelope, type SidekickRecord } from './record.js';

export class Router {
  /** Records routed, by type. */
  readonly routed = new Map<string, number>();

  constructor(private readonly channels: readonly SinkChannel[]) {}

  readonly emit = (record: SidekickRecord): void => {
    const e = envelope(record);
    this.routed.set(record.type, (this.routed.get(record.type) ?? 0) + 1);
    for (const channel of this.channels) if (channel.types === undefined || channel.types.has(record.type)) channel.push(e);
  };
}
