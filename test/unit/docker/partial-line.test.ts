// The joiner of lines the engine split into parts, for both kinds of text it
// is given: strings (json-file entries) and Buffers (the logs API's frames).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUFFER_TEXT, PendingLines, STRING_TEXT, type TextKind } from '../../../src/docker/partial-line.js';

const kinds: [string, TextKind<string> | TextKind<Buffer>, (s: string) => string | Buffer, (t: string | Buffer) => string][] = [
  ['strings', STRING_TEXT, (s) => s, (t) => t as string],
  ['Buffers', BUFFER_TEXT, (s) => Buffer.from(s), (t) => (t as Buffer).toString()],
];

for (const [name, kind, of, back] of kinds) {
  describe(`PendingLines of ${name}`, () => {
    // biome-ignore lint/suspicious/noExplicitAny: one test body for both kinds of text
    const pending = (): PendingLines<any> => new PendingLines(kind as TextKind<any>);

    it('joins the parts of a line, with the time of its first, and keeps the streams apart', () => {
      const p = pending();
      assert.equal(p.add('stdout', 't1', of('ab'), false, 100), undefined);
      assert.equal(p.add('stderr', 't2', of('X'), false, 100), undefined);
      const out = p.add('stdout', 't3', of('cd'), true, 100);
      assert.ok(out !== undefined);
      assert.equal(back(out.text()), 'abcd');
      assert.equal(out.time, 't1');
      assert.equal(out.truncated, false);
      assert.equal(p.get('stdout'), undefined);
      assert.ok(p.get('stderr') !== undefined, 'stderr still open');
    });

    it('keeps at most max units and marks the line cut', () => {
      const p = pending();
      p.add('stdout', 't', of('abcd'), false, 6);
      p.add('stdout', 't', of('efgh'), false, 6);
      const out = p.add('stdout', 't', of('ij'), true, 6);
      assert.equal(back(out!.text()), 'abcdef');
      assert.equal(out!.truncated, true);
    });

    it('trims a "\\r\\n" whose "\\n" came alone in the last part', () => {
      const p = pending();
      p.add('stdout', 't', of('line\r'), false, 100);
      assert.equal(back(p.add('stdout', 't', of(''), true, 100)!.text()), 'line');
      assert.equal(back(kind.trimEol(of('x\r\n') as never)), 'x');
      assert.equal(back(kind.trimEol(of('x\n') as never)), 'x');
      assert.equal(back(kind.trimEol(of('x\r') as never)), 'x');
      assert.equal(back(kind.trimEol(of('x') as never)), 'x');
    });

    it('hands every open line over when the input ends, stdout first', () => {
      const p = pending();
      p.add('stderr', 't1', of('err'), false, 100);
      p.add('stdout', 't2', of('out'), false, 100);
      assert.deepEqual(
        [...p.drain()].map(([stream, line]) => [stream, back(line.text())]),
        [
          ['stdout', 'out'],
          ['stderr', 'err'],
        ],
      );
      assert.deepEqual([...p.drain()], []);
    });
  });
}

describe('BUFFER_TEXT', () => {
  it('keeps a copy: a part survives the reuse of the buffer it came in', () => {
    const p = new PendingLines(BUFFER_TEXT);
    const frame = Buffer.from('hello');
    p.add('stdout', 't', frame, false, 100);
    frame.fill(0x78);
    assert.equal(p.add('stdout', 't', Buffer.from('!'), true, 100)!.text().toString(), 'hello!');
  });
});
