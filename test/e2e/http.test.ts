// The HTTP sink against a receiver on loopback: every body format, and real
// faults (error statuses, Retry-After, connections closed mid-request, the
// receiver down and back). With `block` nothing is lost; with `drop-oldest`
// every drop is counted and reported in-band; nothing arrives twice.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';
import { Receiver } from './receiver.js';

const FORMAT_BY_PATH: Record<string, string> = {
  '/ndjson': 'ndjson',
  '/json': 'json',
  '/services/collector/event': 'splunk-hec',
  '/_bulk': 'elasticsearch',
  '/loki/api/v1/push': 'loki',
};

function numbered(records: Json[], name: string, prefix: string): number[] {
  return records
    .filter((r) => r.type === 'log' && r.container?.name === name)
    .map((r) => r['message'] as string)
    .filter((m) => m.startsWith(prefix))
    .map((m) => Number(m.slice(prefix.length)));
}

function assertEachOnce(seq: readonly number[], count: number): void {
  const sorted = [...seq].sort((a, b) => a - b);
  assert.deepEqual(
    sorted,
    Array.from({ length: count }, (_, i) => i + 1),
  );
}

/** The per-sink counts sidekick logs when it stops. */
function stopCounts(sk: Sidekick): Record<string, number>[] {
  const line = sk.stderr.split('\n').find((l) => l.includes('"msg":"stopped"'));
  assert.ok(line, 'sidekick logged its final counts');
  return (JSON.parse(line) as { sinks: Record<string, number>[] }).sinks;
}

const PRINT = (n: number, prefix: string): string => `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); echo "${prefix}$i"; done`;

describe('HTTP sink', () => {
  after(removeTestContainers);

  it('posts every format (ndjson, json, Splunk HEC, Elasticsearch bulk, Loki), gzipped or not, each line once', async () => {
    const rx = new Receiver((p) => FORMAT_BY_PATH[p] ?? 'none');
    await rx.up();
    const base = `http://127.0.0.1:${rx.port}`;
    const sinks = [
      `${base}/ndjson?gzip=true&flush=200ms`,
      `${base}/json?format=json&batch=50`,
      `${base}/services/collector/event?format=splunk-hec&header=Authorization:Splunk%20hec-secret-token`,
      `${base}/_bulk?format=elasticsearch&gzip=true&index=logs-sidekick`,
      `${base}/loki/api/v1/push?format=loki&flush=100ms`,
    ];
    const sk = new Sidekick({ SIDEKICK_SINKS: sinks.join(','), SIDEKICK_TYPES: 'log,event' });
    const name = uniqueName('http');
    try {
      await sk.ready();
      await runContainer(name, [], PRINT(300, 'n-'));
      await waitExit(name);
      await sk.until(() => Object.keys(FORMAT_BY_PATH).every((p) => numbered(rx.records(p), name, 'n-').length >= 300), 20_000, 'all lines in every format');
      await sleep(1200);
      assert.deepEqual(rx.malformed, []);
      for (const path of Object.keys(FORMAT_BY_PATH)) {
        assertEachOnce(numbered(rx.records(path), name, 'n-'), 300);
        assert.ok(
          rx.records(path).some((r) => r.type === 'event' && r['action'] === 'start'),
          `${path}: events too`,
        );
      }
      const hec = rx.accepted.filter((r) => r.path === '/services/collector/event');
      assert.ok(hec.every((r) => r.headers['authorization'] === 'Splunk hec-secret-token'));
      assert.ok(rx.accepted.filter((r) => r.path === '/ndjson').every((r) => r.headers['content-encoding'] === 'gzip'));
      assert.ok(
        rx.accepted.filter((r) => r.path === '/json').every((r) => r.records.length <= 50),
        'batch=50 holds',
      );
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
      assert.ok(!sk.stderr.includes('hec-secret-token'), 'the token never appears in sidekick’s own logs');
    }
  });

  it('loses nothing under `block` through 503s, a 429 with Retry-After, a connection closed mid-request and a restart', async () => {
    const rx = new Receiver(() => 'ndjson');
    await rx.up();
    rx.faults.push({ status: 503 }, { status: 503 }, { status: 429, headers: { 'retry-after': '1' } }, 'close', { status: 500 });
    const sk = new Sidekick({
      SIDEKICK_SINKS: `http://127.0.0.1:${rx.port}/ingest?policy=block&batch=200&flush=50ms&buffer=1MiB`,
      SIDEKICK_TYPES: 'log',
    });
    const name = uniqueName('block');
    try {
      await sk.ready();
      await runContainer(name, [], PRINT(3000, 'b-'));
      await sk.until(() => numbered(rx.records(), name, 'b-').length >= 500, 20_000, '500 lines through the faults');
      await rx.down();
      await sleep(2000);
      await rx.up();
      await waitExit(name);
      await sk.until(() => numbered(rx.records(), name, 'b-').length >= 3000, 30_000, 'all 3000 lines');
      await sleep(500);
      assertEachOnce(numbered(rx.records(), name, 'b-'), 3000);
      assert.equal(rx.faults.length, 0, 'every fault was met');
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
    const [counts] = stopCounts(sk);
    assert.equal(counts!['dropped'], 0);
    assert.ok(counts!['retried']! > 0, 'retries are counted');
    assert.equal(counts!['rejected'], 0);
  });

  it('counts a batch the receiver refuses with a 4xx as rejected, and does not send it again', async () => {
    const rx = new Receiver(() => 'ndjson');
    await rx.up();
    rx.faults.push({ status: 400 });
    const sk = new Sidekick({ SIDEKICK_SINKS: `http://127.0.0.1:${rx.port}/x?flush=10ms`, SIDEKICK_TYPES: 'log' });
    const name = uniqueName('rejected');
    try {
      await sk.ready();
      await runContainer(name, [], 'echo first; sleep 1; echo second');
      await waitExit(name);
      await sk.until(() => numbered(rx.records(), name, 'second').length === 1, 15_000, 'the second line');
      await sleep(500);
      assert.deepEqual(
        rx
          .records()
          .filter((r) => r.container?.name === name)
          .map((r) => r['message']),
        ['second'],
      );
      assert.equal(rx.arrived, 2, 'the refused batch was not sent again');
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
    const [counts] = stopCounts(sk);
    assert.equal(counts!['rejected'], 1);
    assert.equal(counts!['sent'], 1);
    assert.match(sk.stderr, /sink rejected a batch; not retrying it/);
  });

  it('under `drop-oldest` with a dead receiver, counts every drop and reports it in-band as gap records', async () => {
    const rx = new Receiver(() => 'ndjson');
    await rx.up();
    const port = rx.port;
    await rx.down();
    const sk = new Sidekick({
      SIDEKICK_SINKS: `http://127.0.0.1:${port}/x?buffer=64KiB&flush=10ms`,
      SIDEKICK_TYPES: 'log',
    });
    const name = uniqueName('drop');
    try {
      await sk.ready();
      await runContainer(name, [], PRINT(5000, 'd-'));
      await waitExit(name);
      await sleep(1500);
      await rx.up();
      const gapped = (): number =>
        rx
          .records()
          .filter((r) => r.type === 'gap')
          .reduce((n, r) => n + (r['dropped'] as number), 0);
      await sk.until(() => gapped() > 0 && numbered(rx.records(), name, 'd-').length + gapped() >= 5000, 20_000, 'every line delivered or reported lost');
      await sleep(500);
      const delivered = numbered(rx.records(), name, 'd-');
      assert.equal(new Set(delivered).size, delivered.length, 'no line twice');
      const gaps = rx.records().filter((r) => r.type === 'gap' && r.container?.name === name);
      assert.equal(gaps.length, 1, 'one gap record for the container and episode');
      const gap = gaps[0]!;
      assert.equal(gap['reason'], 'buffer_full');
      assert.equal(delivered.length + (gap['dropped'] as number), 5000, 'delivered + dropped = printed');
      assert.ok((gap['from'] as string) <= (gap['to'] as string));
      // drop-oldest keeps the newest lines: what arrives is the newest ones, plus
      // the batches each of the two in-flight writers held (and retried) when the
      // buffer filled; so at most one run of lost lines before each of those.
      assert.ok(delivered.includes(5000));
      const sorted = [...delivered].sort((x, y) => x - y);
      const jumps = sorted.filter((n, i) => i > 0 && n !== sorted[i - 1]! + 1).length;
      assert.ok(jumps <= 2, `at most two runs of lost lines, not ${jumps}`);
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
    const [counts] = stopCounts(sk);
    const gapDropped = rx.records().find((r) => r.type === 'gap')!['dropped'];
    assert.equal(counts!['dropped'], gapDropped);
    assert.match(sk.stderr, /sink buffer full: dropping records/);
  });
});
