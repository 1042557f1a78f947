// Every registered source keeps the component contract: create without I/O,
// start, then stop twice without harm; and stop before start is harmless.
// The Docker API is a fake with no containers whose event stream stays open
// until destroyed; files are tailed in a temporary folder.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { type Config, loadConfig } from '../../../src/config/load.js';
import type { ContainerSummary, DockerApi } from '../../../src/docker/client.js';
import { VolumeOwners } from '../../../src/sources/docker/owners.js';
import { Events } from '../../../src/observe/events.js';
import { ContainerPolicy } from '../../../src/transforms/policy.js';
import type { SidekickRecord } from '../../../src/core/record.js';
import { SOURCES } from '../../../src/sources/registry.js';
import { Flow } from '../../../src/core/flow.js';
import type { SourceContext } from '../../../src/sources/source.js';

/** The calls the sources make of the Docker API when no container runs. */
class FakeDocker {
  readonly streams: PassThrough[] = [];

  events(): Promise<PassThrough> {
    const s = new PassThrough();
    this.streams.push(s);
    return Promise.resolve(s);
  }

  listRunning(): Promise<ContainerSummary[]> {
    return Promise.resolve([]);
  }

  listAll(): Promise<ContainerSummary[]> {
    return Promise.resolve([]);
  }

  explain(): string | undefined {
    return undefined;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'sidekick-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'app.log'), 'one line\n');

/** A config that asks for every source. */
function config(): Config {
  const result = loadConfig([], { SIDEKICK_FILES: join(dir, '*.log') });
  if (result.kind !== 'run') throw new Error(`a config to run with, not ${result.kind}`);
  return result.config;
}

/** A context as the topology makes one, with what the source signals written down. */
function context(): { ctx: SourceContext; told: string[]; records: SidekickRecord[]; docker: FakeDocker } {
  const cfg = config();
  const told: string[] = [];
  const records: SidekickRecord[] = [];
  const docker = new FakeDocker();
  const api = docker as unknown as DockerApi;
  const policy = new ContainerPolicy({ types: cfg.types, containers: cfg.containers, decor: cfg.decor, parseJson: cfg.parseJson, badLabel: () => undefined });
  const log = pino({ level: 'silent' });
  const ctx: SourceContext = {
    config: cfg,
    log,
    emit: (r) => records.push(r),
    positions: { get: () => undefined, forget: () => undefined, keys: () => [] },
    docker: {
      api,
      host: 'test-host',
      engine: { Name: 'test-host', ServerVersion: '27.0.0', DockerRootDir: dir },
      selfId: undefined,
      policy,
      owners: new VolumeOwners(),
    },
    signals: {
      attached: (up) => told.push(`attached ${up}`),
      eventSeen: () => told.push('event'),
    },
    events: new Events(log, new Registry()),
  };
  return { ctx, told, records, docker };
}

/** A position of each kind, as saved: of a source no one reads. */
const SAVED: Record<string, unknown> = {
  log: { time: '2024-01-02T03:04:05.000000000Z', count: 1 },
  file: { path: '/nowhere/app.log', dev: 1, ino: 2, fingerprint: 'f', offset: 0 },
};

describe('source lifecycle', () => {
  it('every registered source is asked for by the example config, once', () => {
    const cfg = config();
    assert.deepEqual(
      SOURCES.filter((s) => s.enabled(cfg)).map((s) => s.name),
      SOURCES.map((s) => s.name),
    );
    assert.equal(new Set(SOURCES.map((s) => s.name)).size, SOURCES.length);
  });

  for (const factory of SOURCES) {
    it(`${factory.name}: create -> start -> stop -> stop`, async () => {
      const { ctx, docker } = context();
      const source = factory.create(ctx);
      assert.equal(source.name, factory.name);
      assert.equal(docker.streams.length, 0, 'create does no I/O');
      await source.start();
      source.allStarted?.();
      await source.stop();
      await source.stop();
      assert.ok(
        docker.streams.every((s) => s.destroyed),
        'no event stream left open',
      );
    });

    it(`${factory.name}: reads again what its positions name, for a sink that fell behind (false for what it does not know)`, async () => {
      const { ctx } = context();
      const source = factory.create(ctx);
      if (factory.codecs.length === 0) return;
      assert.ok(source.readAgain !== undefined, 'a source with positions reads again');
      const into = { emit: () => undefined, flow: new Flow(), signal: new AbortController().signal };
      for (const codec of factory.codecs) {
        const at = codec.decode(SAVED[codec.kind]);
        assert.ok(at !== undefined, `a ${codec.kind} position`);
        assert.equal(await source.readAgain('nothing', { codec, at }, into), false);
      }
      await source.stop();
    });

    it(`${factory.name}: stop before start is harmless`, async () => {
      const { ctx, records } = context();
      const source = factory.create(ctx);
      await source.stop();
      await source.stop();
      assert.deepEqual(records, []);
    });
  }

  it('docker: tells the event stream attached once started', async () => {
    const docker = SOURCES.find((s) => s.name === 'docker');
    assert.ok(docker !== undefined);
    const { ctx, told } = context();
    const source = docker.create(ctx);
    await source.start();
    await source.stop();
    assert.deepEqual(told, ['attached true']);
    assert.deepEqual(source.counts?.(), { containers: 0, logStreams: { api: 0, file: 0 } });
  });

  it('files: reads the folder it is given, and counts its files', async () => {
    const files = SOURCES.find((s) => s.name === 'files');
    assert.ok(files !== undefined);
    const { ctx } = context();
    const source = files.create(ctx);
    await source.start();
    assert.deepEqual(source.counts?.(), { files: 1 });
    await source.stop();
  });
});
