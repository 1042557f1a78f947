// sidekick's own events, one function each: each one counts (under its
// metric) and logs as the style asks, once per change of state rather than
// once per occurrence, so that a fault repeated a million times is one line
// and a number. Components are handed the events they raise; none keeps a
// flag of its own to remember what it said.

import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

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

/** What a sink raises of its own (its driver raises the rest). */
export interface SinkEvents {
  /** A message longer than the receiver takes was cut to fit. */
  messageTruncated(detail: Readonly<Record<string, unknown>>): void;
  /** A send failed that is not retried (a datagram: there is nothing to wait for). */
  sendFailed(): void;
}

export type MalformedSource = 'logs' | 'events' | 'stats';

export class Events {
  private readonly apiErrors: Counter<'kind'>;
  private readonly reconnects: Counter;
  private readonly malformedInput: Counter<'source'>;
  private readonly missed: Counter;
  private readonly truncated: Counter<'sink'>;
  private readonly sendErrors: Counter<'sink'>;
  /** never: not attached yet; a later attach after a loss is a reconnect. */
  private readonly eventStream = new Latch<'never' | 'up' | 'down'>('never');
  private readonly dockerAnswers = new Latch(true);

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
      help: 'Datagrams the kernel refused to send (syslog over UDP; not retried)',
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

  /** The event stream attached (up) or lost: an attach after a loss is counted as a reconnect. */
  eventStreamAttached(up: boolean): void {
    const was = this.eventStream.current;
    if (this.eventStream.enter(up ? 'up' : 'down') && up && was === 'down') this.reconnects.inc();
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

  /** The events of one sink, its counters shown (at 0) from the start. */
  forSink(name: string): SinkEvents {
    const truncated = this.truncated.labels({ sink: name });
    const sendErrors = this.sendErrors.labels({ sink: name });
    truncated.inc(0);
    sendErrors.inc(0);
    const toldTruncation = once();
    return {
      messageTruncated: (detail) => {
        truncated.inc();
        if (toldTruncation()) this.log.warn({ sink: name, ...detail }, 'messages longer than the receiver takes are cut (counted)');
      },
      sendFailed: () => sendErrors.inc(),
    };
  }
}
