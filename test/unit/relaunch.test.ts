import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { heapLimitGiven } from '../../src/relaunch.js';

describe('heapLimitGiven', () => {
  it('finds --max-old-space-size on node’s command line or in NODE_OPTIONS, in either spelling', () => {
    assert.equal(heapLimitGiven(['--max-old-space-size=300'], undefined), true);
    assert.equal(heapLimitGiven([], '--enable-source-maps --max_old_space_size=64'), true);
    assert.equal(heapLimitGiven([], '--max-old-space-size 64'), true);
  });

  it('is false without it, or with other flags that only look alike', () => {
    assert.equal(heapLimitGiven([], undefined), false);
    assert.equal(heapLimitGiven(['--max-semi-space-size=1'], '--max-old-space-size-extra=1 --inspect'), false);
  });
});
