// Which containers exist, and what happens to them. Subscribes to the event
// stream first and only then lists the running containers, so no start falls
// between the two. When the stream or the daemon goes away it reconnects with
// backoff, resumes the stream from the last event it saw (`since`), drops what
// it already had, and lists the running containers again.

import { once } from '../../observe/events.js';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { retryForever } from '../../core/backoff.js';
import type { ContainerSummary, DockerApi } from '../../docker/client.js';
import { compareNanos, EventStreamParser, nanosToSince, type DockerEvent } from '../../docker/events.js';
import type { SourceEvents } from '../source.js';

/** How far before the newest event a resumed stream starts. */
const REPLAY_MARGIN_NS = 2_000_000_000n;
/** Events remembered to drop their repeats (far more than 2 s of events). */
const SEEN_EVENTS = 20_000;

export interface DiscoveryHandlers {
  /**
   * Every event once, as it arrives, before the events queued ahead of it
   * are handled: where work that takes a round trip (an inspect) can start.
   */
  arrived?(event: DockerEvent): void;
  /** Every event once, in order; the next one waits for the returned promise. */
  event(event: DockerEvent): Promise<void>;
  /** The running containers, after every (re)connect of the event stream. */
  running(containers: readonly ContainerSummary[]): void;
  /** The event stream is attached (true), or lost (false, once until it attaches again). */
  attached(up: boolean, reason?: string): void;
}

/** What discovery raises: the event stream lost and attached, a line of it that is not an event. */
export type DiscoveryEvents = Pick<SourceEvents, 'eventStreamLost' | 'eventStreamAttached' | 'malformed'>;

export class Discovery {
  private readonly abort = new AbortController();
  private stream: Readable | undefined;
  private loop: Promise<void> | undefined;
  /** The newest event time seen. */
  private lastNanos: string | undefined;
  /** The events seen lately, by time and identity: what a resumed stream repeats. */
  private readonly seen = new Set<string>();
  private firstAttachNanos: string | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: DockerApi,
    private readonly handlers: DiscoveryHandlers,
    private readonly events: DiscoveryEvents,
    private readonly log: Logger,
  ) {}

  /** Starts watching; resolves once the first stream is attached and listed. */
  start(): Promise<void> {
    if (this.loop !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.loop = this.run(resolve);
    });
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('sidekick is stopping'));
    this.stream?.destroy();
    await this.loop;
    await this.queue;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(firstAttached: () => void): Promise<void> {
    while (!this.stopped) {
      const stream = await this.attach();
      if (stream === undefined) break; // aborted: stopping
      firstAttached();
      const reason = await this.consume(stream);
      this.stream = undefined;
      if (this.stopped) break;
      this.lost(reason);
    }
    firstAttached();
  }

  /**
   * Opens the event stream, lists the running containers and hands them on;
   * undefined once stopping. Its own frame: the loop reading the stream would
   * keep the list (a few objects a container) until the stream ends.
   */
  private async attach(): Promise<Readable | undefined> {
    let stream: Readable;
    let containers: ContainerSummary[];
    try {
      stream = await retryForever(() => this.api.events(this.since()), {
        signal: this.abort.signal,
        onFailure: (err) => this.lost(err),
      });
      this.stream = stream;
      containers = await retryForever(() => this.api.listRunning(), {
        signal: this.abort.signal,
        onFailure: (err) => this.lost(err),
      });
    } catch {
      this.stream?.destroy();
      return undefined;
    }
    this.firstAttachNanos ??= String(BigInt(Date.now()) * 1_000_000n);
    this.events.eventStreamAttached();
    this.handlers.attached(true);
    this.handlers.running(containers);
    return stream;
  }

  private lost(err: Error): void {
    if (this.stopped) return;
    const hint = this.api.explain(err);
    if (this.events.eventStreamLost(err, hint)) this.handlers.attached(false, hint ?? err.message);
  }

  /**
   * Resume a little before the newest event seen (the daemon may publish
   * concurrent events slightly out of time order), or from when the stream
   * first worked; what repeats is dropped by identity.
   */
  private since(): string | undefined {
    const from = this.lastNanos ?? this.firstAttachNanos;
    if (from === undefined) return undefined;
    const back = BigInt(from) - REPLAY_MARGIN_NS;
    return nanosToSince(String(back > 0n ? back : 0n));
  }

  private consume(stream: Readable): Promise<Error> {
    const firstMalformed = once();
    const parser = new EventStreamParser({
      event: (event) => this.received(event),
      malformed: (line) => {
        this.events.malformed('events');
        if (firstMalformed()) this.log.warn({ line }, 'docker event stream: a line that is not an event; skipped (said once per stream)');
      },
    });
    return new Promise((resolve) => {
      let done = false;
      const finish = (err: Error): void => {
        if (done) return;
        done = true;
        resolve(err);
      };
      stream.on('data', (chunk: Buffer) => parser.push(chunk));
      stream.on('end', () => finish(new Error('event stream ended')));
      stream.on('error', (err) => finish(err));
      stream.on('close', () => finish(new Error('event stream closed')));
    });
  }

  /** Drops what a resumed stream repeats, then queues the event in order. */
  private received(event: DockerEvent): void {
    const key = `${event.timeNanos}\u0000${event.type}\u0000${event.action}\u0000${event.actorId}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // A Set iterates in insertion order: the first entry is the oldest.
    if (this.seen.size > SEEN_EVENTS) this.seen.delete(this.seen.values().next().value as string);
    if (this.lastNanos === undefined || compareNanos(event.timeNanos, this.lastNanos) > 0) this.lastNanos = event.timeNanos;
    this.handlers.arrived?.(event);
    this.queue = this.queue.then(() =>
      this.handlers.event(event).catch((err: Error) => {
        this.log.error({ err: err.message, action: event.action }, 'handling a docker event failed');
      }),
    );
  }
}
