// Faults an operator meets: no permission on the socket, a sink whose host
// does not resolve, a full disk under the state directory, and SIGHUP.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';

const exec = promisify(execFile);

/** A metric's value in a Prometheus text page; 0 if absent. */
function metric(page: string, name: string, labels = ''): number {
  const line = page.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? '' : `{${labels}`}`) && !l.startsWith('#'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('faults', () => {
  after(removeTestContainers);

  it('permission denied on the socket: says which group to join, keeps trying, /readyz 503', async () => {
    // The bundle, in a folder anyone may read: the checkout itself may be private to root.
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-nonroot-'));
    chmodSync(dir, 0o755);
    const script = join(dir, 'sidekick.mjs');
    await exec(process.execPath, [fileURLToPath(new URL('../../../scripts/bundle.mjs', import.meta.url)), dir], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    });
    const sk = new Sidekick({}, [], { uid: 65532, gid: 65532, script });
    try {
      await sk.until(() => sk.stderr.includes('permission denied'), 15_000, 'the permission error');
      const { stdout: gid } = await exec('stat', ['-c', '%g', '/var/run/docker.sock']);
      assert.match(
        sk.stderr,
        new RegExp(
          `permission denied on /var/run/docker.sock \\((group [^,]+, )?gid ${gid.trim()}\\): run sidekick in that group \\(docker run --group-add ${gid.trim()}`,
        ),
      );
      const ready = await sk.get('/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body, /permission denied on \/var\/run\/docker.sock/);
      assert.equal(sk.stderr.split('\n').filter((l) => l.includes('permission denied')).length, 1, 'said once, not at every retry');
    } finally {
      assert.equal((await sk.stop()).code, 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a sink whose host does not resolve: retried and counted, warned once; the other sink goes on', async () => {
    const sk = new Sidekick({ SIDEKICK_SINKS: 'stdout://,http://no-such-host.invalid:9/?flush=100ms', SIDEKICK_TYPES: 'log' });
    const name = uniqueName('dns');
    try {
      await sk.ready();
      await runContainer(name, [], 'for i in 1 2 3; do echo line $i; done');
      await waitExit(name);
      await sk.until(() => sk.logsOf(name).length === 3, 15_000, 'the lines on stdout');
      const page = async (): Promise<string> => (await sk.get('/metrics')).body;
      await sk.until(() => sk.stderr.includes('sink write failed; retrying with backoff'), 15_000, 'the warning');
      await sleep(1500);
      const retried = metric(await page(), 'sidekick_sink_records_retried_total', 'sink="http://no-such-host.invalid:9/?flush=100ms"');
      assert.ok(retried >= 3, `retried ${retried}`);
      assert.equal(sk.stderr.split('\n').filter((l) => l.includes('sink write failed')).length, 1);
      assert.match(sk.stderr, /"kind":"(enotfound|eai_again)"/);
    } finally {
      const exit = await sk.stop();
      assert.equal(exit.code, 0);
      assert.ok(exit.ms < 11_000, `stopped in ${exit.ms} ms`);
    }
  });

  it('a full disk under the state directory: warns once, counts, collects on, and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-full-'));
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
    const sk = new Sidekick({ SIDEKICK_STATE_DIR: join(dir, 'state'), SIDEKICK_TYPES: 'log' });
    const name = uniqueName('diskfull');
    try {
      mkdirSync(join(dir, 'state'));
      // Fill the disk: the checkpoint files cannot be written.
      await exec('sh', ['-c', `dd if=/dev/zero of=${dir}/fill bs=1k count=64 2>/dev/null || true`]);
      await sk.ready();
      await runContainer(name, [], 'i=0; while [ $i -lt 20 ]; do i=$((i+1)); echo line $i; sleep 0.1; done');
      await sk.until(() => sk.stderr.includes('cannot write checkpoints'), 15_000, 'the warning');
      await waitExit(name);
      await sk.until(() => sk.logsOf(name).length === 20, 15_000, 'every line, all the same');
      const errors = metric((await sk.get('/metrics')).body, 'sidekick_checkpoint_write_errors_total');
      assert.ok(errors >= 1, `counted: ${errors}`);
      assert.equal(sk.stderr.split('\n').filter((l) => l.includes('cannot write checkpoints')).length, 1, 'warned once');
      rmSync(join(dir, 'fill'));
      await sk.until(() => sk.stderr.includes('checkpoints written again'), 10_000, 'the recovery');
    } finally {
      assert.equal((await sk.stop()).code, 0);
      await exec('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGHUP writes the checkpoints, matches the file globs again at once, and reports', async () => {
    const state = mkdtempSync(join(tmpdir(), 'sidekick-hup-state-'));
    const logs = mkdtempSync(join(tmpdir(), 'sidekick-hup-files-'));
    const sk = new Sidekick({ SIDEKICK_STATE_DIR: state, SIDEKICK_FILES: `${logs}/**/*.log`, SIDEKICK_FILES_SCAN: '1h', SIDEKICK_TYPES: 'file' });
    try {
      await sk.ready();
      // In a folder made after start: inotify does not watch it, and the next scan is an hour away.
      mkdirSync(join(logs, 'later'));
      writeFileSync(join(logs, 'later', 'new.log'), 'found by SIGHUP\n');
      await sleep(1000);
      assert.equal(sk.records.length, 0);
      process.kill(sk.pid, 'SIGHUP');
      await sk.until(() => sk.records.some((r) => r['message'] === 'found by SIGHUP'), 10_000, 'the new file');
      assert.match(sk.stderr, /SIGHUP: checkpoints written, file globs matched again/);
    } finally {
      assert.equal((await sk.stop()).code, 0);
      rmSync(state, { recursive: true, force: true });
      rmSync(logs, { recursive: true, force: true });
    }
  });
});
