// Container metrics for Prometheus, under cAdvisor's names and types, so the
// dashboards and alerts written for cAdvisor work unchanged. Fed like a sink
// by the stats records (and by die/destroy events, which end a container's
// series); a container's series also end when its samples stop coming.

import { Counter, Gauge, type Registry } from 'prom-client';
import { removed } from '../docker/events.js';
import type { Envelope, StatsRecord } from '../core/record.js';
import type { Sink } from '../sinks/sink.js';

/** A container label as a Prometheus label name, as cAdvisor writes it. */
export function labelName(key: string): string {
  return 'container_label_' + key.replace(/[^a-zA-Z0-9_]/g, '_');
}

interface Latest {
  readonly record: StatsRecord;
  readonly seenAt: number;
}

type Labels = Record<string, string>;

export class ContainerMetrics implements Sink {
  readonly name = 'metrics://containers';
  readonly batching = { flushMs: 0 };
  private readonly latest = new Map<string, Latest>();

  /**
   * `labelKeys`: container labels copied onto every series.
   * `staleMs`: a container with no sample for this long has no series.
   */
  constructor(
    registry: Registry,
    private readonly labelKeys: readonly string[],
    private readonly staleMs: number,
  ) {
    const base = ['id', 'name', 'image', ...labelKeys.map(labelName)];
    const registers = [registry];
    const each = (fn: (labels: Labels, r: StatsRecord) => void): void => {
      const now = Date.now();
      for (const [id, l] of this.latest) {
        if (now - l.seenAt > this.staleMs) this.latest.delete(id);
        else fn(this.labels(l.record), l.record);
      }
    };
    const gauge = (name: string, help: string, value: (r: StatsRecord) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: base,
        registers,
        collect() {
          this.reset();
          each((labels, r) => this.set(labels, value(r)));
        },
      });
    };
    const counter = (name: string, help: string, value: (r: StatsRecord) => number): void => {
      new Counter({
        name,
        help,
        labelNames: base,
        registers,
        collect() {
          this.reset();
          each((labels, r) => this.inc(labels, value(r)));
        },
      });
    };
    const network = (name: string, help: string, field: string): void => {
      new Counter({
        name,
        help,
        labelNames: [...base, 'interface'],
        registers,
        collect() {
          this.reset();
          each((labels, r) => {
            for (const [iface, n] of Object.entries(r.stats.network)) this.inc({ ...labels, interface: iface }, n[field] ?? 0);
          });
        },
      });
    };
    counter('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed in seconds.', (r) => r.stats.cpu_seconds);
    gauge(
      'container_memory_usage_bytes',
      'Current memory usage in bytes, including all memory regardless of when it was accessed',
      (r) => r.stats.memory.raw_usage,
    );
    gauge('container_memory_working_set_bytes', 'Current working set in bytes.', (r) => r.stats.memory.usage);
    gauge('container_spec_memory_limit_bytes', 'Memory limit for the container.', (r) => r.stats.memory.limit);
    network('container_network_receive_bytes_total', 'Cumulative count of bytes received', 'rx_bytes');
    network('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', 'tx_bytes');
    network('container_network_receive_packets_total', 'Cumulative count of packets received', 'rx_packets');
    network('container_network_transmit_packets_total', 'Cumulative count of packets transmitted', 'tx_packets');
    network('container_network_receive_errors_total', 'Cumulative count of errors encountered while receiving', 'rx_errors');
    network('container_network_transmit_errors_total', 'Cumulative count of errors encountered while transmitting', 'tx_errors');
    counter('container_fs_reads_bytes_total', 'Cumulative count of bytes read', (r) => r.stats.blkio.read_bytes);
    counter('container_fs_writes_bytes_total', 'Cumulative count of bytes written', (r) => r.stats.blkio.write_bytes);
    gauge('container_processes', 'Number of processes running inside the container.', (r) => r.stats.pids);
    gauge('container_last_seen', 'Last time a container was seen by the exporter', (r) => Date.parse(r.time) / 1000);
  }

  /** Containers with series now. */
  get size(): number {
    return this.latest.size;
  }

  async start(): Promise<void> {}

  async write(batch: readonly Envelope[]): Promise<void> {
    const now = Date.now();
    for (const { record } of batch) {
      if (record.type === 'stats') this.latest.set(record.container.id, { record, seenAt: now });
      else if (record.type === 'event' && (record.action === 'die' || removed(record.action))) {
        this.latest.delete(record.actor.id);
      }
    }
  }

  async stop(): Promise<void> {
    this.latest.clear();
  }

  private labels(r: StatsRecord): Labels {
    const c = r.container;
    const labels: Labels = { id: c.id, name: c.name, image: c.image };
    for (const key of this.labelKeys) labels[labelName(key)] = c.labels[key] ?? '';
    return labels;
  }
}
