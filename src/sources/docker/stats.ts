// stats: one sample a container every interval, from `GET /containers/{id}/
// stats?stream=false&one-shot=true`, computed the way `docker stats` computes
// it (cgroup v1 and v2). A one-shot answer has no previous CPU sample, so the
// CPU percentage comes from sidekick's own previous sample of the container.

import type { Logger } from 'pino';
import { statusOf, type DockerApi } from '../../docker/client.js';
import { normalizeTime } from '../../docker/time.js';
import { nowTime, type ContainerMeta, type StatsRecord, type StatsValues } from '../../core/record.js';

/** The parts of Docker's stats answer that sidekick reads. */
export interface DockerStats {
  readonly read?: string;
  readonly pids_stats?: { readonly current?: number };
  readonly blkio_stats?: {
    readonly io_service_bytes_recursive?: readonly { readonly op?: string; readonly value?: number }[] | null;
  };
  readonly cpu_stats?: CpuStats;
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>>;
  };
  readonly networks?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface CpuStats {
  readonly cpu_usage?: { readonly total_usage?: number; readonly percpu_usage?: readonly number[] | null };
  readonly system_cpu_usage?: number;
  readonly online_cpus?: number;
}

const NETWORK_FIELDS = ['rx_bytes', 'rx_packets', 'rx_errors', 'rx_dropped', 'tx_bytes', 'tx_packets', 'tx_errors', 'tx_dropped'] as const;

/** A finite number, or undefined: an answer may hold anything where a number belongs. */
function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** `x`, or 0 if sums of absurd values overflowed. */
function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

/** An object (not an array, not null), or undefined. */
function obj(v: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** CPU % between two samples, as the Docker CLI computes it; null without a usable previous one. */
export function cpuPercent(cur: CpuStats | undefined, prev: CpuStats | undefined): number | null {
  const total = num(obj(cur?.cpu_usage)?.['total_usage']);
  const prevTotal = num(obj(prev?.cpu_usage)?.['total_usage']);
  const system = num(cur?.system_cpu_usage);
  const prevSystem = num(prev?.system_cpu_usage);
  if (total === undefined || prevTotal === undefined || system === undefined || prevSystem === undefined) return null;
  const cpuDelta = total - prevTotal;
  const systemDelta = system - prevSystem;
  const percpu = obj(cur?.cpu_usage)?.['percpu_usage'];
  const online = num(cur?.online_cpus) || (Array.isArray(percpu) ? percpu.length : 0);
  if (systemDelta <= 0 || cpuDelta < 0 || online <= 0) return null;
  const percent = (cpuDelta / systemDelta) * online * 100;
  // A tiny system delta in a malformed answer must not make it Infinity.
  return Number.isFinite(percent) ? percent : null;
}

/** Memory in use without reclaimable page cache: the CLI's "MEM USAGE" (v1 and v2). */
export function workingSet(memory: DockerStats['memory_stats']): number {
  const m = obj(memory);
  const usage = num(m?.['usage']) ?? 0;
  const stats = obj(m?.['stats']);
  // cgroup v1 names it total_inactive_file; v2 inactive_file.
  const inactive = num(stats?.['total_inactive_file']) ?? num(stats?.['inactive_file']) ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

/**
 * The values of one stats answer. Whatever the answer holds (a field missing,
 * null, of another type), the values are numbers: what cannot be read is 0.
 */
export function computeStats(cur: DockerStats, prevCpu: CpuStats | undefined): StatsValues {
  const used = workingSet(cur.memory_stats);
  const memory = obj(cur.memory_stats);
  const limit = num(memory?.['limit']) ?? 0;
  const network: Record<string, Record<string, number>> = {};
  for (const [iface, counters] of Object.entries(obj(cur.networks) ?? {})) {
    const c = obj(counters);
    const n: Record<string, number> = {};
    for (const f of NETWORK_FIELDS) n[f] = num(c?.[f]) ?? 0;
    network[iface] = n;
  }
  let read = 0;
  let write = 0;
  const entries = obj(cur.blkio_stats)?.['io_service_bytes_recursive'];
  for (const entry of Array.isArray(entries) ? entries : []) {
    const e = obj(entry);
    const op = typeof e?.['op'] === 'string' ? e['op'].toLowerCase() : '';
    if (op === 'read') read += num(e?.['value']) ?? 0;
    else if (op === 'write') write += num(e?.['value']) ?? 0;
  }
  const cpu = obj(cur.cpu_stats);
  return {
    cpu_percent: cpuPercent(cpu as CpuStats | undefined, prevCpu),
    cpu_seconds: (num(obj(cpu?.['cpu_usage'])?.['total_usage']) ?? 0) / 1e9,
    memory: {
      usage: used,
      raw_usage: num(memory?.['usage']) ?? 0,
      limit,
      // Limits are whole bytes: a fraction of one is garbage, not a limit.
      percent: limit >= 1 ? finite((used / limit) * 100) : 0,
    },
    network,
    blkio: { read_bytes: finite(read), write_bytes: finite(write) },
    pids: num(obj(cur.pids_stats)?.['current']) ?? 0,
  };
}

export interface StatsContext {
  readonly api: DockerApi;
  readonly host: string;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly emit: (record: StatsRecord) => void;
  /** Told of an answer that is not a stats answer (counted). */
  readonly malformed: () => void;
}

/** Samples one container every interval until stopped; the first at a random point, to spread the calls. */
export class StatsLoop {
  private timer: NodeJS.Timeout | undefined;
  private prevCpu: CpuStats | undefined;
  private stopped = false;

  constructor(
    private readonly meta: ContainerMeta,
    private readonly ctx: StatsContext,
  ) {}

  start(): void {
    this.schedule(Math.random() * this.ctx.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.sample(), ms);
    this.timer.unref();
  }

  private async sample(): Promise<void> {
    let raw: DockerStats;
    try {
      raw = (await this.ctx.api.stats(this.meta.id)) as DockerStats;
    } catch (err) {
      if (statusOf(err) === 404) return this.stop();
      this.ctx.log.debug({ container: this.meta.name, err: (err as Error).message }, 'stats sample failed');
      return this.schedule(this.ctx.intervalMs);
    }
    if (this.stopped) return;
    if (obj(raw) === undefined) {
      // Not a stats answer at all: counted, skipped; the next sample may be fine.
      this.ctx.malformed();
      return this.schedule(this.ctx.intervalMs);
    }
    if (notSampled(raw)) {
      // The container stopped: the engine answers with zeros, not a sample.
      return this.schedule(this.ctx.intervalMs);
    }
    const stats = computeStats(raw, this.prevCpu);
    this.prevCpu = obj(raw.cpu_stats) as CpuStats | undefined;
    const read = typeof raw.read === 'string' ? raw.read : undefined;
    const time = read !== undefined && !read.startsWith('0001-') ? read : new Date().toISOString();
    this.ctx.emit({ type: 'stats', time: sampleTime(time), host: this.ctx.host, container: this.meta, stats });
    this.schedule(this.ctx.intervalMs);
  }
}

/**
 * The engine's answer for a container that is not running: no sample time
 * (`0001-01-01T00:00:00Z`) and no memory figures. Sent on, it would read as
 * a container using no memory and no CPU.
 */
export function notSampled(raw: DockerStats): boolean {
  const memory = obj(raw.memory_stats);
  return typeof raw.read === 'string' && raw.read.startsWith('0001-') && (memory === undefined || Object.keys(memory).length === 0);
}

/** A sample's time: Docker's `read`, as records carry times; now if it is not a time. */
export function sampleTime(read: string): string {
  const time = normalizeTime(read);
  return time === '' ? nowTime() : time;
}
