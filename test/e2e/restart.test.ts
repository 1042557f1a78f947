// Restarting sidekick in the middle of a container's output: with SIGTERM,
// the sink gets every line exactly once across the restarts; with SIGKILL,
// nothing is missing and what repeats carries the same id, so an idempotent
// receiver keeps each line once. The same with SIDEKICK_MULTILINE, through
// the logs API and the json-files: stack traces on stdout and stderr, each
// one record, neither repeated nor split by a restart.

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

/** What a container prints, and what sidekick should send of it. */
interface Workload {
  readonly name: string;
  readonly print: string;
  /** How many records, each with its own message. */
  readonly records: number;
  readonly env: Readonly<Record<string, string>>;
  /** How its logs should be read: through the API or from its json-file. */
  readonly source?: 'api' | 'file';
}

const NUMBERS: Workload = { name: 'numbers', print: PRINT, records: LINES, env: {} };

const ROUNDS = 600;
/**
 * 600 rounds, 15 ms apart (about 11 s): a log line and a two-frame trace on
 * stdout, a trace with its cause on stderr; the two streams interleave.
 */
const PRINT_TRACES =
  `k=1; while [ $k -le ${ROUNDS} ]; do ` +
  'echo "INFO request $k"; ' +
  'echo "java.lang.RuntimeException: out $k"; ' +
  "printf '\\tat com.example.Out.run(Out.java:%d)\\n\\tat com.example.Out.main(Out.java:1)\\n' $k; " +
  'echo "java.lang.IllegalStateException: err $k" >&2; ' +
  "printf '\\tat com.example.Err.run(Err.java:%d)\\nCaused by: java.io.IOException: disk %d\\n\\tat com.example.Store.write(Store.java:7)\\n\\t... 2 more\\n' $k $k >&2; " +
  'k=$((k+1)); usleep 15000; done';

/** The records of PRINT_TRACES. */
function traces(): string[] {
  const out: string[] = [];
  for (let k = 1; k <= ROUNDS; k++) {
    out.push(
      `INFO request ${k}`,
      `java.lang.RuntimeException: out ${k}\n\tat com.example.Out.run(Out.java:${k})\n\tat com.example.Out.main(Out.java:1)`,
      `java.lang.IllegalStateException: err ${k}\n\tat com.example.Err.run(Err.java:${k})\nCaused by: java.io.IOException: disk ${k}\n\tat com.example.Store.write(Store.java:7)\n\t... 2 more`,
    );
  }
  return out;
}

function multiline(source: 'api' | 'file'): Workload {
  return {
    name: `traces-${source}`,
    print: PRINT_TRACES,
    records: 3 * ROUNDS,
    env: { SIDEKICK_MULTILINE: 'java', SIDEKICK_LOGS_SOURCE: source === 'api' ? 'api' : 'auto' },
    source,
  };
}

/** What each run of sidekick delivered and left in its checkpoint, to explain a failure. */
const trail: string[] = [];

async function restartedRun(signal: NodeJS.Signals, work: Workload = NUMBERS): Promise<Json[]> {
  const state = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
  const name = uniqueName(`restart-${work.name}-${signal.toLowerCase()}`);
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
    trail.push(
      `run ${trail.length + 1}: ${lines.length} lines, ${JSON.stringify(lines[0]?.['message'])}..${JSON.stringify(lines.at(-1)?.['message'])} (${lines.at(-1)?.['time']}); checkpoint ${checkpoint}; ${stopped}`,
    );
  };
  const env = { SIDEKICK_STATE_DIR: state, SIDEKICK_TYPES: 'log', SIDEKICK_LOG_LEVEL: 'info', ...work.env };
  try {
    let sk = new Sidekick(env);
    await sk.ready();
    await runContainer(name, [], work.print);
    for (let i = 0; i < 3; i++) {
      await sleep(1000 + Math.random() * 2000);
      if (i === 0 && work.source !== undefined) {
        const status = JSON.parse((await sk.get('/status')).body) as { containers: { name: string; source: string | null }[] };
        assert.equal(status.containers.find((c) => c.name === name)?.source, work.source, 'read as intended');
      }
      const exit = await sk.stop(signal);
      if (signal === 'SIGTERM') assert.equal(exit.code, 0);
      note(sk);
      got.push(...sk.logsOf(name).map((r) => ({ ...r, run: i + 1 })));
      sk = new Sidekick(env);
      await sk.ready();
    }
    await waitExit(name);
    const mine = (): number => got.length + sk.logsOf(name).length;
    await sk.until(() => new Set([...got, ...sk.logsOf(name)].map((r) => r['message'])).size >= work.records, 60_000, 'every line');
    await sleep(500);
    const exit = await sk.stop();
    assert.equal(exit.code, 0);
    got.push(...sk.logsOf(name).map((r) => ({ ...r, run: 4 })));
    assert.ok(mine() >= work.records);
    return got;
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

function numbers(records: readonly Json[]): number[] {
  return records.map((r) => Number(r['message']));
}

/** The lines a json-file holds, its parts of a long line joined, in the order written. */
function linesOfJsonFile(text: string): string[] {
  const lines: string[] = [];
  const open: Record<string, string> = {};
  for (const entry of text.split('\n')) {
    if (entry === '') continue;
    const { log, stream } = JSON.parse(entry) as { log: string; stream: string };
    const sofar = (open[stream] ?? '') + log;
    if (sofar.endsWith('\n')) {
      lines.push(sofar.slice(0, -1));
      open[stream] = '';
    } else {
      open[stream] = sofar;
    }
  }
  return lines;
}

/** The same lines, each as many times, in any order. */
function assertSameLines(got: readonly string[], expected: readonly string[], explain: string): void {
  const count = new Map<string, number>();
  for (const l of expected) count.set(l, (count.get(l) ?? 0) + 1);
  for (const l of got) count.set(l, (count.get(l) ?? 0) - 1);
  const missing = [...count].filter(([, n]) => n > 0).map(([l]) => l);
  const extra = [...count].filter(([, n]) => n < 0).map(([l]) => l);
  assert.deepEqual(
    { missing: missing.slice(0, 10), extra: extra.slice(0, 10), total: got.length },
    { missing: [], extra: [], total: expected.length },
    explain,
  );
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
  assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10), total: got.length }, { missing: [], twice: [], total: LINES }, explain);
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
      assert.deepEqual(
        all,
        Array.from({ length: 100 }, (_, i) => i + 1),
      );
      const saved = (): Record<string, unknown> =>
        (JSON.parse(readFileSync(join(state, 'checkpoints.json'), 'utf8')) as { positions: Record<string, unknown> }).positions;
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

/** Each expected message exactly once, nothing else. */
function assertEachRecordOnce(got: readonly string[], expected: readonly string[], explain: string): void {
  const count = new Map<string, number>();
  for (const m of got) count.set(m, (count.get(m) ?? 0) + 1);
  const missing = expected.filter((m) => !count.has(m));
  const twice = [...count].filter(([, n]) => n > 1).map(([m]) => m);
  const unexpected = got.filter((m) => !expected.includes(m));
  assert.deepEqual(
    { missing: missing.slice(0, 5), twice: twice.slice(0, 5), unexpected: unexpected.slice(0, 5), total: got.length },
    { missing: [], twice: [], unexpected: [], total: expected.length },
    explain,
  );
}

describe('restarting sidekick mid-stream, with SIDEKICK_MULTILINE', () => {
  after(removeTestContainers);

  for (const source of ['api', 'file'] as const) {
    it(`${source}: with SIGTERM three times, every stack trace exactly once, whole`, async () => {
      const records = await restartedRun('SIGTERM', multiline(source));
      assertEachRecordOnce(
        records.map((r) => r['message'] as string),
        traces(),
        trail.join('\n'),
      );
      const byId = new Map<string, Json>();
      for (const r of records) {
        const seen = byId.get(r['id'] as string);
        assert.equal(seen, undefined, `id ${r['id']} names two records: ${JSON.stringify(seen)} and ${JSON.stringify(r)}\n${trail.join('\n')}`);
        byId.set(r['id'] as string, r);
      }
    });

    it(`${source}: with SIGKILL three times, nothing missing, what repeats has the same id`, async () => {
      const records = await restartedRun('SIGKILL', multiline(source));
      const byId = new Map<string, string>();
      const first = new Map<string, Json>();
      for (const r of records) {
        const id = r['id'] as string;
        const seen = byId.get(id);
        if (seen !== undefined)
          assert.equal(r['message'], seen, `id ${id} names one record: ${JSON.stringify(first.get(id))} and ${JSON.stringify(r)}\n${trail.join('\n')}`);
        byId.set(id, r['message'] as string);
        first.set(id, r);
      }
      assertEachRecordOnce([...byId.values()], traces(), `deduplicated by id\n${trail.join('\n')}`);
      const repeated = records.length - byId.size;
      process.stdout.write(`# SIGKILL, multiline, ${source}: ${repeated} records delivered twice over 3 kills\n`);
      assert.ok(repeated <= 3 * STDOUT_BATCH, `at most one batch of ${STDOUT_BATCH} repeated per kill, not ${repeated}\n${trail.join('\n')}`);
    });

    it(`${source}: a stop right after a trace went out, and in the middle of the next: neither repeated nor split`, async () => {
      const state = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
      const env = {
        SIDEKICK_STATE_DIR: state,
        SIDEKICK_TYPES: 'log',
        SIDEKICK_MULTILINE: 'java',
        // Trace b stays open across the stop, whatever the pause.
        SIDEKICK_MULTILINE_FLUSH: '60s',
        SIDEKICK_LOGS_SOURCE: source === 'api' ? 'api' : 'auto',
      };
      const name = uniqueName(`multiline-stop-${source}`);
      const A = 'java.lang.IllegalStateException: a\n\tat com.example.A.run(A.java:1)\n\tat com.example.A.main(A.java:2)';
      const B = 'java.lang.IllegalStateException: b\n\tat com.example.B.run(B.java:1)\n\tat com.example.B.main(B.java:2)';
      try {
        let sk = new Sidekick(env);
        await sk.ready();
        // Trace b's first line sends trace a; the stop comes during the pause, trace b half printed.
        await runContainer(
          name,
          [],
          "echo 'INFO before'; " +
            "echo 'java.lang.IllegalStateException: a'; printf '\\tat com.example.A.run(A.java:1)\\n\\tat com.example.A.main(A.java:2)\\n'; " +
            "echo 'java.lang.IllegalStateException: b'; printf '\\tat com.example.B.run(B.java:1)\\n'; " +
            "sleep 5; printf '\\tat com.example.B.main(B.java:2)\\n'; echo 'INFO end'",
        );
        await sk.until(() => sk.logsOf(name).length >= 2, 10_000, 'the line before and trace a');
        assert.equal((await sk.stop()).code, 0);
        assert.deepEqual(
          sk.logsOf(name).map((r) => r['message']),
          ['INFO before', A],
          'trace b, open, was not sent',
        );
        sk = new Sidekick(env);
        await sk.ready();
        await waitExit(name);
        await sk.until(() => sk.logsOf(name).length >= 2, 10_000, 'trace b and the last line');
        await sleep(500);
        assert.equal((await sk.stop()).code, 0);
        assert.deepEqual(
          sk.logsOf(name).map((r) => r['message']),
          [B, 'INFO end'],
          'trace a’s last lines not again; trace b whole',
        );
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    });
  }
});

// With --live-restore, containers keep running while dockerd is down (their
// output waits in the pipe), so the restart cuts every log stream in the
// middle of a running container.
describe('restarting dockerd (--live-restore) mid-stream', () => {
  after(async () => {
    await removeTestContainers();
    await engine('restart');
  });

  it('goes on reading once the daemon is back: from the json-file every line the engine kept exactly once; through the API none twice', async () => {
    await engine('restart', '--live-restore');
    const name = uniqueName('dockerd-restart');
    // One restart for both (each costs the engine up to a minute here). From
    // the json-file the read goes on, and must not take the list the restarted
    // daemon gives while it restores for the container's death. Through the
    // API the stream is cut and followed again from the last line; the
    // engine's new follow can miss lines written around its restore (README,
    // limits), which no client of the API can see. The engine itself can lose
    // the line its copier was writing when it stopped (seen: "42683" kept as
    // "3"): what counts is what its json-file holds.
    const readers = (['file', 'api'] as const).map(
      (source) => [source, new Sidekick({ SIDEKICK_TYPES: 'log', SIDEKICK_LOGS_SOURCE: source === 'api' ? 'api' : 'auto' })] as const,
    );
    const [file, api] = [readers[0][1], readers[1][1]];
    try {
      for (const [, sk] of readers) await sk.ready();
      const id = await runContainer(name, [], PRINT);
      for (const [source, sk] of readers) {
        await sk.until(() => sk.logsOf(name).length >= 20_000, 30_000, `the first lines (${source})`);
        const status = JSON.parse((await sk.get('/status')).body) as { containers: { name: string; source: string | null }[] };
        assert.equal(status.containers.find((c) => c.name === name)?.source, source, 'read as intended');
      }
      await engine('restart', '--live-restore');
      const during = file.logsOf(name).length;
      await waitExit(name);
      const kept = linesOfJsonFile(readFileSync(await docker('inspect', '-f', '{{.LogPath}}', id), 'utf8'));
      await file.until(() => file.logsOf(name).length >= kept.length, 60_000, 'every line from the json-file');
      await sleep(2000);
      assert.ok(during < LINES, 'the restart came while the container was printing');
      assertSameLines(
        file.logsOf(name).map((r) => String(r['message'])),
        kept,
        file.stderr.slice(-4000),
      );
      const got = api.logsOf(name).map((r) => String(r['message']));
      // Counted against the json-file, not checked for repeats: the line the
      // engine cut when it stopped can be the same text as another ("42683"
      // kept as "3").
      const inFile = new Map<string, number>();
      for (const l of kept) inFile.set(l, (inFile.get(l) ?? 0) + 1);
      const seen = new Map<string, number>();
      for (const l of got) seen.set(l, (seen.get(l) ?? 0) + 1);
      assert.deepEqual(
        [...seen].filter(([l, n]) => n > (inFile.get(l) ?? 0)).map(([l, n]) => `${JSON.stringify(l)}: ${n}, kept ${inFile.get(l) ?? 0}`),
        [],
        'through the API, only lines the engine kept, none more often than it kept them',
      );
      process.stdout.write(
        `# the engine kept ${kept.length} of ${LINES} lines; through the API ${kept.length - got.length} of them were missed by its follow after its restart\n`,
      );
    } finally {
      for (const [, sk] of readers) assert.equal((await sk.stop()).code, 0);
    }
  });
});
