// What a sink's driver asks of its buffer, whatever keeps the records: memory
// (memory.ts, per-container lanes) or disk (disk/, segment files that
// survive a restart). One contract, so a sink, its driver and its acks never
// know which one they have.

import type { Envelope, SidekickRecord } from '../../core/record.js';
import type { Gap } from './gaps.js';

export const BUFFER_POLICIES = ['drop-oldest', 'drop-newest', 'block'] as const;
export type BufferPolicy = (typeof BUFFER_POLICIES)[number];

export const DEFAULT_BUFFER_RECORDS = 1_000_000;
export const DEFAULT_BUFFER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_DISK_BYTES = 1024 * 1024 * 1024;

/** A sink's buffer as configured (?buffer=, ?buffer_records=, ?policy=, ?disk=). */
export type BufferOptions = {
  readonly policy: BufferPolicy;
} & (
  | { readonly kind: 'memory'; readonly records: number; readonly bytes: number }
  | {
      readonly kind: 'disk';
      /** The most the segments may take on disk. */
      readonly bytes: number;
      /** Names the buffer's folder: the sink's destination, so that a restart finds it again. */
      readonly key: string;
    }
);

export const DEFAULT_BUFFER: BufferOptions = {
  kind: 'memory',
  records: DEFAULT_BUFFER_RECORDS,
  bytes: DEFAULT_BUFFER_BYTES,
  policy: 'drop-oldest',
};

/**
 * What a disk buffer holds in memory at most, near enough: what is staged
 * until written (1 MiB at most) and batches read back and in flight.
 */
const DISK_BUFFER_MEMORY = 8 * 1024 * 1024;

/** The memory the sinks' buffers may hold when full: what the heap limit is made for. */
export function memoryOfBuffers(buffers: readonly BufferOptions[]): number {
  return buffers.reduce((n, b) => n + (b.kind === 'memory' ? b.bytes : DISK_BUFFER_MEMORY), 0);
}

/** What acks ask of a sink's buffer about the records waiting in it (those whose source may not move past them yet). */
export interface Waiting {
  /** For each source (position key), the oldest of its records waiting. */
  oldestPositioned(): Map<string, SidekickRecord>;
  /** The oldest record of one source waiting, found without looking at the others. */
  firstPositioned(key: string): SidekickRecord | undefined;
  /** The oldest record waiting of each container (and of no container). */
  heads(): Iterable<SidekickRecord>;
}

export interface SinkBuffer extends Waiting {
  readonly policy: BufferPolicy;
  /** Records waiting to be taken. */
  readonly length: number;
  /** Records it holds: those waiting, and (on disk) those taken until acknowledged. */
  readonly records: number;
  /** What they take (memory, or disk). */
  readonly bytes: number;
  /** At or over its limit: under `block`, the sources pause. */
  readonly full: boolean;
  /** Down to half its limit: a `block` sink lets the sources go on. */
  readonly drained: boolean;
  /** The time of the oldest record it holds, if any. */
  oldestTime(): string | undefined;
  /** Adds a record, making room by the policy; returns how many records were dropped. */
  push(e: Envelope, now?: number): number;
  /** Takes up to `max` records (and about `maxBytes`) to write. */
  shift(max: number, maxBytes?: number): Envelope[];
  /** The sink is done with records shift() gave (delivered, rejected or given up), in the batch they went in. */
  settled(batch: readonly Envelope[]): void;
  /**
   * Told each batch of records kept so that their sources may move past
   * them before the sink has them: a disk buffer as it writes them; a
   * memory buffer never.
   */
  onStored(listener: (batch: readonly Envelope[]) => void): void;
  /**
   * Records of one source the driver did not keep, `record` the first of them
   * (full under `block`: what cannot be read again; or what a sink that fell
   * behind can no longer read again): counted in a gap like its own drops.
   */
  lost(record: SidekickRecord, count: number, latest: string, now: number): void;
  /** Drop episodes that are over (see Gaps.take). */
  takeGaps(now: number, quietMs: number, maxAgeMs: number): Gap[];
  /** Drop episodes not yet taken. */
  readonly openGaps: number;
  /** Shutdown: what it holds is kept (disk) or given up (memory). */
  close(): void;
}
