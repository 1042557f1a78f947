// Container metrics under cAdvisor's names, fed by stats records; a container's
// series end with its die event or when its samples stop.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge } from 'prom-client';
import { ContainerMetrics, labelName } from '../../../src/observe/container-metrics.js';
import { SidekickRegistry } from '../../../src/observe/metrics.js';
import { containerMeta, envelope, type StatsValues } from '../../../src/core/record.js';

const meta = containerMeta('f'.repeat(64), '/web', 'nginx:1.27', { 'com.example.team': 'blue' });
const values: StatsValues = {
  cpu_percent: 12.5,
  cpu_seconds: 3.25,
  memory: { usage: 1000, raw_usage: 1500, limit: 4096, percent: 24.4 },
  network: { eth0: { rx_bytes: 10, tx_bytes: 20, rx_packets: 1, tx_packets: 2, rx_errors: 0, tx_errors: 0 } },
  blkio: { read_bytes: 7, write_bytes: 8 },
  pids: 3,
};
const stats = envelope({ type: 'stats', time: '2026-01-01T00:00:00.000000000Z', host: 'h', container: meta, stats: values });

describe('ContainerMetrics', () => {
  it('exposes a stats record under cAdvisor names, with chosen labels', async () => {
    const registry = new SidekickRegistry();
    const m = new ContainerMetrics(registry, ['com.example.team'], 60_000);
    await m.write([stats]);
    const text = await registry.metrics();
    const labels = `id="${'f'.repeat(64)}",name="web",image="nginx:1.27",container_label_com_example_team="blue"`;
    for (const line of [
      `container_cpu_usage_seconds_total{${labels}} 3.25`,
      `container_memory_usage_bytes{${labels}} 1500`,
      `container_memory_working_set_bytes{${labels}} 1000`,
      `container_spec_memory_limit_bytes{${labels}} 4096`,
      `container_network_receive_bytes_total{${labels},interface="eth0"} 10`,
      `container_network_transmit_bytes_total{${labels},interface="eth0"} 20`,
      `container_fs_reads_bytes_total{${labels}} 7`,
      `container_fs_writes_bytes_total{${labels}} 8`,
      `container_processes{${labels}} 3`,
      `container_last_seen{${labels}} 1767225600`,
    ]) {
      assert.ok(text.includes(line + '\n'), `missing: ${line}`);
    }
    assert.match(text, /# TYPE container_cpu_usage_seconds_total counter/);
    assert.match(text, /# TYPE container_memory_working_set_bytes gauge/);
  });

  it('removes a container’s series on its die event', async () => {
    const registry = new SidekickRegistry();
    const m = new ContainerMetrics(registry, [], 60_000);
    await m.write([stats]);
    assert.equal(m.size, 1);
    await m.write([
      envelope({
        type: 'event',
        time: '2026-01-01T00:00:01.000000000Z',
        host: 'h',
        container: meta,
        object: 'container',
        action: 'die',
        actor: { id: meta.id, attributes: {} },
        scope: 'local',
      }),
    ]);
    assert.equal(m.size, 0);
    assert.doesNotMatch(await registry.metrics(), /name="web"/);
  });

  it('drops series whose samples stopped coming', async () => {
    const registry = new SidekickRegistry();
    const m = new ContainerMetrics(registry, [], 20);
    await m.write([stats]);
    await new Promise((r) => setTimeout(r, 40));
    assert.doesNotMatch(await registry.metrics(), /name="web"/);
    assert.equal(m.size, 0);
  });

  it("escapes label values, follows a rename, and joins prom-client's own families with a blank line", async () => {
    const registry = new SidekickRegistry();
    new Gauge({ name: 'own_gauge', help: 'one of prom-client', registers: [registry] }).set(1);
    const m = new ContainerMetrics(registry, ['note'], 60_000);
    const odd = containerMeta('e'.repeat(64), '/we"b', 'img\\x', { note: 'two\nlines' });
    await m.write([envelope({ ...stats.record, container: odd } as typeof stats.record)]);
    let text = await registry.metrics();
    assert.ok(text.includes(`container_processes{id="${'e'.repeat(64)}",name="we\\"b",image="img\\\\x",container_label_note="two\\nlines"} 3\n`), text);
    assert.match(text, /^own_gauge 1\n\n# HELP container_cpu_usage_seconds_total /m);
    assert.ok(text.endsWith('\n') && !text.endsWith('\n\n'));
    // Every line a comment, a sample, or the blank line between two families.
    for (const line of text.split('\n').slice(0, -1)) assert.match(line, /^(# (HELP|TYPE) \S+ .*|[a-z_]+(\{.*\})? \S+|)$/);
    const renamed = containerMeta('e'.repeat(64), '/web2', 'img', {});
    await m.write([envelope({ ...stats.record, container: renamed } as typeof stats.record)]);
    text = await registry.metrics();
    assert.ok(text.includes(`container_processes{id="${'e'.repeat(64)}",name="web2",image="img",container_label_note=""} 3\n`), text);
    assert.doesNotMatch(text, /we\\"b/);
  });

  it('sanitises label names as cAdvisor does', () => {
    assert.equal(labelName('com.docker.compose.service'), 'container_label_com_docker_compose_service');
    assert.equal(labelName('a-b/c'), 'container_label_a_b_c');
  });
});
