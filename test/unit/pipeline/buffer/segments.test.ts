// The disk buffer's segment log, on a real temporary folder: frames written,
// read and acknowledged across segments; reopened after a stop and after a
// kill; its oldest segment dropped; torn and corrupt frames skipped and told.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type Corruption, SegmentLog } from '../../../../src/pipeline/buffer/disk/segments.js';

let dir: string;
let corrupt: Corruption[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sk-segments-'));
  corrupt = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(segmentBytes = 1024): SegmentLog {
  return SegmentLog.open({ dir, segmentBytes }, (c) => corrupt.push(c));
}

const frame = (i: number): Buffer => Buffer.from(`record ${i} ${'x'.repeat(i % 50)}`);
const text = (frames: Buffer[]): string[] => frames.map((f) => f.toString());
const segmentFiles = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.seg'));

describe('SegmentLog', () => {
  it('keeps text of any UTF-8 length whole, read back staged, flushed and after a reopen', () => {
    const log = open(64);
    const texts = ['é', '日本語のログ', '\u{1F600} emoji', 'x'.repeat(300), 'y'.repeat(100_000), ''];
    for (const t of texts) log.append(t);
    assert.deepEqual(
      texts.map((_, i) => log.frame(i)?.toString()),
      texts,
      'staged frames',
    );
    log.flush();
    assert.deepEqual(
      texts.map((_, i) => log.frame(i)?.toString()),
      texts,
      'flushed frames',
    );
    log.close();
    assert.deepEqual(text(open(64).read(100, Infinity)), texts, 'after a reopen');
    assert.deepEqual(corrupt, []);
  });

  it('hands out what was appended, in order, once, across segments', () => {
    const log = open(256);
    for (let i = 0; i < 100; i++) log.append(frame(i).toString());
    assert.equal(log.frames, 100);
    const got: string[] = [];
    for (let b = log.read(7, Infinity); b.length > 0; b = log.read(7, Infinity)) got.push(...text(b));
    assert.deepEqual(got, text(Array.from({ length: 100 }, (_, i) => frame(i))));
    assert.ok(segmentFiles().length > 5, `segments of at most about 256 bytes: ${segmentFiles().length}`);
    assert.equal(log.unread, 0);
    assert.equal(log.frames, 100, 'read is not acknowledged');
  });

  it('stops a read at about maxBytes, with at least one frame', () => {
    const log = open();
    for (let i = 0; i < 10; i++) log.append('a'.repeat(100));
    assert.equal(log.read(100, 250).length, 3);
    assert.equal(log.read(100, 1).length, 1);
  });

  it('deletes segments once acknowledged whole, and resumes after a stop at the acknowledged frame', () => {
    let log = open(256);
    for (let i = 0; i < 60; i++) log.append(frame(i).toString());
    log.read(25, Infinity);
    const before = segmentFiles().length;
    log.ack(25);
    assert.ok(segmentFiles().length < before, 'acknowledged segments are deleted');
    assert.equal(log.frames, 35);
    log.close();
    log = open(256);
    assert.equal(log.frames, 35);
    assert.deepEqual(text(log.read(1000, Infinity)), text(Array.from({ length: 35 }, (_, i) => frame(25 + i))));
  });

  it('after a kill (no close), sends again what was read but not acknowledged, and nothing acknowledged', () => {
    const log = open(256);
    for (let i = 0; i < 40; i++) log.append(frame(i).toString());
    log.read(30, Infinity);
    log.ack(10);
    log.append(frame(40).toString());
    log.flush();
    // No close: the process is gone.
    const again = open(256);
    assert.deepEqual(text(again.read(1000, Infinity)), text(Array.from({ length: 31 }, (_, i) => frame(10 + i))));
  });

  it('never deletes a new segment on the word of an old cursor', () => {
    let log = open(128);
    for (let i = 0; i < 30; i++) log.append(frame(i).toString());
    log.read(30, Infinity);
    log.ack(30);
    log.close();
    log = open(128);
    assert.equal(log.frames, 0);
    log.append(frame(99).toString());
    log.flush();
    log = open(128);
    assert.deepEqual(text(log.read(10, Infinity)), [frame(99).toString()]);
  });

  it('drops its oldest segment: the frames not acknowledged are counted lost, the others read on', () => {
    const log = open(256);
    for (let i = 0; i < 60; i++) log.append(frame(i).toString());
    log.flush();
    const total = log.bytes;
    const { lost, first, last } = log.dropOldest()!;
    assert.ok(lost > 0);
    assert.equal(first?.toString(), frame(0).toString());
    assert.equal(last?.toString(), frame(lost - 1).toString());
    assert.ok(log.bytes < total);
    assert.equal(log.frames, 60 - lost);
    assert.equal(log.read(1000, Infinity)[0]?.toString(), frame(lost).toString());
  });

  it('skips a torn tail and reads the next segment on, telling where and why', () => {
    let log = open(256);
    for (let i = 0; i < 40; i++) log.append(frame(i).toString());
    log.close();
    const [first] = segmentFiles().sort();
    const path = join(dir, first!);
    truncateSync(path, statSync(path).size - 3);
    log = open(256);
    assert.equal(corrupt.length, 1);
    assert.match(corrupt[0]!.why, /cut short/);
    const got = text(log.read(1000, Infinity));
    const all = text(Array.from({ length: 40 }, (_, i) => frame(i)));
    const missing = all.filter((f) => !got.includes(f));
    assert.equal(missing.length, 1, 'only the torn frame is lost');
    assert.deepEqual(
      got,
      all.filter((f) => f !== missing[0]),
      'the rest in order',
    );
  });

  it('skips the rest of a segment from a frame whose bytes were flipped', () => {
    let log = open(4096);
    for (let i = 0; i < 20; i++) log.append(frame(i).toString());
    log.close();
    const path = join(dir, segmentFiles()[0]!);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('record 10');
    bytes[at + 3] ^= 0xff;
    writeFileSync(path, bytes);
    log = open(4096);
    assert.equal(corrupt.length, 1);
    assert.match(corrupt[0]!.why, /checksum/);
    assert.deepEqual(text(log.read(1000, Infinity)), text(Array.from({ length: 10 }, (_, i) => frame(i))));
    // What comes after is written to a new segment and read after the good frames.
    log.append(frame(77).toString());
    assert.deepEqual(text(log.read(10, Infinity)), [frame(77).toString()]);
  });

  it('does not read a file that is not one of its segments', () => {
    writeFileSync(join(dir, '0000000000000001.seg'), 'hello, not a segment');
    appendFileSync(join(dir, 'cursor.json'), '{not json');
    const log = open();
    assert.equal(corrupt.length, 1);
    assert.equal(log.frames, 0);
    log.append(frame(1).toString());
    assert.deepEqual(text(log.read(10, Infinity)), [frame(1).toString()]);
  });
});
