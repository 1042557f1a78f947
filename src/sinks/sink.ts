// The contract every sink keeps. A sink module exports a factory that parses
// and validates its URI (no I/O), a `create` that builds the sink (no I/O),
// `start()` that connects, `write()` for one batch, and `stop()` that flushes
// and is safe to call twice.

import type { Logger } from 'pino';
import type { Envelope } from '../pipeline/record.js';

export interface Sink {
  /** The sink's URI with secrets masked: safe for logs and errors. */
  readonly name: string;
  start(): Promise<void>;
  /** Resolves once the batch is delivered; rejects if it could not be. */
  write(batch: readonly Envelope[]): Promise<void>;
  stop(): Promise<void>;
}

export interface SinkContext {
  readonly log: Logger;
}

/** A validated sink URI, ready to build its sink. */
export interface SinkSpec {
  readonly name: string;
  readonly scheme: string;
  create(ctx: SinkContext): Sink;
}

export interface SinkFactory {
  /** One line for `--help`: the URI form and its options. */
  readonly usage: string;
  /** Throws an Error saying what it does not accept (the registry names the URI). */
  parse(url: URL, name: string): SinkSpec;
}

/** A sink URI that cannot be used; `display` is the URI with secrets masked. */
export class SinkUriError extends Error {
  constructor(
    message: string,
    readonly display: string,
  ) {
    super(message);
  }
}

/** Rejects query keys the sink does not know: a typo must not pass silently. */
export function checkQueryKeys(url: URL, allowed: readonly string[]): void {
  for (const key of url.searchParams.keys()) {
    if (!allowed.includes(key)) {
      throw new Error(
        `unknown option "${key}"; allowed: ${allowed.length === 0 ? '(none)' : allowed.join(', ')}`,
      );
    }
  }
}

const SECRET_KEYS = new Set(['header', 'token', 'password', 'apikey', 'api_key']);

/** The URI as it may be shown: password and secret-bearing options masked. */
export function displayUri(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password !== '') shown.password = '***';
  for (const key of [...shown.searchParams.keys()]) {
    if (SECRET_KEYS.has(key.toLowerCase())) shown.searchParams.set(key, '***');
  }
  return shown.href;
}
