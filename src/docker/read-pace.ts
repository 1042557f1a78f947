// When a streamed answer (a log follow, the events) reads its connection.
// dockerd writes each line of a follow on its own: read as soon as it comes,
// a flood of 100,000 lines a second was 20,000 reads a second of 5 lines
// each, and the reads (a wake, a syscall, a callback) about 2 of the 3.8 us
// of CPU a line of the bare reader. Resting a moment between reads while they
// come back to back lets the lines gather in the connection: a hundred lines
// a read (bench/RESULTS.md, issue 19). A read that follows a quiet moment is
// never held back, so a line that comes alone waits for nothing; a line in a
// flood waits at most one rest.

/**
 * The rest between two reads that came back to back (ms). The sender's side
 * of a unix connection holds a few hundred of dockerd's small writes (each
 * is charged its buffer's overhead): resting 2 ms, a flood filled it and
 * dockerd waited, and a follow read at most 117,000 lines a second; resting
 * 1 ms, 135,000-144,000 (the engine's ceiling here), for the same CPU a line.
 */
export const READ_REST_MS = 1;
/**
 * A read at least this big took what had gathered during a rest: the next one
 * is made at once, for the sender not to wait on a full connection.
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
