// The buffer's policies under pressure: who gives way when it is full, that a
// flooding container cannot crowd out a quiet one, and what gaps it reports.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordBuffer } from '../../../../src/pipeline/buffer/memory.js';
import { containerMeta, envelope, type Envelope } from '../../../../src/core/record.js';
import { logPositions } from '../../../../src/sources/docker/log-position.js';

const noisy = containerMeta('a'.repeat(64), '/noisy', 'img', {});
const quiet = containerMeta('b'.repeat(64), '/quiet', 'img', {});

function line(meta: typeof noisy, n: number): Envelope {
  const time = `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.${String(n).padStart(9, '0')}Z`;
  return envelope({ type: 'log', position: logPositions, time, host: 'h', container: meta, stream: 'stdout', seq: 1, message: `${meta.name}-${n}` });
}

const messages = (batch: Envelope[]): string[] => batch.map((e) => (e.record.type === 'log' ? e.record.message : e.record.type));

describe('RecordBuffer policies', () => {
  it('drop-oldest: a quiet container’s line survives a flood; the flooder loses its oldest', () => {
    const b = new RecordBuffer(10, 1 << 20, 'drop-oldest');
    b.push(line(quiet, 1));
    let dropped = 0;
    for (let i = 1; i <= 100; i++) dropped += b.push(line(noisy, i));
    assert.equal(b.length, 10);
    assert.equal(dropped, 91);
    const out = messages(b.shift(100));
    assert.ok(out.includes('quiet-1'), 'the quiet line is still there');
    assert.deepEqual(
      out.filter((m) => m.startsWith('noisy')),
      Array.from({ length: 9 }, (_, i) => `noisy-${92 + i}`),
    );
  });

  it('drop-newest: the flooder’s new lines are refused, a quiet container’s new line still gets in', () => {
    const b = new RecordBuffer(10, 1 << 20, 'drop-newest');
    for (let i = 1; i <= 10; i++) b.push(line(noisy, i));
    assert.equal(b.push(line(noisy, 11)), 1, 'the new noisy line is dropped');
    assert.equal(b.push(line(quiet, 1)), 1, 'one noisy line makes room for the quiet one');
    const out = messages(b.shift(100));
    assert.deepEqual(
      out.filter((m) => m.startsWith('noisy')),
      Array.from({ length: 9 }, (_, i) => `noisy-${i + 1}`),
    );
    assert.ok(out.includes('quiet-1'));
  });

  it('block: drops nothing, goes over its limit and says it is full', () => {
    const b = new RecordBuffer(5, 1 << 20, 'block');
    for (let i = 1; i <= 8; i++) assert.equal(b.push(line(noisy, i)), 0);
    assert.equal(b.length, 8);
    assert.equal(b.full, true);
    b.shift(6);
    assert.equal(b.full, false);
  });

  it('limits by bytes as well as by count', () => {
    const one = line(noisy, 10).size;
    const b = new RecordBuffer(1000, one * 3 + 1, 'drop-oldest');
    for (let i = 1; i <= 10; i++) b.push(line(noisy, i));
    assert.equal(b.length, 3);
    assert.ok(b.bytes <= one * 3 + 1);
  });

  it('a record larger than the whole buffer is dropped at once, and the rest kept', () => {
    const b = new RecordBuffer(10, 2000, 'drop-oldest');
    b.push(line(quiet, 1));
    const huge = envelope({
      type: 'log',
      position: logPositions,
      time: '2026-01-01T00:00:00.000000000Z',
      host: 'h',
      container: noisy,
      stream: 'stdout',
      seq: 1,
      message: 'x'.repeat(5000),
    });
    assert.equal(b.push(huge), 1);
    assert.deepEqual(messages(b.shift(10)), ['quiet-1']);
  });

  it('takes turns between containers when emptied', () => {
    const b = new RecordBuffer(1000, 1 << 20);
    for (let i = 1; i <= 6; i++) b.push(line(noisy, i));
    b.push(line(quiet, 1));
    b.push(line(quiet, 2));
    const first = messages(b.shift(4));
    assert.deepEqual(first, ['noisy-1', 'noisy-2', 'quiet-1', 'quiet-2']);
    assert.deepEqual(messages(b.shift(10)), ['noisy-3', 'noisy-4', 'noisy-5', 'noisy-6']);
    assert.equal(b.length, 0);
    assert.equal(b.bytes, 0);
  });

  it('reports a gap per container and episode: count, first and last time lost', () => {
    const b = new RecordBuffer(2, 1 << 20, 'drop-oldest');
    for (let i = 1; i <= 5; i++) b.push(line(noisy, i), 1000 + i);
    assert.deepEqual(b.takeGaps(1500, 1000, 10_000), [], 'the episode is not over yet');
    const [gap, ...more] = b.takeGaps(2100, 1000, 10_000);
    assert.equal(more.length, 0);
    assert.equal(gap!.container, noisy);
    assert.equal(gap!.dropped, 3);
    assert.equal(gap!.from, line(noisy, 1).record.time);
    assert.equal(gap!.to, line(noisy, 3).record.time);
    assert.deepEqual(b.takeGaps(99_999, 0, 0), [], 'taken once');
  });

  it('closes a gap that never goes quiet after the longest episode', () => {
    const b = new RecordBuffer(1, 1 << 20, 'drop-oldest');
    for (let t = 0; t <= 12_000; t += 100) b.push(line(noisy, t), t);
    const gaps = b.takeGaps(12_000, 1000, 10_000);
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0]!.dropped, 120);
  });
});
