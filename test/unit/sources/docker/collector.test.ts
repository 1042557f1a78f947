// Collector: what discovery reports (start events, lists after a reconnect,
// deaths) turned into collection, against a fake Docker API that keeps a few
// containers and their lines: inspect answers from them, the logs API follows
// them as Docker's framed stream does, and a container that logs to a
// json-file has a real one in a temporary data root.

import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ContainerInspectInfo } from 'dockerode';
import { pino } from 'pino';
import { Collector, type CollectorOptions } from '../../../../src/sources/docker/collector.js';
import { FOLLOW_AFTER_DEATH_MS } from '../../../../src/sources/docker/logs-api.js';
import type { ContainerSummary, DockerApi, LogsOptions } from '../../../../src/docker/client.js';
import type { DockerEvent } from '../../../../src/docker/events.js';
import { VolumeOwners } from '../../../../src/sources/docker/owners.js';
import { compileTag } from '../../../../src/transforms/decorate.js';
import { ContainerPolicy } from '../../../../src/transforms/policy.js';
import {
  sinceToTime,
  timeToSince,
  type InspectRecord,
  type LogPosition,
  type LogRecord,
  type RecordType,
  type SidekickRecord,
} from '../../../../src/core/record.js';
import { parseMatchers, Selection } from '../../../../src/transforms/route.js';
import { collectGarbage, waitFor } from '../../wait.js';

const HOST = 'test-host';
const WEB = '9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a';
const DB = '1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b';
const JOB = '7a9c1e3b5d7f9a9f2a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f';
const SKIP = '5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a9f2a1c3e5b7d9f1a3c5e7b9d1f3a';
const SELF = '4b825dc642cb6eb9a060e54bf8d69288fbee4904c6d5e5a0e9c8f47c59d1b7e2';

/** Line k of the fake daemon is stamped k seconds after this (at .1 of its second). */
const BASE = Date.UTC(2024, 0, 2, 3, 4, 5);

/** Line k's time as records (and the logs API) carry it. */
function timeOf(k: number): string {
  return new Date(BASE + k * 1000).toISOString().slice(0, 19) + '.100000000Z';
}

/** Line k's time as the json-file driver writes it (trailing zeros trimmed). */
function fileTimeOf(k: number): string {
  return new Date(BASE + k * 1000).toISOString().slice(0, 19) + '.1Z';
}

function notFound(what: string): Error {
  return Object.assign(new Error(`(HTTP code 404) no such container - ${what}`), { statusCode: 404 });
}

/** What the engine answers a logs call for a container dead or being removed (dockerd's daemon/logs.go). */
function refusedAsRemoved(): Error {
  return Object.assign(new Error('(HTTP code 409) unexpected - can not get logs from container which is dead or marked for removal'), { statusCode: 409 });
}

/** A frame of Docker's multiplexed logs stream: "<time> <text>\n" after an 8-byte header. */
function frame(stream: 'stdout' | 'stderr', time: string, message: string): Buffer {
  const payload = Buffer.from(`${time} ${message}\n`);
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

interface Line {
  readonly k: number;
  readonly stream: 'stdout' | 'stderr';
  readonly message: string;
}

interface FakeContainer {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  running: boolean;
  /** Its json-file, when it logs with the json-file driver; else it logs to journald. */
  readonly file: string | undefined;
  readonly lines: Line[];
  /** The logs API streams following it now. */
  readonly follows: PassThrough[];
  /** Being removed: inspect says `removing`. */
  removing: boolean;
  /** Left `dead` by a removal that failed: inspect says so, and the logs API refuses it, as it does one `removing`. */
  dead: boolean;
  /** A removal deletes its json-file as its next read once stopped begins (see removedAsRead). */
  removedAsRead: 'gone' | 'removing' | undefined;
}

/** The few calls the collector (and the log and stats sources) make of Docker, answered from the containers it keeps. */
class FakeDocker {
  readonly containers = new Map<string, FakeContainer>();
  /** Every call, in order, by container name: `inspect web`, `logs web since=…`, `stats web`. */
  readonly calls: string[] = [];
  /** When set, inspect fails with it (a daemon that does not answer in time). */
  inspectFails: Error | undefined;
  /** Each inspect answer, as long as something keeps it. */
  readonly answered: WeakRef<ContainerInspectInfo>[] = [];
  private clock = 0;
  private readonly unanswered = new Set<string>();
  private readonly names = new Map<string, string>();

  /** `root`: the engine's data root, where json-files are. */
  constructor(readonly root: string) {}

  add(id: string, name: string, options: { labels?: Record<string, string>; jsonFile?: boolean } = {}): void {
    let file: string | undefined;
    if (options.jsonFile === true) {
      mkdirSync(join(this.root, 'containers', id), { recursive: true });
      file = join(this.root, 'containers', id, `${id}-json.log`);
      writeFileSync(file, '');
    }
    this.names.set(id, name);
    this.containers.set(id, {
      id,
      name,
      labels: options.labels ?? {},
      running: true,
      file,
      lines: [],
      follows: [],
      removing: false,
      dead: false,
      removedAsRead: undefined,
    });
  }

  /** The container prints these lines, one second apart (one starting with `error` to stderr); returns their line numbers. */
  print(id: string, ...messages: string[]): number[] {
    const c = this.get(id);
    return messages.map((text) => {
      const stream = text.startsWith('error') ? 'stderr' : 'stdout';
      const line: Line = { k: ++this.clock, stream, message: text };
      c.lines.push(line);
      for (const f of c.follows) f.write(frame(line.stream, timeOf(line.k), line.message));
      if (c.file !== undefined) appendFileSync(c.file, JSON.stringify({ log: `${text}\n`, stream, time: fileTimeOf(line.k) }) + '\n');
      return line.k;
    });
  }

  /**
   * Lines its follows miss: dockerd's follow can end at a job's exit without
   * the lines written just before it (they are in the json-file, for a read after the stop).
   */
  printUnfollowed(id: string, ...messages: string[]): void {
    const c = this.get(id);
    const follows = c.follows.splice(0);
    this.print(id, ...messages);
    c.follows.push(...follows);
  }

  exit(id: string): void {
    const c = this.get(id);
    c.running = false;
    for (const f of c.follows.splice(0)) f.end();
  }

  /**
   * Its removal races its next read once stopped, as a `--rm` job's does:
   * dockerd reads the json-file the removal has just deleted through a logger
   * that creates it again, empty, and answers an empty stream; after it, the
   * container is gone (404) or still `removing`.
   */
  removedAsRead(id: string, after: 'gone' | 'removing'): void {
    this.get(id).removedAsRead = after;
  }

  /** Exits, and its removal fails: it is left `dead` (the engine keeps it until removed again). */
  exitDead(id: string): void {
    this.exit(id);
    this.get(id).dead = true;
  }

  /** Its next logs call is not answered until the caller gives it up: a daemon that silently stops answering. */
  leaveLogsCallUnanswered(id: string): void {
    this.unanswered.add(id);
  }

  /** Its log streams end while it runs, as a connection to dockerd that breaks. */
  breakFollows(id: string): void {
    for (const f of this.get(id).follows.splice(0)) f.end();
  }

  /** Exits, but its follows stay open: a log stream that silently stops instead of ending. */
  exitUnended(id: string): void {
    const c = this.get(id);
    c.running = false;
    c.follows.splice(0);
  }

  /** Removed, as `docker rm` does (its json-file is left: the tests read it to its end). */
  remove(id: string): void {
    const c = this.get(id);
    this.containers.delete(id);
    for (const f of c.follows.splice(0)) f.end();
  }

  summary(id: string): ContainerSummary {
    return { Id: id, Names: [`/${this.names.get(id) ?? id}`], State: 'running', Image: 'nginx:1.27', Labels: {}, Mounts: [] };
  }

  /** How many times `call` (`inspect web`, …) was made. */
  count(call: string): number {
    return this.calls.filter((c) => c === call || c.startsWith(`${call} `)).length;
  }

  inspect(id: string): Promise<ContainerInspectInfo> {
    this.calls.push(`inspect ${this.nameOf(id)}`);
    if (this.inspectFails !== undefined) return Promise.reject(this.inspectFails);
    const c = this.containers.get(id);
    if (c === undefined) return Promise.reject(notFound(id));
    const answer = {
      Id: id,
      Name: `/${c.name}`,
      Image: 'sha256:5cb3aa00f89934411ffba5c063a9bc98ace875d8f92e77d0029543d9f2ef4ad0',
      Config: { Image: 'nginx:1.27', Labels: c.labels, Env: ['DB_PASSWORD=hunter2', 'MODE=prod'], Tty: false },
      State: {
        Running: c.running,
        Status: c.dead ? 'dead' : c.removing ? 'removing' : c.running ? 'running' : 'exited',
        Dead: c.dead,
        StartedAt: '2024-01-02T03:04:05.000000000Z',
      },
      HostConfig: { LogConfig: { Type: c.file === undefined ? 'journald' : 'json-file' } },
      LogPath: c.file ?? '',
      Mounts: [],
    } as unknown as ContainerInspectInfo;
    this.answered.push(new WeakRef(answer));
    return Promise.resolve(answer);
  }

  /** As `GET /containers/{id}/logs?follow=1&timestamps=1`: the lines from `since` on, then what follows while it runs. */
  logs(id: string, options: LogsOptions, signal?: AbortSignal): Promise<PassThrough> {
    this.calls.push(`logs ${this.nameOf(id)} since=${options.since ?? '-'}`);
    const c = this.containers.get(id);
    if (c === undefined) return Promise.reject(notFound(id));
    if (c.dead || c.removing) return Promise.reject(refusedAsRemoved());
    if (this.unanswered.delete(id)) {
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    const from = options.since === undefined ? '' : sinceToTime(options.since);
    const stream = new PassThrough();
    if (!c.running && c.removedAsRead !== undefined) {
      if (c.removedAsRead === 'gone') this.containers.delete(id);
      else c.removing = true;
      return Promise.resolve(stream.end());
    }
    for (const l of c.lines) if (timeOf(l.k) >= from) stream.write(frame(l.stream, timeOf(l.k), l.message));
    if (c.running) c.follows.push(stream);
    else stream.end();
    return Promise.resolve(stream);
  }

  stats(id: string): Promise<unknown> {
    this.calls.push(`stats ${this.nameOf(id)}`);
    if (!this.containers.has(id)) return Promise.reject(notFound(id));
    return Promise.resolve({
      read: '2024-01-02T03:04:05.123456789Z',
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 9_000_000_000, online_cpus: 2 },
      memory_stats: { usage: 1000, limit: 4000 },
      pids_stats: { current: 3 },
    });
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    assert.ok(c !== undefined, `no container ${id}`);
    return c;
  }

  private nameOf(id: string): string {
    return this.names.get(id) ?? id.slice(0, 12);
  }
}

function containerEvent(action: string, id: string, name: string): DockerEvent {
  return {
    type: 'container',
    action,
    actorId: id,
    attributes: { name, image: 'nginx:1.27' },
    scope: 'local',
    timeNanos: String(BigInt(Date.now()) * 1_000_000n),
  };
}

interface Run {
  readonly collector: Collector;
  readonly records: SidekickRecord[];
  /** The messages of one container's log records, in order. */
  readonly messages: (name: string) => string[];
  readonly missed: () => number;
  /** The collector's status of one container. */
  readonly status: (id: string) => ReturnType<Collector['status']>[number] | undefined;
}

let root: string;
let docker: FakeDocker;
let runs: Collector[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sidekick-collector-'));
  docker = new FakeDocker(root);
  runs = [];
});

afterEach(async () => {
  await Promise.all(runs.map((c) => c.stop()));
  rmSync(root, { recursive: true, force: true });
});

function collect(options: Partial<CollectorOptions> & { saved?: ReadonlyMap<string, LogPosition> } = {}): Run {
  const records: SidekickRecord[] = [];
  let missed = 0;
  const { saved, ...given } = options;
  const types = new Set<RecordType>(['log', 'event', 'inspect', 'stats']);
  const collector = new Collector(
    docker as unknown as DockerApi,
    (r) => records.push(r),
    {
      host: HOST,
      types,
      policy: new ContainerPolicy({
        types,
        containers: new Selection([], parseMatchers('name:skip-*')),
        decor: { tag: compileTag('{{.Name}}'), fields: [], staticFields: {} },
        parseJson: false,
        badLabel: () => undefined,
      }),
      redactEnv: (name) => name.includes('PASSWORD'),
      redactPatterns: undefined,
      malformed: () => undefined,
      selfId: undefined,
      statsIntervalMs: 0,
      backlog: { kind: 'all' },
      checkpoints: { get: (id) => saved?.get(id), forget: () => undefined },
      logsSource: 'auto',
      maxLine: 1024 * 1024,
      multiline: undefined,
      multilineFlushMs: 1000,
      owners: new VolumeOwners(),
      dockerRoot: root,
      missed: () => missed++,
      ...given,
    },
    pino({ level: 'silent' }),
  );
  runs.push(collector);
  const logs = (): LogRecord[] => records.filter((r): r is LogRecord => r.type === 'log');
  return {
    collector,
    records,
    messages: (name) =>
      logs()
        .filter((r) => r.container.name === name)
        .map((r) => r.message),
    missed: () => missed,
    status: (id) => collector.status(new Map()).find((s) => s.id === id),
  };
}

/** Lets promise callbacks already due run (an answer of the fake API is one). */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('Collector', () => {
  for (const source of ['api', 'file'] as const) {
    it(`${source}: a start event sends the container's inspect record, reads its logs and samples its stats until it dies`, async () => {
      docker.add(WEB, 'web', { jsonFile: source === 'file' });
      docker.print(WEB, 'hello', 'error: world');
      const run = collect({ logsSource: source === 'api' ? 'api' : 'auto', statsIntervalMs: 10 });
      await run.collector.event(containerEvent('start', WEB, 'web'));
      await waitFor('the lines printed before', () => run.messages('web').length === 2);
      docker.print(WEB, 'later');
      await waitFor('a line printed while followed', () => run.messages('web').length === 3);
      await waitFor('a stats sample', () => run.records.some((r) => r.type === 'stats'));
      assert.equal(run.status(WEB)?.source, source);
      // A last line just before it exits is still read.
      docker.print(WEB, 'bye');
      docker.exit(WEB);
      await run.collector.event(containerEvent('die', WEB, 'web'));
      await waitFor('the read over', () => run.collector.activeCount === 0);
      assert.deepEqual(run.messages('web'), ['hello', 'error: world', 'later', 'bye']);
      const logs = run.records.filter((r): r is LogRecord => r.type === 'log');
      assert.deepEqual(
        logs.map((r) => [r.stream, r.time]),
        [
          ['stdout', timeOf(1)],
          ['stderr', timeOf(2)],
          ['stdout', timeOf(3)],
          ['stdout', timeOf(4)],
        ],
      );
      assert.ok(logs.every((r) => r.host === HOST && r.container.id === WEB && r.container.tag === 'web'));
      // ASCII with nothing JSON escapes, known as it is read: each line's JSON takes its message as it is.
      assert.deepEqual(
        logs.map((r) => r.plain),
        [true, true, true, true],
      );
      const inspects = run.records.filter((r): r is InspectRecord => r.type === 'inspect');
      assert.equal(inspects.length, 1);
      assert.equal(inspects[0]!.container?.name, 'web');
      const { Config, State } = inspects[0]!.inspect as ContainerInspectInfo;
      assert.equal(State.Running, true, 'of the container as it started');
      assert.deepEqual(Config.Env, ['DB_PASSWORD=<redacted>', 'MODE=prod'], 'secrets in the environment are masked');
      assert.deepEqual(
        run.records.filter((r) => r.type === 'event').map((r) => (r.type === 'event' ? `${r.action} ${r.container?.name}` : '')),
        ['start web', 'die web'],
      );
      assert.ok(run.records.filter((r) => r.type === 'stats').every((r) => r.container?.name === 'web'));
      // From the json-file, the start's inspect served the event, the run and the file's path, and the
      // die event ended the read: Docker was asked once. (Through the API, each end of the stream asks.)
      if (source === 'file') assert.equal(docker.count('inspect web'), 1);
      assert.equal(run.status(WEB)?.state, 'idle');
      assert.equal(run.status(WEB)?.source, null, 'not read any more');
    });
  }

  for (const source of ['api', 'file'] as const) {
    it(`${source}: lets go of the inspect answers while it follows a container (a few KiB each, for as long as it runs)`, async () => {
      docker.add(WEB, 'web', { jsonFile: source === 'file' });
      docker.print(WEB, 'hello');
      const run = collect({ logsSource: source === 'api' ? 'api' : 'auto', statsIntervalMs: 10 });
      await run.collector.event(containerEvent('start', WEB, 'web'));
      await waitFor('the line printed before', () => run.messages('web').length === 1);
      await waitFor('a stats sample', () => run.records.some((r) => r.type === 'stats'));
      if (source === 'api') {
        // A stream that ends while the container runs: Docker is asked whether it runs, and the follow goes on.
        docker.breakFollows(WEB);
        await waitFor('asked again', () => docker.count('inspect web') === 2);
        docker.print(WEB, 'later');
        await waitFor('a line of the next stream', () => run.messages('web').length === 2);
      }
      await collectGarbage();
      assert.equal(run.status(WEB)?.state, 'following');
      assert.deepEqual(
        docker.answered.map((a) => a.deref() === undefined),
        docker.answered.map(() => true),
        'no inspect answer is kept',
      );
    });
  }

  for (const source of ['api', 'file'] as const) {
    it(`${source}: follows more than ten containers without a warning of a listener leak`, async () => {
      const warnings: string[] = [];
      const warned = (w: Error): void => void warnings.push(w.name);
      process.on('warning', warned);
      try {
        const ids = Array.from({ length: 12 }, (_, i) => `${String(i).padStart(2, '0')}${WEB.slice(2)}`);
        for (const [i, id] of ids.entries()) {
          docker.add(id, `app${i}`, { jsonFile: source === 'file' });
          docker.print(id, `hello ${i}`);
        }
        const run = collect({ logsSource: source === 'api' ? 'api' : 'auto' });
        for (const [i, id] of ids.entries()) await run.collector.event(containerEvent('start', id, `app${i}`));
        await waitFor('every container followed', () => ids.every((id) => run.status(id)?.state === 'following'));
        await settled();
        assert.deepEqual(warnings, []);
      } finally {
        process.off('warning', warned);
      }
    });
  }

  it('does not read a container the policy excludes, by name (SIDEKICK_EXCLUDE) or by its sidekick.exclude label', async () => {
    docker.add(WEB, 'web');
    docker.add(SKIP, 'skip-me');
    docker.add(DB, 'db', { labels: { 'sidekick.exclude': 'true' } });
    for (const id of [WEB, SKIP, DB]) docker.print(id, `a line of ${id.slice(0, 4)}`);
    const run = collect({ logsSource: 'api' });
    run.collector.running([docker.summary(WEB), docker.summary(DB)]);
    await run.collector.event(containerEvent('start', SKIP, 'skip-me'));
    // The one collected shows the others had their turn: each was inspected and left.
    await waitFor('the collected container read', () => run.messages('web').length === 1);
    await waitFor('only it followed', () => run.collector.activeCount === 1);
    assert.deepEqual(
      docker.calls.filter((c) => c.startsWith('logs')).map((c) => c.split(' ')[1]),
      ['web'],
    );
    assert.deepEqual(
      run.records.filter((r) => r.container?.id !== WEB),
      [],
      'no record of an excluded container, not even its events',
    );
  });

  it("never collects sidekick's own container (selfId, a 12-character prefix), nor tells its health checks", async () => {
    docker.add(SELF, 'sidekick');
    docker.add(WEB, 'web');
    docker.print(SELF, 'a line of sidekick');
    docker.print(WEB, 'a line of web');
    const run = collect({ logsSource: 'api', selfId: SELF.slice(0, 12) });
    run.collector.running([docker.summary(SELF), docker.summary(WEB)]);
    run.collector.arrived(containerEvent('create', SELF, 'sidekick'));
    await run.collector.event(containerEvent('create', SELF, 'sidekick'));
    await run.collector.event(containerEvent('start', SELF, 'sidekick'));
    await run.collector.event(containerEvent('exec_start: /bin/sidekick --healthcheck', SELF, 'sidekick'));
    await run.collector.event(containerEvent('health_status: healthy', SELF, 'sidekick'));
    await run.collector.event(containerEvent('exec_start: sh', WEB, 'web'));
    await waitFor('the other container read', () => run.messages('web').length === 1);
    // Calls for a container are made as its collection starts: they would be here.
    assert.deepEqual(
      docker.calls.filter((c) => c.includes('sidekick')),
      [],
      'its own container is neither inspected nor read',
    );
    const own = run.records.filter((r) => r.container?.id === SELF || (r.type === 'event' && r.actor.id === SELF));
    assert.ok(!own.some((r) => r.type !== 'event'), 'no log, inspect or stats record of itself');
    assert.ok(!own.some((r) => r.type === 'event' && /^(exec_|health_status)/.test(r.action)), 'its own health checks are not news');
    assert.ok(
      run.records.some((r) => r.type === 'event' && r.action === 'exec_start: sh'),
      "another container's exec is",
    );
  });

  it('counts a started container removed before it could be inspected or read as missed, once each', async () => {
    const run = collect({ logsSource: 'api' });
    // Gone before its start could be inspected.
    await run.collector.event(containerEvent('start', DB, 'db'));
    await waitFor('the first one counted', () => run.missed() === 1);
    await run.collector.event(containerEvent('die', DB, 'db'));
    await run.collector.event(containerEvent('destroy', DB, 'db'));
    // A --rm job: inspected when its create arrived, removed before its logs were asked for.
    docker.add(JOB, 'job');
    run.collector.arrived(containerEvent('create', JOB, 'job'));
    docker.remove(JOB);
    await run.collector.event(containerEvent('create', JOB, 'job'));
    await run.collector.event(containerEvent('start', JOB, 'job'));
    await waitFor('the second one counted', () => run.missed() === 2);
    await run.collector.event(containerEvent('die', JOB, 'job'));
    await run.collector.event(containerEvent('destroy', JOB, 'job'));
    run.collector.running([]);
    await waitFor('nothing collected any more', () => run.collector.activeCount === 0);
    await settled();
    assert.equal(run.missed(), 2, 'each counted once');
    // What the create's inspect said is still sent for the job.
    assert.deepEqual(
      run.records.filter((r) => r.type === 'inspect').map((r) => r.container?.name),
      ['job'],
    );
  });

  it('api: counts a job missed whose follow ended without its lines and that was removed before it could be read again', async () => {
    const run = collect({ logsSource: 'api' });
    docker.add(JOB, 'job');
    await run.collector.event(containerEvent('start', JOB, 'job'));
    await waitFor('its logs followed', () => docker.count('logs job') === 1);
    docker.printUnfollowed(JOB, 'a-1', 'b-1');
    docker.remove(JOB);
    await waitFor('its collection over', () => run.collector.activeCount === 0);
    assert.deepEqual(run.messages('job'), []);
    assert.equal(run.missed(), 1);
  });

  for (const after of ['gone', 'removing'] as const) {
    it(`api: counts a job missed whose read once stopped came back empty as its removal began (then ${after})`, async () => {
      const run = collect({ logsSource: 'api' });
      docker.add(JOB, 'job');
      await run.collector.event(containerEvent('start', JOB, 'job'));
      await waitFor('its logs followed', () => docker.count('logs job') === 1);
      docker.printUnfollowed(JOB, 'a-1', 'b-1');
      docker.removedAsRead(JOB, after);
      docker.exit(JOB);
      await waitFor('its collection over', () => run.collector.activeCount === 0);
      assert.equal(docker.count('logs job'), 2, 'read again once stopped');
      assert.deepEqual(run.messages('job'), []);
      assert.equal(run.missed(), 1);
    });
  }

  // A daemon that silently stops: the follow's stream stays open after the
  // container died, or the logs call is never answered.
  for (const stall of ['stream', 'call'] as const) {
    it(`api: gives up a follow whose ${stall === 'stream' ? 'stream is still open' : 'call is not answered'} a while after its container died, and reads its log again`, async () => {
      const run = collect({ logsSource: 'api' });
      docker.add(JOB, 'job');
      if (stall === 'call') docker.leaveLogsCallUnanswered(JOB);
      await run.collector.event(containerEvent('start', JOB, 'job'));
      await waitFor('its logs asked for', () => docker.count('logs job') === 1);
      docker.print(JOB, 'a-1');
      docker.printUnfollowed(JOB, 'b-1');
      if (stall === 'stream') docker.exitUnended(JOB);
      else docker.exit(JOB);
      await run.collector.event(containerEvent('die', JOB, 'job'));
      await waitFor('its collection over', () => run.collector.activeCount === 0, FOLLOW_AFTER_DEATH_MS + 2_000);
      assert.deepEqual(run.messages('job'), ['a-1', 'b-1']);
      assert.equal(run.missed(), 0);
    });
  }

  // The engine refuses the logs of a container `dead` or being removed (409),
  // for as long as it stays so: a removal that failed leaves it dead for good.
  for (const followed of [true, false]) {
    it(`api: a job left dead by a failed removal ${followed ? 'is read as far as its follow got' : 'whose follow read nothing is counted missed'}, not asked again and again`, async () => {
      const run = collect({ logsSource: 'api' });
      docker.add(JOB, 'job');
      await run.collector.event(containerEvent('start', JOB, 'job'));
      await waitFor('its logs followed', () => docker.count('logs job') === 1);
      if (followed) docker.print(JOB, 'a-1');
      else docker.printUnfollowed(JOB, 'a-1');
      docker.exitDead(JOB);
      await run.collector.event(containerEvent('die', JOB, 'job'));
      await waitFor('its collection over', () => run.collector.activeCount === 0);
      assert.equal(docker.count('logs job'), 2, 'refused once stopped, not asked again');
      assert.deepEqual(run.messages('job'), followed ? ['a-1'] : []);
      assert.equal(run.missed(), followed ? 0 : 1);
    });
  }

  it('api: a job that printed nothing is read, not missed, when it can be read once stopped', async () => {
    const run = collect({ logsSource: 'api' });
    docker.add(JOB, 'job');
    await run.collector.event(containerEvent('start', JOB, 'job'));
    await waitFor('its logs followed', () => docker.count('logs job') === 1);
    docker.exit(JOB);
    await waitFor('its collection over', () => run.collector.activeCount === 0);
    assert.equal(docker.count('logs job'), 2, 'read again once stopped');
    assert.equal(run.missed(), 0);
  });

  it('does not count a listed container gone before it was inspected: no start of it was seen', async () => {
    const run = collect({ logsSource: 'api' });
    run.collector.running([docker.summary(DB)]);
    await waitFor('its inspect answered', () => docker.count('inspect 1d3f5a7c9e1b') === 1);
    await waitFor('its collection over', () => run.collector.activeCount === 0);
    assert.equal(run.missed(), 0);
  });

  for (const source of ['api', 'file'] as const) {
    it(`${source}: resumes from a saved checkpoint, before the backlog setting: lines up to its cursor are not sent again`, async () => {
      docker.add(WEB, 'web', { jsonFile: source === 'file' });
      const [, second] = docker.print(WEB, 'line 1', 'line 2', 'line 3', 'line 4');
      const saved = new Map([[WEB, { time: timeOf(second!), count: 1 }]]);
      // `none`: without the checkpoint, nothing written before sidekick started would be read.
      const run = collect({ logsSource: source === 'api' ? 'api' : 'auto', backlog: { kind: 'none' }, saved });
      run.collector.running([docker.summary(WEB)]);
      await waitFor('the lines after the cursor', () => run.messages('web').length === 2);
      docker.print(WEB, 'line 5');
      await waitFor('a new line', () => run.messages('web').length === 3);
      assert.deepEqual(run.messages('web'), ['line 3', 'line 4', 'line 5']);
      if (source === 'api')
        assert.deepEqual(
          docker.calls.filter((c) => c.startsWith('logs')),
          [`logs web since=${timeToSince(timeOf(second!))}`],
        );
    });
  }

  it("status() tells how each followed container's logs are read: 'file' from its json-file, 'api' for another log driver", async () => {
    docker.add(WEB, 'web', { jsonFile: true });
    docker.add(DB, 'db');
    docker.print(WEB, 'w');
    docker.print(DB, 'd');
    const run = collect({ logsSource: 'auto' });
    run.collector.running([docker.summary(WEB), docker.summary(DB)]);
    await waitFor('both read', () => run.messages('web').length === 1 && run.messages('db').length === 1);
    assert.deepEqual(
      [run.status(WEB), run.status(DB)].map((s) => [s?.name, s?.state, s?.source, s?.last_line]),
      [
        ['web', 'following', 'file', timeOf(1)],
        ['db', 'following', 'api', timeOf(2)],
      ],
    );
    assert.deepEqual(run.collector.logStreams(), { api: 1, file: 1 });
  });

  describe('a list after a reconnect that leaves out a container whose json-file is followed', () => {
    /** Follows web's json-file, as listed when sidekick started. */
    async function following(): Promise<Run> {
      docker.add(WEB, 'web', { jsonFile: true });
      docker.print(WEB, 'before');
      const run = collect();
      run.collector.running([docker.summary(WEB)]);
      await waitFor('the json-file followed', () => run.messages('web').length === 1 && run.status(WEB)?.source === 'file');
      return run;
    }

    /** A reconnect's list without web; returns once Docker was asked about it and has answered (or the read has ended). */
    async function listedWithoutIt(run: Run): Promise<void> {
      const asked = docker.count('inspect web');
      run.collector.running([]);
      await waitFor('the list handled', () => docker.count('inspect web') > asked || run.status(WEB)?.state !== 'following');
      await settled();
    }

    it('goes on reading it while Docker says it runs (a daemon restoring under --live-restore lists late)', async () => {
      const run = await following();
      await listedWithoutIt(run);
      docker.print(WEB, 'after the list');
      await waitFor('a line written after the list', () => run.messages('web').length === 2);
      // A failed inspect is no answer: the read goes on until Docker says.
      docker.inspectFails = Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500 });
      await listedWithoutIt(run);
      docker.inspectFails = undefined;
      // Whether the read still waits for the container's death shows at once:
      // a list without it asks Docker again only then (a read ended asks nothing).
      const asked = docker.count('inspect web');
      run.collector.running([]);
      assert.equal(docker.count('inspect web'), asked + 1, 'still waiting for Docker to say it died');
      await settled();
      docker.print(WEB, 'after a list Docker said nothing of');
      await waitFor('a line written after that list', () => run.messages('web').length === 3);
      assert.equal(run.status(WEB)?.state, 'following');
      assert.deepEqual(run.messages('web'), ['before', 'after the list', 'after a list Docker said nothing of']);
    });

    for (const gone of ['exited', 'removed'] as const) {
      it(`ends the read, to the end of the file, once Docker says it ${gone === 'exited' ? 'is not running' : 'is gone (404)'}`, async () => {
        const run = await following();
        // It died while the event stream was down: no die event comes.
        docker.print(WEB, 'last');
        if (gone === 'exited') docker.exit(WEB);
        else docker.remove(WEB);
        run.collector.running([]);
        await waitFor('the read over', () => run.collector.activeCount === 0);
        assert.deepEqual(run.messages('web'), ['before', 'last']);
        assert.equal(run.status(WEB)?.state, 'idle');
      });
    }
  });
});
