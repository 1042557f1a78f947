import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READ_BIG, READ_REST_MS, ReadPace } from '../../../src/docker/read-pace.js';

describe('ReadPace', () => {
  it('never rests after a read that follows a quiet moment: a line that comes alone waits for nothing', () => {
    const pace = new ReadPace();
    for (let t = 0; t < 1000; t += READ_REST_MS + 0.5) assert.equal(pace.rest(100, t), false, `at ${t} ms`);
  });

  it('rests after small reads that come back to back, as in a flood of lines written one by one', () => {
    const pace = new ReadPace();
    assert.equal(pace.rest(150, 0), false);
    assert.equal(pace.rest(150, 0.05), true);
    // After the rest: what gathered is read, then the next small read rests again.
    assert.equal(pace.rest(20_000, 0.05 + READ_REST_MS), false);
    assert.equal(pace.rest(300, 0.1 + READ_REST_MS), true);
  });

  it('reads on at once after a big read: what came is more than a rest holds, and the sender is not held up', () => {
    const pace = new ReadPace();
    pace.rest(150, 0);
    assert.equal(pace.rest(READ_BIG, 0.01), false);
    assert.equal(pace.rest(READ_BIG - 1, 0.02), true);
  });

  it('takes its rest and size', () => {
    const pace = new ReadPace(10, 100);
    pace.rest(1, 0);
    assert.equal(pace.rest(99, 9), true);
    assert.equal(pace.rest(100, 10), false);
    assert.equal(pace.rest(1, 25), false);
  });
});
