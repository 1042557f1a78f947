// The process as an operator meets it: a bad setting stops it at once with
// exit code 2, a missing daemon is waited for, and SIGTERM always ends it
// cleanly.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Sidekick } from './harness.js';

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
});
