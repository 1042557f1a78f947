// Golden tests of the stats calculations against real answers of the engine:
// cgroup v1 recorded here (two samples 2 s apart), cgroup v2 recorded elsewhere.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { computeStats, cpuPercent, notSampled, workingSet, type DockerStats } from '../../../../src/sources/docker/stats.js';

function fixture(name: string): DockerStats {
  return JSON.parse(readFileSync(new URL(`../../../../../test/fixtures/${name}`, import.meta.url), 'utf8')) as DockerStats;
}

const v1 = fixture('docker-stats-cgroup-v1.json');
const v1next = fixture('docker-stats-cgroup-v1-next.json');
const v2 = fixture('docker-stats-cgroup-v2.json');
/** This engine's answer for a container that has exited. */
const stopped = fixture('docker-stats-stopped.json');

describe('stats calculations', () => {
  it('takes the answer for a stopped container (no sample time, no memory figures) for no sample', () => {
    assert.equal(notSampled(stopped), true);
    for (const sample of [v1, v1next, v2]) assert.equal(notSampled(sample), false);
  });

  it('cgroup v1: CPU % from sidekick’s own previous sample, with online CPUs', () => {
    // (5065361301 - 3051079426) / (7998250000000 - 7994220000000) * 2 * 100
    assert.equal(cpuPercent(v1next.cpu_stats, v1.cpu_stats)!.toFixed(4), '99.9644');
    assert.equal(cpuPercent(v1.cpu_stats, undefined), null, 'no previous sample: not known yet');
  });

  it('cgroup v1: memory in use is usage minus total_inactive_file, as the CLI shows', () => {
    const s = computeStats(v1next, v1.cpu_stats);
    assert.deepEqual(s.memory, {
      usage: 27013120 - 5242880,
      raw_usage: 27013120,
      limit: 268435456,
      percent: ((27013120 - 5242880) / 268435456) * 100,
    });
    assert.equal(s.cpu_seconds, 5.065361301);
    assert.equal(s.pids, 1);
    assert.deepEqual(s.network, {});
    assert.deepEqual(s.blkio, { read_bytes: 0, write_bytes: 0 });
  });

  it('cgroup v2: inactive_file, no percpu_usage (online_cpus), networks and block I/O', () => {
    const s = computeStats(v2, undefined);
    assert.equal(s.cpu_percent, null, 'precpu_stats of a one-shot answer is empty');
    assert.equal(s.cpu_seconds, 0.999478);
    assert.deepEqual(s.memory, { usage: 234647552, raw_usage: 234647552, limit: 268435456, percent: (234647552 / 268435456) * 100 });
    assert.deepEqual(s.network, {
      eth0: { rx_bytes: 1296, rx_packets: 16, rx_errors: 0, rx_dropped: 0, tx_bytes: 0, tx_packets: 0, tx_errors: 0, tx_dropped: 0 },
    });
    assert.deepEqual(s.blkio, { read_bytes: 167936, write_bytes: 0 });
    assert.equal(s.pids, 1);
  });

  it('cgroup v2: a later sample gives CPU % from online_cpus', () => {
    const later: DockerStats = {
      ...v2,
      cpu_stats: { ...v2.cpu_stats, cpu_usage: { total_usage: 999478000 + 500_000_000 }, system_cpu_usage: 4836970000000 + 2_000_000_000 },
    };
    assert.equal(cpuPercent(later.cpu_stats, v2.cpu_stats), 50);
  });

  it('never reports negative memory, nor CPU from a counter that went back', () => {
    assert.equal(workingSet({ usage: 100, stats: { inactive_file: 500 } }), 100);
    assert.equal(cpuPercent(v1.cpu_stats, v1next.cpu_stats), null);
  });
});
