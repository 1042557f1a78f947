// A sink's buffer on disk (?buffer=disk): records wait in segment files
// under SIDEKICK_STATE_DIR, bounded by ?disk=, and survive a restart and a
// kill. A record pushed is staged in memory for the rest of the event-loop
// turn, then written to the segment file with the others of that turn (one
// write(2) a frame pair, no fsync); from then on its source may move past it
// (`onStored`), since a killed process loses nothing the kernel has. The
// segment is synced to the disk once a second and when it is closed: a power
// cut can cost what was written in the last second. Batches are read back
// from the segments, and the cursor moves over each batch settled (in
// order), so a restart sends again at most the batches that were in flight.
//
// When the disk is full the policy gives way: drop-oldest drops the oldest
// segment (counted, and told in a gap record: how many and from when to
// when; not per container, which only the records themselves would tell),
// drop-newest drops the new record, and block keeps it and says `full`.

import type { Envelope, SidekickRecord } from '../../../core/record.js';
import type { BufferPolicy, SinkBuffer } from '../buffer.js';
import { Gaps, type Gap } from '../gaps.js';
import { type Corruption, SegmentLog } from './segments.js';
import { storedEnvelope } from './stored.js';

/** A segment is at most this big (smaller for a small buffer: drop-oldest frees a segment at a time). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 64 * 1024;
/** Staged records are written at the end of the turn, or once they reach this many bytes. */
const STAGE_BYTES = 1024 * 1024;
const SYNC_MS = 1000;
/** The gap key of what drop-oldest drops: whole segments, of any container. */
const SEGMENT_GAP = '\u0000segment';

export interface DiskBufferOptions {
  readonly dir: string;
  /** The most its segments may take. */
  readonly maxBytes: number;
  readonly policy: BufferPolicy;
  /** Frames skipped because they were torn or corrupt. */
  readonly corrupt: (c: Corruption) => void;
}

interface Taken {
  /** The index after the batch's last frame. */
  readonly end: number;
  done: boolean;
}

export class DiskBuffer implements SinkBuffer {
  readonly policy: BufferPolicy;
  readonly maxBytes: number;
  private readonly log: SegmentLog;
  /** Pushed and not yet written: still their sources' to keep. */
  private staged: Envelope[] = [];
  private stagedBytes = 0;
  private writeScheduled = false;
  private readonly gaps = new Gaps();
  /** Batches handed out and not yet settled, in order; keyed by their last record. */
  private readonly taken = new Map<Envelope, Taken>();
  private readonly order: Taken[] = [];
  private readonly storedListeners: ((batch: readonly Envelope[]) => void)[] = [];
  private unsynced = false;
  private closed = false;
  private readonly syncTimer: NodeJS.Timeout;
  private readonly stageBytes: number;
  /** Frames skipped: torn or corrupt on disk, or not a record. */
  corrupted = 0;

  constructor(private readonly options: DiskBufferOptions) {
    this.policy = options.policy;
    this.maxBytes = options.maxBytes;
    const segmentBytes = Math.max(MIN_SEGMENT_BYTES, Math.min(MAX_SEGMENT_BYTES, Math.floor(options.maxBytes / 8)));
    this.stageBytes = Math.min(STAGE_BYTES, segmentBytes);
    this.log = SegmentLog.open({ dir: options.dir, segmentBytes }, (c) => this.skipped(c));
    this.syncTimer = setInterval(() => this.sync(), SYNC_MS);
    this.syncTimer.unref();
  }

  /** Records not handed out yet (those found on disk at start included). */
  get length(): number {
    return this.log.unread;
  }

  /** Records on disk not acknowledged yet (handed out ones included). */
  get records(): number {
    return this.log.frames;
  }

  get bytes(): number {
    return this.log.bytes;
  }

  get full(): boolean {
    return this.log.bytes >= this.maxBytes;
  }

  get drained(): boolean {
    return this.log.bytes < this.maxBytes / 2;
  }

  /** The time of the oldest record not acknowledged (being written included), if any. */
  oldestTime(): string | undefined {
    const frame = this.log.frame(this.log.ackIndex);
    return frame === undefined ? undefined : storedEnvelope(frame.toString('utf8'))?.record.time;
  }

  push(e: Envelope, now = Date.now()): number {
    const length = Buffer.byteLength(e.json);
    const cost = SegmentLog.cost(length);
    let dropped = 0;
    if (this.policy !== 'block') {
      while (this.log.bytes + cost > this.maxBytes) {
        if (this.policy === 'drop-oldest') {
          const lost = this.dropOldest(now);
          if (lost !== undefined) {
            dropped += lost;
            continue;
          }
          // What is staged may fill segments that can then be dropped.
          if (this.staged.length > 0) {
            this.write();
            continue;
          }
        }
        // drop-newest, or nothing older to drop (the segment being written is all there is).
        this.gaps.lost(e.record.container?.id ?? '', e.record, now);
        return dropped + 1;
      }
    }
    this.log.append(e.json, length);
    this.staged.push(e);
    this.stagedBytes += length;
    if (this.stagedBytes >= this.stageBytes) this.write();
    else if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => this.write());
    }
    return dropped;
  }

  shift(max: number, maxBytes = Infinity): Envelope[] {
    this.write();
    const start = this.log.readIndex;
    const frames = this.log.read(max, maxBytes);
    if (frames.length === 0) return [];
    const end = start + frames.length;
    const out: Envelope[] = [];
    for (const [i, frame] of frames.entries()) {
      const e = storedEnvelope(frame.toString('utf8'));
      if (e !== undefined) out.push(e);
      else this.skipped({ segment: this.options.dir, offset: start + i, bytes: frame.length, why: 'a frame that is not a record' });
    }
    const taken: Taken = { end, done: false };
    this.order.push(taken);
    const last = out.at(-1);
    // A batch of nothing but frames that are not records is done with at once.
    if (last === undefined) this.settle(taken);
    else this.taken.set(last, taken);
    return out;
  }

  settled(batch: readonly Envelope[]): void {
    // A write that outlived shutdown's deadline: its records stay for the next start.
    if (this.closed) return;
    const last = batch.at(-1);
    const taken = last === undefined ? undefined : this.taken.get(last);
    if (taken === undefined) return;
    this.taken.delete(last!);
    this.settle(taken);
  }

  /** Told each batch of records written to the file system: their sources may move past them. */
  onStored(listener: (batch: readonly Envelope[]) => void): void {
    this.storedListeners.push(listener);
  }

  takeGaps(now: number, quietMs: number, maxAgeMs: number): Gap[] {
    return this.gaps.take(now, quietMs, maxAgeMs);
  }

  lost(record: SidekickRecord, count: number, latest: string, now: number): void {
    this.gaps.lost(record.container?.id ?? '', record, now, count, latest);
  }

  get openGaps(): number {
    return this.gaps.size;
  }

  *heads(): IterableIterator<SidekickRecord> {
    const seen = new Set<string | undefined>();
    for (const { record } of this.staged) {
      const id = record.container?.id;
      if (seen.has(id)) continue;
      seen.add(id);
      yield record;
    }
  }

  oldestPositioned(): Map<string, SidekickRecord> {
    const out = new Map<string, SidekickRecord>();
    for (const { record: r } of this.staged) {
      const key = r.position?.key(r);
      if (key !== undefined && !out.has(key)) out.set(key, r);
    }
    return out;
  }

  firstPositioned(key: string): SidekickRecord | undefined {
    for (const { record: r } of this.staged) if (r.position?.key(r) === key) return r;
    return undefined;
  }

  /** Writes what is staged and syncs; the segments stay for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    this.write();
    this.log.close();
  }

  /** Writes the staged records to the segment file: their sources may move past them. */
  private write(): void {
    this.writeScheduled = false;
    if (this.staged.length === 0) return;
    this.log.flush();
    const batch = this.staged;
    this.staged = [];
    this.stagedBytes = 0;
    this.unsynced = true;
    for (const listener of this.storedListeners) listener(batch);
  }

  private sync(): void {
    if (!this.unsynced) return;
    this.unsynced = false;
    this.log.sync();
  }

  /** Acknowledges every batch settled before the oldest one still being written. */
  private settle(taken: Taken): void {
    taken.done = true;
    let end: number | undefined;
    while (this.order[0]?.done === true) end = this.order.shift()!.end;
    if (end !== undefined) this.log.ack(end);
  }

  /** Drops the oldest segment; how many records were lost, undefined when there is none to drop. */
  private dropOldest(now: number): number | undefined {
    const dropped = this.log.dropOldest();
    if (dropped === undefined) return undefined;
    const { lost, first, last } = dropped;
    const from = first === undefined ? undefined : storedEnvelope(first.toString('utf8'))?.record;
    const to = last === undefined ? undefined : storedEnvelope(last.toString('utf8'))?.record;
    if (lost > 0 && from !== undefined)
      this.gaps.lost(SEGMENT_GAP, { time: from.time, host: from.host, container: undefined }, now, lost, to?.time ?? from.time);
    // Batches handed out from the dropped segment are acknowledged already.
    while (this.order[0] !== undefined && this.order[0].end <= this.log.ackIndex) this.order.shift();
    return lost;
  }

  private skipped(c: Corruption): void {
    this.corrupted++;
    this.options.corrupt(c);
  }
}
