// /healthz: is sidekick alive but not doing its job, in a way a restart would
// cure? The image's HEALTHCHECK, Swarm and a Kubernetes liveness probe ask
// it, and restart what answers 503 for a while. Each cause below is a pure
// check over facts sidekick observes (timestamps and cursors), with its
// thresholds as constants. What a restart cannot fix is left out on purpose:
// a sink that is down (that is /readyz and /status), a daemon that does not
// answer, a sink under `policy=block` holding the reading back, a quiet host,
// sidekick frozen from outside (`docker pause`).
//
// A main loop blocked for good cannot answer /healthz at all: the probe's
// timeout sees that. What is seen here is a loop blocked for seconds, again
// and again.

import type { Logger } from 'pino';
import type { ContainerStatus } from '../sources/docker/collector.js';
import { statusOf, type DockerApi } from '../docker/client.js';
import { compareNanos, nanosToSince, type DockerEvent } from '../docker/events.js';
import type { HealthEvents } from './events.js';

/** How often the loop checks its own lateness. */
export const LOOP_TICK_MS = 500;
/** A tick this late is a block of the loop. */
export const LOOP_BLOCK_MS = 1_000;
/**
 * A block counts only if the process used the CPU for this share of it: a
 * process frozen (`docker pause`, SIGSTOP) uses none, and a restart would not help.
 */
export const LOOP_BUSY_SHARE = 0.25;
/** loop-stalled: blocks that add up to this much, */
export const LOOP_BLOCKED_MS = 10_000;
/** within this long. */
export const LOOP_WINDOW_MS = 60_000;
/** How often the daemon is asked: /_ping, a bounded /events, a followed container's newest line. */
export const PROBE_MS = 15_000;
/** How long each of those questions may take. */
export const PROBE_TIMEOUT_MS = 10_000;
/** An event this old (by the host's clock) has had time to come through the stream. */
export const EVENT_GRACE_MS = 5_000;
/** events-down: the stream detached this long while the daemon answered. */
export const EVENTS_DOWN_MS = 60_000;
/** events-silent: the daemon has had events the stream did not deliver, this long. */
export const EVENTS_SILENT_MS = 60_000;
/**
 * A reader is given this long: its cursor must have stood still this long
 * before Docker is asked for the container's newest line, and a line Docker
 * has must stay unread this long.
 */
export const LOGS_GRACE_MS = 10_000;
/** logs-stalled: nothing read of a container this long while Docker had newer lines; also how often a still container is asked again. */
export const LOGS_STALL_MS = 60_000;

export const HEALTH_CAUSES = ['loop-stalled', 'events-down', 'events-silent', 'logs-stalled'] as const;
export type HealthCause = (typeof HEALTH_CAUSES)[number];

export type Health = { readonly healthy: true } | { readonly healthy: false; readonly cause: HealthCause; readonly detail: string };

const HEALTHY: Health = { healthy: true };

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** A block of the main loop: when it ended (ms) and how long it was. */
export interface LoopBlock {
  readonly at: number;
  readonly ms: number;
}

/** Whether a tick `lateMs` late, during which the process used `cpuMs` of CPU, was a block of a busy loop. */
export function busyBlock(lateMs: number, cpuMs: number): boolean {
  return lateMs >= LOOP_BLOCK_MS && cpuMs >= lateMs * LOOP_BUSY_SHARE;
}

/** loop-stalled: the loop was blocked for LOOP_BLOCKED_MS in all within the last LOOP_WINDOW_MS. */
export function loopCheck(blocks: readonly LoopBlock[], now: number): Health {
  let total = 0;
  let longest = 0;
  let n = 0;
  for (const b of blocks) {
    if (now - b.at >= LOOP_WINDOW_MS) continue;
    total += b.ms;
    longest = Math.max(longest, b.ms);
    n++;
  }
  if (total < LOOP_BLOCKED_MS) return HEALTHY;
  return {
    healthy: false,
    cause: 'loop-stalled',
    detail: `the main loop was blocked ${n} times, ${seconds(total)} in all, in the last ${seconds(LOOP_WINDOW_MS)} (the longest ${seconds(longest)})`,
  };
}

export interface EventFacts {
  /** Since when every ping has been answered (ms); undefined: the last was not. */
  readonly daemonSince: number | undefined;
  /** Since when the event stream is detached, or not attached yet (ms); undefined: attached. */
  readonly detachedSince: number | undefined;
  /** Why it was lost, as discovery said. */
  readonly reason: string | undefined;
  /**
   * The last bounded /events was answered with an error status: the daemon,
   * or a socket proxy, refuses events. A setting to fix, not a restart.
   */
  readonly refused: boolean;
  /** Since when every probe has found events newer than the newest the stream delivered (ms); undefined: the last found none. */
  readonly missedSince: number | undefined;
  /** The oldest of them, to name in the detail. */
  readonly missed: DockerEvent | undefined;
}

/**
 * events-down: detached for EVENTS_DOWN_MS while the daemon answered (and did
 * not refuse events). events-silent: attached, but the daemon has had events
 * the stream did not deliver for EVENTS_SILENT_MS. A silent stream on a quiet
 * host misses nothing: it is healthy.
 */
export function eventsCheck(f: EventFacts, now: number): Health {
  if (f.daemonSince === undefined) return HEALTHY;
  if (f.detachedSince !== undefined) {
    const down = now - Math.max(f.detachedSince, f.daemonSince);
    if (f.refused || down < EVENTS_DOWN_MS) return HEALTHY;
    return {
      healthy: false,
      cause: 'events-down',
      detail: `the Docker daemon answers, but the event stream has not been attached for ${seconds(down)}${f.reason === undefined ? '' : `: ${f.reason}`}`,
    };
  }
  if (f.missedSince === undefined) return HEALTHY;
  const silent = now - Math.max(f.missedSince, f.daemonSince);
  if (silent < EVENTS_SILENT_MS) return HEALTHY;
  const e = f.missed;
  const what = e === undefined ? 'events' : `events (the first: ${e.type} ${e.action} at ${nanosToSince(e.timeNanos)})`;
  return {
    healthy: false,
    cause: 'events-silent',
    detail: `the event stream is attached, but for ${seconds(silent)} the Docker daemon has had ${what} it did not deliver`,
  };
}

/** What is known of one followed container's reading. */
export interface Reading {
  readonly id: string;
  readonly name: string;
  /** Docker's time of the last line read; null: none yet. */
  readonly cursor: string | null;
  /** When the cursor last moved, or was first seen (ms). */
  readonly changedAt: number;
  /** A line Docker had that was not read when asked: its time, and when sidekick learnt of it (ms). */
  readonly pending: { readonly time: string; readonly seenAt: number } | undefined;
}

/**
 * logs-stalled: a followed container has a line Docker gave LOGS_GRACE_MS ago
 * or more, still unread, and nothing of it was read for LOGS_STALL_MS while
 * the daemon answered (no sink holds the reading: one that is full falls
 * behind and has the log read again for it).
 */
export function logsCheck(readings: Iterable<Reading>, daemonSince: number | undefined, now: number): Health {
  if (daemonSince === undefined) return HEALTHY;
  for (const r of readings) {
    const p = r.pending;
    if (p === undefined || now - p.seenAt < LOGS_GRACE_MS) continue;
    const still = now - Math.max(r.changedAt, daemonSince);
    if (still < LOGS_STALL_MS) continue;
    return {
      healthy: false,
      cause: 'logs-stalled',
      detail: `container ${r.name} (${r.id.slice(0, 12)}): Docker has a line of ${p.time}, but sidekick has read up to ${r.cursor ?? 'none'} and nothing more for ${seconds(still)}`,
    };
  }
  return HEALTHY;
}

/** Watches the main loop's lateness; tells `blocked` of each block of a busy loop. */
export class LoopMonitor {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private cpu = process.cpuUsage();

  constructor(private readonly blocked: (ms: number) => void) {}

  start(): void {
    this.last = performance.now();
    this.cpu = process.cpuUsage();
    this.timer = setInterval(() => this.tick(), LOOP_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    // Node schedules the next tick from when this one ran: lateness is measured from the last.
    const late = now - this.last - LOOP_TICK_MS;
    this.last = now;
    const used = process.cpuUsage(this.cpu);
    this.cpu = process.cpuUsage();
    if (busyBlock(late, (used.user + used.system) / 1000)) this.blocked(late);
  }
}

export interface HealthDeps {
  readonly api: Pick<DockerApi, 'ping' | 'eventsBetween' | 'newestLogTime'>;
  /** Every known container, with how it is read (the collector's /status). */
  readonly containers: () => Iterable<ContainerStatus>;
  readonly log: Logger;
  /** Told each check's answer: says a change, counts each turn to 503. */
  readonly events: HealthEvents;
  /** The clock, ms since the epoch (Docker's times are compared with it). */
  readonly now?: () => number;
}

interface ReadingState {
  id: string;
  name: string;
  cursor: string | null;
  changedAt: number;
  pending: { readonly time: string; readonly seenAt: number } | undefined;
  /** When Docker was last asked for its newest line. */
  askedAt: number | undefined;
  /** Without a cursor: Docker's newest line when first asked (written before the reading began). */
  baseline: string | undefined;
}

const msToNanos = (ms: number): string => String(BigInt(Math.floor(ms)) * 1_000_000n);

/** Gathers the facts, asks the daemon every PROBE_MS, and answers /healthz. */
export class HealthMonitor {
  private readonly now: () => number;
  private readonly loop: LoopMonitor;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private blocks: LoopBlock[] = [];
  private daemonSince: number | undefined;
  /** Since when the stream is detached (ms); undefined: attached. */
  private detachedSince: number | undefined;
  private attachedAt: number | undefined;
  private reason: string | undefined;
  private refused = false;
  /** Docker's time of the newest event the stream delivered. */
  private newest: string | undefined;
  private missedSince: number | undefined;
  private missed: DockerEvent | undefined;
  private readonly readings = new Map<string, ReadingState>();

  constructor(private readonly deps: HealthDeps) {
    this.now = deps.now ?? Date.now;
    // Not attached until discovery says so: a stream that never attaches is down from the start.
    this.detachedSince = this.now();
    this.loop = new LoopMonitor((ms) => this.loopBlocked(ms));
  }

  start(): void {
    this.loop.start();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.loop.stop();
    clearTimeout(this.timer);
  }

  loopBlocked(ms: number): void {
    const now = this.now();
    this.blocks = this.blocks.filter((b) => now - b.at < LOOP_WINDOW_MS);
    this.blocks.push({ at: now, ms });
    this.check();
  }

  /** Discovery's word: the event stream attached (true) or lost (false). */
  attached(up: boolean, reason?: string): void {
    const now = this.now();
    if (up) {
      this.detachedSince = undefined;
      this.attachedAt ??= now;
    } else {
      this.detachedSince ??= now;
      this.reason = reason;
      this.missedSince = undefined;
      this.missed = undefined;
    }
  }

  /** An event the stream delivered (each once). */
  eventSeen(timeNanos: string): void {
    if (this.newest === undefined || compareNanos(timeNanos, this.newest) > 0) this.newest = timeNanos;
  }

  /** The answer of /healthz now; a change is logged and counted once. */
  check(): Health {
    const now = this.now();
    this.observeReading(now);
    let health = loopCheck(this.blocks, now);
    if (health.healthy) {
      health = eventsCheck(
        {
          daemonSince: this.daemonSince,
          detachedSince: this.detachedSince,
          reason: this.reason,
          refused: this.refused,
          missedSince: this.missedSince,
          missed: this.missed,
        },
        now,
      );
    }
    if (health.healthy) health = logsCheck(this.readings.values(), this.daemonSince, now);
    this.deps.events.healthChecked(health);
    return health;
  }

  /** One round of questions to the daemon (every PROBE_MS). */
  async probe(): Promise<void> {
    const started = this.now();
    try {
      await this.deps.api.ping(PROBE_TIMEOUT_MS);
      this.daemonSince ??= started;
    } catch {
      this.daemonSince = undefined;
    }
    if (this.daemonSince !== undefined) {
      await this.probeEvents();
      this.observeReading(this.now());
      await this.probeLogs();
    }
    this.check();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.probe()
        .catch((err: Error) => this.deps.log.debug({ err: err.message }, 'health probe failed'))
        .finally(() => {
          if (!this.stopped) this.schedule();
        });
    }, PROBE_MS);
    this.timer.unref();
  }

  /**
   * Detached: does /events answer a fresh request at all (an error status:
   * refused)? Attached: does the daemon have events, old enough to have come
   * through, newer than the newest the stream delivered?
   */
  private async probeEvents(): Promise<void> {
    const started = this.now();
    const until = msToNanos(started - EVENT_GRACE_MS);
    // Before any event, the daemon is asked for what came after the stream attached (a margin kept for clocks apart).
    const from =
      this.detachedSince === undefined
        ? (this.newest ?? msToNanos((this.attachedAt ?? started) + EVENT_GRACE_MS))
        : msToNanos(started - EVENT_GRACE_MS - 1_000);
    if (compareNanos(from, until) >= 0) {
      // Nothing old enough can be missing (and the daemon refuses since > until).
      this.missedSince = undefined;
      this.missed = undefined;
      return;
    }
    let events: DockerEvent[];
    try {
      events = await this.deps.api.eventsBetween(nanosToSince(from), nanosToSince(until), PROBE_TIMEOUT_MS);
      this.refused = false;
    } catch (err) {
      // A hang or a broken connection while the daemon answers pings is the stream's fault; an answer is a refusal.
      this.refused = statusOf(err) !== undefined;
      return;
    }
    if (this.detachedSince !== undefined) return;
    const newest = this.newest ?? from;
    const missed = events.find((e) => compareNanos(e.timeNanos, newest) > 0);
    if (missed === undefined) {
      this.missedSince = undefined;
      this.missed = undefined;
    } else {
      this.missedSince ??= started;
      this.missed ??= missed;
    }
  }

  /** Notes where each followed container's reading is. */
  private observeReading(now: number): void {
    const following = new Set<string>();
    for (const s of this.deps.containers()) {
      if (s.state !== 'following') continue;
      following.add(s.id);
      const r = this.readings.get(s.id);
      if (r === undefined) {
        this.readings.set(s.id, { id: s.id, name: s.name, cursor: s.last_line, changedAt: now, pending: undefined, askedAt: undefined, baseline: undefined });
      } else if (r.cursor !== s.last_line) {
        r.cursor = s.last_line;
        r.changedAt = now;
        r.pending = undefined;
        r.askedAt = undefined;
      }
    }
    for (const id of this.readings.keys()) if (!following.has(id)) this.readings.delete(id);
  }

  /**
   * Asks Docker for the newest line of each followed container whose cursor
   * has stood still for LOGS_GRACE_MS (a still container again every
   * LOGS_STALL_MS), one at a time.
   */
  private async probeLogs(): Promise<void> {
    for (const r of [...this.readings.values()]) {
      const now = this.now();
      if (this.stopped || r.pending !== undefined || now - r.changedAt < LOGS_GRACE_MS) continue;
      if (r.askedAt !== undefined && now - r.askedAt < LOGS_STALL_MS) continue;
      r.askedAt = now;
      const cursor = r.cursor;
      let newest: string | undefined;
      try {
        newest = await this.deps.api.newestLogTime(r.id, PROBE_TIMEOUT_MS);
      } catch {
        continue; // gone, or not readable through the API: nothing to compare
      }
      if (newest === undefined || r.cursor !== cursor || this.readings.get(r.id) !== r) continue;
      const readTo = cursor ?? r.baseline;
      if (readTo === undefined) r.baseline = newest;
      else if (newest > readTo) r.pending = { time: newest, seenAt: this.now() };
    }
  }
}
