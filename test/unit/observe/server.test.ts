// The HTTP server: open probes, a bearer token for the rest, and /tap.

import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Health } from '../../../src/observe/health.js';
import { startServer } from '../../../src/observe/server.js';
import { Taps } from '../../../src/observe/tap.js';
import { containerMeta, envelope } from '../../../src/core/record.js';
import { routeFromQuery } from '../../../src/transforms/route.js';
import { logPositions } from '../../../src/sources/docker/log-position.js';

const taps = new Taps(() => 'h');
let base = '';
let health: Health = { healthy: true };
let close: () => Promise<void>;

before(async () => {
  const server = await startServer(
    { host: '127.0.0.1', port: 0 },
    {
      registry: new Registry(),
      health: () => health,
      readiness: () => ({ ready: true }),
      status: () => ({ ok: true }),
      token: 's3cret',
      tap: (res, query) => taps.add(res, routeFromQuery(query)),
    },
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});

after(() => close());

const auth = { authorization: 'Bearer s3cret' };

describe('server', () => {
  it('keeps /healthz and /readyz open, and asks a token of /metrics, /status and /tap', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    for (const path of ['/metrics', '/status', '/tap']) {
      assert.equal((await fetch(`${base}${path}`)).status, 401, path);
      assert.equal((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer wrong!' } })).status, 401, path);
    }
    assert.equal((await fetch(`${base}/status`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${base}/metrics`, { headers: auth })).status, 200);
  });

  it('answers /healthz 503 with the cause and its detail while sidekick is unhealthy', async () => {
    health = { healthy: false, cause: 'events-silent', detail: 'the daemon has had events the stream did not deliver' };
    try {
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), health);
    } finally {
      health = { healthy: true };
    }
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  it('takes no writes: anything but GET and HEAD is 405', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      assert.equal((await fetch(`${base}/metrics`, { method, headers: auth })).status, 405, method);
    }
  });

  it('streams matching records on /tap while the client stays, and refuses a bad filter', async () => {
    const web = containerMeta('a'.repeat(64), '/web-1', 'img', {});
    const db = containerMeta('b'.repeat(64), '/db', 'img', {});
    const ac = new AbortController();
    const res = await fetch(`${base}/tap?types=log&include=name:web*`, { headers: auth, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.equal(taps.size, 1);
    const line = (meta: typeof web, message: string): ReturnType<typeof envelope> =>
      envelope({ type: 'log', position: logPositions, time: '2026-01-01T00:00:00.000000000Z', host: 'h', container: meta, stream: 'stdout', seq: 1, message });
    taps.push(line(db, 'not this one'));
    taps.push(envelope({ type: 'inspect', time: '2026-01-01T00:00:00.000000000Z', host: 'h', container: web, inspect: {} }));
    taps.push(line(web, 'this one'));
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    const got = new TextDecoder()
      .decode(value)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message: string });
    assert.deepEqual(
      got.map((r) => r.message),
      ['this one'],
    );
    ac.abort();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(taps.size, 0, 'gone with its client');
    assert.equal((await fetch(`${base}/tap?types=nope`, { headers: auth })).status, 400);
  });
});
