// log, read from the engine's own json-file instead of the logs API: with
// the json-file driver and its folder readable (`/var/lib/docker/containers`
// mounted read-only at the same path), the container's `LogPath` is followed
// like `tail -F`. This spares dockerd reading its file back, decoding every
// entry and framing it over HTTP, and spares sidekick parsing that HTTP
// stream: on this machine the host spends 0.9 µs a line instead of 8.
//
// The lines go through the same intake as the API's, with the same cursor
// (Docker's time of a line and how many lines had that time), so a restart
// resumes where it stopped. A read starts at the oldest file, rotated ones
// (`<LogPath>.N`, `.N.gz`) included, that can hold a line after the cursor;
// the rest is followed until the container has exited and its file is read
// to the end.

import { Latch, once } from '../../observe/events.js';
import { Readable } from 'node:stream';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { JsonFileParser } from '../../docker/json-file.js';
import { normalizeTime } from '../../docker/time.js';
import type { FilePosition } from '../../core/record.js';
import type { TailedFile } from '../../core/record.js';
import type { Flow } from '../../core/flow.js';
import { sinceToTime } from '../../core/record.js';
import { fingerprintOf, fingerprintOfStart, FileTail, type NextFile } from '../files/file-tail.js';
import { Wake } from './log-file-wake.js';
import { endsCut, LogIntake, type IntakeContext, type LogCursor, type LogsTarget, type Rereading } from './log-intake.js';

/** An entry is at most a 16 KiB message, escaped, and its fields. */
const MAX_ENTRY = 256 * 1024;
/**
 * The path is looked at (a stat) this often without a change notice, in case
 * one is missed (inotify is reliable on local disks); read only if it shows
 * something new.
 */
const SAFETY_POLL_MS = 5000;
/** After a change notice, how long to wait for more before reading (well under the latency budget). */
const COALESCE_MS = 10;
const NL = 0x0a;
/** A rotated file being compressed is waited for this often, at most this many times. */
const COMPRESSING_WAIT_MS = 20;
const COMPRESSING_TRIES = 50;

export interface LogFileContext extends IntakeContext {
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** A read again for one sink that fell behind: paused while that sink is full (a live read never is). */
  readonly flow?: Flow;
  /** Set for a read again: it ends at the end of what is written (see Rereading). */
  readonly rereading?: Rereading;
  /** Counts an entry that could not be read (skipped). */
  readonly malformed?: () => void;
}

export interface LogFile {
  /** The container's `LogPath`. */
  readonly path: string;
  /** Resolves once the container has exited: its file is then read to the end, and the read ends. */
  readonly exited: Promise<void>;
  /** Where the previous run for this container stopped, in this process (its cursor is the target's). */
  readonly from: FilePosition | undefined;
}

/**
 * A file's mtime comes from the kernel's coarse clock (one tick: up to 10 ms
 * late of the fine clock Docker stamps lines with), so a file written just
 * after the line at the cursor can carry an mtime before that line's time.
 * Files are compared with the cursor this much earlier: one read too many
 * costs a skip through lines already read; one too few loses lines.
 */
const MTIME_SLACK_MS = 1_000;

/** A rotated file, opened as soon as it was listed, so that later rotations do not move it. */
interface Rotated {
  readonly fh: FileHandle;
  readonly gzip: boolean;
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  /** Of its first line; undefined while that is not whole (a .gz being written). */
  readonly fingerprint: string | undefined;
  /** Docker's time of its first line ('' if unreadable). */
  readonly firstTime: string;
}

/** What a read of a json-file ended with. */
export interface LogFileEnd {
  /** Where it stopped, for the next run. */
  readonly position: FilePosition | undefined;
  /** A file was found (false: removed with its container before it could be opened). */
  readonly found: boolean;
}

/** Follows the container's json-file until the container has exited and the file is read to its end. */
export async function followLogFile(target: LogsTarget, file: LogFile, ctx: LogFileContext): Promise<LogFileEnd> {
  let intake: LogIntake | undefined;
  const firstFault = once();
  const parser = new JsonFileParser(
    {
      line: (l) => intake!.line(l.stream, l.time, l.message, l.truncated, l.plain),
      malformed: (detail) => {
        ctx.malformed?.();
        if (firstFault()) ctx.log.warn({ container: target.meta.name, detail }, 'json-file: an entry could not be read (said once per read)');
      },
    },
    ctx.maxLine,
  );
  const tail = new FileTail(file.path, {
    maxLine: MAX_ENTRY,
    idleMs: Infinity,
    goneMs: 5000,
    renameOnly: true,
    line: (l) => parser.push(l.bytes, l.from, l.to),
    rotated: (finished, next) => (intake === undefined ? Promise.resolve() : readSkipped(file.path, finished, next, target, intake, parser, ctx)),
    signal: ctx.signal,
  });
  const wake = new Wake(file.path, ctx.signal, (st) => st !== undefined && tail.caughtUp(st));
  let exited = false;
  let found = false;
  void file.exited.then(() => {
    exited = true;
    wake.notify();
  });
  try {
    const begin = async (): Promise<void> => {
      if (file.from !== undefined && (await tail.resume(file.from))) {
        // Right after the last line read: nothing to skip.
        intake = new LogIntake(target, ctx, undefined);
        return;
      }
      // From the cursor, which lines read by an attempt that failed have moved on.
      const start = startOf(target);
      intake = new LogIntake(target, ctx, start.skipTo);
      const plan = await planRead(file.path, start);
      found = plan.rotated.length > 0;
      for (const r of plan.rotated) await readRotated(r, parser, intake, target, ctx);
      const c = plan.current;
      if (c === undefined) await tail.open(undefined);
      else tail.adopt(c.fh, c.dev, c.ino, c.offset, c.fingerprint);
    };
    const firstOpenFailure = once();
    while (!ctx.signal.aborted) {
      try {
        await begin();
        break;
      } catch (err) {
        if (firstOpenFailure())
          ctx.log.warn({ container: target.meta.name, path: file.path, err: (err as Error).message }, 'json-file cannot be opened; trying again');
        await wake.next(SAFETY_POLL_MS);
      }
    }
    /** The read error last said (undefined: none). */
    const readError = new Latch<string | undefined>(undefined);
    while (!ctx.signal.aborted) {
      // The live read has no flow: no wait (a promise) a line for nothing.
      if (ctx.flow?.paused === true) await ctx.flow.ready(ctx.signal);
      const finishing = exited;
      const result = await tail.poll();
      const error = tail.error;
      if (readError.enter(error) && error !== undefined)
        ctx.log.warn({ container: target.meta.name, path: file.path, err: error }, 'json-file cannot be read; trying again');
      // Busy (also while behind, reading a budget at a time): notices off, reads on a timer.
      const busy = (result === 'grew' || result === 'more') && (wake.paused || wake.busy());
      if (busy) wake.pause();
      if (result === 'more' || (result === 'grew' && finishing)) continue;
      // Removed with its container; or exited, and read to the end (and rotations followed) after that.
      if (result === 'closed' || (finishing && result === 'idle' && error === undefined)) break;
      if (busy) {
        await wake.sleep(COALESCE_MS);
        continue;
      }
      // Quiet again: notices back on, then one more read for what was written before they were.
      if (wake.resume()) continue;
      // A container printing fast changes its file thousands of times a second:
      // what it writes meanwhile is read in one go, not a read per change.
      await wake.next(SAFETY_POLL_MS, COALESCE_MS);
    }
    const cut = endsCut(ctx);
    if (!cut) parser.end();
    intake?.end(cut);
    return { position: tail.position(), found: found || tail.opened };
  } finally {
    wake.close();
    await tail.close();
  }
}

interface Start {
  /** Lines up to this are skipped (a cursor, or the time `since` names with no line at it yet). */
  readonly skipTo: LogCursor | undefined;
  /** Read only the last lines of the current file. */
  readonly tail: number | undefined;
}

function startOf(target: LogsTarget): Start {
  if (target.cursor !== undefined) return { skipTo: target.cursor, tail: undefined };
  // Docker's `since` keeps lines at that very time: none of them is skipped.
  if (target.since !== undefined) return { skipTo: { time: sinceToTime(target.since), count: 0 }, tail: undefined };
  return { skipTo: undefined, tail: target.tail };
}

/** The current file, open, and where to read it from. */
interface Current {
  readonly fh: FileHandle;
  readonly dev: number;
  readonly ino: number;
  readonly offset: number;
  readonly fingerprint: string | undefined;
}

/**
 * Which files to read and from where: the last `tail` lines of the current
 * file; or, to resume from a time, every file last written at or after it
 * (a file's last write is after its last line's time); or all of them. The
 * current file is opened first and handed on open: if it is rotated (and
 * compressed) before it is read, it is still read, and the files rotated
 * after it are found from it. (`listing`: the tests rotate the file between the open and the listing.)
 */
export async function planRead(
  path: string,
  start: Start,
  listing: (path: string) => Promise<Rotated[]> = rotatedChain,
): Promise<{ rotated: Rotated[]; current: Current | undefined }> {
  const fh = await open(path, 'r').catch(() => undefined);
  const st = await fh?.stat();
  const current = async (offset: number): Promise<Current | undefined> =>
    // No fingerprint while the first line is not whole: the tail takes it once it is.
    fh === undefined || st === undefined ? undefined : { fh, dev: st.dev, ino: st.ino, offset, fingerprint: await fingerprintOf(fh, false) };
  if (start.skipTo === undefined && start.tail !== undefined) {
    return { rotated: [], current: await current(fh === undefined ? 0 : await offsetOfLastLines(fh, st!.size, start.tail)) };
  }
  const after = start.skipTo === undefined ? -Infinity : Date.parse(start.skipTo.time) - MTIME_SLACK_MS;
  // Not written since: nothing in it or before it is new.
  if (st !== undefined && st.mtimeMs < after) return { rotated: [], current: await current(st.size) };
  const chain = await listing(path);
  // The current file, rotated since it was opened, is read as the current
  // one: found in the chain by its inode, or by its first line once
  // compressed (taken now, after the listing: it is whole by then if it was
  // rotated). Only the files before it are read first: those rotated after
  // it are the follower's, once it finds the rotation.
  const opened = await current(0);
  const at = opened === undefined ? -1 : chain.findIndex((r) => sameFile(r, opened));
  const rotated = (at < 0 ? chain : chain.slice(0, at)).filter((r) => r.mtimeMs >= after);
  await closeAll(chain.filter((r) => !rotated.includes(r)));
  return { rotated, current: opened };
}

/** Opens a file to read (the tests rotate files in the middle of a listing with it). */
export type OpenFile = (path: string) => Promise<FileHandle>;

const openToRead: OpenFile = (path) => open(path, 'r');

/**
 * The rotated files (`<path>.N`, `<path>.N.gz`), all opened at once, oldest
 * first by their first line's time: names shift with every rotation, the
 * open files and their first lines do not. A .gz of a plain file still there
 * is left out (the plain one is read). The listing is taken again while it is
 * not settled: a .gz still being written, a rotation during it, or a chain
 * that is not `complete` yet (the engine may already have renamed a plain
 * file over before it has created its .gz).
 */
export async function rotatedChain(
  path: string,
  complete: (chain: readonly Rotated[]) => boolean = () => true,
  openFile: OpenFile = openToRead,
): Promise<Rotated[]> {
  for (let attempt = 1; ; attempt++) {
    const { chain, settled } = await listRotated(path, openFile);
    if ((settled && complete(chain)) || attempt >= COMPRESSING_TRIES) return chain;
    await closeAll(chain);
    await new Promise((resolve) => setTimeout(resolve, COMPRESSING_WAIT_MS));
  }
}

async function rotatedNames(path: string): Promise<string[]> {
  const base = basename(path) + '.';
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(base) && /^\d+(\.gz)?$/.test(n.slice(base.length))).sort();
}

/**
 * One listing; `settled` is false when a .gz was still being written or when
 * the files moved while they were opened. A rotation renames every rotated
 * file one number up (`.1.gz` to `.2.gz`, ...), the oldest to a name not
 * listed yet: opened in the middle of one, a name can give the file already
 * opened under the next one, and the oldest file is missed. It shows as a
 * name that no longer holds the file opened under it (or holds none), or
 * as names other than those listed.
 */
async function listRotated(path: string, openFile: OpenFile): Promise<{ chain: Rotated[]; settled: boolean }> {
  const dir = dirname(path);
  const names = await rotatedNames(path);
  let moved = false;
  const opened = await Promise.all(
    names.map(async (name) => ({
      name,
      fh: await openFile(join(dir, name)).catch((err: unknown) => {
        moved ||= (err as NodeJS.ErrnoException).code === 'ENOENT';
        return undefined;
      }),
    })),
  );
  const all: Rotated[] = [];
  const seen = new Set<string>();
  let writing = false;
  for (const { name, fh } of opened) {
    if (fh === undefined) continue;
    const gzip = name.endsWith('.gz');
    const st = await fh.stat();
    const now = await stat(join(dir, name)).catch(() => undefined);
    moved ||= now === undefined || now.dev !== st.dev || now.ino !== st.ino;
    const key = `${st.dev}:${st.ino}`;
    const head = seen.has(key) ? undefined : await firstLine(fh, gzip);
    seen.add(key);
    const unfinished = gzip && head !== undefined && head.fingerprint === undefined;
    writing ||= unfinished;
    if (head === undefined || unfinished) {
      await fh.close();
      continue;
    }
    all.push({ fh, gzip, dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, ...head });
  }
  moved ||= (await rotatedNames(path)).join('/') !== names.join('/');
  const plain = new Set(all.filter((r) => !r.gzip).map((r) => r.fingerprint));
  const chain = all.filter((r) => !(r.gzip && plain.has(r.fingerprint)));
  await closeAll(all.filter((r) => !chain.includes(r)));
  return { chain: chain.sort((a, b) => (a.firstTime < b.firstTime ? -1 : a.firstTime > b.firstTime ? 1 : 0)), settled: !writing && !moved };
}

/**
 * A rotated file is `f` (opened earlier): the same inode while it is plain
 * (both are held open, so the inode is not reused), or the same first line
 * once compressed.
 */
function sameFile(r: Rotated, f: { readonly dev: number; readonly ino: number; readonly fingerprint: string | undefined }): boolean {
  return (r.dev === f.dev && r.ino === f.ino) || (f.fingerprint !== undefined && r.fingerprint === f.fingerprint);
}

async function closeAll(files: readonly Rotated[]): Promise<void> {
  await Promise.all(files.map((r) => r.fh.close().catch(() => undefined)));
}

/** A file's first line (through gzip for a .gz): its fingerprint and Docker time. */
async function firstLine(fh: FileHandle, gzip: boolean): Promise<{ fingerprint: string | undefined; firstTime: string }> {
  const buf = Buffer.allocUnsafe(gzip ? 64 * 1024 : MAX_ENTRY);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  let head = buf.subarray(0, bytesRead);
  if (gzip) {
    try {
      // A sync flush takes what a .gz still being written (or cut here) has so far.
      head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 4 * MAX_ENTRY });
    } catch {
      head = Buffer.alloc(0);
    }
  }
  const nl = head.indexOf(NL);
  let firstTime = '';
  if (nl >= 0) {
    try {
      const time = (JSON.parse(head.toString('utf8', 0, nl)) as { time?: unknown } | null)?.time;
      if (typeof time === 'string') firstTime = normalizeTime(time);
    } catch {
      // Not an entry: sorted first, read like the others.
    }
  }
  return { fingerprint: fingerprintOfStart(head, false), firstTime };
}

/** The offset of the `n`-th line from the end (0 if the file has fewer). */
async function offsetOfLastLines(fh: FileHandle, size: number, n: number): Promise<number> {
  if (n <= 0) return size;
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let end = size;
  // The "\n" that ends the last line is not a line start.
  let seen = -1;
  while (end > 0) {
    const from = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - from, from);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (chunk[i] !== NL) continue;
      if (++seen === n) return from + i + 1;
    }
    end = from;
  }
  return 0;
}

/**
 * After a rotation, the files rotated between the one just finished and the
 * one now open (when the container wrote faster than it was read): they sit
 * between the two in the chain of rotated files, each found by its inode
 * while it is plain (both are held open, so their inodes are not reused) or
 * by its first line once compressed. Should it not be found, every rotated
 * file older than the open one is read, skipping lines already read.
 */
async function readSkipped(
  path: string,
  finished: TailedFile | undefined,
  next: NextFile | undefined,
  target: LogsTarget,
  intake: LogIntake,
  parser: JsonFileParser,
  ctx: LogFileContext,
): Promise<void> {
  if (finished === undefined) return;
  const isFinished = (r: Rotated): boolean => sameFile(r, finished);
  const chain = await rotatedChain(path, (c) => c.some(isFinished));
  const from = chain.findIndex(isFinished);
  // The open file may have been rotated (and compressed) already: it is still read as the open one.
  let to = next === undefined ? -1 : chain.findIndex((r) => sameFile(r, next));
  if (to < 0) to = chain.length;
  const between = from < to ? chain.slice(from + 1, to) : [];
  await closeAll(chain.filter((r) => !between.includes(r)));
  if (between.length === 0) return;
  if (from < 0) {
    ctx.log.warn({ container: target.meta.name, path }, 'json-file rotated out before it was read: lines may be missing (raise max-file or max-size)');
  }
  intake.skipThrough(target.cursor);
  for (const r of between) await readRotated(r, parser, intake, target, ctx);
  intake.skipThrough(undefined);
}

/** Reads a rotated file whole; a .gz that ends early (still being compressed) is read again once it is done. */
async function readRotated(r: Rotated, parser: JsonFileParser, intake: LogIntake, target: LogsTarget, ctx: LogFileContext): Promise<void> {
  try {
    for (let attempt = 1; !ctx.signal.aborted; attempt++) {
      if (await readOnce(r, parser, ctx, attempt < COMPRESSING_TRIES)) return;
      // Read again from its start: what this read sent is skipped by the cursor it moved.
      intake.skipThrough(target.cursor);
      await new Promise((resolve) => setTimeout(resolve, COMPRESSING_WAIT_MS));
    }
  } finally {
    await r.fh.close().catch(() => undefined);
  }
}

async function* chunksOf(fh: FileHandle): AsyncGenerator<Buffer> {
  for (let at = 0; ; ) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, at);
    if (bytesRead === 0) return;
    at += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** One read of a rotated file to its end; false if a .gz ended early and `retry` allows another. */
async function readOnce(r: Rotated, parser: JsonFileParser, ctx: LogFileContext, retry: boolean): Promise<boolean> {
  const source = Readable.from(chunksOf(r.fh));
  const stream = r.gzip ? source.pipe(createGunzip()) : source;
  let rest: Buffer | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (ctx.signal.aborted) break;
      let buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      let at = 0;
      for (let nl = buf.indexOf(NL); nl >= 0; nl = buf.indexOf(NL, at)) {
        parser.push(buf, at, nl);
        at = nl + 1;
      }
      buf = buf.subarray(at);
      rest = buf.length === 0 ? undefined : Buffer.from(buf);
      await ctx.flow?.ready(ctx.signal);
    }
    return true;
  } catch (err) {
    if (r.gzip && retry && /unexpected end/.test((err as Error).message)) return false;
    ctx.log.warn({ err: (err as Error).message }, 'a rotated json-file could not be read to its end');
    return true;
  } finally {
    source.destroy();
    stream.destroy();
  }
}
