// One backoff schedule: its delays, and calls retried on it until they work,
// are refused for good, or are aborted (also while waiting).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, retryForever } from '../../../src/core/backoff.js';

describe('backoffDelay', () => {
  it('stays between half the minimum and min·2^attempt, capped at the maximum', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt, 200, 10_000);
        assert.ok(d >= 100 && d <= Math.min(10_000, 200 * 2 ** attempt), `attempt ${attempt}: ${d}`);
      }
    }
  });
});

describe('retryForever', () => {
  it('calls again until the call works, numbering each failure from 1, and waits between calls', async () => {
    const failures: number[] = [];
    const calls: number[] = [];
    let n = 0;
    const got = await retryForever(
      async () => {
        calls.push(Date.now());
        if (++n < 4) throw new Error(`no ${n}`);
        return 'yes';
      },
      { signal: new AbortController().signal, minMs: 20, maxMs: 40, onFailure: (_err, attempt) => failures.push(attempt) },
    );
    assert.equal(got, 'yes');
    assert.deepEqual(failures, [1, 2, 3]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i]! - calls[i - 1]! >= 9, `wait ${i}: ${calls[i]! - calls[i - 1]!} ms`);
  });

  it('rejects at once with a failure that is not retryable', async () => {
    let n = 0;
    const refused = new Error('404');
    await assert.rejects(
      retryForever(
        async () => {
          n++;
          throw refused;
        },
        { signal: new AbortController().signal, minMs: 10, retryable: (err) => err !== refused },
      ),
      (err) => err === refused,
    );
    assert.equal(n, 1);
  });

  it("rejects with the signal's reason when aborted while waiting, without calling again", async () => {
    const abort = new AbortController();
    let n = 0;
    const pending = retryForever(
      async () => {
        n++;
        throw new Error('down');
      },
      { signal: abort.signal, minMs: 60_000, maxMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 20));
    const reason = new Error('stopping');
    abort.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
    assert.equal(n, 1);
  });

  it('does not call at all once aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stopped'));
    let n = 0;
    await assert.rejects(retryForever(async () => n++, { signal: abort.signal }));
    assert.equal(n, 0);
  });
});
