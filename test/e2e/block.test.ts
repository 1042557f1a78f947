// `block` that never stalls another sink, on the real engine: a memory-buffered
// `block` sink whose receiver is down, beside stdout, under 1,000 lines a
// second (sidekick killed with SIGKILL and started again halfway), with the
// logs read through the API and from the json-files. stdout gets every line
// on time; the dead sink falls behind, and once back gets every line exactly
// once, read again from Docker.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';
import { Receiver } from './receiver.js';

/** 400 rounds of 100 numbered lines, 100 ms apart: about 1,000 lines a second for 40 s. */
const ROUNDS = 400;
const PER_ROUND = 100;
const LINES = ROUNDS * PER_ROUND;
const PAD = 'x'.repeat(60);
const PRINT = `n=0; r=0; while [ $r -lt ${ROUNDS} ]; do r=$((r+1)); j=0; while [ $j -lt ${PER_ROUND} ]; do j=$((j+1)); n=$((n+1)); echo "$n ${PAD}"; done; sleep 0.1; done`;

function numberOf(r: Json): number {
  return Number(String(r['message']).split(' ')[0]);
}

/** A metric's value in /metrics, of the series whose labels include `labels`. */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

describe('block never stalls another sink', () => {
  const states: string[] = [];
  after(async () => {
    await removeTestContainers();
    for (const s of states) rmSync(s, { recursive: true, force: true });
  });

  for (const logs of ['api', 'files'] as const) {
    it(`a dead memory \`block\` sink beside stdout (logs: ${logs}), 1,000 lines/s, killed halfway: stdout gets every line within 1 s (p99); the sink, once back, every line exactly once`, async () => {
      const rx = new Receiver(() => 'ndjson');
      await rx.up();
      await rx.down();
      const state = mkdtempSync(join(tmpdir(), 'sidekick-block-'));
      states.push(state);
      const env = {
        SIDEKICK_SINKS: `stdout://,http://127.0.0.1:${rx.port}/in?buffer=1MiB&policy=block`,
        SIDEKICK_TYPES: 'log',
        SIDEKICK_LOG_LEVEL: 'info',
        SIDEKICK_LOGS_SOURCE: logs,
        SIDEKICK_STATE_DIR: state,
      };
      const name = uniqueName(`block-${logs}`);
      const runs: Sidekick[] = [];
      /** From a kill until the next run is ready, and a second more to catch up: not timed. */
      const outages: [number, number][] = [];
      let peakGrowth = 0;
      try {
        let sk = new Sidekick(env);
        runs.push(sk);
        await sk.ready();
        let baseline = sk.collectorRss();
        await runContainer(name, [], PRINT);
        const watchMemory = setInterval(() => {
          try {
            peakGrowth = Math.max(peakGrowth, sk.collectorRss() - baseline);
          } catch {
            // Between two runs.
          }
        }, 500);
        try {
          await sleep(15_000 + Math.random() * 10_000);
          await sk.until(() => sk.stderr.includes('falling behind'), 1000, 'the dead sink to fall behind');
          const killedAt = Date.now();
          await sk.stop('SIGKILL');
          sk = new Sidekick(env);
          runs.push(sk);
          await sk.ready();
          outages.push([killedAt, Date.now() + 1000]);
          baseline = Math.min(baseline, sk.collectorRss());
          await waitExit(name);
          await sk.until(() => sk.logsOf(name).some((r) => numberOf(r) === LINES), 30_000, 'the last line on stdout');
        } finally {
          clearInterval(watchMemory);
        }
        const seen = new Set<number>();
        const late: number[] = [];
        for (const run of runs) {
          run.records.forEach((r, i) => {
            if (r.type !== 'log' || r.container?.name !== name) return;
            seen.add(numberOf(r));
            const stamped = Date.parse(String(r.time));
            if (outages.some(([from, to]) => stamped >= from - 1000 && stamped <= to)) return;
            late.push(run.arrivals[i]! - stamped);
          });
        }
        assert.equal(seen.size, LINES, `stdout got ${seen.size} of ${LINES} lines`);
        late.sort((a, b) => a - b);
        const p99 = late[Math.floor(late.length * 0.99)]!;
        process.stdout.write(
          `# stdout beside a dead memory block sink (${logs}): p99 ${p99} ms over ${late.length} lines; RSS growth ${(peakGrowth / 2 ** 20).toFixed(1)} MiB\n`,
        );
        assert.ok(p99 < 1000, `p99 latency on stdout ${p99} ms`);
        assert.ok(peakGrowth < 64 * 2 ** 20, `memory grew ${(peakGrowth / 2 ** 20).toFixed(1)} MiB`);
        const metrics = (await sk.get('/metrics')).body;
        assert.ok(metric(metrics, 'sidekick_sink_buffer_bytes', 'sink="http') <= 2 * 2 ** 20, 'the dead sink holds no more than its buffer');
        // The sink comes back: every line once, by id and by number, read again from Docker.
        await rx.up();
        const got = (): Json[] => rx.records().filter((r) => r.type === 'log' && r.container?.name === name);
        await sk.until(
          () => got().length >= LINES,
          120_000,
          () => `the sink to get ${LINES} lines (has ${got().length})`,
        );
        await sleep(1000);
        const lines = got();
        const numbers = new Set(lines.map(numberOf));
        assert.equal(numbers.size, LINES, 'every line');
        assert.equal(lines.length, LINES, `each once: ${lines.length - numbers.size} delivered twice`);
        assert.equal(new Set(lines.map((r) => r['id'])).size, LINES, 'each id once');
        assert.equal(rx.records().filter((r) => r.type === 'gap').length, 0, 'nothing lost');
        assert.equal(metric((await sk.get('/metrics')).body, 'sidekick_sink_records_dropped_total', 'sink="http'), 0);
        await sk.until(() => sk.stderr.includes('sink caught up'), 10_000, 'the sink to say it caught up');
        assert.equal((await sk.stop()).code, 0);
      } finally {
        for (const run of runs) await run.stop('SIGKILL').catch(() => undefined);
        await rx.down();
      }
    });
  }
});
