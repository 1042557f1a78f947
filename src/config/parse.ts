// The parsers of setting values (the rows in settings.ts use them): each takes
// the text given and returns the typed value, or throws an Error saying what
// is wrong or allowed. The loader turns that into a ConfigError naming the
// setting and the value, so a parser need not know which setting it reads.

import { RECORD_TYPES, type RecordType } from '../core/record.js';
import { configureSink } from '../sinks/registry.js';
import { SinkUriError, type ConfiguredSink } from '../sinks/sink.js';
import { startPattern } from '../sources/multiline.js';
import { parseDuration, parseSize } from '../core/units.js';

/** A bad value that must not be echoed whole: `shown` stands for it in the message. */
export class MaskedValueError extends Error {
  constructor(
    message: string,
    readonly shown: string,
  ) {
    super(message);
  }
}

/** DOCKER_HOST: a unix socket, or a TCP host whose port, when not given, depends on TLS. */
export type DockerAddress = { readonly socketPath: string } | { readonly host: string; readonly port: number | undefined };

export type Backlog =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'tail'; readonly lines: number }
  | { readonly kind: 'since'; readonly ms: number };

export type ListenAddress = { readonly host: string | undefined; readonly port: number } | undefined;

export function dockerAddress(value: string): DockerAddress {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error('a unix socket needs an absolute path: unix:///var/run/docker.sock');
    return { socketPath };
  }
  if (value.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error('expected tcp://host:port');
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw new Error('expected tcp://host:port');
    return { host, port: url.port === '' ? undefined : Number(url.port) };
  }
  throw new Error('allowed: unix:///path/to/docker.sock or tcp://host:port');
}

/** As for the Docker CLI, any non-empty value turns TLS on. */
export function tlsVerify(value: string): boolean {
  // "false" and the like surely meant off: refused rather than taken for on.
  if (/^(0|false|no|off)$/i.test(value.trim())) throw new Error('any non-empty value turns TLS on; unset it to turn TLS off');
  return value !== '';
}

/** Splits the comma list first, then configures each sink (its URI decodes %2C). */
export function sinkList(value: string): readonly ConfiguredSink[] {
  const uris = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (uris.length === 0) throw new Error('at least one sink URI is needed');
  return uris.map((uri) => {
    try {
      return configureSink(uri);
    } catch (err) {
      if (err instanceof SinkUriError) throw new MaskedValueError(err.message, err.display);
      throw err;
    }
  });
}

export function recordTypes(value: string): ReadonlySet<RecordType> {
  const types = new Set<RecordType>();
  for (const part of value.split(',')) {
    const t = part.trim();
    if (t === '') continue;
    if (!(RECORD_TYPES as readonly string[]).includes(t)) throw new Error(`unknown type "${t}"; allowed: ${RECORD_TYPES.join(', ')}`);
    types.add(t as RecordType);
  }
  if (types.size === 0) throw new Error(`name at least one of ${RECORD_TYPES.join(', ')}`);
  return types;
}

export function hostName(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(value)) throw new Error('a host name: letters, digits, ".", "_", "-"; at most 255');
  return value;
}

export function oneOf<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if ((allowed as readonly string[]).includes(value)) return value as T;
    throw new Error(`allowed: ${allowed.join(', ')}`);
  };
}

/** A switch written `yes` or `no` (like on/off): true for `yes`. */
export function onOff(yes: string, no: string): (value: string) => boolean {
  const parse = oneOf([yes, no]);
  return (value) => parse(value) === yes;
}

export function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new Error(`a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Milliseconds; 0 disables. */
export function intervalOrOff(value: string): number {
  if (value === '0') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 100) throw new Error('a duration of at least 100ms (like 10s), or 0 to disable');
  return ms;
}

export function listenAddress(value: string): ListenAddress {
  if (value === 'off') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new Error('allowed: [host]:port (like :9324 or 127.0.0.1:9324), or off');
  const host = m[1] ?? m[2];
  return { host: host === '' ? undefined : host, port };
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Label keys, as Docker allows them: no spaces, no "=" (a key=value here is a mistake). */
export function labelKeys(value: string): readonly string[] {
  const keys = commaList(value);
  for (const k of keys) {
    if (/[\s=]/.test(k)) throw new Error(`"${k}": a label key, without spaces or "="`);
  }
  return keys;
}

/** Undefined: off. */
export function absolutePathOrOff(value: string): string | undefined {
  if (value === 'off') return undefined;
  if (!value.startsWith('/')) throw new Error('an absolute path, or off');
  return value;
}

export function backlog(value: string): Backlog {
  if (value === 'all' || value === 'none') return { kind: value };
  const tail = /^tail:(\d+)$/.exec(value);
  if (tail !== null) return { kind: 'tail', lines: Number(tail[1]) };
  const ms = parseDuration(value);
  if (ms !== undefined) return { kind: 'since', ms };
  throw new Error('allowed: tail:N (like tail:1000), all, none, or a duration like 10m');
}

export function lineSize(value: string): number {
  const n = parseSize(value);
  if (n === undefined || n < 1024 || n > 64 * 1024 * 1024) throw new Error('a size from 1KiB to 64MiB, like 1MiB');
  return n;
}

/** Undefined: no multiline joining. */
export function multilineStart(value: string): RegExp | undefined {
  if (value === '') return undefined;
  try {
    return startPattern(value);
  } catch (err) {
    throw new Error(`${(err as Error).message}; allowed: java, python, node, or a regex`);
  }
}

/** Undefined: no globs, no files to tail. */
export function absoluteGlobs(value: string): readonly string[] | undefined {
  const globs = commaList(value);
  if (globs.length === 0) return undefined;
  for (const g of globs) {
    if (!g.startsWith('/')) throw new Error(`"${g}" is not absolute; globs start with /`);
  }
  return globs;
}

export function excludeGlobs(value: string): readonly string[] {
  const globs = commaList(value);
  for (const g of globs) {
    if (g.includes('/') && !g.startsWith('/')) throw new Error(`"${g}": a file name glob (no /) or an absolute path glob`);
  }
  return globs;
}

export function scanInterval(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 100) throw new Error('a duration of at least 100ms, like 5s');
  return ms;
}

/** It goes in an HTTP header: printable, without spaces. */
export function bearerToken(value: string): string {
  // The message must not show the token: it names what is wrong only.
  if (!/^[\x21-\x7e]+$/.test(value)) throw new MaskedValueError('printable characters without spaces', '***');
  return value;
}
