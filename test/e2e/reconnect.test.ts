// Losing the daemon: the socket is cut under sidekick (and restored), and the
// real dockerd is restarted. Nothing started during the gap is missed, and
// nothing is collected twice.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, engine, removeTestContainers, runContainer, Sidekick, sleep, SocketProxy, uniqueName, waitExit } from './harness.js';

/** The numbers in "<prefix><n>" messages, in arrival order. */
function sequence(sk: Sidekick, name: string, prefix: string): number[] {
  return sk
    .logsOf(name)
    .map((r) => r['message'] as string)
    .filter((m) => m.startsWith(prefix))
    .map((m) => Number(m.slice(prefix.length)));
}

function assertConsecutive(seq: readonly number[], from: number, to: number): void {
  const missing: number[] = [];
  const twice: number[] = [];
  const seen = new Set<number>();
  for (const n of seq) {
    if (seen.has(n)) twice.push(n);
    seen.add(n);
  }
  for (let n = from; n <= to; n++) if (!seen.has(n)) missing.push(n);
  assert.deepEqual({ missing, twice }, { missing: [], twice: [] });
}

describe('when the Docker socket is cut and restored', () => {
  after(removeTestContainers);

  it('resumes events and logs: a container started during the gap is collected once, a running one loses and repeats nothing', async () => {
    const proxy = new SocketProxy(join(tmpdir(), `sidekick-proxy-${process.pid}.sock`));
    await proxy.open();
    const sk = new Sidekick({ DOCKER_HOST: `unix://${proxy.path}` });
    try {
      await sk.ready();
      const steady = uniqueName('steady');
      await runContainer(steady, [], 'i=0; while [ $i -lt 100 ]; do i=$((i+1)); echo seq-$i; sleep 0.05; done');
      await sk.until(() => sequence(sk, steady, 'seq-').length >= 10, 15_000, `10 lines of ${steady}`);

      await proxy.cut();
      const during = uniqueName('gap');
      const brief = uniqueName('gap-brief');
      await runContainer(during, [], 'echo gap-1; echo gap-2; sleep 30');
      await runContainer(brief, [], 'echo brief-1');
      await waitExit(brief);
      await sleep(1500);
      await proxy.open();

      await waitExit(steady);
      await sk.until(() => sequence(sk, steady, 'seq-').length >= 100, 20_000, `all 100 lines of ${steady}`);
      await sk.until(() => sk.logsOf(during).length >= 2 && sk.logsOf(brief).length >= 1, 20_000, 'the gap containers');
      await sleep(1000); // room for a duplicate to show up
      assertConsecutive(sequence(sk, steady, 'seq-'), 1, 100);
      assert.deepEqual(
        sk.logsOf(during).map((r) => r['message']),
        ['gap-1', 'gap-2'],
      );
      assert.deepEqual(
        sk.logsOf(brief).map((r) => r['message']),
        ['brief-1'],
      );
      const starts = sk.of(during, 'event').filter((r) => r['action'] === 'start');
      assert.equal(starts.length, 1, 'the start event of the gap container, once');
      assert.equal(sk.of(during, 'inspect').length, 1);
      assert.match(sk.stderr, /docker event stream lost/);
      assert.match(sk.stderr, /docker event stream attached again/);
    } finally {
      const exit = await sk.stop();
      await proxy.cut();
      assert.equal(exit.code, 0);
    }
  });
});

describe('when dockerd restarts', () => {
  after(removeTestContainers);

  it('keeps running, delivers every line of a container the restart stopped, and collects a container started afterwards', async () => {
    const sk = new Sidekick();
    try {
      await sk.ready();
      const before = uniqueName('pre-restart');
      await runContainer(before, [], 'i=0; while true; do i=$((i+1)); echo n-$i; sleep 0.05; done');
      await sk.until(() => sequence(sk, before, 'n-').length >= 5, 15_000, `5 lines of ${before}`);

      await engine('restart');
      const last = Number((await docker('logs', '--tail', '1', before)).trim().slice('n-'.length));
      const afterName = uniqueName('post-restart');
      await runContainer(afterName, [], 'echo after-restart');
      await waitExit(afterName);
      await sk.until(() => sk.logsOf(afterName).length === 1, 30_000, `the line of ${afterName}`);
      await sk.until(() => sequence(sk, before, 'n-').length >= last, 20_000, `all ${last} lines of ${before}`);
      await sleep(500);
      assertConsecutive(sequence(sk, before, 'n-'), 1, last);
      assert.equal(sk.logsOf(afterName)[0]!['message'], 'after-restart');
      assert.equal(sk.of(afterName, 'event').filter((r) => r['action'] === 'start').length, 1);
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
    }
  });
});
