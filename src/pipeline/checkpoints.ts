// Where each container's logs were read up to, kept across restarts of
// sidekick: per container, the position (Docker's time, and how many lines at
// that time) up to which every sink is done with its lines (delivered, or
// dropped or rejected by policy). Written at most once a second, atomically
// (a temporary file renamed over the old one), in SIDEKICK_STATE_DIR. A
// restart resumes each container from its position: nothing lost, nothing
// repeated. A failing disk is reported once and retried; it never stops
// collection.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { LogPosition, SinkChannel } from './channel.js';

const FILE = 'checkpoints.json';
const VERSION = 1;

interface FileShape {
  readonly version: number;
  readonly containers: Record<string, LogPosition>;
}

function later(a: LogPosition, b: LogPosition): boolean {
  return a.time > b.time || (a.time === b.time && a.count > b.count);
}

export class Checkpoints {
  private readonly positions = new Map<string, LogPosition>();
  private timer: NodeJS.Timeout | undefined;
  private written = '';
  private failing = false;
  /** Failed writes (a full or read-only disk), for metrics. */
  writeErrors = 0;

  constructor(
    private readonly dir: string | undefined,
    private readonly channels: readonly SinkChannel[],
    private readonly log: Logger,
  ) {}

  /** Reads what the last run left. A missing file is a first start; a broken one is reported and ignored. */
  load(): void {
    if (this.dir === undefined) return;
    let text: string;
    try {
      text = readFileSync(join(this.dir, FILE), 'utf8');
    } catch {
      return;
    }
    try {
      const data = JSON.parse(text) as FileShape;
      if (data.version !== VERSION) throw new Error(`version ${data.version}`);
      for (const [id, p] of Object.entries(data.containers)) {
        if (typeof p.time === 'string' && Number.isInteger(p.count)) this.positions.set(id, { time: p.time, count: p.count });
      }
      this.written = text;
    } catch (err) {
      this.log.warn({ dir: this.dir, err: (err as Error).message }, 'checkpoint file unreadable; starting without it');
    }
  }

  get(id: string): LogPosition | undefined {
    return this.positions.get(id);
  }

  /** Containers with a checkpoint. */
  ids(): string[] {
    return [...this.positions.keys()];
  }

  start(): void {
    if (this.dir === undefined || this.timer !== undefined) return;
    this.timer = setInterval(() => this.save(), 1000);
    this.timer.unref();
  }

  /** A destroyed container: its position is of no more use. */
  forget(id: string): void {
    this.positions.delete(id);
    for (const c of this.channels) c.forget(id);
  }

  /** Takes what the sinks are done with, and writes it if it changed. */
  save(): void {
    this.update();
    if (this.dir === undefined) return;
    const text = JSON.stringify({ version: VERSION, containers: Object.fromEntries(this.positions) } satisfies FileShape);
    if (text === this.written) return;
    const tmp = join(this.dir, `${FILE}.tmp`);
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(tmp, text);
      renameSync(tmp, join(this.dir, FILE));
      this.written = text;
      if (this.failing) {
        this.failing = false;
        this.log.info({ dir: this.dir }, 'checkpoints written again');
      }
    } catch (err) {
      this.writeErrors++;
      if (!this.failing) {
        this.failing = true;
        this.log.warn({ dir: this.dir, err: (err as Error).message }, 'cannot write checkpoints; collecting on, retrying every second');
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.save();
  }

  /** The position of each container is the least advanced of the sinks that take its lines. */
  private update(): void {
    const least = new Map<string, LogPosition>();
    for (const channel of this.channels) {
      for (const [id, p] of channel.logsDone()) {
        const seen = least.get(id);
        if (seen === undefined || later(seen, p)) least.set(id, p);
      }
    }
    for (const [id, p] of least) {
      const old = this.positions.get(id);
      if (old === undefined || later(p, old)) this.positions.set(id, p);
    }
  }
}
