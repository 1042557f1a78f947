// How a source that can be read again from a place (a container's log, a
// tailed file) says where its records are. Each such record carries its
// source's codec; sink channels and checkpoints keep positions through it and
// know no source kinds. A position is what is done with: everything before it
// needs no reading again.

export interface PositionCodec<P, R> {
  /** Names the kind in checkpoint files; one per codec. */
  readonly kind: string;
  /** The source a record comes from; unique across kinds. */
  key(r: R): string;
  /** Where the source is done with before this record. */
  from(r: R): P;
  /** Where the source is done with once this record is. */
  through(r: R): P;
  /** Of two records from one source, whether `a` comes first. */
  before(a: R, b: R): boolean;
  /** What both say is done: the lesser. */
  least(a: P, b: P): P;
  /** The position once `next` is done too: `old`, unless `next` is further on (or `old` is an earlier run's that this run replaces). */
  advance(old: P | undefined, next: P): P;
  same(a: P, b: P): boolean;
  /** As saved (a JSON value), and back; decode answers undefined for what it cannot read. */
  encode(p: P): unknown;
  decode(saved: unknown): P | undefined;
}

/** A codec of any kind, as the pipeline holds it (its positions are opaque there). */
// biome-ignore lint/suspicious/noExplicitAny: positions and records are the codec's own; the pipeline only passes them back to it
export type AnyPositionCodec = PositionCodec<any, any>;

/** A position with the codec that reads it. */
export interface Held {
  readonly codec: AnyPositionCodec;
  readonly at: unknown;
}
