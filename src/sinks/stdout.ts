// stdout://: one JSON record a line on standard output. The collector's own
// logs go to stderr, so the two never mix.

import { write } from 'node:fs';
import type { Envelope } from '../pipeline/record.js';
import { checkQueryKeys, type Sink, type SinkFactory } from './sink.js';

/** How long to wait before trying again when the pipe is full and non-blocking (EAGAIN). */
const FULL_PIPE_WAIT_MS = 5;

function writeSome(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n))));
}

class StdoutSink implements Sink {
  constructor(readonly name: string) {}

  async start(): Promise<void> {}

  /**
   * Written with fs.write, from the thread pool: process.stdout writes to a
   * pipe synchronously on Linux, so a slow reader would stall the whole
   * collector. Done only once all of it is written to the descriptor: a
   * checkpoint must never count lines still queued in this process, which a
   * kill would lose. A failed write (EPIPE: the reader went away) fails the
   * batch, for the channel to retry and count.
   */
  async write(batch: readonly Envelope[]): Promise<void> {
    // One flat string (join copies once; += would build a rope to flatten later).
    const buf = Buffer.from(batch.map((e) => e.json).join('\n') + '\n');
    let at = 0;
    while (at < buf.length) {
      try {
        at += await writeSome(1, buf, at);
      } catch (err) {
        // fd 1 is non-blocking once anything in the process has touched process.stdout.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        await new Promise((resolve) => setTimeout(resolve, FULL_PIPE_WAIT_MS));
      }
    }
  }

  async stop(): Promise<void> {}
}

export const stdoutSink: SinkFactory = {
  usage: 'stdout://  one JSON record a line on standard output',
  parse(url, name) {
    checkQueryKeys(url, []);
    if (url.host !== '' || (url.pathname !== '' && url.pathname !== '/')) {
      throw new Error('takes no host or path');
    }
    return { name, scheme: 'stdout', create: () => new StdoutSink(name) };
  },
};
