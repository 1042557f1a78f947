// Wiring: config -> topology (sinks behind their buffers, sources, what
// watches them) -> signals. SIGTERM/SIGINT stop the sources, flush the sinks
// and exit 0 within 10 s. Loaded only by the process that collects (see
// main.ts): a parent that only waits for it does not hold these modules.

import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { heapAdvice, heapLimitFor } from '../observe/heap.js';
import { Topology } from './topology.js';
import { memoryOfBuffers } from '../pipeline/buffer/buffer.js';

const SHUTDOWN_MS = 10_000;

export async function run(config: Config, log: Logger): Promise<void> {
  const topology = new Topology(config, log);
  await topology.listen();
  let stopping = false;

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: flushing sinks');
    const hardStop = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting with records unflushed');
      process.exit(0);
    }, SHUTDOWN_MS);
    hardStop.unref();
    await topology.stop(signal);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // SIGHUP: write the checkpoints now, match the file globs again now, and say how every sink is doing.
  process.on('SIGHUP', () => {
    if (stopping) return;
    topology.hangup();
  });

  const docker = await topology.start();
  if (docker === undefined || stopping) return;
  adviseHeap(config, log);
  log.info(
    { docker: config.dockerHost, host: docker.host, sinks: config.sinks.map((s) => s.name), selfId: docker.selfId, containers: topology.counts().containers },
    'sidekick is collecting',
  );
}

/** Says once at start whether the V8 heap limit fits the buffers (see observe/heap.ts). */
function adviseHeap(config: Config, log: Logger): void {
  const buffers = memoryOfBuffers(config.sinks.map((s) => s.buffer));
  const advice = heapAdvice(buffers, getHeapStatistics().heap_size_limit);
  const hint = `NODE_OPTIONS=--max-old-space-size=${heapLimitFor(buffers)}`;
  if (advice.kind === 'too-small') {
    log.warn({ heap_limit_mib: advice.limitMiB, buffers_mib: Math.round(buffers / 2 ** 20), hint }, 'the heap limit is too small for full buffers; raise it');
  } else if (advice.kind === 'unbounded') {
    log.info(
      { heap_limit_mib: advice.limitMiB, buffers_mib: Math.round(buffers / 2 ** 20), hint },
      'no heap limit near the buffers: memory may grow to several times them under a flood',
    );
  }
}
