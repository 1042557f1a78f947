// An HTTP receiver on loopback for the HTTP sink's tests. It checks the body
// of each format (gunzipping when asked), keeps the records of every request
// it answered with 2xx, and can misbehave on cue: answer an error status,
// close the connection mid-request, or go down and come back on its port.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { Json } from './harness.js';

export type Fault = { readonly status: number; readonly headers?: Record<string, string> } | 'close';

export interface Request {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly records: Json[];
}

/** Splits concatenated JSON objects ({...}{...}), as Splunk HEC takes them. */
function splitObjects(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(text.slice(start, i + 1));
    }
  }
  assertShape(depth === 0 && !inString, 'HEC body ends inside an object');
  return out;
}

function assertShape(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`bad body: ${what}`);
}

/** The records in a body of the given format; throws if the body is not of that shape. */
export function decode(format: string, text: string): Json[] {
  switch (format) {
    case 'ndjson':
      assertShape(text.endsWith('\n'), 'ndjson ends with a newline');
      return text
        .slice(0, -1)
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
    case 'json': {
      const arr = JSON.parse(text) as unknown;
      assertShape(Array.isArray(arr), 'json is an array');
      return arr as Json[];
    }
    case 'splunk-hec':
      return splitObjects(text).map((t) => {
        const o = JSON.parse(t) as { time: unknown; host: unknown; source: unknown; sourcetype: unknown; event: Json };
        assertShape(typeof o.time === 'number' && typeof o.host === 'string', 'HEC time and host');
        assertShape(typeof o.source === 'string' && typeof o.sourcetype === 'string', 'HEC source, sourcetype');
        assertShape(typeof o.event === 'object' && o.event.host === o.host, 'HEC event');
        assertShape(Math.abs(o.time - Date.parse(o.event.time) / 1000) < 0.001, 'HEC time matches the record');
        return o.event;
      });
    case 'elasticsearch': {
      const lines = text.split('\n');
      assertShape(lines.pop() === '', 'bulk ends with a newline');
      assertShape(lines.length % 2 === 0, 'bulk has action and document lines');
      const docs: Json[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const action = JSON.parse(lines[i]!) as { create?: { _index?: string } };
        assertShape(typeof action.create?._index === 'string', 'bulk action names an index');
        docs.push(JSON.parse(lines[i + 1]!) as Json);
      }
      return docs;
    }
    case 'loki': {
      const body = JSON.parse(text) as { streams: { stream: Record<string, string>; values: [string, string][] }[] };
      const out: Json[] = [];
      for (const s of body.streams) {
        for (const [ns, line] of s.values) {
          assertShape(/^\d{19}$/.test(ns), 'loki timestamps are nanosecond strings');
          const r = JSON.parse(line) as Json;
          assertShape(s.stream['type'] === r.type && s.stream['host'] === r.host, 'loki labels match the record');
          assertShape(s.stream['container'] === r.container?.name, 'loki container label');
          out.push(r);
        }
      }
      return out;
    }
    default:
      throw new Error(`no such format ${format}`);
  }
}

/** Where a receiver's port is chosen: below the ephemeral range. */
const FIRST_PORT = 20_000;
const LAST_PORT = 32_767;

/** Listens on `port`; false if it is in use. */
function listenOn(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      server.off('listening', listening);
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    };
    const listening = (): void => {
      server.off('error', failed);
      resolve(true);
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen(port, '127.0.0.1');
  });
}

export class Receiver {
  /** Requests answered with 2xx, in order. */
  readonly accepted: Request[] = [];
  /** Bodies that were not of their format's shape: must stay empty. */
  readonly malformed: string[] = [];
  /** Every request that arrived, answered or not. */
  arrived = 0;
  /** Faults for the next requests, in order. */
  readonly faults: Fault[] = [];
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** Maps a request path to the body format expected there. */
  constructor(private readonly formatOf: (path: string) => string) {}

  async up(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    if (this.port !== 0) {
      if (!(await listenOn(server, this.port))) throw new Error(`the receiver's port ${this.port} was taken while it was down`);
    } else {
      // A port below the kernel's ephemeral range (32768-60999 on Linux): while
      // the receiver is down, no connection made meanwhile (the sink's own
      // retries included) can take it as its local port, which failed a
      // receiver brought back up on its port with EADDRINUSE.
      do this.port = FIRST_PORT + Math.floor(Math.random() * (LAST_PORT - FIRST_PORT + 1));
      while (!(await listenOn(server, this.port)));
    }
    this.server = server;
  }

  /** Stops listening and breaks every connection: the sink sees a dead receiver. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  records(path?: string): Json[] {
    return this.accepted.filter((r) => path === undefined || r.path === path).flatMap((r) => r.records);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.arrived++;
    const fault = this.faults.shift();
    if (fault === 'close') {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      // Broken before its body was read (down() mid-request, or the sink gave
      // up): not answered, so not accepted; the sink sends it again.
      return;
    }
    if (fault !== undefined) {
      res.writeHead(fault.status, fault.headers).end('{"error":"on cue"}');
      return;
    }
    const raw = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const format = this.formatOf(path);
    let records: Json[];
    try {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      records = decode(format, text);
    } catch (err) {
      this.malformed.push(`${path}: ${(err as Error).message}`);
      res.writeHead(400).end(String(err));
      return;
    }
    this.accepted.push({ path, headers: req.headers, records });
    const answer = format === 'elasticsearch' ? JSON.stringify({ errors: false, items: records.map(() => ({ create: { status: 201 } })) }) : '{}';
    res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
  }
}
