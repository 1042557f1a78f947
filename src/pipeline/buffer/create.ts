// Every kind of sink buffer, from its options: one line a kind.

import { join } from 'node:path';
import type { BufferOptions, SinkBuffer } from './buffer.js';
import { DiskBuffer } from './disk/disk-buffer.js';
import type { Corruption } from './disk/segments.js';
import { RecordBuffer } from './memory.js';

export interface BufferContext {
  /** SIDEKICK_STATE_DIR; a disk buffer is in its `buffers/` folder (the config makes sure there is one). */
  readonly stateDir: string | undefined;
  /** Made for a disk buffer: told what it skips as torn or corrupt. */
  readonly corrupt: () => (c: Corruption) => void;
}

export function createBuffer(options: BufferOptions, ctx: BufferContext): SinkBuffer {
  switch (options.kind) {
    case 'memory':
      return new RecordBuffer(options.records, options.bytes, options.policy);
    case 'disk': {
      if (ctx.stateDir === undefined) throw new Error('a disk buffer needs SIDEKICK_STATE_DIR');
      return new DiskBuffer({ dir: join(ctx.stateDir, 'buffers', options.key), maxBytes: options.bytes, policy: options.policy, corrupt: ctx.corrupt() });
    }
  }
}
