// GET /tap: the merged stream, live, as NDJSON, for as long as the client
// stays (like `docker logs -f`, for every container at once). Each client has
// its own filter (?types=, ?include=, ?exclude=) and its own bound: records
// it cannot take fast enough are dropped for it alone, counted, and reported
// to it as a gap record once it catches up. It never slows collection or the
// sinks.

import type { ServerResponse } from 'node:http';
import { routeTakes, type SinkRoute } from '../transforms/route.js';
import { nowTime, serialize, type Envelope } from '../core/record.js';
import type { Output } from '../pipeline/router.js';

/** Unsent bytes one client may hold before its records are dropped. */
const CLIENT_LIMIT = 1024 * 1024;

interface Client {
  readonly res: ServerResponse;
  readonly route: SinkRoute;
  dropped: number;
  from: string;
  to: string;
}

export class Taps implements Output {
  private readonly clients = new Set<Client>();
  /** Records dropped for slow clients, for metrics. */
  dropped = 0;

  /** `host` of the gap records: the host name, once the daemon has told it. */
  constructor(private readonly host: () => string) {}

  get size(): number {
    return this.clients.size;
  }

  /** Streams to `res` until the client goes away. */
  add(res: ServerResponse, route: SinkRoute): void {
    const client: Client = { res, route, dropped: 0, from: '', to: '' };
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.on('drain', () => this.caughtUp(client));
  }

  /** The router's question: records are serialized for /tap only while someone reads it. */
  takes(): boolean {
    return this.clients.size > 0;
  }

  push(e: Envelope): void {
    for (const c of this.clients) {
      if (!routeTakes(c.route, e.record)) continue;
      if (c.res.writableLength > CLIENT_LIMIT) {
        if (c.dropped === 0) c.from = e.record.time;
        c.to = e.record.time;
        c.dropped++;
        this.dropped++;
        continue;
      }
      c.res.write(e.json + '\n');
    }
  }

  /** Ends every stream (sidekick is stopping). */
  close(): void {
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private caughtUp(c: Client): void {
    if (c.dropped === 0) return;
    const gap = serialize({ type: 'gap', time: nowTime(), host: this.host(), dropped: c.dropped, from: c.from, to: c.to, reason: 'tap_behind' });
    c.dropped = 0;
    c.res.write(gap + '\n');
  }
}
