// OTLP attributes (KeyValue and AnyValue) in both encodings: protobuf
// through a ProtoWriter, and OTLP/JSON as text. One value type covers what
// sidekick sends: strings, string lists, booleans and numbers.

import type { ProtoWriter } from './protobuf.js';

export type AttributeValue = string | boolean | number | readonly string[];

/** Attributes in the order they are written. */
export type Attributes = ReadonlyArray<readonly [key: string, value: AttributeValue]>;

/** AnyValue's fields. */
const STRING_VALUE = 1;
const BOOL_VALUE = 2;
const INT_VALUE = 3;
const DOUBLE_VALUE = 4;
const ARRAY_VALUE = 5;
/** ArrayValue.values, KeyValue.key and .value. */
const VALUES = 1;
const KEY = 1;
const VALUE = 2;

/** An AnyValue of `value` as the message at `field`. */
export function writeAnyValue(w: ProtoWriter, field: number, value: AttributeValue): void {
  const at = w.begin(field);
  if (typeof value === 'string') w.string(STRING_VALUE, value);
  else if (typeof value === 'boolean') w.bool(BOOL_VALUE, value);
  else if (typeof value === 'number') {
    // A whole number goes as int_value (a varint: non-negative ones only, which is all sidekick has).
    if (Number.isSafeInteger(value) && value >= 0) w.uint(INT_VALUE, value);
    else w.double(DOUBLE_VALUE, value);
  } else {
    const list = w.begin(ARRAY_VALUE);
    for (const v of value) writeAnyValue(w, VALUES, v);
    w.end(list);
  }
  w.end(at);
}

/** One KeyValue as the message at `field`. */
export function writeAttribute(w: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  const at = w.begin(field);
  w.string(KEY, key);
  writeAnyValue(w, VALUE, value);
  w.end(at);
}

export function writeAttributes(w: ProtoWriter, field: number, attributes: Attributes): void {
  for (const [key, value] of attributes) writeAttribute(w, field, key, value);
}

/** An AnyValue in OTLP/JSON. */
export function anyValueJson(value: AttributeValue): string {
  if (typeof value === 'string') return '{"stringValue":' + JSON.stringify(value) + '}';
  if (typeof value === 'boolean') return '{"boolValue":' + value + '}';
  if (typeof value === 'number') {
    // OTLP/JSON writes a 64-bit integer as a decimal string, as protobuf's JSON mapping does.
    return Number.isSafeInteger(value) && value >= 0
      ? '{"intValue":"' + value + '"}'
      : '{"doubleValue":' + (Number.isFinite(value) ? String(value) : JSON.stringify(String(value))) + '}';
  }
  return '{"arrayValue":{"values":[' + value.map(anyValueJson).join(',') + ']}}';
}

/** Attributes in OTLP/JSON: `[{"key":…,"value":…},…]`. */
export function attributesJson(attributes: Attributes): string {
  let out = '[';
  for (let i = 0; i < attributes.length; i++) {
    const [key, value] = attributes[i] as readonly [string, AttributeValue];
    out += (i === 0 ? '{"key":' : ',{"key":') + JSON.stringify(key) + ',"value":' + anyValueJson(value) + '}';
  }
  return out + ']';
}
