// Flow: the one way readers wait while a sink under `block` is full.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Flow } from '../../../src/core/flow.js';

const settled = async (p: Promise<void>): Promise<boolean> => {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
};

describe('Flow', () => {
  it('is ready at once while no sink blocks, and once the last blocking sink drains', async () => {
    const flow = new Flow();
    assert.equal(await settled(flow.ready()), true);
    const a = {};
    const b = {};
    flow.block(a);
    flow.block(b);
    const waiting = flow.ready();
    assert.equal(await settled(waiting), false);
    flow.unblock(a);
    assert.equal(await settled(waiting), false, 'another sink still blocks');
    flow.unblock(b);
    assert.equal(await settled(waiting), true);
  });

  it('lets a reader that is stopping go while a sink still blocks', async () => {
    const flow = new Flow();
    flow.block({});
    const abort = new AbortController();
    const waiting = flow.ready(abort.signal);
    assert.equal(await settled(waiting), false);
    abort.abort();
    assert.equal(await settled(waiting), true);
    assert.equal(await settled(flow.ready(abort.signal)), true, 'already stopping: at once');
  });

  it('pauses a stream while a sink blocks and resumes it after', async () => {
    const flow = new Flow();
    const stream = new PassThrough();
    stream.resume();
    flow.hold(stream);
    assert.equal(stream.isPaused(), false, 'nothing blocks');
    const sink = {};
    flow.block(sink);
    flow.hold(stream);
    assert.equal(stream.isPaused(), true);
    flow.hold(stream);
    flow.unblock(sink);
    await new Promise((r) => setImmediate(r));
    assert.equal(stream.isPaused(), false);
  });
});
