// docker: the containers of the engine, as discovery finds them and the
// collector reads them (inspect, logs, stats, events).

import { Collector } from './collector.js';
import { Discovery } from './discovery.js';
import { logPositions } from './log-position.js';
import type { LogPosition } from '../../core/record.js';
import type { Source, SourceContext, SourceFactory } from '../source.js';

export const dockerSource: SourceFactory = {
  name: 'docker',
  codecs: [logPositions],
  // Even without containers to read, the event stream is what /readyz and /healthz watch.
  enabled: () => true,
  create: (ctx) => createDockerSource(ctx),
};

function createDockerSource(ctx: SourceContext): Source {
  const { config, docker, positions, signals, events } = ctx;
  const collector = new Collector(
    docker.api,
    ctx.emit,
    {
      host: docker.host,
      types: config.types,
      selfId: docker.selfId,
      statsIntervalMs: config.statsIntervalMs,
      backlog: config.backlog,
      checkpoints: { get: (id) => positions.get(logPositions, id), forget: (id) => positions.forget(id) },
      logsSource: config.logsSource,
      maxLine: config.maxLine,
      multiline: config.multiline,
      multilineFlushMs: config.multilineFlushMs,
      owners: docker.owners,
      dockerRoot: docker.engine.DockerRootDir,
      missed: (detail) => events.containerMissed(detail),
      policy: docker.policy,
      redactEnv: config.redactEnv,
      redactPatterns: config.redactPatterns,
      malformed: (kind) => events.malformed(kind),
    },
    ctx.log,
  );
  const discovery = new Discovery(
    docker.api,
    {
      arrived: (event) => {
        signals.eventSeen(event.timeNanos);
        collector.arrived(event);
      },
      event: (event) => collector.event(event),
      running: (containers) => collector.running(containers),
      attached: (up, reason) => signals.attached(up, reason),
    },
    events,
    ctx.log,
  );
  return {
    name: 'docker',
    start: () => discovery.start(),
    stop: async () => {
      // No new containers while the ones being read finish.
      await discovery.stop();
      await collector.stop();
    },
    // Its inspects of the containers that stopped while sidekick was down would
    // otherwise queue ahead of the other sources' start on the bounded API.
    allStarted: () => void collector.finishStopped(positions.keys(logPositions)),
    containers: (undelivered) => collector.status(undelivered),
    counts: () => ({ containers: collector.activeCount, logStreams: collector.logStreams() }),
    readAgain: async (key, from, into) => from.codec === logPositions && collector.readAgain(key, from.at as LogPosition, into),
  };
}
