// Every sink sidekick has, by URI scheme. One literal map, no import side
// effects: adding a sink means adding a line here.

import { readFileSync } from 'node:fs';
import { BUFFER_POLICIES, DEFAULT_BUFFER, type BufferOptions, type BufferPolicy } from '../pipeline/buffer.js';
import { routeFromQuery, type SinkRoute } from '../pipeline/select.js';
import { parseSize } from '../units.js';
import { displayUri, SinkUriError, type ConfiguredSink, type SinkFactory, type SinkFiles } from './sink.js';
import { httpSink } from './http.js';
import { stdoutSink } from './stdout.js';
import { syslogSink } from './syslog.js';

export const SINKS: Readonly<Record<string, SinkFactory>> = {
  stdout: stdoutSink,
  'syslog+udp': syslogSink,
  'syslog+tcp': syslogSink,
  'syslog+tls': syslogSink,
  http: httpSink,
  https: httpSink,
};

/** Options every sink takes: its buffer, and which records it takes. */
export const BUFFER_USAGE =
  'every sink: ?buffer=64MiB (bytes), ?buffer_records=1000000, ?policy=drop-oldest|drop-newest|block, ' +
  '?types=log%2Cevent (a comma is %2C), ?include=name:web*, ?exclude=label:tier=test';

/** Parses one sink URI and reads the files it names; throws SinkUriError naming what is wrong. */
export function configureSink(raw: string): ConfiguredSink {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo credentials, even from a URI that does not parse.
    throw new SinkUriError('not a URI', raw.replace(/\/\/.*@/, '//***@'));
  }
  const scheme = url.protocol.slice(0, -1);
  const factory = SINKS[scheme];
  const name = displayUri(url);
  if (factory === undefined) {
    throw new SinkUriError(`unknown scheme "${scheme}"; allowed: ${Object.keys(SINKS).join(', ')}`, name);
  }
  try {
    const buffer = takeBufferOptions(url);
    const route = takeRouteOptions(url);
    const spec = factory.parse(url, name);
    const files = readFiles(spec.files);
    return { name, scheme: spec.scheme, buffer, route, create: (ctx) => spec.create(ctx, files) };
  } catch (err) {
    throw new SinkUriError((err as Error).message, name);
  }
}

function readFiles(paths: Readonly<Record<string, string>>): SinkFiles {
  const files: Record<string, Buffer> = {};
  for (const [option, path] of Object.entries(paths)) {
    try {
      files[option] = readFileSync(path);
    } catch (err) {
      throw new Error(`${option}=${path}: cannot read: ${(err as Error).message}`);
    }
  }
  return files;
}

/** Reads and removes the routing options (types, include, exclude) from the URI's query. */
function takeRouteOptions(url: URL): SinkRoute {
  const route = routeFromQuery(url.searchParams);
  for (const key of ['types', 'include', 'exclude']) url.searchParams.delete(key);
  return route;
}

/** Reads and removes the buffer options from the URI's query. */
function takeBufferOptions(url: URL): BufferOptions {
  const q = url.searchParams;
  let { bytes, records, policy } = DEFAULT_BUFFER;
  const size = q.get('buffer');
  if (size !== null) {
    const n = parseSize(size);
    if (n === undefined || n < 1024) throw new Error(`buffer=${size}: a size of at least 1KiB, like 64MiB`);
    bytes = n;
  }
  const count = q.get('buffer_records');
  if (count !== null) {
    if (!/^\d+$/.test(count) || Number(count) < 1) throw new Error(`buffer_records=${count}: a whole number >= 1`);
    records = Number(count);
  }
  const p = q.get('policy');
  if (p !== null) {
    if (!(BUFFER_POLICIES as readonly string[]).includes(p)) {
      throw new Error(`policy=${p}: allowed: ${BUFFER_POLICIES.join(', ')}`);
    }
    policy = p as BufferPolicy;
  }
  for (const key of ['buffer', 'buffer_records', 'policy']) q.delete(key);
  return { bytes, records, policy };
}
