// The Docker client bounds the calls in flight, against a real HTTP server on
// a unix socket that counts how many requests it holds at once.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { queryObjects } from 'node:v8';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DockerApi, errorKind, statusOf } from '../../../src/docker/client.js';
import { makeCerts } from '../../certs.js';
import { collectGarbage } from '../wait.js';

/** A unix socket path of this process's own, nothing at it yet. */
function socketPath(name: string): string {
  const path = join(tmpdir(), `sidekick-api${name === '' ? '' : `-${name}`}-${process.pid}.sock`);
  rmSync(path, { force: true });
  return path;
}

function listening(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => server.listen(path, resolve));
}

function closed(server: Server, path: string): void {
  server.close();
  rmSync(path, { force: true });
}

describe('DockerApi', () => {
  it('keeps at most `concurrency` calls in flight when hundreds are asked at once', async () => {
    const path = socketPath('');
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
    await listening(server, path);
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
      closed(server, path);
    }
  });

  it('tells how long each stats call took, failed ones too', async () => {
    const path = socketPath('stats');
    const server = createServer((req, res) => {
      setTimeout(() => {
        res.statusCode = req.url?.includes('/gone/') === true ? 404 : 200;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ read: '2026-01-01T00:00:00Z' }));
      }, 30);
    });
    await listening(server, path);
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
      closed(server, path);
    }
  });

  it('leaves no timer behind a call once answered (a stats sample of every container, every interval)', async () => {
    const path = socketPath('timers');
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ read: '2026-01-01T00:00:00Z' }));
    });
    await listening(server, path);
    const Timeout = setTimeout(() => undefined, 0).constructor as new () => unknown;
    const liveTimers = async (): Promise<number> => {
      await collectGarbage();
      return queryObjects(Timeout, { format: 'count' });
    };
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      await api.stats('warm');
      const before = await liveTimers();
      for (let i = 0; i < 200; i++) await Promise.all([api.stats(`c${i}`), api.inspect(`c${i}`), api.newestLogTime(`c${i}`, 10_000)]);
      const after = await liveTimers();
      // AbortSignal.timeout kept each call's timer armed for its whole limit (30 s): 600 here.
      assert.ok(after - before < 20, `${after - before} timers left by 600 calls answered`);
    } finally {
      closed(server, path);
    }
  });

  it('asks for stats, inspects and newest log times over one kept connection, a 404 among them', async () => {
    const path = socketPath('kept');
    let connections = 0;
    const server = createServer((req, res) => {
      if (req.url?.includes('/logs?') === true) {
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('/gone/') === true) res.statusCode = 404;
      res.end(JSON.stringify(res.statusCode === 404 ? { message: 'No such container: gone' } : { Id: 'c', read: '2026-01-01T00:00:00Z' }));
    });
    server.on('connection', () => connections++);
    await listening(server, path);
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      for (let i = 0; i < 100; i++) {
        assert.deepEqual(await api.stats(`c${i}`), { Id: 'c', read: '2026-01-01T00:00:00Z' });
        await api.inspect(`c${i}`);
        assert.equal(await api.newestLogTime(`c${i}`, 10_000), undefined);
      }
      await assert.rejects(api.stats('gone'), (err: unknown) => statusOf(err) === 404);
      await api.stats('c');
      assert.equal(connections, 1, `${connections} connections for 302 calls one after another, a 404 among them`);
    } finally {
      closed(server, path);
    }
  });

  it('gives up a call not answered within its time limit, as a timeout', async () => {
    const path = socketPath('limit');
    const held: ServerResponse[] = [];
    const server = createServer((_req, res) => void held.push(res));
    await listening(server, path);
    try {
      const kinds: string[] = [];
      const api = new DockerApi({ socketPath: path }, 4, (kind) => kinds.push(kind));
      const started = Date.now();
      const err = await api.newestLogTime('c', 100).then(
        () => assert.fail('answered'),
        (e: unknown) => e,
      );
      assert.equal(errorKind(err), 'timeout');
      assert.deepEqual(kinds, ['timeout']);
      assert.ok(Date.now() - started < 2_000);
    } finally {
      for (const res of held) res.destroy();
      closed(server, path);
    }
  });

  it('answers stats calls beside the queue: slow inspects do not hold them up', async () => {
    const path = socketPath('beside');
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
    await listening(server, path);
    try {
      const took: number[] = [];
      const api = new DockerApi({ socketPath: path }, 1, undefined, (s) => took.push(s));
      const inspects = Promise.all([api.inspect('a'), api.inspect('b'), api.inspect('c')]);
      await api.stats('c');
      assert.ok(took[0]! < 0.25, `a stats call waited ${took[0]} s for the queue`);
      assert.deepEqual(api.pending, { queued: 2, running: 1 }, 'the inspects still queued');
      await inspects;
    } finally {
      closed(server, path);
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

  it('makes every call itself: the containers, the engine, the events (no dockerode)', async () => {
    const path = socketPath('direct');
    const asked: string[] = [];
    const json = (res: ServerResponse, value: unknown, status = 200): void => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(value));
    };
    const EVENT = { Type: 'container', Action: 'start', Actor: { ID: 'c1', Attributes: { name: 'web' } }, time: 1, timeNano: 1000000001 };
    const server = createServer((req, res) => {
      const url = req.url ?? '';
      asked.push(url);
      if (url.startsWith('/containers/gone/')) json(res, { message: 'No such container: gone' }, 404);
      else if (url.includes('/logs?')) {
        res.setHeader('content-type', 'application/vnd.docker.raw-stream');
        // One stdout frame: stream 1, three zeros, the length, the line.
        const line = Buffer.from('2026-01-01T00:00:00.000000001Z hello\n');
        const header = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
        header.writeUInt32BE(line.length, 4);
        res.end(Buffer.concat([header, line]));
      } else if (url.startsWith('/containers/json')) json(res, [{ Id: url.includes('all=true') ? 'stopped' : 'c1' }]);
      else if (url === '/info') json(res, { Name: 'engine', ServerVersion: '20.10.24' });
      else if (url === '/_ping') res.end('OK');
      else if (url.startsWith('/events?') && url.includes('until=')) {
        res.setHeader('content-type', 'application/json');
        res.end(`${JSON.stringify(EVENT)}\n`);
      } else if (url.startsWith('/events')) {
        // The stream: an event, then open until the client ends it.
        res.setHeader('content-type', 'application/json');
        res.write(`${JSON.stringify(EVENT)}\n`);
      } else if (url.startsWith('/version')) json(res, { message: 'page not found' }, 404);
      else json(res, req.url?.includes('/stats?') === true ? { read: '2026-01-01T00:00:00Z' } : { Id: 'c1' });
    });
    await listening(server, path);
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      assert.equal((await api.inspect('c1')).Id, 'c1');
      assert.deepEqual(await api.stats('c1'), { read: '2026-01-01T00:00:00Z' });
      const stream = await api.logs('c1', { since: '1.5' });
      let body = '';
      for await (const chunk of stream) body += String(chunk);
      assert.match(body, /hello/);
      assert.equal(await api.newestLogTime('c1', 5000), '2026-01-01T00:00:00.000000001Z');
      const gone = await api.inspect('gone').catch((e: unknown) => e);
      assert.equal(statusOf(gone), 404);
      assert.equal((gone as Error).message, '(HTTP code 404) no such container - No such container: gone');
      assert.equal(errorKind(gone), 'http_404');
      assert.equal((await api.info()).ServerVersion, '20.10.24');
      assert.deepEqual(
        (await api.listRunning()).map((c) => c.Id),
        ['c1'],
      );
      assert.deepEqual(
        (await api.listAll()).map((c) => c.Id),
        ['stopped'],
      );
      await api.ping(5000);
      assert.deepEqual(
        (await api.eventsBetween('1.5', '2.5', 5000)).map((e) => e.action),
        ['start'],
      );
      const events = await api.events('1.5');
      const [first] = (await once(events, 'data')) as [Buffer];
      assert.match(first.toString(), /"Action":"start"/);
      events.destroy();
      assert.deepEqual(
        asked.map((u) => u.split('?')[0]),
        [
          '/containers/c1/json',
          '/containers/c1/stats',
          '/containers/c1/logs',
          '/containers/c1/logs',
          '/containers/gone/json',
          '/info',
          '/containers/json',
          '/containers/json',
          '/_ping',
          '/events',
          '/events',
        ],
      );
      assert.match(asked[2]!, /follow=true.*since=1\.5|since=1\.5.*follow=true/);
      assert.equal(asked[7], '/containers/json?all=true');
      assert.equal(asked[9], '/events?since=1.5&until=2.5');
      assert.equal(asked[10], '/events?since=1.5');
    } finally {
      closed(server, path);
    }
  });

  it("says an engine call's failure in the Engine API's words", async () => {
    const path = socketPath('engine-errors');
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/info' ? 500 : 400;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ message: 'it broke' }));
    });
    await listening(server, path);
    try {
      const api = new DockerApi({ socketPath: path }, 4);
      await assert.rejects(api.info(), { statusCode: 500, message: '(HTTP code 500) server error - it broke' });
      await assert.rejects(api.events('x'), { statusCode: 400, message: '(HTTP code 400) bad parameter - it broke' });
    } finally {
      closed(server, path);
    }
  });

  it('loads no dockerode (its modules were about 1 MiB resident at rest)', async () => {
    const topology = new URL('../../../src/app/topology.js', import.meta.url).href;
    const script = `await import(${JSON.stringify(topology)});
      const cache = (await import('node:module')).createRequire(import.meta.url).cache;
      console.log(Object.keys(cache).filter((p) => /node_modules\\/(dockerode|docker-modem)\\//.test(p)).length);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    await once(child, 'close');
    assert.equal(out.trim(), '0');
  });

  it('imports node:tls as an ES module nowhere: its namespace reads every export, the root CA store among them (0.7 MiB)', () => {
    const src = fileURLToPath(new URL('../../../src/', import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    const importing = files.filter((f) => /\bfrom\s*['"](node:)?tls['"]|import\(\s*['"](node:)?tls['"]/.test(readFileSync(join(src, f), 'utf8')));
    assert.ok(files.length > 50);
    assert.deepEqual(importing, []);
  });

  it('keeps an open log follow to a few KiB of heap (one for each container, for as long as it runs)', async () => {
    const path = socketPath('follows');
    // A daemon whose follows stay open (headers, then nothing), in a process
    // of its own: its side of each connection must not count in this heap.
    const daemon = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/vnd.docker.raw-stream'); s.flushHeaders(); }).listen(${JSON.stringify(path)}, () => console.log('ready'));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(daemon.stdout, 'data');
    const FOLLOWS = 200;
    try {
      const api = new DockerApi({ socketPath: path }, 16);
      const follow = async (name: string) => {
        const ends = Array.from({ length: FOLLOWS }, () => new AbortController());
        const streams = await Promise.all(ends.map((end, i) => api.logs(`${name}${i}`, { since: '1.5' }, end.signal)));
        for (const stream of streams) stream.resume();
        return ends;
      };
      // A first round, so that what is compiled and sized on first use (code
      // and its feedback, as many as the queue and the agent run at once) is
      // not counted: alone, one follow of warm-up left 4 KiB a follow more.
      for (const end of await follow('warm')) end.abort();
      await collectGarbage();
      const before = process.memoryUsage().heapUsed;
      const ends = await follow('c');
      await collectGarbage();
      const each = (process.memoryUsage().heapUsed - before) / FOLLOWS;
      // A socket and the answer's stream: 3.2 to 4 KiB here, from one run to
      // the next; node:http's request, answer and parser kept 7.8 KiB,
      // docker-modem's 11.
      assert.ok(each < 5.5 * 1024, `an open follow keeps ${Math.round(each)} bytes of heap`);
      for (const end of ends) end.abort();
    } finally {
      daemon.kill();
      rmSync(path, { force: true });
    }
  });

  it('reaches a tcp:// daemon, and one behind TLS with the certificates of DOCKER_CERT_PATH, for calls and log follows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidekick-api-tls-'));
    const certs = await makeCerts(dir);
    const pem = (file: string): Buffer => readFileSync(file);
    // A follow's frames, each written on its own as dockerd does.
    const frames = Array.from({ length: 300 }, (_, i) => {
      const line = Buffer.from(`2026-01-01T00:00:00.000000001Z line ${i}\n`);
      return Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, line.length]), line]);
    });
    const answer = (req: IncomingMessage, res: ServerResponse): void => {
      if (req.url?.includes('/logs?') === true) {
        res.setHeader('content-type', 'application/vnd.docker.multiplexed-stream');
        for (const frame of frames) res.write(frame);
        res.end();
        return;
      }
      const peer = (req.socket as Partial<TLSSocket>).getPeerCertificate?.();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Id: req.url?.split('/')[2], client: peer?.subject?.CN ?? null }));
    };
    const plain = createServer(answer);
    // The client must show a certificate signed by the CA, as dockerd --tlsverify asks.
    const tls = createTlsServer({ key: pem(certs.key), cert: pem(certs.cert), ca: pem(certs.ca), requestCert: true, rejectUnauthorized: true }, answer);
    const port = async (server: typeof plain | typeof tls): Promise<number> => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    try {
      const overTcp = new DockerApi({ host: '127.0.0.1', port: await port(plain), protocol: 'http' }, 4);
      assert.deepEqual(await overTcp.inspect('c1'), { Id: 'c1', client: null });
      // The server's certificate serves as the client's too: signed by the same CA.
      const overTls = new DockerApi(
        { host: '127.0.0.1', port: await port(tls), protocol: 'https', ca: pem(certs.ca), cert: pem(certs.cert), key: pem(certs.key) },
        4,
      );
      assert.deepEqual(await overTls.inspect('c2'), { Id: 'c2', client: 'localhost' });
      for (const api of [overTcp, overTls]) {
        const chunks: Buffer[] = [];
        for await (const chunk of await api.logs('c2', { since: '1.5' })) chunks.push(chunk as Buffer);
        assert.deepEqual(Buffer.concat(chunks), Buffer.concat(frames));
      }
      const unverified = new DockerApi(
        { host: '127.0.0.1', port: (tls.address() as AddressInfo).port, protocol: 'https', ca: pem(certs.otherCa), cert: pem(certs.cert), key: pem(certs.key) },
        4,
      );
      await assert.rejects(unverified.inspect('c3'), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      plain.close();
      tls.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
