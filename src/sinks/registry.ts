// Every sink sidekick has, by URI scheme. One literal map, no import side
// effects: adding a sink means adding a line here.

import { displayUri, SinkUriError, type SinkFactory, type SinkSpec } from './sink.js';
import { stdoutSink } from './stdout.js';

export const SINKS: Readonly<Record<string, SinkFactory>> = {
  stdout: stdoutSink,
};

/** Parses one sink URI; throws SinkUriError naming what is wrong. */
export function parseSinkUri(raw: string): SinkSpec {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Never echo credentials, even from a URI that does not parse.
    throw new SinkUriError('not a URI', raw.replace(/\/\/[^@/]*@/, '//***@'));
  }
  const scheme = url.protocol.slice(0, -1);
  const factory = SINKS[scheme];
  const name = displayUri(url);
  if (factory === undefined) {
    throw new SinkUriError(`unknown scheme "${scheme}"; allowed: ${Object.keys(SINKS).join(', ')}`, name);
  }
  try {
    return factory.parse(url, name);
  } catch (err) {
    throw new SinkUriError((err as Error).message, name);
  }
}

