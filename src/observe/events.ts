// sidekick's own events, one function each: each one counts (under its
// metric) and logs as the style asks, once per change of state rather than
// once per occurrence, so that a fault repeated a million times is one line
// and a number. Components are handed the events they raise; none keeps a
// flag of its own to remember what it said.

import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { errorKind } from '../docker/client.js';
import type { Corruption } from '../pipeline/buffer/disk/segments.js';

/**
 * A state whose changes are told, not its repeats: `enter` answers whether
 * the state is new. A latch of booleans, entered with true, answers true once.
 */
export class Latch<S> {
  constructor(private state: S) {}

  get current(): S {
    return this.state;
  }

  enter(state: S): boolean {
    if (state === this.state) return false;
    this.state = state;
    return true;
  }
}

/** Said once: the first call answers true, every later one false. */
export function once(): () => boolean {
  const said = new Latch(false);
  return () => said.enter(true);
}

/** What discovery raises of the Docker event stream (process-wide: one stream). */
export interface EventStreamEvents {
  /** The stream failed or broke: said once until it attaches again; true when said (then it is news). */
  eventStreamLost(err: Error, hint: string | undefined): boolean;
  /** The stream is attached: said after a failure, and counted as a reconnect after a loss. */
  eventStreamAttached(): void;
}

/** What the files source raises. */
export interface FileEvents {
  /** The file globs cannot be matched: said once until they can again. */
  fileGlobsFailed(err: Error): void;
  /** The file globs were matched: said when they could not be before. */
  fileGlobsMatched(): void;
  /** The events of one tailed file. */
  forFile(path: string): TailedFileEvents;
}

/** What one tailed file raises. */
export interface TailedFileEvents {
  /** It cannot be read: said and counted when the error is new (not each time it is tried again). */
  unreadable(err: string): void;
  /** It was read: said when it could not be before. */
  readable(): void;
}

/** What checkpoints raise (process-wide: one state directory). */
export interface CheckpointEvents {
  /** The snapshot the last run left cannot be read: started without it. */
  checkpointsUnreadable(dir: string, err: Error): void;
  /** A write failed: counted each time, said once until one works. */
  checkpointWriteFailed(dir: string, err: Error): void;
  /** A write worked: said when they had been failing. */
  checkpointWritten(dir: string): void;
}

/** What /healthz answers, as observe/health.ts checks it. */
export type HealthAnswer = { readonly healthy: true } | { readonly healthy: false; readonly cause: string; readonly detail: string };

/** What the health monitor raises. */
export interface HealthEvents {
  /** /healthz's answer at each check: a change is said, each turn to 503 counted by cause. */
  healthChecked(health: HealthAnswer): void;
}

/** What a sink raises of its own (its driver raises the rest). */
export interface SinkEvents {
  /** A message longer than the receiver takes was cut to fit. */
  messageTruncated(detail: Readonly<Record<string, unknown>>): void;
  /** A send failed that is not retried (a datagram: there is nothing to wait for). */
  sendFailed(): void;
  /**
   * The receiver took a request but refused some of its items (OTLP's
   * partial success: log records or data points): counted by signal, its
   * message said when it changes.
   */
  partlyRejected(signal: string, items: number, message: string): void;
}

export type MalformedSource = 'logs' | 'events' | 'stats';

export class Events implements EventStreamEvents, FileEvents, CheckpointEvents {
  private readonly apiErrors: Counter<'kind'>;
  private readonly reconnects: Counter;
  private readonly malformedInput: Counter<'source'>;
  private readonly missed: Counter;
  private readonly truncated: Counter<'sink'>;
  private readonly sendErrors: Counter<'sink'>;
  private readonly itemsRejected: Counter<'sink' | 'signal'>;
  private readonly fileReadErrors: Counter;
  private readonly checkpointWriteErrors: Counter;
  private readonly unhealthy: Counter<'cause'>;
  private readonly diskCorrupt: Counter<'sink'>;
  private readonly diskCorruptBytes: Counter<'sink'>;
  /**
   * never: not tried yet; failing: not attached yet, and failing; lost: down
   * after it was attached (its next attach is a reconnect).
   */
  private readonly eventStream = new Latch<'never' | 'failing' | 'up' | 'lost'>('never');
  private readonly dockerAnswers = new Latch(true);
  private readonly fileGlobs = new Latch<'matched' | 'failing'>('matched');
  private readonly checkpointDisk = new Latch<'writing' | 'failing'>('writing');

  constructor(
    private readonly log: Logger,
    registry: Registry,
  ) {
    const registers = [registry];
    this.apiErrors = new Counter({
      name: 'sidekick_docker_api_errors_total',
      help: 'Docker API calls that failed, by kind (http_<status>, a system error code, timeout)',
      labelNames: ['kind'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'sidekick_event_stream_reconnects_total',
      help: 'Times the Docker event stream was attached again after it was lost',
      registers,
    });
    this.malformedInput = new Counter({
      name: 'sidekick_malformed_input_total',
      help: 'Input from the Docker daemon that could not be read and was skipped, by source (logs, events, stats)',
      labelNames: ['source'],
      registers,
    });
    this.missed = new Counter({
      name: 'sidekick_containers_missed_total',
      help: 'Containers gone (removed) before their logs could be read: short jobs the engine removed first',
      registers,
    });
    this.truncated = new Counter({
      name: 'sidekick_sink_messages_truncated_total',
      help: 'Messages cut to fit (syslog over UDP)',
      labelNames: ['sink'],
      registers,
    });
    this.sendErrors = new Counter({
      name: 'sidekick_sink_send_errors_total',
      help: 'Sends that failed and are not retried (syslog over UDP: a datagram the kernel refused)',
      labelNames: ['sink'],
      registers,
    });
    this.itemsRejected = new Counter({
      name: 'sidekick_sink_items_rejected_total',
      help: 'Items a receiver took a request with but refused, as it counts them (OTLP partial success: log records, data points)',
      labelNames: ['sink', 'signal'],
      registers,
    });
    this.fileReadErrors = new Counter({
      name: 'sidekick_file_read_errors_total',
      help: 'Times a tailed file could not be read (each is tried again)',
      registers,
    });
    this.checkpointWriteErrors = new Counter({
      name: 'sidekick_checkpoint_write_errors_total',
      help: 'Checkpoint writes that failed (a full or read-only state directory); collection goes on',
      registers,
    });
    this.unhealthy = new Counter({
      name: 'sidekick_unhealthy_total',
      help: 'Times /healthz turned to 503, by cause (loop-stalled, events-down, events-silent, logs-stalled)',
      labelNames: ['cause'],
      registers,
    });
    this.diskCorrupt = new Counter({
      name: 'sidekick_sink_disk_corrupt_total',
      help: "Torn or corrupt frames found in a sink's disk buffer, each skipped with the rest of its segment",
      labelNames: ['sink'],
      registers,
    });
    this.diskCorruptBytes = new Counter({
      name: 'sidekick_sink_disk_corrupt_bytes_total',
      help: "Bytes of a sink's disk buffer skipped as torn or corrupt",
      labelNames: ['sink'],
      registers,
    });
  }

  /** A Docker API call failed (each call's caller decides what to say). */
  readonly dockerApiError = (kind: string): void => {
    this.apiErrors.inc({ kind });
  };

  /** The daemon does not answer at startup: said once until it answers. */
  dockerUnanswered(detail: Readonly<Record<string, unknown>>): void {
    if (this.dockerAnswers.enter(false)) this.log.warn(detail, 'docker does not answer; retrying');
  }

  dockerAnswered(): void {
    this.dockerAnswers.enter(true);
  }

  eventStreamLost(err: Error, hint: string | undefined): boolean {
    const attachedBefore = this.eventStream.current === 'up' || this.eventStream.current === 'lost';
    if (!this.eventStream.enter(attachedBefore ? 'lost' : 'failing')) return false;
    this.log.warn({ err: err.message, kind: errorKind(err), docker: true, hint }, 'docker event stream lost; reconnecting');
    return true;
  }

  eventStreamAttached(): void {
    const was = this.eventStream.current;
    this.eventStream.enter('up');
    if (was === 'failing' || was === 'lost') this.log.info('docker event stream attached again');
    if (was === 'lost') this.reconnects.inc();
  }

  /** Input from the daemon that could not be read, skipped (its reader says so once per stream). */
  malformed(source: MalformedSource): void {
    this.malformedInput.inc({ source });
  }

  /** A container gone before its logs could be read. */
  containerMissed(detail: { readonly container: string | undefined; readonly id: string; readonly why: string }): void {
    this.missed.inc();
    this.log.warn(detail, 'container missed: its logs could not be read');
  }

  fileGlobsFailed(err: Error): void {
    if (this.fileGlobs.enter('failing')) this.log.warn({ err: err.message }, 'cannot match the file globs; trying again');
  }

  fileGlobsMatched(): void {
    if (this.fileGlobs.enter('matched')) this.log.info('file globs can be matched again');
  }

  forFile(path: string): TailedFileEvents {
    /** The read error last said (undefined: none). */
    const error = new Latch<string | undefined>(undefined);
    return {
      unreadable: (err) => {
        if (!error.enter(err)) return;
        this.fileReadErrors.inc();
        this.log.warn({ path, err }, 'cannot read file; trying again');
      },
      readable: () => {
        if (error.enter(undefined)) this.log.info({ path }, 'file can be read again');
      },
    };
  }

  checkpointsUnreadable(dir: string, err: Error): void {
    this.log.warn({ dir, err: err.message }, 'checkpoint file unreadable; starting without it');
  }

  checkpointWriteFailed(dir: string, err: Error): void {
    this.checkpointWriteErrors.inc();
    if (this.checkpointDisk.enter('failing')) this.log.warn({ dir, err: err.message }, 'cannot write checkpoints; collecting on, retrying every second');
  }

  checkpointWritten(dir: string): void {
    if (this.checkpointDisk.enter('writing')) this.log.info({ dir }, 'checkpoints written again');
  }

  /** The events of the health monitor, each of its causes shown (at 0) from the start. */
  forHealth(causes: readonly string[]): HealthEvents {
    for (const cause of causes) this.unhealthy.inc({ cause }, 0);
    /** The cause /healthz answered last; undefined: healthy. */
    const answer = new Latch<string | undefined>(undefined);
    return {
      healthChecked: (health) => {
        const was = answer.current;
        if (!answer.enter(health.healthy ? undefined : health.cause)) return;
        if (health.healthy) {
          this.log.info({ was }, 'healthy again: /healthz answers 200');
        } else {
          this.unhealthy.inc({ cause: health.cause });
          this.log.error({ cause: health.cause, detail: health.detail }, 'unhealthy: /healthz answers 503 (a restart should help)');
        }
      },
    };
  }

  /** A disk buffer found a torn or corrupt stretch and skipped it: each is said and counted (they are rare, and each is news). */
  forDiskBuffer(sink: string): (c: Corruption) => void {
    const found = this.diskCorrupt.labels({ sink });
    const bytes = this.diskCorruptBytes.labels({ sink });
    found.inc(0);
    bytes.inc(0);
    return (c) => {
      found.inc();
      bytes.inc(c.bytes);
      this.log.warn({ sink, segment: c.segment, offset: c.offset, bytes: c.bytes, why: c.why }, 'disk buffer: skipped what cannot be read (counted)');
    };
  }

  /** The events of one sink, its counters shown (at 0) from the start. */
  forSink(name: string): SinkEvents {
    const truncated = this.truncated.labels({ sink: name });
    const sendErrors = this.sendErrors.labels({ sink: name });
    truncated.inc(0);
    sendErrors.inc(0);
    const toldTruncation = once();
    const rejectionSaid = new Latch('');
    return {
      messageTruncated: (detail) => {
        truncated.inc();
        if (toldTruncation()) this.log.warn({ sink: name, ...detail }, 'messages longer than the receiver takes are cut (counted)');
      },
      sendFailed: () => sendErrors.inc(),
      partlyRejected: (signal, items, message) => {
        this.itemsRejected.labels({ sink: name, signal }).inc(items);
        if (rejectionSaid.enter(signal + '\n' + message)) {
          this.log.warn({ sink: name, signal, items, message }, 'receiver refused items of a request (partial success; counted, not retried)');
        }
      },
    };
  }
}
