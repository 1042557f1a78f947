// Records as NDJSON bytes, each line's JSON written straight into one buffer
// (Envelope.writeJson), kept from batch to batch: the stdout sink writes it,
// the HTTP sink sends a copy of it.

import type { Envelope } from '../core/record.js';

export class NdjsonBuffer {
  private buf: Buffer | undefined;

  /** The batch's records, a line each, in the kept buffer: valid until the next call. */
  write(batch: readonly Envelope[]): Buffer {
    this.buf ??= Buffer.allocUnsafe(256 * 1024);
    let buf = this.buf;
    let end = 0;
    for (const e of batch) {
      const most = e.jsonBytesMost + 1;
      if (buf.length - end < most) {
        const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, end + most));
        buf.copy(bigger, 0, 0, end);
        buf = this.buf = bigger;
      }
      end = e.writeJson(buf, end);
      buf[end++] = 0x0a;
    }
    return buf.subarray(0, end);
  }
}
