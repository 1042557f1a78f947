// What /metrics exports: the process and runtime metrics under their standard
// names, and sidekick's counters with the values its parts keep.

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Events } from '../../../src/observe/events.js';
import { HEALTH_CAUSES } from '../../../src/observe/health.js';
import { createRegistry, healthGauge, observePipeline } from '../../../src/observe/metrics.js';
import { SinkDriver } from '../../../src/pipeline/driver.js';
import { containerMeta, envelope } from '../../../src/core/record.js';
import { Router } from '../../../src/pipeline/router.js';
import { configureSink } from '../../../src/sinks/registry.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const log = pino({ level: 'silent' });

/** The value of one series in the exposition text. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A UDP port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('/metrics', () => {
  it('exports the process and Node metrics under their standard names, not prefixed', async () => {
    const text = await createRegistry().metrics();
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.match(text, new RegExp(`^${name} `, 'm'), name);
    }
    assert.doesNotMatch(text, /^sidekick_(process|nodejs)_/m);
  });

  it('exports UDP send errors, records dropped for /tap clients and containers missed, with their values', async () => {
    const registry = createRegistry();
    const events = new Events(log, registry);
    const uri = `syslog+udp://127.0.0.1:${await closedPort()}`;
    const channel = new SinkDriver(configureSink(uri).create({ log, events: events.forSink(uri) }), log, undefined);
    observePipeline(registry, {
      router: new Router([channel]),
      channels: [channel],
      containers: () => 0,
      logStreams: () => ({ api: 0, file: 0 }),
      filesTailed: () => 0,
      tapDropped: () => 3,
    });
    events.containerMissed({ container: 'job-1', id: 'a'.repeat(64), why: 'gone' });
    events.containerMissed({ container: 'job-2', id: 'b'.repeat(64), why: 'gone' });
    await channel.start();
    const meta = containerMeta('c'.repeat(64), '/app', 'app:1', {});
    // The port refuses (ICMP): each datagram after the first fails on the connected socket.
    const sendErrors = async (): Promise<number> => seriesValue(await registry.metrics(), `sidekick_sink_send_errors_total{sink="${uri}"}`) ?? 0;
    for (let i = 0; i < 20 && (await sendErrors()) === 0; i++) {
      channel.push(
        envelope({
          type: 'log',
          position: logPositions,
          time: new Date().toISOString(),
          host: 'h',
          container: meta,
          stream: 'stdout',
          seq: 1,
          message: `m${i}`,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok((await sendErrors()) > 0, 'a refused send counted');
    const text = await registry.metrics();
    assert.equal(seriesValue(text, 'sidekick_tap_records_dropped_total'), 3);
    assert.equal(seriesValue(text, 'sidekick_containers_missed_total'), 2);
    await channel.close(Date.now() + 1000);
  });

  it('exports /healthz as sidekick_healthy and each turn to 503 by cause', async () => {
    const registry = createRegistry();
    let healthy = true;
    const health = new Events(log, registry).forHealth(HEALTH_CAUSES);
    healthGauge(registry, () => healthy);
    let text = await registry.metrics();
    assert.equal(seriesValue(text, 'sidekick_healthy'), 1);
    assert.equal(seriesValue(text, 'sidekick_unhealthy_total{cause="logs-stalled"}'), 0);
    healthy = false;
    health.healthChecked({ healthy: false, cause: 'logs-stalled', detail: 'a container stalled' });
    text = await registry.metrics();
    assert.equal(seriesValue(text, 'sidekick_healthy'), 0);
    assert.equal(seriesValue(text, 'sidekick_unhealthy_total{cause="logs-stalled"}'), 1);
    assert.equal(seriesValue(text, 'sidekick_unhealthy_total{cause="events-down"}'), 0);
  });
});
