// Positions in tailed files, by path: the file (device, inode, fingerprint)
// and the byte offset to read on from. A path may name a new file after a
// rotation: this run's files are ordered by generation, and a position saved
// by an earlier run is replaced by the first of this run.

import type { PositionCodec } from '../../core/position.js';
import type { FilePosition, FileRecord } from '../../core/record.js';

/** The key of the file tailed at `path`. */
export function fileKey(path: string): string {
  return `file:${path}`;
}

/** Of two positions in one run, whether `a` is further on (a later file, or further in the same one). */
function later(a: FilePosition, b: FilePosition): boolean {
  return a.generation > b.generation || (a.generation === b.generation && a.offset > b.offset);
}

/** A file position as saved: generations belong to the run that counted them. */
function saved(p: FilePosition): FilePosition {
  return { path: p.path, dev: p.dev, ino: p.ino, fingerprint: p.fingerprint, generation: -1, offset: p.offset };
}

function isFilePosition(p: unknown): p is FilePosition {
  const q = p as Partial<FilePosition> | null;
  return typeof q?.path === 'string' && Number.isInteger(q.dev) && Number.isInteger(q.ino) && typeof q.fingerprint === 'string' && Number.isInteger(q.offset);
}

export const filePositions: PositionCodec<FilePosition, FileRecord> = {
  kind: 'file',
  key: (r) => fileKey(r.path),
  from: (r) => ({ ...r.file, offset: r.start }),
  through: (r) => ({ ...r.file, offset: r.end }),
  before: (a, b) => a.file.generation < b.file.generation || (a.file.generation === b.file.generation && a.start < b.start),
  least: (a, b) => (later(a, b) ? b : a),
  // Once this run has read from the path, its position is this run's (it may be a new file).
  advance: (old, next) => (old !== undefined && old.generation >= 0 && !later(next, old) ? old : next),
  same: (a, b) => a.dev === b.dev && a.ino === b.ino && a.fingerprint === b.fingerprint && a.offset === b.offset,
  encode: saved,
  decode: (p) => (isFilePosition(p) ? saved(p) : undefined),
};
