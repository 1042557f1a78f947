// The contract every sink keeps. A sink module exports a factory that parses
// and validates its URI (no I/O), a `create` that builds the sink (no I/O),
// `start()` that connects, `write()` for one batch, and `stop()` that flushes
// and is safe to call twice. Files a sink needs (TLS PEM files) are named by
// its parse and read by the registry when the config is read, so that a
// missing one is a bad config (exit 2), not a sink that never connects.

import type { Logger } from 'pino';
import type { SinkEvents } from '../observe/events.js';
import type { BufferOptions } from '../pipeline/buffer/buffer.js';
import type { Envelope } from '../core/record.js';
import type { SinkRoute } from '../transforms/route.js';

export interface Sink {
  /** The sink's URI with secrets masked: safe for logs and errors. */
  readonly name: string;
  /** How records are grouped for `write`; defaults in pipeline/driver.ts. */
  readonly batching?: Partial<Batching>;
  start(): Promise<void>;
  /**
   * Resolves once the batch is delivered. Rejects with a SinkError that says
   * whether trying again may help (or, with `partial`, which of its records
   * failed); any other error counts as retryable.
   */
  write(batch: readonly Envelope[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The gapMs of the sinks that write as records come (stdout, syslog): at most
 * 20 small batches a second. Watching 220 containers (200 lines and 22 stats
 * a second), a batch a record was about a fifth of what sidekick allocated at
 * rest (bench/RESULTS.md, issue 19); a line waits at most this much more.
 */
export const SMALL_BATCH_GAP_MS = 50;

export interface Batching {
  /** At most this many records in one write. */
  readonly records: number;
  /** At most about this many bytes of JSON in one write. */
  readonly bytes: number;
  /** Wait up to this long for a batch to fill (0: write what is there). */
  readonly flushMs: number;
  /**
   * A batch that is not full waits until this long after the one before it
   * was taken (0: no wait), as Nagle's algorithm does: a lone record after a
   * quiet spell goes at once, a steady trickle goes a few batches a second,
   * not a batch a record (each batch costs its write and its bookkeeping).
   */
  readonly gapMs: number;
  /** Writes in flight at once. */
  readonly inFlight: number;
}

/** A failed write, classified. `kind` is a short, fixed label for metrics. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly kind: string,
    readonly retryable: boolean,
    /** The receiver asked to wait this long (Retry-After). */
    readonly retryAfterMs?: number,
    /** Only these records of the batch failed; the others are delivered. */
    readonly partial?: PartialFailure,
  ) {
    super(message);
  }
}

/**
 * The records of a batch that failed, when a receiver answers for each (an
 * Elasticsearch bulk answer): those that may pass if written again, and
 * those refused for good. Writing the whole batch again would repeat what
 * was stored.
 */
export interface PartialFailure {
  readonly retry: readonly Envelope[];
  readonly rejected: readonly Envelope[];
}

export interface SinkContext {
  readonly log: Logger;
  /** What the sink raises of its own (counted and told by observe/events). */
  readonly events: SinkEvents;
}

/** The contents of the files a SinkSpec names, by the same URI options. */
export type SinkFiles = Readonly<Partial<Record<string, Buffer>>>;

/** A validated sink URI, ready to build its sink once the files it names are read. */
export interface SinkSpec {
  readonly name: string;
  readonly scheme: string;
  /** Paths of the files the sink needs, by the URI option that names each (ca, cert, key). */
  readonly files: Readonly<Record<string, string>>;
  create(ctx: SinkContext, files: SinkFiles): Sink;
}

/** A sink as configured: what the factory made of its URI, with its files read, its buffer and its route. */
export interface ConfiguredSink {
  readonly name: string;
  readonly scheme: string;
  readonly buffer: BufferOptions;
  readonly route: SinkRoute;
  create(ctx: SinkContext): Sink;
}

export interface SinkFactory {
  /** One line for `--help`: the URI form and its options. */
  readonly usage: string;
  /**
   * Throws an Error saying what it does not accept (the registry names the
   * URI). Options every sink takes (buffer, policy) are removed from `url`.
   */
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
      throw new Error(`unknown option "${key}"; allowed: ${allowed.length === 0 ? '(none)' : allowed.join(', ')}`);
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
