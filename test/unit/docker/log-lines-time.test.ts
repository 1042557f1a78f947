// The times of log lines from engines that do not write Docker's
// "2006-01-02T15:04:05.000000000Z": Podman's API gives whole seconds.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STDOUT } from '../../../src/docker/frames.js';
import { LogLineParser, type LogLine } from '../../../src/docker/log-lines.js';

function logFrame(time: string, text: string): Buffer {
  const body = Buffer.from(`${time} ${text}`);
  const header = Buffer.alloc(8);
  header[0] = STDOUT;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function times(tty: boolean, wire: Buffer): string[] {
  const lines: LogLine[] = [];
  const parser = new LogLineParser(tty, { line: (l) => lines.push(l), fault: () => assert.fail('fault') });
  parser.push(wire);
  parser.end();
  return lines.map((l) => l.time);
}

describe('log line times', () => {
  it("keeps Docker's time as it is", () => {
    assert.deepEqual(times(false, logFrame('2026-12-02T17:46:11.279144114Z', 'a\n')), ['2026-12-02T17:46:11.279144114Z']);
  });

  it("pads Podman's whole seconds to 9 digits, multiplexed and TTY", () => {
    assert.deepEqual(times(false, logFrame('2026-12-02T17:46:11Z', 'a\n')), ['2026-12-02T17:46:11.000000000Z']);
    assert.deepEqual(times(true, Buffer.from('2026-12-02T17:46:11Z a\r\n')), ['2026-12-02T17:46:11.000000000Z']);
  });

  it('pads fewer digits, cuts more, and makes an offset UTC', () => {
    assert.deepEqual(times(false, logFrame('2026-12-02T17:46:11.5Z', 'a\n')), ['2026-12-02T17:46:11.500000000Z']);
    assert.deepEqual(times(false, logFrame('2026-12-02T17:46:11.1234567891Z', 'a\n')), ['2026-12-02T17:46:11.123456789Z']);
    assert.deepEqual(times(false, logFrame('2026-12-02T09:46:11-08:00', 'a\n')), ['2026-12-02T17:46:11.000000000Z']);
  });

  it('gives no time for a first word that is not one (the intake stamps it)', () => {
    assert.deepEqual(times(false, logFrame('hello', 'world\n')), ['']);
  });
});
