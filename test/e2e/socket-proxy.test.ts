// sidekick behind a read-only Docker socket proxy: it needs GET on a handful
// of endpoints and nothing else, and collects everything through them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { docker, ReadOnlyProxy, removeTestContainers, runContainer, Sidekick, sleep, uniqueName, waitExit } from './harness.js';

/** Every endpoint sidekick calls, as the README lists them. */
const ENDPOINTS = [
  /^\/info$/,
  /^\/events$/,
  /^\/containers\/json$/,
  /^\/containers\/[0-9a-f]{64}\/json$/,
  /^\/containers\/[0-9a-f]{64}\/logs$/,
  /^\/containers\/[0-9a-f]{64}\/stats$/,
];

describe('behind a read-only socket proxy', () => {
  after(removeTestContainers);

  it('calls only GET on the documented endpoints, and still collects logs, events, inspect, stats and files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-proxy-'));
    const proxy = new ReadOnlyProxy(join(dir, 'docker.sock'), ENDPOINTS);
    await proxy.open();
    writeFileSync(join(dir, 'app.log'), 'from a file\n');
    const sk = new Sidekick({
      DOCKER_HOST: `unix://${proxy.path}`,
      SIDEKICK_STATS_INTERVAL: '500ms',
      SIDEKICK_FILES: `${dir}/*.log`,
      // Through the API: a proxy is what a host whose json-files cannot be read has.
      SIDEKICK_LOGS_SOURCE: 'api',
    });
    const name = uniqueName('proxied');
    try {
      await sk.ready();
      await runContainer(name, ['-v', '/data'], 'echo through the proxy; sleep 2');
      await sk.until(() => sk.of(name, 'stats').length > 0, 20_000, 'a stats sample');
      await waitExit(name);
      await sk.until(() => sk.of(name, 'event').some((r) => r['action'] === 'die'), 20_000, 'the die event');
      await docker('rm', '-v', name);
      await sleep(500);
      assert.deepEqual(
        sk.logsOf(name).map((r) => r['message']),
        ['through the proxy'],
      );
      assert.equal(sk.of(name, 'inspect').length, 1);
      assert.ok(sk.records.some((r) => r.type === 'file' && r['message'] === 'from a file'));
    } finally {
      await sk.stop();
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(proxy.refused, [], 'nothing refused');
    assert.deepEqual([...new Set(proxy.requests)].sort(), [
      'GET /containers/json',
      'GET /containers/{id}/json',
      'GET /containers/{id}/logs',
      'GET /containers/{id}/stats',
      'GET /events',
      'GET /info',
    ]);
  });

  it('refuses what a read-only proxy refuses: a POST never gets through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-proxy-'));
    const proxy = new ReadOnlyProxy(join(dir, 'docker.sock'), ENDPOINTS);
    await proxy.open();
    try {
      const res = await new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request({ socketPath: proxy.path, method: 'POST', path: '/containers/create' }, (r) => resolve(r.statusCode ?? 0));
          req.on('error', reject);
          req.end('{}');
        }, reject);
      });
      assert.equal(res, 403);
      assert.deepEqual(proxy.refused, ['POST /containers/create']);
    } finally {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
