// Fans every record out to the channels of the sinks that take it (by their
// ?types=, ?include=, ?exclude=). Serialises a record once for all sinks, and
// never awaits a sink.

import type { Taps } from '../observe/tap.js';
import type { SinkChannel } from './channel.js';
import { envelope, type SidekickRecord } from '../core/record.js';

export class Router {
  /** Records routed, by type. */
  readonly routed = new Map<string, number>();
  /** Live /tap clients, when SIDEKICK_TAP is on. */
  taps: Taps | undefined;

  constructor(
    private readonly channels: readonly SinkChannel[],
    /** SIDEKICK_STATIC_FIELDS, added to records of no container (a container's meta carries its own). */
    private readonly staticFields?: Readonly<Record<string, string>>,
  ) {}

  readonly emit = (record: SidekickRecord): void => {
    const fields = this.staticFields;
    const e = envelope(fields !== undefined && record.container === undefined ? { ...record, fields } : record);
    this.routed.set(record.type, (this.routed.get(record.type) ?? 0) + 1);
    for (const channel of this.channels) if (channel.takes(record)) channel.push(e);
    if (this.taps !== undefined && this.taps.size > 0) this.taps.push(e);
  };
}
