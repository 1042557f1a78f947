// The metrics sidekick exposes about itself that are read when Prometheus
// scrapes: values kept by components as plain counters (cheap on the
// per-record path), and gauges of what is now. What its internal events count
// is in events.ts.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SinkDriver } from '../pipeline/driver.js';
import type { Router } from '../pipeline/router.js';

export interface Observed {
  readonly router: Router;
  readonly channels: readonly SinkDriver[];
  /** Containers being collected now. */
  readonly containers: () => number;
  readonly logStreams: () => { readonly api: number; readonly file: number };
  /** Files tailed now (SIDEKICK_FILES). */
  readonly filesTailed: () => number;
  /** Records dropped for /tap clients that read too slowly. */
  readonly tapDropped: () => number;
}

/**
 * A registry whose text also holds families written whole by their owner:
 * the container metrics, hundreds of series each, formatted from label text
 * kept per container instead of through prom-client's objects per value
 * (which allocated 6.6 MB a scrape watching 220 containers, for 290 KB of
 * text: enough to turn the heap busy at every scrape, bench/RESULTS.md).
 */
export class SidekickRegistry extends Registry {
  private readonly texts: (() => string)[] = [];

  /** `text` gives whole families in the text format, each ending with "\n". */
  addText(text: () => string): void {
    this.texts.push(text);
  }

  override async metrics(): Promise<string> {
    let out = await super.metrics();
    // A blank line between families, as prom-client writes them.
    for (const text of this.texts) out += '\n' + text();
    return out;
  }
}

export function createRegistry(): SidekickRegistry {
  const registry = new SidekickRegistry();
  // Under their standard names (process_resident_memory_bytes, nodejs_heap_size_used_bytes…),
  // which stock dashboards and alerts expect: the job label tells processes apart.
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** /healthz as a metric: `sidekick_healthy`, 1 while it answers 200 (each turn to 503 is counted by its event, by cause). */
export function healthGauge(registry: Registry, healthy: () => boolean): void {
  new Gauge({
    name: 'sidekick_healthy',
    help: '1 while /healthz answers 200; 0 while sidekick is alive but not doing its job (see sidekick_unhealthy_total)',
    registers: [registry],
    collect() {
      this.set(healthy() ? 1 : 0);
    },
  });
}

/** Times each stats call: a round (one call a container each interval) costs their sum over the concurrency. */
export function statsCallTimer(registry: Registry): (seconds: number) => void {
  const h = new Histogram({
    name: 'sidekick_stats_call_seconds',
    help: 'How long a Docker stats call took, waiting for a place among the concurrent calls included',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (seconds) => h.observe(seconds);
}

/** Registers the metrics read from the pipeline at scrape time. */
export function observePipeline(registry: Registry, o: Observed): void {
  const registers = [registry];
  new Counter({
    name: 'sidekick_records_total',
    help: 'Records collected, by type',
    labelNames: ['type'],
    registers,
    collect() {
      this.reset();
      for (const [type, n] of o.router.routed) this.inc({ type }, n);
    },
  });
  const perSink = (name: string, help: string, read: (c: SinkDriver) => number, extra: Record<string, string> = {}): void => {
    new Counter({
      name,
      help,
      labelNames: ['sink', ...Object.keys(extra)],
      registers,
      collect() {
        this.reset();
        for (const c of o.channels) this.inc({ sink: c.sink.name, ...extra }, read(c));
      },
    });
  };
  perSink('sidekick_sink_records_sent_total', 'Records a sink delivered', (c) => c.counts.sent);
  perSink('sidekick_sink_records_dropped_total', 'Records a sink dropped, by reason', (c) => c.counts.dropped, {
    reason: 'buffer_full',
  });
  perSink('sidekick_sink_records_retried_total', 'Records in writes that were tried again', (c) => c.counts.retried);
  perSink('sidekick_sink_records_rejected_total', 'Records the receiver refused for good (not retried)', (c) => c.counts.rejected);
  for (const [name, help, read] of [
    ['sidekick_sink_buffer_records', 'Records waiting in a sink buffer', (c: SinkDriver) => c.depth.records],
    ['sidekick_sink_buffer_bytes', 'Bytes held by a sink buffer', (c: SinkDriver) => c.depth.bytes],
    [
      'sidekick_sink_behind_sources',
      'Sources (container logs, files) a full block sink fell behind on, to be read again for it',
      (c: SinkDriver) => c.behindSources,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['sink'],
      registers,
      collect() {
        this.reset();
        for (const c of o.channels) this.set({ sink: c.sink.name }, read(c));
      },
    });
  }
  new Gauge({
    name: 'sidekick_sink_buffer_oldest_age_seconds',
    help: 'Age of the oldest record a sink buffer holds (by its time), 0 when empty',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const c of o.channels) {
        const oldest = c.buffer.oldestTime();
        this.set({ sink: c.sink.name }, oldest === undefined ? 0 : Math.max(0, (now - Date.parse(oldest)) / 1000));
      }
    },
  });
  new Gauge({
    name: 'sidekick_containers_watched',
    help: 'Containers being collected now',
    registers,
    collect() {
      this.set(o.containers());
    },
  });
  new Gauge({
    name: 'sidekick_log_streams',
    help: 'Container log streams followed now, by where they are read (api: the logs API, file: the json-file)',
    labelNames: ['source'],
    registers,
    collect() {
      const n = o.logStreams();
      this.set({ source: 'api' }, n.api);
      this.set({ source: 'file' }, n.file);
    },
  });
  new Counter({
    name: 'sidekick_tap_records_dropped_total',
    help: 'Records dropped for /tap clients that read too slowly (each told in a gap record)',
    registers,
    collect() {
      this.reset();
      this.inc(o.tapDropped());
    },
  });
  new Gauge({
    name: 'sidekick_files_tailed',
    help: 'Log files being tailed now (SIDEKICK_FILES)',
    registers,
    collect() {
      this.set(o.filesTailed());
    },
  });
}
