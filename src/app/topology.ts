// The parts of a running sidekick, wired: sinks behind their buffers, the
// router, checkpoints, the sources of the registry, and what watches them
// (health, metrics, /status, /tap). Starts them in order and stops them in
// reverse; the process (signals, exit) is run.ts's.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { retryForever } from '../core/backoff.js';
import type { ContainerStatus } from '../sources/docker/collector.js';
import type { Config } from '../config/load.js';
import { DockerApi, errorKind, type EngineInfo } from '../docker/client.js';
import { VolumeOwners } from '../sources/docker/owners.js';
import { selfOfThisProcess } from '../sources/docker/self.js';
import { ContainerMetrics } from '../observe/container-metrics.js';
import { HEALTH_CAUSES, HealthMonitor } from '../observe/health.js';
import { Events } from '../observe/events.js';
import { watchHeapMode } from '../observe/heap-mode.js';
import { createRegistry, healthGauge, observePipeline, statsCallTimer } from '../observe/metrics.js';
import { startServer, type Readiness } from '../observe/server.js';
import { Taps } from '../observe/tap.js';
import { createBuffer } from '../pipeline/buffer/create.js';
import { SinkDriver, type ReadAgainFor } from '../pipeline/driver.js';
import type { AnyPositionCodec } from '../core/position.js';
import { Checkpoints } from '../pipeline/checkpoints.js';
import { ContainerPolicy } from '../transforms/policy.js';
import { Router } from '../pipeline/router.js';
import { routeFromQuery, Selection } from '../transforms/route.js';
import { SOURCES } from '../sources/registry.js';
import type { DockerFacts, Source, SourceSignals } from '../sources/source.js';

/** What shutdown leaves for the sinks to flush, of its 10 s (run.ts). */
const FLUSH_MS = 8_000;

/** What every source reads now, summed. */
export interface Counts {
  readonly containers: number;
  readonly logStreams: { readonly api: number; readonly file: number };
  /** Files tailed now. */
  readonly files: number;
}

export class Topology {
  /** Aborts what startup waits for (the daemon) when sidekick stops first. */
  private readonly startup = new AbortController();
  private readonly registry = createRegistry();
  private readonly events: Events;
  private readonly api: DockerApi;
  private readonly channels: SinkDriver[];
  private readonly router: Router;
  private readonly taps: Taps | undefined;
  private readonly checkpoints: Checkpoints;
  private readonly health: HealthMonitor;
  private readonly heapMode: ReturnType<typeof watchHeapMode>;
  /** Created once the Docker facts are known; in registry order. */
  private readonly sources: Source[] = [];
  /** The source that reads records of each position codec again, for a sink that fell behind. */
  private readonly readers = new Map<AnyPositionCodec, Source>();
  private server: Server | undefined;
  private hostName: string;
  private readiness: Readiness = { ready: false, reason: 'waiting for the Docker daemon' };
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.events = new Events(log, this.registry);
    this.api = new DockerApi(config.docker, config.dockerConcurrency, this.events.dockerApiError, statsCallTimer(this.registry));
    this.channels = config.sinks.map(
      (spec) =>
        new SinkDriver(
          spec.create({ log, events: this.events.forSink(spec.name) }),
          log,
          this.readAgain,
          createBuffer(spec.buffer, { stateDir: config.stateDir, corrupt: () => this.events.forDiskBuffer(spec.name) }),
          spec.route,
        ),
    );
    if (config.metricsAddr !== undefined && config.types.has('stats') && config.statsIntervalMs > 0) {
      // Prometheus reads container stats like a sink: stats records, and the events that end a container.
      const staleMs = 3 * config.statsIntervalMs + 5_000;
      const metrics = new ContainerMetrics(this.registry, config.metricsLabels, staleMs);
      this.channels.push(new SinkDriver(metrics, log, undefined, undefined, { types: new Set(['stats', 'event']), containers: new Selection() }));
    }
    this.hostName = config.hostname ?? '';
    this.taps = config.tap ? new Taps(() => this.hostName) : undefined;
    this.router = new Router(this.taps === undefined ? this.channels : [...this.channels, this.taps], config.staticFields);
    this.checkpoints = new Checkpoints(
      config.stateDir,
      this.channels,
      this.events,
      SOURCES.flatMap((s) => s.codecs),
    );
    this.checkpoints.load();
    const health: HealthMonitor = new HealthMonitor({
      api: this.api,
      containers: () => this.containers(NOTHING_UNDELIVERED),
      log,
      events: this.events.forHealth(HEALTH_CAUSES),
    });
    healthGauge(this.registry, () => health.check().healthy);
    this.heapMode = watchHeapMode(this.registry);
    this.health = health;
    health.start();
    observePipeline(this.registry, {
      router: this.router,
      channels: this.channels,
      containers: () => this.counts().containers,
      logStreams: () => this.counts().logStreams,
      filesTailed: () => this.counts().files,
      tapDropped: () => this.taps?.dropped ?? 0,
    });
  }

  /** Starts the HTTP server (/metrics, /healthz, /readyz, /status, /tap), if one is asked for. */
  async listen(): Promise<void> {
    const { config, channels, taps } = this;
    if (config.metricsAddr === undefined) return;
    this.server = await startServer(config.metricsAddr, {
      registry: this.registry,
      health: () => this.health.check(),
      readiness: () => this.readiness,
      status: () => ({
        ready: this.readiness,
        containers: this.containers(oldestUndelivered(channels)),
        sinks: channels.map((c) => ({
          sink: c.sink.name,
          buffer_records: c.depth.records,
          buffer_bytes: c.depth.bytes,
          ...c.counts,
          last_error: c.error ?? null,
        })),
        files: this.counts().files,
        tap_clients: taps?.size ?? 0,
      }),
      token: config.metricsToken,
      tap: taps === undefined ? undefined : (res, query) => taps.add(res, routeFromQuery(query)),
    });
  }

  /**
   * Starts the sinks, the checkpoints, then every source the config asks for,
   * in registry order, once the daemon answers. Resolves with what every
   * source knows of the engine, or undefined when stopped first.
   */
  async start(): Promise<DockerFacts | undefined> {
    const { config, log, api } = this;
    if (this.server !== undefined) {
      const { address, port } = this.server.address() as AddressInfo;
      log.info({ address, port }, 'serving /metrics, /healthz, /readyz and /status');
    }
    await Promise.all(this.channels.map((c) => c.start()));
    this.checkpoints.start();
    const engine = await this.engineInfo();
    if (engine === undefined) return undefined;
    const host = config.hostname ?? engine.Name;
    this.hostName = host;
    const selfId = await selfOfThisProcess(api, log, process.env['HOSTNAME']);
    const policy = new ContainerPolicy({
      types: config.types,
      containers: config.containers,
      decor: config.decor,
      parseJson: config.parseJson,
      badLabel: (meta, label, value) => log.warn({ container: meta.name, label, value }, `bad ${label} label (a list of record types, or true); ignored`),
    });
    const owners = new VolumeOwners(
      selfId,
      () => api.listAll(),
      (meta, facts) => policy.meta(meta, facts),
    );
    const docker: DockerFacts = { api, host, engine, selfId, policy, owners };
    const ctx = { config, log, emit: this.router.emit, positions: this.checkpoints, docker, signals: this.signals(), events: this.events };
    for (const factory of SOURCES) {
      if (!factory.enabled(config)) continue;
      const source = factory.create(ctx);
      this.sources.push(source);
      for (const codec of factory.codecs) this.readers.set(codec, source);
    }
    for (const source of this.sources) {
      if (this.stopping) return undefined;
      await source.start();
    }
    if (this.stopping) return undefined;
    for (const source of this.sources) source.allStarted?.();
    return docker;
  }

  /**
   * Stops the sources in reverse order, then flushes the sinks and writes
   * the checkpoints. The caller's hard deadline bounds it all.
   */
  async stop(signal: string): Promise<void> {
    this.stopping = true;
    this.startup.abort(new Error(`stopped by ${signal}`));
    this.health.stop();
    this.heapMode?.stop();
    this.taps?.close();
    this.server?.close();
    for (const source of [...this.sources].reverse()) await source.stop();
    const deadline = Date.now() + FLUSH_MS;
    const left = await Promise.all(this.channels.map((c) => c.close(deadline)));
    // After the flush: what the sinks took is what the next start skips.
    this.checkpoints.stop();
    const unflushed = left.reduce((a, b) => a + b, 0);
    if (unflushed > 0) this.log.warn({ unflushed }, 'stopped with records not delivered');
    this.log.info(
      {
        routed: Object.fromEntries(this.router.routed),
        sinks: this.channels.map((c) => ({ sink: c.sink.name, ...c.counts })),
      },
      'stopped',
    );
  }

  /** SIGHUP: write the checkpoints now, let every source look again for what to read, and say how every sink is doing. */
  hangup(): void {
    this.checkpoints.save();
    for (const source of this.sources) void source.rescan?.();
    const counts = this.counts();
    this.log.info(
      {
        routed: Object.fromEntries(this.router.routed),
        sinks: this.channels.map((c) => ({ sink: c.sink.name, ...c.counts, buffer_records: c.depth.records, last_error: c.error ?? null })),
        containers: counts.containers,
        files: counts.files,
      },
      'SIGHUP: checkpoints written, file globs matched again',
    );
  }

  counts(): Counts {
    let containers = 0;
    const logStreams = { api: 0, file: 0 };
    let files = 0;
    for (const source of this.sources) {
      const c = source.counts?.();
      containers += c?.containers ?? 0;
      logStreams.api += c?.logStreams?.api ?? 0;
      logStreams.file += c?.logStreams?.file ?? 0;
      files += c?.files ?? 0;
    }
    return { containers, logStreams, files };
  }

  private containers(undelivered: ReadonlyMap<string, number>): ContainerStatus[] {
    return this.sources.flatMap((s) => s.containers?.(undelivered) ?? []);
  }

  /** The engine's name (each record's host, unless set) and data root (where its json-files are); undefined when stopped first. */
  private async engineInfo(): Promise<EngineInfo | undefined> {
    const { api, config, events } = this;
    try {
      const info = await retryForever(() => api.info(), {
        signal: this.startup.signal,
        onFailure: (err) => {
          const hint = api.explain(err);
          this.readiness = { ready: false, reason: `docker does not answer: ${hint ?? err.message}` };
          events.dockerUnanswered({ docker: config.dockerHost, err: err.message, kind: errorKind(err), hint });
        },
      });
      events.dockerAnswered();
      return info;
    } catch {
      return undefined; // stopped while waiting for the daemon
    }
  }

  /** A source read again for one sink that fell behind, by the codec of where it starts; its records as the router sends them. */
  private readonly readAgain: ReadAgainFor = async (key, from, into) => {
    const source = this.readers.get(from.codec);
    if (source?.readAgain === undefined) return false;
    return source.readAgain(key, from, { ...into, emit: (r) => into.emit(this.router.prepared(r)) });
  };

  /** Where what sources signal goes: health and readiness (what they raise goes to the events). */
  private signals(): SourceSignals {
    const { health } = this;
    return {
      attached: (up, reason) => {
        health.attached(up, reason);
        this.readiness = up ? { ready: true } : { ready: false, reason: `docker event stream lost: ${reason ?? 'unknown'}` };
      },
      eventSeen: (timeNanos) => health.eventSeen(timeNanos),
    };
  }
}

/** For /healthz, which reads each container's cursor, not its lag. */
const NOTHING_UNDELIVERED: ReadonlyMap<string, number> = new Map();

/** Per container id, the epoch ms of its oldest record some sink has not delivered. */
function oldestUndelivered(channels: readonly SinkDriver[]): Map<string, number> {
  const oldest = new Map<string, number>();
  for (const c of channels) c.acks.oldestUnacked(oldest);
  return oldest;
}
