// Every sink sidekick has, by URI scheme. One literal map, no import side
// effects: adding a sink means adding a line here.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  BUFFER_POLICIES,
  DEFAULT_BUFFER,
  DEFAULT_BUFFER_BYTES,
  DEFAULT_BUFFER_RECORDS,
  DEFAULT_DISK_BYTES,
  type BufferOptions,
  type BufferPolicy,
} from '../pipeline/buffer/buffer.js';
import { routeFromQuery } from '../transforms/route.js';
import { parseSize } from '../core/units.js';
import { displayUri, SinkUriError, type ConfiguredSink, type SinkFactory, type SinkFiles } from './sink.js';
import { httpSink } from './http/sink.js';
import { otlpSink } from './otlp/sink.js';
import { stdoutSink } from './stdout/sink.js';
import { syslogSink } from './syslog/sink.js';

export const SINKS: Readonly<Record<string, SinkFactory>> = {
  stdout: stdoutSink,
  'syslog+udp': syslogSink,
  'syslog+tcp': syslogSink,
  'syslog+tls': syslogSink,
  http: httpSink,
  https: httpSink,
  'otlp+http': otlpSink,
  'otlp+https': otlpSink,
};

/**
 * Options every sink takes, in --help order: its buffer, and which records it
 * takes. Read here and removed from the URI before the sink's own parse.
 */
const EVERY_SINK_OPTIONS = [
  { key: 'buffer', usage: '?buffer=64MiB (in memory) or ?buffer=disk (in SIDEKICK_STATE_DIR)' },
  { key: 'buffer_records', usage: `?buffer_records=${DEFAULT_BUFFER_RECORDS}` },
  { key: 'disk', usage: '?disk=1GiB (with buffer=disk)' },
  { key: 'policy', usage: `?policy=${BUFFER_POLICIES.join('|')}` },
  { key: 'types', usage: '?types=log%2Cevent (a comma is %2C)' },
  { key: 'include', usage: '?include=name:web*' },
  { key: 'exclude', usage: '?exclude=label:tier=test' },
] as const;

/** The --help line of the options every sink takes. */
export const EVERY_SINK_USAGE = `every sink: ${EVERY_SINK_OPTIONS.map((o) => o.usage).join(', ')}`;

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
    const route = routeFromQuery(url.searchParams);
    const shared = new URLSearchParams(url.searchParams);
    for (const { key } of EVERY_SINK_OPTIONS) url.searchParams.delete(key);
    // A disk buffer's folder is named after where the sink sends (its own options, secrets masked), not its buffer or route.
    const buffer = bufferFromQuery(shared, () => bufferKey(displayUri(url)));
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

function bufferFromQuery(q: URLSearchParams, diskKey: () => string): BufferOptions {
  let policy: BufferPolicy = DEFAULT_BUFFER.policy;
  const p = q.get('policy');
  if (p !== null) {
    if (!(BUFFER_POLICIES as readonly string[]).includes(p)) {
      throw new Error(`policy=${p}: allowed: ${BUFFER_POLICIES.join(', ')}`);
    }
    policy = p as BufferPolicy;
  }
  const size = q.get('buffer');
  const count = q.get('buffer_records');
  const disk = q.get('disk');
  if (size === 'disk') {
    if (count !== null) throw new Error(`buffer_records=${count}: only for a buffer in memory (a disk buffer is bounded by disk=)`);
    let bytes = DEFAULT_DISK_BYTES;
    if (disk !== null) {
      const n = parseSize(disk);
      if (n === undefined || n < 1024 * 1024) throw new Error(`disk=${disk}: a size of at least 1MiB, like 1GiB`);
      bytes = n;
    }
    return { kind: 'disk', bytes, policy, key: diskKey() };
  }
  if (disk !== null) throw new Error(`disk=${disk}: only with buffer=disk`);
  let bytes = DEFAULT_BUFFER_BYTES;
  let records = DEFAULT_BUFFER_RECORDS;
  if (size !== null) {
    const n = parseSize(size);
    if (n === undefined || n < 1024) throw new Error(`buffer=${size}: disk, or a size of at least 1KiB, like 64MiB`);
    bytes = n;
  }
  if (count !== null) {
    if (!/^\d+$/.test(count) || Number(count) < 1) throw new Error(`buffer_records=${count}: a whole number >= 1`);
    records = Number(count);
  }
  return { kind: 'memory', bytes, records, policy };
}

/** A folder name for a sink's disk buffer: readable, and unique to where it sends. */
function bufferKey(destination: string): string {
  const slug = destination
    .replace(/^[a-z+]+:\/\//, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return `${slug}-${createHash('sha256').update(destination).digest('hex').slice(0, 12)}`;
}
