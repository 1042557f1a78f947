// Fans every record out to the outputs that take it: each sink's channel (by
// its ?types=, ?include=, ?exclude=) and the live /tap clients. Serialises a
// record once for all of them, and never awaits one.

import { envelope, type Envelope, type SidekickRecord } from '../core/record.js';

/** Where the router sends records; push never blocks (each output bounds itself). */
export interface Output {
  /** Whether this output takes the record (its route, or any reader at all). */
  takes(record: SidekickRecord): boolean;
  push(e: Envelope): void;
}

export class Router {
  /** Records routed, by type. */
  readonly routed = new Map<string, number>();

  constructor(
    private readonly outputs: readonly Output[],
    /** SIDEKICK_STATIC_FIELDS, added to records of no container (a container's meta carries its own). */
    private readonly staticFields?: Readonly<Record<string, string>>,
  ) {}

  readonly emit = (record: SidekickRecord): void => {
    const e = envelope(this.prepared(record));
    this.routed.set(record.type, (this.routed.get(record.type) ?? 0) + 1);
    for (const output of this.outputs) if (output.takes(record)) output.push(e);
  };

  /** The record as every output gets it: one of no container has the static fields. */
  prepared(record: SidekickRecord): SidekickRecord {
    const fields = this.staticFields;
    return fields !== undefined && record.container === undefined ? { ...record, fields } : record;
  }
}
