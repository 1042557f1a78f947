// Multiline joining: real Java, Python and Node stack traces become one record
// each with their presets; records keep their first line's time and place;
// the last record is sent after the flush time.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MultilineJoiner, startPattern, type JoinedLine } from '../../../src/sources/multiline.js';

const JAVA = [
  '2026-01-01 12:00:00 INFO starting',
  'Exception in thread "main" java.lang.IllegalStateException: boom',
  '\tat com.example.App.run(App.java:42)',
  '\tat com.example.App.main(App.java:10)',
  'Caused by: java.io.IOException: disk full',
  '\tat com.example.Store.write(Store.java:7)',
  '\t... 2 more',
  '2026-01-01 12:00:01 INFO recovered',
];

const PYTHON = [
  'INFO:root:starting',
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 3, in <module>',
  '    main()',
  '  File "/app/main.py", line 2, in main',
  '    raise ValueError("boom")',
  'ValueError: boom',
  'INFO:root:recovered',
];

const NODE = [
  'listening on 8080',
  'Error: boom',
  '    at Object.<anonymous> (/app/index.js:1:7)',
  '    at Module._compile (node:internal/modules/cjs/loader:1256:14)',
  'still listening',
];

function join(pattern: string, lines: readonly string[], maxBytes = 1 << 20): JoinedLine[] {
  const out: JoinedLine[] = [];
  const j = new MultilineJoiner(startPattern(pattern), 1000, maxBytes, (l) => out.push(l));
  for (const [i, line] of lines.entries()) j.push('stdout', `2026-01-01T00:00:00.00000000${i}Z`, 1, line, false);
  j.end();
  return out;
}

describe('MultilineJoiner', () => {
  it('java: a trace with its cause is one record', () => {
    const out = join('java', JAVA);
    assert.deepEqual(
      out.map((l) => l.message),
      [JAVA[0], JAVA.slice(1, 7).join('\n'), JAVA[7]],
    );
    assert.equal(out[1]!.time, '2026-01-01T00:00:00.000000001Z', 'timed by its first line');
  });

  it('python: a traceback and its exception line are one record', () => {
    assert.deepEqual(
      join('python', PYTHON).map((l) => l.message),
      [PYTHON[0], PYTHON.slice(1, 7).join('\n'), PYTHON[7]],
    );
  });

  it('node: an error and its frames are one record', () => {
    assert.deepEqual(
      join('node', NODE).map((l) => l.message),
      [NODE[0], NODE.slice(1, 4).join('\n'), NODE[4]],
    );
  });

  it('takes a regular expression: a matching line starts a record', () => {
    assert.deepEqual(
      join('^\\d{4}-', ['2026-01 a', 'b', 'c', '2026-02 d']).map((l) => l.message),
      ['2026-01 a\nb\nc', '2026-02 d'],
    );
  });

  it('keeps stdout and stderr apart', () => {
    const out: JoinedLine[] = [];
    const j = new MultilineJoiner(startPattern('node'), 1000, 1 << 20, (l) => out.push(l));
    j.push('stderr', 't1', 1, 'Error: x', false);
    j.push('stdout', 't2', 1, 'hello', false);
    j.push('stderr', 't3', 1, '    at y', false);
    j.end();
    assert.deepEqual(out.map((l) => [l.stream, l.message]).sort(), [
      ['stderr', 'Error: x\n    at y'],
      ['stdout', 'hello'],
    ]);
  });

  it('says where the log is done with before and after each record: a joined one through its last line', () => {
    const T = '2026-01-01T00:00:00.000000000Z';
    const out: JoinedLine[] = [];
    const j = new MultilineJoiner(startPattern('java'), 60_000, 1 << 20, (l) => out.push(l));
    j.push('stdout', T, 1, 'Exception: a', false);
    j.push('stdout', T, 2, '\tat A', false);
    j.push('stdout', T, 3, '\tat B', false);
    j.push('stdout', T, 4, 'INFO next', false);
    // stderr has nothing open: it is done up to the last line read.
    const stderr = { stream: 'stderr', time: T, count: 4 };
    assert.deepEqual(
      out.map((l) => [l.seq, l.from, l.through]),
      [[1, { time: T, count: 0, ahead: stderr }, { time: T, count: 3, ahead: stderr }]],
      'its id from line 1, done through line 3',
    );
    j.end();
    assert.deepEqual(out.map((l) => [l.seq, l.from, l.through]).at(-1), [4, { time: T, count: 3, ahead: stderr }, { time: T, count: 4 }]);
  });

  it('keeps the other stream before its open record: a restart reads that record again whole', () => {
    const T = '2026-01-01T00:00:00.000000000Z';
    const out: JoinedLine[] = [];
    const j = new MultilineJoiner(startPattern('java'), 60_000, 1 << 20, (l) => out.push(l));
    j.push('stderr', T, 1, 'Exception: a', false);
    j.push('stdout', T, 2, 'INFO 1', false);
    j.push('stderr', T, 3, '\tat A', false);
    j.push('stdout', T, 4, 'INFO 2', false);
    // INFO 1 went out; the trace, begun before it, is open: stderr is done only before line 1.
    assert.deepEqual(
      out.map((l) => [l.message, l.from, l.through]),
      [
        [
          'INFO 1',
          { time: T, count: 0, ahead: { stream: 'stdout', time: T, count: 1 } },
          { time: T, count: 0, ahead: { stream: 'stdout', time: T, count: 3 } },
        ],
      ],
    );
    j.push('stderr', T, 5, 'WARN b', false);
    assert.deepEqual(out.map((l) => [l.message, l.from, l.through]).at(-1), [
      'Exception: a\n\tat A',
      { time: T, count: 0, ahead: { stream: 'stdout', time: T, count: 3 } },
      { time: T, count: 3, ahead: { stream: 'stderr', time: T, count: 4 } },
    ]);
    j.discard();
  });

  it('cuts a record longer than the maximum and marks it', () => {
    const [first] = join('node', ['Error: x', ...Array.from({ length: 100 }, () => '    at frame')], 100);
    assert.equal(first!.truncated, true);
    assert.ok(first!.message.length <= 100);
  });

  it('sends the last record after the flush time, without waiting for the next line', async () => {
    const out: JoinedLine[] = [];
    const j = new MultilineJoiner(startPattern('node'), 30, 1 << 20, (l) => out.push(l));
    j.push('stdout', 't1', 1, 'Error: x', false);
    j.push('stdout', 't2', 1, '    at y', false);
    assert.equal(out.length, 0);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(
      out.map((l) => l.message),
      ['Error: x\n    at y'],
    );
  });

  it('drops what is pending when told to (sidekick stopping: read again on restart)', () => {
    const out: JoinedLine[] = [];
    const j = new MultilineJoiner(startPattern('node'), 1000, 1 << 20, (l) => out.push(l));
    j.push('stdout', 't1', 1, 'Error: x', false);
    j.discard();
    j.end();
    assert.deepEqual(out, []);
  });

  it('rejects a bad regular expression', () => {
    assert.throws(() => startPattern('(unclosed'));
  });
});
