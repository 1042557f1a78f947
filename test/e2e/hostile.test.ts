// Output anyone's container can write: a 10 MB line without a newline, a flood
// of empty lines, binary garbage, ANSI escapes, NUL bytes, invalid UTF-8, and a
// container writing as fast as it can. sidekick stays within its memory
// budget, a quiet container's lines keep flowing through the flood, and every
// line on stdout is valid JSON.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { docker, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';

const BUFFER_MIB = 16;
/** stdout, and a sink whose host does not resolve: its buffer fills and stays full. */
const SINKS = 2;
/** The budget: twice the buffers (their records reach V8's old space), plus a fixed margin. */
const BUDGET_MIB = 2 * SINKS * BUFFER_MIB + 64;

describe('hostile container output', () => {
  after(removeTestContainers);

  it('started without a heap limit, beside a dead sink: stays within its memory budget, lets a quiet container through, and writes valid JSON only', async () => {
    // The plain start command, no NODE_OPTIONS: sidekick sets the heap limit its buffers need.
    const sk = new Sidekick({
      SIDEKICK_SINKS: `stdout://?buffer=${BUFFER_MIB}MiB,http://sidekick-test.invalid/in?buffer=${BUFFER_MIB}MiB`,
      SIDEKICK_TYPES: 'log',
      SIDEKICK_LOG_LEVEL: 'info',
    });
    const names = {
      long: uniqueName('long-line'),
      empty: uniqueName('empty-lines'),
      garbage: uniqueName('garbage'),
      odd: uniqueName('escapes'),
      noisy: uniqueName('noisy'),
      quiet: uniqueName('quiet'),
    };
    const sampler = sk.sampleRss();
    try {
      await sk.ready();
      await sleep(500);
      const baseline = sk.rss();
      await runContainer(names.quiet, [], 'i=0; while true; do i=$((i+1)); echo "tick $i"; usleep 200000; done');
      await sk.until(() => sk.logsOf(names.quiet).length >= 3, 15_000, 'the quiet container');
      // As fast as it can: 100-byte lines, until removed.
      await runContainer(names.noisy, [], `yes "$(head -c 99 /dev/zero | tr '\\0' n)"`);
      await runContainer(names.long, [], "head -c 10000000 /dev/zero | tr '\\0' x");
      await runContainer(names.empty, [], "yes '' | head -n 200000");
      await runContainer(names.garbage, [], 'head -c 2000000 /dev/urandom');
      await runContainer(names.odd, [], String.raw`printf '\033[31mred\033[0m\n'; printf 'a\000b\n'; printf '\377\376bad\n'; printf 'tab\there\n'`);

      // Through the flood, the quiet container's lines keep coming: never 3 s without one.
      const floodEnd = Date.now() + 8_000;
      let seen = sk.logsOf(names.quiet).length;
      let lastNew = Date.now();
      let longestStall = 0;
      while (Date.now() < floodEnd) {
        await sleep(100);
        const now = sk.logsOf(names.quiet).length;
        if (now > seen) {
          longestStall = Math.max(longestStall, Date.now() - lastNew);
          seen = now;
          lastNew = Date.now();
        }
      }
      longestStall = Math.max(longestStall, Date.now() - lastNew);
      const noisyLines = sk.logsOf(names.noisy).length;
      await docker('rm', '-f', names.noisy, names.quiet);
      for (const name of [names.long, names.empty, names.garbage, names.odd]) await waitExit(name);
      const droppedOf = (name: string): number => sk.of(name, 'gap').reduce((n, r) => n + (r['dropped'] as number), 0);
      await sk.until(
        () => sk.logsOf(names.empty).length + droppedOf(names.empty) >= 200_000,
        60_000,
        () => `the empty lines (${sk.logsOf(names.empty).length} delivered, ${droppedOf(names.empty)} dropped)`,
      );
      await sk.until(() => sk.logsOf(names.odd).length >= 4 && sk.logsOf(names.long).length >= 1, 30_000, 'the odd lines and the long line');
      await sleep(1000);
      sampler.stop();

      const growth = (sampler.peak - baseline) / 1024 / 1024;
      process.stdout.write(
        `# hostile: ${noisyLines} noisy lines in 8 s; quiet's longest stall ${longestStall} ms; RSS baseline ${(baseline / 1048576).toFixed(0)} MiB, growth ${growth.toFixed(0)} MiB\n`,
      );
      assert.deepEqual(sk.notJson, [], 'every stdout line is JSON');
      assert.doesNotMatch(sk.stderr, /heap limit is too small|no heap limit near the buffers/, 'the heap limit fits the buffer');
      assert.ok(longestStall < 3000, `the quiet container stalled ${longestStall} ms`);
      assert.ok(growth <= BUDGET_MIB, `RSS grew ${growth.toFixed(0)} MiB, over the budget of ${BUDGET_MIB} MiB`);

      const long = sk.logsOf(names.long);
      assert.equal(long.length, 1);
      assert.equal(long[0]!['truncated'], true);
      assert.equal((long[0]!['message'] as string).length, 1024 * 1024, 'cut at SIDEKICK_MAX_LINE');
      // 200,000 records at once are more than the buffer holds: what drop-oldest dropped is told in-band.
      const empties = sk.logsOf(names.empty);
      assert.ok(empties.every((r) => r['message'] === ''));
      assert.equal(empties.length + droppedOf(names.empty), 200_000, 'each empty line delivered, or counted in a gap record');
      const ticks = sk.logsOf(names.quiet).map((r) => Number((r['message'] as string).slice('tick '.length)));
      assert.deepEqual(
        ticks,
        Array.from({ length: ticks.length }, (_, i) => i + 1),
        'the quiet container lost nothing',
      );
      assert.deepEqual(
        sk.logsOf(names.odd).map((r) => r['message']),
        ['\u001b[31mred\u001b[0m', 'a\u0000b', '\ufffd\ufffdbad', 'tab\there'],
      );
      assert.ok(sk.logsOf(names.garbage).every((r) => typeof r['message'] === 'string'));
    } finally {
      sampler.stop();
      assert.equal((await sk.stop()).code, 0);
    }
  });
});
