// Follows one log file by its path, like `tail -F`: reads what is appended,
// follows a rename rotation (finishes the old file through its open
// descriptor, then opens the new one at the path), notices copytruncate (the
// file shrank, or its first line changed) and starts over at 0, and waits a
// while for a deleted file to come back before giving up. Lines are split on
// "\n" (a "\r" before it is trimmed); a line longer than the maximum is cut and
// marked; a last line without "\n" is sent once the file has been idle for a
// while. Each line carries the file's identity and its byte range, so a
// restart resumes after the last line every sink is done with. Lines are
// handed over as bytes: the engine's json-file lines are decoded field by
// field, never as a whole.

import { createHash } from 'node:crypto';
import { read as readFd } from 'node:fs';
import { readdir, stat, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FilePosition } from '../../core/record.js';
import type { Mutable, TailedFile } from '../../core/record.js';

const NL = 0x0a;
const CR = 0x0d;
const CHUNK = 64 * 1024;
/** Bytes read at most per call of `poll`, so one busy file does not starve the others. */
const READ_BUDGET = 1024 * 1024;
/** A read's first buffer: enough for what a quiet file adds between two polls. */
const SMALL_CHUNK = 4 * 1024;
/**
 * Read buffers, shared by all files (one per file would keep 4 or 64 KiB for
 * each of hundreds of idle containers): a read takes a small one, and a big
 * one once it has more than a small one holds, and gives them back after it.
 * Nothing is kept of a buffer once given back: a line is handed over during
 * the read, a partial one kept as a copy. Kept for the next reads: this many
 * small ones, and fewer big ones: at start every container's log is read at
 * once, each with a big buffer, and eight kept after it were half a MiB
 * resident for as long as sidekick ran (watching 220 containers from their
 * json-files, a quiet one reads into a small one).
 */
const SPARE_SMALL = 8;
const SPARE_BIG = 2;
const spareBig: Buffer[] = [];
const spareSmall: Buffer[] = [];
/** The fingerprint covers the first line, up to this many bytes. */
const FINGERPRINT_BYTES = 256;

let generations = 0;

/**
 * `fs.read` at `position` on the handle's descriptor. A FileHandle's own
 * read allocates about three times as much a call (a promise request with
 * its stats array, and a result object), and a quiet container's json-file
 * is read once a line: watching 220 containers, the reads were a third of
 * what the json-file followers allocated.
 */
function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => readFd(fd, buf, 0, buf.length, position, (err, n) => (err === null ? resolve(n) : reject(err))));
}

export interface TailLine {
  readonly file: TailedFile;
  /**
   * The line is `bytes[from, to)`, without its "\n" (nor a "\r" before it),
   * for the caller to decode: only what it keeps becomes a string. `bytes`
   * is the read buffer, and this object the tail's, both used again for the
   * next line: valid only during the call.
   */
  readonly bytes: Buffer;
  readonly from: number;
  readonly to: number;
  readonly truncated: boolean;
  readonly start: number;
  readonly end: number;
}

export interface TailOptions {
  readonly maxLine: number;
  /** A last line without "\n" is sent after the file has not grown for this long. */
  readonly idleMs: number;
  /**
   * The writer only appends, and rotates by renaming (the engine's json-file):
   * the path is looked at only when the file has nothing new, and truncation
   * (copytruncate) is not looked for.
   */
  readonly renameOnly?: boolean;
  /** A deleted file is closed after it has not come back for this long. */
  readonly goneMs: number;
  readonly line: (line: TailLine) => void;
  /**
   * Called when the file was rotated, once the old one is read to its end and
   * the new one is open but not read yet: where files rotated between the two
   * (more than one rotation since the last read) can be read. `finished` is
   * the old file (undefined if it had no line); `next` the new one (undefined
   * if there is none yet).
   */
  readonly rotated?: (finished: TailedFile | undefined, next: NextFile | undefined) => Promise<void>;
  /**
   * Once aborted, nothing more is read: a read the hook cut short (a rotated
   * file's, when sidekick stops) is not followed by the next file's lines,
   * which would leave the rest of it behind the cursor, never read.
   */
  readonly signal?: AbortSignal;
}

/** The file opened after a rotation: its fingerprint is undefined while its first line is not whole. */
export interface NextFile {
  readonly dev: number;
  readonly ino: number;
  readonly fingerprint: string | undefined;
}

/** idle: all read, the path looked at; more: the read budget ran out; grew: all read, the path not looked at (renameOnly); closed: gone. */
export type PollResult = 'idle' | 'more' | 'grew' | 'closed';

/** Hex SHA-256 of a file's first line (at most 256 bytes); undefined while it has no full line yet and `force` is false. */
export async function fingerprintOf(fh: FileHandle, force: boolean): Promise<string | undefined> {
  const buf = Buffer.alloc(FINGERPRINT_BYTES);
  const { bytesRead } = await fh.read(buf, 0, FINGERPRINT_BYTES, 0);
  return fingerprintOfStart(buf.subarray(0, bytesRead), force);
}

/** The fingerprint of a file that starts with `head` (its first 256 bytes, or all of it if shorter). */
export function fingerprintOfStart(head: Buffer, force = true): string | undefined {
  const start = head.subarray(0, FINGERPRINT_BYTES);
  const nl = start.indexOf(NL);
  const end = nl >= 0 ? nl + 1 : start.length;
  if (nl < 0 && start.length < FINGERPRINT_BYTES && (!force || start.length === 0)) return undefined;
  return createHash('sha256').update(start.subarray(0, end)).digest('hex');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class FileTail {
  private fh: FileHandle | undefined;
  /** The read of the descriptor in flight, if any (closeHandle waits for it). */
  private reading: Promise<number> | undefined;
  private file: TailedFile | undefined;
  private dev = 0;
  private ino = 0;
  /** Where the next read starts. */
  private offset = 0;
  /** The bytes of the line being read, not yet ended by "\n". */
  private parts: Buffer[] = [];
  private partLength = 0;
  private lineStart = 0;
  /** The line being read is over the maximum: the rest of it is skipped. */
  private cut = false;
  private grewAt = Date.now();
  private goneSince: number | undefined;
  private closed = false;
  /** What `line` is given, filled again for each line: no object a line. */
  private current: Mutable<TailLine> | undefined;
  /** Why the file could not be read, until it can again (for the caller to report once). */
  error: string | undefined;
  /** A file was open at some point (false: it never existed while tailed). */
  opened = false;

  constructor(
    readonly path: string,
    private readonly options: TailOptions,
  ) {}

  /**
   * Opens the file: from `saved` when it is the same file (the same inode and
   * first line), or when the saved file was renamed away in the same folder
   * (it is finished first); else from the start.
   */
  async open(saved: FilePosition | undefined): Promise<void> {
    if (saved !== undefined) {
      if (await this.openAt(this.path, saved)) return;
      const rotated = await this.findRotated(saved);
      if (rotated !== undefined && (await this.openAt(rotated, saved))) return;
    }
    await this.openCurrent();
  }

  /** Opens the file at `saved` only if the path still holds that very file; false (and nothing open) if not. */
  async resume(saved: FilePosition): Promise<boolean> {
    return this.openAt(this.path, saved);
  }

  /**
   * Reads on from a file already open (found at the path when it was opened,
   * and maybe renamed since): a rotation is then noticed at the first poll,
   * and the old file finished through this handle.
   */
  adopt(fh: FileHandle, dev: number, ino: number, offset: number, fingerprint: string | undefined): void {
    this.take(fh, dev, ino, offset);
    if (fingerprint !== undefined) this.identify(fingerprint);
  }

  /** Reads what is new; 'more' when the read budget ran out with more to read. */
  async poll(now = Date.now()): Promise<PollResult> {
    if (this.closed) return 'closed';
    try {
      if (this.fh === undefined) {
        if (!(await this.openCurrent())) return this.missing(now);
      } else if (this.options.renameOnly === true) {
        // Still growing: not rotated since (a rotated file stops growing), so no need to look at the path.
        const read = await this.read();
        if (read >= READ_BUDGET) return 'more';
        if (read > 0) {
          this.error = undefined;
          return 'grew';
        }
      }
      const current = await stat(this.path).catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (current === undefined) {
        if ((await this.read()) >= READ_BUDGET) return 'more';
        this.flushIdle(now, true);
        return this.missing(now);
      }
      this.goneSince = undefined;
      /** Another file is open now than the one `current` describes. */
      let reopened = false;
      if (current.dev !== this.dev || current.ino !== this.ino) {
        reopened = true;
        // Rotated: the rest of the old file first, then the new one from its start.
        await this.read(Infinity);
        this.flushLine(true);
        const finished = this.file;
        const old = this.fh;
        this.fh = undefined;
        try {
          await this.openCurrent();
          // The old file is still open while the hook looks for it: its inode cannot be reused meanwhile.
          const next = this.fh === undefined ? undefined : { dev: this.dev, ino: this.ino, fingerprint: await fingerprintOf(this.fh, false) };
          await this.options.rotated?.(finished, next);
        } finally {
          // Closed even when what replaced it cannot be read: it is read to its end, and nothing else holds it.
          await old?.close().catch(() => undefined);
        }
      } else if (this.options.renameOnly !== true && (await this.wasTruncated(current.size))) {
        this.flushLine(true);
        this.restart();
      }
      // No longer than what was read: nothing to read (a quiet file's poll is a stat, not a stat and a read).
      const more = (reopened || current.size > this.offset) && (await this.read()) >= READ_BUDGET;
      if (!more) this.flushIdle(now, false);
      this.error = undefined;
      return more ? 'more' : 'idle';
    } catch (err) {
      this.error = (err as Error).message;
      return 'idle';
    }
  }

  /**
   * Reads on in the file open now, never looking at its path (what a read
   * again for a sink does: a rotation is the live read's); whether the read
   * budget ran out with more to read.
   */
  async readOn(): Promise<boolean> {
    return (await this.read()) >= READ_BUDGET;
  }

  /**
   * A poll would find nothing: the path's stat `st` shows the file open, read
   * to its size, and no fault is pending. (Tells a follower woken without a
   * change notice whether to poll at all.)
   */
  caughtUp(st: { readonly dev: number; readonly ino: number; readonly size: number }): boolean {
    return this.fh !== undefined && this.error === undefined && st.dev === this.dev && st.ino === this.ino && st.size === this.offset;
  }

  /** Where the next run goes on from: after the last line sent (undefined until the file has a line). */
  position(): FilePosition | undefined {
    return this.file === undefined ? undefined : { ...this.file, offset: this.lineStart };
  }

  /** Stops reading; a line not yet ended is read again by the next run. */
  async close(): Promise<void> {
    this.closed = true;
    await this.closeHandle();
  }

  private async missing(now: number): Promise<PollResult> {
    this.goneSince ??= now;
    if (now - this.goneSince < this.options.goneMs) return 'idle';
    await this.close();
    return 'closed';
  }

  private async openCurrent(): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.path, 'r');
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    const st = await fh.stat();
    this.take(fh, st.dev, st.ino, 0);
    return true;
  }

  /** Opens `path` at the saved offset if it is the saved file. */
  private async openAt(path: string, saved: FilePosition): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    const st = await fh.stat();
    const same = st.dev === saved.dev && st.ino === saved.ino && (await fingerprintOf(fh, true)) === saved.fingerprint;
    if (!same) {
      await fh.close();
      return false;
    }
    this.take(fh, st.dev, st.ino, st.size < saved.offset ? 0 : saved.offset);
    // A position of this run (a read again for a sink) keeps its file's generation: its lines compare with the live read's.
    const generation = saved.generation >= 0 ? saved.generation : ++generations;
    this.file = { path: this.path, dev: st.dev, ino: st.ino, fingerprint: saved.fingerprint, generation };
    return true;
  }

  /** The saved file under another name in the same folder (renamed while sidekick was not running). */
  private async findRotated(saved: FilePosition): Promise<string | undefined> {
    const dir = dirname(this.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (path === this.path) continue;
      const st = await stat(path).catch(() => undefined);
      if (st?.ino === saved.ino && st.dev === saved.dev) return path;
    }
    return undefined;
  }

  private take(fh: FileHandle, dev: number, ino: number, offset: number): void {
    this.opened = true;
    this.fh = fh;
    this.dev = dev;
    this.ino = ino;
    this.file = undefined;
    this.offset = offset;
    this.lineStart = offset;
    this.parts = [];
    this.partLength = 0;
    this.cut = false;
    this.grewAt = Date.now();
  }

  private restart(): void {
    this.offset = 0;
    this.lineStart = 0;
    this.parts = [];
    this.partLength = 0;
    this.cut = false;
    this.file = undefined;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    // A read of its descriptor still in flight ends first: the descriptor's number is not to be reused under it.
    await this.reading?.catch(() => undefined);
    await fh?.close().catch(() => undefined);
  }

  /** Shrunk below what was read, or another first line: copytruncate (then written again). */
  private async wasTruncated(size: number): Promise<boolean> {
    if (size < this.offset) return true;
    if (this.file === undefined || this.offset === 0) return false;
    const now = await fingerprintOf(this.fh!, true);
    return now !== undefined && now !== this.file.fingerprint;
  }

  /** Reads up to `budget` bytes (and the rest of a chunk); how many it read. */
  private async read(budget = READ_BUDGET): Promise<number> {
    const fh = this.fh;
    if (fh === undefined) return 0;
    // A quiet file (most polls find nothing or a line) is read into a small
    // buffer; more than fits takes a big one.
    const small = spareSmall.pop() ?? Buffer.allocUnsafe(SMALL_CHUNK);
    let buf = small;
    let big: Buffer | undefined;
    try {
      let total = 0;
      // Closed meanwhile (close() does not wait for a poll), or aborted: nothing more is read.
      while (this.fh === fh && this.options.signal?.aborted !== true) {
        this.reading = readAt(fh.fd, buf, this.offset);
        const bytesRead = await this.reading;
        if (bytesRead === 0) return total;
        this.grewAt = Date.now();
        if (this.file === undefined) {
          const fingerprint = await fingerprintOf(fh, false);
          if (fingerprint !== undefined) this.identify(fingerprint);
        }
        this.split(buf.subarray(0, bytesRead));
        total += bytesRead;
        // A short read is the end of the file for now: no second read to learn it.
        if (total >= budget || bytesRead < buf.length) return total;
        buf = big ??= spareBig.pop() ?? Buffer.allocUnsafe(CHUNK);
      }
      return total;
    } finally {
      this.reading = undefined;
      if (spareSmall.length < SPARE_SMALL) spareSmall.push(small);
      if (big !== undefined && spareBig.length < SPARE_BIG) spareBig.push(big);
    }
  }

  private identify(fingerprint: string): void {
    this.file = { path: this.path, dev: this.dev, ino: this.ino, fingerprint, generation: ++generations };
  }

  private split(chunk: Buffer): void {
    let at = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, at);
      if (nl < 0) break;
      this.offset += nl + 1 - at;
      if (this.partLength === 0 && !this.cut) {
        // The whole line is in this chunk: handed over in it, not copied first.
        this.emit(chunk, at, nl, false);
      } else {
        this.add(chunk.subarray(at, nl));
        this.flushLine(false);
      }
      at = nl + 1;
    }
    if (at < chunk.length) {
      this.add(chunk.subarray(at));
      this.offset += chunk.length - at;
    }
  }

  /** Keeps a line's bytes up to the maximum (and one more, to know it was cut). */
  private add(piece: Buffer): void {
    if (this.cut) return;
    const room = this.options.maxLine + 1 - this.partLength;
    if (piece.length > room) {
      piece = piece.subarray(0, room);
      this.cut = true;
    }
    if (piece.length === 0) return;
    // The read buffer is used again by the next read: copy what waits.
    this.parts.push(Buffer.from(piece));
    this.partLength += piece.length;
  }

  /** Sends the line read so far (ended by "\n", or by the end of its file when `final`). */
  private flushLine(final: boolean): void {
    if (final && this.partLength === 0 && !this.cut) return;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partLength);
    this.emit(bytes, 0, bytes.length, this.cut);
  }

  /** Hands over the line `bytes[from, to)`. */
  private emit(bytes: Buffer, from: number, to: number, cut: boolean): void {
    let truncated = cut;
    if (to - from > this.options.maxLine) {
      to = from + this.options.maxLine;
      truncated = true;
    }
    if (!truncated && to > from && bytes[to - 1] === CR) to--;
    this.file ??= this.fallbackIdentity(bytes.subarray(from, to));
    this.current ??= { file: this.file, bytes, from, to, truncated, start: 0, end: 0 };
    const l = this.current;
    l.file = this.file;
    l.bytes = bytes;
    l.from = from;
    l.to = to;
    l.truncated = truncated;
    l.start = this.lineStart;
    l.end = this.offset;
    this.options.line(l);
    if (this.partLength > 0) {
      this.parts = [];
      this.partLength = 0;
    }
    this.cut = false;
    this.lineStart = this.offset;
  }

  /** A file whose first line has no "\n" yet is known by the bytes it has. */
  private fallbackIdentity(bytes: Buffer): TailedFile {
    const fingerprint = createHash('sha256').update(bytes.subarray(0, FINGERPRINT_BYTES)).digest('hex');
    return { path: this.path, dev: this.dev, ino: this.ino, fingerprint, generation: ++generations };
  }

  /** A last line without "\n": sent once the file has been idle long enough (or is finished). */
  private flushIdle(now: number, finished: boolean): void {
    if (this.partLength === 0 && !this.cut) return;
    if (finished || now - this.grewAt >= this.options.idleMs) this.flushLine(true);
  }
}
