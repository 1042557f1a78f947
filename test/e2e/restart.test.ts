// Restarting sidekick in the middle of a container's output: with SIGTERM,
// the sink gets every line exactly once across the restarts; with SIGKILL,
// nothing is missing and what repeats carries the same id, so an idempotent
// receiver keeps each line once.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, engine, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';

const LINES = 200_000;
/** The most records the stdout sink writes at once: what can be in flight at a kill. */
const STDOUT_BATCH = 512;
/** 200 bursts of 1,000 numbered lines, 40 ms apart: about 10 s of output. */
const PRINT = 'i=0; while [ $i -lt 200 ]; do seq $((i*1000+1)) $((i*1000+1000)); i=$((i+1)); usleep 40000; done';

/** What each run of sidekick delivered and left in its checkpoint, to explain a failure. */
const trail: string[] = [];

async function restartedRun(signal: NodeJS.Signals): Promise<Json[]> {
  const state = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
  const name = uniqueName(`restart-${signal.toLowerCase()}`);
  const got: Json[] = [];
  trail.length = 0;
  const note = (sk: Sidekick): void => {
    const lines = sk.logsOf(name);
    let checkpoint = '';
    try {
      checkpoint = readFileSync(join(state, 'checkpoints.json'), 'utf8');
    } catch {
      checkpoint = 'none';
    }
    const stopped = sk.stderr.split('\n').find((l) => l.includes('"msg":"stopped"')) ?? 'no "stopped" log';
    trail.push(`run ${trail.length + 1}: ${lines.length} lines, ${lines[0]?.['message']}..${lines.at(-1)?.['message']} (${lines.at(-1)?.['time']}); checkpoint ${checkpoint}; ${stopped}`);
  };
  const env = { SIDEKICK_STATE_DIR: state, SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info' };
  try {
    let sk = new Sidekick(env);
    await sk.ready();
    await runContainer(name, [], PRINT);
    for (let i = 0; i < 3; i++) {
      await sleep(1000 + Math.random() * 2000);
      const exit = await sk.stop(signal);
      if (signal === 'SIGTERM') assert.equal(exit.code, 0);
      note(sk);
      got.push(...sk.logsOf(name));
      sk = new Sidekick(env);
      await sk.ready();
    }
    await waitExit(name);
    const mine = (): number => got.length + sk.logsOf(name).length;
    await sk.until(() => new Set([...got, ...sk.logsOf(name)].map((r) => r['message'])).size >= LINES, 60_000, 'every line');
    await sleep(500);
    const exit = await sk.stop();
    assert.equal(exit.code, 0);
    got.push(...sk.logsOf(name));
    assert.ok(mine() >= LINES);
    return got;
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

function numbers(records: readonly Json[]): number[] {
  return records.map((r) => Number(r['message']));
}

/** 1..LINES, each exactly once, in any order. */
function assertEachOnce(got: readonly number[], explain: string): void {
  const sorted = [...got].sort((a, b) => a - b);
  const missing: number[] = [];
  const twice: number[] = [];
  for (let n = 1, i = 0; n <= LINES; n++) {
    let c = 0;
    while (sorted[i] === n) {
      c++;
      i++;
    }
    if (c === 0) missing.push(n);
    if (c > 1) twice.push(n);
  }
  assert.deepEqual(
    { missing: missing.slice(0, 10), twice: twice.slice(0, 10), total: got.length },
    { missing: [], twice: [], total: LINES },
    explain,
  );
}

describe('restarting sidekick mid-stream', () => {
  after(removeTestContainers);

  it('with SIGTERM three times: every line exactly once', async () => {
    assertEachOnce(numbers(await restartedRun('SIGTERM')), trail.join('\n'));
  });

  it('with SIGKILL three times: nothing missing, at most one batch repeated per kill, each with the same id', async () => {
    const records = await restartedRun('SIGKILL');
    const byId = new Map<string, string>();
    for (const r of records) {
      const id = r['id'] as string;
      const seen = byId.get(id);
      if (seen !== undefined) assert.equal(seen, r['message'], `id ${id} names one line`);
      byId.set(id, r['message'] as string);
    }
    const unique = new Set(numbers(records));
    assert.equal(unique.size, LINES, 'every line arrived');
    assert.equal(byId.size, LINES, 'deduplicated by id: each line exactly once');
    const repeated = records.length - LINES;
    process.stdout.write(`# SIGKILL: ${repeated} lines delivered twice over 3 kills\n`);
    assert.ok(repeated <= 3 * STDOUT_BATCH, `at most one batch of ${STDOUT_BATCH} repeated per kill, not ${repeated}\n${trail.join('\n')}`);
  });

  it('reads to its end a container that stopped while sidekick was down, and forgets one removed meanwhile', async () => {
    const state = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
    const env = { SIDEKICK_STATE_DIR: state, SIDEKICK_TYPES: 'log' };
    const name = uniqueName('stopped-while-down');
    try {
      let sk = new Sidekick(env);
      await sk.ready();
      const id = await runContainer(name, [], 'i=1; while [ $i -le 100 ]; do echo $i; i=$((i+1)); usleep 20000; done');
      await sk.until(() => sk.logsOf(name).length >= 10, 20_000, 'the first lines');
      await sk.stop();
      const before = sk.logsOf(name);
      await waitExit(name);
      sk = new Sidekick(env);
      await sk.ready();
      await sk.until(() => before.length + sk.logsOf(name).length >= 100, 20_000, 'the lines printed while sidekick was down');
      await sleep(500);
      await sk.stop();
      const all = [...before, ...sk.logsOf(name)].map((r) => Number(r['message']));
      assert.deepEqual(all, Array.from({ length: 100 }, (_, i) => i + 1));
      const saved = (): Record<string, unknown> => (JSON.parse(readFileSync(join(state, 'checkpoints.json'), 'utf8')) as { containers: Record<string, unknown> }).containers;
      assert.ok(id in saved(), 'a stopped container keeps its checkpoint');
      await docker('rm', name);
      sk = new Sidekick(env);
      await sk.ready();
      await sk.until(() => !(id in saved()), 10_000, 'the removed container’s checkpoint to go');
      await sk.stop();
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

// With --live-restore, containers keep running while dockerd is down (their
// output waits in the pipe), so the restart cuts every log stream in the
// middle of a running container.
describe('restarting dockerd (--live-restore) mid-stream', () => {
  after(async () => {
    await removeTestContainers();
    await engine('restart');
  });

  it('re-attaches the log stream once the daemon is back: every line exactly once', async () => {
    await engine('restart', '--live-restore');
    const name = uniqueName('dockerd-restart');
    // The logs API's stream, cut by the restart and attached again. (From the
    // json-files, lines after such a restart are not all read yet: README, limits.)
    const sk = new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOGS_SOURCE: 'api' });
    try {
      await sk.ready();
      await runContainer(name, [], PRINT);
      await sk.until(() => sk.logsOf(name).length >= 20_000, 30_000, 'the first lines');
      await engine('restart', '--live-restore');
      const during = sk.logsOf(name).length;
      await waitExit(name);
      await sk.until(() => sk.logsOf(name).length >= LINES, 60_000, 'every line');
      await sleep(500);
      assert.ok(during < LINES, 'the restart came while the container was printing');
      assertEachOnce(numbers(sk.logsOf(name)), sk.stderr.slice(-4000));
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
    }
  });
});
