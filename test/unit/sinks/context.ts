// A sink's context in unit tests: its events counted in a registry of its own.

import type { Logger } from 'pino';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Events } from '../../../src/observe/events.js';
import type { SinkContext } from '../../../src/sinks/sink.js';

export function sinkContext(log: Logger = pino({ level: 'silent' }), registry = new Registry()): SinkContext {
  return { log, events: new Events(log, registry).forSink('test') };
}
