// The Docker client bounds the calls in flight, against a real HTTP server on
// a unix socket that counts how many requests it holds at once.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, mock } from 'node:test';
import Docker from 'dockerode';
import { DockerApi, errorKind, statusOf } from '../../../src/docker/client.js';

describe('DockerApi', () => {
  it('keeps at most `concurrency` calls in flight when hundreds are asked at once', async () => {
    const path = join(tmpdir(), `sidekick-api-${process.pid}.sock`);
    rmSync(path, { force: true });
    let inFlight = 0;
    let most = 0;
    let served = 0;
    const server = createServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        served++;
        const id = /\/containers\/([^/]+)\/json/.exec(req.url ?? '')?.[1] ?? '?';
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ Id: id, Name: `/${id}`, Config: { Image: 'x' } }));
      }, 5);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      const ids = Array.from({ length: 200 }, (_, i) => `c${i}`);
      const answers = await Promise.all(ids.map((id) => api.inspect(id)));
      assert.deepEqual(
        answers.map((a) => a.Id),
        ids,
      );
      assert.equal(served, 200);
      assert.equal(most, 4);
      assert.deepEqual(api.pending, { queued: 0, running: 0 });
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  });

  it('tells how long each stats call took, failed ones too', async () => {
    const path = join(tmpdir(), `sidekick-api-stats-${process.pid}.sock`);
    rmSync(path, { force: true });
    const server = createServer((req, res) => {
      setTimeout(() => {
        res.statusCode = req.url?.includes('/gone/') === true ? 404 : 200;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ read: '2026-01-01T00:00:00Z' }));
      }, 30);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const took: number[] = [];
      const api = new DockerApi({ socketPath: path }, 4, undefined, (s) => took.push(s));
      await api.stats('c1');
      await api.stats('gone').catch(() => undefined);
      assert.equal(took.length, 2);
      assert.ok(
        took.every((s) => s >= 0.025 && s < 5),
        `about 30 ms each, not ${took.join(', ')} s`,
      );
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  });

  it('answers stats calls beside the queue: slow inspects do not hold them up', async () => {
    const path = join(tmpdir(), `sidekick-api-beside-${process.pid}.sock`);
    rmSync(path, { force: true });
    const server = createServer((req, res) => {
      const slow = req.url?.endsWith('/json') === true;
      setTimeout(
        () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ Id: 'c', Name: '/c', Config: { Image: 'x' } }));
        },
        slow ? 300 : 5,
      );
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const took: number[] = [];
      const api = new DockerApi({ socketPath: path }, 1, undefined, (s) => took.push(s));
      const inspects = Promise.all([api.inspect('a'), api.inspect('b'), api.inspect('c')]);
      await api.stats('c');
      assert.ok(took[0]! < 0.25, `a stats call waited ${took[0]} s for the queue`);
      assert.deepEqual(api.pending, { queued: 2, running: 1 }, 'the inspects still queued');
      await inspects;
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  });

  it('classifies failures by HTTP status or system error code', async () => {
    const api = new DockerApi({ socketPath: '/nonexistent/docker.sock' }, 1);
    const err = await api.inspect('x').then(
      () => assert.fail('inspect of a missing socket resolved'),
      (e: unknown) => e,
    );
    assert.equal(statusOf(err), undefined);
    assert.equal(errorKind(err), 'enoent');
    assert.equal(errorKind({ statusCode: 404 }), 'http_404');
    assert.equal(statusOf({ statusCode: 501 }), 501);
  });

  it('calls the container endpoints without making a dockerode Container (its closures keep one as long as a stream is open)', async (t) => {
    const path = join(tmpdir(), `sidekick-api-direct-${process.pid}.sock`);
    rmSync(path, { force: true });
    const asked: string[] = [];
    const server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url?.startsWith('/containers/gone/') === true) {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ message: 'No such container: gone' }));
      } else if (req.url?.includes('/logs?') === true) {
        res.setHeader('content-type', 'application/vnd.docker.raw-stream');
        // One stdout frame: stream 1, three zeros, the length, the line.
        const line = Buffer.from('2026-01-01T00:00:00.000000001Z hello\n');
        const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
        header.writeUInt32BE(line.length, 4);
        res.end(Buffer.concat([header, line]));
      } else {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.url?.includes('/stats?') === true ? { read: '2026-01-01T00:00:00Z' } : { Id: 'c1' }));
      }
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const made = mock.method(Docker.prototype, 'getContainer');
    t.after(() => made.mock.restore());
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      assert.equal((await api.inspect('c1')).Id, 'c1');
      assert.deepEqual(await api.stats('c1'), { read: '2026-01-01T00:00:00Z' });
      const stream = await api.logs('c1', { since: '1.5' });
      let body = '';
      for await (const chunk of stream) body += String(chunk);
      assert.match(body, /hello/);
      assert.equal(await api.newestLogTime('c1', 5000), '2026-01-01T00:00:00.000000001Z');
      assert.equal(statusOf(await api.inspect('gone').catch((e: unknown) => e)), 404);
      assert.deepEqual(
        asked.map((u) => u.split('?')[0]),
        ['/containers/c1/json', '/containers/c1/stats', '/containers/c1/logs', '/containers/c1/logs', '/containers/gone/json'],
      );
      assert.match(asked[2]!, /follow=true.*since=1\.5|since=1\.5.*follow=true/);
      assert.equal(made.mock.callCount(), 0);
    } finally {
      server.close();
      rmSync(path, { force: true });
    }
  });
});
