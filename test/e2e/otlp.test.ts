// The OTLP sink against a receiver on loopback that decodes with protoc and
// the official opentelemetry-proto schemas (or JSON.parse for OTLP/JSON):
// every field the mapping promises, both encodings, gzip, a base path, a 503
// retried after its Retry-After, and a partial success counted.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { docker, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';
import { OtlpReceiver } from './otlp-receiver.js';

/** RFC 3339 with up to nine digits of fraction as nanoseconds since the epoch, exactly. */
function nanosOf(time: string): string {
  const m = /^(.{19})(?:\.(\d+))?Z$/.exec(time);
  assert.ok(m, `a time: ${time}`);
  return (BigInt(Date.parse(m[1] + 'Z')) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))).toString();
}

/** `docker logs --timestamps`: each line's Docker time, by its text (the container's stderr comes on docker's). */
async function dockerTimes(name: string): Promise<Map<string, string>> {
  const { stdout, stderr } = await promisify(execFile)('docker', ['logs', '--timestamps', name]);
  const times = new Map<string, string>();
  for (const line of (stdout + stderr).split('\n').filter((l) => l !== '')) {
    const space = line.indexOf(' ');
    times.set(line.slice(space + 1), nanosOf(line.slice(0, space)));
  }
  return times;
}

describe('OTLP sink', () => {
  after(removeTestContainers);

  it('sends logs, events, inspect and stats with the mapping promised, in protobuf (gzipped, under a base path) and in JSON', async () => {
    const rx = new OtlpReceiver();
    await rx.up();
    const base = `otlp+http://127.0.0.1:${rx.port}`;
    const sk = new Sidekick({
      SIDEKICK_SINKS: `${base}/otel/?gzip=true&flush=100ms,${base}?encoding=json&flush=100ms&types=log%2Cevent`,
      SIDEKICK_TYPES: 'log,event,inspect,stats',
      SIDEKICK_STATS_INTERVAL: '500ms',
      SIDEKICK_FIELDS: 'label:team',
      SIDEKICK_PARSE_JSON: 'true',
    });
    const name = uniqueName('otlp');
    const script =
      'i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "out-$i"; echo "err-$i" >&2; done; ' +
      `echo '{"level":"warn","msg":"careful"}'; echo '{"level":50,"msg":"broken"}'; sleep 3`;
    try {
      await sk.ready();
      const id = await runContainer(
        name,
        ['--label', 'com.docker.compose.service=web', '--label', 'com.docker.compose.project=shop', '--label', 'team=blue'],
        script,
      );
      await waitExit(name);
      const mine = (prefix: string) => rx.logRecords(prefix).filter((r) => r.resource['container.id'] === id);
      await sk.until(
        () => mine('/otel').filter((r) => r.eventName === '').length >= 82 && mine('/v1').filter((r) => r.eventName === '').length >= 82,
        20_000,
        () => `82 lines in both encodings (protobuf ${mine('/otel').length}, json ${mine('/v1').length})`,
      );
      await sk.until(() => rx.metrics('/otel').some((m) => m.resource['container.id'] === id), 10_000, 'stats as metrics');
      await sleep(500);
      assert.deepEqual(rx.malformed, []);
      const host = await docker('info', '--format', '{{.Name}}');
      const times = await dockerTimes(name);

      for (const prefix of ['/otel', '/v1']) {
        const records = mine(prefix);
        const lines = records.filter((r) => r.eventName === '');
        assert.equal(lines.length, 82, `${prefix}: each line once`);
        assert.equal(new Set(lines.map((r) => r.attributes['log.record.uid'])).size, 82, `${prefix}: one id a line`);
        for (const r of lines) {
          const body = r.body as string;
          assert.equal(r.time, times.get(body), `${prefix}: ${body}: time_unix_nano is Docker's timestamp`);
          assert.ok(
            BigInt(r.observed) >= BigInt(r.time) - 1_000_000_000n && BigInt(r.observed) <= BigInt(Date.now()) * 1_000_000n,
            `${prefix}: observed when read`,
          );
          assert.match(String(r.attributes['log.record.uid']), new RegExp(`^${id.slice(0, 16)}-\\d+-\\d+$`));
          const err = body.startsWith('err-');
          if (body.startsWith('{')) continue;
          assert.equal(r.attributes['log.iostream'], err ? 'stderr' : 'stdout');
          assert.equal(r.severityNumber, err ? 17 : 9, `${prefix}: ${body}: severity`);
          assert.equal(r.severityText, err ? 'ERROR' : 'INFO');
        }
        const warn = lines.find((r) => r.body === '{"level":"warn","msg":"careful"}');
        assert.equal(warn?.severityNumber, 13, `${prefix}: a JSON line's level`);
        assert.equal(warn?.severityText, 'warn');
        assert.equal(lines.find((r) => r.body === '{"level":50,"msg":"broken"}')?.severityNumber, 17, `${prefix}: a pino level`);
        const resource = records[0]!.resource;
        assert.deepEqual(
          {
            id: resource['container.id'],
            name: resource['container.name'],
            image: resource['container.image.name'],
            tags: resource['container.image.tags'],
            runtime: resource['container.runtime'],
            service: resource['service.name'],
            host: resource['host.name'],
            team: resource['team'],
          },
          { id, name, image: 'sidekick-test/busybox', tags: ['latest'], runtime: 'docker', service: 'web', host, team: 'blue' },
          `${prefix}: the resource`,
        );
        assert.ok(
          records.every((r) => r.resource === resource || JSON.stringify(r.resource) === JSON.stringify(resource)),
          'one resource for the container',
        );
        assert.equal(records[0]!.scope.name, 'sidekick');
        const start = records.find((r) => r.eventName === 'container.start');
        assert.ok(start, `${prefix}: the start event`);
        assert.equal(start.attributes['event.name'], 'container.start');
        assert.equal(start.attributes['docker.event.attributes.name'], name);
      }

      const inspect = mine('/otel').find((r) => r.eventName === 'container.inspect');
      assert.ok(inspect, 'an inspect record');
      assert.equal((JSON.parse(inspect.body as string) as { Id: string }).Id, id);
      assert.ok(!mine('/v1').some((r) => r.eventName === 'container.inspect'), 'types= routes: no inspect to the JSON sink');
      assert.equal(rx.arrived.get('/v1/metrics'), undefined, 'types= routes: no stats to the JSON sink');

      const metrics = rx.metrics('/otel').filter((m) => m.resource['container.id'] === id);
      const byName = new Map(metrics.map((m) => [m.name, m]));
      const cpu = byName.get('container.cpu.usage.total');
      assert.equal(cpu?.kind, 'sum');
      assert.equal(cpu.monotonic, true);
      assert.equal(cpu.cumulative, true);
      assert.equal(cpu.unit, 'ns');
      const memory = byName.get('container.memory.usage.total');
      assert.equal(memory?.kind, 'sum');
      assert.equal(memory.monotonic, false);
      assert.ok(memory.points[0]!.value > 0, 'memory in use');
      assert.ok(byName.has('container.memory.usage.limit') && byName.has('container.pids.count'));
      assert.equal(metrics[0]!.resource['service.name'], 'web');
      assert.ok(
        metrics.every((m) => m.points.every((p) => BigInt(p.time) > 0n)),
        'each point has its time',
      );

      const gzipped = rx.accepted.filter((r) => r.path.startsWith('/otel/'));
      assert.ok(gzipped.length > 0 && gzipped.every((r) => r.headers['content-encoding'] === 'gzip'));
      assert.ok(rx.accepted.filter((r) => r.path === '/v1/logs').every((r) => r.headers['content-encoding'] === undefined));
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
  });

  it('retries a 503 after its Retry-After, and counts a partial success as rejected without sending it again', async () => {
    const rx = new OtlpReceiver();
    await rx.up();
    rx.logFaults.push({ status: 503, headers: { 'retry-after': '1' } }, { rejectLogs: 2, message: 'two lines too many' });
    const sink = `otlp+http://127.0.0.1:${rx.port}?flush=50ms&batch=50`;
    const sk = new Sidekick({ SIDEKICK_SINKS: sink, SIDEKICK_TYPES: 'log' });
    const name = uniqueName('otlp-faults');
    try {
      await sk.ready();
      const id = await runContainer(name, [], 'i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "n-$i"; done');
      await waitExit(name);
      const lines = () => rx.logRecords().filter((r) => r.resource['container.id'] === id);
      await sk.until(
        () => lines().length >= 200,
        20_000,
        () => `200 lines (${lines().length})`,
      );
      await sleep(500);
      assert.deepEqual(
        lines()
          .map((r) => Number(String(r.body).slice(2)))
          .sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i + 1),
        'each line once: the 503 batch sent again, the partial success not',
      );
      assert.equal(rx.logFaults.length, 0, 'both faults were met');
      const metrics = (await sk.get('/metrics')).body;
      assert.match(metrics, /sidekick_sink_items_rejected_total\{sink="[^"]+",signal="logs"\} 2\n/);
      assert.match(metrics, /sidekick_sink_records_rejected_total\{sink="[^"]+"\} 2\n/);
      assert.match(metrics, /sidekick_sink_records_retried_total\{sink="[^"]+"\} [1-9]/);
    } finally {
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
    assert.equal(sk.stderr.split('two lines too many').length - 1, 1, "the receiver's message said once");
  });
});
