// SIDEKICK_LOGS_SOURCE: logs read from the engine's json-files. Every line
// once, in order, through fast rotation with compression, through restarts
// of sidekick (checkpoints pointing into rotated files) and of the container;
// other log drivers fall back to the logs API, and /metrics says which
// streams are read how.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';

/** Small files, many of them, compressed: a rotation every ~7,000 lines. */
const ROTATING = ['--log-opt', 'max-size=500k', '--log-opt', 'max-file=30', '--log-opt', 'compress=true'];

function numbers(records: readonly Json[]): number[] {
  return records.map((r) => Number(r['message']));
}

function assertEach(got: readonly number[], n: number): void {
  const seen = new Set(got);
  const missing = Array.from({ length: n }, (_, i) => i + 1).filter((i) => !seen.has(i));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${n} lines missing`);
  assert.equal(got.length, n, `${got.length - n} lines twice`);
}

function streams(metrics: string): { api: number; file: number } {
  const of = (source: string): number => Number(new RegExp(`^sidekick_log_streams\\{source="${source}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
  return { api: of('api'), file: of('file') };
}

describe('logs read from the json-file (SIDEKICK_LOGS_SOURCE)', () => {
  const states: string[] = [];
  const stateDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
    states.push(dir);
    return dir;
  };

  after(async () => {
    await removeTestContainers();
    for (const dir of states) rmSync(dir, { recursive: true, force: true });
  });

  it('follows 60,000 lines through 8 compressed rotations: each once, in order', async () => {
    const sk = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: 'files' });
    await sk.ready();
    const name = uniqueName('rotate');
    await runContainer(name, ROTATING, 'seq 1 60000');
    await waitExit(name);
    await sk.until(
      () => sk.logsOf(name).length >= 60_000,
      60_000,
      () => `60,000 lines (got ${sk.logsOf(name).length})`,
    );
    await sleep(300);
    const exit = await sk.stop();
    assert.equal(exit.code, 0);
    const got = numbers(sk.logsOf(name));
    assertEach(got, 60_000);
    assert.deepEqual(
      got,
      [...got].sort((a, b) => a - b),
      'in order',
    );
    assert.doesNotMatch(sk.stderr, /rotated out before it was read|logs read through the API/);
  });

  it('resumes from checkpoints in rotated files across restarts of sidekick: each line once', async () => {
    const state = stateDir();
    const env = { SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: 'files', SIDEKICK_STATE_DIR: state };
    const name = uniqueName('rotate-restart');
    const got: Json[] = [];
    let sk = new Sidekick(env);
    await sk.ready();
    // 100 bursts of 1,000 lines, 50 ms apart: ~5 s, a rotation about every 7,000 lines.
    await runContainer(name, ROTATING, 'i=0; while [ $i -lt 100 ]; do seq $((i*1000+1)) $((i*1000+1000)); i=$((i+1)); usleep 50000; done');
    for (let i = 0; i < 2; i++) {
      await sleep(1200);
      assert.equal((await sk.stop()).code, 0);
      got.push(...sk.logsOf(name));
      // Down for a while: the container rotates files meanwhile.
      await sleep(800);
      sk = new Sidekick(env);
      await sk.ready();
    }
    await waitExit(name);
    await sk.until(
      () => got.length + sk.logsOf(name).length >= 100_000,
      60_000,
      () => `100,000 lines (got ${got.length + sk.logsOf(name).length})`,
    );
    await sleep(300);
    assert.equal((await sk.stop()).code, 0);
    got.push(...sk.logsOf(name));
    assertEach(numbers(got), 100_000);
  });

  it('reads both runs of a restarted container once, and counts streams by source in /metrics', async () => {
    const sk = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: 'auto' });
    await sk.ready();
    const json = uniqueName('json');
    const local = uniqueName('local');
    // Prints its run number (the lines it finds in its own volume), then waits.
    await runContainer(json, ['-v', '/data'], 'n=$(ls /data | wc -l); touch /data/$n; i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo "run$n-$i"; done; sleep 3');
    await runContainer(local, ['--log-driver', 'local'], 'echo via-api; sleep 30');
    await sk.until(() => sk.logsOf(json).length >= 3 && sk.logsOf(local).length >= 1, 15_000, 'the first lines');
    const during = streams((await sk.get('/metrics')).body);
    assert.ok(during.file >= 1, `a json-file stream (${JSON.stringify(during)})`);
    assert.ok(during.api >= 1, `the local driver's stream is read through the API (${JSON.stringify(during)})`);
    await waitExit(json);
    await docker('start', json);
    await waitExit(json);
    await sk.until(
      () => sk.logsOf(json).length >= 6,
      15_000,
      () =>
        `both runs (got ${sk
          .logsOf(json)
          .map((r) => r['message'])
          .join(' ')})`,
    );
    await sleep(300);
    assert.deepEqual(
      sk.logsOf(json).map((r) => r['message']),
      ['run0-1', 'run0-2', 'run0-3', 'run1-1', 'run1-2', 'run1-3'],
    );
    assert.deepEqual(
      sk.logsOf(local).map((r) => r['message']),
      ['via-api'],
    );
    assert.equal(streams((await sk.get('/metrics')).body).file, 0, 'no json-file followed once the container exited');
    assert.equal((await sk.stop()).code, 0);
    assert.doesNotMatch(sk.stderr, /logs read through the API/, 'auto falls back without a warning');
  });

  it('SIDEKICK_LOGS_SOURCE=files warns for a container it must read through the API', async () => {
    const sk = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', SIDEKICK_LOGS_SOURCE: 'files' });
    await sk.ready();
    const name = uniqueName('journal');
    await runContainer(name, ['--log-driver', 'local'], 'echo still-read');
    await waitExit(name);
    await sk.until(() => sk.logsOf(name).length === 1, 15_000, 'the line, through the API');
    await sk.until(() => sk.stderr.includes('logs read through the API'), 5_000, 'the warning');
    assert.match(sk.stderr, /its log driver is local, not json-file/);
    assert.equal((await sk.stop()).code, 0);
  });
});
