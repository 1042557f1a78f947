// followLogFile: a container's json-file (and its rotated files) followed like
// `tail -F`, on real files in a temporary folder.

import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import type { FilePosition } from '../../../../src/core/record.js';
import { Flow } from '../../../../src/core/flow.js';
import { containerMeta, timeToSince, type LogRecord } from '../../../../src/core/record.js';
import { followLogFile, planRead, rotatedChain, type LogFileEnd } from '../../../../src/sources/docker/logs-file.js';
import type { LogCursor, LogsTarget } from '../../../../src/sources/docker/log-intake.js';
import { gate, timersMadeBy, waitFor } from '../../wait.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';

const ID = '2f1e8c7a6b5d4c3b2a1908f7e6d5c4b3a2918070f6e5d4c3b2a190807f6e5d4c';
const HOST = 'test-host';
const meta = containerMeta(ID, '/shop-web-1', 'nginx:1.27', {});

/** Line i is written i seconds after this, at .1 of its second. */
const BASE = Date.UTC(2024, 0, 2, 3, 4, 5);

/** Line i's time as the json-file writes it (trailing zeros trimmed). */
function written(i: number): string {
  return new Date(BASE + i * 1000).toISOString().slice(0, 19) + '.1Z';
}

/** Line i's time as records carry it. */
function full(i: number): string {
  return new Date(BASE + i * 1000).toISOString().slice(0, 19) + '.100000000Z';
}

/** Line i's time in milliseconds. */
function millis(i: number): number {
  return BASE + i * 1000 + 100;
}

function entry(i: number, message = `line ${i}`, stream: 'stdout' | 'stderr' = 'stdout', time = written(i)): string {
  return JSON.stringify({ log: message + '\n', stream, time }) + '\n';
}

/** Lines `from` to `to`, inclusive. */
function entries(from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += entry(i);
  return s;
}

function lines(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`line ${i}`);
  return out;
}

function target(options: { cursor?: LogCursor; since?: string; tail?: number } = {}): LogsTarget {
  return { meta, tty: false, since: options.since, cursor: options.cursor, ...(options.tail === undefined ? {} : { tail: options.tail }) };
}

interface Run {
  readonly records: LogRecord[];
  readonly messages: () => string[];
  readonly malformed: () => number;
  readonly exit: () => void;
  readonly abort: AbortController;
  readonly flow: Flow;
  readonly done: Promise<LogFileEnd>;
}

let dir: string;
let path: string;
let runs: Run[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sidekick-json-file-'));
  path = join(dir, `${ID}-json.log`);
  runs = [];
});

afterEach(async () => {
  for (const r of runs) r.abort.abort();
  await Promise.allSettled(runs.map((r) => r.done));
  rmSync(dir, { recursive: true, force: true });
});

/** `live`: as the live read is, with no flow (a read again for a sink has one). */
function follow(t: LogsTarget, from?: FilePosition, flow = new Flow(), live = false): Run {
  const records: LogRecord[] = [];
  const abort = new AbortController();
  const exited = gate();
  let malformed = 0;
  const done = followLogFile(
    t,
    { path, exited: exited.promise, from },
    {
      host: HOST,
      emit: (r) => records.push(r),
      multilineFlushMs: 1000,
      maxLine: 1024 * 1024,
      log: pino({ level: 'silent' }),
      signal: abort.signal,
      flow: live ? undefined : flow,
      malformed: () => malformed++,
    },
  );
  const run: Run = { records, messages: () => records.map((r) => r.message), malformed: () => malformed, exit: exited.open, abort, flow, done };
  runs.push(run);
  return run;
}

/** The inodes this process watches with inotify (Linux: /proc/self/fdinfo). */
function watchedInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    for (const m of info.matchAll(/^inotify wd:\S+ ino:([0-9a-f]+)/gm)) inodes.add(Number.parseInt(m[1]!, 16));
  }
  return inodes;
}

function gz(content: string): Buffer {
  return gzipSync(Buffer.from(content));
}

describe('followLogFile', () => {
  for (const liveOver of [false, true]) {
    it(`read again for a sink that fell behind: from its cursor to the end, then it ends; a multiline record open there is ${liveOver ? 'sent (the live read is over)' : 'left to the live read'}`, async () => {
      writeFileSync(path, entries(1, 5) + entry(6, 'Exception: boom') + entry(7, '\tat x'));
      const records: LogRecord[] = [];
      const t: LogsTarget = { ...target({ cursor: { time: full(2), count: 1 } }), multiline: /^\S/ };
      await followLogFile(
        t,
        { path, exited: Promise.resolve(), from: undefined },
        {
          host: HOST,
          emit: (r) => records.push(r),
          multilineFlushMs: 60_000,
          maxLine: 1024 * 1024,
          log: pino({ level: 'silent' }),
          signal: new AbortController().signal,
          rereading: { liveOver: () => liveOver },
        },
      );
      const open = ['Exception: boom\n\tat x'];
      assert.deepEqual(
        records.map((r) => r.message),
        [...lines(3, 5), ...(liveOver ? open : [])],
      );
    });
  }

  it('reads the file from its start, then what is appended, until the container has exited', async () => {
    writeFileSync(path, entries(1, 2) + entry(3, 'oops', 'stderr'));
    const run = follow(target());
    let ended = false;
    void run.done.then(() => (ended = true));
    await waitFor('the lines already written', () => run.records.length === 3);
    appendFileSync(path, entries(4, 5));
    await waitFor('the appended lines', () => run.records.length === 5);
    assert.equal(ended, false, 'still following');
    // Written just before the container exits: read before the follower ends.
    appendFileSync(path, entries(6, 7));
    run.exit();
    const { position, found } = await run.done;
    assert.equal(found, true);
    assert.deepEqual(run.messages(), ['line 1', 'line 2', 'oops', 'line 4', 'line 5', 'line 6', 'line 7']);
    assert.deepEqual(run.records[0], {
      type: 'log',
      position: logPositions,
      time: full(1),
      host: HOST,
      container: meta,
      stream: 'stdout',
      message: 'line 1',
      seq: 1,
      plain: true,
    });
    assert.deepEqual(run.records[2], {
      type: 'log',
      position: logPositions,
      time: full(3),
      host: HOST,
      container: meta,
      stream: 'stderr',
      message: 'oops',
      seq: 1,
      plain: true,
    });
    assert.equal(run.malformed(), 0);
    const st = statSync(path);
    assert.ok(position !== undefined);
    assert.equal(position.offset, st.size);
    assert.equal(position.ino, st.ino);
    assert.equal(position.path, path);
  });

  // dockerd writes each line on its own: a flood is a change notice a line,
  // each a wakeup. While the file grows fast it is read on a timer instead.
  it('stops watching the folder while the file grows fast, and watches it again once it is quiet', async () => {
    writeFileSync(path, entries(1, 1));
    const folder = statSync(dir).ino;
    const run = follow(target());
    await waitFor('the first line', () => run.records.length === 1);
    assert.ok(watchedInodes().has(folder), 'watched while quiet');
    let n = 1;
    const flood = setInterval(() => {
      for (let k = 0; k < 5; k++) appendFileSync(path, entry(++n));
    }, 2);
    try {
      await waitFor('the folder no longer watched', () => !watchedInodes().has(folder));
    } finally {
      clearInterval(flood);
    }
    await waitFor('every line of the flood', () => run.records.length === n);
    await waitFor('the folder watched again', () => watchedInodes().has(folder));
    // Well before the 5 s look without a notice: the notices are on again.
    const before = Date.now();
    appendFileSync(path, entry(++n));
    await waitFor('a line after the flood', () => run.records.length === n);
    assert.ok(Date.now() - before < 2000, `read ${Date.now() - before} ms after it was written`);
    assert.deepEqual(run.messages(), lines(1, n));
  });

  it('follows a quiet container without a new timer a line (its two timers are armed again)', async () => {
    writeFileSync(path, entries(1, 1));
    const run = follow(target());
    await waitFor('the first line', () => run.records.length === 1);
    const timers = await timersMadeBy(async () => {
      for (let i = 2; i <= 21; i++) {
        appendFileSync(path, entry(i));
        // Waited for without a timer of the test's own.
        const end = Date.now() + 5000;
        while (run.records.length < i && Date.now() < end) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    assert.deepEqual(run.messages(), lines(1, 21));
    // At most the first wait of its kind makes its timer (2 a line before).
    assert.ok(timers <= 1, `${timers} timers for 20 lines`);
  });

  it('follows a quiet container with few promises a line: one wait a line, not three', async () => {
    writeFileSync(path, entries(1, 1));
    const run = follow(target(), undefined, undefined, true);
    await waitFor('the first line', () => run.records.length === 1);
    let promises = 0;
    const hook = createHook({
      init: (_id, type) => {
        if (type === 'PROMISE') promises++;
      },
    });
    for (let i = 2; i <= 21; i++) {
      appendFileSync(path, entry(i));
      // Waited for with one promise a line of the test's own.
      const end = Date.now() + 5000;
      hook.enable();
      await new Promise<void>((resolve) => {
        const spin = (): void => void (run.records.length >= i || Date.now() > end ? resolve() : setImmediate(spin));
        spin();
      });
      hook.disable();
    }
    assert.deepEqual(run.messages(), lines(1, 21));
    const own = (promises - 20) / 20;
    // 13 a line before: a wait for the flow the live read does not have, and a wait for the notice, then another for more.
    assert.ok(own <= 10, `${own} promises a line`);
  });

  it('says when no file was found: the container was removed before it could be opened', async () => {
    const run = follow(target());
    await new Promise((resolve) => setTimeout(resolve, 50));
    run.exit();
    const end = await run.done;
    assert.equal(end.found, false);
    assert.equal(end.position, undefined);
    assert.deepEqual(run.messages(), []);
  });

  it('with the cursor of the last line, leaves it on the target', async () => {
    writeFileSync(path, entries(1, 2) + entry(2, 'again'));
    const t = target();
    const run = follow(t);
    await waitFor('the lines', () => run.records.length === 3);
    run.exit();
    await run.done;
    assert.deepEqual(t.cursor, { time: full(2), count: 2 });
    assert.deepEqual(
      run.records.map((r) => r.seq),
      [1, 1, 2],
    );
  });

  it('with tail and no cursor, reads only the last lines of the current file', async () => {
    writeFileSync(`${path}.1`, entries(1, 3));
    writeFileSync(path, entries(4, 8));
    const run = follow(target({ tail: 2 }));
    await waitFor('the last two lines', () => run.records.length === 2);
    appendFileSync(path, entry(9));
    await waitFor('the appended line', () => run.records.length === 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), ['line 7', 'line 8', 'line 9']);
  });

  it('resumes after a cursor, skipping the lines counted at its time', async () => {
    writeFileSync(path, entry(1) + entry(2, 'same a') + entry(2, 'same b') + entry(2, 'same c') + entry(3));
    const t = target({ cursor: { time: full(2), count: 1 } });
    const run = follow(t);
    await waitFor('the lines after the cursor', () => run.records.length === 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), ['same b', 'same c', 'line 3']);
    assert.deepEqual(
      run.records.map((r) => [r.time, r.seq]),
      [
        [full(2), 2],
        [full(2), 3],
        [full(3), 1],
      ],
    );
    assert.deepEqual(t.cursor, { time: full(3), count: 1 });
  });

  it("reads a file whose mtime, from the kernel's coarse clock, is a little before the cursor's line", async () => {
    const at = (ms: number): string => new Date(millis(3) + ms).toISOString().replace('Z', '000000Z');
    writeFileSync(path, entries(1, 3) + entry(3, 'just after', 'stdout', at(2)));
    utimesSync(path, (millis(3) - 3) / 1000, (millis(3) - 3) / 1000);
    const run = follow(target({ cursor: { time: full(3), count: 1 } }));
    await waitFor('the line after the cursor', () => run.records.length >= 1);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), ['just after']);
  });

  it('with since, keeps the lines at or after that time', async () => {
    const justBefore = new Date(BASE + 3000).toISOString().slice(0, 19) + '.099999999Z';
    writeFileSync(path, entries(1, 2) + entry(3, 'just before', 'stdout', justBefore) + entries(3, 5));
    const run = follow(target({ since: timeToSince(full(3))! }));
    await waitFor('the lines since', () => run.records.length === 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(3, 5));
  });

  it('with no cursor, reads the rotated files oldest first, then the current one', async () => {
    writeFileSync(`${path}.2.gz`, gz(entries(1, 2)));
    writeFileSync(`${path}.1`, entries(3, 4));
    writeFileSync(path, entries(5, 6));
    // Not a rotated file of this log.
    writeFileSync(`${path}.1.tmp`, entry(99));
    const run = follow(target());
    await waitFor('every line', () => run.records.length >= 6);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(1, 6));
    assert.equal(run.malformed(), 0);
  });

  it('reads a rotated file rather than its .gz still being written', async () => {
    writeFileSync(`${path}.1`, entries(1, 2));
    writeFileSync(`${path}.1.gz`, gz(entries(1, 2)).subarray(0, 10));
    writeFileSync(path, entry(3));
    const run = follow(target());
    await waitFor('every line', () => run.records.length >= 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(1, 3));
  });

  it('with a cursor inside a rotated file, starts in that file', async () => {
    // The oldest file was last written before the cursor: it is not even read
    // (its bad entry would be counted).
    writeFileSync(`${path}.2.gz`, gz(entries(1, 2) + 'not json\n'));
    utimesSync(`${path}.2.gz`, millis(2) / 1000, millis(2) / 1000);
    writeFileSync(`${path}.1`, entries(3, 5));
    utimesSync(`${path}.1`, millis(5) / 1000, millis(5) / 1000);
    writeFileSync(path, entries(6, 7));
    const run = follow(target({ cursor: { time: full(4), count: 1 } }));
    await waitFor('the lines after the cursor', () => run.records.length >= 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(5, 7));
    assert.equal(run.malformed(), 0);
  });

  it('follows a rename rotation: nothing lost, nothing repeated', async () => {
    writeFileSync(path, entries(1, 3));
    const run = follow(target());
    await waitFor('the first file', () => run.records.length === 3);
    appendFileSync(path, entry(4));
    renameSync(path, `${path}.1`);
    writeFileSync(path, entries(5, 6));
    await waitFor('the new file', () => run.records.length >= 6);
    appendFileSync(path, entry(7));
    await waitFor('what is appended to the new file', () => run.records.length >= 7);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(1, 7));
  });

  for (const compressed of [false, true]) {
    it(`reads a file rotated twice while paused${compressed ? ', then compressed' : ''}, in order`, async () => {
      const flow = new Flow();
      writeFileSync(path, entries(1, 3));
      const run = follow(target(), undefined, flow);
      await waitFor('the first file', () => run.records.length === 3);
      const sink = {};
      flow.block(sink);
      appendFileSync(path, entry(4));
      renameSync(path, `${path}.1`);
      writeFileSync(path, entries(5, 6));
      renameSync(`${path}.1`, `${path}.2`);
      renameSync(path, `${path}.1`);
      writeFileSync(path, entries(7, 8));
      if (compressed) {
        writeFileSync(`${path}.2.gz`, gz(readFileSync(`${path}.2`, 'utf8')));
        unlinkSync(`${path}.2`);
      }
      flow.unblock(sink);
      await waitFor('every line', () => run.records.length >= 8);
      appendFileSync(path, entry(9));
      await waitFor('what is appended after', () => run.records.length >= 9);
      run.exit();
      await run.done;
      assert.deepEqual(run.messages(), lines(1, 9));
    });
  }

  it('stopped while it reads a file found rotated, reads nothing after the cut: no line past a gap', async () => {
    const flow = new Flow();
    const records: LogRecord[] = [];
    const abort = new AbortController();
    writeFileSync(path, entries(1, 3));
    const done = followLogFile(
      target(),
      { path, exited: new Promise(() => {}), from: undefined },
      {
        host: HOST,
        // sidekick stops while the file rotated in between is read: it has lines enough for several reads.
        emit: (r) => {
          records.push(r);
          if (r.message === 'line 100') abort.abort();
        },
        multilineFlushMs: 1000,
        maxLine: 1024 * 1024,
        log: pino({ level: 'silent' }),
        signal: abort.signal,
        flow,
      },
    );
    await waitFor('the first file', () => records.length === 3);
    const sink = {};
    flow.block(sink);
    renameSync(path, `${path}.1`);
    writeFileSync(path, entries(4, 5000));
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writeFileSync(path, entries(5001, 5002));
    flow.unblock(sink);
    await done;
    const got = records.map((r) => r.message);
    assert.ok(got.length >= 100 && got.length < 5000, `${got.length} lines`);
    assert.deepEqual(got, lines(1, got.length));
  });

  it('reads nothing while the flow is paused', async () => {
    const flow = new Flow();
    const sink = {};
    flow.block(sink);
    writeFileSync(path, entries(1, 2));
    const run = follow(target(), undefined, flow);
    appendFileSync(path, entry(3));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(run.records, []);
    flow.unblock(sink);
    await waitFor('the lines once resumed', () => run.records.length === 3);
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), lines(1, 3));
  });

  it('from the previous run, goes on after its last line without reading the file again', async () => {
    // The bad entry is counted by the run that reads it: only the first.
    writeFileSync(path, entry(1) + 'not json\n' + entries(2, 3));
    const t = target();
    const first = follow(t);
    await waitFor('the first run', () => first.records.length === 3);
    first.exit();
    const from = (await first.done).position;
    assert.equal(first.malformed(), 1);
    assert.ok(from !== undefined);
    appendFileSync(path, entry(4) + entry(4, 'line 4 again') + entry(5));
    const second = follow(t, from);
    await waitFor('the second run', () => second.records.length >= 3);
    second.exit();
    const next = (await second.done).position;
    assert.deepEqual(second.messages(), ['line 4', 'line 4 again', 'line 5']);
    assert.deepEqual(
      second.records.map((r) => r.seq),
      [1, 2, 1],
    );
    assert.equal(second.malformed(), 0);
    assert.deepEqual(t.cursor, { time: full(5), count: 1 });
    assert.equal(next?.offset, statSync(path).size);
  });

  // See the report: with `from`, the target's cursor still skips its `count` lines at its time.
  it("from the previous run, keeps a line appended at its last line's time", async () => {
    writeFileSync(path, entries(1, 3));
    const t = target();
    const first = follow(t);
    await waitFor('the first run', () => first.records.length === 3);
    first.exit();
    const from = (await first.done).position;
    appendFileSync(path, entry(3, 'line 3 again') + entry(4));
    const second = follow(t, from);
    await waitFor('the second run', () => second.records.length >= 1);
    second.exit();
    await second.done;
    assert.deepEqual(second.messages(), ['line 3 again', 'line 4']);
    assert.deepEqual(
      second.records.map((r) => r.seq),
      [2, 1],
    );
  });

  it('from the previous run, finishes its file renamed since, then reads the new one', async () => {
    writeFileSync(path, entries(1, 2));
    const t = target();
    const first = follow(t);
    await waitFor('the first run', () => first.records.length === 2);
    first.exit();
    const from = (await first.done).position;
    appendFileSync(path, entry(3));
    renameSync(path, `${path}.1`);
    writeFileSync(path, entry(4));
    const second = follow(t, from);
    await waitFor('the second run', () => second.records.length >= 2);
    second.exit();
    await second.done;
    assert.deepEqual(second.messages(), lines(3, 4));
  });

  it('sends a last split line once the container has exited', async () => {
    writeFileSync(path, entry(1) + JSON.stringify({ log: 'killed mid-', stream: 'stdout', time: written(2) }) + '\n');
    const run = follow(target());
    await waitFor('the whole line', () => run.records.length === 1);
    appendFileSync(path, JSON.stringify({ log: 'message', stream: 'stdout', time: written(3) }) + '\n');
    run.exit();
    await run.done;
    assert.deepEqual(run.messages(), ['line 1', 'killed mid-message']);
    assert.equal(run.records[1]!.time, full(2));
  });

  it('ends promptly when aborted', async () => {
    writeFileSync(path, entries(1, 2));
    const run = follow(target());
    await waitFor('the lines', () => run.records.length === 2);
    const at = Date.now();
    run.abort.abort();
    const { position } = await run.done;
    assert.ok(Date.now() - at < 500, `ended after ${Date.now() - at} ms`);
    assert.equal(position?.offset, statSync(path).size);
  });

  it('ends promptly when aborted while the flow is paused', async () => {
    const flow = new Flow();
    writeFileSync(path, entries(1, 2));
    const run = follow(target(), undefined, flow);
    await waitFor('the lines', () => run.records.length === 2);
    flow.block({});
    appendFileSync(path, entry(3));
    const at = Date.now();
    run.abort.abort();
    await run.done;
    assert.ok(Date.now() - at < 500, `ended after ${Date.now() - at} ms`);
  });
});

describe('planRead', () => {
  it('leaves the open current file out of the rotated ones when it was rotated and compressed before they were listed', async () => {
    writeFileSync(path, entries(1, 3));
    const ino = statSync(path).ino;
    // The engine rotates the file just opened and compresses it, before the rotated files are listed.
    const plan = await planRead(path, { skipTo: undefined, tail: undefined }, async (p) => {
      renameSync(p, `${p}.1`);
      writeFileSync(`${p}.1.gz`, gzipSync(readFileSync(`${p}.1`)));
      unlinkSync(`${p}.1`);
      writeFileSync(p, entries(4, 4));
      return rotatedChain(p);
    });
    try {
      assert.equal(plan.current?.ino, ino, 'the file opened is read as the current one');
      assert.deepEqual(plan.rotated.length, 0, 'and not again from its .gz');
    } finally {
      await Promise.all([plan.current?.fh.close(), ...plan.rotated.map((r) => r.fh.close())]);
    }
  });
});

describe('planRead, rotated twice', () => {
  it('reads first only the files rotated before the open current file: those rotated after it come after it', async () => {
    writeFileSync(`${path}.1`, entries(1, 2));
    writeFileSync(path, entries(3, 4));
    const ino = statSync(path).ino;
    // The engine rotates twice after the current file was opened, before the rotated files are listed.
    const plan = await planRead(path, { skipTo: undefined, tail: undefined }, async (p) => {
      renameSync(`${p}.1`, `${p}.3`);
      renameSync(p, `${p}.2`);
      writeFileSync(`${p}.1`, entries(5, 6));
      writeFileSync(p, entries(7, 7));
      return rotatedChain(p);
    });
    try {
      assert.equal(plan.current?.ino, ino, 'the file opened is read as the current one');
      assert.deepEqual(
        plan.rotated.map((r) => r.firstTime),
        [full(1)],
      );
    } finally {
      await Promise.all([plan.current?.fh.close(), ...plan.rotated.map((r) => r.fh.close())]);
    }
  });
});

describe('rotatedChain', () => {
  for (const when of ['before the first file is opened', 'after the first file is opened']) {
    it(`lists every rotated file when the engine rotates ${when}`, async () => {
      writeFileSync(`${path}.2`, entries(1, 2));
      writeFileSync(`${path}.1`, entries(3, 4));
      writeFileSync(path, entries(5, 6));
      const rotate = (): void => {
        renameSync(`${path}.2`, `${path}.3`);
        renameSync(`${path}.1`, `${path}.2`);
        renameSync(path, `${path}.1`);
        writeFileSync(path, entries(7, 7));
      };
      let calls = 0;
      const firstOpened = gate();
      const chain = await rotatedChain(path, undefined, async (p) => {
        const call = ++calls;
        if (call === 1 && when.startsWith('before')) rotate();
        if (call === 2) await firstOpened.promise;
        const fh = await open(p, 'r');
        if (call === 1 && when.startsWith('after')) rotate();
        if (call === 1) firstOpened.open();
        return fh;
      });
      try {
        assert.deepEqual(
          chain.map((r) => r.firstTime),
          [full(1), full(3), full(5)],
        );
      } finally {
        await Promise.all(chain.map((r) => r.fh.close()));
      }
    });
  }
});
