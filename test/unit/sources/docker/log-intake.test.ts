// LogIntake with multiline records across restarts of sidekick: the position
// a sink is done with, read back by the next run, must neither read again the
// end of a record sent (its continuation lines would go out a second time, as
// a record of their own with a new id) nor skip the start of one not sent.
// A run here is an intake feeding a real channel; a restart is a new intake
// from the position that channel was done with, reading the log again.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { SinkDriver } from '../../../../src/pipeline/driver.js';
import { containerMeta, envelope, logId, type LogPosition, type LogRecord, type LogStream } from '../../../../src/core/record.js';
import { MemorySink } from '../../../../src/sinks/memory.js';
import { LogIntake, type LogsTarget } from '../../../../src/sources/docker/log-intake.js';
import { startPattern } from '../../../../src/sources/multiline.js';
import { waitFor } from '../../wait.js';

const log = pino({ level: 'silent' });
const meta = containerMeta('c'.repeat(64), '/app', 'java:21', {});

interface Line {
  readonly stream: LogStream;
  readonly time: string;
  readonly message: string;
}

/** Three lines at each time, as a busy container prints them: their place at that time tells them apart. */
function lines(spec: readonly (readonly [LogStream, string])[]): Line[] {
  return spec.map(([stream, message], i) => ({ stream, message, time: `2026-01-01T00:00:0${Math.floor(i / 3)}.000000000Z` }));
}

/** One stream: traces between log lines. */
const ONE_STREAM = lines([
  ['stdout', 'INFO starting'],
  ['stdout', 'Exception in thread "main" java.lang.IllegalStateException: a'],
  ['stdout', '\tat com.example.A.run(A.java:1)'],
  ['stdout', '\tat com.example.A.main(A.java:2)'],
  ['stdout', 'Caused by: java.io.IOException: b'],
  ['stdout', '\t... 2 more'],
  ['stdout', 'INFO recovered'],
  ['stdout', 'java.lang.RuntimeException: c'],
  ['stdout', '\tat com.example.C.run(C.java:3)'],
  ['stdout', 'INFO done'],
]);

/** A Java app logging on stdout and printing traces on stderr, the two interleaved; stdout has a trace too. */
const TWO_STREAMS = lines([
  ['stdout', 'INFO 1'],
  ['stderr', 'java.lang.IllegalStateException: a'],
  ['stdout', 'INFO 2'],
  ['stderr', '\tat com.example.A.run(A.java:1)'],
  ['stderr', '\tat com.example.A.main(A.java:2)'],
  ['stdout', 'INFO 3'],
  ['stdout', 'java.lang.RuntimeException: b'],
  ['stderr', 'Caused by: java.io.IOException: c'],
  ['stdout', '\tat com.example.B.run(B.java:3)'],
  ['stderr', '\t... 2 more'],
  ['stdout', 'INFO 4'],
  ['stderr', 'WARN retrying'],
  ['stdout', '\tat com.example.D.run(D.java:4)'],
  ['stderr', 'java.lang.IllegalStateException: e'],
  ['stderr', '\tat com.example.E.run(E.java:5)'],
  ['stdout', 'INFO 5'],
]);

/**
 * As dockerd wrote a json-file under load (the stamps are its own): it stamps
 * each stream's lines as it reads them, so stderr's lines may be written
 * before stdout's stamped earlier, and two lines of the two streams may have
 * the same stamp ("err 2" and "INFO 2"; "INFO 2" is read after stderr went on).
 */
const STAMPED_ALIKE: Line[] = (
  [
    ['stderr', 'java.lang.IllegalStateException: err 1', '.280290000'],
    ['stderr', '\tat com.example.Err.run(Err.java:1)', '.280303064'],
    ['stderr', 'Caused by: java.io.IOException: disk 1', '.280309634'],
    ['stdout', 'INFO 1', '.280350254'],
    ['stdout', 'java.lang.RuntimeException: out 1', '.280355502'],
    ['stdout', '\tat com.example.Out.run(Out.java:1)', '.280358676'],
    ['stderr', 'java.lang.IllegalStateException: err 2', '.296603743'],
    ['stderr', '\tat com.example.Err.run(Err.java:2)', '.296640297'],
    ['stderr', 'Caused by: java.io.IOException: disk 2', '.296645655'],
    ['stdout', 'INFO 2', '.296603743'],
    ['stdout', 'java.lang.RuntimeException: out 2', '.296658684'],
    ['stdout', '\tat com.example.Out.run(Out.java:2)', '.296661228'],
  ] as const
).map(([stream, message, fraction]) => ({ stream, message, time: `2026-12-04T01:00:44${fraction}Z` }));

/** Each log the restart tests read, by name. */
const LOGS = [
  ['one stream', ONE_STREAM],
  ['stdout and stderr interleaved', TWO_STREAMS],
  ['stdout and stderr stamped alike, written out of order', STAMPED_ALIKE],
] as const;

/** What a receiver keeps of a record: its id and message. */
type Received = readonly [string, string];

/** One run of sidekick: an intake from `from` into a channel whose sink takes everything. */
class Run {
  readonly sink = new MemorySink();
  readonly channel = new SinkDriver(this.sink, log, undefined);
  private readonly intake: LogIntake;
  private emitted = 0;

  constructor(from: LogPosition | undefined) {
    // As the collector builds it from a checkpoint.
    const target: LogsTarget = { meta, tty: false, since: undefined, cursor: from === undefined ? undefined : { ...from }, multiline: startPattern('java') };
    const ctx = {
      host: 'h',
      multilineFlushMs: 60_000,
      maxLine: 1 << 20,
      emit: (r: LogRecord) => {
        this.emitted++;
        this.channel.push(envelope(r));
      },
    };
    this.intake = new LogIntake(target, ctx, target.cursor);
  }

  async start(): Promise<void> {
    await this.channel.start();
  }

  /** Reads `log` (the engine sends it from the checkpoint's time on: earlier lines are skipped anyway). */
  read(log: readonly Line[]): void {
    for (const l of log) this.intake.line(l.stream, l.time, l.message, false);
  }

  /** Where the channel is done with the log once it has delivered what was emitted. */
  async position(): Promise<LogPosition> {
    await waitFor('delivery', () => this.sink.received.length === this.emitted);
    return this.channel.acks.done().get(meta.id)?.at as LogPosition;
  }

  /** Sidekick stops (SIGTERM): what is pending is dropped, what was emitted is delivered. */
  async stop(): Promise<Received[]> {
    this.intake.end(true);
    await this.position();
    await this.channel.close(Date.now() + 1000);
    return this.received();
  }

  /** The container's stream ended: everything read goes out. */
  async end(): Promise<Received[]> {
    this.intake.end(false);
    return this.stop();
  }

  received(): Received[] {
    return this.sink.received.map(({ record }) => [logId(record as LogRecord), (record as LogRecord).message]);
  }
}

/** Everything read in one go, without a restart. */
async function uninterrupted(log: readonly Line[]): Promise<Received[]> {
  const run = new Run(undefined);
  await run.start();
  run.read(log);
  return run.end();
}

/** Stopped with SIGTERM after the first `at` lines were read, then started again from its checkpoint. */
async function stoppedAt(log: readonly Line[], at: number): Promise<{ first: Received[]; second: Received[] }> {
  const one = new Run(undefined);
  await one.start();
  one.read(log.slice(0, at));
  const first = await one.stop();
  const two = new Run(await one.position());
  await two.start();
  two.read(log);
  return { first, second: await two.end() };
}

function sorted(records: readonly Received[]): Received[] {
  return [...records].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe('LogIntake: multiline records across a restart (SIGTERM)', () => {
  for (const [name, log] of LOGS) {
    it(`${name}: every record exactly once, with its id, wherever the stop falls`, async () => {
      const whole = await uninterrupted(log);
      for (let at = 1; at < log.length; at++) {
        const { first, second } = await stoppedAt(log, at);
        assert.deepEqual(sorted([...first, ...second]), sorted(whole), `stopped after line ${at}: ${JSON.stringify({ first, second })}`);
      }
    });
  }

  it('lines of the two streams stamped alike, one read after the other stream went on: each record its own id', async () => {
    const whole = await uninterrupted(STAMPED_ALIKE);
    assert.equal(whole.length, 6);
    assert.equal(new Set(whole.map(([id]) => id)).size, 6, JSON.stringify(whole));
  });

  it('right after a joined record went out, its continuation lines are not sent again', async () => {
    // Line 7 ("INFO recovered") sent the trace of lines 2 to 6.
    const { first, second } = await stoppedAt(ONE_STREAM, 7);
    assert.equal(
      first.at(-1)![1],
      ONE_STREAM.slice(1, 6)
        .map((l) => l.message)
        .join('\n'),
    );
    assert.deepEqual(
      second.map(([, message]) => message),
      ['INFO recovered', 'java.lang.RuntimeException: c\n\tat com.example.C.run(C.java:3)', 'INFO done'],
    );
  });

  it('in the middle of a record, it is read again whole after the restart', async () => {
    // Lines 2 to 4 of the trace read, then the stop: none of it was sent.
    const { first, second } = await stoppedAt(ONE_STREAM, 4);
    assert.deepEqual(
      first.map(([, message]) => message),
      ['INFO starting'],
    );
    assert.equal(
      second[0]![1],
      ONE_STREAM.slice(1, 6)
        .map((l) => l.message)
        .join('\n'),
    );
  });
});

describe('LogIntake: multiline records across a kill (SIGKILL)', () => {
  for (const [name, log] of LOGS) {
    it(`${name}: nothing missing, and what repeats has the id it had`, async () => {
      const whole = new Map(await uninterrupted(log));
      // The checkpoint on disk is from line `saved`; the kill came at line `killed`.
      for (let killed = 1; killed < log.length; killed++) {
        for (let saved = 1; saved <= killed; saved++) {
          const one = new Run(undefined);
          await one.start();
          one.read(log.slice(0, saved));
          const checkpoint = await one.position();
          one.read(log.slice(saved, killed));
          const first = await one.stop();
          const two = new Run(checkpoint);
          await two.start();
          two.read(log);
          const second = await two.end();
          const got = new Map<string, string>();
          for (const [id, message] of [...first, ...second]) {
            const seen = got.get(id);
            assert.ok(seen === undefined || seen === message, `saved at ${saved}, killed at ${killed}: id ${id} names one record`);
            got.set(id, message);
          }
          assert.deepEqual(got, whole, `saved at ${saved}, killed at ${killed}`);
        }
      }
    });
  }
});
