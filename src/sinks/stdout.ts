// stdout://: one JSON record a line on standard output. The collector's own
// logs go to stderr, so the two never mix.

import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Envelope } from '../pipeline/record.js';
import { checkQueryKeys, type Sink, type SinkFactory } from './sink.js';

class StdoutSink implements Sink {
  // process.stdout writes to a pipe synchronously on Linux, so a slow reader
  // would stall the whole collector; a file stream writes from the thread pool.
  private out: WriteStream | undefined;

  constructor(readonly name: string) {}

  async start(): Promise<void> {
    if (this.out !== undefined) return;
    this.out = createWriteStream('', { fd: 1, autoClose: false });
    // A failed write (EPIPE: the reader went away) also reaches its callback,
    // which fails the batch for the channel to retry and count; without a
    // listener the stream's 'error' event would end the process.
    this.out.on('error', () => undefined);
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const out = this.out;
    if (out === undefined) throw new Error('stdout sink written before start');
    // One flat string (join copies once; += would build a rope to flatten later).
    const text = batch.map((e) => e.json).join('\n') + '\n';
    // Done only once written to the descriptor: a checkpoint must never count
    // lines still queued in this process, which a kill would lose.
    await new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
  }

  async stop(): Promise<void> {
    const out = this.out;
    this.out = undefined;
    if (out !== undefined && out.writableLength > 0) await once(out, 'drain');
  }
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
