// Where each container's logs and each tailed file were read up to, kept
// across restarts of sidekick: per container, the position (Docker's time,
// and how many lines at that time), per file path, the file (device, inode,
// fingerprint) and byte offset, up to which every sink is done with the lines
// (delivered, or dropped or rejected by policy), in SIDEKICK_STATE_DIR.
//
// Two files: a snapshot, rewritten at most once a second atomically (a
// temporary file renamed over the old one), and a journal that each batch a
// sink is done with appends the positions it advanced to. A kill loses at
// most what was in flight: the journal is one write(2) per batch, and the
// snapshot keeps it short. A restart resumes each container from its
// position. A failing disk is reported once and retried; it never stops
// collection.

import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { FilePosition, LogPosition, SinkChannel } from './channel.js';
import { furthestPosition, leastPosition, samePosition } from './log-position.js';
import { fileSourceKey, isPositioned, sameSource, sourceKey, type Envelope, type PositionedRecord } from './record.js';

const SNAPSHOT = 'checkpoints.json';
const JOURNAL = 'checkpoints.journal';
const VERSION = 1;
const SNAPSHOT_MS = 1000;

interface FileShape {
  readonly version: number;
  readonly containers: Record<string, LogPosition>;
  readonly files?: Record<string, FilePosition>;
}

/** One journal line: a position advanced, or a container or file forgotten. */
type JournalEntry =
  | ({ readonly id: string } & LogPosition)
  | { readonly id: string; readonly forget: true }
  | ({ readonly file: string } & FilePosition)
  | { readonly file: string; readonly forget: true };

function isPlace(p: unknown): p is { time: string; count: number } {
  const q = p as Partial<LogPosition> | null;
  return typeof q?.time === 'string' && Number.isInteger(q.count);
}

function isPosition(p: unknown): p is LogPosition {
  if (!isPlace(p)) return false;
  const ahead = (p as LogPosition).ahead;
  return ahead === undefined || (isPlace(ahead) && (ahead.stream === 'stdout' || ahead.stream === 'stderr'));
}

/** A log position as saved: just its fields. */
function logPosition(p: LogPosition): LogPosition {
  const { time, count, ahead } = p;
  return ahead === undefined ? { time, count } : { time, count, ahead: { stream: ahead.stream, time: ahead.time, count: ahead.count } };
}

function isFilePosition(p: unknown): p is FilePosition {
  const q = p as Partial<FilePosition> | null;
  return typeof q?.path === 'string' && Number.isInteger(q.dev) && Number.isInteger(q.ino) && typeof q.fingerprint === 'string' && Number.isInteger(q.offset);
}

/** A file position as saved: generations belong to the run that counted them. */
function filePosition(p: FilePosition): FilePosition {
  return { path: p.path, dev: p.dev, ino: p.ino, fingerprint: p.fingerprint, generation: -1, offset: p.offset };
}

function sameFilePosition(a: FilePosition, b: FilePosition): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.fingerprint === b.fingerprint && a.offset === b.offset;
}

/** Of two positions in one run, the one further on (a later file, or further in the same one). */
function fileLater(a: FilePosition, b: FilePosition): boolean {
  return a.generation > b.generation || (a.generation === b.generation && a.offset > b.offset);
}

export class Checkpoints {
  private readonly positions = new Map<string, LogPosition>();
  private readonly files = new Map<string, FilePosition>();
  /** What the snapshot and journal on disk hold, to append only what moved. */
  private readonly onDisk = new Map<string, LogPosition>();
  private readonly filesOnDisk = new Map<string, FilePosition>();
  private timer: NodeJS.Timeout | undefined;
  private journalFd: number | undefined;
  private written = '';
  /** A position moved since the snapshot was last written. */
  private moved = true;
  private failing = false;
  /** Failed writes (a full or read-only disk), for metrics. */
  writeErrors = 0;

  constructor(
    private readonly dir: string | undefined,
    private readonly channels: readonly SinkChannel[],
    private readonly log: Logger,
  ) {
    for (const c of channels) c.onSettled((batch) => this.journal(batch));
  }

  /** Reads what the last run left. Missing files are a first start; a broken snapshot is reported and ignored. */
  load(): void {
    if (this.dir === undefined) return;
    let text: string | undefined;
    try {
      text = readFileSync(join(this.dir, SNAPSHOT), 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        const data = JSON.parse(text) as FileShape;
        if (data.version !== VERSION) throw new Error(`version ${data.version}`);
        for (const [id, p] of Object.entries(data.containers)) if (isPosition(p)) this.positions.set(id, logPosition(p));
        for (const [path, p] of Object.entries(data.files ?? {})) if (isFilePosition(p)) this.files.set(path, filePosition(p));
        this.written = text;
      } catch (err) {
        this.log.warn({ dir: this.dir, err: (err as Error).message }, 'checkpoint file unreadable; starting without it');
      }
    }
    this.replayJournal();
    this.markOnDisk();
  }

  get(id: string): LogPosition | undefined {
    return this.positions.get(id);
  }

  /** Containers with a checkpoint. */
  ids(): string[] {
    return [...this.positions.keys()];
  }

  /** Where the file last read at `path` was done with, by an earlier run. */
  file(path: string): FilePosition | undefined {
    return this.files.get(path);
  }

  /** A file that is gone: its position is of no more use. */
  forgetFile(path: string): void {
    if (this.files.delete(path)) this.moved = true;
    for (const c of this.channels) c.forget(fileSourceKey(path));
    if (this.filesOnDisk.delete(path)) this.append(`${JSON.stringify({ file: path, forget: true } satisfies JournalEntry)}\n`);
  }

  start(): void {
    if (this.dir === undefined || this.timer !== undefined) return;
    this.save();
    this.timer = setInterval(() => this.save(), SNAPSHOT_MS);
    this.timer.unref();
  }

  /** A destroyed container: its position is of no more use. */
  forget(id: string): void {
    if (this.positions.delete(id)) this.moved = true;
    for (const c of this.channels) c.forget(id);
    if (this.onDisk.delete(id)) this.append(`${JSON.stringify({ id, forget: true } satisfies JournalEntry)}\n`);
  }

  /** Takes what the sinks are done with, and writes a snapshot if it changed; the journal starts over. */
  save(): void {
    this.update();
    if (this.dir === undefined || (!this.moved && this.journalFd !== undefined)) return;
    const files = this.files.size === 0 ? undefined : Object.fromEntries([...this.files].map(([path, p]) => [path, filePosition(p)]));
    const text = JSON.stringify({ version: VERSION, containers: Object.fromEntries(this.positions), files } satisfies FileShape);
    if (text === this.written && this.journalFd !== undefined) return;
    const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true });
      if (text !== this.written) {
        writeFileSync(tmp, text);
        renameSync(tmp, join(this.dir, SNAPSHOT));
        this.written = text;
      }
      // After the rename: a kill between the two leaves a journal the snapshot already covers.
      this.journalFd ??= openSync(join(this.dir, JOURNAL), 'a');
      ftruncateSync(this.journalFd, 0);
      this.moved = false;
      this.markOnDisk();
      this.recovered();
    } catch (err) {
      this.failed(err as Error);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.save();
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  /** A sink is done with a batch: the positions it advanced go to the journal at once. */
  private journal(batch: readonly Envelope[]): void {
    if (this.journalFd === undefined) return;
    let text = '';
    const keys = new Set<string>();
    let previous: PositionedRecord | undefined;
    for (const { record: r } of batch) {
      // A batch is runs of one source's lines: only a new run is looked up.
      if (!isPositioned(r) || (previous !== undefined && sameSource(r, previous))) continue;
      previous = r;
      const key = sourceKey(r);
      if (keys.has(key)) continue;
      keys.add(key);
      const least = this.least(key);
      if (r.type === 'log') {
        if (least !== undefined) this.advance(key, least as LogPosition);
        const p = this.positions.get(key);
        const old = this.onDisk.get(key);
        if (p === undefined || (old !== undefined && samePosition(p, old))) continue;
        text += `${JSON.stringify({ id: key, ...logPosition(p) } satisfies JournalEntry)}\n`;
        this.onDisk.set(key, p);
      } else {
        if (least !== undefined) this.advanceFile(r.path, least as FilePosition);
        const p = this.files.get(r.path);
        const old = this.filesOnDisk.get(r.path);
        if (p === undefined || (old !== undefined && sameFilePosition(p, old))) continue;
        text += `${JSON.stringify({ file: r.path, ...filePosition(p) } satisfies JournalEntry)}\n`;
        this.filesOnDisk.set(r.path, p);
      }
    }
    if (text !== '') this.append(text);
  }

  /** The least advanced position of one source among the sinks that take it. */
  private least(key: string): LogPosition | FilePosition | undefined {
    let least: LogPosition | FilePosition | undefined;
    for (const channel of this.channels) {
      const p = channel.doneWith(key);
      if (p === undefined) continue;
      if (least === undefined) least = p;
      else if ('time' in p) least = leastPosition(least as LogPosition, p);
      else if (fileLater(least as FilePosition, p)) least = p;
    }
    return least;
  }

  private markOnDisk(): void {
    this.onDisk.clear();
    for (const [id, p] of this.positions) this.onDisk.set(id, p);
    this.filesOnDisk.clear();
    for (const [path, p] of this.files) this.filesOnDisk.set(path, p);
  }

  private append(text: string): void {
    if (this.journalFd === undefined) return;
    try {
      writeSync(this.journalFd, text);
      this.recovered();
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** Applies the journal over the snapshot. A line cut short by a crash ends it. */
  private replayJournal(): void {
    let text: string;
    try {
      text = readFileSync(join(this.dir!, JOURNAL), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        return;
      }
      if ('file' in entry && typeof entry.file === 'string') {
        if ('forget' in entry) this.files.delete(entry.file);
        else if (isFilePosition(entry)) this.files.set(entry.file, filePosition(entry));
        continue;
      }
      if (!('id' in entry) || typeof entry.id !== 'string') continue;
      if ('forget' in entry) {
        this.positions.delete(entry.id);
      } else if (isPosition(entry)) {
        const old = this.positions.get(entry.id);
        this.positions.set(entry.id, old === undefined ? logPosition(entry) : furthestPosition(old, logPosition(entry)));
      }
    }
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info({ dir: this.dir }, 'checkpoints written again');
  }

  private failed(err: Error): void {
    this.writeErrors++;
    if (this.failing) return;
    this.failing = true;
    this.log.warn({ dir: this.dir, err: err.message }, 'cannot write checkpoints; collecting on, retrying every second');
  }

  /**
   * The position of each source is the least advanced of the sinks that take
   * its lines. A container's never moves back; a file's, once this run has
   * read from it, is this run's (it may be a new file at the same path).
   */
  private update(): void {
    const least = new Map<string, LogPosition>();
    const leastFiles = new Map<string, FilePosition>();
    for (const channel of this.channels) {
      const done = channel.done();
      for (const [id, p] of done.logs) {
        const seen = least.get(id);
        least.set(id, seen === undefined ? p : leastPosition(seen, p));
      }
      for (const [path, p] of done.files) {
        const seen = leastFiles.get(path);
        if (seen === undefined || fileLater(seen, p)) leastFiles.set(path, p);
      }
    }
    for (const [id, p] of least) this.advance(id, p);
    for (const [path, p] of leastFiles) this.advanceFile(path, p);
  }

  /** Moves the container's position on to `p`, in each stream that `p` is further on. */
  private advance(id: string, p: LogPosition): void {
    const old = this.positions.get(id);
    const next = old === undefined ? p : furthestPosition(old, p);
    if (old !== undefined && samePosition(next, old)) return;
    this.positions.set(id, next);
    this.moved = true;
  }

  /** Takes `p` as the file's position if it is further on, or the first of this run. */
  private advanceFile(path: string, p: FilePosition): void {
    const old = this.files.get(path);
    if (old !== undefined && old.generation >= 0 && !fileLater(p, old)) return;
    this.files.set(path, p);
    this.moved = true;
  }
}
