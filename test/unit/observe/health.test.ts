// /healthz: each cause a restart would cure turns it to 503 (once logged and
// counted), and what a restart cannot fix leaves it at 200. The monitor runs
// on a clock of its own and a fake daemon, one probe at a time.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { ContainerStatus } from '../../../src/sources/docker/collector.js';
import type { DockerEvent } from '../../../src/docker/events.js';
import { Events } from '../../../src/observe/events.js';
import { busyBlock, eventsCheck, HEALTH_CAUSES, HealthMonitor, LOGS_STALL_MS, loopCheck, type Health, type HealthCause } from '../../../src/observe/health.js';
import { memoryLog } from '../memory-log.js';

const T0 = 1_700_000_000_000;
const nanos = (ms: number): string => String(BigInt(ms) * 1_000_000n);
const event = (ms: number, action = 'start'): DockerEvent => ({
  type: 'container',
  action,
  actorId: 'a'.repeat(64),
  attributes: {},
  scope: 'local',
  timeNanos: nanos(ms),
});

/** A daemon that answers as told, and a clock moved by hand. */
function monitor(options: { containers?: () => ContainerStatus[] } = {}) {
  let now = T0;
  const daemon = {
    pingFails: false,
    events: [] as DockerEvent[],
    eventsError: undefined as Error | undefined,
    newest: undefined as string | undefined,
    logAsks: 0,
  };
  const { log, lines } = memoryLog();
  const health = new HealthMonitor({
    api: {
      ping: async () => {
        if (daemon.pingFails) throw new Error('connect ENOENT');
      },
      eventsBetween: async () => {
        if (daemon.eventsError !== undefined) throw daemon.eventsError;
        return daemon.events;
      },
      newestLogTime: async () => {
        daemon.logAsks++;
        return daemon.newest;
      },
    },
    containers: options.containers ?? (() => []),
    log,
    events: new Events(log, new Registry()).forHealth(HEALTH_CAUSES),
    now: () => now,
  });
  return {
    health,
    daemon,
    /** The cause of each turn to unhealthy, as said. */
    turns: () => lines.filter((l) => l.level === 'error').map((l) => l['cause'] as HealthCause),
    at: (ms: number) => {
      now = T0 + ms;
    },
    /** Probes at each of these times (ms after T0), then answers as /healthz would. */
    probeAt: async (...times: number[]): Promise<Health> => {
      for (const t of times) {
        now = T0 + t;
        await health.probe();
      }
      return health.check();
    },
  };
}

const cause = (h: Health): string => (h.healthy ? 'healthy' : h.cause);

describe('health checks', () => {
  it('a late tick is a block only if the process used the CPU meanwhile (not frozen by docker pause)', () => {
    assert.equal(busyBlock(1500, 1200), true);
    assert.equal(busyBlock(1500, 0), false);
    assert.equal(busyBlock(600, 600), false);
  });

  it('loop-stalled: blocks adding up to 10 s within a minute; older ones forgotten', () => {
    const blocks = [
      { at: T0, ms: 4000 },
      { at: T0 + 20_000, ms: 3000 },
      { at: T0 + 40_000, ms: 3000 },
    ];
    assert.equal(cause(loopCheck(blocks, T0 + 41_000)), 'loop-stalled');
    assert.equal(cause(loopCheck(blocks, T0 + 61_000)), 'healthy');
  });

  it('events: nothing while the daemon does not answer, nor when it refuses events', () => {
    const facts = { daemonSince: T0, detachedSince: T0, reason: 'EOF', refused: false, missedSince: undefined, missed: undefined };
    assert.equal(cause(eventsCheck(facts, T0 + 61_000)), 'events-down');
    assert.equal(cause(eventsCheck({ ...facts, daemonSince: undefined }, T0 + 61_000)), 'healthy');
    assert.equal(cause(eventsCheck({ ...facts, refused: true }, T0 + 61_000)), 'healthy');
    // Down counts from when the daemon answered again.
    assert.equal(cause(eventsCheck({ ...facts, daemonSince: T0 + 30_000 }, T0 + 61_000)), 'healthy');
  });
});

describe('HealthMonitor', () => {
  it('loop-stalled: logged and counted once, healthy again when the blocks are a minute old', () => {
    const m = monitor();
    m.health.attached(true);
    m.health.loopBlocked(6000);
    assert.equal(cause(m.health.check()), 'healthy');
    m.health.loopBlocked(5000);
    assert.equal(cause(m.health.check()), 'loop-stalled');
    assert.equal(cause(m.health.check()), 'loop-stalled');
    assert.deepEqual(m.turns(), ['loop-stalled']);
    m.at(61_000);
    assert.equal(cause(m.health.check()), 'healthy');
  });

  it('events-down: the stream not attached for a minute while the daemon answers', async () => {
    const m = monitor();
    assert.equal(cause(await m.probeAt(0, 30_000)), 'healthy');
    const h = await m.probeAt(61_000);
    assert.equal(cause(h), 'events-down');
    assert.match((h as { detail: string }).detail, /has not been attached for 61 s/);
    m.health.attached(true);
    assert.equal(cause(m.health.check()), 'healthy');
    assert.deepEqual(m.turns(), ['events-down']);
  });

  it('events-down is not claimed while the daemon does not answer, or refuses /events (a socket proxy)', async () => {
    const m = monitor();
    m.daemon.pingFails = true;
    assert.equal(cause(await m.probeAt(0, 61_000, 120_000)), 'healthy');
    m.daemon.pingFails = false;
    m.daemon.eventsError = Object.assign(new Error('forbidden'), { statusCode: 403 });
    assert.equal(cause(await m.probeAt(121_000, 200_000)), 'healthy');
    // A hang, not an answer: the stream's fault.
    m.daemon.eventsError = new Error('The operation was aborted due to timeout');
    assert.equal(cause(await m.probeAt(201_000, 262_000)), 'events-down');
  });

  it('events-silent: attached, but the daemon has had events the stream did not deliver, for a minute', async () => {
    const m = monitor();
    m.health.attached(true);
    m.daemon.events = [event(T0 + 6_000)];
    assert.equal(cause(await m.probeAt(0, 20_000, 50_000)), 'healthy');
    const h = await m.probeAt(81_000);
    assert.equal(cause(h), 'events-silent');
    assert.match((h as { detail: string }).detail, /container start/);
    // The stream delivers it: nothing newer is missing.
    m.health.eventSeen(nanos(T0 + 6_000));
    assert.equal(cause(await m.probeAt(90_000)), 'healthy');
    assert.deepEqual(m.turns(), ['events-silent']);
  });

  it('a quiet host is healthy: a silent stream misses nothing', async () => {
    const m = monitor();
    m.health.attached(true);
    assert.equal(cause(await m.probeAt(0, 20_000, 50_000, 100_000, 200_000)), 'healthy');
  });

  const following =
    (lastLine: () => string): (() => ContainerStatus[]) =>
    () => [{ id: 'c'.repeat(64), name: 'web', state: 'following', source: 'file', last_line: lastLine(), lag_seconds: 0 }];

  it('logs-stalled: Docker has a newer line of a followed container, and nothing was read of it for a minute', async () => {
    let last = '2023-11-14T22:13:20.000000000Z';
    const m = monitor({ containers: following(() => last) });
    m.health.attached(true);
    m.daemon.newest = '2023-11-14T22:13:25.000000000Z';
    assert.equal(cause(await m.probeAt(0, 11_000, 40_000)), 'healthy');
    const h = await m.probeAt(61_000);
    assert.equal(cause(h), 'logs-stalled');
    assert.match((h as { detail: string }).detail, /container web .* has read up to 2023-11-14T22:13:20/);
    // Reading goes on.
    last = m.daemon.newest;
    assert.equal(cause(await m.probeAt(62_000)), 'healthy');
    assert.deepEqual(m.turns(), ['logs-stalled']);
  });

  it('a container read to its newest line is healthy however long it is quiet, and is asked again only every minute', async () => {
    const last = '2023-11-14T22:13:20.000000000Z';
    const m = monitor({ containers: following(() => last) });
    m.health.attached(true);
    m.daemon.newest = last;
    const times = [0];
    for (let t = 15_000; t <= 5 * LOGS_STALL_MS; t += 15_000) times.push(t);
    assert.equal(cause(await m.probeAt(...times)), 'healthy');
    assert.ok(m.daemon.logAsks <= 5, `${m.daemon.logAsks} asks in 5 minutes`);
  });
});
