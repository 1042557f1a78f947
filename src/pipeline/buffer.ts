// A bounded FIFO of records, limited in count and in bytes. Pushing never
// blocks and never grows it past its limits: when full, the oldest records
// make room and are counted as dropped.

import type { Envelope } from './record.js';

/** What one queued record costs beyond its JSON text. */
const RECORD_OVERHEAD = 64;

export function envelopeSize(e: Envelope): number {
  return e.json.length + RECORD_OVERHEAD;
}

export class RecordBuffer {
  private ring: (Envelope | undefined)[] = new Array<Envelope | undefined>(16);
  private head = 0;
  private count = 0;
  private size = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {
    if (maxRecords < 1 || maxBytes < 1) throw new RangeError('a buffer holds at least one record and one byte');
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.size;
  }

  /** Adds a record, dropping the oldest ones if there is no room; returns how many were dropped. */
  push(e: Envelope): number {
    const cost = envelopeSize(e);
    let dropped = 0;
    while (this.count > 0 && (this.count >= this.maxRecords || this.size + cost > this.maxBytes)) {
      this.dropOldest();
      dropped++;
    }
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = e;
    this.count++;
    this.size += cost;
    return dropped;
  }

  /** Removes and returns up to `max` of the oldest records. */
  shift(max: number): Envelope[] {
    const n = Math.min(max, this.count);
    const out = new Array<Envelope>(n);
    const mask = this.ring.length - 1;
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) & mask;
      const e = this.ring[at]!;
      this.ring[at] = undefined;
      this.size -= envelopeSize(e);
      out[i] = e;
    }
    this.head = (this.head + n) & mask;
    this.count -= n;
    return out;
  }

  private dropOldest(): void {
    const e = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.size -= envelopeSize(e);
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
  }

  /** Doubles the ring (its length stays a power of two, for the masks). */
  private grow(): void {
    const old = this.ring;
    const ring = new Array<Envelope | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) ring[i] = old[(this.head + i) & (old.length - 1)];
    this.ring = ring;
    this.head = 0;
  }
}
