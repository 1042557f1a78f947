// Discovery: the event stream subscribed first and the running containers
// listed after, again after every loss, resumed from the newest event seen with
// what a resumed stream repeats dropped, against a fake Docker API whose event
// streams are PassThrough streams of newline-delimited event JSON.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ContainerSummary, DockerApi } from '../../../../src/docker/client.js';
import { Events } from '../../../../src/observe/events.js';
import { Discovery, type DiscoveryEvents, type DiscoveryHandlers } from '../../../../src/sources/docker/discovery.js';
import type { DockerEvent } from '../../../../src/docker/events.js';
import { memoryLog } from '../../memory-log.js';
import { collectGarbage, gate, waitFor } from '../../wait.js';

const APP = '9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a';
const DB = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

/** 2024-01-02T03:04:05Z, in seconds: event n happens n seconds later. */
const BASE_S = 1_704_164_645n;
const NS = 1_000_000_000n;

function nanosOf(n: number): bigint {
  return (BASE_S + BigInt(n)) * NS;
}

/**
 * Event `n` as `GET /events` writes it; its number is also in its attributes
 * (`n`), so what the handlers see can be told apart. `timeNano` goes in as
 * digits: it is more than a double holds.
 */
function eventLine(n: number, action = 'start', id = APP): string {
  const body = JSON.stringify({
    status: action,
    id,
    from: 'nginx:1.27',
    Type: 'container',
    Action: action,
    Actor: { ID: id, Attributes: { name: 'web', n: String(n) } },
    scope: 'local',
    time: Number(BASE_S) + n,
  });
  return `${body.slice(0, -1)},"timeNano":${nanosOf(n)}}\n`;
}

function summary(id: string, name: string): ContainerSummary {
  return { Id: id, Names: [`/${name}`], State: 'running', Image: 'nginx:1.27', Labels: {}, Mounts: [] };
}

function failure(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The calls Discovery makes of the Docker API, each answered as the test arranges. */
class FakeEventsApi {
  /** Every call, in order: `events <since>` or `list`. */
  readonly calls: string[] = [];
  /** When each call was made (ms, monotonic). */
  readonly callTimes: number[] = [];
  /** The streams handed out, one per successful `events` call. */
  readonly streams: PassThrough[] = [];
  /** `listRunning` answers these in turn; the last one again when they run out. */
  lists: ContainerSummary[][] = [[]];
  /** Thrown by the next calls of `events` (or `listRunning`), one each, before they work. */
  eventsFailures: Error[] = [];
  listFailures: Error[] = [];
  /** When set, `listRunning` answers only once this resolves. */
  listGate: Promise<void> | undefined;
  /** Each list answered (a copy of one of `lists`), as long as something keeps it. */
  readonly answered: WeakRef<ContainerSummary[]>[] = [];
  private listed = 0;

  /** The newest stream. */
  get stream(): PassThrough {
    const s = this.streams.at(-1);
    assert.ok(s !== undefined, 'no event stream was opened');
    return s;
  }

  events(since: string | undefined): Promise<PassThrough> {
    this.record(`events ${since ?? 'now'}`);
    const fail = this.eventsFailures.shift();
    if (fail !== undefined) return Promise.reject(fail);
    const s = new PassThrough();
    this.streams.push(s);
    return Promise.resolve(s);
  }

  async listRunning(): Promise<ContainerSummary[]> {
    this.record('list');
    const fail = this.listFailures.shift();
    if (fail !== undefined) throw fail;
    await this.listGate;
    const list = [...this.lists[Math.min(this.listed++, this.lists.length - 1)]!];
    this.answered.push(new WeakRef(list));
    return list;
  }

  /** As DockerApi: words for a failure the operator must fix (a socket's permission). */
  explain(err: unknown): string | undefined {
    return (err as { code?: string }).code === 'EACCES' ? 'permission denied on /var/run/docker.sock' : undefined;
  }

  private record(call: string): void {
    this.calls.push(call);
    this.callTimes.push(performance.now());
  }
}

/** What the handlers were told, in order, as short lines (a malformed line too), and what was said in sidekick's log. */
interface Told {
  readonly lines: string[];
  readonly handlers: DiscoveryHandlers;
  readonly events: DiscoveryEvents;
  readonly log: Logger;
  /** What was said in sidekick's log, as level and message. */
  readonly said: () => string[];
  readonly registry: Registry;
  /** The number (attribute `n`) of each event handed to `event`, in order. */
  readonly handled: () => string[];
}

function nOf(event: DockerEvent): string {
  return event.attributes['n'] ?? '?';
}

function tell(event: (e: DockerEvent) => Promise<void> = () => Promise.resolve()): Told {
  const lines: string[] = [];
  const { log, lines: said } = memoryLog();
  const registry = new Registry();
  const events = new Events(log, registry);
  return {
    lines,
    log,
    said: () => said.map((l) => `${l.level} ${l.msg}`),
    registry,
    handled: () => lines.filter((l) => l.startsWith('event ')).map((l) => l.slice('event '.length)),
    handlers: {
      arrived: (e) => lines.push(`arrived ${nOf(e)}`),
      event: (e) => {
        lines.push(`event ${nOf(e)}`);
        return event(e);
      },
      running: (containers) => lines.push(`running ${containers.map((c) => c.Names[0]).join(',')}`),
      attached: (up, reason) => lines.push(up ? 'attached' : `detached: ${reason}`),
    },
    events: {
      eventStreamAttached: () => events.eventStreamAttached(),
      eventStreamLost: (err, hint) => events.eventStreamLost(err, hint),
      malformed: (source) => {
        lines.push('malformed');
        events.malformed(source);
      },
    },
  };
}

let started: Discovery[] = [];

function discovery(api: FakeEventsApi, told: Told): Discovery {
  const d = new Discovery(api as unknown as DockerApi, told.handlers, told.events, told.log);
  started.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(started.map((d) => d.stop()));
  started = [];
});

describe('Discovery', () => {
  it('subscribes to the events before it lists the running containers: a start between the two is not lost', async () => {
    const api = new FakeEventsApi();
    api.lists = [[summary(APP, 'web')]];
    const listAnswered = gate();
    api.listGate = listAnswered.promise;
    const told = tell();
    const d = discovery(api, told);
    const start = d.start();
    await waitFor('the list asked for', () => api.calls.includes('list'));
    assert.deepEqual(api.calls, ['events now', 'list'], 'the first stream starts now; the list comes after it');
    // A container started after the subscription, before the list's answer
    // (which may or may not hold it): its start still comes through the stream.
    api.stream.write(eventLine(1, 'start', DB));
    listAnswered.open();
    await start;
    await waitFor('the start event', () => told.handled().length === 1);
    assert.deepEqual(told.lines, ['attached', 'running /web', 'arrived 1', 'event 1']);
  });

  it('lists the running containers again after every reconnect and hands each list to running()', async () => {
    const api = new FakeEventsApi();
    api.lists = [[summary(APP, 'web')], [summary(APP, 'web'), summary(DB, 'db')]];
    const told = tell();
    await discovery(api, told).start();
    api.stream.end();
    await waitFor('the second list', () => told.lines.filter((l) => l.startsWith('running')).length === 2);
    assert.deepEqual(told.lines, ['attached', 'running /web', 'detached: event stream ended', 'attached', 'running /web,/db']);
    assert.equal(api.calls.length, 4);
    assert.deepEqual(
      api.calls.map((c) => c.split(' ')[0]),
      ['events', 'list', 'events', 'list'],
    );
  });

  it('lets go of the list of running containers once handed on, while it reads the event stream', async () => {
    const api = new FakeEventsApi();
    api.lists = [[summary(APP, 'web'), summary(DB, 'db')]];
    const told = tell();
    await discovery(api, told).start();
    api.stream.write(eventLine(1, 'start', DB));
    await waitFor('an event read', () => told.handled().length === 1);
    await collectGarbage();
    assert.equal(api.answered.length, 1);
    assert.equal(api.answered[0]!.deref(), undefined, 'the list is not kept while the stream is read');
  });

  it('resumes a lost stream 2 s before the newest event seen, and hands on what it repeats only once', async () => {
    const api = new FakeEventsApi();
    const told = tell();
    await discovery(api, told).start();
    api.stream.write(eventLine(1) + eventLine(2, 'die') + eventLine(4, 'start', DB));
    await waitFor('the first three events', () => told.handled().length === 3);
    api.stream.destroy(failure('socket hang up', 'ECONNRESET'));
    await waitFor('a second stream', () => api.streams.length === 2);
    // The newest event was 4 s after BASE: resumed from 2 s after BASE.
    assert.equal(api.calls[2], `events ${BASE_S + 2n}.000000000`);
    // The daemon sends again what it has from there, and an event it
    // published late (3, older than the newest one seen), and a new one.
    api.stream.write(eventLine(2, 'die') + eventLine(3, 'die', DB) + eventLine(4, 'start', DB) + eventLine(5));
    await waitFor('the late and the new event', () => told.handled().length === 5);
    assert.deepEqual(told.handled(), ['1', '2', '4', '3', '5']);
    assert.ok(told.lines.includes('detached: socket hang up'), told.lines.join('\n'));
    // Lost again: from the newest event now (5), not from the one before.
    api.stream.end();
    await waitFor('a third stream', () => api.streams.length === 3);
    assert.equal(api.calls.at(-2), `events ${BASE_S + 3n}.000000000`);
  });

  it('resumes from when the stream first worked (less 2 s) when it was lost before any event', async () => {
    const api = new FakeEventsApi();
    const before = BigInt(Date.now()) * 1_000_000n;
    await discovery(api, tell()).start();
    const after = BigInt(Date.now()) * 1_000_000n;
    api.stream.end();
    await waitFor('a second stream', () => api.streams.length === 2);
    const since = api.calls[2]!.slice('events '.length);
    assert.match(since, /^\d+\.\d{9}$/);
    const nanos = BigInt(since.replace('.', ''));
    assert.ok(nanos >= before - 2n * NS && nanos <= after - 2n * NS, `${since} is 2 s before the first attach`);
  });

  it('calls arrived() for each event as it comes, and event() one at a time in order, each after the previous one is done', async () => {
    const api = new FakeEventsApi();
    const first = gate();
    const told = tell((e) => {
      if (nOf(e) === '1') return first.promise;
      // A handler that fails is logged; the events after it are still handled.
      if (nOf(e) === '2') return Promise.reject(new Error('inspect failed'));
      return Promise.resolve();
    });
    await discovery(api, told).start();
    api.stream.write(eventLine(1) + eventLine(2) + eventLine(3));
    await waitFor('every event arrived', () => told.lines.filter((l) => l.startsWith('arrived')).length === 3);
    // All three arrived before the first one's handling started, and the
    // first one's is not done yet: the next waits for it.
    await waitFor('the first handled', () => told.handled().length === 1);
    assert.deepEqual(told.lines.slice(2), ['arrived 1', 'arrived 2', 'arrived 3', 'event 1']);
    // An event that comes while the first is still being handled arrives at once.
    api.stream.write(eventLine(4));
    await waitFor('the fourth arrived', () => told.lines.includes('arrived 4'));
    assert.deepEqual(told.handled(), ['1']);
    first.open();
    await waitFor('every event handled', () => told.handled().length === 4);
    assert.deepEqual(told.handled(), ['1', '2', '3', '4']);
  });

  it('tells attached(false) with the reason when the stream is lost, and attached(true) when it is back', async () => {
    const api = new FakeEventsApi();
    const told = tell();
    await discovery(api, told).start();
    api.stream.destroy(failure('read ECONNRESET', 'ECONNRESET'));
    await waitFor('attached again', () => told.lines.filter((l) => l === 'attached').length === 2);
    api.stream.destroy(failure('connect EACCES /var/run/docker.sock', 'EACCES'));
    await waitFor('attached a third time', () => told.lines.filter((l) => l === 'attached').length === 3);
    assert.deepEqual(
      told.lines.filter((l) => !l.startsWith('running')),
      [
        'attached',
        'detached: read ECONNRESET',
        'attached',
        // What the operator must fix is told in words, not as the bare error.
        'detached: permission denied on /var/run/docker.sock',
        'attached',
      ],
    );
    // Each loss said, each return said and counted as a reconnect.
    assert.deepEqual(told.said(), [
      'warn docker event stream lost; reconnecting',
      'info docker event stream attached again',
      'warn docker event stream lost; reconnecting',
      'info docker event stream attached again',
    ]);
    assert.match(await told.registry.metrics(), /^sidekick_event_stream_reconnects_total 2$/m);
  });

  it('skips a line that is not an event, reports it, and goes on with the next', async () => {
    const api = new FakeEventsApi();
    const told = tell();
    await discovery(api, told).start();
    api.stream.write('not json at all\n' + eventLine(1) + '{"Type":"container","Actor":{}}\n');
    // An event cut across two chunks is still one event.
    const second = eventLine(2);
    api.stream.write(second.slice(0, 40));
    api.stream.write(second.slice(40));
    await waitFor('both events', () => told.handled().length === 2);
    // (Handling is queued: only the order of arrivals is fixed against the bad lines.)
    assert.deepEqual(told.lines.filter((l) => !l.startsWith('event')).slice(2), ['malformed', 'arrived 1', 'malformed', 'arrived 2']);
    assert.deepEqual(told.handled(), ['1', '2']);
    assert.equal(api.streams.length, 1, 'a bad line does not cost the stream');
    // Counted each, said once for the stream.
    assert.match(await told.registry.metrics(), /^sidekick_malformed_input_total\{source="events"\} 2$/m);
    assert.deepEqual(told.said(), ['warn docker event stream: a line that is not an event; skipped (said once per stream)']);
  });

  it('retries with backoff while the daemon refuses, telling attached(false) once, and starts once both calls work', async () => {
    const api = new FakeEventsApi();
    api.eventsFailures = [failure('connect EACCES /var/run/docker.sock', 'EACCES')];
    api.listFailures = [failure('connect ECONNREFUSED /var/run/docker.sock', 'ECONNREFUSED')];
    const told = tell();
    let attached = false;
    const start = discovery(api, told)
      .start()
      .then(() => (attached = true));
    await waitFor('the first refusal', () => told.lines.length === 1);
    assert.equal(attached, false, 'start() waits for a working stream');
    await start;
    assert.deepEqual(api.calls, ['events now', 'events now', 'list', 'list']);
    // Each retry waited (p-retry's first delay is 250 ms to 500 ms): no busy loop on a refusing daemon.
    assert.ok(api.callTimes[1]! - api.callTimes[0]! >= 200, `events retried after ${api.callTimes[1]! - api.callTimes[0]!} ms`);
    assert.ok(api.callTimes[3]! - api.callTimes[2]! >= 200, `list retried after ${api.callTimes[3]! - api.callTimes[2]!} ms`);
    // Told once for the whole outage, with the first failure's words; said once, and no reconnect: it never was attached.
    assert.deepEqual(told.lines, ['detached: permission denied on /var/run/docker.sock', 'attached', 'running ']);
    assert.deepEqual(told.said(), ['warn docker event stream lost; reconnecting', 'info docker event stream attached again']);
    assert.match(await told.registry.metrics(), /^sidekick_event_stream_reconnects_total 0$/m);
  });

  it('stop() ends the stream without reconnecting, after the event being handled is done', async () => {
    const api = new FakeEventsApi();
    const handling = gate();
    const told = tell(() => handling.promise);
    const d = discovery(api, told);
    await d.start();
    api.stream.write(eventLine(1));
    await waitFor('the event handled', () => told.handled().length === 1);
    let stopped = false;
    const stop = d.stop().then(() => (stopped = true));
    await waitFor('the stream destroyed', () => api.stream.destroyed);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stop() waits for the handler in flight');
    handling.open();
    await stop;
    // stop() waited for the loop: had it reconnected, the call would be here.
    assert.deepEqual(api.calls, ['events now', 'list']);
    assert.ok(!told.lines.some((l) => l.startsWith('detached')), 'stopping is not a lost stream');
  });

  it('stop() while the daemon keeps refusing ends the retries, and start() resolves', async () => {
    const api = new FakeEventsApi();
    api.eventsFailures = Array.from({ length: 100 }, () => failure('connect ENOENT /var/run/docker.sock', 'ENOENT'));
    const told = tell();
    const d = discovery(api, told);
    const start = d.start();
    await waitFor('the first refusal told', () => told.lines.length === 1);
    await d.stop();
    await start;
    assert.equal(api.calls.length, 1, 'no retry after stop');
    assert.deepEqual(told.lines, ['detached: connect ENOENT /var/run/docker.sock']);
  });
});
