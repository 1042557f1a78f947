// The contract every source keeps. A source module exports a factory that
// says whether the config asks for it and `create`s it (no I/O); `start()`
// begins reading and `stop()` ends it, safe to call twice and before start.
// A source gets what it needs in its context and tells what happens through
// typed signals, which the topology routes to health and readiness, and
// events, which say and count it (observe/events.ts): no source knows those.

import type { Logger } from 'pino';
import type { EventStreamEvents, FileEvents, MalformedSource } from '../observe/events.js';
import type { ContainerStatus } from './docker/collector.js';
import type { Config } from '../config/load.js';
import type { DockerApi, EngineInfo } from '../docker/client.js';
import type { VolumeOwners } from './docker/owners.js';
import type { ReadAgain } from '../core/flow.js';
import type { ContainerPolicy } from '../transforms/policy.js';
import type { AnyPositionCodec, Held, PositionCodec } from '../core/position.js';
import type { SidekickRecord } from '../core/record.js';

export interface Source {
  readonly name: string;
  /** Resolves once the source reads (or was stopped meanwhile). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Once every source has started: work that must not come before the others' start. */
  allStarted?(): void;
  /** Look again for what to read, now (SIGHUP). */
  rescan?(): Promise<void>;
  /** The containers it reads, for /status and /healthz, with the age of each one's oldest record not delivered yet. */
  containers?(undelivered: ReadonlyMap<string, number>): ContainerStatus[];
  /** What it reads now, for the metrics, /status and the logs. */
  counts?(): SourceCounts;
  /**
   * For a sink that fell behind: reads the source at `key` again, from `from`
   * (a position of one of its codecs) to what it holds now, into `into`;
   * false if it no longer can (the source is gone). A source whose records
   * carry positions has it.
   */
  readAgain?(key: string, from: Held, into: ReadAgain): Promise<boolean>;
}

export interface SourceCounts {
  /** Containers being collected now. */
  readonly containers?: number;
  /** Container log streams followed now, by where they are read. */
  readonly logStreams?: { readonly api: number; readonly file: number };
  /** Files tailed now. */
  readonly files?: number;
}

/** Where an earlier run left each source's records; Checkpoints keeps them. */
export interface Positions {
  get<P>(codec: PositionCodec<P, unknown>, key: string): P | undefined;
  /** The source at `key` is gone: its position is of no more use. */
  forget(key: string): void;
  /** Every key with a position of this codec. */
  keys(codec: AnyPositionCodec): string[];
}

/** What every source may know of the Docker engine, found out once before any starts. */
export interface DockerFacts {
  readonly api: DockerApi;
  /** Each record's host: the configured one, or the engine's name. */
  readonly host: string;
  readonly engine: EngineInfo;
  /** sidekick's own container id (full or 12-character prefix), never collected. */
  readonly selfId: string | undefined;
  /** Per container: collected or not, which types, its tag and fields. */
  readonly policy: ContainerPolicy;
  /** Which container's volume holds a path. */
  readonly owners: VolumeOwners;
}

/** What a source tells of itself for health and readiness. */
export interface SourceSignals {
  /** The Docker event stream is attached (true) or lost (false, with why). */
  attached(up: boolean, reason?: string): void;
  /** An event the stream delivered (each once), by Docker's time. */
  eventSeen(timeNanos: string): void;
}

/** The events sources raise: each said and counted (observe/events.ts). */
export interface SourceEvents extends EventStreamEvents, FileEvents {
  /** A container gone before its logs could be read (its name, id and why): counted and said. */
  containerMissed(detail: { readonly container: string | undefined; readonly id: string; readonly why: string }): void;
  /** Input from the daemon that could not be read, skipped: counted (its reader says it, once a stream). */
  malformed(source: MalformedSource): void;
}

export interface SourceContext {
  readonly config: Config;
  readonly log: Logger;
  readonly emit: (record: SidekickRecord) => void;
  readonly positions: Positions;
  readonly docker: DockerFacts;
  readonly signals: SourceSignals;
  readonly events: SourceEvents;
}

export interface SourceFactory {
  readonly name: string;
  /** The codecs of the positions its records carry, for the checkpoints to read and write. */
  readonly codecs: readonly AnyPositionCodec[];
  /** Whether the config asks for this source. */
  enabled(config: Config): boolean;
  create(ctx: SourceContext): Source;
}
