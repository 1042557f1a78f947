// The heap's mode: optimizing for size while sidekick is quiet, growing freely
// while it is busy (many scavenges a second), lean again after a quiet while.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { BUSY_SCAVENGES, HeapMode, modeGiven, QUIET_SECONDS, watchHeapMode } from '../../../src/observe/heap-mode.js';

const LEAN = '--optimize-for-size --semi-space-growth-factor=1';
const FREE = '--no-optimize-for-size --semi-space-growth-factor=2';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/**
 * About 2 MB/s for 3 s, too few scavenges to be busy; the newest 20,000
 * objects kept a while, so that as much as the young generation holds
 * survives its collections: what makes V8 double it (4 to 8 MiB here).
 */
const GROWER = `
import { getHeapSpaceStatistics } from 'node:v8';
import { Registry } from ${JSON.stringify(require.resolve('prom-client'))};
const { watchHeapMode } = await import(${JSON.stringify(new URL('../../../src/observe/heap-mode.js', import.meta.url).href)});
const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const watch = watchHeapMode(new Registry());
const start = young();
let most = start;
const ring = new Array(20000);
let i = 0;
const until = Date.now() + 3000;
while (Date.now() < until) {
  for (let k = 0; k < 250; k++, i++) ring[i % ring.length] = { i, s: 'line ' + i };
  most = Math.max(most, young());
  await new Promise((resolve) => setTimeout(resolve, 10));
}
process.stdout.write(JSON.stringify({ start, most, lean: watch.mode.lean }));
watch.stop();
`;

function seconds(mode: HeapMode, n: number, scavenges: number): void {
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < scavenges; i++) mode.scavenged();
    mode.tick();
  }
}

describe('heap mode', () => {
  it('starts lean: V8 told to optimize for size, and not to grow the young generation, at once', () => {
    const said: string[] = [];
    const mode = new HeapMode((f) => said.push(f));
    assert.deepEqual(said, [LEAN]);
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
    assert.deepEqual(said, [LEAN, FREE]);
    seconds(mode, QUIET_SECONDS - 1, 0);
    seconds(mode, 1, BUSY_SCAVENGES); // busy again: the quiet count starts over
    seconds(mode, QUIET_SECONDS - 1, 0);
    assert.equal(mode.lean, false);
    seconds(mode, 1, 0);
    assert.equal(mode.lean, true);
    assert.deepEqual(said, [LEAN, FREE, LEAN]);
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
      assert.deepEqual(said, [LEAN, FREE]);
      assert.equal((await registry.getSingleMetric('sidekick_heap_lean')?.get())?.values[0]?.value, 0);
    } finally {
      watch.stop();
    }
  });

  it('keeps the young generation at its size while lean, where V8 would double it (survivors of 2 MB/s)', async () => {
    // In a process of its own: a fresh heap, with the image's cap on the young generation.
    const { stdout } = await run(process.execPath, ['--max-semi-space-size=4', '--input-type=module', '-e', GROWER], { timeout: 20_000 });
    const { start, most, lean } = JSON.parse(stdout) as { start: number; most: number; lean: boolean };
    assert.equal(lean, true);
    assert.ok(most <= start, `the young generation grew from ${start} to ${most} bytes`);
  });
});
