// The file format under a sink's disk buffer: an append-only log of frames
// in numbered segment files, each frame its length and a CRC-32 of its bytes.
// Frames are numbered in the order written (their index); a cursor file says
// up to which index the sink has acknowledged them, and a segment wholly
// acknowledged is deleted. Writes go to the kernel at every flush (a killed
// process loses nothing flushed) and to the disk at every sync (a power cut
// loses what was flushed since). A torn or corrupt frame (a crash mid-write,
// a flipped byte) ends its segment: the rest of it is skipped, reported
// once, and the next segment is read on. Nothing here throws for what it
// finds on disk; only the file system's own errors reach the caller.

import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** A segment file starts with this: a file of another kind (or version) is not read. */
/** The stage of frames not flushed yet: its first size, and the most kept after a flush. */
const STAGE_START = 64 * 1024;
const STAGE_KEPT = 4 * 1024 * 1024;
const MAGIC = Buffer.from('SKBUF\u0000\u0000\u0001', 'latin1');
const FRAME_HEADER = 8;
const SEGMENT_NAME = /^(\d{16})\.seg$/;
const CURSOR = 'cursor.json';
/** How much of a segment a read takes at once. */
const READ_CHUNK = 256 * 1024;

/** What was skipped in a segment, and why. */
export interface Corruption {
  readonly segment: string;
  /** Where in the file the bad frame starts. */
  readonly offset: number;
  /** Bytes skipped from there to the end of the segment. */
  readonly bytes: number;
  readonly why: string;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** The index of its first frame. */
  readonly first: number;
  /** Frames in it that can be read. */
  frames: number;
  /** Bytes in the file up to its last good frame. */
  size: number;
  /** Where each frame starts, once read or written: reads and acks find frames by index. */
  readonly offsets: number[];
}

export interface SegmentLogOptions {
  readonly dir: string;
  /** A segment is closed and a new one begun past this size. */
  readonly segmentBytes: number;
}

export class SegmentLog {
  private readonly segments: Segment[] = [];
  private fd: number | undefined;
  /**
   * Frames appended and not yet flushed to the file, each header and payload
   * encoded in place (no Buffer a record), and where each begins in it.
   */
  private stage = Buffer.allocUnsafe(STAGE_START);
  private pendingBytes = 0;
  private pendingAt: number[] = [];
  /** The index of the next frame appended. */
  private next = 0;
  /** Frames before this index are acknowledged. */
  private acked = 0;
  /** The next frame read() hands out. */
  private readAt = 0;
  private bytesOnDisk = 0;
  /** The number of the newest segment ever made here: a new one never reuses a number a cursor may name. */
  private lastSeq = 0;

  private constructor(
    private readonly options: SegmentLogOptions,
    private readonly corrupt: (c: Corruption) => void,
  ) {}

  /** Opens (or creates) the log in `dir`: every segment is checked, frame by frame, from the acknowledged cursor on. */
  static open(options: SegmentLogOptions, corrupt: (c: Corruption) => void): SegmentLog {
    const log = new SegmentLog(options, corrupt);
    log.load();
    return log;
  }

  /** Frames not acknowledged yet. */
  get frames(): number {
    return this.next - this.acked;
  }

  /** Frames not handed out by read() yet. */
  get unread(): number {
    return this.next - this.readAt;
  }

  /** The size of the segments on disk and of what waits to be flushed to them. */
  get bytes(): number {
    return this.bytesOnDisk + this.pendingBytes;
  }

  /** How much a payload of `length` bytes adds. */
  static cost(length: number): number {
    return FRAME_HEADER + length;
  }

  /** Appends a frame of `text` (whose UTF-8 length the caller knows: it weighed it against the size). */
  append(text: string, length = Buffer.byteLength(text)): void {
    const at = this.pendingBytes;
    const end = at + FRAME_HEADER + length;
    if (end > this.stage.length) this.growStage(end);
    const stage = this.stage;
    stage.write(text, at + FRAME_HEADER, length, 'utf8');
    stage.writeUInt32LE(length, at);
    stage.writeUInt32LE(crc32(stage.subarray(at + FRAME_HEADER, end)), at + 4);
    this.pendingAt.push(at);
    this.pendingBytes = end;
    this.next++;
  }

  /** Writes what was appended to the file system (not yet to the disk: see sync). */
  flush(): void {
    const starts = this.pendingAt;
    if (starts.length === 0) return;
    // The index of the first frame pending: a segment begun for it starts there.
    let index = this.next - starts.length;
    let segment = this.segments.at(-1);
    // Frames that go to one segment are written in one call.
    for (let i = 0; i < starts.length; ) {
      // Segments found at start are not written to: frames go to a new one.
      if (segment === undefined || this.fd === undefined || segment.size >= this.options.segmentBytes) segment = this.startSegment(index);
      const from = starts[i]!;
      let to = from;
      const at = segment.size;
      while (i < starts.length && (to === from || segment.size < this.options.segmentBytes)) {
        const size = FRAME_HEADER + this.stage.readUInt32LE(starts[i]!);
        segment.offsets.push(segment.size);
        segment.size += size;
        segment.frames++;
        to += size;
        i++;
        index++;
      }
      writeAll(this.fd!, this.stage.subarray(from, to), at);
      this.bytesOnDisk += to - from;
    }
    this.pendingAt = [];
    this.pendingBytes = 0;
    // One burst must not keep a large stage for good.
    if (this.stage.length > STAGE_KEPT) this.stage = Buffer.allocUnsafe(STAGE_START);
  }

  private growStage(needed: number): void {
    let size = this.stage.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.stage.copy(grown, 0, 0, this.pendingBytes);
    this.stage = grown;
  }

  /** Makes what was flushed durable (fsync of the open segment). */
  sync(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  /**
   * Up to `max` frames (and about `maxBytes`) from where the last read
   * stopped, flushed first; each is handed out once until reopened.
   */
  read(max: number, maxBytes: number): Buffer[] {
    this.flush();
    const out: Buffer[] = [];
    let bytes = 0;
    while (out.length < max && bytes < maxBytes && this.readAt < this.next) {
      const segment = this.segmentOf(this.readAt);
      if (segment === undefined) break;
      const got = this.readFrames(segment, this.readAt - segment.first, max - out.length, maxBytes - bytes);
      if (got.length === 0) break;
      for (const p of got) bytes += p.length;
      out.push(...got);
      this.readAt += got.length;
    }
    return out;
  }

  /**
   * Frames up to `index` (exclusive) are done with: segments wholly before
   * it are deleted, and the cursor is written (atomically) for a restart.
   */
  ack(index: number): void {
    if (index <= this.acked) return;
    this.acked = Math.min(index, this.next);
    if (this.readAt < this.acked) this.readAt = this.acked;
    while (this.segments.length > 1 && this.segments[0]!.first + this.segments[0]!.frames <= this.acked) this.deleteOldest();
    this.saveCursor();
  }

  /** The index read() hands out next: a batch read now ends at readIndex afterwards. */
  get readIndex(): number {
    return this.readAt;
  }

  /**
   * Drops the oldest segment (not the one being written): its frames not
   * handed out are lost (those handed out are the reader's to deliver; a
   * kill before it does loses them too). Answers how many, with the first
   * and last of them, which tell what was lost; undefined when there is no
   * such segment.
   */
  dropOldest(): { readonly lost: number; readonly first?: Buffer; readonly last?: Buffer } | undefined {
    if (this.segments.length < 2) return undefined;
    const oldest = this.segments[0]!;
    const start = Math.max(this.readAt, oldest.first);
    const end = oldest.first + oldest.frames;
    const lost = Math.max(0, end - start);
    const first = lost > 0 ? this.frame(start) : undefined;
    const last = lost > 0 ? this.frame(end - 1) : undefined;
    this.acked = Math.max(this.acked, end);
    if (this.readAt < end) this.readAt = end;
    this.deleteOldest();
    this.saveCursor();
    return { lost, ...(first === undefined ? {} : { first }), ...(last === undefined ? {} : { last }) };
  }

  /** The frame at `index`, flushed or not, while it is kept (acknowledged frames may be gone). */
  frame(index: number): Buffer | undefined {
    if (index < 0 || index >= this.next) return undefined;
    const firstPending = this.next - this.pendingAt.length;
    if (index >= firstPending) {
      const at = this.pendingAt[index - firstPending]! + FRAME_HEADER;
      return Buffer.from(this.stage.subarray(at, at + this.stage.readUInt32LE(at - FRAME_HEADER)));
    }
    const segment = this.segmentOf(index);
    return segment === undefined ? undefined : this.readFrames(segment, index - segment.first, 1, Infinity)[0];
  }

  /** The index of the oldest frame not acknowledged. */
  get ackIndex(): number {
    return this.acked;
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    this.saveCursor();
  }

  private load(): void {
    mkdirSync(this.options.dir, { recursive: true });
    const cursor = this.loadCursor();
    const names = readdirSync(this.options.dir)
      .map((n) => SEGMENT_NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let index = cursor?.first ?? 0;
    this.lastSeq = Math.max(cursor?.seq ?? 0, names.at(-1) ?? 0);
    for (const seq of names) {
      const path = join(this.options.dir, segmentName(seq));
      // Segments before the cursor's were acknowledged whole: deleted once more if a crash left them.
      if (cursor !== undefined && seq < cursor.seq) {
        unlinkSync(path);
        continue;
      }
      const segment: Segment = { seq, path, first: index, frames: 0, size: MAGIC.length, offsets: [] };
      this.scan(segment);
      if (segment.frames === 0) {
        unlinkSync(path);
        continue;
      }
      this.segments.push(segment);
      this.bytesOnDisk += segment.size;
      index += segment.frames;
    }
    this.next = index;
    const oldest = this.segments[0];
    // Acknowledged frames of the oldest segment are skipped, if the cursor is of that segment
    // (a crash between deleting a segment and writing the cursor sends the next one whole again).
    const skip = cursor !== undefined && oldest?.seq === cursor.seq ? Math.min(cursor.acked - cursor.first, oldest.frames) : 0;
    this.acked = (oldest?.first ?? index) + skip;
    this.readAt = this.acked;
  }

  /** Reads a segment's frames to count them, stopping at the first that is torn or corrupt. */
  private scan(segment: Segment): void {
    const fd = openSync(segment.path, 'r');
    try {
      const size = fstatSync(fd).size;
      const magic = Buffer.alloc(MAGIC.length);
      if (readSync(fd, magic, 0, MAGIC.length, 0) < MAGIC.length || !magic.equals(MAGIC)) {
        this.corrupt({ segment: segment.path, offset: 0, bytes: size, why: 'not a sidekick buffer segment' });
        return;
      }
      let at = MAGIC.length;
      const header = Buffer.alloc(FRAME_HEADER);
      while (at < size) {
        const why = this.checkFrame(fd, at, size, header);
        if (why !== undefined) {
          this.corrupt({ segment: segment.path, offset: at, bytes: size - at, why });
          break;
        }
        segment.offsets.push(at);
        segment.frames++;
        at += FRAME_HEADER + header.readUInt32LE(0);
      }
      segment.size = at;
    } finally {
      closeSync(fd);
    }
  }

  private checkFrame(fd: number, at: number, size: number, header: Buffer): string | undefined {
    if (at + FRAME_HEADER > size || readSync(fd, header, 0, FRAME_HEADER, at) < FRAME_HEADER) return 'a frame cut short (torn write)';
    const length = header.readUInt32LE(0);
    if (at + FRAME_HEADER + length > size) return 'a frame cut short (torn write)';
    const payload = Buffer.allocUnsafe(length);
    readSync(fd, payload, 0, length, at + FRAME_HEADER);
    return crc32(payload) === header.readUInt32LE(4) ? undefined : 'a frame whose checksum does not match';
  }

  private readFrames(segment: Segment, from: number, max: number, maxBytes: number): Buffer[] {
    const count = Math.min(max, segment.frames - from);
    if (count <= 0) return [];
    const start = segment.offsets[from]!;
    const fd = segment === this.segments.at(-1) && this.fd !== undefined ? this.fd : openSync(segment.path, 'r');
    try {
      const out: Buffer[] = [];
      let bytes = 0;
      let chunk = Buffer.alloc(0);
      let chunkAt = start;
      for (let i = from; i < from + count && bytes < maxBytes; i++) {
        const at = segment.offsets[i]!;
        const end = i + 1 < segment.frames ? segment.offsets[i + 1]! : segment.size;
        if (end > chunkAt + chunk.length) {
          chunk = Buffer.allocUnsafe(Math.max(READ_CHUNK, end - at));
          chunkAt = at;
          readSync(fd, chunk, 0, Math.min(chunk.length, segment.size - at), at);
        }
        out.push(chunk.subarray(at - chunkAt + FRAME_HEADER, end - chunkAt));
        bytes += end - at - FRAME_HEADER;
      }
      return out;
    } finally {
      if (fd !== this.fd) closeSync(fd);
    }
  }

  private segmentOf(index: number): Segment | undefined {
    for (const s of this.segments) if (index >= s.first && index < s.first + s.frames) return s;
    return undefined;
  }

  private startSegment(first: number): Segment {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
    }
    const seq = ++this.lastSeq;
    const path = join(this.options.dir, segmentName(seq));
    this.fd = openSync(path, 'w+');
    writeAll(this.fd, MAGIC, 0);
    const segment: Segment = { seq, path, first, frames: 0, size: MAGIC.length, offsets: [] };
    this.segments.push(segment);
    this.bytesOnDisk += MAGIC.length;
    return segment;
  }

  private deleteOldest(): void {
    const oldest = this.segments.shift()!;
    unlinkSync(oldest.path);
    this.bytesOnDisk -= oldest.size;
  }

  private loadCursor(): { seq: number; first: number; acked: number } | undefined {
    try {
      const c = JSON.parse(readFileSync(join(this.options.dir, CURSOR), 'utf8')) as { seq?: unknown; first?: unknown; acked?: unknown };
      if (typeof c.seq === 'number' && typeof c.first === 'number' && typeof c.acked === 'number' && c.acked >= c.first) {
        return { seq: c.seq, first: c.first, acked: c.acked };
      }
    } catch {
      // No cursor (a new buffer) or an unreadable one: every frame on disk is read again.
    }
    return undefined;
  }

  /** The oldest segment kept and how far into it frames are acknowledged, replaced whole (a crash leaves the old or the new). */
  private saveCursor(): void {
    const oldest = this.segments[0];
    const cursor = oldest === undefined ? { seq: 0, first: this.acked, acked: this.acked } : { seq: oldest.seq, first: oldest.first, acked: this.acked };
    const path = join(this.options.dir, CURSOR);
    writeFileSync(`${path}.tmp`, JSON.stringify(cursor));
    renameSync(`${path}.tmp`, path);
  }
}

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.seg`;
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, buf.length - done, position + done);
}
