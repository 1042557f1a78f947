// file: tails the log files that SIDEKICK_FILES names, one record a line,
// tagged with the container whose volume holds the file. The globs are
// matched again every SIDEKICK_FILES_SCAN and whenever inotify tells of a new
// name in a watched folder; each file is read when inotify says it changed,
// and at least once a second (which also notices rotation and truncation).
// A file that cannot be read is said once (and counted) and tried again; it
// never stops the others.

import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import picomatch from 'picomatch';
import type { Logger } from 'pino';
import { glob } from 'tinyglobby';
import type { FilesConfig } from '../../config/load.js';
import type { VolumeOwners } from '../docker/owners.js';
import type { FileEvents, TailedFileEvents } from '../../observe/events.js';
import { isJsonObject, type ContainerPolicy } from '../../transforms/policy.js';
import type { ReadAgain } from '../../core/flow.js';
import { nowTime, type ContainerMeta, type FilePosition, type FileRecord, type Mutable } from '../../core/record.js';
import { redactText } from '../../transforms/redact.js';
import { fileKey, filePositions } from './position.js';
import { FileTail, type TailLine } from './file-tail.js';
import type { Source, SourceContext, SourceFactory } from '../source.js';

/** Each file is read at least this often, inotify or not. */
const POLL_MS = 1000;
/** A last line without "\n" is sent after its file has been idle this long. */
const IDLE_MS = 1000;
/** A deleted file is given up after this long without coming back. */
const GONE_MS = 5000;
/** New names seen by inotify trigger a scan after this pause (a burst of them, one scan). */
const SCAN_DEBOUNCE_MS = 50;

export interface FileSourceContext {
  readonly host: string;
  readonly log: Logger;
  readonly events: FileEvents;
  readonly emit: (record: FileRecord) => void;
  readonly maxLine: number;
  readonly owners: VolumeOwners;
  /** Where an earlier run left each path, and forgetting a path that is gone. */
  readonly positions: { file(path: string): FilePosition | undefined; forgetFile(path: string): void };
  /** Whether the owner's file lines are collected, and its JSON parsed. */
  readonly policy: ContainerPolicy;
  /** Masked in every line; undefined: nothing. */
  readonly redact: RegExp | undefined;
}

interface Tailing {
  readonly tail: FileTail;
  running: Promise<void> | undefined;
  again: boolean;
  owner: ContainerMeta | undefined;
  /** The owner's file lines are collected (SIDEKICK_INCLUDE/EXCLUDE, its labels). */
  collected: boolean;
  parseJson: boolean;
  ownerVersion: number;
  /** Says when it cannot be read, and when it can again. */
  readonly events: TailedFileEvents;
}

/** The folder part of a glob before its first wildcard: watched for new files. */
export function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (/[*?[\]{}()!+@]/.test(part)) break;
    fixed.push(part);
  }
  return fixed.join('/') || '/';
}

export class FileSource {
  private readonly tails = new Map<string, Tailing>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly included: (path: string) => boolean;
  private readonly excluded: (path: string) => boolean;
  private scanTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private scanSoon: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  /** Lines read. */
  lines = 0;

  constructor(
    private readonly config: FilesConfig,
    private readonly ctx: FileSourceContext,
  ) {
    this.included = picomatch([...config.include], { dot: true });
    this.excluded = config.exclude.length === 0 ? () => false : picomatch([...config.exclude], { dot: true, basename: true });
  }

  /** Files being tailed now. */
  get count(): number {
    return this.tails.size;
  }

  async start(): Promise<void> {
    for (const pattern of this.config.include) this.watchDir(globBase(pattern));
    await this.scan();
    if (this.stopped) return;
    this.scanTimer = setInterval(() => void this.scan(), this.config.scanMs);
    this.pollTimer = setInterval(() => {
      for (const t of this.tails.values()) this.kick(t);
    }, POLL_MS);
    this.ctx.log.info({ files: this.tails.size, globs: this.config.include }, 'tailing files');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.scanTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.scanSoon);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.scanning;
    await Promise.all([...this.tails.values()].map((t) => t.running));
    await Promise.all([...this.tails.values()].map((t) => t.tail.close()));
  }

  /** Matches the globs again now (SIGHUP), besides the periodic scan and inotify. */
  rescan(): Promise<void> {
    return this.scan();
  }

  private scan(): Promise<void> {
    this.scanning ??= this.matchGlobs().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async matchGlobs(): Promise<void> {
    let paths: string[];
    try {
      paths = await glob([...this.config.include], { absolute: true, onlyFiles: true, dot: true, followSymbolicLinks: true });
      this.ctx.events.fileGlobsMatched();
    } catch (err) {
      this.ctx.events.fileGlobsFailed(err as Error);
      return;
    }
    for (const path of paths) {
      if (this.stopped) return;
      if (this.tails.has(path) || this.excluded(path)) continue;
      await this.add(path);
    }
  }

  private async add(path: string): Promise<void> {
    const tail = new FileTail(path, { maxLine: this.ctx.maxLine, idleMs: IDLE_MS, goneMs: GONE_MS, line: (l) => this.line(t, l) });
    const t: Tailing = {
      tail,
      running: undefined,
      again: false,
      owner: undefined,
      collected: true,
      parseJson: false,
      ownerVersion: -1,
      events: this.ctx.events.forFile(path),
    };
    this.tails.set(path, t);
    // A change seen meanwhile waits for the open: a read during it would start
    // on the file at the path while the open settles on the saved one.
    t.running = this.open(t).finally(() => {
      t.running = undefined;
    });
    await t.running;
    this.kick(t);
  }

  private async open(t: Tailing): Promise<void> {
    const path = t.tail.path;
    try {
      await t.tail.open(this.ctx.positions.file(path));
    } catch (err) {
      // Opened on the next poll; reported there if it still fails.
      this.ctx.log.debug({ path, err: (err as Error).message }, 'cannot open file yet');
    }
    this.watchDir(dirname(path));
    this.own(t, await this.ctx.owners.resolve(path));
    this.ctx.log.debug({ path, container: t.owner?.name }, 'tailing file');
  }

  /** Reads the file now, or once more after the read in progress. */
  private kick(t: Tailing): void {
    if (this.stopped) return;
    if (t.running !== undefined) {
      t.again = true;
      return;
    }
    t.running = this.pollLoop(t).finally(() => {
      t.running = undefined;
    });
  }

  private async pollLoop(t: Tailing): Promise<void> {
    do {
      t.again = false;
      const result = await t.tail.poll();
      const err = t.tail.error;
      if (err === undefined) t.events.readable();
      else t.events.unreadable(err);
      if (result === 'closed') {
        this.tails.delete(t.tail.path);
        this.ctx.positions.forgetFile(t.tail.path);
        this.ctx.log.debug({ path: t.tail.path }, 'file gone; no longer tailed');
        return;
      }
      if (result === 'more') t.again = true;
    } while (t.again && !this.stopped);
  }

  private own(t: Tailing, owner: ContainerMeta | undefined): void {
    t.owner = owner;
    t.ownerVersion = this.ctx.owners.version;
    t.collected = owner === undefined || this.ctx.policy.typesOf(owner).has('file');
    t.parseJson = this.ctx.policy.parsesJson(owner);
  }

  /**
   * Reads the file at `from.path` again from `from` to its end, for a sink
   * that fell behind: only the file that position is in (once the path holds
   * another file, false: the live read followed the rotation).
   */
  async readAgain(from: FilePosition, into: ReadAgain): Promise<boolean> {
    const t = this.tails.get(from.path);
    if (t === undefined || this.stopped) return false;
    const again = new FileTail(from.path, {
      maxLine: this.ctx.maxLine,
      // A last line without "\n" is the live read's to send.
      idleMs: Infinity,
      goneMs: GONE_MS,
      line: (l) => {
        const r = this.record(t, l);
        if (r !== undefined) into.emit(r);
      },
    });
    try {
      if (!(await again.resume(from))) return false;
      while (!into.signal.aborted && (await again.readOn())) await into.flow.ready(into.signal);
      return again.error === undefined;
    } catch {
      return false;
    } finally {
      await again.close();
    }
  }

  private line(t: Tailing, l: TailLine): void {
    const r = this.record(t, l);
    if (r === undefined) return;
    this.lines++;
    this.ctx.emit(r);
  }

  /** The record of a line; undefined if its owner's file lines are not collected. */
  private record(t: Tailing, l: TailLine): FileRecord | undefined {
    if (t.ownerVersion !== this.ctx.owners.version) this.own(t, this.ctx.owners.ownerOf(t.tail.path));
    // Read all the same: the position moves on, and an excluded owner's lines go nowhere.
    if (!t.collected) return undefined;
    const message = redactText(l.bytes.toString('utf8', l.from, l.to), this.ctx.redact);
    const r: Mutable<FileRecord> = {
      type: 'file',
      time: nowTime(),
      host: this.ctx.host,
      path: t.tail.path,
      message,
      file: l.file,
      start: l.start,
      end: l.end,
      position: filePositions,
    };
    if (t.owner !== undefined) r.container = t.owner;
    if (l.truncated) r.truncated = true;
    if (t.parseJson && isJsonObject(message)) r.json = true;
    return r;
  }

  private watchDir(dir: string): void {
    if (this.watchers.has(dir) || this.stopped) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name));
    } catch {
      return; // not there (yet): the periodic scan finds what appears
    }
    w.on('error', () => {
      w.close();
      this.watchers.delete(dir);
    });
    this.watchers.set(dir, w);
  }

  private changed(dir: string, name: string | Buffer | null): void {
    if (name === null) {
      this.scanLater();
      return;
    }
    const path = join(dir, name.toString());
    const t = this.tails.get(path);
    if (t !== undefined) this.kick(t);
    else if (this.included(path) && !this.excluded(path)) this.scanLater();
  }

  private scanLater(): void {
    if (this.scanSoon !== undefined || this.stopped) return;
    this.scanSoon = setTimeout(() => {
      this.scanSoon = undefined;
      void this.scan();
    }, SCAN_DEBOUNCE_MS);
  }
}

export const filesSource: SourceFactory = {
  name: 'files',
  codecs: [filePositions],
  enabled: (config) => config.files !== undefined,
  create: (ctx) => createFilesSource(ctx),
};

function createFilesSource(ctx: SourceContext): Source {
  const { config, docker, positions } = ctx;
  if (config.files === undefined) throw new Error('the files source needs SIDEKICK_FILES');
  const files = new FileSource(config.files, {
    host: docker.host,
    log: ctx.log,
    events: ctx.events,
    emit: ctx.emit,
    maxLine: config.maxLine,
    owners: docker.owners,
    positions: { file: (path) => positions.get(filePositions, fileKey(path)), forgetFile: (path) => positions.forget(fileKey(path)) },
    policy: docker.policy,
    redact: config.redactPatterns,
  });
  return {
    name: 'files',
    start: async () => {
      // In a container, sidekick reads a volume where its own container mounts it.
      if (docker.selfId !== undefined) docker.owners.setOwn((await docker.api.inspect(docker.selfId).catch(() => undefined))?.Mounts);
      await files.start();
    },
    stop: () => files.stop(),
    rescan: () => files.rescan(),
    readAgain: async (_key, from, into) => from.codec === filePositions && files.readAgain(from.at as FilePosition, into),
    counts: () => ({ files: files.count }),
  };
}
