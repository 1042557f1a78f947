// Turns what discovery reports into collection: for each running container
// and each start, an inspect record and a log stream; for each event, an event
// record tagged with the container's metadata. Idempotent per container, so a
// start seen both in a list and in the event stream is collected once.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ContainerInspectInfo } from 'dockerode';
import type { Logger } from 'pino';
import { statusOf, type ContainerSummary, type DockerApi } from './docker/client.js';
import type { DockerEvent } from './docker/events.js';
import type { VolumeOwners } from './docker/mounts.js';
import type { Backlog, LogsSource } from './config.js';
import type { FilePosition, LogPosition } from './pipeline/channel.js';
import type { Flow } from './pipeline/flow.js';
import type { ContainerPolicy } from './pipeline/policy.js';
import type { ContainerMeta, RecordType, SidekickRecord } from './pipeline/record.js';
import type { EnvRedaction } from './pipeline/redact.js';
import { eventRecord, metaFromEvent } from './sources/events.js';
import { inspectRecord, metaFromInspect } from './sources/inspect.js';
import type { LogCursor, LogsTarget } from './sources/log-intake.js';
import { followLogFile } from './sources/json-file.js';
import { followLogs } from './sources/logs.js';
import { startPattern } from './sources/multiline.js';
import { StatsLoop } from './sources/stats.js';

export interface CollectorOptions {
  readonly host: string;
  /** The types of records of no container (daemon, image, network events). */
  readonly types: ReadonlySet<RecordType>;
  /** Per container: collected or not, which types, its tag and fields. */
  readonly policy: ContainerPolicy;
  readonly redactEnv: EnvRedaction;
  /** Masked in log lines. */
  readonly redactPatterns: RegExp | undefined;
  /** Counts input from the daemon that could not be read. */
  readonly malformed: (source: 'logs' | 'stats') => void;
  /** sidekick's own container id (full or 12-character prefix), never collected. */
  readonly selfId: string | undefined;
  readonly flow: Flow;
  /** Stats sampling interval; 0: no stats. */
  readonly statsIntervalMs: number;
  /** What to read of a container already running when sidekick first sees it, without a checkpoint. */
  readonly backlog: Backlog;
  /** Where each container's logs were read up to, by an earlier run of sidekick. */
  readonly checkpoints: { get(id: string): LogPosition | undefined; forget(id: string): void };
  /** Where logs are read: the API, or the json-file where it can be. */
  readonly logsSource: LogsSource;
  readonly maxLine: number;
  /** Multiline for containers without a `sidekick.multiline.pattern` label. */
  readonly multiline: RegExp | undefined;
  readonly multilineFlushMs: number;
  /** Told each inspected container's mounts, so tailed files find their container. */
  readonly owners: VolumeOwners;
}

/** A container's own multiline setting: a preset name or a regular expression. */
export const MULTILINE_LABEL = 'sidekick.multiline.pattern';

/** What sidekick keeps about one container until it is destroyed. */
interface Watch {
  meta: ContainerMeta | undefined;
  /** What is collected of it, from the policy, once it is inspected. */
  types: ReadonlySet<RecordType> | undefined;
  /** The log position, kept across the container's restarts. */
  cursor: LogCursor | undefined;
  /** Collecting now (inspect, then logs until the container stops). */
  active: Promise<void> | undefined;
  /** Started again while still collecting its previous run. */
  again: boolean;
  destroyed: boolean;
  /** Called when the container dies (ends a run that does not follow logs). */
  died: (() => void) | undefined;
  /** The log stream being followed, with its live cursor. */
  following: LogsTarget | undefined;
  /** Where its json-file was read up to (with `cursor`), when logs are read from files. */
  logFile: FilePosition | undefined;
  /** How its logs are read now. */
  source: 'api' | 'file' | undefined;
}

export interface ContainerStatus {
  readonly id: string;
  readonly name: string;
  readonly state: 'following' | 'collected' | 'idle';
  /** Docker's time of the last line delivered. */
  readonly last_line: string | null;
  /** Now minus that time. */
  readonly lag_seconds: number | null;
}

export class Collector {
  private readonly watches = new Map<string, Watch>();
  private readonly abort = new AbortController();
  private listedOnce = false;

  constructor(
    private readonly api: DockerApi,
    private readonly emit: (record: SidekickRecord) => void,
    private readonly options: CollectorOptions,
    private readonly log: Logger,
  ) {}

  /** Containers being collected right now. */
  get activeCount(): number {
    let n = 0;
    for (const w of this.watches.values()) if (w.active !== undefined) n++;
    return n;
  }

  /** Every known container: what is being collected, and how far behind. */
  status(): ContainerStatus[] {
    const now = Date.now();
    const out: ContainerStatus[] = [];
    for (const [id, w] of this.watches) {
      const last = (w.following?.cursor ?? w.cursor)?.time;
      out.push({
        id,
        name: w.meta?.name ?? '',
        state: w.following !== undefined ? 'following' : w.active !== undefined ? 'collected' : 'idle',
        last_line: last ?? null,
        lag_seconds: last === undefined ? null : Math.max(0, (now - Date.parse(last)) / 1000),
      });
    }
    return out;
  }

  running(containers: readonly ContainerSummary[]): void {
    // The first list holds what ran before sidekick started: read by the backlog setting.
    // Later lists (after a reconnect) hold what started in the gap: read from the first line.
    const backlog = !this.listedOnce;
    this.listedOnce = true;
    for (const c of containers) this.collect(c.Id, backlog);
    // A die missed while the event stream was down: what waits for one stops waiting.
    const listed = new Set(containers.map((c) => c.Id));
    for (const [id, w] of this.watches) if (!listed.has(id)) w.died?.();
  }

  /** Log streams followed now, by how they are read. */
  logStreams(): { api: number; file: number } {
    const n = { api: 0, file: 0 };
    for (const w of this.watches.values()) if (w.following !== undefined && w.source !== undefined) n[w.source]++;
    return n;
  }

  async event(event: DockerEvent): Promise<void> {
    if (event.type !== 'container') {
      if (this.options.types.has('event')) this.emit(eventRecord(event, this.options.host, undefined));
      return;
    }
    const id = event.actorId;
    // sidekick's own health checks (the image's HEALTHCHECK execs) are not news.
    if (this.isSelf(id) && (event.action.startsWith('exec_') || event.action.startsWith('health_status'))) return;
    const meta = await this.metaForEvent(event);
    const types = this.watches.get(id)?.types ?? this.options.policy.typesOf(meta);
    if (types.has('event')) this.emit(eventRecord(event, this.options.host, meta));
    if (event.action === 'start') this.collect(id, false);
    else if (event.action === 'die') this.watches.get(id)?.died?.();
    else if (event.action === 'destroy') this.forget(id);
  }

  /**
   * Containers with a checkpoint that are not running stopped while sidekick
   * was down: the rest of their output is read now. Those removed meanwhile
   * lose their checkpoint.
   */
  async finishStopped(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.watches.get(id)?.active !== undefined || this.isSelf(id)) continue;
      try {
        const info = await this.api.inspect(id);
        if (info.State?.Running !== true) this.collect(id, false);
      } catch (err) {
        if (statusOf(err) === 404) this.forget(id);
      }
    }
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('sidekick is stopping'));
    await Promise.all([...this.watches.values()].map((w) => w.active));
  }

  private isSelf(id: string): boolean {
    const self = this.options.selfId;
    return self !== undefined && id.startsWith(self);
  }

  private watch(id: string): Watch {
    let w = this.watches.get(id);
    if (w === undefined) {
      const saved = this.options.checkpoints.get(id);
      w = {
        meta: undefined,
        types: undefined,
        cursor: saved === undefined ? undefined : { time: saved.time, count: saved.count },
        active: undefined,
        again: false,
        destroyed: false,
        died: undefined,
        following: undefined,
        logFile: undefined,
        source: undefined,
      };
      this.watches.set(id, w);
    }
    return w;
  }

  /** Metadata for an event: known, or inspected now, or (once removed) from the event. */
  private async metaForEvent(event: DockerEvent): Promise<ContainerMeta> {
    const id = event.actorId;
    const known = this.watches.get(id)?.meta;
    if (known !== undefined) return known;
    if (event.action !== 'destroy' && !this.isSelf(id)) {
      const info = await this.inspect(id);
      if (info !== undefined) {
        const w = this.watch(id);
        w.meta = this.metaOf(info);
        w.types = this.options.policy.typesOf(w.meta);
        return w.meta;
      }
    }
    return this.options.policy.meta(metaFromEvent(event), {});
  }

  /** The container's metadata with its tag and fields. */
  private metaOf(info: ContainerInspectInfo): ContainerMeta {
    return this.options.policy.meta(metaFromInspect(info), { imageId: info.Image, env: info.Config?.Env ?? [] });
  }

  private async inspect(id: string): Promise<ContainerInspectInfo | undefined> {
    try {
      return await this.api.inspect(id);
    } catch (err) {
      if (statusOf(err) !== 404 && !this.abort.signal.aborted) {
        this.log.warn({ id, err: (err as Error).message }, 'inspect failed');
      }
      return undefined;
    }
  }

  /**
   * Starts collecting a container unless it is already being collected. It
   * resumes from its checkpoint; without one, a container that was running
   * before sidekick started (`backlog`) is read as SIDEKICK_BACKLOG says, and
   * any other from its first line.
   */
  private collect(id: string, backlog: boolean): void {
    if (this.isSelf(id) || this.abort.signal.aborted) return;
    const w = this.watch(id);
    if (w.active !== undefined) {
      w.again = true;
      return;
    }
    w.destroyed = false;
    const start = backlog && w.cursor === undefined ? this.backlogStart() : {};
    w.active = this.run(id, w, start).finally(() => {
      w.active = undefined;
      if (w.destroyed) this.watches.delete(id);
    });
  }

  /** The container's label wins over the global setting; a bad label is reported and ignored. */
  private multilineOf(meta: ContainerMeta): RegExp | undefined {
    const label = meta.labels[MULTILINE_LABEL];
    if (label === undefined) return this.options.multiline;
    try {
      return startPattern(label);
    } catch (err) {
      this.log.warn({ container: meta.name, label, err: (err as Error).message }, `bad ${MULTILINE_LABEL} label; lines are not joined`);
      return undefined;
    }
  }

  private backlogStart(): { since?: string; tail?: number } {
    const b = this.options.backlog;
    switch (b.kind) {
      case 'all':
        return {};
      case 'none':
        return { since: String(Date.now() / 1000) };
      case 'tail':
        return { tail: b.lines };
      case 'since':
        return { since: String((Date.now() - b.ms) / 1000) };
    }
  }

  private async run(id: string, w: Watch, start: { since?: string; tail?: number }): Promise<void> {
    do {
      w.again = false;
      const info = await this.inspect(id);
      if (info === undefined) return;
      const meta = this.metaOf(info);
      const types = this.options.policy.typesOf(meta);
      w.meta = meta;
      w.types = types;
      this.options.owners.set(meta, info.Mounts);
      if (types.size === 0) {
        this.log.debug({ container: meta.name, id }, 'not collected (excluded)');
        return;
      }
      this.log.debug({ container: meta.name, id }, 'collecting container');
      if (types.has('inspect')) this.emit(inspectRecord(info, this.options.host, meta, this.options.redactEnv));
      const running = info.State?.Running === true;
      const stats =
        running && types.has('stats') && this.options.statsIntervalMs > 0
          ? new StatsLoop(meta, {
              api: this.api,
              host: this.options.host,
              log: this.log,
              intervalMs: this.options.statsIntervalMs,
              emit: this.emit,
              malformed: () => this.options.malformed('stats'),
            })
          : undefined;
      stats?.start();
      try {
        if (types.has('log')) {
          const target: LogsTarget = {
            meta,
            tty: info.Config?.Tty === true,
            ...start,
            since: start.since,
            cursor: w.cursor,
            multiline: this.multilineOf(meta),
            parseJson: this.options.policy.parsesJson(meta),
          };
          w.following = target;
          const logPath = await this.logFileOf(info, meta);
          w.source = logPath === undefined ? 'api' : 'file';
          if (logPath === undefined) {
            w.logFile = undefined;
            await followLogs(target, this.logsContext());
          } else {
            const exited = this.untilDies(w);
            // It may have died since it was inspected: look again once the wait is set.
            if (!running || (await this.inspect(id))?.State?.Running !== true) w.died?.();
            w.logFile = await followLogFile(target, { path: logPath, exited, from: w.logFile }, this.logsContext());
            w.died?.();
          }
          w.cursor = target.cursor;
          w.following = undefined;
        } else if (stats !== undefined) {
          const dies = this.untilDies(w);
          // It may have died while it was inspected: look again once the wait is set.
          if ((await this.inspect(id))?.State?.Running === true) await dies;
          else w.died?.();
        }
      } finally {
        stats?.stop();
      }
    } while (w.again && !this.abort.signal.aborted);
  }

  private logsContext() {
    return {
      api: this.api,
      host: this.options.host,
      log: this.log,
      emit: this.emit,
      signal: this.abort.signal,
      flow: this.options.flow,
      maxLine: this.options.maxLine,
      multilineFlushMs: this.options.multilineFlushMs,
      redact: this.options.redactPatterns,
      malformed: () => this.options.malformed('logs'),
    };
  }

  /**
   * The json-file to read the container's logs from, when SIDEKICK_LOGS_SOURCE
   * allows it, the container logs with the json-file driver, and its folder
   * can be read here; else undefined (the logs API).
   */
  private async logFileOf(info: ContainerInspectInfo, meta: ContainerMeta): Promise<string | undefined> {
    const source = this.options.logsSource;
    if (source === 'api') return undefined;
    const driver = info.HostConfig?.LogConfig?.Type;
    const path = info.LogPath;
    let why: string | undefined;
    if (driver !== 'json-file') why = `its log driver is ${driver ?? 'unknown'}, not json-file`;
    else if (path === undefined || path === '') why = 'Docker gives no log path';
    else {
      try {
        await access(dirname(path), constants.R_OK | constants.X_OK);
        return path;
      } catch (err) {
        why = `${dirname(path)} cannot be read here (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); mount /var/lib/docker/containers read-only at the same path`;
      }
    }
    if (source === 'files') this.log.warn({ container: meta.name, id: meta.id, why }, 'logs read through the API: the json-file cannot be');
    return undefined;
  }

  /** Resolves when the container dies, or sidekick stops. */
  private untilDies(w: Watch): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        w.died = undefined;
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      w.died = done;
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private forget(id: string): void {
    this.options.checkpoints.forget(id);
    this.options.owners.delete(id);
    const w = this.watches.get(id);
    if (w === undefined) return;
    if (w.active === undefined) this.watches.delete(id);
    else w.destroyed = true;
  }
}
