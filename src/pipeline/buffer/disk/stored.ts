// A record as a disk buffer keeps it: its JSON line, exactly as every sink
// was to get it, and back. What a sink reads of a record besides its JSON
// (its type, time, host, container, stream, message, id) is found in that
// line; what the line leaves out (a log line's place, a file line's bytes,
// its position codec) is of no use once the record is on disk: the source
// has moved past it, and its id is kept as written.

import { storedEnvelopeOf, type ContainerMeta, type Envelope, type SidekickRecord } from '../../../core/record.js';

interface Line {
  type?: unknown;
  id?: unknown;
  container?: Omit<ContainerMeta, 'tag' | 'fields'>;
  tag?: string;
  fields?: Record<string, string>;
  json?: unknown;
  [key: string]: unknown;
}

/** The record a stored JSON line was made of, as far as sinks can tell; undefined for a line that is not one. */
export function storedEnvelope(json: string): Envelope | undefined {
  let line: Line;
  try {
    line = JSON.parse(json) as Line;
  } catch {
    return undefined;
  }
  if (typeof line !== 'object' || line === null || typeof line.type !== 'string' || typeof line.id !== 'string') return undefined;
  const { id, tag, fields, container, json: parsed, ...rest } = line;
  const record: Record<string, unknown> = { ...rest, storedId: id };
  // A container's tag and fields are written beside it, and kept in its meta.
  if (container !== undefined) {
    record['container'] = { ...container, ...(tag === undefined ? {} : { tag }), ...(fields === undefined ? {} : { fields }) };
  } else if (fields !== undefined) record['fields'] = fields;
  // A message that is a JSON object is written again as `json`; the record only marks it.
  if (parsed !== undefined) record['json'] = true;
  return storedEnvelopeOf(record as unknown as SidekickRecord, json);
}
