// Checkpoints: the position every sink is done with, per container, kept on
// disk atomically and read back by the next run.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RecordBuffer } from '../../../src/pipeline/buffer/memory.js';
import { SinkDriver } from '../../../src/pipeline/driver.js';
import { Checkpoints } from '../../../src/pipeline/checkpoints.js';
import { Events } from '../../../src/observe/events.js';
import { memoryLog } from '../memory-log.js';
import { containerMeta, envelope, type Envelope, type LogPosition, type TailedFile } from '../../../src/core/record.js';
import { MemorySink } from '../../../src/sinks/memory.js';
import { gate, waitFor } from '../wait.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';
import { fileKey, filePositions } from '../../../src/sources/files/position.js';

/** The codecs of the sources with positions, as sidekick gives them to checkpoints. */
const CODECS = [logPositions, filePositions];

const log = pino({ level: 'silent' });
const events = new Events(log, new Registry());
const a = containerMeta('a'.repeat(64), '/a', 'img', {});
const b = containerMeta('b'.repeat(64), '/b', 'img', {});
const T1 = '2026-01-01T00:00:01.000000000Z';
const T2 = '2026-01-01T00:00:02.000000000Z';

function fileLine(file: TailedFile, start: number, end: number): Envelope {
  return envelope({ type: 'file', position: filePositions, time: T1, host: 'h', path: file.path, message: `${start}`, file, start, end });
}

/** A memory sink's driver, started, with checkpoints in `dir` over it, loaded and started. */
async function checkpointed(dir: string): Promise<{ sink: MemorySink; ch: SinkDriver; cp: Checkpoints }> {
  const sink = new MemorySink();
  const ch = new SinkDriver(sink, log, undefined);
  await ch.start();
  const cp = new Checkpoints(dir, [ch], events, CODECS);
  cp.load();
  cp.start();
  return { sink, ch, cp };
}

function line(meta: typeof a, time: string, seq: number): Envelope {
  return envelope({ type: 'log', position: logPositions, time, host: 'h', container: meta, stream: 'stdout', seq, message: `${time}#${seq}` });
}

/**
 * Multiline records of a container that printed, at T1: #1 an stderr trace's
 * first line, #2 a stdout line, #3 the trace's next line, #4 a stdout line,
 * #5 an stderr line. #4 sends the stdout record of #2 (the trace is still
 * open), #5 sends the trace: out of their first lines' order.
 */
const OUT_2: Envelope = envelope({
  type: 'log',
  position: logPositions,
  time: T1,
  host: 'h',
  container: a,
  stream: 'stdout',
  seq: 2,
  message: 'INFO',
  from: { time: T1, count: 0, ahead: { stream: 'stdout', time: T1, count: 1 } },
  through: { time: T1, count: 0, ahead: { stream: 'stdout', time: T1, count: 3 } },
});
const TRACE_1: Envelope = envelope({
  type: 'log',
  position: logPositions,
  time: T1,
  host: 'h',
  container: a,
  stream: 'stderr',
  seq: 1,
  message: 'Exception: x\n\tat y',
  from: { time: T1, count: 0, ahead: { stream: 'stdout', time: T1, count: 3 } },
  through: { time: T1, count: 3, ahead: { stream: 'stderr', time: T1, count: 4 } },
});

describe('SinkDriver.done', () => {
  it('is the last line pushed once everything is delivered', async () => {
    const sink = new MemorySink();
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    for (const e of [line(a, T1, 1), line(a, T1, 2), line(a, T2, 1), line(b, T1, 1)]) ch.push(e);
    await waitFor('the sink', () => sink.received.length === 4);
    assert.deepEqual(Object.fromEntries([...ch.acks.done()].map(([key, held]) => [key, held.at])), {
      [a.id]: { time: T2, count: 1 },
      [b.id]: { time: T1, count: 1 },
    });
    assert.deepEqual(ch.acks.doneWith(b.id)?.at, { time: T1, count: 1 }, 'one source alone');
    assert.equal(ch.acks.doneWith('c'.repeat(64)), undefined, 'a source not seen');
    await ch.close(Date.now() + 100);
  });

  it('stops just before the oldest line still waiting or in flight', async () => {
    const sink = new MemorySink();
    const hold = gate();
    sink.delay = hold.promise;
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(line(a, T1, 1));
    ch.push(line(a, T1, 2));
    await new Promise((r) => setTimeout(r, 10));
    ch.push(line(b, T1, 1));
    ch.push(line(a, T2, 1));
    assert.deepEqual(ch.acks.done().get(a.id)?.at, { time: T1, count: 0 }, 'nothing of a is done yet');
    assert.deepEqual(ch.acks.doneWith(a.id)?.at, { time: T1, count: 0 }, 'one source alone: the same');
    assert.deepEqual(ch.acks.doneWith(b.id)?.at, { time: T1, count: 0 });
    hold.open();
    sink.delay = undefined;
    await waitFor('the sink', () => sink.received.length === 4);
    assert.deepEqual(ch.acks.done().get(a.id)?.at, { time: T2, count: 1 });
    assert.deepEqual(ch.acks.doneWith(a.id)?.at, { time: T2, count: 1 });
    await ch.close(Date.now() + 100);
  });

  it('with multiline records: where the log was done with before the oldest waiting, or once the last is', async () => {
    const sink = new MemorySink();
    const hold = gate();
    sink.delay = hold.promise;
    const ch = new SinkDriver(sink, log, undefined);
    await ch.start();
    ch.push(OUT_2);
    await new Promise((r) => setTimeout(r, 10));
    ch.push(TRACE_1);
    const before = { time: T1, count: 0, ahead: { stream: 'stdout', time: T1, count: 1 } };
    assert.deepEqual(ch.acks.done().get(a.id)?.at, before, 'the record in flight, not the trace waiting (begun earlier, sent later)');
    assert.deepEqual(ch.acks.doneWith(a.id)?.at, before);
    hold.open();
    sink.delay = undefined;
    await waitFor('the sink', () => sink.received.length === 2);
    const after = { time: T1, count: 3, ahead: { stream: 'stderr', time: T1, count: 4 } };
    assert.deepEqual(ch.acks.done().get(a.id)?.at, after, 'through the trace’s last line, not at its first');
    assert.deepEqual(ch.acks.doneWith(a.id)?.at, after);
    await ch.close(Date.now() + 100);
  });

  it('counts lines dropped by the policy as done', async () => {
    const sink = new MemorySink();
    sink.fail = new Error('down');
    const ch = new SinkDriver(sink, log, undefined, new RecordBuffer(2, 1 << 20, 'drop-oldest'));
    await ch.start();
    for (let i = 1; i <= 5; i++) ch.push(line(a, T1, i));
    // Lines 1-3 were dropped or are failing in flight; the oldest not done is in flight or waiting.
    const done = ch.acks.done().get(a.id)?.at as LogPosition;
    assert.equal(done.time, T1);
    assert.ok(done.count < 5);
    sink.fail = undefined;
    await waitFor('the sink', () => (ch.acks.done().get(a.id)?.at as LogPosition | undefined)?.count === 5);
    await ch.close(Date.now() + 100);
  });
});

describe('Checkpoints', () => {
  it('keeps the least advanced position of the sinks, writes it atomically, and reads it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const fast = new MemorySink();
      const slow = new MemorySink();
      const hold = gate();
      slow.delay = hold.promise;
      const channels = [new SinkDriver(fast, log, undefined), new SinkDriver(slow, log, undefined)];
      for (const c of channels) await c.start();
      const cp = new Checkpoints(dir, channels, events, CODECS);
      for (const c of channels) c.push(line(a, T1, 1));
      await waitFor('the sink', () => fast.received.length === 1);
      for (const c of channels) c.push(line(a, T2, 1));
      await waitFor('the sink', () => fast.received.length === 2);
      cp.save();
      const saved = JSON.parse(readFileSync(join(dir, 'checkpoints.json'), 'utf8')) as { version: number; positions: Record<string, unknown> };
      assert.deepEqual(
        saved,
        {
          version: 2,
          positions: { [a.id]: { kind: 'log', at: { time: T1, count: 0 } } },
          // Each sink's own, the second of one name by its place.
          sinks: {
            'memory://': { [a.id]: { kind: 'log', at: { time: T2, count: 1 } } },
            'memory://#2': { [a.id]: { kind: 'log', at: { time: T1, count: 0 } } },
          },
        },
        'the slow sink holds it back',
      );
      hold.open();
      slow.delay = undefined;
      await waitFor('the sink', () => slow.received.length === 2);
      cp.stop();
      const next = new Checkpoints(dir, [], events, CODECS);
      next.load();
      assert.deepEqual(next.get(logPositions, a.id), { time: T2, count: 1 });
      next.forget(a.id);
      next.save();
      const again = new Checkpoints(dir, [], events, CODECS);
      again.load();
      assert.equal(again.get(logPositions, a.id), undefined, 'forgotten on destroy');
      for (const c of channels) await c.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const how of ['stopped', 'killed'] as const) {
    it(`after a restart (${how}), a sink further on than the least skips what it had; the one behind gets it`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
      try {
        const fast = new MemorySink();
        const slow = new MemorySink();
        slow.fail = new Error('down');
        const channels = [new SinkDriver(fast, log, undefined), new SinkDriver(slow, log, undefined)];
        for (const c of channels) await c.start();
        const cp = new Checkpoints(dir, channels, events, CODECS);
        cp.load();
        cp.start();
        for (let i = 1; i <= 3; i++) for (const c of channels) c.push(line(a, T1, i));
        await waitFor('the fast sink', () => fast.received.length === 3);
        // Killed: nothing more is written (the journal has each batch).
        if (how === 'stopped') cp.stop();
        // The next run reads the container again from the least (before line 1).
        const fast2 = new MemorySink();
        const slow2 = new MemorySink();
        const next = [new SinkDriver(fast2, log, undefined), new SinkDriver(slow2, log, undefined)];
        for (const c of next) await c.start();
        const cp2 = new Checkpoints(dir, next, events, CODECS);
        cp2.load();
        assert.deepEqual(cp2.get(logPositions, a.id), { time: T1, count: 0 });
        for (let i = 1; i <= 4; i++) for (const c of next) c.push(line(a, T1, i));
        await waitFor('the slow sink', () => slow2.received.length === 4);
        await waitFor('the fast sink', () => fast2.received.length === 1);
        assert.deepEqual(
          fast2.received.map((e) => e.record.type === 'log' && e.record.seq),
          [4],
          'only what it did not have',
        );
        assert.deepEqual(
          slow2.received.map((e) => e.record.type === 'log' && e.record.seq),
          [1, 2, 3, 4],
        );
        cp2.stop();
        if (how === 'killed') cp.stop();
        for (const c of [...channels, ...next]) await c.close(Date.now() + 10);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('drops what a sink had of a source once the source is forgotten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const { sink, ch: first, cp } = await checkpointed(dir);
      for (let i = 1; i <= 3; i++) first.push(line(a, T1, i));
      await waitFor('the sink', () => sink.received.length === 3);
      cp.stop();
      await first.close(Date.now() + 10);
      const again = new MemorySink();
      const next = new SinkDriver(again, log, undefined);
      await next.start();
      const cp2 = new Checkpoints(dir, [next], events, CODECS);
      cp2.load();
      // Destroyed while sidekick was down: whatever reads under its key next starts anew.
      cp2.forget(a.id);
      for (let i = 1; i <= 2; i++) next.push(line(a, T1, i));
      await waitFor('the sink', () => again.received.length === 2);
      cp2.stop();
      await next.close(Date.now() + 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never moves a position backwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 1, containers: { [a.id]: { time: T2, count: 4 } } }));
      const ch = new SinkDriver(new MemorySink(), log, undefined);
      ch.push(line(a, T1, 1));
      const cp = new Checkpoints(dir, [ch], events, CODECS);
      cp.load();
      cp.save();
      assert.deepEqual(cp.get(logPositions, a.id), { time: T2, count: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a stream that is ahead, journaled and in the snapshot, and moves each stream on by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const { sink, ch, cp } = await checkpointed(dir);
      ch.push(OUT_2);
      ch.push(TRACE_1);
      await waitFor('the sink', () => sink.received.length === 2);
      const through = { time: T1, count: 3, ahead: { stream: 'stderr', time: T1, count: 4 } };
      const afterKill = new Checkpoints(dir, [], events, CODECS);
      afterKill.load();
      assert.deepEqual(afterKill.get(logPositions, a.id), through, 'from the journal');
      cp.stop();
      const afterStop = new Checkpoints(dir, [], events, CODECS);
      afterStop.load();
      assert.deepEqual(afterStop.get(logPositions, a.id), through, 'from the snapshot');
      // stdout moves on to #6 (a line of its own), stderr stays at #4: it is not moved back to #3.
      const nextSink = new MemorySink();
      const next = new SinkDriver(nextSink, log, undefined);
      await next.start();
      next.push(
        envelope({
          type: 'log',
          position: logPositions,
          time: T1,
          host: 'h',
          container: a,
          stream: 'stdout',
          seq: 6,
          message: 'INFO',
          from: { time: T1, count: 3 },
          through: { time: T1, count: 3, ahead: { stream: 'stdout', time: T1, count: 6 } },
        }),
      );
      await waitFor('the sink', () => nextSink.received.length === 1);
      const cp2 = new Checkpoints(dir, [next], events, CODECS);
      cp2.load();
      cp2.save();
      assert.deepEqual(cp2.get(logPositions, a.id), { time: T1, count: 4, ahead: { stream: 'stdout', time: T1, count: 6 } });
      await ch.close(Date.now() + 100);
      await next.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts without a broken file, and keeps collecting when it cannot write: each failure counted, said once, and so is the recovery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      writeFileSync(join(dir, 'checkpoints.json'), '{not json');
      const ch = new SinkDriver(new MemorySink(), log, undefined);
      const registry = new Registry();
      const said = memoryLog();
      const cp = new Checkpoints(join(dir, 'checkpoints.json', 'sub'), [ch], new Events(said.log, registry), CODECS);
      cp.load();
      ch.push(line(a, T1, 1));
      cp.save();
      ch.push(line(a, T2, 1));
      cp.save();
      const counted = (await registry.getSingleMetric('sidekick_checkpoint_write_errors_total')?.get())?.values[0]?.value;
      assert.equal(counted, 2, 'a path that cannot be a folder fails, each time counted');
      assert.deepEqual(
        said.lines.map((l) => l.msg),
        ['cannot write checkpoints; collecting on, retrying every second'],
      );
      const broken = new Checkpoints(dir, [], new Events(said.log, new Registry()), CODECS);
      broken.load();
      assert.deepEqual(broken.keys(logPositions), []);
      assert.equal(said.lines.at(-1)?.msg, 'checkpoint file unreadable; starting without it');
      // The path can be a folder again: the next write works, and says so.
      rmSync(join(dir, 'checkpoints.json'));
      cp.save();
      assert.equal(said.lines.at(-1)?.msg, 'checkpoints written again');
      chmodSync(dir, 0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('journals each delivered batch at once, so a kill repeats at most what was in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const { sink, ch, cp } = await checkpointed(dir);
      ch.push(line(a, T1, 1));
      ch.push(line(b, T1, 1));
      await waitFor('the sink', () => sink.received.length === 2);
      ch.push(line(a, T2, 1));
      await waitFor('the sink', () => sink.received.length === 3);
      // No snapshot since start (it waits a second): what a kill now leaves on disk.
      const afterKill = new Checkpoints(dir, [], events, CODECS);
      afterKill.load();
      assert.deepEqual(afterKill.get(logPositions, a.id), { time: T2, count: 1 });
      assert.deepEqual(afterKill.get(logPositions, b.id), { time: T1, count: 1 });
      cp.forget(b.id);
      const afterForget = new Checkpoints(dir, [], events, CODECS);
      afterForget.load();
      assert.equal(afterForget.get(logPositions, b.id), undefined, 'a destroy is journaled too');
      cp.save();
      assert.equal(readFileSync(join(dir, 'checkpoints.journal'), 'utf8'), '', 'a snapshot starts the journal over');
      cp.stop();
      await ch.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the snapshot every 5 s, not every second: the journal holds what moved between', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const { sink, ch, cp } = await checkpointed(dir);
      const snapshot = (): string => readFileSync(join(dir, 'checkpoints.json'), 'utf8');
      const first = snapshot();
      ch.push(line(a, T1, 1));
      await waitFor('the sink', () => sink.received.length === 1);
      t.mock.timers.tick(4_999);
      assert.equal(snapshot(), first, 'no snapshot within 5 s of the last');
      t.mock.timers.tick(1);
      assert.ok(a.id in (JSON.parse(snapshot()) as { positions: Record<string, unknown> }).positions, 'the snapshot at 5 s');
      cp.stop();
      await ch.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("journals a sink's own position only where it is ahead of the least: one line a source and batch with one sink", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const fast = new MemorySink();
      const slow = new MemorySink();
      const slowGate = gate();
      const one = new SinkDriver(fast, log, undefined);
      await one.start();
      const cp = new Checkpoints(dir, [one], events, CODECS);
      cp.load();
      cp.start();
      one.push(line(a, T1, 1));
      await waitFor('the sink', () => fast.received.length === 1);
      one.push(line(a, T2, 1));
      await waitFor('the sink', () => fast.received.length === 2);
      const journaled = (): Record<string, unknown>[] =>
        readFileSync(join(dir, 'checkpoints.journal'), 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        journaled().map((e) => Object.keys(e).join()),
        ['key,kind,at', 'key,kind,at'],
      );
      cp.stop();
      await one.close(Date.now() + 100);

      // Two sinks, one ahead: its position is journaled, and a restart skips what it had.
      const ahead = new SinkDriver(fast, log, undefined);
      const behind = new SinkDriver(slow, log, undefined);
      await ahead.start();
      await behind.start();
      const two = new Checkpoints(dir, [ahead, behind], events, CODECS);
      two.load();
      two.start();
      two.save();
      slow.delay = slowGate.promise;
      ahead.push(line(b, T1, 1));
      behind.push(line(b, T1, 1));
      await waitFor('the fast sink', () => fast.received.length === 3);
      assert.deepEqual(journaled(), [
        { sink: 'memory://', source: b.id, kind: 'log', at: { time: T1, count: 1 } },
        { key: b.id, kind: 'log', at: { time: T1, count: 0 } },
      ]);
      const afterKill = new Checkpoints(dir, [], events, CODECS);
      afterKill.load();
      assert.deepEqual(afterKill.get(logPositions, b.id), { time: T1, count: 0 }, 'the least: the slow sink has nothing of b yet');
      slowGate.open();
      await waitFor('the slow sink', () => slow.received.length === 1);
      // The slow sink is the least now: only the least moves on.
      await waitFor('the least journaled', () => journaled().length === 3);
      assert.deepEqual(journaled().slice(2), [{ key: b.id, kind: 'log', at: { time: T1, count: 1 } }]);
      two.stop();
      await ahead.close(Date.now() + 100);
      await behind.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays the journal over the snapshot, up to a line a crash cut short', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      writeFileSync(join(dir, 'checkpoints.json'), JSON.stringify({ version: 1, containers: { [a.id]: { time: T1, count: 1 } } }));
      const journal = [
        JSON.stringify({ id: a.id, time: T2, count: 3 }),
        JSON.stringify({ id: a.id, time: T1, count: 9 }),
        JSON.stringify({ id: b.id, time: T2, count: 1 }),
        '{"id":"' + b.id + '","time":"2026-01-01T00:00:0',
      ];
      writeFileSync(join(dir, 'checkpoints.journal'), journal.join('\n'));
      const cp = new Checkpoints(dir, [], events, CODECS);
      cp.load();
      assert.deepEqual(cp.get(logPositions, a.id), { time: T2, count: 3 }, 'the later position wins, whatever the order');
      assert.deepEqual(cp.get(logPositions, b.id), { time: T2, count: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps where each tailed file was done with, through a rotation, across a kill', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const old: TailedFile = { path: '/logs/app.log', dev: 1, ino: 10, fingerprint: 'f'.repeat(64), generation: 1 };
      const rotated: TailedFile = { ...old, ino: 11, fingerprint: 'e'.repeat(64), generation: 2 };
      const sink = new MemorySink();
      const hold = gate();
      const ch = new SinkDriver(sink, log, undefined);
      await ch.start();
      const cp = new Checkpoints(dir, [ch], events, CODECS);
      cp.load();
      cp.start();
      ch.push(fileLine(old, 0, 5));
      await waitFor('the sink', () => sink.received.length === 1);
      sink.delay = hold.promise;
      ch.push(fileLine(old, 5, 9));
      ch.push(fileLine(rotated, 0, 4));
      await new Promise((r) => setTimeout(r, 10));
      const afterKill = new Checkpoints(dir, [], events, CODECS);
      afterKill.load();
      assert.deepEqual(afterKill.get(filePositions, fileKey('/logs/app.log')), { ...old, generation: -1, offset: 5 }, 'the old file, after its first line');
      hold.open();
      sink.delay = undefined;
      await waitFor('the sink', () => sink.received.length === 3);
      const later = new Checkpoints(dir, [], events, CODECS);
      later.load();
      assert.deepEqual(later.get(filePositions, fileKey('/logs/app.log')), { ...rotated, generation: -1, offset: 4 }, 'the new file, after its first line');
      cp.forget(fileKey('/logs/app.log'));
      cp.stop();
      const gone = new Checkpoints(dir, [], events, CODECS);
      gone.load();
      assert.equal(gone.get(filePositions, fileKey('/logs/app.log')), undefined);
      await ch.close(Date.now() + 100);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads what the version before codecs wrote (logs by container, files by path), and positions of a kind no codec reads are left out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-ckpt-'));
    try {
      const file = { path: '/logs/app.log', dev: 1, ino: 10, fingerprint: 'f'.repeat(64), generation: -1, offset: 7 };
      writeFileSync(
        join(dir, 'checkpoints.json'),
        JSON.stringify({ version: 1, containers: { [a.id]: { time: T1, count: 2 }, [b.id]: { time: T1, count: 1 } }, files: { [file.path]: file } }),
      );
      writeFileSync(
        join(dir, 'checkpoints.journal'),
        [
          { id: a.id, time: T2, count: 1 },
          { id: b.id, forget: true },
          { file: file.path, ...file, offset: 9 },
        ]
          .map((e) => JSON.stringify(e))
          .join('\n') + '\n',
      );
      const cp = new Checkpoints(dir, [], events, CODECS);
      cp.load();
      assert.deepEqual(cp.get(logPositions, a.id), { time: T2, count: 1 });
      assert.equal(cp.get(logPositions, b.id), undefined);
      assert.deepEqual(cp.get(filePositions, fileKey(file.path)), { ...file, offset: 9 });
      cp.save();
      const onlyLogs = new Checkpoints(dir, [], events, [logPositions]);
      onlyLogs.load();
      assert.deepEqual(onlyLogs.keys(logPositions), [a.id]);
      assert.equal(onlyLogs.get(filePositions, fileKey(file.path)), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
