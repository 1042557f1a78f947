import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { STDERR, STDIN, STDOUT, SYSTEMERR } from '../../../src/docker/frames.js';
import { LogLineParser, type LogLine } from '../../../src/docker/log-lines.js';

/** A distinct RFC 3339 nano time per index. */
function ts(i: number): string {
  return `2024-01-02T03:04:05.${String(i).padStart(9, '0')}Z`;
}

function frame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** A log frame as `GET /logs?timestamps=1` sends it: "<time> <text>". */
function logFrame(stream: number, time: string, text: Buffer | string): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return frame(stream, Buffer.concat([Buffer.from(time + ' '), body]));
}

interface Fault {
  readonly kind: string;
  readonly detail: string;
}

interface Parsed {
  /** The lines, without `plain`. */
  readonly lines: LogLine[];
  /** Whether each line was marked plain. */
  readonly plain: boolean[];
  readonly faults: Fault[];
}

function parse(tty: boolean, chunks: readonly Buffer[], maxLine?: number, end = true): Parsed {
  const lines: LogLine[] = [];
  const plain: boolean[] = [];
  const faults: Fault[] = [];
  const handlers = {
    line: ({ plain: isPlain, ...l }: LogLine): void => {
      lines.push(l);
      plain.push(isPlain === true);
    },
    fault: (kind: 'systemerr' | 'malformed', detail: string): void => {
      faults.push({ kind, detail });
    },
  };
  const p = maxLine === undefined ? new LogLineParser(tty, handlers) : new LogLineParser(tty, handlers, maxLine);
  for (const c of chunks) p.push(c);
  if (end) p.end();
  return { lines, plain, faults };
}

function line(stream: 'stdout' | 'stderr', time: string, message: string, truncated = false): LogLine {
  return { stream, time, message, truncated };
}

/** The bytes cut into pieces at the given offsets. */
function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of sorted) {
    out.push(bytes.subarray(at, c));
    at = c;
  }
  out.push(bytes.subarray(at));
  return out;
}

function everySplit(bytes: Buffer, check: (chunks: Buffer[], what: string) => void): void {
  for (let cut = 0; cut <= bytes.length; cut++) check([bytes.subarray(0, cut), bytes.subarray(cut)], `cut at ${cut}`);
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  check(single, 'byte by byte');
}

describe('LogLineParser, multiplexed (non-TTY)', () => {
  it('turns "<time> text\\n" frames into lines', () => {
    const got = parse(false, [
      Buffer.concat([
        logFrame(STDOUT, ts(1), 'hello world\n'),
        logFrame(STDERR, ts(2), 'something failed: x=1\n'),
        logFrame(STDOUT, ts(3), '\n'),
        logFrame(STDOUT, ts(4), '  indented  \n'),
      ]),
    ]);
    assert.deepEqual(got.lines, [
      line('stdout', ts(1), 'hello world'),
      line('stderr', ts(2), 'something failed: x=1'),
      line('stdout', ts(3), ''),
      line('stdout', ts(4), '  indented  '),
    ]);
    assert.deepEqual(got.faults, []);
  });

  it('reads a frame in its own bounds, though the chunk goes on with the next frame', () => {
    // No time, so the space is looked for past the text; the next frame's
    // header holds its size, 32, a space. A whole frame at a chunk's end, too.
    const next = `${ts(2)} \n`;
    assert.equal(Buffer.byteLength(next), 32);
    const got = parse(false, [Buffer.concat([frame(STDOUT, 'untimed\n'), frame(STDOUT, next), frame(STDOUT, 'x\n')])]);
    assert.deepEqual(got.lines, [line('stdout', '', 'untimed'), line('stdout', ts(2), ''), line('stdout', '', 'x')]);
  });

  it('marks a whole line plain when its text is ASCII with nothing JSON escapes, in its own bounds', () => {
    const texts = ['plain text {} 123 ~', 'a "quote"', 'a \\ backslash', 'a \t tab', 'é', '', 'dos\r'];
    // Each frame followed by one whose text is not plain: the scan stops at its line's end.
    const got = parse(
      false,
      texts.map((t, i) => Buffer.concat([logFrame(STDOUT, ts(i), `${t}\n`), logFrame(STDERR, ts(i), '"\n')])),
    );
    assert.deepEqual(
      got.lines.map((l) => l.message),
      texts.flatMap((t) => [t.replace(/\r$/, ''), '"']),
    );
    assert.deepEqual(got.plain, [true, false, false, false, false, false, false, false, false, false, true, false, true, false]);
  });

  it('trims "\\r\\n" and keeps a "\\r" inside the line', () => {
    const got = parse(false, [logFrame(STDOUT, ts(1), 'dos line\r\n'), logFrame(STDERR, ts(2), 'a\rb\n')]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'dos line'), line('stderr', ts(2), 'a\rb')]);
  });

  it('joins partial frames of one stream into one line timed by its first part, while the other stream interleaves', () => {
    const got = parse(false, [
      Buffer.concat([
        logFrame(STDOUT, ts(1), 'hel'),
        logFrame(STDERR, ts(2), 'err one\n'),
        logFrame(STDOUT, ts(3), 'lo wor'),
        logFrame(STDERR, ts(4), 'err '),
        logFrame(STDOUT, ts(5), 'ld\n'),
        logFrame(STDERR, ts(6), 'two\n'),
        logFrame(STDOUT, ts(7), 'next\n'),
      ]),
    ]);
    assert.deepEqual(got.lines, [
      line('stderr', ts(2), 'err one'),
      line('stdout', ts(1), 'hello world'),
      line('stderr', ts(4), 'err two'),
      line('stdout', ts(7), 'next'),
    ]);
  });

  it('trims "\\r\\n" from a joined line', () => {
    const got = parse(false, [logFrame(STDOUT, ts(1), 'long '), logFrame(STDOUT, ts(2), 'line\r\n')]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'long line')]);
  });

  it('trims "\\r\\n" from a joined line when Docker split it between "\\r" and "\\n"', () => {
    // Docker cuts a long line every 16 KiB wherever that falls, so the "\r"
    // can end one part and the "\n" make up the next.
    const got = parse(false, [logFrame(STDOUT, ts(1), 'long line\r'), logFrame(STDOUT, ts(2), '\n')]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'long line')]);
  });

  it('cuts a single-frame line longer than maxLine and marks it truncated', () => {
    const got = parse(
      false,
      [
        logFrame(STDOUT, ts(1), '0123456789ABCDEF\n'),
        logFrame(STDOUT, ts(2), '0123456789\n'),
        logFrame(STDOUT, ts(3), '0123456789A\r\n'),
        logFrame(STDERR, ts(4), 'short\n'),
      ],
      10,
    );
    assert.deepEqual(got.lines, [
      line('stdout', ts(1), '0123456789', true),
      line('stdout', ts(2), '0123456789', false),
      line('stdout', ts(3), '0123456789', true),
      line('stderr', ts(4), 'short', false),
    ]);
  });

  it('cuts a joined partial line longer than maxLine and marks it truncated', () => {
    const got = parse(
      false,
      [
        logFrame(STDOUT, ts(1), '012345'),
        logFrame(STDOUT, ts(2), '6789AB'),
        logFrame(STDOUT, ts(3), 'CDEF\n'),
        logFrame(STDOUT, ts(4), '01234'),
        logFrame(STDOUT, ts(5), '56789\n'),
        logFrame(STDOUT, ts(6), 'after\n'),
      ],
      10,
    );
    assert.deepEqual(got.lines, [line('stdout', ts(1), '0123456789', true), line('stdout', ts(4), '0123456789', false), line('stdout', ts(6), 'after', false)]);
  });

  it('end() flushes a pending partial line of each stream', () => {
    const lines: LogLine[] = [];
    const p = new LogLineParser(false, { line: (l) => lines.push(l), fault: () => assert.fail('no fault') });
    p.push(Buffer.concat([logFrame(STDOUT, ts(1), 'no newline '), logFrame(STDOUT, ts(2), 'yet'), logFrame(STDERR, ts(3), 'err tail')]));
    assert.deepEqual(lines, [], 'nothing before the end');
    p.end();
    assert.deepEqual(lines, [line('stdout', ts(1), 'no newline yet'), line('stderr', ts(3), 'err tail')]);
    p.end();
    assert.equal(lines.length, 2, 'a second end() emits nothing more');
  });

  it('keeps its own copy of a pending part: a chunk reused after push() does not change the line', () => {
    const lines: LogLine[] = [];
    const p = new LogLineParser(false, { line: (l) => lines.push(l), fault: () => assert.fail('no fault') });
    // One socket buffer, reused for every read, as a stream may do.
    const first = Buffer.concat([logFrame(STDOUT, ts(1), 'part one, '), logFrame(STDERR, ts(2), 'err ')]);
    const reused = Buffer.from(first);
    p.push(reused);
    reused.fill(0x21);
    p.push(Buffer.concat([logFrame(STDOUT, ts(3), 'part two\n'), logFrame(STDERR, ts(4), 'end\n')]));
    assert.deepEqual(lines, [line('stdout', ts(1), 'part one, part two'), line('stderr', ts(2), 'err end')]);
  });

  it('decodes invalid UTF-8 as U+FFFD', () => {
    const got = parse(false, [logFrame(STDOUT, ts(1), Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a]))]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'a\uFFFD\uFFFDb')]);
  });

  it('decodes a multibyte character split across two partial frames intact', () => {
    const euro = Buffer.from('€', 'utf8'); // e2 82 ac
    const snake = Buffer.from('🐍', 'utf8'); // 4 bytes
    const got = parse(false, [
      logFrame(STDOUT, ts(1), Buffer.concat([Buffer.from('price '), euro.subarray(0, 2)])),
      logFrame(STDOUT, ts(2), Buffer.concat([euro.subarray(2), Buffer.from(' 5 '), snake.subarray(0, 1)])),
      logFrame(STDOUT, ts(3), Buffer.concat([snake.subarray(1), Buffer.from('\n')])),
    ]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'price € 5 🐍')]);
  });

  it('reports a systemerr frame (type 3) as a fault with its text', () => {
    const got = parse(false, [
      Buffer.concat([
        logFrame(STDOUT, ts(1), 'before\n'),
        frame(SYSTEMERR, 'error from daemon in stream: log file rotated\n'),
        logFrame(STDOUT, ts(2), 'after\n'),
      ]),
    ]);
    assert.deepEqual(got.faults, [{ kind: 'systemerr', detail: 'error from daemon in stream: log file rotated' }]);
    assert.deepEqual(got.lines, [line('stdout', ts(1), 'before'), line('stdout', ts(2), 'after')]);
  });

  it('reports a frame of an unknown stream type as malformed', () => {
    const got = parse(false, [frame(7, `${ts(1)} what\n`), frame(STDIN, `${ts(2)} typed\n`)]);
    assert.equal(got.lines.length, 0);
    assert.equal(got.faults.length, 2);
    assert.deepEqual(
      got.faults.map((f) => f.kind),
      ['malformed', 'malformed'],
    );
    assert.match(got.faults[0]!.detail, /7/);
  });

  it('yields the same lines whatever the chunking (every split, byte by byte)', () => {
    const wire = Buffer.concat([
      logFrame(STDOUT, ts(1), 'first\n'),
      logFrame(STDERR, ts(2), 'caf'),
      logFrame(STDOUT, ts(3), 'second\r\n'),
      logFrame(STDERR, ts(4), Buffer.from([0xc3])),
      logFrame(STDERR, ts(5), Buffer.from([0xa9, 0x0a])),
      frame(SYSTEMERR, 'boom'),
      logFrame(STDOUT, ts(6), 'tail'),
    ]);
    const expected = [line('stdout', ts(1), 'first'), line('stdout', ts(3), 'second'), line('stderr', ts(2), 'café'), line('stdout', ts(6), 'tail')];
    everySplit(wire, (chunks, what) => {
      const got = parse(false, chunks);
      assert.deepEqual(got.lines, expected, what);
      assert.deepEqual(got.faults, [{ kind: 'systemerr', detail: 'boom' }], what);
    });
  });

  it('property: any chunking of a multiplexed stream yields the lines that were written', () => {
    // A message: its text, cut into parts (partial frames) at byte offsets,
    // which may fall inside a multibyte character.
    const message = fc.record({
      text: fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.includes('\n') && !s.includes('\r')),
      cuts: fc.array(fc.nat(), { maxLength: 3 }),
    });
    const streamOf = fc.array(message, { maxLength: 8 });
    fc.assert(
      fc.property(
        streamOf,
        streamOf,
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (outMsgs, errMsgs, order, chunkCuts) => {
          interface Part {
            readonly stream: 'stdout' | 'stderr';
            readonly bytes: Buffer;
            readonly last: boolean;
            readonly message: string;
          }
          const partsOf = (stream: 'stdout' | 'stderr', msgs: typeof outMsgs): Part[] =>
            msgs.flatMap((m) => {
              const bytes = Buffer.from(m.text, 'utf8');
              const pieces = cutAt(bytes, m.cuts);
              return pieces.map((b, i) => ({ stream, bytes: b, last: i === pieces.length - 1, message: m.text }));
            });
          const outs = partsOf('stdout', outMsgs);
          const errs = partsOf('stderr', errMsgs);
          // Interleave the two streams as `order` says, then the rest.
          const frames: Part[] = [];
          let o = 0;
          let e = 0;
          for (const takeOut of order) {
            if (takeOut && o < outs.length) frames.push(outs[o++]!);
            else if (!takeOut && e < errs.length) frames.push(errs[e++]!);
          }
          frames.push(...outs.slice(o), ...errs.slice(e));
          // The model: a line comes out when its last part arrives, timed by its first part.
          const expected: LogLine[] = [];
          const firstTime: Record<string, string | undefined> = { stdout: undefined, stderr: undefined };
          const wire: Buffer[] = [];
          frames.forEach((f, i) => {
            const time = ts(i + 1);
            firstTime[f.stream] ??= time;
            wire.push(logFrame(f.stream === 'stdout' ? STDOUT : STDERR, time, f.last ? Buffer.concat([f.bytes, Buffer.from('\n')]) : f.bytes));
            if (f.last) {
              expected.push(line(f.stream, firstTime[f.stream]!, f.message));
              firstTime[f.stream] = undefined;
            }
          });
          const got = parse(false, cutAt(Buffer.concat(wire), chunkCuts));
          assert.deepEqual(got.lines, expected);
          assert.deepEqual(got.faults, []);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('LogLineParser, raw (TTY)', () => {
  it('reads "<time> text\\r\\n" lines split across chunks anywhere', () => {
    const wire = Buffer.from(`${ts(1)} hello tty\r\n${ts(2)} ça va ✓\r\n${ts(3)} \r\n${ts(4)} last\r\n`, 'utf8');
    const expected = [line('stdout', ts(1), 'hello tty'), line('stdout', ts(2), 'ça va ✓'), line('stdout', ts(3), ''), line('stdout', ts(4), 'last')];
    everySplit(wire, (chunks, what) => {
      const got = parse(true, chunks);
      assert.deepEqual(got.lines, expected, what);
      assert.deepEqual(got.faults, [], what);
    });
  });

  it('emits a line as soon as its newline arrives', () => {
    const lines: LogLine[] = [];
    const p = new LogLineParser(true, { line: (l) => lines.push(l), fault: () => assert.fail('no fault') });
    p.push(Buffer.from(`${ts(1)} one\r`));
    assert.equal(lines.length, 0);
    p.push(Buffer.from(`\n${ts(2)} tw`));
    assert.deepEqual(lines, [line('stdout', ts(1), 'one')]);
  });

  it('keeps its own copy of an unfinished line: a chunk reused after push() does not change it', () => {
    const lines: LogLine[] = [];
    const p = new LogLineParser(true, { line: (l) => lines.push(l), fault: () => assert.fail('no fault') });
    const reused = Buffer.from(`${ts(1)} begin`);
    p.push(reused);
    reused.fill(0x21);
    p.push(Buffer.from(' end\r\n'));
    assert.deepEqual(lines, [line('stdout', ts(1), 'begin end')]);
  });

  it('end() flushes a last line without a newline', () => {
    everySplit(Buffer.from(`${ts(1)} done\r\n${ts(2)} no newline`), (chunks, what) => {
      assert.deepEqual(parse(true, chunks).lines, [line('stdout', ts(1), 'done'), line('stdout', ts(2), 'no newline')], what);
    });
    assert.deepEqual(parse(true, [Buffer.from(`${ts(1)} no newline`)], undefined, false).lines, [], 'not before end()');
  });

  it('cuts a line longer than maxLine and marks it truncated, wherever the chunks split', () => {
    const wire = Buffer.from(`${ts(1)} 0123456789ABCDEF\r\n${ts(2)} 0123456789\r\n${ts(3)} ${'x'.repeat(200)}\r\n${ts(4)} ok\r\n`);
    const expected = [
      line('stdout', ts(1), '0123456789', true),
      line('stdout', ts(2), '0123456789', false),
      line('stdout', ts(3), 'xxxxxxxxxx', true),
      line('stdout', ts(4), 'ok', false),
    ];
    everySplit(wire, (chunks, what) => assert.deepEqual(parse(true, chunks, 10).lines, expected, what));
  });

  it('property: any chunking of a TTY stream yields the lines that were written', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\n') && !s.includes('\r')),
          {
            maxLength: 12,
          },
        ),
        fc.array(fc.nat(), { maxLength: 20 }),
        (texts, cuts) => {
          const wire = Buffer.from(texts.map((t, i) => `${ts(i + 1)} ${t}\r\n`).join(''), 'utf8');
          const got = parse(true, cutAt(wire, cuts));
          assert.deepEqual(
            got.lines,
            texts.map((t, i) => line('stdout', ts(i + 1), t)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
