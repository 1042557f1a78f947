// stdout://: one JSON record a line on standard output. The collector's own
// logs go to stderr, so the two never mix.

import { write } from 'node:fs';
import type { Envelope } from '../../core/record.js';
import { NdjsonBuffer } from '../ndjson.js';
import { checkQueryKeys, SMALL_BATCH_GAP_MS, type Sink, type SinkFactory } from '../sink.js';

/** How long to wait before trying again when the pipe is full and non-blocking (EAGAIN). */
const FULL_PIPE_WAIT_MS = 5;

function writeSome(fd: number, buf: Buffer, offset: number, end: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, offset, end - offset, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * A batch waits this long for more records (unless it is full): through the
 * logs API records come a socket read at a time, about 20 lines under a
 * flood, and each batch is a write.
 */
const LINGER_MS = 5;

class StdoutSink implements Sink {
  readonly batching = { flushMs: LINGER_MS, gapMs: SMALL_BATCH_GAP_MS };
  /** Reused for every batch (one is written at a time). */
  private readonly lines = new NdjsonBuffer();

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
    const buf = this.lines.write(batch);
    const end = buf.length;
    let at = 0;
    while (at < end) {
      try {
        at += await writeSome(1, buf, at, end);
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
    return { name, scheme: 'stdout', files: {}, create: () => new StdoutSink(name) };
  },
};
