// The json-file log driver's format: times padded to 9 digits, entries turned
// into lines as the logs API gives them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { STDERR, STDOUT } from '../../../src/docker/frames.js';
import { JsonFileParser } from '../../../src/docker/json-file.js';
import { engineTime, normalizeTime } from '../../../src/docker/time.js';
import { LogLineParser, type LogLine } from '../../../src/docker/log-lines.js';
import { sinceToTime, timeToSince } from '../../../src/core/record.js';

/** A time as Docker's json-file writes it: `fraction` with trailing zeros trimmed. */
function written(fraction: string): string {
  return `2024-01-02T03:04:05${fraction === '' ? '' : '.' + fraction}Z`;
}

/** The same time as the logs API gives it. */
function full(fraction: string): string {
  return `2024-01-02T03:04:05.${fraction.padEnd(9, '0')}Z`;
}

type Stream = 'stdout' | 'stderr';

/** One json-file entry, as the driver writes it (without its "\n"). */
function entry(log: string, time: string, stream: Stream = 'stdout'): string {
  return JSON.stringify({ log, stream, time });
}

interface Parsed {
  /** The lines, without `plain` (see plainness()). */
  readonly lines: LogLine[];
  /** Whether each line was marked plain. */
  readonly plain: boolean[];
  readonly malformed: string[];
}

function parse(entries: readonly string[], maxLine = 1024 * 1024, end = true): Parsed {
  const lines: LogLine[] = [];
  const plain: boolean[] = [];
  const malformed: string[] = [];
  const p = new JsonFileParser(
    {
      line: ({ plain: isPlain, ...l }) => {
        lines.push(l);
        plain.push(isPlain === true);
      },
      malformed: (d) => malformed.push(d),
    },
    maxLine,
  );
  // One buffer of all the entries, as a read gives them: each is parsed in place, the ones after it there too.
  const all = Buffer.from(entries.map((e) => `${e}\n`).join(''));
  for (let at = 0; at < all.length; ) {
    const nl = all.indexOf(0x0a, at);
    p.push(all, at, nl);
    at = nl + 1;
  }
  if (end) p.end();
  return { lines, plain, malformed };
}

/** A multiplexed frame of the logs API. */
/** One entry, in a buffer of its own. */
function pushOne(p: JsonFileParser, e: string): void {
  const bytes = Buffer.from(e);
  p.push(bytes, 0, bytes.length);
}

function logFrame(stream: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function line(stream: Stream, time: string, message: string, truncated = false): LogLine {
  return { stream, time, message, truncated };
}

describe('normalizeTime', () => {
  it('pads a trimmed fraction to 9 digits', () => {
    assert.equal(normalizeTime('2024-01-02T03:04:05.1234Z'), '2024-01-02T03:04:05.123400000Z');
    assert.equal(normalizeTime('2024-01-02T03:04:05.1Z'), '2024-01-02T03:04:05.100000000Z');
  });

  it('adds a zero fraction to a whole second', () => {
    assert.equal(normalizeTime('2024-01-02T03:04:05Z'), '2024-01-02T03:04:05.000000000Z');
  });

  it('keeps 9 digits as they are', () => {
    assert.equal(normalizeTime('2024-01-02T03:04:05.123456789Z'), '2024-01-02T03:04:05.123456789Z');
  });

  it('cuts more than 9 digits to 9', () => {
    assert.equal(normalizeTime('2024-01-02T03:04:05.1234567891234Z'), '2024-01-02T03:04:05.123456789Z');
  });

  it('converts a time with an offset to UTC, to the millisecond', () => {
    assert.equal(normalizeTime('2024-01-02T05:04:05.1234+02:00'), '2024-01-02T03:04:05.123000000Z');
    assert.equal(normalizeTime('2024-01-01T22:04:05-05:00'), '2024-01-02T03:04:05.000000000Z');
  });

  it('gives "" for what is not a time', () => {
    assert.equal(normalizeTime('garbage'), '');
    assert.equal(normalizeTime(''), '');
    assert.equal(normalizeTime('2024-13-45T99:99:99+01:00'), '');
    // The length, "T", "." and "Z" of Docker's nine-digit form, and nothing else of a time.
    assert.equal(normalizeTime('xxxx-xx-xxTxx:xx:xx.xxxxxxxxxZ'), '');
    assert.equal(normalizeTime('2024-01-02T03:04:05.12345678xZ'), '');
  });

  // See the report: a string of 20 characters or more ending in "Z" is taken for a time unread.
  it('gives "" for a long string ending in "Z" that is not a time', () => {
    assert.equal(normalizeTime('this is not a time, Z'), '');
  });

  it('engineTime: Docker’s nine-digit form as it is, by its shape; any other as normalizeTime makes it', () => {
    assert.equal(engineTime('2024-01-02T03:04:05.123456789Z'), '2024-01-02T03:04:05.123456789Z');
    for (const t of ['2024-01-02T03:04:05.1Z', '2024-01-02T03:04:05Z', '2024-01-02T05:04:05.1234+02:00', 'garbage']) {
      assert.equal(engineTime(t), normalizeTime(t), t);
    }
  });

  it('orders times as strings as they order in time', () => {
    const times = [
      '2024-01-02T03:04:05Z',
      '2024-01-02T03:04:05.000000001Z',
      '2024-01-02T03:04:05.1Z',
      '2024-01-02T03:04:05.12Z',
      '2024-01-02T03:04:05.9Z',
      '2024-01-02T03:04:06Z',
    ];
    const normalized = times.map(normalizeTime);
    assert.deepEqual([...normalized].sort(), normalized);
  });
});

describe('JsonFileParser', () => {
  it('turns one complete entry into one line, its time padded and its "\\n" dropped', () => {
    const got = parse([entry('hello world\n', written('1')), entry('oops\n', written('2'), 'stderr'), entry('\n', written('3'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'hello world'), line('stderr', full('2'), 'oops'), line('stdout', full('3'), '')]);
    assert.deepEqual(got.malformed, []);
  });

  it('keeps a time of nine digits as it is, and reads no other string of its length ending in "Z" as a time', () => {
    const nine = '2024-01-02T03:04:05.123456789Z';
    const notATime = 'abcdefghijklmnopqrstuvwxyz123Z';
    const got = parse([entry('a\n', nine), entry('b\n', notATime)]);
    assert.deepEqual(got.lines, [line('stdout', nine, 'a'), line('stdout', '', 'b')]);
  });

  it('marks plain the lines that are ASCII with nothing JSON escapes: their JSON is the message in quotes', () => {
    const got = parse([
      entry('plain ascii\n', written('1')),
      entry('a "quote"\n', written('2')),
      entry('tab\there\n', written('3')),
      entry('caf\u00e9\n', written('4')),
      entry('<b>\n', written('5')),
      entry('part', written('6')),
      entry(' joined\n', written('7')),
    ]);
    assert.deepEqual(
      got.lines.map((l) => l.message),
      ['plain ascii', 'a "quote"', 'tab\there', 'caf\u00e9', '<b>', 'part joined'],
    );
    assert.deepEqual(got.plain, [true, false, false, false, true, false]);
  });

  it('trims "\\r\\n" (TTY) and keeps a "\\r" inside the line', () => {
    const got = parse([entry('tty line\r\n', written('1')), entry('a\rb\n', written('2'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'tty line'), line('stdout', full('2'), 'a\rb')]);
  });

  it('joins partial entries into one line timed by the first part', () => {
    const part = 'x'.repeat(16 * 1024);
    const got = parse([entry(part, written('1')), entry(part, written('2')), entry('end\n', written('3')), entry('next\n', written('4'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), part + part + 'end'), line('stdout', full('4'), 'next')]);
  });

  it('trims "\\r\\n" split between two parts', () => {
    const got = parse([entry('long line\r', written('1')), entry('\n', written('2'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'long line')]);
  });

  it('joins partial entries per stream when stdout and stderr interleave', () => {
    const got = parse([
      entry('hel', written('1')),
      entry('err ', written('2'), 'stderr'),
      entry('lo ', written('3')),
      entry('one\n', written('4'), 'stderr'),
      entry('world\n', written('5')),
      entry('err two\n', written('6'), 'stderr'),
    ]);
    assert.deepEqual(got.lines, [line('stderr', full('2'), 'err one'), line('stdout', full('1'), 'hello world'), line('stderr', full('6'), 'err two')]);
  });

  it('cuts a line longer than maxLine and marks it truncated', () => {
    const got = parse([entry('0123456789\n', written('1')), entry('01234\n', written('2')), entry('012345\r\n', written('3'))], 5);
    assert.deepEqual(got.lines, [line('stdout', full('1'), '01234', true), line('stdout', full('2'), '01234'), line('stdout', full('3'), '01234', true)]);
  });

  it('cuts a joined line longer than maxLine and marks it truncated', () => {
    const got = parse([entry('0123', written('1')), entry('4567', written('2')), entry('89\n', written('3')), entry('after\n', written('4'))], 5);
    assert.deepEqual(got.lines, [line('stdout', full('1'), '01234', true), line('stdout', full('4'), 'after')]);
  });

  it('counts maxLine in bytes of UTF-8, not characters', () => {
    // "é" is 2 bytes: 3 of them are 6 bytes, over a maximum of 4.
    const got = parse([entry('ééé\n', written('1')), entry('éé\n', written('2')), entry('éé', written('3')), entry('é\n', written('4'))], 4);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'éé', true), line('stdout', full('2'), 'éé'), line('stdout', full('3'), 'éé', true)]);
  });

  it('sends a pending partial at end()', () => {
    const got = parse([entry('no end yet', written('1')), entry('half', written('2'), 'stderr')], undefined, false);
    assert.deepEqual(got.lines, []);
    const lines: LogLine[] = [];
    const p = new JsonFileParser({ line: ({ plain: _, ...l }) => lines.push(l), malformed: () => assert.fail('malformed') }, 1024);
    pushOne(p, entry('no end ', written('1')));
    pushOne(p, entry('yet', written('2')));
    pushOne(p, entry('half', written('3'), 'stderr'));
    assert.deepEqual(lines, []);
    p.end();
    assert.deepEqual(lines, [line('stdout', full('1'), 'no end yet'), line('stderr', full('3'), 'half')]);
    p.end();
    assert.equal(lines.length, 2, 'sent once');
  });

  it('reports malformed entries and sends nothing for them', () => {
    const got = parse([
      'not json',
      '{"log":"cut',
      '',
      JSON.stringify({ log: 'x\n', stream: 'stdout' }),
      JSON.stringify({ stream: 'stdout', time: written('1') }),
      JSON.stringify({ log: 'x\n', time: written('1') }),
      JSON.stringify({ log: 'x\n', stream: 'other', time: written('1') }),
      JSON.stringify({ log: 5, stream: 'stdout', time: written('1') }),
      JSON.stringify({ log: 'x\n', stream: 'stdout', time: 5 }),
      '5',
      '[]',
      entry('good\n', written('2')),
    ]);
    assert.deepEqual(got.lines, [line('stdout', full('2'), 'good')]);
    assert.equal(got.malformed.length, 11);
  });

  // See the report: destructuring `null` throws instead of reporting the entry.
  it('reads an entry in its own bounds, though the buffer goes on with the next', () => {
    // Without a stream, and ending as an entry does: the next entry's keys must not be taken for its own.
    const got = parse([`{"log":"no stream"}`, entry('next\n', written('1'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'next')]);
    assert.deepEqual(got.malformed, ['an entry without log, stream or time']);
  });

  it('reports a "null" entry as malformed', () => {
    const got = parse(['null', entry('good\n', written('2'))]);
    assert.deepEqual(got.lines, [line('stdout', full('2'), 'good')]);
    assert.equal(got.malformed.length, 1);
  });

  it('keeps a pending partial across a malformed entry', () => {
    const got = parse([entry('first ', written('1')), 'not json', entry('half\n', written('2'))]);
    assert.deepEqual(got.lines, [line('stdout', full('1'), 'first half')]);
    assert.equal(got.malformed.length, 1);
  });

  it('decodes JSON escapes and ignores "attrs"', () => {
    const raw = `{"log":"a\\u0000b\\tc \\"q\\" \\\\ \\u00e9\\n","stream":"stderr","attrs":{"tag":"web"},"time":"${written('5')}"}`;
    const got = parse([raw]);
    assert.deepEqual(got.lines, [line('stderr', full('5'), 'a\u0000b\tc "q" \\ é')]);
    assert.deepEqual(got.malformed, []);
  });

  it("reads Go's escapes and the text that looks like the next key, as JSON.parse would", () => {
    const got = parse([
      `{"log":"\\u003chtml\\u003e \\u0026 \\u2028\\n","stream":"stdout","time":"${written('1')}"}`,
      `{"log":"a \\",\\"stream\\":\\"stderr b\\n","stream":"stdout","time":"${written('2')}"}`,
      `{"log":"ends in a backslash \\\\\\n","stream":"stderr","time":"${written('3')}"}`,
      `{"log":"plain é ✓\\n","stream":"stderr","time":"${written('4')}"}`,
      `{"log":"no newline","stream":"stdout","time":"${written('5')}"}`,
      `{"log":"next\\n","stream":"stdout","time":"${written('6')}"}`,
      `{"log":"odd stream\\n","stream":"stdin","time":"${written('7')}"}`,
    ]);
    assert.deepEqual(got.lines, [
      line('stdout', full('1'), '<html> & \u2028'),
      line('stdout', full('2'), 'a ","stream":"stderr b'),
      line('stderr', full('3'), 'ends in a backslash \\'),
      line('stderr', full('4'), 'plain é ✓'),
      line('stdout', full('5'), 'no newlinenext'),
    ]);
    assert.equal(got.malformed.length, 1, 'the stdin entry');
  });

  it('property: gives the lines the logs API gives for the same messages', () => {
    // Multi-byte characters, or "\r": see the report for a "\r" where a joined line is cut amid multi-byte text.
    const alphabet = fc.constantFrom(['a', 'é', '€', '😀', ' '], ['a', 'b', '\r', ' ']);
    const messages = alphabet.chain((units) => {
      const text = fc.string({ unit: fc.constantFrom(...units), maxLength: 12 });
      // A message as Docker splits it: parts without "\n", then a last part with it.
      const message = fc.record({
        stream: fc.constantFrom<Stream>('stdout', 'stderr'),
        parts: fc.array(text, { maxLength: 3 }),
        last: text.map((t) => t + '\n'),
      });
      return fc.array(message, { maxLength: 6 });
    });
    fc.assert(
      fc.property(messages, fc.integer({ min: 1, max: 20 }), (messages, maxLine) => {
        const entries: string[] = [];
        const frames: Buffer[] = [];
        let i = 0;
        for (const m of messages) {
          for (const log of [...m.parts, m.last]) {
            const fraction = String(++i).padStart(3, '0');
            entries.push(entry(log, written(fraction), m.stream));
            frames.push(logFrame(m.stream === 'stdout' ? STDOUT : STDERR, `${full(fraction)} ${log}`));
          }
        }
        const api: LogLine[] = [];
        const apiParser = new LogLineParser(false, { line: ({ plain: _, ...l }) => api.push(l), fault: () => assert.fail('fault') }, maxLine);
        apiParser.push(Buffer.concat(frames));
        apiParser.end();
        assert.deepEqual(parse(entries, maxLine).lines, api);
      }),
    );
  });
});

describe('sinceToTime', () => {
  it('turns seconds with a fraction into RFC 3339 nano', () => {
    assert.equal(sinceToTime('1700000000.5'), '2023-11-14T22:13:20.500000000Z');
  });

  it('turns whole seconds into RFC 3339 nano', () => {
    assert.equal(sinceToTime('1700000000'), '2023-11-14T22:13:20.000000000Z');
  });

  it('round-trips through timeToSince', () => {
    assert.equal(sinceToTime('1700000000.123456789'), '2023-11-14T22:13:20.123456789Z');
    assert.equal(timeToSince(sinceToTime('1700000000.123456789')), '1700000000.123456789');
  });
});
