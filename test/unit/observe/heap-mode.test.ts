// The heap's mode: optimizing for size while sidekick is quiet, growing freely
// while it is busy (many scavenges a second), lean again after a quiet while.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { BUSY_SCAVENGES, HeapMode, modeGiven, QUIET_SECONDS, watchHeapMode } from '../../../src/observe/heap-mode.js';

function seconds(mode: HeapMode, n: number, scavenges: number): void {
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < scavenges; i++) mode.scavenged();
    mode.tick();
  }
}

describe('heap mode', () => {
  it('starts lean: V8 told to optimize for size at once', () => {
    const said: string[] = [];
    const mode = new HeapMode((f) => said.push(f));
    assert.deepEqual(said, ['--optimize-for-size']);
    assert.equal(mode.lean, true);
  });

  it('stays lean through seconds with fewer scavenges than busy', () => {
    const said: string[] = [];
    const mode = new HeapMode((f) => said.push(f));
    seconds(mode, 30, BUSY_SCAVENGES - 1);
    assert.equal(mode.lean, true);
    assert.equal(said.length, 1);
  });

  it('grows freely in the second it is busy, and is lean again only after quiet seconds in a row', () => {
    const said: string[] = [];
    const mode = new HeapMode((f) => said.push(f));
    seconds(mode, 1, BUSY_SCAVENGES);
    assert.equal(mode.lean, false);
    assert.deepEqual(said, ['--optimize-for-size', '--no-optimize-for-size']);
    seconds(mode, QUIET_SECONDS - 1, 0);
    seconds(mode, 1, BUSY_SCAVENGES); // busy again: the quiet count starts over
    seconds(mode, QUIET_SECONDS - 1, 0);
    assert.equal(mode.lean, false);
    seconds(mode, 1, 0);
    assert.equal(mode.lean, true);
    assert.deepEqual(said, ['--optimize-for-size', '--no-optimize-for-size', '--optimize-for-size']);
    assert.equal(mode.switches, 2);
  });

  it("leaves the mode to node's command line when it was given there", () => {
    assert.equal(modeGiven(['--optimize-for-size']), true);
    assert.equal(modeGiven(['--no-optimize_for_size']), true);
    assert.equal(modeGiven(['--max-semi-space-size=4', '--optimize-for-size-x']), false);
  });

  it("counts V8's real scavenges: an allocating second turns it busy, and the gauge says so", async () => {
    const said: string[] = [];
    const registry = new Registry();
    const watch = watchHeapMode(registry, (f) => said.push(f));
    assert.ok(watch !== undefined);
    try {
      assert.equal((await registry.getSingleMetric('sidekick_heap_lean')?.get())?.values[0]?.value, 1);
      // Far more than BUSY_SCAVENGES young collections' worth of short-lived objects.
      let kept: unknown[] = [];
      for (let i = 0; i < 3_000_000; i++) {
        kept.push({ i, s: `line ${i}` });
        if (kept.length > 1000) kept = [];
      }
      // GC entries reach observers on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      watch.mode.tick();
      assert.equal(watch.mode.lean, false);
      assert.deepEqual(said, ['--optimize-for-size', '--no-optimize-for-size']);
      assert.equal((await registry.getSingleMetric('sidekick_heap_lean')?.get())?.values[0]?.value, 0);
    } finally {
      watch.stop();
    }
  });
});
