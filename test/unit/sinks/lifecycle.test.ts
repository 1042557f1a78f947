// Every registered sink keeps the component contract: parse without I/O,
// create without I/O, start, then stop twice without harm.

import { sinkContext } from './context.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureSink, SINKS } from '../../../src/sinks/registry.js';

const EXAMPLES: Readonly<Record<string, string>> = {
  stdout: 'stdout://',
  'syslog+udp': 'syslog+udp://127.0.0.1:9',
  'syslog+tcp': 'syslog+tcp://127.0.0.1:9',
  'syslog+tls': 'syslog+tls://127.0.0.1:9',
  http: 'http://127.0.0.1:9/in',
  https: 'https://127.0.0.1:9/in',
  'otlp+http': 'otlp+http://127.0.0.1:9',
  'otlp+https': 'otlp+https://127.0.0.1:9/otel',
};

describe('sink lifecycle', () => {
  it('has an example for every registered scheme', () => {
    assert.deepEqual(Object.keys(EXAMPLES).sort(), Object.keys(SINKS).sort());
  });

  for (const [scheme, uri] of Object.entries(EXAMPLES)) {
    it(`${scheme}: create -> start -> stop -> stop`, async () => {
      const spec = configureSink(uri);
      assert.equal(spec.scheme, scheme);
      const sink = spec.create(sinkContext());
      assert.equal(sink.name, spec.name);
      await sink.start();
      await sink.stop();
      await sink.stop();
    });
  }
});
