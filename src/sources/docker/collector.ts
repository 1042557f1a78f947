// Turns what discovery reports into collection: for each running container
// and each start, an inspect record and a log stream; for each event, an event
// record tagged with the container's metadata. Idempotent per container, so a
// start seen both in a list and in the event stream is collected once.

import { setMaxListeners } from 'node:events';
import type { ContainerInspectInfo } from 'dockerode';
import type { Logger } from 'pino';
import { statusOf, type ContainerSummary, type DockerApi } from '../../docker/client.js';
import { removed, type DockerEvent } from '../../docker/events.js';
import type { VolumeOwners } from './owners.js';
import type { Backlog } from '../../config/parse.js';
import type { LogsSource } from '../../config/settings.js';
import type { ReadAgain } from '../../core/flow.js';
import type { LogPosition } from '../../core/record.js';
import type { ContainerPolicy } from '../../transforms/policy.js';
import type { ContainerMeta, RecordType, SidekickRecord } from '../../core/record.js';
import type { EnvRedaction } from '../../transforms/redact.js';
import { eventRecord, metaFromEvent } from './events.js';
import { inspectRecord, metaFromInspect } from './inspect.js';
import type { LogsTarget } from './log-intake.js';
import { followLogFile } from './logs-file.js';
import { followLogs, readLogsAgain } from './logs-api.js';
import { backlogStart } from './backlog.js';
import { multilineOf } from './labels.js';
import { LogFileChoice } from './log-file-choice.js';
import { StatsLoop } from './stats.js';
import { newWatch, untilDies, type Watch } from './watch.js';

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
  /**
   * The engine's data root (`DockerRootDir`): where a json-file is before
   * Docker says so (an inspect of a created container has no `LogPath` yet).
   */
  readonly dockerRoot: string | undefined;
  /** A container gone before its logs could be read: counted and said, with its name. */
  readonly missed: (detail: { readonly container: string | undefined; readonly id: string; readonly why: string }) => void;
}

export interface ContainerStatus {
  readonly id: string;
  readonly name: string;
  readonly state: 'following' | 'collected' | 'idle';
  /** How its logs are read: the logs API or the json-file (null: not read now). */
  readonly source: 'api' | 'file' | null;
  /** Docker's time of the last line read. */
  readonly last_line: string | null;
  /** The age of its oldest record not delivered yet by every sink (0 when none waits). */
  readonly lag_seconds: number;
}

/** A round of collecting one container, from its inspect to its death: what it keeps of the inspect answer. */
interface Round {
  readonly meta: ContainerMeta;
  readonly types: ReadonlySet<RecordType>;
  readonly tty: boolean;
  /** Its json-file, when its logs are read from it. */
  readonly logPath: string | undefined;
  /** Settles once its inspect record is sent and its stats sampled or not. */
  readonly described: Promise<void>;
  /** Its stats are being sampled. */
  readonly sampling: () => boolean;
  /** The round is over: stats that had not begun never do, those sampled stop. */
  readonly end: () => Promise<void>;
}

export class Collector {
  private readonly watches = new Map<string, Watch>();
  private readonly abort = new AbortController();
  private listedOnce = false;
  private readonly logFiles: LogFileChoice;

  constructor(
    private readonly api: DockerApi,
    private readonly emit: (record: SidekickRecord) => void,
    private readonly options: CollectorOptions,
    private readonly log: Logger,
  ) {
    this.logFiles = new LogFileChoice(options.logsSource, options.dockerRoot, log);
    // Each container followed waits on this signal for its death (untilDies):
    // hundreds of listeners are the design, not the leak node warns of past 10.
    setMaxListeners(0, this.abort.signal);
  }

  /** Containers being collected right now. */
  get activeCount(): number {
    let n = 0;
    for (const w of this.watches.values()) if (w.active !== undefined) n++;
    return n;
  }

  /**
   * Every known container: what is being collected, and how far behind:
   * `undelivered` has, per container id, the epoch ms of its oldest record
   * some sink has not delivered yet.
   */
  status(undelivered: ReadonlyMap<string, number>): ContainerStatus[] {
    const now = Date.now();
    const out: ContainerStatus[] = [];
    for (const [id, w] of this.watches) {
      const last = (w.following?.cursor ?? w.cursor)?.time;
      out.push({
        id,
        name: w.meta?.name ?? '',
        state: w.following !== undefined ? 'following' : w.active !== undefined ? 'collected' : 'idle',
        source: w.following !== undefined ? (w.source ?? null) : null,
        last_line: last ?? null,
        lag_seconds: Math.max(0, (now - (undelivered.get(id) ?? now)) / 1000),
      });
    }
    return out;
  }

  running(containers: readonly ContainerSummary[]): void {
    // The first list holds what ran before sidekick started: read by the backlog setting.
    // Later lists (after a reconnect) hold what started in the gap: read from the first line.
    const backlog = !this.listedOnce;
    this.listedOnce = true;
    for (const c of containers) {
      if (!this.isSelf(c.Id)) this.watch(c.Id).running = true;
      this.collect(c.Id, backlog, false);
    }
    // A die missed while the event stream was down: what waits for one stops
    // waiting. Only once Docker says so: a list made while a restarted dockerd
    // restores its containers (--live-restore) can leave out one that runs,
    // and a json-file read ended then would never go on.
    const listed = new Set(containers.map((c) => c.Id));
    for (const [id, w] of this.watches) {
      if (listed.has(id)) continue;
      if (w.died === undefined) {
        w.running = false;
        continue;
      }
      // A failed call is no answer: the next list (after the next reconnect) asks again.
      this.api.inspect(id).then(
        (info) => info.State?.Running !== true && this.diedMeanwhile(w),
        (err) => statusOf(err) === 404 && this.diedMeanwhile(w),
      );
    }
  }

  private diedMeanwhile(w: Watch): void {
    w.running = false;
    w.died?.();
  }

  /** Log streams followed now, by how they are read. */
  logStreams(): { api: number; file: number } {
    const n = { api: 0, file: 0 };
    for (const w of this.watches.values()) if (w.following !== undefined && w.source !== undefined) n[w.source]++;
    return n;
  }

  /**
   * A container created: inspected at once, not after the events ahead of it,
   * so that its start finds it known and reads its logs without a round trip.
   */
  arrived(event: DockerEvent): void {
    if (event.type !== 'container' || event.action !== 'create' || this.isSelf(event.actorId) || this.abort.signal.aborted) return;
    const w = this.watch(event.actorId);
    if (w.meta === undefined) w.inspecting ??= this.inspect(event.actorId);
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
    if (event.action === 'start') {
      const w = this.watch(id);
      w.running = true;
      w.meta ??= meta;
      this.collect(id, false, true);
    } else if (event.action === 'die') {
      const w = this.watches.get(id);
      if (w !== undefined) w.running = false;
      w?.died?.();
    } else if (removed(event.action)) this.forget(id);
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
        if (info.State?.Running !== true) this.collect(id, false, false);
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
      w = newWatch(this.options.checkpoints.get(id));
      this.watches.set(id, w);
    }
    return w;
  }

  /**
   * Metadata for an event: known, or inspected now, or (once removed) from
   * the event. What a create or start is inspected for is kept for the run
   * that reads the container's logs.
   */
  private async metaForEvent(event: DockerEvent): Promise<ContainerMeta> {
    const id = event.actorId;
    const known = this.watches.get(id)?.meta;
    if (known !== undefined) return known;
    if (!removed(event.action) && !this.isSelf(id)) {
      const w = this.watches.get(id);
      const early = w?.inspecting;
      if (w !== undefined) w.inspecting = undefined;
      const info = await (early ?? this.inspect(id));
      if (info !== undefined) {
        const w = this.watch(id);
        w.meta = this.metaOf(info);
        w.types = this.options.policy.typesOf(w.meta);
        if (event.action === 'create' || event.action === 'start') w.inspected = { info, atStart: event.action === 'start' };
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
   * any other from its first line. `started`: called for a start event (the
   * event stream, not a list, tells when it dies).
   */
  private collect(id: string, backlog: boolean, started: boolean): void {
    if (this.isSelf(id) || this.abort.signal.aborted) return;
    const w = this.watch(id);
    if (w.active !== undefined) {
      w.again = true;
      return;
    }
    w.destroyed = false;
    const start = backlog && w.cursor === undefined ? backlogStart(this.options.backlog) : {};
    w.active = this.run(id, w, start, started).finally(() => {
      w.active = undefined;
      if (w.destroyed) this.watches.delete(id);
    });
  }

  private async run(id: string, w: Watch, start: { since?: string; tail?: number }, firstStarted: boolean): Promise<void> {
    // Only the first round is known to be for a start event: a round again may
    // be for a list (after a reconnect), whose word on running can be stale.
    let started = firstStarted;
    do {
      w.again = false;
      const round = await this.describe(id, w, started);
      if (round === undefined) return;
      const { meta, types } = round;
      try {
        if (types.has('log')) {
          const target: LogsTarget = {
            meta,
            tty: round.tty,
            ...start,
            since: start.since,
            cursor: w.cursor,
            multiline: multilineOf(meta, this.options.multiline, this.log),
            parseJson: this.options.policy.parsesJson(meta),
          };
          w.following = target;
          const logPath = round.logPath;
          w.source = logPath === undefined ? 'api' : 'file';
          w.logs = { target, path: logPath };
          let read: boolean;
          if (logPath === undefined) {
            w.logFile = undefined;
            // Its death, from the events: a follow still open a while after it is given up (see followLogs).
            const exited = untilDies(w, this.abort.signal, () => w.running);
            read = (await followLogs(target, this.logsContext(), exited)) !== 'gone';
            w.died?.();
          } else {
            const exited = this.untilDies(id, w, started);
            const end = await followLogFile(target, { path: logPath, exited, from: w.logFile }, this.logsContext());
            w.logFile = end.position;
            read = end.found;
            w.died?.();
          }
          w.cursor = target.cursor;
          w.following = undefined;
          if (!read && started && !this.abort.signal.aborted) this.missed(id, w, 'it was removed before its logs could be read');
        } else if (types.has('stats')) {
          await round.described;
          if (round.sampling()) await this.untilDies(id, w, started);
        }
      } finally {
        await round.end();
      }
      started = false;
    } while (w.again && !this.abort.signal.aborted);
  }

  /**
   * The start of a round of collecting: inspects the container (or takes the
   * answer its event brought), sends its inspect record and starts its stats.
   * What the round goes on with is a few facts of the answer, not the answer:
   * that is a few KiB a container, which a round's frame would keep for as
   * long as the container runs.
   */
  private async describe(id: string, w: Watch, started: boolean): Promise<Round | undefined> {
    const cached = w.inspected;
    w.inspected = undefined;
    const info = cached?.info ?? (await this.inspect(id));
    if (info === undefined) {
      if (started) this.missed(id, w, 'it was gone before it could be inspected');
      return undefined;
    }
    const meta = this.metaOf(info);
    const types = this.options.policy.typesOf(meta);
    w.meta = meta;
    w.types = types;
    this.options.owners.set(meta, info.Mounts);
    if (types.size === 0) {
      this.log.debug({ container: meta.name, id }, 'not collected (excluded)');
      return undefined;
    }
    this.log.debug({ container: meta.name, id }, 'collecting container');
    // The inspect record and stats are of the started container: an inspect
    // made at its create event is asked again, beside reading its logs (not
    // before: a short job may be removed meanwhile; then the create's is sent).
    const current = cached === undefined || cached.atStart ? info : this.inspectAgain(id, info);
    let stats: StatsLoop | undefined;
    let done = false;
    const described = Promise.resolve(current).then((now) => {
      if (types.has('inspect')) this.emit(inspectRecord(now, this.options.host, meta, this.options.redactEnv));
      if (done || now.State?.Running !== true || !types.has('stats') || this.options.statsIntervalMs <= 0) return;
      stats = new StatsLoop(meta, {
        api: this.api,
        host: this.options.host,
        log: this.log,
        intervalMs: this.options.statsIntervalMs,
        emit: this.emit,
        malformed: () => this.options.malformed('stats'),
      });
      stats.start();
    });
    if (current === info) await described;
    return {
      meta,
      types,
      tty: info.Config?.Tty === true,
      logPath: types.has('log') ? await this.logFiles.pathOf(info, meta) : undefined,
      described,
      sampling: () => stats !== undefined,
      end: async () => {
        done = true;
        await described;
        stats?.stop();
      },
    };
  }

  /** The container inspected again, or `before` if it is gone. (Its own frame: a closure of `describe` would keep `before`.) */
  private inspectAgain(id: string, before: ContainerInspectInfo): Promise<ContainerInspectInfo> {
    return this.inspect(id).then((now) => now ?? before);
  }

  /** A container gone before its lines could be read. */
  private missed(id: string, w: Watch, why: string): void {
    this.options.missed({ container: w.meta?.name, id, why });
  }

  /**
   * Reads a container's log again from `from` to what is written now, for a
   * sink that fell behind, the way its logs were last read; false if that can
   * no longer be done (the container is gone, its file removed).
   */
  async readAgain(id: string, from: LogPosition, into: ReadAgain): Promise<boolean> {
    const w = this.watches.get(id);
    const logs = w?.logs;
    if (w === undefined || logs === undefined || w.destroyed) return false;
    // Its own cursor: the live read's moves on meanwhile.
    const target: LogsTarget = { ...logs.target, since: undefined, tail: undefined, cursor: { ...from } };
    const signal = AbortSignal.any([this.abort.signal, into.signal]);
    const ctx = {
      ...this.logsContext(),
      emit: into.emit,
      signal,
      flow: into.flow,
      // The live read is over once no read of the container follows its log.
      rereading: { liveOver: () => w.following === undefined },
    };
    if (logs.path === undefined) return readLogsAgain(target, ctx);
    const end = await followLogFile(target, { path: logs.path, exited: Promise.resolve(), from: undefined }, ctx);
    return end.found && !signal.aborted;
  }

  private logsContext() {
    return {
      api: this.api,
      host: this.options.host,
      log: this.log,
      emit: this.emit,
      signal: this.abort.signal,
      maxLine: this.options.maxLine,
      multilineFlushMs: this.options.multilineFlushMs,
      redact: this.options.redactPatterns,
      malformed: () => this.options.malformed('logs'),
    };
  }

  /**
   * Resolves when the container dies, or sidekick stops. A run for a start
   * event knows from the events (read in order) whether it died meanwhile;
   * one for a listed container asks Docker once the wait is set.
   */
  private untilDies(id: string, w: Watch, started: boolean): Promise<void> {
    return untilDies(w, this.abort.signal, started ? () => w.running : () => this.inspect(id).then((info) => info?.State?.Running === true));
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
