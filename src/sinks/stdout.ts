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
    this.out ??= createWriteStream('', { fd: 1, autoClose: false });
  }

  async write(batch: readonly Envelope[]): Promise<void> {
    const out = this.out;
    if (out === undefined) throw new Error('stdout sink written before start');
    let text = '';
    for (const e of batch) text += e.json + '\n';
    if (!out.write(text)) await once(out, 'drain');
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
