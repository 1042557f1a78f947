// stats: one sample a container every interval, from `GET /containers/{id}/
// stats?stream=false&one-shot=true`, computed the way `docker stats` computes
// it (cgroup v1 and v2). A one-shot answer has no previous CPU sample, so the
// CPU percentage comes from sidekick's own previous sample of the container.

import type { Logger } from 'pino';
import { statusOf, type DockerApi } from '../docker/client.js';
import type { ContainerMeta, StatsRecord, StatsValues } from '../pipeline/record.js';

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

const NETWORK_FIELDS = [
  'rx_bytes',
  'rx_packets',
  'rx_errors',
  'rx_dropped',
  'tx_bytes',
  'tx_packets',
  'tx_errors',
  'tx_dropped',
] as const;

/** CPU % between two samples, as the Docker CLI computes it; null without a usable previous one. */
export function cpuPercent(cur: CpuStats | undefined, prev: CpuStats | undefined): number | null {
  const total = cur?.cpu_usage?.total_usage;
  const prevTotal = prev?.cpu_usage?.total_usage;
  const system = cur?.system_cpu_usage;
  const prevSystem = prev?.system_cpu_usage;
  if (total === undefined || prevTotal === undefined || system === undefined || prevSystem === undefined) return null;
  const cpuDelta = total - prevTotal;
  const systemDelta = system - prevSystem;
  const online = cur?.online_cpus || cur?.cpu_usage?.percpu_usage?.length || 0;
  if (systemDelta <= 0 || cpuDelta < 0 || online === 0) return null;
  return (cpuDelta / systemDelta) * online * 100;
}

/** Memory in use without reclaimable page cache: the CLI's "MEM USAGE" (v1 and v2). */
export function workingSet(memory: DockerStats['memory_stats']): number {
  const usage = memory?.usage ?? 0;
  const stats = memory?.stats ?? {};
  // cgroup v1 names it total_inactive_file; v2 inactive_file.
  const inactive = stats['total_inactive_file'] ?? stats['inactive_file'] ?? 0;
  return inactive < usage ? usage - inactive : usage;
}

export function computeStats(cur: DockerStats, prevCpu: CpuStats | undefined): StatsValues {
  const used = workingSet(cur.memory_stats);
  const limit = cur.memory_stats?.limit ?? 0;
  const network: Record<string, Record<string, number>> = {};
  for (const [iface, counters] of Object.entries(cur.networks ?? {})) {
    const n: Record<string, number> = {};
    for (const f of NETWORK_FIELDS) n[f] = counters[f] ?? 0;
    network[iface] = n;
  }
  let read = 0;
  let write = 0;
  for (const entry of cur.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === 'read') read += entry.value ?? 0;
    else if (op === 'write') write += entry.value ?? 0;
  }
  return {
    cpu_percent: cpuPercent(cur.cpu_stats, prevCpu),
    cpu_seconds: (cur.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e9,
    memory: {
      usage: used,
      raw_usage: cur.memory_stats?.usage ?? 0,
      limit,
      percent: limit > 0 ? (used / limit) * 100 : 0,
    },
    network,
    blkio: { read_bytes: read, write_bytes: write },
    pids: cur.pids_stats?.current ?? 0,
  };
}

export interface StatsContext {
  readonly api: DockerApi;
  readonly host: string;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly emit: (record: StatsRecord) => void;
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
    const stats = computeStats(raw, this.prevCpu);
    this.prevCpu = raw.cpu_stats;
    const time = raw.read !== undefined && !raw.read.startsWith('0001-') ? raw.read : new Date().toISOString();
    this.ctx.emit({ type: 'stats', time: normalizeTime(time), host: this.ctx.host, container: this.meta, stats });
    this.schedule(this.ctx.intervalMs);
  }
}

/** Docker's `read` has up to 9 fraction digits; records carry exactly 9. */
function normalizeTime(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(time);
  if (m === null) return time;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}
