// Where each source that can be read again (a container's log, a tailed file)
// was read up to, kept across restarts of sidekick: per source key, the
// position its codec encodes (position.ts), up to which every sink is done
// with its records (delivered, or dropped or rejected by policy), in
// SIDEKICK_STATE_DIR. Checkpoints know no source kinds: each position is
// saved with its codec's kind, and read back by the codec of that kind.
//
// Two files: a snapshot, rewritten at most once a second atomically (a
// temporary file renamed over the old one), and a journal that each batch a
// sink is done with appends the positions it advanced to. A kill loses at
// most what was in flight: the journal is one write(2) per batch, and the
// snapshot keeps it short. A restart resumes each container from its
// position. A failing disk is said once, counted and retried; it never stops
// collection.
//
// Each sink's own position per source is kept too (by the sink's name), so
// that after a restart a sink that was further on than the least skips what
// it had already done with, instead of getting it twice. Those journal lines
// name the source `source`, not `key`: a sidekick before them skips them.

import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointEvents } from '../observe/events.js';
import type { SinkDriver } from './driver.js';
import type { AnyPositionCodec, Held, PositionCodec } from '../core/position.js';
import type { Envelope } from '../core/record.js';

const SNAPSHOT = 'checkpoints.json';
const JOURNAL = 'checkpoints.journal';
const VERSION = 2;
/**
 * How often the snapshot is written; the journal holds what moved between
 * (a restart replays at most this much of it). The snapshot is built and
 * rewritten whole each time anything moved: every second, watching 220
 * containers, that was 60 KB/s allocated (a twentieth of all) and a file
 * renamed over 86,400 times a day.
 */
const SNAPSHOT_MS = 5000;

/** A position as saved: its codec's kind, and what the codec encoded. */
interface Saved {
  readonly kind: string;
  readonly at: unknown;
}

interface FileShape {
  readonly version: number;
  readonly positions: Record<string, Saved>;
  /** Each sink's own positions, by its name. */
  readonly sinks?: Record<string, Record<string, Saved>>;
}

/** One journal line: a source's position advanced, or a source forgotten. */
type JournalEntry = { readonly key: string; readonly kind: string; readonly at: unknown } | { readonly key: string; readonly forget: true };
/** One journal line of one sink's position. */
interface SinkJournalEntry {
  readonly sink: string;
  readonly source: string;
  readonly kind: string;
  readonly at: unknown;
}

/**
 * Version 1 (sidekick before positions had codecs) kept containers' log
 * positions and files' positions apart: read as the kinds that took them over.
 */
interface ShapeV1 {
  readonly version: 1;
  readonly containers: Record<string, unknown>;
  readonly files?: Record<string, unknown>;
}

function fromV1(data: ShapeV1): [string, Saved][] {
  const out: [string, Saved][] = Object.entries(data.containers).map(([id, at]) => [id, { kind: 'log', at }]);
  for (const [path, at] of Object.entries(data.files ?? {})) out.push([`file:${path}`, { kind: 'file', at }]);
  return out;
}

/** A version 1 journal line, as version 2's. */
function journalFromV1(e: Record<string, unknown>): JournalEntry | undefined {
  if (typeof e['id'] === 'string') {
    const { id, ...at } = e;
    return 'forget' in e ? { key: id, forget: true } : { key: id, kind: 'log', at };
  }
  if (typeof e['file'] === 'string') {
    const { file, ...at } = e;
    return 'forget' in e ? { key: `file:${file}`, forget: true } : { key: `file:${file}`, kind: 'file', at };
  }
  return undefined;
}

export class Checkpoints {
  private readonly codecs: ReadonlyMap<string, AnyPositionCodec>;
  private readonly positions = new Map<string, Held>();
  /** What the snapshot and journal on disk hold, to append only what moved. */
  private readonly onDisk = new Map<string, Held>();
  /** Each sink's name in the files. */
  private readonly names = new Map<SinkDriver, string>();
  /** Each sink's own positions (by sink name, then source key), as last saved or journaled. */
  private readonly sinks = new Map<string, Map<string, Held>>();
  private timer: NodeJS.Timeout | undefined;
  private journalFd: number | undefined;
  private written = '';
  /** A position moved since the snapshot was last written. */
  private moved = true;

  /** `codecs`: those of every source with positions, to read back what they saved. */
  constructor(
    private readonly dir: string | undefined,
    private readonly channels: readonly SinkDriver[],
    private readonly events: CheckpointEvents,
    codecs: readonly AnyPositionCodec[],
  ) {
    this.codecs = new Map(codecs.map((c) => [c.kind, c]));
    // A sink is known by its name; a second sink of the same name by its place among them.
    const seen = new Map<string, number>();
    for (const c of channels) {
      const n = (seen.get(c.sink.name) ?? 0) + 1;
      seen.set(c.sink.name, n);
      const name = n === 1 ? c.sink.name : `${c.sink.name}#${n}`;
      this.names.set(c, name);
      c.onSettled((batch) => this.journal(c, batch));
    }
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
        const data = JSON.parse(text) as FileShape | ShapeV1;
        let entries: [string, Saved][];
        if (data.version === 1) entries = fromV1(data as ShapeV1);
        else if (data.version === VERSION) entries = Object.entries((data as FileShape).positions);
        else throw new Error(`version ${data.version}`);
        for (const [key, saved] of entries) {
          const held = this.decode(saved);
          if (held !== undefined) this.positions.set(key, held);
        }
        for (const [sink, positions] of Object.entries((data as FileShape).sinks ?? {})) {
          for (const [key, saved] of Object.entries(positions)) this.sinkMoved(sink, key, this.decode(saved));
        }
        this.written = text;
      } catch (err) {
        this.events.checkpointsUnreadable(this.dir, err as Error);
      }
    }
    this.replayJournal();
    this.markOnDisk();
    // A sink skips what it had done with, up to its own position.
    for (const c of this.channels) {
      const had = this.sinks.get(this.names.get(c)!);
      if (had !== undefined) c.hadBefore(had);
    }
  }

  /** The position an earlier run left for a source, if its codec can read it. */
  get<P>(codec: PositionCodec<P, unknown>, key: string): P | undefined {
    const held = this.positions.get(key);
    return held?.codec === codec ? (held.at as P) : undefined;
  }

  /** The sources of one kind with a position. */
  keys(codec: AnyPositionCodec): string[] {
    return [...this.positions].filter(([, held]) => held.codec === codec).map(([key]) => key);
  }

  start(): void {
    if (this.dir === undefined || this.timer !== undefined) return;
    this.save();
    this.timer = setInterval(() => this.save(), SNAPSHOT_MS);
    this.timer.unref();
  }

  /** A source that is gone (a container destroyed, a file removed): its position is of no more use. */
  forget(key: string): void {
    if (this.positions.delete(key)) this.moved = true;
    for (const positions of this.sinks.values()) if (positions.delete(key)) this.moved = true;
    for (const c of this.channels) c.forget(key);
    if (this.onDisk.delete(key)) this.append(`${JSON.stringify({ key, forget: true } satisfies JournalEntry)}\n`);
  }

  /** Takes what the sinks are done with, and writes a snapshot if it changed; the journal starts over. */
  save(): void {
    this.update();
    if (this.dir === undefined || (!this.moved && this.journalFd !== undefined)) return;
    const positions: Record<string, Saved> = {};
    for (const [key, held] of this.positions) positions[key] = { kind: held.codec.kind, at: held.codec.encode(held.at) };
    const sinks: Record<string, Record<string, Saved>> = {};
    for (const [sink, held] of this.sinks) {
      if (held.size === 0) continue;
      const saved: Record<string, Saved> = {};
      for (const [key, p] of held) saved[key] = { kind: p.codec.kind, at: p.codec.encode(p.at) };
      sinks[sink] = saved;
    }
    const text = JSON.stringify({ version: VERSION, positions, ...(Object.keys(sinks).length === 0 ? {} : { sinks }) } satisfies FileShape);
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
      this.events.checkpointWritten(this.dir);
    } catch (err) {
      this.events.checkpointWriteFailed(this.dir, err as Error);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.save();
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  /** A sink is done with a batch: the positions it advanced, its own and the least, go to the journal at once. */
  private journal(channel: SinkDriver, batch: readonly Envelope[]): void {
    if (this.journalFd === undefined) return;
    let text = '';
    const keys = new Set<string>();
    let previous: Envelope['record'] | undefined;
    for (const { record: r } of batch) {
      const codec = r.position;
      // A batch is runs of one source's records: only a new run is looked up.
      if (codec === undefined || (previous !== undefined && previous.position === codec && codec.key(previous) === codec.key(r))) continue;
      previous = r;
      const key = codec.key(r);
      if (keys.has(key)) continue;
      keys.add(key);
      const own = channel.acks.doneWith(key);
      const least = this.least(key, channel, own);
      // A sink's own position is of use only ahead of the least (what a
      // restart reads again from): the slowest sink's, and the only sink's,
      // is not journaled, half the lines with one sink. Its snapshot has it.
      const name = this.names.get(channel)!;
      if (own !== undefined && this.sinkMoved(name, key, own) && (least?.codec !== own.codec || !own.codec.same(own.at, least.at))) {
        text += `${JSON.stringify({ sink: name, source: key, kind: own.codec.kind, at: own.codec.encode(own.at) } satisfies SinkJournalEntry)}\n`;
      }
      if (least !== undefined) this.advance(key, least);
      const p = this.positions.get(key);
      const old = this.onDisk.get(key);
      if (p === undefined || (old !== undefined && old.codec === p.codec && p.codec.same(p.at, old.at))) continue;
      text += `${JSON.stringify({ key, kind: p.codec.kind, at: p.codec.encode(p.at) } satisfies JournalEntry)}\n`;
      this.onDisk.set(key, p);
    }
    if (text !== '') this.append(text);
  }

  /** The least advanced position of one source among the sinks that take it; `known`'s is `itsOwn`, already asked. */
  private least(key: string, known: SinkDriver, itsOwn: Held | undefined): Held | undefined {
    let least: Held | undefined;
    for (const channel of this.channels) {
      const p = channel === known ? itsOwn : channel.acks.doneWith(key);
      if (p === undefined) continue;
      least = least === undefined ? p : { codec: p.codec, at: p.codec.least(least.at, p.at) };
    }
    return least;
  }

  /** Moves one sink's position of a source on to `p` (its codec says how); whether it moved. */
  private sinkMoved(sink: string, key: string, p: Held | undefined): boolean {
    if (p === undefined) return false;
    let held = this.sinks.get(sink);
    if (held === undefined) {
      held = new Map();
      this.sinks.set(sink, held);
    }
    const old = held.get(key);
    const at = old?.codec === p.codec ? p.codec.advance(old.at, p.at) : p.at;
    if (old !== undefined && old.codec === p.codec && p.codec.same(at, old.at)) return false;
    held.set(key, { codec: p.codec, at });
    this.moved = true;
    return true;
  }

  private markOnDisk(): void {
    this.onDisk.clear();
    for (const [key, held] of this.positions) this.onDisk.set(key, held);
  }

  private append(text: string): void {
    if (this.journalFd === undefined) return;
    try {
      writeSync(this.journalFd, text);
      this.events.checkpointWritten(this.dir!);
    } catch (err) {
      this.events.checkpointWriteFailed(this.dir!, err as Error);
    }
  }

  /** A saved position, read by the codec of its kind; undefined for a kind or a shape no codec reads. */
  private decode(saved: Saved | undefined): Held | undefined {
    const codec = this.codecs.get(String(saved?.kind));
    const at = codec?.decode(saved?.at);
    return at === undefined ? undefined : { codec: codec!, at };
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
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (typeof parsed['sink'] === 'string' && typeof parsed['source'] === 'string') {
        this.sinkMoved(parsed['sink'], parsed['source'], this.decode(parsed as unknown as SinkJournalEntry));
        continue;
      }
      const entry = typeof parsed['key'] === 'string' ? (parsed as JournalEntry) : journalFromV1(parsed);
      if (entry === undefined) continue;
      if ('forget' in entry) {
        this.positions.delete(entry.key);
        for (const positions of this.sinks.values()) positions.delete(entry.key);
        continue;
      }
      const held = this.decode(entry);
      if (held === undefined) continue;
      const old = this.positions.get(entry.key);
      this.positions.set(entry.key, old?.codec === held.codec ? { codec: held.codec, at: held.codec.advance(old.at, held.at) } : held);
    }
  }

  /** The position of each source is the least advanced of the sinks that take its records; its codec says how it moves on. */
  private update(): void {
    const least = new Map<string, Held>();
    for (const channel of this.channels) {
      for (const [key, p] of channel.acks.done()) {
        this.sinkMoved(this.names.get(channel)!, key, p);
        const seen = least.get(key);
        least.set(key, seen === undefined ? p : { codec: p.codec, at: p.codec.least(seen.at, p.at) });
      }
    }
    for (const [key, p] of least) this.advance(key, p);
  }

  /** Moves the source's position on to `p`, as its codec says. */
  private advance(key: string, p: Held): void {
    const old = this.positions.get(key);
    const at = old?.codec === p.codec ? p.codec.advance(old.at, p.at) : p.at;
    if (old !== undefined && old.codec === p.codec && p.codec.same(at, old.at)) return;
    this.positions.set(key, { codec: p.codec, at });
    this.moved = true;
  }
}
