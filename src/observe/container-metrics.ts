// Container metrics for Prometheus, under cAdvisor's names and types, so the
// dashboards and alerts written for cAdvisor work unchanged. Fed like a sink
// by the stats records (and by die/destroy events, which end a container's
// series); a container's series also end when its samples stop coming.
//
// Written as text at each scrape (SidekickRegistry.addText): each container's
// labels are escaped once, when its stats first come (or its name or labels
// change), and a scrape joins them with the values. Through prom-client's
// gauges, set again at each scrape, 220 containers allocated 6.6 MB a scrape.

import { removed } from '../docker/events.js';
import type { ContainerMeta, Envelope, StatsRecord, StatsValues } from '../core/record.js';
import type { SidekickRegistry } from './metrics.js';
import type { Sink } from '../sinks/sink.js';

/** A container label as a Prometheus label name, as cAdvisor writes it. */
export function labelName(key: string): string {
  return 'container_label_' + key.replace(/[^a-zA-Z0-9_]/g, '_');
}

interface Latest {
  readonly record: StatsRecord;
  readonly seenAt: number;
  /** The container's labels as text (`id="…",name="…",…`). */
  readonly labels: string;
}

interface FamilyHead {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
}

/** A family with one value a container, or one a network interface (of `field` of its counters). */
type Family = (FamilyHead & { readonly value: (s: StatsValues, r: StatsRecord) => number }) | (FamilyHead & { readonly field: string });

const FAMILIES: readonly Family[] = [
  { name: 'container_cpu_usage_seconds_total', help: 'Cumulative cpu time consumed in seconds.', type: 'counter', value: (s) => s.cpu_seconds },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed',
    type: 'gauge',
    value: (s) => s.memory.raw_usage,
  },
  { name: 'container_memory_working_set_bytes', help: 'Current working set in bytes.', type: 'gauge', value: (s) => s.memory.usage },
  { name: 'container_spec_memory_limit_bytes', help: 'Memory limit for the container.', type: 'gauge', value: (s) => s.memory.limit },
  { name: 'container_network_receive_bytes_total', help: 'Cumulative count of bytes received', type: 'counter', field: 'rx_bytes' },
  { name: 'container_network_transmit_bytes_total', help: 'Cumulative count of bytes transmitted', type: 'counter', field: 'tx_bytes' },
  { name: 'container_network_receive_packets_total', help: 'Cumulative count of packets received', type: 'counter', field: 'rx_packets' },
  { name: 'container_network_transmit_packets_total', help: 'Cumulative count of packets transmitted', type: 'counter', field: 'tx_packets' },
  {
    name: 'container_network_receive_errors_total',
    help: 'Cumulative count of errors encountered while receiving',
    type: 'counter',
    field: 'rx_errors',
  },
  {
    name: 'container_network_transmit_errors_total',
    help: 'Cumulative count of errors encountered while transmitting',
    type: 'counter',
    field: 'tx_errors',
  },
  { name: 'container_fs_reads_bytes_total', help: 'Cumulative count of bytes read', type: 'counter', value: (s) => s.blkio.read_bytes },
  { name: 'container_fs_writes_bytes_total', help: 'Cumulative count of bytes written', type: 'counter', value: (s) => s.blkio.write_bytes },
  { name: 'container_processes', help: 'Number of processes running inside the container.', type: 'gauge', value: (s) => s.pids },
  { name: 'container_last_seen', help: 'Last time a container was seen by the exporter', type: 'gauge', value: (_, r) => Date.parse(r.time) / 1000 },
];

/** Each family's HELP and TYPE lines. */
const HEADS = FAMILIES.map((f) => `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`);

/** A label value as the text format escapes it: backslash, newline and double quote. */
function escapeLabelValue(value: string): string {
  return /[\\\n"]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** A sample's value as the text format writes it (as prom-client does). */
function valueText(n: number): string {
  if (Number.isNaN(n)) return 'Nan';
  if (!Number.isFinite(n)) return n < 0 ? '-Inf' : '+Inf';
  return `${n}`;
}

export class ContainerMetrics implements Sink {
  readonly name = 'metrics://containers';
  readonly batching = { flushMs: 0 };
  private readonly latest = new Map<string, Latest>();

  /**
   * `labelKeys`: container labels copied onto every series.
   * `staleMs`: a container with no sample for this long has no series.
   */
  constructor(
    registry: SidekickRegistry,
    private readonly labelKeys: readonly string[],
    private readonly staleMs: number,
  ) {
    registry.addText(() => this.text());
  }

  /** Containers with series now. */
  get size(): number {
    return this.latest.size;
  }

  async start(): Promise<void> {}

  async write(batch: readonly Envelope[]): Promise<void> {
    const now = Date.now();
    for (const { record } of batch) {
      if (record.type === 'stats') {
        const id = record.container.id;
        const before = this.latest.get(id);
        const labels = before !== undefined && before.record.container === record.container ? before.labels : this.labelsOf(record.container);
        this.latest.set(id, { record, seenAt: now, labels });
      } else if (record.type === 'event' && (record.action === 'die' || removed(record.action))) {
        this.latest.delete(record.actor.id);
      }
    }
  }

  async stop(): Promise<void> {
    this.latest.clear();
  }

  /** Every family, with a series a container (a network interface) that sent stats within staleMs. */
  text(): string {
    const now = Date.now();
    for (const [id, l] of this.latest) if (now - l.seenAt > this.staleMs) this.latest.delete(id);
    const containers = [...this.latest.values()];
    const parts: string[] = [];
    FAMILIES.forEach((f, i) => {
      if (i > 0) parts.push('\n');
      parts.push(HEADS[i]!);
      for (const { record, labels } of containers) {
        const stats = record.stats;
        if ('value' in f) {
          parts.push(`${f.name}{${labels}} ${valueText(f.value(stats, record))}\n`);
          continue;
        }
        for (const iface in stats.network) {
          const n = stats.network[iface]![f.field] ?? 0;
          parts.push(`${f.name}{${labels},interface="${escapeLabelValue(iface)}"} ${valueText(n)}\n`);
        }
      }
    });
    return parts.join('');
  }

  private labelsOf(c: ContainerMeta): string {
    let text = `id="${escapeLabelValue(c.id)}",name="${escapeLabelValue(c.name)}",image="${escapeLabelValue(c.image)}"`;
    for (const key of this.labelKeys) text += `,${labelName(key)}="${escapeLabelValue(c.labels[key] ?? '')}"`;
    return text;
  }
}
