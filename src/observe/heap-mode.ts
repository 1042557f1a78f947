// How V8's heap grows, by how busy sidekick is. V8 collects the old
// generation again once it has grown 8 MiB past what was live after the last
// collection; when it optimizes for size, 2 MiB (and by a smaller factor).
// Watching 220 quiet containers, what is promoted between two collections is
// a few hundred KB/s of short-lived answers and lines: optimizing for size
// keeps 5-8 MiB less resident (bench/RESULTS.md, issue 19). Under a flood the
// same setting collects the old generation every few MiB promoted while
// buffers fill: floods through the logs API had runs at 1.4 x the CPU a line.
// So sidekick optimizes for size while quiet and lets the heap grow freely
// while busy; busy is many scavenges (young-generation collections) a second.
//
// The setting is V8's --optimize-for-size, set while sidekick runs: given at
// start it would also cap the young generation at 1 MiB, 1.8 x the CPU a line
// of a flood (scenario 9); set once the heap is made, it changes how the heap
// grows from then on. One given on node's command line is left as it is.
//
// The young generation too: V8 doubles it (up to --max-semi-space-size) each
// time as much as it holds has survived its collections, and halves it only
// at a collection while under 1 MB/s is allocated, or at one that reduces
// memory, which an old-generation collection is while optimizing for size.
// Watching 220 quiet containers, 2 MB/s grew it from 2 to 8 MiB within
// seconds of each such collection, 3-4 MiB of resident memory. While quiet its
// growth factor is 1 (set at run time: given on the command line, V8 raises
// it to 2), so it keeps the size it was shrunk to; while busy, V8's own 2.

import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

/** Scavenges in a second that make sidekick busy: 10 MiB or more allocated a second with a 1 MiB semi-space. */
export const BUSY_SCAVENGES = 10;
/** Seconds below that before the heap is lean again. */
export const QUIET_SECONDS = 5;

const LEAN = '--optimize-for-size --semi-space-growth-factor=1';
const FREE = '--no-optimize-for-size --semi-space-growth-factor=2';

/** Decides the heap's mode from the scavenges of each second; `setFlags` is V8's. */
export class HeapMode {
  private scavenges = 0;
  private quietSeconds = 0;
  private isLean = true;
  /** Turns from one mode to the other. */
  switches = 0;

  constructor(private readonly setFlags: (flags: string) => void) {
    setFlags(LEAN);
  }

  /** Whether the heap optimizes for size now. */
  get lean(): boolean {
    return this.isLean;
  }

  scavenged(): void {
    this.scavenges++;
  }

  /** Called once a second. */
  tick(): void {
    const busy = this.scavenges >= BUSY_SCAVENGES;
    this.scavenges = 0;
    if (busy) {
      this.quietSeconds = 0;
      if (this.isLean) this.turn(false);
    } else if (!this.isLean && ++this.quietSeconds >= QUIET_SECONDS) {
      this.turn(true);
    }
  }

  private turn(lean: boolean): void {
    this.isLean = lean;
    this.switches++;
    this.setFlags(lean ? LEAN : FREE);
  }
}

/** Whether node was started with a say on it (`--optimize-for-size` or its `--no-` form). */
export function modeGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--(no-)?optimize[-_]for[-_]size$/.test(a));
}

/**
 * Runs the heap's mode from V8's scavenges, with `sidekick_heap_lean` (1 while
 * optimizing for size); undefined if node was told the mode. Stop it to end
 * the watch (the mode stays as it is).
 */
export function watchHeapMode(
  registry: Registry,
  setFlags: (flags: string) => void = setFlagsFromString,
): { readonly mode: HeapMode; stop(): void } | undefined {
  if (modeGiven(process.execArgv)) return undefined;
  const mode = new HeapMode(setFlags);
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) mode.scavenged();
  });
  observer.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => mode.tick(), 1000).unref();
  new Gauge({
    name: 'sidekick_heap_lean',
    help: "1 while V8's heap optimizes for size (sidekick quiet), 0 while it grows freely (sidekick busy: many young-generation collections a second)",
    registers: [registry],
    collect() {
      this.set(mode.lean ? 1 : 0);
    },
  });
  return {
    mode,
    stop(): void {
      clearInterval(timer);
      observer.disconnect();
    },
  };
}
