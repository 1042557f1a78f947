// Acks alone, over a toy source kind (positions are sequence numbers, the
// source is the record's host) and a buffer that is just a list: what a sink
// is done with follows records pushed, taken into batches and settled, per
// source, whatever the kind.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PositionCodec } from '../../../src/core/position.js';
import { envelope, type Envelope, type SidekickRecord } from '../../../src/core/record.js';
import { Acks } from '../../../src/pipeline/acks.js';
import type { Waiting } from '../../../src/pipeline/buffer/buffer.js';

interface Toy {
  readonly host: string;
  readonly seq: number;
}

const toy: PositionCodec<number, Toy> = {
  kind: 'toy',
  key: (r) => r.host,
  from: (r) => r.seq - 1,
  through: (r) => r.seq,
  before: (a, b) => a.seq < b.seq,
  least: (a, b) => Math.min(a, b),
  advance: (old, next) => Math.max(old ?? next, next),
  same: (a, b) => a === b,
  encode: (p) => p,
  decode: (v) => (typeof v === 'number' ? v : undefined),
};

function rec(host: string, seq: number): SidekickRecord {
  return { type: 'event', time: new Date(seq * 1000).toISOString(), host, seq, position: toy } as unknown as SidekickRecord;
}

/** A buffer as acks see it: records waiting, in order. */
class ListBuffer implements Waiting {
  readonly list: SidekickRecord[] = [];
  oldestPositioned(): Map<string, SidekickRecord> {
    const out = new Map<string, SidekickRecord>();
    for (const r of this.list) if (!out.has(r.host)) out.set(r.host, r);
    return out;
  }
  firstPositioned(key: string): SidekickRecord | undefined {
    return this.list.find((r) => r.host === key);
  }
  heads(): Iterable<SidekickRecord> {
    const out = new Map<string | undefined, SidekickRecord>();
    for (const r of this.list) if (!out.has(r.container?.id)) out.set(r.container?.id, r);
    return out.values();
  }
}

function setup(): { acks: Acks; buffer: ListBuffer; push(r: SidekickRecord): void; take(n: number): Envelope[] } {
  const buffer = new ListBuffer();
  const acks = new Acks(buffer);
  return {
    acks,
    buffer,
    push(r) {
      buffer.list.push(r);
      acks.pushed(r);
    },
    take(n) {
      const batch = buffer.list.splice(0, n).map((r) => envelope(r));
      acks.taken(batch);
      return batch;
    },
  };
}

const at = (acks: Acks): Record<string, unknown> => Object.fromEntries([...acks.done()].map(([k, h]) => [k, h.at]));

describe('Acks', () => {
  it('is done with a source just before its oldest record waiting or in flight, and through its last once none is', () => {
    const { acks, push, take } = setup();
    assert.deepEqual(at(acks), {});
    push(rec('a', 1));
    push(rec('a', 2));
    push(rec('b', 7));
    assert.deepEqual(at(acks), { a: 0, b: 6 });
    const batch = take(2);
    assert.deepEqual(at(acks), { a: 0, b: 6 }, 'in flight is not done');
    acks.settled(batch);
    assert.deepEqual(at(acks), { a: 2, b: 6 }, 'settled');
    const rest = take(1);
    acks.settled(rest);
    assert.deepEqual(at(acks), { a: 2, b: 7 });
  });

  it('holds a source at a record in flight older than one waiting (a batch written again)', () => {
    const { acks, push, take } = setup();
    push(rec('a', 1));
    take(1);
    push(rec('a', 2));
    assert.equal(acks.doneWith('a')?.at, 0);
  });

  it('answers one source alone as done() does for it, and nothing for a source never pushed', () => {
    const { acks, push, take } = setup();
    for (let i = 1; i <= 5; i++) push(rec(i % 2 === 0 ? 'a' : 'b', i));
    take(3);
    for (const [key, held] of acks.done()) assert.deepEqual(acks.doneWith(key), held);
    assert.equal(acks.doneWith('c'), undefined);
    assert.equal(acks.doneWith('a')?.codec, toy);
  });

  it('holds each source at its oldest batch in flight when a later batch settles first (writes in parallel)', () => {
    const { acks, push, take } = setup();
    push(rec('a', 1));
    push(rec('b', 1));
    push(rec('a', 2));
    push(rec('b', 2));
    const first = take(2);
    const second = take(2);
    acks.settled(second);
    assert.deepEqual(at(acks), { a: 0, b: 0 }, 'the first batch is still being written');
    for (const key of ['a', 'b']) assert.deepEqual(acks.doneWith(key), acks.done().get(key));
    acks.settled(first);
    assert.deepEqual(at(acks), { a: 2, b: 2 });
  });

  it('tells, per container, the time of its oldest record waiting or in flight', () => {
    const { acks, push, take } = setup();
    const inContainer = (id: string, seq: number): SidekickRecord => ({ ...rec(id, seq), container: { id } }) as unknown as SidekickRecord;
    push(inContainer('x', 5));
    const batch = take(1);
    push(inContainer('x', 7));
    push(inContainer('y', 3));
    push(rec('none', 1));
    const oldest = new Map<string, number>();
    acks.oldestUnacked(oldest);
    assert.deepEqual(
      oldest,
      new Map([
        ['x', 5000],
        ['y', 3000],
      ]),
      'x in flight before its record waiting',
    );
    acks.settled(batch);
    const after = new Map<string, number>();
    acks.oldestUnacked(after);
    assert.deepEqual(
      after,
      new Map([
        ['x', 7000],
        ['y', 3000],
      ]),
    );
  });

  it('forgets a source that is gone', () => {
    const { acks, push } = setup();
    push(rec('a', 1));
    push(rec('b', 1));
    acks.forget('a');
    assert.deepEqual(Object.keys(at(acks)), ['b']);
    assert.equal(acks.doneWith('a'), undefined);
  });

  it('ignores records of no position (events, stats, inspect)', () => {
    const { acks, buffer } = setup();
    const r = { type: 'event', time: 't', host: 'h' } as unknown as SidekickRecord;
    buffer.list.push(r);
    acks.pushed(r);
    assert.deepEqual(at(acks), {});
  });
});
