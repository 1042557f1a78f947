import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { heapLimitGiven, MALLOC_ENV, relaunchEnv, relaunchFlags, SEMI_SPACE_MIB } from '../../src/relaunch.js';

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

describe('relaunchFlags', () => {
  it('adds the heap limit, and the semi-space size unless one is given on the command line or in NODE_OPTIONS', () => {
    assert.deepEqual(relaunchFlags(192, [], undefined), ['--max-old-space-size=192', `--max-semi-space-size=${SEMI_SPACE_MIB}`]);
    assert.deepEqual(relaunchFlags(128, ['--max-semi-space-size=16'], undefined), ['--max-old-space-size=128']);
    assert.deepEqual(relaunchFlags(128, [], '--max_semi_space_size=1'), ['--max-old-space-size=128']);
  });

  it('the image and the systemd unit run with the same semi-space size and malloc settings', () => {
    const root = new URL('../../../', import.meta.url);
    for (const file of ['Dockerfile', 'deploy/systemd/sidekick.service']) {
      const text = readFileSync(new URL(file, root), 'utf8');
      assert.match(text, new RegExp(`NODE_OPTIONS=[^\\n]*--max-semi-space-size=${SEMI_SPACE_MIB}\\b`), file);
      for (const [name, value] of Object.entries(MALLOC_ENV)) assert.match(text, new RegExp(`^[^#\\n]*\\b${name}=${value}\\b`, 'm'), `${file}: ${name}`);
    }
  });
});

describe('relaunchEnv', () => {
  it('gives the child each of glibc’s malloc settings that is not set, and keeps the rest of the environment', () => {
    assert.deepEqual(relaunchEnv({ PATH: '/bin' }), {
      PATH: '/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '32768',
      MALLOC_TRIM_THRESHOLD_: '65536',
    });
    assert.deepEqual(relaunchEnv({ PATH: '/bin', MALLOC_ARENA_MAX: '8' }), {
      PATH: '/bin',
      MALLOC_ARENA_MAX: '8',
      MALLOC_MMAP_THRESHOLD_: '32768',
      MALLOC_TRIM_THRESHOLD_: '65536',
    });
    const all = { PATH: '/bin', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '1' };
    assert.equal(relaunchEnv(all), all);
  });
});
