// sidekick's own events: each counted every time under its metric, and told
// once per change of state.

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Events, Latch, once } from '../../../src/observe/events.js';

function setup(): { events: Events; registry: Registry; said: () => string[]; value: (series: string) => Promise<number | undefined> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  });
  const registry = new Registry();
  const events = new Events(pino({}, stream), registry);
  return {
    events,
    registry,
    said: () => lines,
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
  it('counts a reconnect only for an attach after a loss', async () => {
    const { events, value } = setup();
    events.eventStreamAttached(true);
    events.eventStreamAttached(true);
    assert.equal(await value('sidekick_event_stream_reconnects_total'), 0, 'the first attach is no reconnect');
    events.eventStreamAttached(false);
    events.eventStreamAttached(false);
    events.eventStreamAttached(true);
    events.eventStreamAttached(false);
    events.eventStreamAttached(true);
    assert.equal(await value('sidekick_event_stream_reconnects_total'), 2);
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
});
