// A sink's disk buffer on a real temporary folder: records written at the end
// of the turn (and their sources told), read back as the sinks had them,
// acknowledged batch by batch in order; found again by the next process,
// after a close and after a kill; bounded by its size under each policy;
// torn and corrupt frames skipped and told.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { containerMeta, envelope, recordId, type Envelope } from '../../../../src/core/record.js';
import type { BufferPolicy } from '../../../../src/pipeline/buffer/buffer.js';
import { DiskBuffer } from '../../../../src/pipeline/buffer/disk/disk-buffer.js';
import type { Corruption } from '../../../../src/pipeline/buffer/disk/segments.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';

const web = containerMeta('a'.repeat(64), '/web', 'nginx:1', {});
const db = containerMeta('b'.repeat(64), '/db', 'postgres:16', {});

function time(i: number): string {
  return `2026-03-04T05:06:${String(7 + Math.floor(i / 1e6)).padStart(2, '0')}.${String(i % 1e6).padStart(9, '0')}Z`;
}

function rec(i: number, container = web, pad = 0): Envelope {
  return envelope({ type: 'log', position: logPositions, time: time(i), host: 'h', container, stream: 'stdout', seq: 1, message: `m${i}${'x'.repeat(pad)}` });
}

const messages = (es: readonly Envelope[]): string[] => es.map((e) => (e.record.type === 'log' ? e.record.message : e.record.type));

/** One event-loop turn: what was pushed in the last one is written. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let dir: string;
let corrupt: Corruption[];
let open: DiskBuffer[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sk-disk-buffer-'));
  corrupt = [];
  open = [];
});

afterEach(() => {
  for (const b of open) b.close();
  rmSync(dir, { recursive: true, force: true });
});

function buffer(policy: BufferPolicy = 'drop-oldest', maxBytes = 64 * 1024 * 1024): DiskBuffer {
  const b = new DiskBuffer({ dir, maxBytes, policy, corrupt: (c) => corrupt.push(c) });
  open.push(b);
  return b;
}

/** Takes every record, batch by batch, settling each. */
function drain(b: DiskBuffer, max = 100): Envelope[] {
  const out: Envelope[] = [];
  for (let batch = b.shift(max); batch.length > 0; batch = b.shift(max)) {
    out.push(...batch);
    b.settled(batch);
  }
  return out;
}

describe('DiskBuffer', () => {
  it('keeps a record in memory until the end of the turn, then writes it and tells that its source may move past it', async () => {
    const b = buffer();
    const stored: Envelope[][] = [];
    b.onStored((batch) => stored.push([...batch]));
    b.push(rec(1));
    b.push(rec(2, db));
    assert.equal(stored.length, 0);
    assert.equal(b.firstPositioned(web.id)?.time, time(1), 'waiting for its source until written');
    assert.deepEqual([...b.oldestPositioned().keys()], [web.id, db.id]);
    assert.deepEqual(
      [...b.heads()].map((r) => r.container?.name),
      ['web', 'db'],
    );
    await turn();
    assert.deepEqual(stored.map(messages), [['m1', 'm2']]);
    assert.equal(b.firstPositioned(web.id), undefined, 'written: no longer its source’s to keep');
    assert.equal(b.oldestPositioned().size, 0);
    assert.equal(b.length, 2);
    assert.equal(b.oldestTime(), time(1));
  });

  it('hands records back as the sinks had them: the same JSON and id', () => {
    const b = buffer();
    const sent = [
      rec(1),
      rec(2, db),
      envelope({ type: 'gap', time: time(3), host: 'h', container: web, dropped: 2, from: time(1), to: time(2), reason: 'buffer_full' }),
    ];
    for (const e of sent) b.push(e);
    const got = b.shift(10);
    assert.deepEqual(
      got.map((e) => e.json),
      sent.map((e) => e.json),
    );
    assert.deepEqual(
      got.map((e) => recordId(e.record)),
      sent.map((e) => recordId(e.record)),
    );
  });

  it('the next process finds what was not acknowledged: after a close, and after a kill (written, never closed)', async () => {
    let b = buffer();
    for (let i = 1; i <= 10; i++) b.push(rec(i));
    const first = b.shift(4);
    b.settled(first);
    b.shift(3); // in flight when it stops: sent again
    b.close();
    open.pop();
    b = buffer();
    assert.deepEqual(messages(drain(b)), ['m5', 'm6', 'm7', 'm8', 'm9', 'm10']);
    for (let i = 11; i <= 13; i++) b.push(rec(i));
    await turn();
    // Killed: no close, no sync; the kernel has what was written.
    const killed = open.pop()!;
    b = buffer();
    assert.deepEqual(messages(drain(b)), ['m11', 'm12', 'm13']);
    killed.close();
  });

  it('acknowledges batches in order: one settled before an earlier one is kept until that one is', () => {
    let b = buffer();
    for (let i = 1; i <= 6; i++) b.push(rec(i));
    const one = b.shift(2);
    const two = b.shift(2);
    b.settled(two);
    b.close();
    open.pop();
    b = buffer();
    assert.deepEqual(messages(drain(b)), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'], 'the first never settled: all sent again');
    b.close();
    open.pop();
    b = buffer();
    assert.equal(b.length, 0);
    b.settled(one); // a batch of an earlier process is nothing to this one
    assert.equal(b.length, 0);
  });

  it('drop-oldest: stays within its size, dropping the oldest segment, counted and told as a gap with its times', () => {
    const max = 512 * 1024;
    const b = buffer('drop-oldest', max);
    let dropped = 0;
    for (let i = 1; i <= 4000; i++) dropped += b.push(rec(i, web, 400));
    assert.ok(b.bytes <= max, `${b.bytes} bytes on disk, at most ${max}`);
    assert.ok(dropped > 0);
    const kept = drain(b, 1000);
    assert.equal(kept.length + dropped, 4000);
    assert.deepEqual(messages(kept).at(-1), `m4000${'x'.repeat(400)}`);
    assert.equal(messages(kept)[0], `m${dropped + 1}${'x'.repeat(400)}`, 'the oldest went');
    const gaps = b.takeGaps(Date.now(), 0, 0);
    assert.deepEqual(
      gaps.map((g) => [g.dropped, g.from, g.to, g.container]),
      [[dropped, time(1), time(dropped), undefined]],
    );
  });

  it('drop-oldest: records handed out and not yet acknowledged are not counted lost with their segment; they are delivered', () => {
    const max = 512 * 1024;
    const b = buffer('drop-oldest', max);
    for (let i = 1; i <= 10; i++) b.push(rec(i, web, 400));
    const inFlight = b.shift(10);
    let dropped = 0;
    for (let i = 11; i <= 4000; i++) dropped += b.push(rec(i, web, 400));
    b.settled(inFlight);
    const kept = drain(b, 1000);
    assert.equal(inFlight.length + kept.length + dropped, 4000);
    assert.equal(
      b.takeGaps(Date.now(), 0, 0).reduce((n, g) => n + g.dropped, 0),
      dropped,
    );
  });

  it('drop-newest: stays within its size, dropping new records, per container', () => {
    const max = 512 * 1024;
    const b = buffer('drop-newest', max);
    let dropped = 0;
    for (let i = 1; i <= 4000; i++) dropped += b.push(rec(i, i % 2 === 0 ? web : db, 400));
    assert.ok(b.bytes <= max);
    const kept = drain(b, 1000);
    assert.equal(kept.length + dropped, 4000);
    assert.equal(messages(kept)[0], `m1${'x'.repeat(400)}`, 'the oldest stayed');
    const gaps = b.takeGaps(Date.now(), 0, 0);
    assert.deepEqual(gaps.map((g) => g.container?.name).sort(), ['db', 'web']);
    assert.equal(
      gaps.reduce((n, g) => n + g.dropped, 0),
      dropped,
    );
  });

  it('block: keeps every record past its size and says full, then drained once read and acknowledged', () => {
    const max = 256 * 1024;
    const b = buffer('block', max);
    let dropped = 0;
    for (let i = 1; i <= 2000; i++) dropped += b.push(rec(i, web, 400));
    assert.equal(dropped, 0);
    assert.equal(b.full, true);
    assert.equal(b.drained, false);
    assert.equal(drain(b, 500).length, 2000);
    assert.equal(b.drained, true);
    assert.equal(b.full, false);
  });

  it('skips a corrupt frame with the rest of its segment, tells it, and reads the next segment on', () => {
    let b = buffer('drop-oldest', 1024 * 1024);
    for (let i = 1; i <= 1500; i++) b.push(rec(i, web, 200));
    b.close();
    open.pop();
    const segments = readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    assert.ok(segments.length >= 3, `${segments.length} segments`);
    const second = join(dir, segments[1]!);
    const bytes = readFileSync(second);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(second, bytes);
    b = buffer('drop-oldest', 1024 * 1024);
    assert.equal(corrupt.length, 1);
    assert.equal(corrupt[0]!.segment, second);
    assert.match(corrupt[0]!.why, /checksum/);
    assert.equal(b.corrupted, 1);
    const kept = messages(drain(b, 1000)).map((m) => Number(/^m(\d+)/.exec(m)![1]));
    assert.ok(kept.length < 1500 && kept.length > 1000, `${kept.length} kept`);
    assert.equal(kept.at(-1), 1500, 'the segments after it are read');
    assert.deepEqual(
      kept,
      [...kept].sort((x, y) => x - y),
    );
  });
});
