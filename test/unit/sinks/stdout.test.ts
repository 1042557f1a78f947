// The stdout sink writes everything, in order, to a pipe that is full and
// non-blocking (EAGAIN), as it is when the reader is slow and something made
// fd 1 non-blocking: it waits and goes on, it does not fail for good.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stdoutSink } from '../../../src/sinks/stdout/sink.js';

const SINK = fileURLToPath(new URL('../../../src/sinks/stdout/sink.js', import.meta.url));
const RECORD = fileURLToPath(new URL('../../../src/core/record.js', import.meta.url));
const LINES = 100_000;

// A writer process: fd 1 made non-blocking (a net.Socket over it does that), then 20 batches.
const WRITER = `
const net = require('node:net');
new net.Socket({ fd: 1, readable: false, writable: true }).pause();
Promise.all([import(${JSON.stringify(SINK)}), import(${JSON.stringify(RECORD)})]).then(async ([{ stdoutSink }, { storedEnvelopeOf }]) => {
  const sink = stdoutSink.parse(new URL('stdout://'), 'stdout://').create({});
  await sink.start();
  for (let b = 0; b < 20; b++) {
    const batch = [];
    for (let i = 1; i <= ${LINES / 20}; i++) batch.push(storedEnvelopeOf({ type: 'event' }, 'line ' + (b * ${LINES / 20} + i) + ' ' + 'x'.repeat(60)));
    await sink.write(batch);
  }
  await sink.stop();
});
`;

describe('stdout sink', () => {
  it('lets a batch wait a few ms for more records: through the logs API they come a socket read at a time', () => {
    const sink = stdoutSink.parse(new URL('stdout://'), 'stdout://').create({} as never, {});
    const linger = sink.batching?.flushMs ?? 0;
    assert.ok(linger > 0 && linger <= 10, `waits ${linger} ms`);
    // Small batches at most 20 a second: a trickle of records is not a write each.
    assert.equal(sink.batching?.gapMs, 50);
  });

  it('writes every line to a full non-blocking pipe, waiting for the slow reader', async () => {
    const child = spawn(process.execPath, ['-e', WRITER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    // Read nothing for a while: the pipe fills and writes fail with EAGAIN.
    child.stdout.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, LINES);
    lines.forEach((l, i) => {
      if (!l.startsWith(`line ${i + 1} `)) assert.fail(`line ${i + 1} is ${l.slice(0, 40)}`);
    });
  });
});
