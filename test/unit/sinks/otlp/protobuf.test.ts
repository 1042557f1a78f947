// The OTLP encoders' protobuf writer: its bytes against a plain reference
// encoder written here (lengths straddling the varint sizes, strings of any
// UTF-16), its messages against protoc, and the times it reads.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nanos, nanosText, ProtoWriter, timeNanos, type Nanos } from '../../../../src/sinks/otlp/protobuf.js';
import { decode, LOGS_REQUEST, type Decoded } from './protoc.js';

const TWO_32 = 4294967296n;

const value = (n: Nanos): bigint => BigInt(n.hi) * TWO_32 + BigInt(n.lo);

/** True if `n` is two whole 32-bit halves, as a fixed64 is written from. */
const halves = (n: Nanos): boolean => [n.lo, n.hi].every((h) => Number.isInteger(h) && h >= 0 && h < 2 ** 32);

describe('nanos', () => {
  it('property: is seconds * 1e9 + fraction exactly, in two 32-bit halves', () => {
    const seconds = fc.bigInt({ min: 0n, max: 2n ** 33n - 1n }).map(Number);
    const fraction = fc.integer({ min: 0, max: 999_999_999 });
    fc.assert(
      fc.property(seconds, fraction, (s, f) => {
        const n = nanos(s, f);
        assert.ok(halves(n), JSON.stringify(n));
        assert.equal(value(n), BigInt(s) * 1_000_000_000n + BigInt(f));
        assert.equal(nanosText(n), String(BigInt(s) * 1_000_000_000n + BigInt(f)));
      }),
      {
        numRuns: 2000,
        examples: [
          [0, 0],
          [65535, 999_999_999],
          [65536, 0],
          [2 ** 32 - 1, 999_999_999],
          [2 ** 33 - 1, 999_999_999],
        ],
      },
    );
  });
});

describe('timeNanos', () => {
  it('property: reads an RFC 3339 UTC time of 0 to 9 fraction digits, 1970 to 2200, to the nanosecond', () => {
    const parts = fc.record({
      ms: fc.integer({ min: 0, max: Date.UTC(2200, 11, 31, 23, 59, 59) / 1000 }).map((s) => s * 1000),
      fraction: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 9 }).map((d) => d.join('')),
    });
    fc.assert(
      fc.property(parts, ({ ms, fraction }) => {
        const time = new Date(ms).toISOString().slice(0, 19) + (fraction === '' ? '' : `.${fraction}`) + 'Z';
        const n = timeNanos(time);
        assert.ok(halves(n));
        assert.equal(value(n), BigInt(ms / 1000) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0')), time);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the first nine digits of a longer fraction', () => {
    assert.equal(nanosText(timeNanos('2026-01-02T03:04:05.1234567891234Z')), '1767323045123456789');
  });

  it('reads what it cannot as zero, before and after times it can read', () => {
    for (const time of ['', 'garbage', 'xxxx-01-02T03:04:05.5Z', '2026-13-02T03:04:05Z', '1969-12-31T23:59:59.999999999Z']) {
      assert.equal(nanosText(timeNanos('2026-01-02T03:04:05.5Z')), '1767323045500000000');
      assert.deepEqual(timeNanos(time), { lo: 0, hi: 0 }, time);
    }
  });

  it('reads a fraction of anything but digits as no time, and never gives halves that are not whole', () => {
    for (const time of ['2026-01-02T03:04:05.1e3Z', '2026-01-02T03:04:05.1.5Z', '2026-01-02T03:04:05.-1Z', '2026-01-02T03:04:05.0x1Z']) {
      assert.deepEqual(timeNanos(time), { lo: 0, hi: 0 }, time);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (tail) => {
        const n = timeNanos(`2026-01-02T03:04:05.${tail}Z`);
        assert.ok(halves(n), JSON.stringify(n));
        nanosText(n);
      }),
    );
  });
});

/** A protobuf message as a tree: each field a scalar of one wire type, a string or bytes, or a message. */
type Field =
  | { readonly f: number; readonly t: 'uint'; readonly v: number }
  | { readonly f: number; readonly t: 'bool'; readonly v: boolean }
  | { readonly f: number; readonly t: 'double'; readonly v: number }
  | { readonly f: number; readonly t: 'fixed32'; readonly v: number }
  | { readonly f: number; readonly t: 'fixed64'; readonly v: Nanos }
  | { readonly f: number; readonly t: 'string'; readonly v: string }
  | { readonly f: number; readonly t: 'bytes'; readonly v: Uint8Array }
  | { readonly f: number; readonly t: 'message'; readonly v: readonly Field[] };

/** A varint as the wire has it, from a BigInt: the reference to check the writer's against. */
function varint(n: bigint): Buffer {
  const out: number[] = [];
  while (n >= 128n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
}

function tagged(f: number, wire: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(BigInt(f * 8 + wire)), payload]);
}

function delimited(f: number, payload: Buffer): Buffer {
  return tagged(f, 2, Buffer.concat([varint(BigInt(payload.length)), payload]));
}

/** The plain reference encoding of `fields`: every length known before it is written. */
function reference(fields: readonly Field[]): Buffer {
  return Buffer.concat(fields.map(referenceField));
}

function referenceField(x: Field): Buffer {
  switch (x.t) {
    case 'uint':
      return tagged(x.f, 0, varint(BigInt(x.v)));
    case 'bool':
      return tagged(x.f, 0, varint(x.v ? 1n : 0n));
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x.v);
      return tagged(x.f, 1, b);
    }
    case 'fixed32': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(x.v);
      return tagged(x.f, 5, b);
    }
    case 'fixed64': {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(value(x.v));
      return tagged(x.f, 1, b);
    }
    case 'string':
      return delimited(x.f, Buffer.from(x.v, 'utf8'));
    case 'bytes':
      return delimited(x.f, Buffer.from(x.v));
    case 'message':
      return delimited(x.f, reference(x.v));
  }
}

function write(w: ProtoWriter, fields: readonly Field[]): void {
  for (const x of fields) {
    if (x.t === 'uint') w.uint(x.f, x.v);
    else if (x.t === 'bool') w.bool(x.f, x.v);
    else if (x.t === 'double') w.double(x.f, x.v);
    else if (x.t === 'fixed32') w.fixed32(x.f, x.v);
    else if (x.t === 'fixed64') w.fixed64(x.f, x.v);
    else if (x.t === 'string') w.string(x.f, x.v);
    else if (x.t === 'bytes') w.bytes(x.f, x.v);
    else {
      const at = w.begin(x.f);
      write(w, x.v);
      w.end(at);
    }
  }
}

function written(fields: readonly Field[], initialBytes?: number): Buffer {
  const w = new ProtoWriter(initialBytes);
  write(w, fields);
  assert.equal(w.length, reference(fields).length);
  return w.finish();
}

/** Strings of any UTF-16 units, lone surrogates included (written as U+FFFD, as Buffer does). */
const anyUtf16 = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength });

describe('ProtoWriter', () => {
  it('writes a nested message of each length around a varint size (1, 2, 3 and 4 bytes) with its exact length', () => {
    for (const around of [0, 127, 16383, 2097151]) {
      for (let n = Math.max(0, around - 3); n <= around + 3; n++) {
        // One bytes field of n bytes inside: the message is 1 + length of varint(n) + n long.
        const fields: Field[] = [{ f: 1, t: 'message', v: [{ f: 2, t: 'bytes', v: Buffer.alloc(n, n % 251) }] }];
        assert.deepEqual(written(fields, 8), reference(fields), `content ${n}`);
      }
    }
  });

  it('writes messages in messages whose lengths all cross a varint size as they end', () => {
    const inner: Field = { f: 3, t: 'message', v: [{ f: 1, t: 'string', v: 'x'.repeat(16381) }] };
    const fields: Field[] = [{ f: 1, t: 'message', v: [{ f: 2, t: 'message', v: [inner, { f: 4, t: 'uint', v: 2 ** 53 - 1 }] }] }];
    assert.deepEqual(written(fields, 1), reference(fields));
  });

  it('writes strings of 42 and 43 UTF-16 units (the one-byte length shortcut and past it) of 1 to 4 bytes a character', () => {
    for (const unit of ['a', 'é', '€', '😀', '\ud800', '\udc00']) {
      for (let units = 40; units <= 45; units++) {
        const s = unit.repeat(Math.ceil(units / unit.length)).slice(0, units);
        const fields: Field[] = [
          { f: 1, t: 'string', v: s },
          { f: 2, t: 'uint', v: 1 },
        ];
        assert.deepEqual(written(fields, 1), reference(fields), `${units} units of ${JSON.stringify(unit)}`);
      }
    }
  });

  it('writes varints up to 2^53 - 1 and fixed-width values', () => {
    const uints = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49, 2 ** 53 - 1];
    // Field numbers up to 2^28 - 1: the writer computes a tag in 32-bit integers (OTLP's are below 20).
    const fields: Field[] = uints.map((v) => ({ f: 2 ** 28 - 1, t: 'uint', v }));
    fields.push({ f: 15, t: 'fixed32', v: 2 ** 32 - 1 }, { f: 16, t: 'fixed64', v: { lo: 2 ** 32 - 1, hi: 2 ** 31 } }, { f: 2047, t: 'double', v: -0.1 });
    fields.push({ f: 3, t: 'bool', v: true }, { f: 4, t: 'bool', v: false });
    assert.deepEqual(written(fields), reference(fields));
  });

  it('starts afresh after finish', () => {
    const w = new ProtoWriter(4);
    w.string(1, 'first message, long enough to grow the buffer');
    w.finish();
    w.uint(2, 300);
    assert.deepEqual(w.finish(), reference([{ f: 2, t: 'uint', v: 300 }]));
  });

  it('property: any tree of fields is written as the reference encodes it, whatever the initial buffer', () => {
    const field = fc.integer({ min: 1, max: 2 ** 28 - 1 });
    const { tree } = fc.letrec<{ tree: Field[]; node: Field }>((tie) => ({
      tree: fc.array(tie('node'), { maxLength: 6 }),
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ f: field, t: fc.constant('uint' as const), v: fc.maxSafeNat() }),
        fc.record({ f: field, t: fc.constant('bool' as const), v: fc.boolean() }),
        fc.record({ f: field, t: fc.constant('double' as const), v: fc.double() }),
        fc.record({ f: field, t: fc.constant('fixed32' as const), v: fc.nat({ max: 2 ** 32 - 1 }) }),
        fc.record({ f: field, t: fc.constant('fixed64' as const), v: fc.record({ lo: fc.nat({ max: 2 ** 32 - 1 }), hi: fc.nat({ max: 2 ** 32 - 1 }) }) }),
        fc.record({ f: field, t: fc.constant('string' as const), v: fc.oneof(anyUtf16(60), fc.string({ unit: 'binary', maxLength: 300 })) }),
        fc.record({
          f: field,
          t: fc.constant('bytes' as const),
          v: fc.oneof(
            fc.uint8Array({ maxLength: 300 }),
            fc.integer({ min: 16000, max: 16800 }).map((n) => new Uint8Array(n).fill(n)),
          ),
        }),
        fc.record({ f: field, t: fc.constant('message' as const), v: tie('tree') as fc.Arbitrary<Field[]> }),
      ),
    }));
    fc.assert(
      fc.property(tree, fc.integer({ min: 1, max: 300 }), (fields, initial) => {
        assert.deepEqual(written(fields, initial), reference(fields));
      }),
      { numRuns: 200 },
    );
  });
});

describe('ProtoWriter, read by protoc', () => {
  /** A LogRecord of each string: the string as body and as an attribute's key, with values of every writer method. */
  function logs(strings: readonly string[], time: Nanos): Buffer {
    const w = new ProtoWriter(16);
    const resourceLogs = w.begin(1);
    const scopeLogs = w.begin(2);
    for (const s of strings) {
      const record = w.begin(2);
      w.fixed64(1, time);
      w.uint(2, 9);
      const body = w.begin(5);
      w.string(1, s);
      w.end(body);
      const attribute = w.begin(6);
      w.string(1, s);
      const v = w.begin(2);
      w.uint(3, 2 ** 53 - 1);
      w.end(v);
      w.end(attribute);
      w.fixed32(8, 0xffffffff);
      w.fixed64(11, nanos(2 ** 33 - 1, 999_999_999));
      w.end(record);
    }
    w.end(scopeLogs);
    w.end(resourceLogs);
    return w.finish();
  }

  /** A field's first value: protoc leaves out a string or number that is empty or zero. */
  const scalar = (d: Decoded, field: string): unknown => d[field]?.[0] ?? '';
  const message = (d: Decoded, field: string): Decoded => (d[field]?.[0] ?? {}) as Decoded;

  function records(bytes: Buffer): Decoded[] {
    return (message(message(decode(bytes, LOGS_REQUEST), 'resource_logs'), 'scope_logs')['log_records'] ?? []) as Decoded[];
  }

  const body = (r: Decoded): unknown => scalar(message(r, 'body'), 'string_value');

  it('property: strings of any Unicode and length, and every scalar, decode as written', () => {
    const strings = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', minLength: 100, maxLength: 3000 })), {
      minLength: 1,
      maxLength: 20,
    });
    const time = fc.record({ lo: fc.nat({ max: 2 ** 32 - 1 }), hi: fc.nat({ max: 2 ** 31 - 1 }) });
    fc.assert(
      fc.property(strings, time, (list, t) => {
        const decoded = records(logs(list, t));
        assert.deepEqual(
          decoded.map((r) => [body(r), scalar(message(r, 'attributes'), 'key')]),
          list.map((s) => [s, s]),
        );
        for (const r of decoded) {
          assert.equal(String(scalar(r, 'time_unix_nano') || 0), String(value(t)));
          assert.equal(scalar(r, 'severity_number'), 'SEVERITY_NUMBER_INFO');
          assert.equal(scalar(r, 'flags'), 0xffffffff);
          assert.equal(String(scalar(r, 'observed_time_unix_nano')), '8589934591999999999');
          assert.equal(scalar(message(message(r, 'attributes'), 'value'), 'int_value'), 2 ** 53 - 1);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('decodes records whose messages need 1, 2 and 3 length bytes, and strings of 42 and 43 characters', () => {
    const strings = ['€'.repeat(42), '€'.repeat(43), 'a'.repeat(42), '😀'.repeat(22), 'x'.repeat(120), 'x'.repeat(121), 'y'.repeat(16370)];
    assert.deepEqual(records(logs(strings, nanos(1767323045, 1))).map(body), strings);
  });
});
