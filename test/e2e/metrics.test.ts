// Container stats through a real Prometheus scraping sidekick every second:
// CPU, working set and series removal under cAdvisor's names, stats records in
// the stream, and /readyz following the Docker daemon.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { docker, engine, removeTestContainers, runContainer, Sidekick, sleep, uniqueName } from './harness.js';
import { Prometheus } from './prometheus.js';

describe('container metrics scraped by a real Prometheus', () => {
  const prom = new Prometheus();
  let sk: Sidekick;

  before(async () => {
    sk = new Sidekick({ SIDEKICK_STATS_INTERVAL: '1s', SIDEKICK_METRICS_LABELS: 'team', SIDEKICK_TYPES: 'event,inspect,stats' });
    await sk.ready();
    await prom.start(`127.0.0.1:${sk.metricsPort}`);
  });

  after(async () => {
    await prom.stop();
    const exit = await sk.stop();
    await removeTestContainers();
    assert.equal(exit.code, 0);
  });

  /** Polls a PromQL query until `ok` holds for its result. */
  async function eventually(q: string, ok: (s: { value: number; metric: Record<string, string> }[]) => boolean, what: string): Promise<void> {
    const end = Date.now() + 30_000;
    let last: unknown = [];
    for (;;) {
      const r = await prom.query(q);
      if (ok(r)) return;
      last = r;
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}: ${q} -> ${JSON.stringify(last)}`);
      await sleep(500);
    }
  }

  it('shows a CPU burner’s rising container_cpu_usage_seconds_total, and its stats records', async () => {
    const name = uniqueName('burn');
    await runContainer(name, ['-l', 'team=blue'], 'while :; do :; done');
    const series = `container_cpu_usage_seconds_total{name="${name}",container_label_team="blue"}`;
    await eventually(series, (r) => r.length === 1, 'the CPU series');
    const first = (await prom.query(series))[0]!.value;
    await sleep(3000);
    await eventually(series, (r) => r[0]!.value > first + 1, 'CPU seconds to rise by more than one second in 3 s');
    await eventually(`rate(${series}[5s])`, (r) => r.length === 1 && r[0]!.value > 0.5, 'a CPU rate above half a core');
    const stats = sk.of(name, 'stats');
    assert.ok(stats.length >= 2);
    const last = stats[stats.length - 1]!['stats'] as { cpu_percent: number; memory: { usage: number; limit: number }; pids: number };
    assert.ok(last.cpu_percent > 50, `cpu_percent ${last.cpu_percent}`);
    assert.ok(last.memory.limit > 0);
    assert.equal(last.pids, 1);
  });

  it('shows a memory-hungry container’s working set', async () => {
    const name = uniqueName('mem');
    await runContainer(name, ['--shm-size', '128m'], 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=64 2>/dev/null; sleep 300');
    await eventually(
      `container_memory_working_set_bytes{name="${name}"}`,
      (r) => r.length === 1 && r[0]!.value > 60 * 1024 * 1024,
      'a working set above 60 MiB',
    );
  });

  it('removes a container’s series when the container is removed', async () => {
    const name = uniqueName('gone');
    await runContainer(name, [], 'sleep 300');
    await eventually(`container_last_seen{name="${name}"}`, (r) => r.length === 1, 'the series');
    await docker('rm', '-f', name);
    await eventually(`container_last_seen{name="${name}"}`, (r) => r.length === 0, 'the series to go');
    await eventually(`container_memory_usage_bytes{name="${name}"}`, (r) => r.length === 0, 'every series to go');
  });

  it('exposes sidekick’s own metrics and a /status page', async () => {
    await eventually('sidekick_records_total{type="stats"}', (r) => r.length === 1 && r[0]!.value > 0, 'records by type');
    await eventually('sidekick_sink_records_sent_total{sink="stdout://"}', (r) => r.length === 1 && r[0]!.value > 0, 'sent per sink');
    await eventually('sidekick_containers_watched', (r) => r.length === 1 && r[0]!.value >= 1, 'containers watched');
    await eventually('sidekick_stats_call_seconds_count', (r) => r.length === 1 && r[0]!.value > 0, 'stats calls timed');
    await eventually(
      'sidekick_stats_call_seconds_sum / sidekick_stats_call_seconds_count',
      (r) => r.length === 1 && r[0]!.value > 0 && r[0]!.value < 5,
      'a stats call’s mean time, within its timeout',
    );
    await eventually('process_resident_memory_bytes', (r) => r.length >= 1, 'process metrics, under their standard names');
    await eventually('nodejs_heap_size_used_bytes', (r) => r.length >= 1, 'Node metrics, under their standard names');
    await eventually('sidekick_containers_missed_total', (r) => r.length === 1 && r[0]!.value === 0, 'containers missed, exported');
    const status = JSON.parse((await sk.get('/status')).body) as {
      containers: { name: string; state: string; lag_seconds: number }[];
      sinks: { sink: string; buffer_records: number; last_error: string | null }[];
    };
    assert.ok(status.containers.some((c) => c.state === 'collected'));
    // Everything was delivered to stdout at once: no container lags, however long it has been quiet.
    assert.deepEqual(
      status.containers.filter((c) => c.lag_seconds > 5),
      [],
    );
    assert.deepEqual(
      status.sinks.map((s) => s.sink),
      ['stdout://', 'metrics://containers'],
    );
    assert.equal((await sk.get('/healthz')).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${sk.metricsPort}/metrics`, { method: 'POST' })).status, 405);
  });

  it('answers /readyz 503 while dockerd is stopped, and 200 once it is back', async () => {
    assert.equal((await sk.get('/readyz')).status, 200);
    await engine('stop');
    try {
      const end = Date.now() + 15_000;
      let r = await sk.get('/readyz');
      while (r.status !== 503 && Date.now() < end) {
        await sleep(200);
        r = await sk.get('/readyz');
      }
      assert.equal(r.status, 503);
      assert.equal((JSON.parse(r.body) as { ready: boolean }).ready, false);
      assert.equal((await sk.get('/healthz')).status, 200, 'alive all the same');
    } finally {
      await engine('ensure');
    }
    await sk.until(() => sk.stderr.includes('docker event stream attached again'), 30_000, 'the event stream to attach again');
    assert.equal((await sk.get('/readyz')).status, 200);
    await eventually('sidekick_event_stream_reconnects_total', (r) => r.length === 1 && r[0]!.value >= 1, 'the reconnect to be counted');
  });
});
