// Positions in a container's log, for checkpoints. Without multiline a
// position is one place (Docker's time, and a count of lines at it): lines go
// out in the order they were read. With multiline, each stream is joined on
// its own, so a stream's lines may be done further on than the other's (an
// stderr stack trace still open while the stdout lines printed after its
// first line went out): a position is then a place per stream, kept as the
// nearer place and the stream ahead.

import type { PositionCodec } from '../../core/position.js';
import type { LogPosition, LogRecord, LogStream } from '../../core/record.js';

/** A place in a container's log: Docker's time, and how many lines at that time come before or at it. */
export interface Place {
  readonly time: string;
  readonly count: number;
}

/** Where the log was done with before this record: just before its first line, unless multiline says otherwise. */
export function logFrom(r: LogRecord): LogPosition {
  return r.from ?? { time: r.time, count: r.seq - 1 };
}

/** Where the log is done with once this record is: its line, unless multiline says otherwise. */
export function logThrough(r: LogRecord): LogPosition {
  return r.through ?? { time: r.time, count: r.seq };
}

/** Negative when `a` comes first, 0 when they are the same place, positive when `b` does. */
export function comparePlaces(a: Place, b: Place): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.count - b.count;
}

/** Where one stream's lines are done with. */
export function placeIn(p: LogPosition, stream: LogStream): Place {
  return p.ahead !== undefined && p.ahead.stream === stream ? p.ahead : p;
}

/** The position of a place per stream. */
export function positionAt(stdout: Place, stderr: Place): LogPosition {
  const c = comparePlaces(stdout, stderr);
  if (c === 0) return { time: stdout.time, count: stdout.count };
  return c < 0
    ? { time: stdout.time, count: stdout.count, ahead: { stream: 'stderr', time: stderr.time, count: stderr.count } }
    : { time: stderr.time, count: stderr.count, ahead: { stream: 'stdout', time: stdout.time, count: stdout.count } };
}

function nearer(a: Place, b: Place): Place {
  return comparePlaces(a, b) <= 0 ? a : b;
}

function further(a: Place, b: Place): Place {
  return comparePlaces(a, b) >= 0 ? a : b;
}

/** Each stream at the nearer of the two: what both say is done. */
export function leastPosition(a: LogPosition, b: LogPosition): LogPosition {
  if (a.ahead === undefined && b.ahead === undefined) return comparePlaces(a, b) <= 0 ? a : b;
  return positionAt(nearer(placeIn(a, 'stdout'), placeIn(b, 'stdout')), nearer(placeIn(a, 'stderr'), placeIn(b, 'stderr')));
}

/** Each stream at the further of the two: what either says is done. */
export function furthestPosition(a: LogPosition, b: LogPosition): LogPosition {
  if (a.ahead === undefined && b.ahead === undefined) return comparePlaces(a, b) >= 0 ? a : b;
  return positionAt(further(placeIn(a, 'stdout'), placeIn(b, 'stdout')), further(placeIn(a, 'stderr'), placeIn(b, 'stderr')));
}

export function samePosition(a: LogPosition, b: LogPosition): boolean {
  return comparePlaces(placeIn(a, 'stdout'), placeIn(b, 'stdout')) === 0 && comparePlaces(placeIn(a, 'stderr'), placeIn(b, 'stderr')) === 0;
}

/** Whether some stream of `a` is before that of `b`. */
export function someBefore(a: LogPosition, b: LogPosition): boolean {
  return comparePlaces(placeIn(a, 'stdout'), placeIn(b, 'stdout')) < 0 || comparePlaces(placeIn(a, 'stderr'), placeIn(b, 'stderr')) < 0;
}

function isPlace(p: unknown): p is Place {
  const q = p as Partial<Place> | null;
  return typeof q?.time === 'string' && Number.isInteger(q.count);
}

/** A container's log positions, by container id. */
export const logPositions: PositionCodec<LogPosition, LogRecord> = {
  kind: 'log',
  key: (r) => r.container.id,
  from: logFrom,
  through: logThrough,
  // Multiline records of two streams may go out of their first lines' order:
  // they are ordered by where the log was done with before each (which only moves on).
  before: (a, b) => {
    if (a.from === undefined && b.from === undefined) return a.time < b.time || (a.time === b.time && a.seq < b.seq);
    return someBefore(logFrom(a), logFrom(b));
  },
  least: leastPosition,
  // A container's position never moves back.
  advance: (old, next) => (old === undefined ? next : furthestPosition(old, next)),
  same: samePosition,
  encode: (p) => {
    const { time, count, ahead } = p;
    return ahead === undefined ? { time, count } : { time, count, ahead: { stream: ahead.stream, time: ahead.time, count: ahead.count } };
  },
  decode: (saved) => {
    if (!isPlace(saved)) return undefined;
    const ahead = (saved as LogPosition).ahead;
    if (ahead !== undefined && !(isPlace(ahead) && (ahead.stream === 'stdout' || ahead.stream === 'stderr'))) return undefined;
    return logPositions.encode(saved as LogPosition) as LogPosition;
  },
};
