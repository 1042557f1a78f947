import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureSink } from '../../../src/sinks/registry.js';
import { memoryOfBuffers } from '../../../src/pipeline/buffer/buffer.js';
import { heapAdvice, heapLimitFor } from '../../../src/observe/heap.js';

const MIB = 1024 * 1024;

describe('heap advice', () => {
  it('asks for twice the buffers plus 64 MiB', () => {
    assert.equal(heapLimitFor(64 * MIB), 192);
    assert.equal(heapLimitFor(16 * MIB), 96);
  });

  it('counts a disk buffer as the little it holds in memory, not its size on disk', () => {
    const buffers = ['stdout://', 'http://siem/in?buffer=disk&disk=10GiB'].map((uri) => configureSink(uri).buffer);
    assert.equal(memoryOfBuffers(buffers), 72 * MIB);
    assert.equal(heapLimitFor(memoryOfBuffers(buffers)), 208);
  });

  it('is content near that, warns below what full buffers need, and notes a limit far above', () => {
    assert.deepEqual(heapAdvice(64 * MIB, 192 * MIB), { kind: 'ok' });
    assert.deepEqual(heapAdvice(64 * MIB, 100 * MIB), { kind: 'too-small', limitMiB: 100, wantMiB: 192 });
    assert.deepEqual(heapAdvice(64 * MIB, 2048 * MIB), { kind: 'unbounded', limitMiB: 2048, wantMiB: 192 });
  });
});
