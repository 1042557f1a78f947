// Wake: when a json-file follower reads again. Its safety look, the path's
// stat without a change notice, wakes the follower only for something new.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Wake } from '../../../../src/sources/docker/log-file-wake.js';
import { waitFor } from '../../wait.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sidekick-wake-'));
  path = join(dir, 'c-json.log');
  writeFileSync(path, 'x\n');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SAFETY_MS = 20;

describe('Wake', () => {
  // An idle follower's wait lasts while its container is quiet: a new wait
  // every safety look outlived young-generation collections, and hundreds of
  // idle followers filled the old generation with them.
  it('keeps waiting through its safety looks while the path shows nothing new, and ends at the first look that does', async () => {
    let nothingNew = true;
    let looks = 0;
    const wake = new Wake(path, new AbortController().signal, (st) => {
      looks++;
      return st !== undefined && nothingNew;
    });
    let woken = false;
    const waited = wake.next(SAFETY_MS).then(() => {
      woken = true;
    });
    try {
      await waitFor('five safety looks', () => looks >= 5);
      assert.equal(woken, false, `woken after ${looks} looks that found nothing new`);
      nothingNew = false;
      await waited;
      assert.equal(woken, true);
    } finally {
      wake.close();
    }
  });

  it('wakes the follower at a safety look when the path cannot be looked at (no file there)', async () => {
    rmSync(path);
    const seen: (number | undefined)[] = [];
    const wake = new Wake(path, new AbortController().signal, (st) => {
      seen.push(st?.size);
      return st !== undefined;
    });
    try {
      await wake.next(SAFETY_MS);
      assert.deepEqual(seen, [undefined]);
    } finally {
      wake.close();
    }
  });

  it('ends a wait at once when the folder changes, without waiting for a safety look', async () => {
    let looks = 0;
    const wake = new Wake(path, new AbortController().signal, () => {
      looks++;
      return true;
    });
    try {
      const waited = wake.next(60_000);
      writeFileSync(path, 'x\ny\n');
      await waited;
      assert.equal(looks, 0);
    } finally {
      wake.close();
    }
  });
});
