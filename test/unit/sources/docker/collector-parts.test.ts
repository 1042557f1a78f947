// The collector's parts that stand alone: the backlog's start, the multiline
// label, the API-or-file choice and waiting for a container's death.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { ContainerInspectInfo } from 'dockerode';
import { pino } from 'pino';
import { containerMeta } from '../../../../src/core/record.js';
import { backlogStart } from '../../../../src/sources/docker/backlog.js';
import { MULTILINE_LABEL, multilineOf } from '../../../../src/sources/docker/labels.js';
import { LogFileChoice } from '../../../../src/sources/docker/log-file-choice.js';
import { newWatch, untilDies } from '../../../../src/sources/docker/watch.js';

function capture(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

const ID = 'a'.repeat(64);

function meta(labels: Record<string, string> = {}) {
  return containerMeta(ID, 'web', 'busybox', labels);
}

function inspectOf(driver: string, logPath: string): ContainerInspectInfo {
  return { Id: ID, LogPath: logPath, HostConfig: { LogConfig: { Type: driver } } } as unknown as ContainerInspectInfo;
}

describe('backlogStart', () => {
  const now = 1_700_000_000_000;
  it('reads everything, nothing, the last lines or a time back', () => {
    assert.deepEqual(backlogStart({ kind: 'all' }, now), {});
    assert.deepEqual(backlogStart({ kind: 'none' }, now), { since: '1700000000' });
    assert.deepEqual(backlogStart({ kind: 'tail', lines: 50 }, now), { tail: 50 });
    assert.deepEqual(backlogStart({ kind: 'since', ms: 1500 }, now), { since: '1699999998.5' });
  });
});

describe('multilineOf', () => {
  it('takes the label over the global setting, and the global one without a label', () => {
    const { log } = capture();
    const global = /^\S/;
    assert.equal(multilineOf(meta(), global, log), global);
    const own = multilineOf(meta({ [MULTILINE_LABEL]: '^\\d{4}-' }), global, log);
    assert.ok(own !== undefined && own !== global && own.test('2024-01-02 x') && !own.test('  at x'));
  });

  it('says a bad label once and joins no lines', async () => {
    const { log, lines } = capture();
    assert.equal(multilineOf(meta({ [MULTILINE_LABEL]: '(' }), /^\S/, log), undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 1);
    assert.match(String(lines[0]?.msg), /bad sidekick\.multiline\.pattern label/);
  });
});

describe('LogFileChoice', () => {
  it('reads the json-file when its folder can be read, else the API, with why', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-choice-'));
    try {
      const dir = join(root, 'containers', ID);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${ID}-json.log`);
      const { log, lines } = capture();
      const auto = new LogFileChoice('auto', root, log);
      assert.equal(await auto.pathOf(inspectOf('json-file', path), meta()), path);
      // Before the start, Docker gives no LogPath: the data root names it.
      assert.equal(await auto.pathOf(inspectOf('json-file', ''), meta()), path);
      assert.equal(await auto.pathOf(inspectOf('journald', path), meta()), undefined);
      // Podman's k8s-file says json-file, in another format.
      assert.equal(await auto.pathOf(inspectOf('json-file', join(dir, 'ctr.log')), meta()), undefined);
      assert.equal(await new LogFileChoice('api', root, log).pathOf(inspectOf('json-file', path), meta()), undefined);
      const files = new LogFileChoice('files', root, log);
      assert.equal(await files.pathOf(inspectOf('journald', path), meta()), undefined);
      await new Promise((r) => setImmediate(r));
      const warned = lines.filter((l) => l.level === 40);
      assert.equal(warned.length, 1, 'files says each container it cannot read from its file');
      assert.match(String(warned[0]?.why), /log driver is journald/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('under auto, says once that no json-file can be read here', async () => {
    const root = mkdtempSync(join(tmpdir(), 'sk-choice-'));
    try {
      // The engine's data root is not mounted here: neither the container's folder nor containers/ exists.
      const { log, lines } = capture();
      const choice = new LogFileChoice('auto', root, log);
      const info = inspectOf('json-file', join(root, 'containers', ID, `${ID}-json.log`));
      for (let i = 0; i < 3; i++) assert.equal(await choice.pathOf(info, meta()), undefined);
      await new Promise((r) => setImmediate(r));
      const said = lines.filter((l) => l.level === 30);
      assert.equal(said.length, 1);
      assert.match(String(said[0]?.msg), /json-files cannot be read here/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('untilDies', () => {
  it('resolves when the container dies, at once when it runs no more, or when sidekick stops', async () => {
    const w = newWatch(undefined);
    const abort = new AbortController();
    let dead = false;
    const waiting = untilDies(w, abort.signal, () => true).then(() => {
      dead = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(dead, false);
    w.died?.();
    await waiting;
    assert.equal(w.died, undefined, 'the death callback is cleared once called');

    await untilDies(newWatch(undefined), abort.signal, () => false);
    await untilDies(newWatch(undefined), abort.signal, async () => false);

    const stopping = untilDies(newWatch(undefined), abort.signal, () => true);
    abort.abort();
    await stopping;
  });

  it('resumes a watch from its saved position', () => {
    assert.deepEqual(newWatch({ time: '2024-01-02T03:04:05.000000000Z', count: 2 }).cursor, {
      time: '2024-01-02T03:04:05.000000000Z',
      count: 2,
      ahead: undefined,
    });
    assert.equal(newWatch(undefined).cursor, undefined);
  });
});
