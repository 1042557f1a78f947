// When a streamed answer (a log follow, the events) reads its connection.
// dockerd writes each line of a follow on its own: read as soon as it comes,
// a flood of 100,000 lines a second was 20,000 reads a second of 5 lines
// each, and the reads (a wake, a syscall, a callback) about 2 of the 3.8 us
// of CPU a line of the bare reader. Resting a moment between reads while they
// come back to back lets the lines gather in the connection: 150 lines a read,
// 1.2 us a line (bench/RESULTS.md, issue 19). A read that follows a quiet
// moment is never held back, so a line that comes alone waits for nothing;
// a line in a flood waits at most one rest.

/** The rest between two reads that came back to back (ms). */
export const READ_REST_MS = 2;
/**
 * A read at least this big took what had gathered during a rest: the next one
 * is made at once. The sender's side of a connection holds a few hundred of
 * dockerd's writes, not much more than a rest's worth in a flood; resting
 * again would hold dockerd up.
 */
export const READ_BIG = 16 * 1024;

export class ReadPace {
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly restMs = READ_REST_MS,
    private readonly big = READ_BIG,
  ) {}

  /** A read of `bytes` came at `now` (ms): whether to rest before the next. */
  rest(bytes: number, now: number): boolean {
    const backToBack = now - this.last < this.restMs;
    this.last = now;
    return backToBack && bytes < this.big;
  }
}
