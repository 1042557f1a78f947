// sidekick's own events: each counted every time under its metric, and told
// once per change of state, at its level and with its fields; the counters
// keep the names, types and help /metrics had before (dashboards and the
// end-to-end tests scrape them).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { Events, Latch, once } from '../../../src/observe/events.js';
import { HEALTH_CAUSES, type HealthCause } from '../../../src/observe/health.js';
import { healthGauge, observePipeline, statsCallTimer } from '../../../src/observe/metrics.js';
import type { Router } from '../../../src/pipeline/router.js';
import { memoryLog, type SaidLine } from '../memory-log.js';

function setup(): {
  events: Events;
  registry: Registry;
  said: () => string[];
  lines: SaidLine[];
  value: (series: string) => Promise<number | undefined>;
} {
  const { log, lines } = memoryLog();
  const registry = new Registry();
  const events = new Events(log, registry);
  return {
    events,
    registry,
    said: () => lines.map((l) => l.msg),
    lines,
    async value(series) {
      const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Latch and once', () => {
  it('tells a change of state, not its repeats', () => {
    const l = new Latch<'up' | 'down'>('up');
    assert.deepEqual(
      ['down', 'down', 'up', 'up', 'down'].map((s) => l.enter(s as 'up' | 'down')),
      [true, false, true, false, true],
    );
    assert.equal(l.current, 'down');
    const first = once();
    assert.deepEqual([first(), first(), first()], [true, false, false]);
  });
});

describe('Events', () => {
  it('the event stream: a loss said once until it attaches again, its return said, and counted as a reconnect only after an attach', async () => {
    const { events, lines, value } = setup();
    const err = (message: string, code: string): Error => Object.assign(new Error(message), { code });
    // Failing before it ever attached: said once, and its first attach is no reconnect.
    assert.equal(events.eventStreamLost(err('connect ECONNREFUSED', 'ECONNREFUSED'), undefined), true);
    assert.equal(events.eventStreamLost(err('connect ECONNREFUSED', 'ECONNREFUSED'), undefined), false);
    events.eventStreamAttached();
    assert.equal(await value('sidekick_event_stream_reconnects_total'), 0, 'the first attach is no reconnect');
    for (const n of [1, 2]) {
      assert.equal(events.eventStreamLost(err('read ECONNRESET', 'ECONNRESET'), undefined), true);
      assert.equal(events.eventStreamLost(err('connect EACCES', 'EACCES'), 'permission denied'), false);
      events.eventStreamAttached();
      assert.equal(await value('sidekick_event_stream_reconnects_total'), n);
    }
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l['err'], l['kind'], l['docker']]),
      [
        ['warn', 'docker event stream lost; reconnecting', 'connect ECONNREFUSED', 'econnrefused', true],
        ['info', 'docker event stream attached again', undefined, undefined, undefined],
        ['warn', 'docker event stream lost; reconnecting', 'read ECONNRESET', 'econnreset', true],
        ['info', 'docker event stream attached again', undefined, undefined, undefined],
        ['warn', 'docker event stream lost; reconnecting', 'read ECONNRESET', 'econnreset', true],
        ['info', 'docker event stream attached again', undefined, undefined, undefined],
      ],
    );
    const fresh = setup();
    fresh.events.eventStreamAttached();
    assert.deepEqual(fresh.said(), [], 'the first attach of all is no news');
  });

  it('says once that docker does not answer, until it answers', async () => {
    const { events, said } = setup();
    for (let i = 0; i < 5; i++) events.dockerUnanswered({ err: 'ECONNREFUSED' });
    events.dockerAnswered();
    events.dockerUnanswered({ err: 'ECONNREFUSED' });
    await tick();
    assert.deepEqual(said(), ['docker does not answer; retrying', 'docker does not answer; retrying']);
  });

  it('counts API errors by kind, malformed input by source, and every container missed, each said', async () => {
    const { events, value, said } = setup();
    events.dockerApiError('http_500');
    events.dockerApiError('http_500');
    events.malformed('logs');
    events.malformed('stats');
    events.containerMissed({ container: 'job-1', id: 'a', why: 'gone' });
    events.containerMissed({ container: 'job-2', id: 'b', why: 'gone' });
    assert.equal(await value('sidekick_docker_api_errors_total{kind="http_500"}'), 2);
    assert.equal(await value('sidekick_malformed_input_total{source="logs"}'), 1);
    assert.equal(await value('sidekick_malformed_input_total{source="stats"}'), 1);
    assert.equal(await value('sidekick_containers_missed_total'), 2);
    await tick();
    assert.equal(said().filter((m) => m === 'container missed: its logs could not be read').length, 2, 'each container is named');
  });

  it("shows each sink's counters from the start, counts every truncation and says it once per sink", async () => {
    const { events, value, said } = setup();
    const a = events.forSink('syslog+udp://a:514');
    const b = events.forSink('syslog+udp://b:514');
    assert.equal(await value('sidekick_sink_messages_truncated_total{sink="syslog+udp://a:514"}'), 0);
    assert.equal(await value('sidekick_sink_send_errors_total{sink="syslog+udp://b:514"}'), 0);
    for (let i = 0; i < 3; i++) a.messageTruncated({ max: 2048 });
    b.messageTruncated({ max: 512 });
    b.sendFailed();
    assert.equal(await value('sidekick_sink_messages_truncated_total{sink="syslog+udp://a:514"}'), 3);
    assert.equal(await value('sidekick_sink_messages_truncated_total{sink="syslog+udp://b:514"}'), 1);
    assert.equal(await value('sidekick_sink_send_errors_total{sink="syslog+udp://b:514"}'), 1);
    await tick();
    assert.equal(said().length, 2, 'once per sink');
  });

  it("a receiver's partial success: counted by signal as the receiver counts, its message said when it changes", async () => {
    const { events, lines, value } = setup();
    const otlp = events.forSink('otlp+http://gw:4318');
    otlp.partlyRejected('logs', 2, 'too old');
    otlp.partlyRejected('logs', 3, 'too old');
    otlp.partlyRejected('metrics', 40, 'too old');
    otlp.partlyRejected('logs', 1, 'quota');
    assert.equal(await value('sidekick_sink_items_rejected_total{sink="otlp+http://gw:4318",signal="logs"}'), 6);
    assert.equal(await value('sidekick_sink_items_rejected_total{sink="otlp+http://gw:4318",signal="metrics"}'), 40);
    await tick();
    assert.deepEqual(
      lines.map((l) => [l.level, l['signal'], l['message']]),
      [
        ['warn', 'logs', 'too old'],
        ['warn', 'metrics', 'too old'],
        ['warn', 'logs', 'quota'],
      ],
    );
  });

  it('a tailed file: each new read error said and counted (not each time it is tried again), its recovery said once', async () => {
    const { events, lines, value } = setup();
    const a = events.forFile('/logs/a.log');
    const b = events.forFile('/logs/b.log');
    a.readable();
    a.unreadable('EACCES: permission denied');
    a.unreadable('EACCES: permission denied');
    b.unreadable('EACCES: permission denied');
    assert.equal(await value('sidekick_file_read_errors_total'), 2, 'one a file');
    a.unreadable('EIO: i/o error');
    assert.equal(await value('sidekick_file_read_errors_total'), 3, 'another error is news');
    a.readable();
    a.readable();
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l['path'], l['err']]),
      [
        ['warn', 'cannot read file; trying again', '/logs/a.log', 'EACCES: permission denied'],
        ['warn', 'cannot read file; trying again', '/logs/b.log', 'EACCES: permission denied'],
        ['warn', 'cannot read file; trying again', '/logs/a.log', 'EIO: i/o error'],
        ['info', 'file can be read again', '/logs/a.log', undefined],
      ],
    );
  });

  it('the file globs: a failure said once until they match again, that said once', () => {
    const { events, said } = setup();
    events.fileGlobsMatched();
    events.fileGlobsFailed(new Error('EACCES'));
    events.fileGlobsFailed(new Error('EACCES'));
    events.fileGlobsMatched();
    events.fileGlobsMatched();
    assert.deepEqual(said(), ['cannot match the file globs; trying again', 'file globs can be matched again']);
  });

  it('checkpoints: each failed write counted, the failure said once until a write works, that said once', async () => {
    const { events, lines, value } = setup();
    events.checkpointWritten('/state');
    for (let i = 0; i < 3; i++) events.checkpointWriteFailed('/state', new Error('ENOSPC: no space left on device'));
    assert.equal(await value('sidekick_checkpoint_write_errors_total'), 3);
    events.checkpointWritten('/state');
    events.checkpointWritten('/state');
    events.checkpointWriteFailed('/state', new Error('EROFS: read-only file system'));
    assert.equal(await value('sidekick_checkpoint_write_errors_total'), 4);
    events.checkpointsUnreadable('/state', new Error('Unexpected token n in JSON'));
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l['dir'], l['err']]),
      [
        ['warn', 'cannot write checkpoints; collecting on, retrying every second', '/state', 'ENOSPC: no space left on device'],
        ['info', 'checkpoints written again', '/state', undefined],
        ['warn', 'cannot write checkpoints; collecting on, retrying every second', '/state', 'EROFS: read-only file system'],
        ['warn', 'checkpoint file unreadable; starting without it', '/state', 'Unexpected token n in JSON'],
      ],
    );
  });

  it('health: every cause shown at 0 from the start, each turn to 503 said and counted by cause, a check that finds the same not, the turn back said', async () => {
    const { events, lines, value } = setup();
    const health = events.forHealth(HEALTH_CAUSES);
    for (const cause of HEALTH_CAUSES) assert.equal(await value(`sidekick_unhealthy_total{cause="${cause}"}`), 0);
    const unhealthy = (cause: HealthCause) => ({ healthy: false, cause, detail: `${cause} detail` }) as const;
    health.healthChecked({ healthy: true });
    health.healthChecked(unhealthy('loop-stalled'));
    health.healthChecked(unhealthy('loop-stalled'));
    health.healthChecked(unhealthy('logs-stalled'));
    health.healthChecked({ healthy: true });
    health.healthChecked({ healthy: true });
    assert.equal(await value('sidekick_unhealthy_total{cause="loop-stalled"}'), 1);
    assert.equal(await value('sidekick_unhealthy_total{cause="logs-stalled"}'), 1);
    assert.equal(await value('sidekick_unhealthy_total{cause="events-down"}'), 0);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l['cause'] ?? l['was'], l['detail']]),
      [
        ['error', 'unhealthy: /healthz answers 503 (a restart should help)', 'loop-stalled', 'loop-stalled detail'],
        ['error', 'unhealthy: /healthz answers 503 (a restart should help)', 'logs-stalled', 'logs-stalled detail'],
        ['info', 'healthy again: /healthz answers 200', 'logs-stalled', undefined],
      ],
    );
  });

  it('keep the metrics /metrics had before events.ts: names, types, help, and the series shown at start', async () => {
    const { events, registry } = setup();
    events.forHealth(HEALTH_CAUSES);
    events.forSink('stdout://');
    healthGauge(registry, () => true);
    statsCallTimer(registry);
    observePipeline(registry, {
      router: { routed: new Map() } as unknown as Router,
      channels: [],
      containers: () => 0,
      logStreams: () => ({ api: 0, file: 0 }),
      filesTailed: () => 0,
      tapDropped: () => 0,
    });
    const now = (await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('sidekick_')).map((m) => [m.name, String(m.type), m.help]);
    const byName = (a: readonly string[], b: readonly string[]): number => (a[0]! < b[0]! ? -1 : 1);
    assert.deepEqual(now.sort(byName), [...BEFORE, ...SINCE].map((m) => [...m]).sort(byName));
    const counted = /^sidekick_(docker_api|event_stream|malformed|containers_missed|unhealthy|checkpoint|file_read|sink_messages_truncated|sink_send)/;
    const atStart = (await registry.metrics()).split('\n').filter((l) => counted.test(l));
    assert.deepEqual(atStart.sort(), [...AT_START_BEFORE].sort());
  });
});

/** What /metrics exposed of sidekick itself before events.ts: name, type and help (src/observe/metrics.ts at 3a84eca). */
const BEFORE: readonly (readonly [string, string, string])[] = [
  ['sidekick_docker_api_errors_total', 'counter', 'Docker API calls that failed, by kind (http_<status>, a system error code, timeout)'],
  ['sidekick_event_stream_reconnects_total', 'counter', 'Times the Docker event stream was attached again after it was lost'],
  ['sidekick_malformed_input_total', 'counter', 'Input from the Docker daemon that could not be read and was skipped, by source (logs, events, stats)'],
  ['sidekick_containers_missed_total', 'counter', 'Containers gone (removed) before their logs could be read: short jobs the engine removed first'],
  ['sidekick_healthy', 'gauge', '1 while /healthz answers 200; 0 while sidekick is alive but not doing its job (see sidekick_unhealthy_total)'],
  ['sidekick_unhealthy_total', 'counter', 'Times /healthz turned to 503, by cause (loop-stalled, events-down, events-silent, logs-stalled)'],
  ['sidekick_stats_call_seconds', 'histogram', 'How long a Docker stats call took, waiting for a place among the concurrent calls included'],
  ['sidekick_records_total', 'counter', 'Records collected, by type'],
  ['sidekick_sink_records_sent_total', 'counter', 'Records a sink delivered'],
  ['sidekick_sink_records_dropped_total', 'counter', 'Records a sink dropped, by reason'],
  ['sidekick_sink_records_retried_total', 'counter', 'Records in writes that were tried again'],
  ['sidekick_sink_records_rejected_total', 'counter', 'Records the receiver refused for good (not retried)'],
  ['sidekick_sink_messages_truncated_total', 'counter', 'Messages cut to fit (syslog over UDP)'],
  ['sidekick_sink_send_errors_total', 'counter', 'Sends that failed and are not retried (syslog over UDP: a datagram the kernel refused)'],
  ['sidekick_sink_buffer_records', 'gauge', 'Records waiting in a sink buffer'],
  ['sidekick_sink_buffer_bytes', 'gauge', 'Bytes held by a sink buffer'],
  ['sidekick_containers_watched', 'gauge', 'Containers being collected now'],
  ['sidekick_log_streams', 'gauge', 'Container log streams followed now, by where they are read (api: the logs API, file: the json-file)'],
  ['sidekick_checkpoint_write_errors_total', 'counter', 'Checkpoint writes that failed (a full or read-only state directory); collection goes on'],
  ['sidekick_tap_records_dropped_total', 'counter', 'Records dropped for /tap clients that read too slowly (each told in a gap record)'],
  ['sidekick_files_tailed', 'gauge', 'Log files being tailed now (SIDEKICK_FILES)'],
  ['sidekick_file_read_errors_total', 'counter', 'Times a tailed file could not be read (each is tried again)'],
];

/** The counted series at start before events.ts, with one sink (`stdout://`): what a scrape showed before any fault. */
/** Added since, each with the issue that asked for it. */
const SINCE: readonly (readonly [string, string, string])[] = [
  // Issue 17: disk buffers.
  ['sidekick_sink_buffer_oldest_age_seconds', 'gauge', 'Age of the oldest record a sink buffer holds (by its time), 0 when empty'],
  ['sidekick_sink_disk_corrupt_total', 'counter', "Torn or corrupt frames found in a sink's disk buffer, each skipped with the rest of its segment"],
  ['sidekick_sink_disk_corrupt_bytes_total', 'counter', "Bytes of a sink's disk buffer skipped as torn or corrupt"],
  // Issue 17: block never stalls another sink.
  ['sidekick_sink_behind_sources', 'gauge', 'Sources (container logs, files) a full block sink fell behind on, to be read again for it'],
  // Issue 18: OTLP's partial success.
  [
    'sidekick_sink_items_rejected_total',
    'counter',
    'Items a receiver took a request with but refused, as it counts them (OTLP partial success: log records, data points)',
  ],
];

const AT_START_BEFORE = [
  'sidekick_event_stream_reconnects_total 0',
  'sidekick_containers_missed_total 0',
  'sidekick_unhealthy_total{cause="loop-stalled"} 0',
  'sidekick_unhealthy_total{cause="events-down"} 0',
  'sidekick_unhealthy_total{cause="events-silent"} 0',
  'sidekick_unhealthy_total{cause="logs-stalled"} 0',
  'sidekick_checkpoint_write_errors_total 0',
  'sidekick_file_read_errors_total 0',
  'sidekick_sink_messages_truncated_total{sink="stdout://"} 0',
  'sidekick_sink_send_errors_total{sink="stdout://"} 0',
];
