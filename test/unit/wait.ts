// Small waits the pipeline tests share.

import assert from 'node:assert/strict';

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
