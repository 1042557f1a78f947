// One sink behind its own bounded buffer. Sources push and move on; workers
// take batches from the buffer and await the sink, retrying what failed with
// backoff (and the receiver's Retry-After) until it is delivered, rejected
// for good, or shutdown's deadline passes. A slow or dead sink only fills its
// own buffer, never another sink's and never the sources. Under `block` a
// full sink falls behind instead of dropping: it leaves the records of each
// source that can be read again (a container's log, a tailed file) where they
// are, and once it has drained it has those sources read again for it alone,
// from where it is done with them, until it has caught up with what they
// send live; what cannot be read again (events, stats, inspect) is dropped
// and counted as under drop-newest. Each record pushed, batch taken and batch
// settled (delivered, rejected or given up) is told to the sink's acks
// (acks.ts), which say how far the sink is done with each source, then each
// batch settled to onSettled's listeners.

import type { Logger } from 'pino';
import { backoffDelay } from '../core/backoff.js';
import { SinkError, type Batching, type Sink } from '../sinks/sink.js';
import type { AnyPositionCodec, Held } from '../core/position.js';
import { Acks } from './acks.js';
import { DEFAULT_BUFFER_BYTES, DEFAULT_BUFFER_RECORDS, type SinkBuffer } from './buffer/buffer.js';
import type { Gap } from './buffer/gaps.js';
import { RecordBuffer } from './buffer/memory.js';
import { Flow, type ReadAgain } from '../core/flow.js';
import { envelope, nowTime, type Envelope, type GapRecord, type SidekickRecord } from '../core/record.js';
import { routeTakes, type SinkRoute } from '../transforms/route.js';

/** dueGaps() with none due: not an array made for each batch. */
const NO_GAPS: readonly Gap[] = Object.freeze([]);
const DEFAULT_BATCHING: Batching = { records: 512, bytes: 1024 * 1024, flushMs: 0, gapMs: 0, inFlight: 1 };
/** A drop episode ends after this long without a drop, or after the longer time at most. */
const GAP_QUIET_MS = 1000;
const GAP_MAX_MS = 10_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;
/** A read again that brings nothing new while the source sends more live is tried again after this long, this many times at most. */
const READ_AGAIN_IDLE_MS = 200;
const READ_AGAIN_IDLE_TRIES = 25;

/**
 * How a sink has a source read again for it alone (the topology asks the
 * source whose codec `from` has); false if the source no longer can.
 */
export type ReadAgainFor = (key: string, from: Held, into: ReadAgain) => Promise<boolean>;

/** A source this sink fell behind on: its live records are left until it is read again up to them. */
interface Behind {
  readonly codec: AnyPositionCodec;
  /** Where the sink is done with it: the read again starts here. */
  from: unknown;
  /** Its newest record sent live and left. */
  last: SidekickRecord;
  /** Records left, and records read again, since it fell behind. */
  left: number;
  again: number;
  /** The time of the first record left, then of the last read again: where what cannot be read again would start. */
  since: string;
  /** Being read again now. */
  reading: boolean;
}

/** Per-sink counts of records. */
export interface DriverCounts {
  /** Delivered to the sink. */
  sent: number;
  /** Dropped by the buffer policy (full buffer). */
  dropped: number;
  /** Writes tried again after a retryable failure (records in them). */
  retried: number;
  /** Refused by the sink for good (e.g. HTTP 400): not tried again. */
  rejected: number;
  /** Still buffered or in flight when shutdown's deadline passed. */
  unflushed: number;
}

export class SinkDriver {
  readonly counts: DriverCounts = { sent: 0, dropped: 0, retried: 0, rejected: 0, unflushed: 0 };
  /** How far this sink is done with each source's records: what checkpoints may save. */
  readonly acks: Acks;
  private readonly batching: Batching;
  private wake: (() => void)[] = [];
  /** Retry waits, cut short by close() or by another write getting through. */
  private readonly retryWaits = new Set<() => void>();
  private workers: Promise<void>[] = [];
  private closing = false;
  /** close() has counted what is left; later give-ups are not counted twice. */
  private closed = false;
  /** Records taken from the buffer and not yet delivered, rejected or given up (deliver() counts them down). */
  private inFlight = 0;
  private deadline = Infinity;
  private failing: string | undefined;
  private droppingSince: number | undefined;
  private pendingSince: number | undefined;
  /** When the last batch was taken (gapMs). */
  private lastTakenAt = -Infinity;
  /**
   * Workers waiting out flushMs for a fuller batch. A push wakes none of them
   * until the batch is full: each would only arm its timer again, a promise
   * and a timer a record, which watching a few hundred containers made a
   * tenth of what sidekick allocated.
   */
  private lingering = 0;
  private lastError: string | undefined;
  private readonly settledListeners: ((batch: readonly Envelope[]) => void)[] = [];
  /** What this sink was done with before a restart, or read again ahead of its live records, per source (hadAlready). */
  private readonly had = new Map<string, Held>();
  /** The sources it fell behind on, in the order it did. */
  private readonly behind = new Map<string, Behind>();
  /** What reads again for this sink waits on: paused while its buffer is full. */
  private readonly flow = new Flow();
  private catchingUp: Promise<void> | undefined;
  /** Aborts the reads again at close. */
  private readonly stopReading = new AbortController();

  constructor(
    readonly sink: Sink,
    private readonly log: Logger,
    /** How a source is read again for this sink; undefined: what it leaves behind is lost (counted). */
    private readonly readAgain: ReadAgainFor | undefined,
    /** Made by createBuffer from the sink's options; by default, memory's. */
    readonly buffer: SinkBuffer = new RecordBuffer(DEFAULT_BUFFER_RECORDS, DEFAULT_BUFFER_BYTES),
    /** Which records this sink takes; undefined: all. */
    readonly route?: SinkRoute,
  ) {
    this.acks = new Acks(this.buffer);
    // Records a disk buffer has written are done with for their sources, as a batch delivered is.
    this.buffer.onStored((batch) => {
      for (const listener of this.settledListeners) listener(batch);
    });
    this.batching = { ...DEFAULT_BATCHING, ...sink.batching };
  }

  /** The sources it fell behind on (under `block`), not caught up yet. */
  get behindSources(): number {
    return this.behind.size;
  }

  get depth(): { readonly records: number; readonly bytes: number } {
    return { records: this.buffer.records, bytes: this.buffer.bytes };
  }

  /** The last delivery error, until a delivery works again. */
  get error(): string | undefined {
    return this.lastError;
  }

  async start(): Promise<void> {
    if (this.workers.length > 0) return;
    await this.sink.start();
    for (let i = 0; i < this.batching.inFlight; i++) this.workers.push(this.work());
  }

  /** Whether this sink takes the record, by its route. */
  takes(record: SidekickRecord): boolean {
    return this.route === undefined || routeTakes(this.route, record);
  }

  /** Calls `listener` with each batch done with: delivered, rejected, given up, or kept on disk. */
  onSettled(listener: (batch: readonly Envelope[]) => void): void {
    this.settledListeners.push(listener);
  }

  /**
   * Where this sink was done with each source when sidekick last stopped:
   * records up to there, read again because another sink was behind, are
   * not sent again.
   */
  hadBefore(positions: ReadonlyMap<string, Held>): void {
    for (const [key, held] of positions) this.had.set(key, held);
  }

  /** The source at `key` is gone (a container destroyed, a file removed): nothing of it is kept. */
  forget(key: string): void {
    this.acks.forget(key);
    this.had.delete(key);
    const b = this.behind.get(key);
    // One being read again ends by itself (the source can no longer read it).
    if (b !== undefined && !b.reading) this.giveUp(key, b);
  }

  push(e: Envelope): void {
    if (this.closing) return;
    const r = e.record;
    const codec = r.position;
    if (codec === undefined) {
      if (this.blocked()) {
        this.buffer.lost(r, 1, r.time, Date.now());
        this.noteDrops(1);
        return;
      }
    } else if (this.behind.size > 0 || this.had.size > 0 || this.blocked()) {
      const key = codec.key(r);
      if (this.leftBehind(r, codec, key)) return;
      if (this.had.size > 0 && this.hadAlready(r, codec, key)) return;
    }
    this.add(e);
  }

  /** Whether this sink, under `block`, is full: what comes now is left behind. */
  private blocked(): boolean {
    return this.buffer.policy === 'block' && this.buffer.full;
  }

  private add(e: Envelope): void {
    this.acks.pushed(e.record);
    const dropped = this.buffer.push(e);
    if (dropped > 0) this.noteDrops(dropped);
    if (this.blocked()) this.flow.block(this);
    this.pendingSince ??= Date.now();
    if (this.lingering === 0 || this.full()) this.wakeOne();
  }

  /** Whether the buffer holds a whole batch: it goes without waiting out flushMs. */
  private full(): boolean {
    return this.buffer.length >= this.batching.records || this.buffer.bytes >= this.batching.bytes;
  }

  /** Whether the record is left to be read again: its source is behind, or falls behind now (the sink is full). */
  private leftBehind(r: SidekickRecord, codec: AnyPositionCodec, key: string): boolean {
    let b = this.behind.get(key);
    if (b === undefined) {
      if (!this.blocked()) return false;
      b = { codec, from: codec.from(r), last: r, left: 0, again: 0, since: r.time, reading: false };
      this.behind.set(key, b);
      this.acks.left(r);
      if (this.behind.size === 1)
        this.log.warn({ sink: this.sink.name }, 'sink buffer full (block): falling behind; what it misses is read again once it has room');
      this.catchingUp ??= this.catchUp();
    }
    b.last = r;
    b.left++;
    return true;
  }

  /** Reads again, one source at a time, each source this sink fell behind on, whenever it has room. */
  private async catchUp(): Promise<void> {
    const signal = this.stopReading.signal;
    try {
      while (this.behind.size > 0 && !signal.aborted) {
        await this.flow.ready(signal);
        const next = this.behind.entries().next();
        if (next.done === true || signal.aborted) break;
        const [key, b] = next.value;
        b.reading = true;
        try {
          await this.catchUpWith(key, b, signal);
        } finally {
          b.reading = false;
        }
      }
    } finally {
      this.catchingUp = undefined;
    }
    if (this.behind.size === 0 && !signal.aborted) this.log.info({ sink: this.sink.name }, 'sink caught up');
  }

  /** Reads one source again until what it read reaches what the source has sent live since. */
  private async catchUpWith(key: string, b: Behind, signal: AbortSignal): Promise<void> {
    const codec = b.codec;
    for (let idle = 0; ; ) {
      let through: unknown;
      const emit = (r: SidekickRecord): void => {
        if (r.position !== codec || codec.key(r) !== key) return;
        through = codec.through(r);
        b.again++;
        b.since = r.time;
        if (this.closing || !this.takes(r) || (this.had.size > 0 && this.hadAlready(r, codec, key))) return;
        this.add(envelope(r));
      };
      const read = this.readAgain !== undefined && (await this.readAgain(key, { codec, at: b.from }, { emit, flow: this.flow, signal }));
      if (signal.aborted) return;
      if (!read || this.behind.get(key) !== b) {
        this.giveUp(key, b);
        return;
      }
      if (through !== undefined) {
        b.from = through;
        idle = 0;
      } else if (++idle > READ_AGAIN_IDLE_TRIES) {
        this.giveUp(key, b);
        return;
      }
      const live = codec.through(b.last);
      if (codec.same(codec.least(live, b.from), live)) {
        // Caught up: what is sent live from now on is past what was read again, or skipped up to it.
        this.behind.delete(key);
        this.acks.unleft(key);
        this.hadUpTo(key, codec, b.from);
        return;
      }
      if (through === undefined) await new Promise((resolve) => setTimeout(resolve, READ_AGAIN_IDLE_MS));
    }
  }

  /** Live records of the source up to `at` are skipped: the sink has them. */
  private hadUpTo(key: string, codec: AnyPositionCodec, at: unknown): void {
    const had = this.had.get(key);
    const further = had !== undefined && had.codec === codec && codec.same(codec.least(had.at, at), at) ? had.at : at;
    this.had.set(key, { codec, at: further });
  }

  /** The source can no longer be read again (gone): what the sink left of it is lost, counted and told in a gap. */
  private giveUp(key: string, b: Behind): void {
    if (this.behind.get(key) === b) this.behind.delete(key);
    this.acks.unleft(key);
    const lost = Math.max(0, b.left - b.again);
    if (lost === 0) return;
    this.buffer.lost({ ...b.last, time: b.since }, lost, b.last.time, Date.now());
    this.noteDrops(lost);
    this.log.warn({ sink: this.sink.name, source: key, lost }, 'sink fell behind on a source that can no longer be read again: its records left are lost');
  }

  /**
   * Stops taking records and delivers what is buffered, until `deadline`
   * (epoch ms); returns how many records were left undelivered.
   */
  async close(deadline: number): Promise<number> {
    this.closing = true;
    this.deadline = deadline;
    this.stopReading.abort();
    await this.catchingUp;
    this.flow.unblock(this);
    for (const wake of this.wake.splice(0)) wake();
    for (const cut of [...this.retryWaits]) cut();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([Promise.all(this.workers), late]);
    clearTimeout(timer);
    // Batches still inside a write at the deadline count as undelivered too.
    this.closed = true;
    this.counts.unflushed += this.buffer.length + this.inFlight;
    this.buffer.close();
    await this.sink.stop();
    return this.counts.unflushed;
  }

  /** Whether the sink was done with the record before the restart; a source it has passed is looked at no more. */
  private hadAlready(r: SidekickRecord, codec: AnyPositionCodec, key: string): boolean {
    const had = this.had.get(key);
    if (had === undefined || had.codec !== codec) return false;
    const through = codec.through(r);
    const least = codec.least(through, had.at);
    if (codec.same(least, through)) return true;
    // Wholly past it (with multiline, one stream may pass before the other).
    if (codec.same(least, had.at)) this.had.delete(key);
    return false;
  }

  private wakeOne(): void {
    this.wake.shift()?.();
  }

  private async work(): Promise<void> {
    for (;;) {
      const batch = await this.nextBatch();
      if (batch === undefined) return;
      const givenUp = await this.deliver(batch);
      // Settled in the acks first: the listeners (checkpoints) read them.
      this.acks.settled(batch);
      // A disk buffer keeps what was given up at shutdown, for the next start.
      if (!givenUp) this.buffer.settled(batch);
      for (const listener of this.settledListeners) listener(batch);
    }
  }

  /** Waits for records (and, with flushMs or gapMs, for a full batch or its time); undefined: closed and empty. */
  private async nextBatch(): Promise<Envelope[] | undefined> {
    const { records, bytes, flushMs, gapMs } = this.batching;
    for (;;) {
      // Past close's deadline the sink is stopped and what is left counted as unflushed: nothing more is written.
      if (this.closed) return undefined;
      const gaps = this.dueGaps();
      if (this.buffer.length === 0 && gaps.length === 0) {
        this.pendingSince = undefined;
        this.endDropEpisode();
        if (this.closing) return undefined;
        await this.sleep(this.buffer.openGaps > 0 ? GAP_QUIET_MS : undefined);
        continue;
      }
      const now = Date.now();
      // How much longer the batch waits: for its first record's age to reach flushMs, and gapMs after the last batch.
      const wait = Math.max(flushMs - (now - (this.pendingSince ?? now)), gapMs - (now - this.lastTakenAt));
      const ready = this.closing || wait <= 0 || this.full();
      if (!ready && gaps.length === 0) {
        this.lingering++;
        try {
          await this.sleep(wait);
        } finally {
          this.lingering--;
        }
        continue;
      }
      // The batch is the buffer's own array unless gaps go first (most batches: no copy).
      const taken = this.buffer.shift(records - gaps.length, bytes);
      const batch = gaps.length === 0 ? taken : [...gaps.map((g) => envelope(gapRecord(g))), ...taken];
      // In flight as it leaves the buffer, not once the caller resumes: a write
      // settled in between would read its records as done (the checkpoint past them).
      this.inFlight += batch.length;
      this.acks.taken(batch);
      this.lastTakenAt = Date.now();
      this.pendingSince = this.buffer.length > 0 ? this.lastTakenAt : undefined;
      if (this.buffer.policy === 'block' && this.buffer.drained) this.flow.unblock(this);
      return batch;
    }
  }

  private dueGaps(): readonly Gap[] {
    if (this.buffer.openGaps === 0) return NO_GAPS;
    return this.closing ? this.buffer.takeGaps(Infinity, 0, 0) : this.buffer.takeGaps(Date.now(), GAP_QUIET_MS, GAP_MAX_MS);
  }

  /** Sleeps until woken by a push, or `ms` (if given), or close. */
  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined)
        timer = setTimeout(
          () => {
            const at = this.wake.indexOf(done);
            if (at >= 0) this.wake.splice(at, 1);
            resolve();
          },
          Math.max(1, ms),
        );
      this.wake.push(done);
    });
  }

  /**
   * Writes the batch until each of its records is delivered, rejected, or
   * given up at shutdown's deadline. What a sink names as failed (`partial`)
   * is all that is written again. Answers whether records were given up.
   */
  private async deliver(batch: Envelope[]): Promise<boolean> {
    let pending: readonly Envelope[] = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.sink.write(pending);
        this.counts.sent += pending.length;
        this.inFlight -= pending.length;
        this.healthy();
        return false;
      } catch (err) {
        const e = err instanceof SinkError ? err : new SinkError((err as Error).message, 'io', true);
        this.lastError = e.message;
        const retry = e.partial?.retry ?? (e.retryable ? pending : []);
        const rejected = e.partial?.rejected.length ?? (e.retryable ? 0 : pending.length);
        this.counts.sent += pending.length - retry.length - rejected;
        this.counts.rejected += rejected;
        this.inFlight -= pending.length - retry.length;
        if (rejected > 0) {
          this.log.error(
            { sink: this.sink.name, err: e.message, kind: e.kind, records: rejected },
            e.partial === undefined ? 'sink rejected a batch; not retrying it' : 'sink rejected records of a batch; not retrying them',
          );
        }
        if (retry.length === 0) return false;
        pending = retry;
        this.unhealthy(e);
        // Shutting down: a failing sink gets no more time than its deadline allows.
        const wait = Math.max(e.retryAfterMs ?? 0, backoffDelay(attempt, RETRY_MIN_MS, RETRY_MAX_MS));
        if (this.closing && Date.now() + wait >= this.deadline) {
          if (!this.closed) this.counts.unflushed += pending.length;
          this.inFlight -= pending.length;
          return true;
        }
        this.counts.retried += pending.length;
        await this.pause(wait);
      }
    }
  }

  /** Waits `ms`, or less if the channel closes or the sink takes a write meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.retryWaits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.retryWaits.add(done);
    });
  }

  private healthy(): void {
    this.lastError = undefined;
    if (this.failing === undefined) return;
    this.failing = undefined;
    // The sink is back: batches waiting out a backoff go now.
    for (const cut of [...this.retryWaits]) cut();
    this.log.info({ sink: this.sink.name }, 'sink delivering again');
  }

  private unhealthy(e: SinkError): void {
    if (this.failing === e.kind) return;
    this.failing = e.kind;
    this.log.warn({ sink: this.sink.name, err: e.message, kind: e.kind }, 'sink write failed; retrying with backoff');
  }

  private noteDrops(dropped: number): void {
    if (this.droppingSince === undefined) {
      this.droppingSince = this.counts.dropped;
      this.log.warn({ sink: this.sink.name, policy: this.buffer.policy }, 'sink buffer full: dropping records');
    }
    this.counts.dropped += dropped;
  }

  private endDropEpisode(): void {
    if (this.droppingSince === undefined) return;
    const dropped = this.counts.dropped - this.droppingSince;
    this.droppingSince = undefined;
    this.log.warn({ sink: this.sink.name, dropped }, 'sink caught up: no longer dropping');
  }
}

function gapRecord(g: Gap): GapRecord {
  const base = { type: 'gap' as const, time: nowTime(), host: g.host, dropped: g.dropped, from: g.from, to: g.to };
  return g.container === undefined ? { ...base, reason: 'buffer_full' } : { ...base, container: g.container, reason: 'buffer_full' };
}
