// A log follow's answer read from a connection of its own, against bare
// socket servers that write what dockerd writes (a chunk a frame), cut
// answers short, and never answer.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { DockerApi, statusOf } from '../../../src/docker/client.js';
import { type Connect, openAnswerStream } from '../../../src/docker/http-stream.js';
import { waitFor } from '../wait.js';

/** A server that calls `answer` with each connection once its request is in. */
async function daemon(answer: (socket: Socket) => void): Promise<{ server: Server; port: number; connect: Connect }> {
  const server = createServer((socket) => {
    socket.once('data', () => answer(socket));
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { server, port, connect: (onread) => connect({ host: '127.0.0.1', port, onread }) };
}

const HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nTransfer-Encoding: chunked\r\n\r\n';

/** A frame as dockerd writes it into a follow: its own HTTP chunk. */
function chunkOf(line: string): Buffer {
  const payload = Buffer.from(line);
  const frame = Buffer.alloc(8 + payload.length);
  frame[0] = 1;
  frame.writeUInt32BE(payload.length, 4);
  payload.copy(frame, 8);
  return Buffer.concat([Buffer.from(`${frame.length.toString(16)}\r\n`), frame, Buffer.from('\r\n')]);
}

async function bodyOf(stream: AsyncIterable<Buffer>): Promise<{ body: Buffer; events: number }> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { body: Buffer.concat(chunks), events: chunks.length };
}

/** A daemon's answer: the head, then `chunks` `perWrite` to a write, a turn of the event loop apart, then the last chunk. */
function inTurns(chunks: readonly Buffer[], perWrite: number): (socket: Socket) => void {
  return (socket) => {
    socket.write(HEAD);
    let i = 0;
    const next = (): void => {
      if (i >= chunks.length) {
        socket.write('0\r\n\r\n');
        return;
      }
      const write = Buffer.concat(chunks.slice(i, i + perWrite));
      i += perWrite;
      socket.write(write, () => setImmediate(next));
    };
    next();
  };
}

/** What the chunks carry: their data, without the size lines and the CRLF after each. */
function bodyText(chunks: readonly Buffer[]): string {
  return chunks.map((c) => c.subarray(c.indexOf('\r\n') + 2, c.length - 2).toString('latin1')).join('');
}

/** A follow of the daemon at `port` read to its end by a 'data' listener, which calls `onChunk` after taking each chunk. */
async function followText(port: number, onChunk: (stream: Readable) => void): Promise<string> {
  const api = new DockerApi({ host: '127.0.0.1', port, protocol: 'http' }, 4);
  const stream = await api.logs('c1', { since: '1.5' });
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    onChunk(stream);
  });
  await once(stream, 'end');
  return text;
}

describe('a log follow', () => {
  it('hands on a read of the connection as one chunk, not one a frame (dockerd sends a chunk a frame)', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `2026-01-01T00:00:00.000000001Z line ${i}\n`);
    const chunks = lines.map(chunkOf);
    const { server, port } = await daemon((socket) => {
      // Kept open after the last chunk, as a daemon that keeps connections alive does: the end is the zero chunk.
      socket.write(Buffer.concat([Buffer.from(HEAD), ...chunks, Buffer.from('0\r\n\r\n')]));
    });
    try {
      const api = new DockerApi({ host: '127.0.0.1', port, protocol: 'http' }, 4);
      const { body, events } = await bodyOf(await api.logs('c1', { since: '1.5' }));
      assert.deepEqual(body, Buffer.concat(chunks.map((c) => c.subarray(c.indexOf('\r\n') + 2, c.length - 2))));
      // node:http made a 'data' event of each of the 2,000 chunks.
      assert.ok(events < 100, `${events} chunks for 2,000 frames`);
    } finally {
      server.close();
    }
  });

  it('reads a flood of frames written one by one in a few reads, resting between reads that come back to back', async () => {
    const chunks = Array.from({ length: 1000 }, (_, i) => chunkOf(`2026-01-01T00:00:00.000000001Z line ${i}\n`));
    // The reader's turn between two writes: read as they come, each would be a read.
    const { server, port } = await daemon(inTurns(chunks, 1));
    try {
      let events = 0;
      const text = await followText(port, () => events++);
      assert.equal(text, bodyText(chunks));
      assert.ok(events < 250, `${events} reads for 1,000 writes`);
    } finally {
      server.close();
    }
  });

  it('reads into one buffer again only once what it handed on is taken: a reader that pauses gets every byte', async () => {
    const chunks = Array.from({ length: 20_000 }, (_, i) => chunkOf(`2026-01-01T00:00:00.000000001Z line ${i} ${'y'.repeat(i % 200)}\n`));
    const { server, port } = await daemon(inTurns(chunks, 40));
    try {
      let events = 0;
      let paused = 0;
      const text = await followText(port, (stream) => {
        // Now and then the reader pauses a while (a sink is full): reads go on into the stream meanwhile.
        if (++events % 10 === 0) {
          stream.pause();
          setTimeout(() => {
            paused += stream.readableLength > 0 ? 1 : 0;
            stream.resume();
          }, 20);
        }
      });
      assert.ok(paused > 0, 'bytes were read while the reader was paused');
      assert.equal(text, bodyText(chunks));
    } finally {
      server.close();
    }
  });

  it("is an error carrying the daemon's status and words when the daemon refuses it", async () => {
    const { server, port } = await daemon((socket) => {
      const body = JSON.stringify({ message: 'No such container: gone' });
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    try {
      const api = new DockerApi({ host: '127.0.0.1', port, protocol: 'http' }, 4);
      const err = await api.logs('gone', {}).then(
        () => assert.fail('resolved'),
        (e: unknown) => e as Error,
      );
      assert.equal(statusOf(err), 404);
      assert.equal(err.message, '(HTTP code 404) no such container - No such container: gone');
    } finally {
      server.close();
    }
  });

  it('reads a body of Content-Length, and one to the close', async () => {
    for (const [head, closes] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n', false],
      ['HTTP/1.1 200 OK\r\n\r\n', true],
    ] as const) {
      const { server, connect } = await daemon((socket) => {
        socket.write(head);
        socket.write('hello ');
        setTimeout(() => (closes ? socket.end('world') : socket.write('world')), 20);
      });
      try {
        const { body } = await bodyOf(await openAnswerStream(connect, 'localhost', '/x'));
        assert.equal(body.toString(), 'hello world');
      } finally {
        server.close();
      }
    }
  });

  it('ends in an error when the daemon closes the connection before the answer ends', async () => {
    const { server, connect } = await daemon((socket) => {
      socket.write(`${HEAD}5\r\nhello\r\n`);
      setTimeout(() => socket.destroy(), 20);
    });
    try {
      const stream = await openAnswerStream(connect, 'localhost', '/x');
      let read = '';
      stream.on('data', (c: Buffer) => {
        read += c.toString();
      });
      const [err] = (await once(stream, 'error')) as [Error];
      assert.equal(read, 'hello');
      assert.match(err.message, /closed the connection before the answer ended/);
    } finally {
      server.close();
    }
  });

  it('holds the connection while its reader is paused: the daemon keeps the rest', async () => {
    const frame = chunkOf(`2026-01-01T00:00:00.000000001Z ${'x'.repeat(1000)}\n`);
    const block = Buffer.concat(Array.from({ length: 1000 }, () => frame));
    let sent = 0;
    const { server, connect } = await daemon((socket) => {
      socket.write(HEAD);
      // About 1 MB a write, 64 MB in all, as fast as the connection takes it.
      const more = (): void => {
        while (sent < 64) {
          sent++;
          if (!socket.write(block)) {
            socket.once('drain', more);
            return;
          }
        }
        socket.end('0\r\n\r\n');
      };
      more();
    });
    try {
      const stream = await openAnswerStream(connect, 'localhost', '/x');
      stream.pause();
      await new Promise((r) => setTimeout(r, 300));
      // Without the hold, all 64 MB would be read into the paused stream.
      assert.ok(stream.readableLength < 4 * 1024 * 1024, `${stream.readableLength} bytes read while paused`);
      assert.ok(sent < 64, 'the daemon was held');
      const { body } = await bodyOf(stream);
      assert.equal(body.length, 64 * 1000 * (frame.length - frame.indexOf('\r\n') - 4));
    } finally {
      server.close();
    }
  });

  it('gives up waiting for a head when its signal aborts, and closes the connection', async () => {
    let closedByClient = false;
    const { server, connect } = await daemon((socket) => {
      socket.on('close', () => {
        closedByClient = true;
      });
    });
    try {
      const abort = new AbortController();
      const asked = openAnswerStream(connect, 'localhost', '/x', abort.signal);
      await waitFor('a connection', () => server.listenerCount('connection') > 0);
      setTimeout(() => abort.abort(), 50);
      await assert.rejects(asked, { name: 'AbortError' });
      await waitFor('the connection closed', () => closedByClient);
    } finally {
      server.close();
    }
  });
});
