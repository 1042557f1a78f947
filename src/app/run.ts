// Wiring: config -> sinks behind their buffers -> collector fed by discovery.
// SIGTERM/SIGINT stop the sources, flush the sinks and exit 0 within 10 s.
// Loaded only by the process that collects (see main.ts): a parent that only
// waits for it does not hold these modules.

// First: keeps dockerode's unused SSH and gRPC stacks out of memory (see lean.ts).
import '../docker/lean.js';
import type { AddressInfo } from 'node:net';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { retryForever } from '../backoff.js';
import { Collector } from '../collector.js';
import type { Config } from '../config/load.js';
import { DockerApi, errorKind, type EngineInfo } from '../docker/client.js';
import { Discovery } from '../docker/discovery.js';
import { VolumeOwners } from '../docker/mounts.js';
import { selfOfThisProcess } from '../docker/self.js';
import { ContainerMetrics } from '../observe/container-metrics.js';
import { heapAdvice, heapLimitFor } from '../observe/heap.js';
import { HealthMonitor } from '../observe/health.js';
import { createRegistry, faultCounters, healthMetrics, observePipeline, statsCallTimer } from '../observe/metrics.js';
import { startServer, type Readiness } from '../observe/server.js';
import { Taps } from '../observe/tap.js';
import { DEFAULT_BUFFER } from '../pipeline/buffer.js';
import { SinkChannel } from '../pipeline/channel.js';
import { Checkpoints } from '../pipeline/checkpoints.js';
import { ContainerPolicy } from '../pipeline/policy.js';
import { routeFromQuery, Selection } from '../pipeline/select.js';
import { Flow } from '../pipeline/flow.js';
import { Router } from '../pipeline/router.js';
import { fileKey, filePositions } from '../sources/file-position.js';
import { FileSource } from '../sources/files.js';
import { logPositions } from '../sources/log-position.js';

const SHUTDOWN_MS = 10_000;
/** What shutdown leaves for the sinks to flush, of its 10 s. */
const FLUSH_MS = 8_000;

export async function run(config: Config, log: Logger): Promise<void> {
  const startup = new AbortController();
  const registry = createRegistry();
  const faults = faultCounters(registry);
  const api = new DockerApi(config.docker, config.dockerConcurrency, faults.dockerApiError, statsCallTimer(registry));
  const flow = new Flow();
  const channels = config.sinks.map((spec) => new SinkChannel(spec.create({ log }), log, flow, spec.buffer, spec.route));
  if (config.metricsAddr !== undefined && config.types.has('stats') && config.statsIntervalMs > 0) {
    // Prometheus reads container stats like a sink: stats records, and the events that end a container.
    const staleMs = 3 * config.statsIntervalMs + 5_000;
    const metrics = new ContainerMetrics(registry, config.metricsLabels, staleMs);
    channels.push(new SinkChannel(metrics, log, undefined, DEFAULT_BUFFER, { types: new Set(['stats', 'event']), containers: new Selection() }));
  }
  const router = new Router(channels, config.staticFields);
  let hostName = config.hostname ?? '';
  const taps = config.tap ? new Taps(() => hostName) : undefined;
  router.taps = taps;
  const checkpoints = new Checkpoints(config.stateDir, channels, log, [logPositions, filePositions]);
  checkpoints.load();
  let collector: Collector | undefined;
  let discovery: Discovery | undefined;
  let stopping = false;
  let readiness: Readiness = { ready: false, reason: 'waiting for the Docker daemon' };
  let attachedOnce = false;
  let files: FileSource | undefined;
  const health: HealthMonitor = new HealthMonitor({
    api,
    flow,
    containers: () => collector?.status(NOTHING_UNDELIVERED) ?? [],
    log,
    unhealthy: healthMetrics(registry, () => health.check().healthy),
  });
  health.start();
  observePipeline(registry, {
    router,
    channels,
    containers: () => collector?.activeCount ?? 0,
    logStreams: () => collector?.logStreams() ?? { api: 0, file: 0 },
    files: () => ({ tailed: files?.count ?? 0, errors: files?.errors ?? 0 }),
    checkpointWriteErrors: () => checkpoints.writeErrors,
    tapDropped: () => taps?.dropped ?? 0,
  });
  const server =
    config.metricsAddr === undefined
      ? undefined
      : await startServer(config.metricsAddr, {
          registry,
          health: () => health.check(),
          readiness: () => readiness,
          status: () => ({
            ready: readiness,
            containers: collector?.status(oldestUndelivered(channels)) ?? [],
            sinks: channels.map((c) => ({
              sink: c.sink.name,
              buffer_records: c.depth.records,
              buffer_bytes: c.depth.bytes,
              ...c.counts,
              last_error: c.error ?? null,
            })),
            files: files?.count ?? 0,
            tap_clients: taps?.size ?? 0,
          }),
          token: config.metricsToken,
          tap: taps === undefined ? undefined : (res, query) => taps.add(res, routeFromQuery(query)),
        });

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: flushing sinks');
    const hardStop = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting with records unflushed');
      process.exit(0);
    }, SHUTDOWN_MS);
    hardStop.unref();
    startup.abort(new Error(`stopped by ${signal}`));
    health.stop();
    taps?.close();
    server?.close();
    await discovery?.stop();
    await Promise.all([collector?.stop(), files?.stop()]);
    const deadline = Date.now() + FLUSH_MS;
    const left = await Promise.all(channels.map((c) => c.close(deadline)));
    // After the flush: what the sinks took is what the next start skips.
    checkpoints.stop();
    const unflushed = left.reduce((a, b) => a + b, 0);
    if (unflushed > 0) log.warn({ unflushed }, 'stopped with records not delivered');
    log.info(
      {
        routed: Object.fromEntries(router.routed),
        sinks: channels.map((c) => ({ sink: c.sink.name, ...c.counts })),
      },
      'stopped',
    );
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // SIGHUP: write the checkpoints now, match the file globs again now, and say how every sink is doing.
  process.on('SIGHUP', () => {
    if (stopping) return;
    checkpoints.save();
    void files?.rescan();
    log.info(
      {
        routed: Object.fromEntries(router.routed),
        sinks: channels.map((c) => ({ sink: c.sink.name, ...c.counts, buffer_records: c.depth.records, last_error: c.error ?? null })),
        containers: collector?.activeCount ?? 0,
        files: files?.count ?? 0,
      },
      'SIGHUP: checkpoints written, file globs matched again',
    );
  });

  if (server !== undefined) {
    const { address, port } = server.address() as AddressInfo;
    log.info({ address, port }, 'serving /metrics, /healthz, /readyz and /status');
  }
  await Promise.all(channels.map((c) => c.start()));
  checkpoints.start();
  // The engine's name (each record's host, unless set) and data root (where its json-files are).
  let engineInfo: EngineInfo;
  let warned = false;
  try {
    engineInfo = await retryForever(() => api.info(), {
      signal: startup.signal,
      onFailure: (err) => {
        if (warned) return;
        warned = true;
        const hint = api.explain(err);
        readiness = { ready: false, reason: `docker does not answer: ${hint ?? err.message}` };
        log.warn({ docker: config.dockerHost, err: err.message, kind: errorKind(err), hint }, 'docker does not answer; retrying');
      },
    });
  } catch {
    return; // stopped while waiting for the daemon
  }
  const host = config.hostname ?? engineInfo.Name;
  hostName = host;
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
  collector = new Collector(
    api,
    router.emit,
    {
      host,
      types: config.types,
      selfId,
      flow,
      statsIntervalMs: config.statsIntervalMs,
      backlog: config.backlog,
      checkpoints: { get: (id) => checkpoints.get(logPositions, id), forget: (id) => checkpoints.forget(id) },
      logsSource: config.logsSource,
      maxLine: config.maxLine,
      multiline: config.multiline,
      multilineFlushMs: config.multilineFlushMs,
      owners,
      dockerRoot: engineInfo.DockerRootDir,
      missed: faults.containerMissed,
      policy,
      redactEnv: config.redactEnv,
      redactPatterns: config.redactPatterns,
      malformed: (source) => faults.malformed(source),
    },
    log,
  );
  const c = collector;
  discovery = new Discovery(
    api,
    {
      arrived: (event) => {
        health.eventSeen(event.timeNanos);
        c.arrived(event);
      },
      event: (event) => c.event(event),
      running: (containers) => c.running(containers),
      attached: (up, reason) => {
        health.attached(up, reason);
        readiness = up ? { ready: true } : { ready: false, reason: `docker event stream lost: ${reason ?? 'unknown'}` };
        if (up && attachedOnce) faults.eventStreamReconnect();
        attachedOnce ||= up;
      },
      malformed: () => faults.malformed('events'),
    },
    log,
  );
  await discovery.start();
  if (config.files !== undefined && !stopping) {
    if (selfId !== undefined) owners.setOwn((await api.inspect(selfId).catch(() => undefined))?.Mounts);
    files = new FileSource(config.files, {
      host,
      log,
      emit: router.emit,
      flow,
      maxLine: config.maxLine,
      owners,
      positions: { file: (path) => checkpoints.get(filePositions, fileKey(path)), forgetFile: (path) => checkpoints.forget(fileKey(path)) },
      policy,
      redact: config.redactPatterns,
    });
    await files.start();
  }
  void c.finishStopped(checkpoints.keys(logPositions));
  if (!stopping) {
    adviseHeap(config, log);
    log.info({ docker: config.dockerHost, host, sinks: config.sinks.map((s) => s.name), selfId, containers: c.activeCount }, 'sidekick is collecting');
  }
}

/** For /healthz, which reads each container's cursor, not its lag. */
const NOTHING_UNDELIVERED: ReadonlyMap<string, number> = new Map();

/** Per container id, the epoch ms of its oldest record some sink has not delivered. */
function oldestUndelivered(channels: readonly SinkChannel[]): Map<string, number> {
  const oldest = new Map<string, number>();
  for (const c of channels) c.oldestUndelivered(oldest);
  return oldest;
}

/** Says once at start whether the V8 heap limit fits the buffers (see observe/heap.ts). */
function adviseHeap(config: Config, log: Logger): void {
  const buffers = config.sinks.reduce((n, s) => n + s.buffer.bytes, 0);
  const advice = heapAdvice(buffers, getHeapStatistics().heap_size_limit);
  const hint = `NODE_OPTIONS=--max-old-space-size=${heapLimitFor(buffers)}`;
  if (advice.kind === 'too-small') {
    log.warn({ heap_limit_mib: advice.limitMiB, buffers_mib: Math.round(buffers / 2 ** 20), hint }, 'the heap limit is too small for full buffers; raise it');
  } else if (advice.kind === 'unbounded') {
    log.info(
      { heap_limit_mib: advice.limitMiB, buffers_mib: Math.round(buffers / 2 ** 20), hint },
      'no heap limit near the buffers: memory may grow to several times them under a flood',
    );
  }
}
