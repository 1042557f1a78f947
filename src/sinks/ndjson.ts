// Records as NDJSON bytes, each line's JSON written straight into one buffer
// (Envelope.writeJson), kept from batch to batch: the stdout sink writes it,
// the HTTP sink sends a copy of it.

import type { Envelope } from '../core/record.js';
import { KeptBuffer } from './kept-buffer.js';

export class NdjsonBuffer {
  private readonly kept = new KeptBuffer(256 * 1024);

  /** The batch's records, a line each, in the kept buffer: valid until the next call. */
  write(batch: readonly Envelope[]): Buffer {
    let end = 0;
    for (const e of batch) {
      const buf = this.kept.room(end, e.jsonBytesMost + 1);
      end = e.writeJson(buf, end);
      buf[end++] = 0x0a;
    }
    return this.kept.bytes.subarray(0, end);
  }
}
