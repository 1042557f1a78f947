// FileTail: follows one path like `tail -F`, on real files in a temporary folder.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FilePosition } from '../../../../src/core/record.js';
import { FileTail, type TailLine } from '../../../../src/sources/files/file-tail.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sidekick-tail-'));
  path = join(dir, 'app.log');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tailer(options: { maxLine?: number; idleMs?: number; goneMs?: number } = {}): { tail: FileTail; lines: TailLine[]; messages: () => string[] } {
  const lines: TailLine[] = [];
  const tail = new FileTail(path, {
    maxLine: options.maxLine ?? 1024,
    idleMs: options.idleMs ?? 1000,
    goneMs: options.goneMs ?? 5000,
    // A line and its bytes are the tail's until the next line: kept as a copy.
    line: (l) => lines.push({ ...l, bytes: Buffer.from(l.bytes.subarray(l.from, l.to)), from: 0, to: l.to - l.from }),
  });
  return { tail, lines, messages: () => lines.map((l) => l.bytes.toString('utf8')) };
}

/** Polls until the tail has nothing more to read. */
async function drain(tail: FileTail, now?: number): Promise<string> {
  for (;;) {
    const r = await tail.poll(now);
    if (r !== 'more') return r;
  }
}

/** Where a restart would resume after the last line seen. */
function after(l: TailLine): FilePosition {
  return { ...l.file, offset: l.end };
}

describe('FileTail', () => {
  it('reads appended lines with their byte ranges, trimming "\\r\\n"', async () => {
    writeFileSync(path, 'one\ntwo\r\n');
    const { tail, lines, messages } = tailer();
    await tail.open(undefined);
    await drain(tail);
    appendFileSync(path, 'three\nfour');
    await drain(tail);
    assert.deepEqual(messages(), ['one', 'two', 'three']);
    assert.deepEqual(
      lines.map((l) => [l.start, l.end]),
      [
        [0, 4],
        [4, 9],
        [9, 15],
      ],
    );
    assert.equal(new Set(lines.map((l) => l.file.fingerprint)).size, 1, 'one file, one identity');
    await tail.close();
  });

  it('joins a line that spans reads, and keeps its byte range', async () => {
    const long = 'y'.repeat(150_000);
    writeFileSync(path, `${long}\nnext\n`);
    const { tail, lines, messages } = tailer({ maxLine: 1 << 20 });
    await tail.open(undefined);
    await drain(tail);
    assert.deepEqual(messages(), [long, 'next']);
    assert.deepEqual([lines[1]!.start, lines[1]!.end], [150_001, 150_006]);
    await tail.close();
  });

  it('property: however the writes fall between reads, the lines are the lines written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 40 }).map((t) => t.replace(/[\r\n]/g, '')),
          { minLength: 1, maxLength: 30 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (written, cuts) => {
          writeFileSync(path, '');
          const { tail, messages } = tailer();
          await tail.open(undefined);
          const text = written.map((l) => `${l}\n`).join('');
          const bytes = Buffer.from(text);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const p of [...points, bytes.length]) {
            appendFileSync(path, bytes.subarray(from, p));
            from = p;
            await drain(tail);
          }
          await tail.close();
          assert.deepEqual(messages(), written);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('sends a last line without "\\n" once the file has been idle', async () => {
    writeFileSync(path, 'done\nhalf');
    const { tail, messages } = tailer({ idleMs: 1000 });
    await tail.open(undefined);
    await drain(tail);
    assert.deepEqual(messages(), ['done']);
    await drain(tail, Date.now() + 1500);
    assert.deepEqual(messages(), ['done', 'half']);
    await tail.close();
  });

  it('cuts a line over the maximum and marks it, then goes on with the next', async () => {
    writeFileSync(path, `${'x'.repeat(100)}\nshort\n`);
    const { tail, lines } = tailer({ maxLine: 10 });
    await tail.open(undefined);
    await drain(tail);
    assert.deepEqual(
      lines.map((l) => [l.bytes.toString('utf8'), l.truncated, l.end]),
      [
        ['x'.repeat(10), true, 101],
        ['short', false, 107],
      ],
    );
    await tail.close();
  });

  it('follows a rename rotation: the rest of the old file, then the new one from its start', async () => {
    writeFileSync(path, '1\n2\n');
    const { tail, lines, messages } = tailer();
    await tail.open(undefined);
    await drain(tail);
    appendFileSync(path, '3\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, '4\n');
    await drain(tail);
    assert.deepEqual(messages(), ['1', '2', '3', '4']);
    assert.notEqual(lines[3]!.file.ino, lines[0]!.file.ino);
    assert.ok(lines[3]!.file.generation > lines[0]!.file.generation, 'the new file comes after the old one');
    assert.equal(lines[3]!.start, 0);
    await tail.close();
  });

  it('closes the old file when what replaced it cannot be read (the error told, no descriptor left open)', async () => {
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const before = openFds();
    writeFileSync(path, 'a\n');
    const { tail, messages } = tailer();
    await tail.open(undefined);
    await drain(tail);
    unlinkSync(path);
    mkdirSync(path);
    await drain(tail);
    assert.match(tail.error ?? '', /EISDIR/);
    assert.deepEqual(messages(), ['a']);
    await tail.close();
    assert.equal(openFds(), before);
  });

  it('closed while it reads: the read ends first, then its descriptor is closed, none left open', async () => {
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const before = openFds();
    writeFileSync(path, 'a\n'.repeat(200_000));
    const lines: string[] = [];
    // renameOnly: a poll reads at once, so the close comes while the read is in flight.
    const tail = new FileTail(path, {
      maxLine: 1024,
      idleMs: 1000,
      goneMs: 5000,
      renameOnly: true,
      line: (l) => lines.push(l.bytes.toString('utf8', l.from, l.to)),
    });
    await tail.open(undefined);
    const polled = tail.poll();
    await tail.close();
    await polled;
    assert.equal(tail.error, undefined);
    assert.deepEqual(lines, Array(4096 / 2).fill('a'), 'the read in flight, and no more');
    assert.equal(await tail.poll(), 'closed');
    assert.equal(openFds(), before);
  });

  it('starts over at 0 after copytruncate, whether the file shrank or already grew past where it was', async () => {
    writeFileSync(path, 'a1\na2\n');
    const { tail, messages } = tailer();
    await tail.open(undefined);
    await drain(tail);
    truncateSync(path, 0);
    appendFileSync(path, 'b1\n');
    await drain(tail);
    truncateSync(path, 0);
    appendFileSync(path, 'c1 is a longer first line than before\n');
    await drain(tail);
    assert.deepEqual(messages(), ['a1', 'a2', 'b1', 'c1 is a longer first line than before']);
    await tail.close();
  });

  it('waits for a deleted file to come back, and gives up after a while', async () => {
    writeFileSync(path, 'before\n');
    const { tail, messages } = tailer({ goneMs: 1000 });
    await tail.open(undefined);
    await drain(tail);
    unlinkSync(path);
    assert.equal(await drain(tail), 'idle');
    writeFileSync(path, 'after\n');
    await drain(tail);
    assert.deepEqual(messages(), ['before', 'after']);
    unlinkSync(path);
    assert.equal(await drain(tail), 'idle');
    assert.equal(await drain(tail, Date.now() + 2000), 'closed');
  });

  it('resumes from a saved position in the same file, and from 0 in another file at the path', async () => {
    writeFileSync(path, 'old1\nold2\n');
    const first = tailer();
    await first.tail.open(undefined);
    await drain(first.tail);
    await first.tail.close();
    const saved = after(first.lines[0]!);
    appendFileSync(path, 'old3\n');

    const again = tailer();
    await again.tail.open(saved);
    await drain(again.tail);
    assert.deepEqual(again.messages(), ['old2', 'old3']);
    assert.equal(again.lines[0]!.start, saved.offset);
    await again.tail.close();

    unlinkSync(path);
    writeFileSync(path, 'new1\n');
    const other = tailer();
    await other.tail.open(saved);
    await drain(other.tail);
    assert.deepEqual(other.messages(), ['new1'], 'a new inode (or first line) is another file');
    await other.tail.close();
  });

  it('finishes a file renamed away while it was not tailed, then reads the new one', async () => {
    writeFileSync(path, 'r1\nr2\n');
    const first = tailer();
    await first.tail.open(undefined);
    await drain(first.tail);
    await first.tail.close();
    const saved = after(first.lines[0]!);
    appendFileSync(path, 'r3\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'n1\n');

    const again = tailer();
    await again.tail.open(saved);
    await drain(again.tail);
    assert.deepEqual(again.messages(), ['r2', 'r3', 'n1']);
    assert.equal(again.lines[0]!.file.ino, saved.ino);
    await again.tail.close();
  });

  it('keeps the same ids (fingerprint and offset) for lines read again after a restart', async () => {
    writeFileSync(path, 'x\ny\n');
    const a = tailer();
    await a.tail.open(undefined);
    await drain(a.tail);
    await a.tail.close();
    const b = tailer();
    await b.tail.open({ ...a.lines[0]!.file, offset: 0 });
    await drain(b.tail);
    assert.deepEqual(
      b.lines.map((l) => [l.file.fingerprint, l.start]),
      a.lines.map((l) => [l.file.fingerprint, l.start]),
    );
    await b.tail.close();
  });

  it('reads many files at once, each its own bytes, though their read buffers are shared', async () => {
    const FILES = 24;
    const tails = Array.from({ length: FILES }, (_, f) => {
      const lines: string[] = [];
      const file = join(dir, `f${f}.log`);
      // Lines long enough that each read fills a 64 KiB buffer, and spans several.
      writeFileSync(file, Array.from({ length: 300 }, (_, i) => `${f}:${i}:${'x'.repeat(500)}`).join('\n') + '\n');
      const tail = new FileTail(file, { maxLine: 1024, idleMs: 1000, goneMs: 5000, line: (l) => lines.push(l.bytes.toString('utf8', l.from, l.to)) });
      return { tail, lines, f };
    });
    await Promise.all(tails.map(({ tail }) => tail.open(undefined)));
    await Promise.all(tails.map(({ tail }) => drain(tail)));
    for (const { lines, f } of tails) {
      assert.deepEqual(
        lines,
        Array.from({ length: 300 }, (_, i) => `${f}:${i}:${'x'.repeat(500)}`),
        `file ${f}`,
      );
    }
    await Promise.all(tails.map(({ tail }) => tail.close()));
  });

  it('looks at a quiet file with a stat, no read, whether it follows renames only or truncations too', async (t) => {
    for (const renameOnly of [true, false]) {
      writeFileSync(path, 'a1\n');
      const lines: string[] = [];
      const tail = new FileTail(path, {
        maxLine: 1024,
        idleMs: 1000,
        goneMs: 5000,
        renameOnly,
        line: (l) => lines.push(l.bytes.toString('utf8', l.from, l.to)),
      });
      await tail.open(undefined);
      while ((await tail.poll()) !== 'idle');
      const read = t.mock.method(fs, 'read');
      syncBuiltinESMExports();
      try {
        for (let i = 0; i < 10; i++) assert.equal(await tail.poll(), 'idle');
        // renameOnly reads its open file before it looks at the path: one read a poll; else none.
        assert.equal(read.mock.callCount(), renameOnly ? 10 : 0, `renameOnly ${renameOnly}: ${read.mock.callCount()} reads in 10 quiet polls`);
        appendFileSync(path, 'a2\n');
        assert.equal(await drain(tail), renameOnly ? 'grew' : 'idle');
        assert.deepEqual(lines, ['a1', 'a2']);
      } finally {
        read.mock.restore();
        syncBuiltinESMExports();
        await tail.close();
      }
    }
  });

  it('tells from a stat of the path whether a poll would find anything: caught up only on the open file, read to its size', async () => {
    const { tail } = tailer();
    writeFileSync(path, 'a1\n');
    assert.equal(tail.caughtUp(fs.statSync(path)), false, 'nothing open yet');
    await tail.open(undefined);
    assert.equal(tail.caughtUp(fs.statSync(path)), false, 'open, not read');
    await drain(tail);
    assert.equal(tail.caughtUp(fs.statSync(path)), true, 'read to its size');
    appendFileSync(path, 'a2');
    assert.equal(tail.caughtUp(fs.statSync(path)), false, 'grown, even by a part of a line');
    await drain(tail);
    assert.equal(tail.caughtUp(fs.statSync(path)), true, 'the part read too (kept until its line ends)');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'b1\n');
    writeFileSync(`${path}.x`, 'a1\na2');
    assert.equal(tail.caughtUp(fs.statSync(path)), false, 'another file at the path');
    await tail.close();
  });

  it('keeps no read buffer for each quiet file it follows (hundreds of idle containers)', async (t) => {
    // Counted, not weighed: what the process's array buffers grew by also
    // holds fs's and the test runner's, which made a weight bound flaky.
    const allocUnsafe = t.mock.method(Buffer, 'allocUnsafe');
    const FILES = 200;
    const tails = Array.from({ length: FILES }, (_, f) => {
      const file = join(dir, `q${f}.log`);
      writeFileSync(file, `started ${f}\n`);
      return new FileTail(file, { maxLine: 1024, idleMs: 1000, goneMs: 5000, line: () => undefined });
    });
    await Promise.all(tails.map((tail) => tail.open(undefined)));
    // Read one at a time, as quiet files are: each read done before the next.
    for (const tail of tails) await drain(tail);
    for (let f = 0; f < FILES; f++) appendFileSync(join(dir, `q${f}.log`), `later ${f}\n`);
    for (const tail of tails) await drain(tail);
    const readBuffers = allocUnsafe.mock.calls.filter((call) => (call.arguments[0] as number) >= 4096).length;
    assert.ok(readBuffers <= 1, `${FILES} quiet files read twice took ${readBuffers} new read buffers`);
    await Promise.all(tails.map((tail) => tail.close()));
  });

  it('keeps two big read buffers once the logs read at once at start are read', async (t) => {
    const FILES = 8;
    const files = Array.from({ length: FILES }, (_, f) => join(dir, `big${f}.log`));
    const tails = files.map((file) => {
      writeFileSync(file, `${'x'.repeat(99)}\n`.repeat(2000));
      return new FileTail(file, { maxLine: 1024, idleMs: 1000, goneMs: 5000, line: () => undefined });
    });
    await Promise.all(tails.map((tail) => tail.open(undefined)));
    // Every file read at once, each with a big buffer; then all of them given back.
    await Promise.all(tails.map((tail) => drain(tail)));
    const allocUnsafe = t.mock.method(Buffer, 'allocUnsafe');
    for (const file of files) appendFileSync(file, `${'y'.repeat(99)}\n`.repeat(2000));
    await Promise.all(tails.map((tail) => drain(tail)));
    // What the second burst took new is what was not kept of the first.
    const taken = allocUnsafe.mock.calls.filter((call) => (call.arguments[0] as number) === 64 * 1024).length;
    assert.equal(taken, FILES - 2, `${taken} big buffers taken new by ${FILES} reads at once`);
    await Promise.all(tails.map((tail) => tail.close()));
  });
});
