// The process as an operator meets it: a bad setting stops it at once with
// exit code 2, a missing daemon is waited for, and SIGTERM always ends it
// cleanly.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Sidekick } from './harness.js';

/** The command lines of a process's children. */
function childIds(pid: number): string[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .split(' ')
    .filter((c) => c !== '');
}

/** The command lines of a process's children. */
function children(pid: number): string[] {
  return childIds(pid).map((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').trim());
}

describe('the sidekick process', () => {
  it('exits 2 on a bad setting, naming it, before touching Docker', async () => {
    const sk = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', SIDEKICK_TYPES: 'log,metrics' });
    const exit = await sk.exit();
    assert.equal(exit.code, 2);
    assert.match(sk.stderr, /SIDEKICK_TYPES \(--types\) = "log,metrics": unknown type "metrics"; allowed: log, event, inspect, stats/);
    assert.doesNotMatch(sk.stderr, /docker does not answer/);
    assert.equal(sk.records.length, 0);
  });

  it('lists every setting in --help and exits 0', async () => {
    const sk = new Sidekick({}, ['--help']);
    const exit = await sk.exit();
    assert.equal(exit.code, 0);
    const help = sk.notJson.join('\n');
    for (const variable of [
      'DOCKER_HOST',
      'DOCKER_TLS_VERIFY',
      'DOCKER_CERT_PATH',
      'SIDEKICK_SINKS',
      'SIDEKICK_TYPES',
      'SIDEKICK_HOSTNAME',
      'SIDEKICK_LOG_LEVEL',
      'SIDEKICK_DOCKER_CONCURRENCY',
    ]) {
      assert.match(help, new RegExp(`--[a-z-]+, ${variable}\\n`), variable);
    }
  });

  it('waits for a Docker daemon that is not there, and stops cleanly on SIGTERM', async () => {
    const sk = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    await sk.until(() => sk.stderr.includes('docker does not answer; retrying'), 10_000, 'the retry warning');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sk.stderr.match(/docker does not answer/g)?.length, 1, 'warned once, not once per attempt');
    const exit = await sk.stop();
    assert.equal(exit.code, 0);
    assert.ok(exit.ms < 10_000);
  });

  it('started without a heap limit, runs itself with the one its buffers need, a 4 MiB semi-space and glibc’s malloc settings; a limit given is kept', async () => {
    const plain = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', SIDEKICK_SINKS: 'stdout://?buffer=32MiB' });
    await plain.until(() => plain.stderr.includes('docker does not answer'), 10_000, 'the child to run');
    // 2 x 32 MiB + 64 MiB.
    assert.deepEqual(
      children(plain.pid).map((c) => [/--max-old-space-size=(\d+)/.exec(c)?.[1], /--max-semi-space-size=(\d+)/.exec(c)?.[1]]),
      [['128', '4']],
    );
    assert.deepEqual(
      childIds(plain.pid).map((c) =>
        readFileSync(`/proc/${c}/environ`, 'utf8')
          .split('\0')
          .filter((v) => v.startsWith('MALLOC_'))
          .sort(),
      ),
      [['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=32768', 'MALLOC_TRIM_THRESHOLD_=65536']],
    );
    assert.equal((await plain.stop()).code, 0);

    const given = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', NODE_OPTIONS: '--max-old-space-size=300' });
    await given.until(() => given.stderr.includes('docker does not answer'), 10_000, 'it to run');
    assert.deepEqual(children(given.pid), []);
    assert.equal((await given.stop()).code, 0);
  });

  it('stopped by SIGTERM while its relaunched child is still starting, exits 0', async () => {
    const sk = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    // At once when the child is there: it is still loading, and cannot handle the signal yet.
    while (children(sk.pid).length === 0) await new Promise((r) => setTimeout(r, 5));
    const exit = await sk.stop();
    assert.deepEqual([exit.code, exit.signal], [0, null]);
  });

  it('started without a heap limit and killed, takes its child with it', async () => {
    const sk = new Sidekick({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    await sk.until(() => sk.stderr.includes('docker does not answer'), 10_000, 'the child to run');
    const [child] = readFileSync(`/proc/${sk.pid}/task/${sk.pid}/children`, 'utf8').split(' ');
    const exit = await sk.stop('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    // The harness waits for stdout to close, which the child, sharing it, does
    // as it exits, a moment before the kernel has made it a zombie (seen 'R').
    const stateOf = (): string => {
      try {
        return /State:\s+(\w)/.exec(readFileSync(`/proc/${Number(child)}/status`, 'utf8'))![1]!;
      } catch {
        return 'gone';
      }
    };
    let state = stateOf();
    for (const deadline = Date.now() + 2000; state !== 'gone' && state !== 'Z' && Date.now() < deadline; state = stateOf()) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(state === 'gone' || state === 'Z', `the child is ${state}`);
  });
});
