// A bounded buffer of records for one sink, limited in count and in bytes.
// Pushing never blocks. Records wait in one lane per container or tailed file
// (FIFO within a lane) and leave in round-robin, so one container flooding its output can
// neither take the whole buffer nor delay a quiet container's lines for long.
// When the buffer is full the policy decides what gives way:
// - drop-oldest: the oldest record of the fullest lane;
// - drop-newest: the new record, unless a fuller lane than its own exists, in
//   which case that lane's newest record (a quiet container's rare line still
//   gets in);
// - block: nothing; the buffer goes over its limit and reports `full`, and the
//   caller pauses its sources until it has drained.
// Every drop is counted, and remembered per container as a gap: how many, and
// the times of the first and last record lost.

import type { Envelope, SidekickRecord } from '../../core/record.js';
import type { BufferPolicy, SinkBuffer } from './buffer.js';
import { Gaps, type Gap } from './gaps.js';

/**
 * Each container has its lane, and so has each tailed file: the lines of one
 * file wait in order, apart from its container's other records. A record of
 * a source with positions waits in its source's lane (a container's log is
 * keyed by the container's id, so its lines share the container's lane).
 */
function laneKey(e: Envelope): string {
  const r = e.record;
  return r.position?.key(r) ?? r.container?.id ?? '';
}

/** Empty lanes kept for their sources' next records, at most (containers come and go: past this, an emptied lane is let go). */
export const SPARE_LANES = 1024;
/** A lane's ring to begin with, and again once emptied (a burst's big ring is not kept). */
const RING = 4;

/** A FIFO of one container's records: a growable ring. */
class Lane {
  private ring: (Envelope | undefined)[] = new Array<Envelope | undefined>(RING);
  private head = 0;
  count = 0;
  bytes = 0;

  constructor(readonly key: string) {}

  push(e: Envelope): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = e;
    this.count++;
    this.bytes += e.size;
  }

  shift(): Envelope {
    const e = this.ring[this.head]!;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
    this.bytes -= e.size;
    return e;
  }

  pop(): Envelope {
    const at = (this.head + this.count - 1) & (this.ring.length - 1);
    const e = this.ring[at]!;
    this.ring[at] = undefined;
    this.count--;
    this.bytes -= e.size;
    return e;
  }

  /** The oldest record waiting in this lane. */
  first(): SidekickRecord | undefined {
    return this.count === 0 ? undefined : this.ring[this.head]!.record;
  }

  /** The oldest record with a position (a log or file line) waiting in this lane, if any. */
  firstPositioned(): SidekickRecord | undefined {
    const mask = this.ring.length - 1;
    for (let i = 0; i < this.count; i++) {
      const r = this.ring[(this.head + i) & mask]!.record;
      if (r.position !== undefined) return r;
    }
    return undefined;
  }

  /** Emptied: a ring grown by a burst goes back to its first size. */
  shrink(): void {
    if (this.ring.length === RING) return;
    this.ring = new Array<Envelope | undefined>(RING);
    this.head = 0;
  }

  private grow(): void {
    const old = this.ring;
    const ring = new Array<Envelope | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) ring[i] = old[(this.head + i) & (old.length - 1)];
    this.ring = ring;
    this.head = 0;
  }
}

export class RecordBuffer implements SinkBuffer {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with records, in round-robin order; `next` is whose turn it is. */
  private order: Lane[] = [];
  private next = 0;
  private count = 0;
  private size = 0;
  private readonly gaps = new Gaps();

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    readonly policy: BufferPolicy = 'drop-oldest',
  ) {
    if (maxRecords < 1 || maxBytes < 1) throw new RangeError('a buffer holds at least one record and one byte');
  }

  get length(): number {
    return this.count;
  }

  /** Sources with a lane: those with records waiting, and up to SPARE_LANES emptied ones kept for their next record. */
  get lanesKept(): number {
    return this.lanes.size;
  }

  get records(): number {
    return this.count;
  }

  get bytes(): number {
    return this.size;
  }

  /** At or over a limit: under `block`, the caller should pause its sources. */
  get full(): boolean {
    return this.count >= this.maxRecords || this.size >= this.maxBytes;
  }

  get drained(): boolean {
    return this.count < this.maxRecords / 2 && this.size < this.maxBytes / 2;
  }

  /** Adds a record, making room by the policy; returns how many records were dropped. */
  push(e: Envelope, now = Date.now()): number {
    const cost = e.size;
    const key = laneKey(e);
    if (this.policy === 'block') {
      this.add(key, e);
      return 0;
    }
    if (cost > this.maxBytes) {
      this.dropped(key, e, now);
      return 1;
    }
    let dropped = 0;
    while (this.count > 0 && (this.count >= this.maxRecords || this.size + cost > this.maxBytes)) {
      const fullest = this.fullest();
      if (this.policy === 'drop-newest') {
        const own = this.lanes.get(key);
        if (own !== undefined && own.bytes >= fullest.bytes) {
          this.dropped(key, e, now);
          return dropped + 1;
        }
        this.evict(fullest, fullest.pop(), now);
      } else {
        this.evict(fullest, fullest.shift(), now);
      }
      dropped++;
    }
    this.add(key, e);
    return dropped;
  }

  /** Removes up to `max` records (and about `maxBytes`), taking turns between containers. */
  shift(max: number, maxBytes = Infinity): Envelope[] {
    const out: Envelope[] = [];
    let bytes = 0;
    // Each lane with records gives an equal share of the batch, in turn.
    const quantum = Math.max(1, Math.ceil(max / Math.max(1, this.order.length)));
    while (out.length < max && bytes < maxBytes && this.order.length > 0) {
      if (this.next >= this.order.length) this.next = 0;
      const lane = this.order[this.next]!;
      for (let i = 0; i < quantum && lane.count > 0 && out.length < max && bytes < maxBytes; i++) {
        const e = lane.shift();
        const cost = e.size;
        this.count--;
        this.size -= cost;
        bytes += cost;
        out.push(e);
      }
      if (lane.count === 0) this.retire(lane);
      else this.next++;
    }
    return out;
  }

  oldestTime(): string | undefined {
    let oldest: string | undefined;
    for (const r of this.heads()) if (oldest === undefined || r.time < oldest) oldest = r.time;
    return oldest;
  }

  /** Each lane's oldest record (a lane's records wait in order). */
  *heads(): IterableIterator<SidekickRecord> {
    for (const lane of this.order) {
      const r = lane.first();
      if (r !== undefined) yield r;
    }
  }

  /** The oldest record still waiting from one source (a container's log: its id; a file: its source key). */
  firstPositioned(key: string): SidekickRecord | undefined {
    return this.lanes.get(key)?.firstPositioned();
  }

  /** For each source (a container's log, a file), the oldest of its records still waiting. */
  oldestPositioned(): Map<string, SidekickRecord> {
    const out = new Map<string, SidekickRecord>();
    for (const lane of this.order) {
      const r = lane.firstPositioned();
      if (r !== undefined) out.set(r.position!.key(r), r);
    }
    return out;
  }

  takeGaps(now: number, quietMs: number, maxAgeMs: number): Gap[] {
    return this.gaps.take(now, quietMs, maxAgeMs);
  }

  get openGaps(): number {
    return this.gaps.size;
  }

  lost(record: SidekickRecord, count: number, latest: string, now: number): void {
    this.gaps.lost(record.position?.key(record) ?? record.container?.id ?? '', record, now, count, latest);
  }

  /** Memory keeps nothing about a batch once it is taken. */
  settled(): void {}

  /** What memory holds is lost with the process: its sources keep it until delivered. */
  onStored(): void {}

  /** What is still here is counted unflushed by the driver, and goes with the process. */
  close(): void {}

  private add(key: string, e: Envelope): void {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    if (lane.count === 0) this.order.push(lane);
    lane.push(e);
    this.count++;
    this.size += e.size;
  }

  private fullest(): Lane {
    let best = this.order[0]!;
    for (const lane of this.order) if (lane.bytes > best.bytes) best = lane;
    return best;
  }

  private evict(lane: Lane, e: Envelope, now: number): void {
    this.count--;
    this.size -= e.size;
    if (lane.count === 0) this.retire(lane);
    this.dropped(lane.key, e, now);
  }

  /**
   * An empty lane leaves the rotation, and stays in the map for its source's
   * next record: a container printing now and then empties its lane at each
   * batch, and a lane made and let go each record was a ring, a map entry and
   * the map's table resized, a line. Past SPARE_LANES empty ones, it is let go.
   */
  private retire(lane: Lane): void {
    const at = this.order.indexOf(lane);
    this.order.splice(at, 1);
    if (at < this.next) this.next--;
    if (this.lanes.size - this.order.length > SPARE_LANES) this.lanes.delete(lane.key);
    else lane.shrink();
  }

  private dropped(key: string, e: Envelope, now: number): void {
    this.gaps.lost(key, e.record, now);
  }
}
