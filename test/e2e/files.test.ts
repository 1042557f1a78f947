// Tailing log files in containers' volumes (SIDEKICK_FILES), read on the host
// where Docker keeps the volumes, with real containers writing them.

import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, removeTestContainers, RUN_LABEL, runContainer, Sidekick, sleep, uniqueName, waitExit, type Json } from './harness.js';

const volumes: string[] = [];

async function volume(): Promise<string> {
  const name = uniqueName('vol');
  await docker('volume', 'create', '--label', RUN_LABEL, name);
  volumes.push(name);
  return name;
}

async function mountpoint(name: string): Promise<string> {
  return docker('volume', 'inspect', '-f', '{{.Mountpoint}}', name);
}

function fileLines(sk: Sidekick): Json[] {
  return sk.records.filter((r) => r.type === 'file');
}

/** 1..n, each exactly once. */
function assertEachOnce(numbers: readonly number[], n: number): void {
  const counts = new Map<number, number>();
  for (const x of numbers) counts.set(x, (counts.get(x) ?? 0) + 1);
  const missing: number[] = [];
  const twice: number[] = [];
  for (let i = 1; i <= n; i++) {
    const c = counts.get(i) ?? 0;
    if (c === 0) missing.push(i);
    if (c > 1) twice.push(i);
  }
  assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10), total: numbers.length }, { missing: [], twice: [], total: n });
}

describe('tailing files in volumes', () => {
  after(async () => {
    await removeTestContainers();
    for (const v of volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
  });

  it('delivers every line an app writes to a file in its declared volume, tagged with the app', async () => {
    const root = await docker('info', '-f', '{{.DockerRootDir}}');
    const sk = new Sidekick({ SIDEKICK_FILES: `${root}/volumes/*/_data/*.log`, SIDEKICK_FILES_SCAN: '500ms', SIDEKICK_TYPES: 'file' });
    const name = uniqueName('file-app');
    try {
      await sk.ready();
      // -v with only a path: an anonymous volume, declared like an image's VOLUME.
      await runContainer(name, ['-v', '/var/log/app'], 'i=1; while [ $i -le 2000 ]; do echo "line $i" >> /var/log/app/access.log; i=$((i+1)); done');
      await waitExit(name);
      const source = await docker('inspect', '-f', '{{range .Mounts}}{{.Source}}{{end}}', name);
      const mine = (): Json[] => fileLines(sk).filter((r) => r['path'] === `${source}/access.log`);
      await sk.until(() => mine().length >= 2000, 20_000, 'the 2,000 lines of the file');
      await sleep(300);
      assert.deepEqual(
        mine().map((r) => r['message']),
        Array.from({ length: 2000 }, (_, i) => `line ${i + 1}`),
      );
      assert.ok(
        mine().every((r) => r.container?.name === name),
        'every line carries the app container',
      );
      assert.equal(sk.notJson.length, 0);
    } finally {
      await sk.stop();
      await docker('rm', '-f', '-v', name).catch(() => undefined);
    }
  });

  it('keeps every numbered line once through rename rotation, a restart, rotation while stopped, copytruncate, delete and re-create', async () => {
    const LINES = 60_000;
    const vol = await volume();
    const dir = await mountpoint(vol);
    const log = join(dir, 'app.log');
    const state = mkdtempSync(join(tmpdir(), 'sidekick-state-'));
    const env = { SIDEKICK_FILES: `${dir}/*.log`, SIDEKICK_FILES_SCAN: '500ms', SIDEKICK_TYPES: 'file', SIDEKICK_STATE_DIR: state, SIDEKICK_LOG_LEVEL: 'info' };
    const name = uniqueName('rotating-app');
    // About 10,000 lines/s, each appended by its own open (as loggers that reopen do); waits while /logs/pause exists.
    const writer = `i=1; while [ $i -le ${LINES} ]; do while [ -e /logs/pause ]; do usleep 20000; done; echo $i >> /logs/app.log; if [ $((i % 100)) -eq 0 ]; then usleep 10000; fi; i=$((i+1)); done`;
    const got: number[] = [];
    let sk = new Sidekick(env);
    const delivered = (): number => got.length + fileLines(sk).length;
    const step = async (n: number, what: string): Promise<void> => sk.until(() => delivered() >= n, 60_000, what);
    try {
      await sk.ready();
      await runContainer(name, ['-v', `${vol}:/logs`], writer);
      await step(5_000, 'lines of the file created after sidekick started');
      renameSync(log, `${log}.1`);
      await step(15_000, 'lines after a rename rotation');

      assert.equal((await sk.stop()).code, 0);
      got.push(...fileLines(sk).map((r) => Number(r['message'])));
      await sleep(300);
      renameSync(log, `${log}.1`);
      sk = new Sidekick(env);
      await sk.ready();
      await step(30_000, 'lines after a restart, with a rotation while stopped');

      // copytruncate loses what is written between the copy and the truncate, with any
      // tailer; the writer holds still meanwhile, as the documentation advises.
      writeFileSync(join(dir, 'pause'), '');
      await sleep(200);
      const last = Number(readFileSync(log, 'utf8').trimEnd().split('\n').at(-1));
      await step(last, 'every line written before copytruncate');
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
      unlinkSync(join(dir, 'pause'));
      await step(40_000, 'lines after copytruncate');

      unlinkSync(log);
      await waitExit(name);
      await step(LINES, 'every line');
      await sleep(500);
      assert.equal((await sk.stop()).code, 0);
      got.push(...fileLines(sk).map((r) => Number(r['message'])));
      assertEachOnce(got, LINES);
      assert.ok(fileLines(sk).every((r) => r.container?.name === name && r['path'] === log));
    } finally {
      await sk.stop();
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('tails 200 files at once with one descriptor each and a bounded memory', async () => {
    const FILES = 200;
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-many-'));
    for (let f = 0; f < FILES; f++) writeFileSync(join(dir, `f${f}.log`), Array.from({ length: 50 }, (_, i) => `${f}-${i}`).join('\n') + '\n');
    const sk = new Sidekick({ SIDEKICK_FILES: `${dir}/*.log`, SIDEKICK_TYPES: 'file', SIDEKICK_STATS_INTERVAL: '0' });
    try {
      await sk.ready();
      await sk.until(() => fileLines(sk).length >= FILES * 50, 30_000, 'the first lines of every file');
      for (let round = 0; round < 5; round++) {
        for (let f = 0; f < FILES; f++) appendFileSync(join(dir, `f${f}.log`), Array.from({ length: 50 }, (_, i) => `${f}-r${round}-${i}`).join('\n') + '\n');
        await sleep(200);
      }
      await sk.until(() => fileLines(sk).length >= FILES * 300, 30_000, 'every line of every file');
      const fds = readdirSync(`/proc/${sk.pid}/fd`).length;
      const rss = sk.collectorRss();
      process.stdout.write(`# 200 files: ${fds} descriptors, ${(rss / 2 ** 20).toFixed(0)} MiB resident (the collecting process)\n`);
      assert.ok(fds <= FILES + 40, `one descriptor per file and a few more, not ${fds}`);
      assert.ok(rss <= 128 * 2 ** 20, `within 128 MiB, not ${(rss / 2 ** 20).toFixed(0)} MiB`);
      assert.equal(new Set(fileLines(sk).map((r) => r['message'])).size, FILES * 300, 'each line once');
    } finally {
      await sk.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
