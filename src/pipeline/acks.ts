// Acknowledgements of one sink: for each source whose records went to it (a
// container's log, a file), the position up to which the sink is done with
// them (delivered, dropped or rejected), so that nothing before it needs
// reading again. The sink's driver tells them each record pushed, each batch
// taken from the buffer and each batch settled (delivered, rejected or given
// up); the records still waiting they read from the buffer, whose lanes find
// one source's oldest without a lookup per record pushed. Only the records'
// position codecs are used: acks know no source kinds, and no kind of buffer
// but what `Waiting` asks of one.

import type { Held } from '../core/position.js';
import type { Envelope, SidekickRecord } from '../core/record.js';
import type { Waiting } from './buffer/buffer.js';

export class Acks {
  /** Each source's newest record pushed, by its position key. */
  private readonly last = new Map<string, SidekickRecord>();
  /** The batches taken from the buffer and not settled yet. */
  private readonly inFlight = new Set<readonly Envelope[]>();
  /** Per source the sink fell behind on before any record of it was pushed: the first record it left. */
  private readonly floors = new Map<string, SidekickRecord>();

  constructor(private readonly waiting: Waiting) {}

  /** A record entered the sink's buffer. */
  pushed(record: SidekickRecord): void {
    const codec = record.position;
    if (codec !== undefined) this.last.set(codec.key(record), record);
  }

  /**
   * A record the sink left to read again later (it fell behind on its
   * source): if none of that source was pushed yet, the sink is done with it
   * only up to before this record.
   */
  left(record: SidekickRecord): void {
    const key = record.position!.key(record);
    if (!this.last.has(key) && !this.floors.has(key)) this.floors.set(key, record);
  }

  /** The sink no longer means to read the source again from its floor (it caught up, or gave it up). */
  unleft(key: string): void {
    this.floors.delete(key);
  }

  /** A batch left the buffer to be written: its records are in flight. */
  taken(batch: readonly Envelope[]): void {
    this.inFlight.add(batch);
  }

  /** The sink is done with a batch taken: each record delivered, rejected or given up. */
  settled(batch: readonly Envelope[]): void {
    this.inFlight.delete(batch);
  }

  /** Per source: just before its oldest record waiting or in flight, else after its last one pushed. */
  done(): Map<string, Held> {
    const oldest = this.waiting.oldestPositioned();
    for (const batch of this.inFlight) {
      for (const { record: r } of batch) {
        const codec = r.position;
        if (codec === undefined) continue;
        const key = codec.key(r);
        const o = oldest.get(key);
        if (o === undefined || codec.before(r, o)) oldest.set(key, r);
      }
    }
    const done = new Map<string, Held>();
    for (const [key, last] of this.last) done.set(key, positionOf(last, oldest.get(key)));
    for (const [key, first] of this.floors) if (!done.has(key)) done.set(key, floorOf(first));
    return done;
  }

  /**
   * done() for one source (what a batch moved), without the work of all the
   * others: with hundreds of containers, a batch of one line costs one.
   */
  doneWith(key: string): Held | undefined {
    const last = this.last.get(key);
    const codec = last?.position;
    if (codec === undefined) {
      const first = this.floors.get(key);
      return first === undefined ? undefined : floorOf(first);
    }
    let oldest = this.waiting.firstPositioned(key);
    for (const batch of this.inFlight) {
      for (const { record: r } of batch) {
        if (r.position === codec && codec.key(r) === key && (oldest === undefined || codec.before(r, oldest))) oldest = r;
      }
    }
    return positionOf(last!, oldest);
  }

  /** The source is gone (a container destroyed, a file deleted): its position is tracked no more. */
  forget(key: string): void {
    this.last.delete(key);
    this.floors.delete(key);
  }

  /**
   * Adds to `oldest`, per container id, the epoch ms of the oldest of its
   * records not acknowledged yet (waiting, or being written).
   */
  oldestUnacked(oldest: Map<string, number>): void {
    const note = (r: SidekickRecord): void => {
      const id = r.container?.id;
      if (id === undefined) return;
      const t = Date.parse(r.time);
      const o = oldest.get(id);
      if (o === undefined || t < o) oldest.set(id, t);
    };
    for (const r of this.waiting.heads()) note(r);
    for (const batch of this.inFlight) for (const { record } of batch) note(record);
  }
}

/** Where a source is done with when its first record went to no sink's buffer: just before it. */
function floorOf(first: SidekickRecord): Held {
  const codec = first.position!;
  return { codec, at: codec.from(first) };
}

/** Where a source's records are done with: just before the oldest still waiting or in flight, else after the last pushed. */
function positionOf(last: SidekickRecord, waiting: SidekickRecord | undefined): Held {
  const codec = last.position!;
  return { codec, at: waiting === undefined ? codec.through(last) : codec.from(waiting) };
}
