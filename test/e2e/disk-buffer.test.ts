// Disk buffers on the real engine: a `block` sink whose receiver is down,
// beside stdout, under 1,000 lines a second for two minutes (sidekick killed
// with SIGKILL and started again halfway); the same buffer filled past its
// size under drop-oldest; a corrupted segment.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';
import { Receiver } from './receiver.js';

/** 1,200 rounds of 100 numbered lines, 100 ms apart: about 1,000 lines a second for two minutes. */
const ROUNDS = 1200;
const PER_ROUND = 100;
const LINES = ROUNDS * PER_ROUND;
const PAD = 'x'.repeat(60);
const PRINT = `n=0; r=0; while [ $r -lt ${ROUNDS} ]; do r=$((r+1)); j=0; while [ $j -lt ${PER_ROUND} ]; do j=$((j+1)); n=$((n+1)); echo "$n ${PAD}"; done; sleep 0.1; done`;

/** A receiver's port, with nothing listening on it yet. */
async function deadReceiver(): Promise<Receiver> {
  const rx = new Receiver(() => 'ndjson');
  await rx.up();
  await rx.down();
  return rx;
}

function numberOf(r: Json): number {
  return Number(String(r['message']).split(' ')[0]);
}

function bufferFolders(state: string): string[] {
  return readdirSync(join(state, 'buffers')).map((d) => join(state, 'buffers', d));
}

function segments(folder: string): string[] {
  return readdirSync(folder)
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(folder, n));
}

/** A metric's value in /metrics, of the series whose labels include `labels` (the first, if several). */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

describe('disk buffers', () => {
  const states: string[] = [];
  after(async () => {
    await removeTestContainers();
    for (const s of states) rmSync(s, { recursive: true, force: true });
  });

  const state = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-disk-'));
    states.push(dir);
    return dir;
  };

  it('a dead `block` sink beside stdout, 1,000 lines/s for 2 minutes, killed halfway: stdout gets every line within 1 s (p99), and the sink, once back, every line exactly once', async () => {
    const rx = await deadReceiver();
    const env = {
      SIDEKICK_SINKS: `stdout://,http://127.0.0.1:${rx.port}/in?buffer=disk&disk=256MiB&policy=block`,
      SIDEKICK_TYPES: 'log',
      SIDEKICK_LOG_LEVEL: 'info',
      SIDEKICK_STATE_DIR: state(),
    };
    const name = uniqueName('steady');
    const runs: Sidekick[] = [];
    /** The times (ms) nothing collected: from a kill until the next run is ready, and a second more to catch up. */
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
        await sleep(55_000 + Math.random() * 10_000);
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
      // stdout: every line, each within a second of its Docker time while sidekick ran.
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
      process.stdout.write(`# stdout beside a dead disk sink: p99 ${p99} ms over ${late.length} lines; RSS growth ${(peakGrowth / 2 ** 20).toFixed(1)} MiB\n`);
      assert.ok(p99 < 1000, `p99 latency on stdout ${p99} ms`);
      assert.ok(peakGrowth < 96 * 2 ** 20, `memory grew ${(peakGrowth / 2 ** 20).toFixed(1)} MiB`);
      // Every line waits on disk for the sink, once.
      const waiting = async (): Promise<number> => metric((await sk.get('/metrics')).body, 'sidekick_sink_buffer_records', 'sink="http');
      let onDisk = 0;
      for (const end = Date.now() + 10_000; Date.now() < end && onDisk !== LINES; await sleep(200)) onDisk = await waiting();
      assert.equal(onDisk, LINES, 'records waiting on disk');
      // The sink comes back: every line once, by id and by number.
      await rx.up();
      const got = (): Json[] => rx.records().filter((r) => r.type === 'log' && r.container?.name === name);
      await sk.until(
        () => got().length >= LINES,
        120_000,
        () => `the sink to get ${LINES} lines (has ${got().length})`,
      );
      await sleep(1000);
      const lines = got();
      const ids = new Set(lines.map((r) => r['id']));
      const numbers = new Set(lines.map(numberOf));
      assert.equal(numbers.size, LINES, 'every line');
      assert.equal(lines.length, LINES, `each once: ${lines.length - numbers.size} delivered twice`);
      assert.equal(ids.size, LINES, 'each id once');
      assert.equal(rx.records().filter((r) => r.type === 'gap').length, 0, 'nothing lost');
      assert.equal((await sk.stop()).code, 0);
    } finally {
      for (const run of runs) await run.stop('SIGKILL').catch(() => undefined);
      await rx.down();
    }
  });

  it('filled past its size under drop-oldest: stays within it, and the loss is counted and told in-band', async () => {
    const rx = await deadReceiver();
    const dir = state();
    const sk = new Sidekick({
      SIDEKICK_SINKS: `http://127.0.0.1:${rx.port}/in?buffer=disk&disk=1MiB&policy=drop-oldest`,
      SIDEKICK_TYPES: 'log',
      SIDEKICK_LOG_LEVEL: 'info',
      SIDEKICK_STATE_DIR: dir,
    });
    const name = uniqueName('overflow');
    const total = 20_000;
    try {
      await sk.ready();
      await runContainer(name, [], `i=0; while [ $i -lt ${total} ]; do i=$((i+1)); echo "$i ${PAD}${PAD}"; done`);
      await waitExit(name);
      await sk.until(() => sk.stderr.includes('sink buffer full: dropping records'), 30_000, 'the sink to start dropping');
      await sleep(2000);
      const [folder] = bufferFolders(dir);
      const onDisk = segments(folder!).reduce((n, f) => n + statSync(f).size, 0);
      assert.ok(onDisk <= 1024 * 1024, `${onDisk} bytes on disk`);
      const metrics = (await sk.get('/metrics')).body;
      const dropped = metric(metrics, 'sidekick_sink_records_dropped_total');
      assert.ok(dropped > 0, 'drops counted');
      await rx.up();
      const logs = (): number => rx.records().filter((r) => r.type === 'log' && r.container?.name === name).length;
      const told = (): number => rx.records().reduce((n, r) => n + (r.type === 'gap' ? (r['dropped'] as number) : 0), 0);
      await sk.until(
        () => logs() + told() >= total,
        30_000,
        () => `every line delivered or told lost (${logs()} + ${told()})`,
      );
      assert.equal(told(), dropped, 'each drop told in-band');
      assert.equal(logs() + told(), total);
      const gap = rx.records().find((r) => r.type === 'gap')!;
      assert.ok(String(gap['from']) <= String(gap['to']));
      assert.equal((await sk.stop()).code, 0);
    } finally {
      await sk.stop('SIGKILL').catch(() => undefined);
      await rx.down();
    }
  });

  it('a corrupted segment and a cut tail are reported and skipped; sidekick goes on', async () => {
    const rx = await deadReceiver();
    const dir = state();
    const env = {
      SIDEKICK_SINKS: `http://127.0.0.1:${rx.port}/in?buffer=disk&disk=4MiB&policy=block`,
      SIDEKICK_TYPES: 'log',
      SIDEKICK_LOG_LEVEL: 'info',
      SIDEKICK_STATE_DIR: dir,
    };
    const name = uniqueName('corrupt');
    const total = 6000;
    let sk = new Sidekick(env);
    try {
      await sk.ready();
      await runContainer(name, [], `i=0; while [ $i -lt ${total} ]; do i=$((i+1)); echo "$i ${PAD}"; done`);
      await waitExit(name);
      let waiting = 0;
      for (const end = Date.now() + 10_000; Date.now() < end && waiting !== total; await sleep(200)) {
        waiting = metric((await sk.get('/metrics')).body, 'sidekick_sink_buffer_records');
      }
      assert.equal(waiting, total, 'every line on disk');
      assert.equal((await sk.stop()).code, 0);
      const [folder] = bufferFolders(dir);
      const files = segments(folder!);
      assert.ok(files.length >= 3, `${files.length} segments`);
      // A byte flipped in the first segment, the last one cut short.
      const first = readFileSync(files[0]!);
      first[first.length >> 1] ^= 0xff;
      writeFileSync(files[0]!, first);
      truncateSync(files.at(-1)!, statSync(files.at(-1)!).size - 10);
      await rx.up();
      sk = new Sidekick(env);
      await sk.ready();
      await sk.until(() => sk.stderr.includes('disk buffer: skipped what cannot be read'), 10_000, 'the corruption reported');
      const metrics = (await sk.get('/metrics')).body;
      assert.equal(metric(metrics, 'sidekick_sink_disk_corrupt_total'), 2);
      assert.ok(metric(metrics, 'sidekick_sink_disk_corrupt_bytes_total') > 0);
      const got = (): number[] =>
        rx
          .records()
          .filter((r) => r.type === 'log' && r.container?.name === name)
          .map(numberOf);
      await sk.until(() => got().includes(total - 1), 20_000, 'the segments after the bad one read on');
      assert.ok(got().length < total && got().length > total / 3, `${got().length} of ${total}`);
      // Still collecting.
      const later = uniqueName('after');
      await runContainer(later, [], 'echo still here');
      await sk.until(() => rx.records().some((r) => r.container?.name === later), 10_000, 'a new container’s line');
      assert.equal((await sk.stop()).code, 0);
    } finally {
      await sk.stop('SIGKILL').catch(() => undefined);
      await rx.down();
    }
  });
});
