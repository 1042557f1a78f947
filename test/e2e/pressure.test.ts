// A sink that accepts nothing for a minute while a container prints 100,000
// lines: sidekick's memory stays within that sink's buffer plus a fixed
// margin, the other sink keeps delivering everything, and the dead sink
// recovers when its receiver returns, with what it lost reported in-band.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';
import { Receiver } from './receiver.js';

const LINES = 100_000;
/** The dead sink's buffer, and stdout's (which blocks rather than drops: it must get every line). */
const BUFFER_MIB = 16;
const STDOUT_BUFFER_MIB = 8;
/**
 * The budget: records a full buffer holds stay alive long enough to reach V8's
 * old space, which grows to about twice its live data before a full collection
 * (with the heap limit set to the same figure, as the README says); so twice
 * the buffers, plus a fixed margin for young space and stream buffers.
 */
const MARGIN_MIB = 64;
const BUDGET_MIB = 2 * (BUFFER_MIB + STDOUT_BUFFER_MIB) + MARGIN_MIB;
const DEAD_MS = 60_000;

describe('a sink that accepts nothing for a minute', () => {
  after(removeTestContainers);

  it('costs no more memory than its buffer, does not slow the other sink, and recovers', async () => {
    const rx = new Receiver(() => 'ndjson');
    await rx.up();
    const port = rx.port;
    await rx.down();
    const sk = new Sidekick({
      SIDEKICK_SINKS: `http://127.0.0.1:${port}/x?buffer=${BUFFER_MIB}MiB,stdout://?policy=block&buffer=${STDOUT_BUFFER_MIB}MiB`,
      SIDEKICK_TYPES: 'log',
      SIDEKICK_LOG_LEVEL: 'info',
      // The heap limit the README gives for these buffers: 2 x (16 + 8) + 64 MiB.
      NODE_OPTIONS: `--max-old-space-size=${BUDGET_MIB}`,
    });
    const name = uniqueName('flood');
    const sampler = sk.sampleRss();
    try {
      await sk.ready();
      await sleep(500);
      const baseline = sk.rss();
      const deadUntil = Date.now() + DEAD_MS;
      const pad = 'x'.repeat(80);
      await runContainer(name, [], `i=0; while [ $i -lt ${LINES} ]; do i=$((i+1)); echo "$i ${pad}"; done`);
      await waitExit(name);
      const onStdout = (): number => sk.logsOf(name).length;
      await sk.until(() => onStdout() >= LINES, 60_000, `all ${LINES} lines on stdout`);
      assert.ok(Date.now() < deadUntil, 'the other sink delivered everything while this one was dead');
      assert.equal(new Set(sk.logsOf(name).map((r) => r['message'])).size, LINES, 'stdout got each line once');
      await sleep(Math.max(0, deadUntil - Date.now()));
      await rx.up();
      // Of this container only: another's records must not end the wait before its last gap is told.
      const accounted = (): number =>
        rx.records().reduce((n, r) => n + (r.container?.name !== name ? 0 : r.type === 'gap' ? (r['dropped'] as number) : r.type === 'log' ? 1 : 0), 0);
      await sk.until(() => accounted() >= LINES, 30_000, 'the recovered sink to deliver its buffer and report its gap');
      await sleep(500);
      sampler.stop();
      const growth = (sampler.peak - baseline) / 1024 / 1024;
      process.stdout.write(
        `# RSS baseline ${(baseline / 1048576).toFixed(1)} MiB, peak ${(sampler.peak / 1048576).toFixed(1)} MiB, growth ${growth.toFixed(1)} MiB\n`,
      );
      assert.ok(growth <= BUDGET_MIB, `RSS grew ${growth.toFixed(1)} MiB, more than the budget, ${BUDGET_MIB} MiB`);
      const delivered = rx.records().filter((r) => r.type === 'log' && r.container?.name === name).length;
      const dropped = rx
        .records()
        .filter((r) => r.type === 'gap' && r.container?.name === name)
        .reduce((n, r) => n + (r['dropped'] as number), 0);
      assert.ok(dropped > 0, 'the dead sink dropped records');
      assert.equal(delivered + dropped, LINES, 'what the recovered sink got and what it was told it lost add up');
    } finally {
      sampler.stop();
      const exit = await sk.stop();
      await rx.down();
      assert.equal(exit.code, 0);
    }
  });
});
