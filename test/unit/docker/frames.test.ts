import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameDemuxer, STDERR, STDIN, STDOUT, SYSTEMERR } from '../../../src/docker/frames.js';

interface Frame {
  readonly stream: number;
  readonly payload: Buffer;
}

/** One frame as Docker writes it: [stream, 0, 0, 0, uint32 BE size] + payload. */
function frame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/**
 * Feeds the chunks and returns the frames. Payloads are copied, since the
 * demuxer may hand out ranges of a chunk (here the chunks are never reused, so
 * `copy` can be turned off for speed).
 */
function demux(chunks: readonly Buffer[], copy = true): Frame[] {
  const out: Frame[] = [];
  const d = new FrameDemuxer((stream, bytes, from, to) => {
    const payload = bytes.subarray(from, to);
    out.push({ stream, payload: copy ? Buffer.from(payload) : payload });
  });
  for (const c of chunks) d.push(c);
  if (d.midFrame) assert.fail('the demuxer should end between frames');
  return out;
}

function sameFrames(actual: readonly Frame[], expected: readonly Frame[], what: string): void {
  // A cheap check first: this runs some hundred thousand times.
  const same = actual.length === expected.length && expected.every((e, i) => actual[i]!.stream === e.stream && actual[i]!.payload.equals(e.payload));
  if (same) return;
  const show = (frames: readonly Frame[]): string[] => frames.map((f) => `${f.stream}:${f.payload.length}:${f.payload.subarray(0, 40).toString('hex')}`);
  assert.deepEqual(show(actual), show(expected), what);
  assert.fail(`${what}: payloads differ`);
}

const big = Buffer.alloc(100 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;

const expectedFrames: Frame[] = [
  { stream: STDOUT, payload: Buffer.from('2024-01-02T03:04:05.000000001Z hello\n') },
  { stream: STDERR, payload: Buffer.from('2024-01-02T03:04:05.000000002Z oops ✗\n') },
  { stream: STDOUT, payload: Buffer.alloc(0) },
  { stream: STDOUT, payload: big },
  { stream: STDERR, payload: Buffer.from('after the big one\n') },
];
const wire = Buffer.concat(expectedFrames.map((f) => frame(f.stream, f.payload)));

describe('FrameDemuxer', () => {
  it('builds test frames with the 8-byte header', () => {
    assert.deepEqual([...frame(STDERR, 'ab')], [2, 0, 0, 0, 0, 0, 0, 2, 0x61, 0x62]);
    assert.equal(frame(STDOUT, big).readUInt32BE(4), 102400);
  });

  it('reads the whole stream from one chunk', () => {
    sameFrames(demux([wire]), expectedFrames, 'one chunk');
  });

  it('yields the same frames when the stream is split in two at every byte offset', () => {
    // Holding the last results alive keeps malloc from trimming and then
    // page-faulting the same 100 KiB again on every cut (2-3x faster).
    const recent: Frame[][] = [];
    for (let cut = 0; cut <= wire.length; cut++) {
      const got = demux([wire.subarray(0, cut), wire.subarray(cut)], false);
      sameFrames(got, expectedFrames, `cut at ${cut}`);
      recent[cut & 63] = got;
    }
    assert.equal(recent.length, 64);
  });

  it('yields the same frames when fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) chunks.push(wire.subarray(i, i + 1));
    sameFrames(demux(chunks), expectedFrames, 'byte by byte');
  });

  it('reads many frames from one chunk, in order', () => {
    const many: Frame[] = [];
    for (let i = 0; i < 1000; i++) {
      many.push({ stream: i % 3 === 0 ? STDERR : STDOUT, payload: Buffer.from(`line ${i}\n`.repeat(i % 5)) });
    }
    sameFrames(demux([Buffer.concat(many.map((f) => frame(f.stream, f.payload)))]), many, 'many in one');
  });

  it('passes every stream type on, including stdin and systemerr', () => {
    const frames = [STDIN, STDOUT, STDERR, SYSTEMERR, 9].map((s) => ({ stream: s, payload: Buffer.from(`s${s}`) }));
    sameFrames(demux([Buffer.concat(frames.map((f) => frame(f.stream, f.payload)))]), frames, 'types');
  });

  it('reports midFrame while a header or payload is incomplete', () => {
    const d = new FrameDemuxer(() => {});
    const f = frame(STDOUT, 'abc');
    assert.equal(d.midFrame, false);
    d.push(f.subarray(0, 3));
    assert.equal(d.midFrame, true, 'inside the header');
    d.push(f.subarray(3, 9));
    assert.equal(d.midFrame, true, 'inside the payload');
    d.push(f.subarray(9));
    assert.equal(d.midFrame, false, 'frame complete');
  });

  it('does not emit a frame before its last payload byte arrives', () => {
    const seen: string[] = [];
    const d = new FrameDemuxer((_s, bytes, from, to) => seen.push(bytes.toString('utf8', from, to)));
    const f = frame(STDOUT, 'hello');
    d.push(f.subarray(0, f.length - 1));
    assert.deepEqual(seen, []);
    d.push(f.subarray(f.length - 1));
    assert.deepEqual(seen, ['hello']);
  });

  it('property: any frames cut into any chunks yield the same frames', () => {
    const frameArb = fc.record({
      stream: fc.constantFrom(STDIN, STDOUT, STDERR, SYSTEMERR),
      payload: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 0, maxLength: 3000 })),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (spec, cutSeeds) => {
        const frames: Frame[] = spec.map((f) => ({ stream: f.stream, payload: Buffer.from(f.payload) }));
        const bytes = Buffer.concat(frames.map((f) => frame(f.stream, f.payload)));
        const cuts = [...new Set(cutSeeds.map((n) => n % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const c of cuts) {
          chunks.push(bytes.subarray(at, c));
          at = c;
        }
        chunks.push(bytes.subarray(at));
        sameFrames(demux(chunks), frames, 'random chunks');
      }),
      { numRuns: 300 },
    );
  });
});
