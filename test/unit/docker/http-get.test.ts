// Whole answers over kept-alive connections: the answer reader against every
// way an answer's bytes can be cut, and the pool against real servers (node's
// HTTP server, and a bare socket server that misbehaves on purpose).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AnswerReader } from '../../../src/docker/answer.js';
import { HttpGetPool } from '../../../src/docker/http-get.js';

/**
 * Feeds `bytes` to a new reader cut at `cuts`; the answer, or where it
 * stopped. Each piece comes in one buffer that is written over after the
 * call, as a streamed answer's read buffer is read into again: the body is
 * copied out during the call, and the reader must keep nothing of a piece.
 */
function read(bytes: string, cuts: number[], closeAtEnd = false): { done: boolean; status: number; body: string; keepAlive: boolean } {
  const parts: Buffer[] = [];
  const reader = new AnswerReader((b, from, to) => parts.push(Buffer.from(b.subarray(from, to))));
  const buf = Buffer.from(bytes, 'latin1');
  const readBuffer = Buffer.alloc(buf.length);
  let done = false;
  let at = 0;
  for (const cut of [...cuts, buf.length]) {
    if (cut > at && !done) {
      const piece = readBuffer.subarray(0, buf.copy(readBuffer, 0, at, cut));
      done = reader.push(piece);
      readBuffer.fill(0xff);
    }
    at = Math.max(at, cut);
  }
  if (!done && closeAtEnd) done = reader.end();
  return done
    ? { done, status: reader.status, body: Buffer.concat(parts).toString('latin1'), keepAlive: reader.keepAlive }
    : { done, status: 0, body: '', keepAlive: false };
}

/** The answer read whole, cut in two at every byte and in single bytes: always the same. */
function readEveryWay(bytes: string, closeAtEnd = false): { status: number; body: string; keepAlive: boolean } {
  const whole = read(bytes, [], closeAtEnd);
  assert.ok(whole.done, 'the answer is whole');
  for (let i = 1; i < bytes.length; i++) assert.deepEqual(read(bytes, [i], closeAtEnd), whole, `cut at ${i}`);
  assert.deepEqual(
    read(
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
      closeAtEnd,
    ),
    whole,
    'a byte at a time',
  );
  return { status: whole.status, body: whole.body, keepAlive: whole.keepAlive };
}

describe('AnswerReader', () => {
  it('reads a body of Content-Length, however the bytes are cut', () => {
    const answer = readEveryWay('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"read":""}');
    assert.deepEqual(answer, { status: 200, body: '{"read":""}', keepAlive: true });
  });

  it('reads a chunked body with extensions and trailers, however the bytes are cut', () => {
    const bytes = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';
    assert.deepEqual(readEveryWay(bytes), { status: 200, body: 'hello 0123456789', keepAlive: true });
  });

  it('reads to the close an answer with neither, and keeps no connection after it', () => {
    assert.deepEqual(readEveryWay('HTTP/1.1 200 OK\r\n\r\nto the end', true), { status: 200, body: 'to the end', keepAlive: false });
    assert.equal(read('HTTP/1.1 200 OK\r\n\r\nto the end', []).done, false, 'not whole before the close');
  });

  it('keeps no connection the daemon closes: `Connection: close`, HTTP/1.0', () => {
    assert.equal(readEveryWay('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}').keepAlive, false);
    assert.equal(readEveryWay('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}').keepAlive, false);
    assert.equal(readEveryWay('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}').keepAlive, true);
  });

  it('reads an empty answer (204, Content-Length: 0) and skips an interim one (100 Continue)', () => {
    assert.deepEqual(readEveryWay('HTTP/1.1 204 No Content\r\n\r\n'), { status: 204, body: '', keepAlive: true });
    assert.deepEqual(readEveryWay('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), { status: 200, body: '', keepAlive: true });
    assert.deepEqual(readEveryWay('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad'), {
      status: 500,
      body: 'bad',
      keepAlive: true,
    });
  });

  it('marks bytes past the answer (the connection is then not used again)', () => {
    const reader = new AnswerReader();
    assert.equal(reader.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP')), true);
    assert.equal(reader.extra, true);
  });

  it('refuses what is not an answer, with what it is', () => {
    const fails = (bytes: string, message: RegExp): void => assert.throws(() => new AnswerReader().push(Buffer.from(bytes)), message);
    fails('SSH-2.0-OpenSSH\r\n\r\n', /not HTTP\/1\.x: "SSH-2\.0-OpenSSH"/);
    fails('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /bad Content-Length: "-1"/);
    fails('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size: "zz"/);
    fails('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY', /does not end with CRLF/);
    fails(`HTTP/1.1 200 OK\r\nX: ${'x'.repeat(70_000)}`, /head longer than 65536 bytes/);
  });
});

/** A unix socket path of this process's own, nothing at it yet. */
function socketPath(name: string): string {
  const path = join(tmpdir(), `sidekick-get-${name}-${process.pid}.sock`);
  rmSync(path, { force: true });
  return path;
}

/** Node's HTTP server on a unix socket, counting the connections made to it. */
async function httpServer(
  name: string,
  answer: (url: string, res: ServerResponse) => void,
): Promise<{ server: Server; path: string; connections: () => number; close(): void }> {
  const path = socketPath(name);
  let connections = 0;
  const server = createServer((req, res) => answer(req.url ?? '', res));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    server,
    path,
    connections: () => connections,
    close(): void {
      server.closeAllConnections();
      server.close();
      rmSync(path, { force: true });
    },
  };
}

/** A bare socket server: `each` is given every connection's request number and socket. */
async function netServer(name: string, each: (n: number, socket: Socket) => void): Promise<{ server: NetServer; path: string; close(): void }> {
  const path = socketPath(name);
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    let n = 0;
    socket.on('data', () => each(++n, socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    server,
    path,
    close(): void {
      for (const s of sockets) s.destroy();
      server.close();
      rmSync(path, { force: true });
    },
  };
}

describe('HttpGetPool', () => {
  it('uses one connection for calls one after another, and as many as are in flight at once, keeping at most maxIdle', async () => {
    const s = await httpServer('reuse', (url, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url }));
    });
    try {
      const pool = new HttpGetPool(() => connect(s.path), 'localhost', 4);
      for (let i = 0; i < 50; i++) {
        const { status, body } = await pool.get(`/containers/c${i}/stats`, 5_000);
        assert.equal(status, 200);
        assert.deepEqual(JSON.parse(body.toString()), { url: `/containers/c${i}/stats` });
      }
      assert.equal(s.connections(), 1);
      assert.equal(pool.opened, 1);
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => pool.get(`/x${i}`, 5_000)));
      assert.deepEqual(
        answers.map((a) => JSON.parse(a.body.toString()).url),
        Array.from({ length: 10 }, (_, i) => `/x${i}`),
      );
      assert.equal(pool.opened, 10, 'one kept, nine more for the calls at once');
      assert.equal(pool.idleCount, 4, 'four kept, the others closed');
      pool.close();
      assert.equal(pool.idleCount, 0);
    } finally {
      s.close();
    }
  });

  it('reads a chunked answer of node:http and uses its connection again', async () => {
    const s = await httpServer('chunked', (_url, res) => {
      res.write('{"a":');
      setTimeout(() => res.end('1}'), 10);
    });
    try {
      const pool = new HttpGetPool(() => connect(s.path), 'localhost');
      for (let i = 0; i < 3; i++) assert.equal((await pool.get('/c', 5_000)).body.toString(), '{"a":1}');
      assert.equal(s.connections(), 1);
    } finally {
      s.close();
    }
  });

  it('drops a kept connection the daemon closes while it is idle, and carries on with a new one', async () => {
    const s = await httpServer('idle-close', (_url, res) => res.end('{}'));
    try {
      const pool = new HttpGetPool(() => connect(s.path), 'localhost');
      await pool.get('/a', 5_000);
      assert.equal(pool.idleCount, 1);
      s.server.closeIdleConnections();
      const deadline = Date.now() + 2_000;
      while (pool.idleCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(pool.idleCount, 0, 'the closed connection is not kept');
      assert.equal((await pool.get('/b', 5_000)).status, 200);
      assert.equal(pool.opened, 2);
    } finally {
      s.close();
    }
  });

  it('asks again, once, on a new connection when a kept one ends before any answer; a new one that does is a failure', async () => {
    // Each connection answers its first request and ends at its second: the
    // daemon closing an idle connection just as it is used.
    const s = await netServer('race', (n, socket) => {
      if (n === 1) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    try {
      const pool = new HttpGetPool(() => connect(s.path), 'localhost');
      assert.equal((await pool.get('/1', 5_000)).body.toString(), 'ok');
      // The kept connection is used, ends, and the call goes to a new one.
      assert.equal((await pool.get('/2', 5_000)).body.toString(), 'ok');
      assert.equal(pool.opened, 2);
    } finally {
      s.close();
    }
    const dead = await netServer('dead', (_n, socket) => socket.destroy());
    try {
      const pool = new HttpGetPool(() => connect(dead.path), 'localhost');
      await assert.rejects(pool.get('/1', 5_000), /closed the connection before its answer to GET \/1 was whole|ECONNRESET|EPIPE/);
      assert.equal(pool.opened, 1, 'asked once');
    } finally {
      dead.close();
    }
  });

  it('gives up past the time limit as a timeout, and closes that connection', async () => {
    const held: ServerResponse[] = [];
    const s = await httpServer('slow', (_url, res) => void held.push(res));
    try {
      const pool = new HttpGetPool(() => connect(s.path), 'localhost');
      const started = Date.now();
      const err = await pool.get('/slow', 100).then(
        () => assert.fail('answered'),
        (e: unknown) => e as Error,
      );
      assert.equal(err.name, 'TimeoutError');
      assert.match(err.message, /no answer within 100 ms/);
      assert.ok(Date.now() - started < 2_000);
      assert.equal(pool.idleCount, 0);
      await once(held[0]!.socket!, 'close');
    } finally {
      s.close();
    }
  });

  it('fails with the socket error and its code when the daemon is not there', async () => {
    const pool = new HttpGetPool(() => connect('/nonexistent/docker.sock'), 'localhost');
    await assert.rejects(pool.get('/x', 5_000), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
  });

  it('does not keep sidekick running with an idle connection', async () => {
    const s = await httpServer('exit', (_url, res) => res.end('{"ok":true}'));
    try {
      const script = `import { connect } from 'node:net';
        import { HttpGetPool } from ${JSON.stringify(new URL('../../../src/docker/http-get.js', import.meta.url).href)};
        const pool = new HttpGetPool(() => connect(${JSON.stringify(s.path)}), 'localhost');
        console.log((await pool.get('/x', 5000)).body.toString(), pool.idleCount);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const started = Date.now();
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 0);
      assert.equal(out.trim(), '{"ok":true} 1', 'the connection was kept');
      // Kept referenced, it would hold the process for its idle time (15 s).
      assert.ok(Date.now() - started < 5_000, `exited after ${Date.now() - started} ms`);
    } finally {
      s.close();
    }
  });
});
