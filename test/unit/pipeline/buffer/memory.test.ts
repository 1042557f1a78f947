import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { getHeapStatistics } from 'node:v8';
import { RecordBuffer, SPARE_LANES } from '../../../../src/pipeline/buffer/memory.js';
import { collectGarbage } from '../../wait.js';
import { containerMeta, storedEnvelopeOf, type Envelope } from '../../../../src/core/record.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';

const app = containerMeta('a'.repeat(64), '/app', 'app:1', {});

/** An envelope named `json` (the buffer only measures and moves it). */
function env(json: string): Envelope {
  return storedEnvelopeOf(
    { type: 'log', position: logPositions, time: '2024-01-02T03:04:05.000000000Z', host: 'h', container: app, stream: 'stdout', seq: 1, message: json },
    json,
  );
}

function jsons(es: readonly Envelope[]): string[] {
  return es.map((e) => e.json);
}

const cost = (json: string): number => env(json).size;

describe('the size of a stored envelope', () => {
  it('grows with the JSON and has a fixed overhead', () => {
    assert.ok(cost('') > 0);
    assert.ok(cost('x'.repeat(100)) >= cost('') + 100);
    assert.equal(cost('abc'), cost('xyz'));
  });
});

describe('RecordBuffer', () => {
  it('keeps FIFO order as it grows', () => {
    const b = new RecordBuffer(10_000, 1 << 30);
    const pushed: string[] = [];
    for (let i = 0; i < 1000; i++) {
      pushed.push(`r${i}`);
      assert.equal(b.push(env(`r${i}`)), 0);
    }
    assert.equal(b.length, 1000);
    assert.deepEqual(jsons(b.shift(5000)), pushed);
    assert.equal(b.length, 0);
    assert.equal(b.bytes, 0);
  });

  it('keeps FIFO order across wrap-around and growth while taking and adding', () => {
    const b = new RecordBuffer(10_000, 1 << 30);
    const out: string[] = [];
    let next = 0;
    // Add 7, take 5: the ring wraps many times and has to grow while wrapped.
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 7; i++) b.push(env(`r${next++}`));
      out.push(...jsons(b.shift(5)));
    }
    out.push(...jsons(b.shift(Infinity)));
    assert.deepEqual(
      out,
      Array.from({ length: next }, (_, i) => `r${i}`),
    );
    assert.equal(b.bytes, 0);
  });

  it('drops the oldest when maxRecords is reached, returning how many it dropped', () => {
    const b = new RecordBuffer(3, 1 << 30);
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e'].map((j) => b.push(env(j))),
      [0, 0, 0, 1, 1],
    );
    assert.equal(b.length, 3);
    assert.deepEqual(jsons(b.shift(10)), ['c', 'd', 'e']);
  });

  it('drops as many of the oldest as it takes to fit maxBytes', () => {
    const small = ['aaaaaaaaa1', 'aaaaaaaaa2', 'aaaaaaaaa3'];
    const b = new RecordBuffer(1000, 3 * cost(small[0]!));
    for (const j of small) assert.equal(b.push(env(j)), 0);
    assert.equal(b.bytes, 3 * cost(small[0]!));
    // A record bigger than one small one and at most two: two must go.
    let big = 'b';
    while (cost(big) <= cost(small[0]!)) big += 'b';
    assert.ok(cost(big) <= 2 * cost(small[0]!));
    assert.equal(b.push(env(big)), 2);
    assert.deepEqual(jsons(b.shift(10)), ['aaaaaaaaa3', big]);
    assert.equal(b.bytes, 0);
  });

  it('drops only as many as needed', () => {
    const one = cost('aaaaaaaaa1');
    const b = new RecordBuffer(1000, 3 * one);
    for (const j of ['aaaaaaaaa1', 'aaaaaaaaa2', 'aaaaaaaaa3']) b.push(env(j));
    assert.equal(b.push(env('aaaaaaaaa4')), 1);
    assert.deepEqual(jsons(b.shift(10)), ['aaaaaaaaa2', 'aaaaaaaaa3', 'aaaaaaaaa4']);
  });

  it('never holds more than its limits', () => {
    const b = new RecordBuffer(50, 50 * cost('x'.repeat(20)));
    for (let i = 0; i < 1000; i++) {
      b.push(env('x'.repeat(i % 37)));
      assert.ok(b.length <= 50, `length ${b.length}`);
      assert.ok(b.bytes <= b.maxBytes, `bytes ${b.bytes}`);
    }
  });

  it('accounts bytes back to 0 when emptied, also after drops', () => {
    const b = new RecordBuffer(4, 1 << 30);
    for (let i = 0; i < 10; i++) b.push(env('y'.repeat(i)));
    assert.equal(
      b.bytes,
      [6, 7, 8, 9].reduce((s, n) => s + cost('y'.repeat(n)), 0),
    );
    b.shift(3);
    assert.equal(b.bytes, cost('y'.repeat(9)));
    b.shift(1);
    assert.equal(b.length, 0);
    assert.equal(b.bytes, 0);
  });

  it('shift(max) takes at most max of the oldest', () => {
    const b = new RecordBuffer(100, 1 << 30);
    for (const j of ['1', '2', '3', '4', '5']) b.push(env(j));
    assert.deepEqual(b.shift(0), []);
    assert.deepEqual(jsons(b.shift(2)), ['1', '2']);
    assert.equal(b.length, 3);
    assert.equal(b.bytes, 3 * cost('1'));
    assert.deepEqual(jsons(b.shift(100)), ['3', '4', '5']);
    assert.deepEqual(b.shift(1), []);
  });

  it('refuses limits below one record or one byte', () => {
    assert.throws(() => new RecordBuffer(0, 100), RangeError);
    assert.throws(() => new RecordBuffer(100, 0), RangeError);
  });

  it('property: with one container, behaves like a bounded FIFO that drops its oldest', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), size: fc.nat({ max: 200 }) }),
      fc.record({ kind: fc.constant('shift' as const), max: fc.nat({ max: 20 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 * cost('x'.repeat(100)) }),
        fc.array(op, { maxLength: 300 }),
        (maxRecords, maxBytes, ops) => {
          const b = new RecordBuffer(maxRecords, maxBytes);
          const model: string[] = [];
          let modelBytes = 0;
          let n = 0;
          for (const o of ops) {
            if (o.kind === 'push') {
              const j = String(n++).padEnd(o.size, '.');
              let dropped = 0;
              if (cost(j) > maxBytes) {
                dropped = 1;
              } else {
                while (model.length > 0 && (model.length >= maxRecords || modelBytes + cost(j) > maxBytes)) {
                  modelBytes -= cost(model.shift()!);
                  dropped++;
                }
                model.push(j);
                modelBytes += cost(j);
              }
              assert.equal(b.push(env(j)), dropped, 'dropped');
            } else {
              const taken = model.splice(0, o.max);
              for (const j of taken) modelBytes -= cost(j);
              assert.deepEqual(jsons(b.shift(o.max)), taken);
            }
            assert.equal(b.length, model.length, 'length');
            assert.equal(b.bytes, modelBytes, 'bytes');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps an emptied lane for its source's next record, up to SPARE_LANES of them", () => {
    const b = new RecordBuffer(10_000, 1 << 30);
    const of = (id: string, json: string): Envelope => {
      const e = env(json);
      return { ...e, record: { ...e.record, container: containerMeta(id, `/${id}`, 'app:1', {}) } };
    };
    // Three containers printing now and then: each batch empties their lanes.
    for (let i = 0; i < 100; i++) {
      for (const id of ['a', 'b', 'c']) b.push(of(id.repeat(64), `${id}${i}`));
      assert.equal(b.shift(10).length, 3);
      assert.equal(b.lanesKept, 3, 'the same three lanes, not one made and let go a record');
    }
    // Containers come and go: past SPARE_LANES empty lanes, an emptied one is let go.
    for (let i = 0; i < SPARE_LANES + 500; i++) {
      b.push(of(`c${i}`, 'x'));
      b.shift(1);
    }
    assert.ok(b.lanesKept <= SPARE_LANES + 1, `${b.lanesKept} lanes kept`);
    assert.equal(b.length, 0);
  });

  it('gives back the ring a burst grew once its lane is emptied', async () => {
    const b = new RecordBuffer(1_000_000, 1 << 30);
    const e = env('x');
    await collectGarbage();
    const before = getHeapStatistics().used_heap_size;
    for (let i = 0; i < 200_000; i++) b.push(e);
    while (b.length > 0) b.shift(10_000);
    await collectGarbage();
    const kept = getHeapStatistics().used_heap_size - before;
    // The ring of 262,144 places is 2 MiB.
    assert.ok(kept < 512 * 1024, `${kept} bytes kept by an empty buffer`);
    assert.equal(b.lanesKept, 1);
  });
});
