// Small waits the pipeline tests share.

import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Polls `cond` until it holds, or fails naming `what`. */
export async function waitFor(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A promise with its resolve, for a sink that waits until told. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Collects garbage now, as `--expose-gc` would, for a test that an object is
 * let go (a WeakRef of it empties). After a turn of the event loop: a WeakRef
 * keeps its target until the job that made or read it is over.
 */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

/** Runs `fn` with setTimeout counted: how many timers were made meanwhile (by `fn` and by anything else that ran). */
export async function timersMadeBy(fn: () => Promise<void>): Promise<number> {
  const armed = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers++;
    return armed(...args);
  }) as typeof setTimeout;
  try {
    await fn();
  } finally {
    globalThis.setTimeout = armed;
  }
  return timers;
}
