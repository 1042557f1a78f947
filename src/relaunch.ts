// The memory bound without a setting: V8 sizes its heap from the machine, not
// from sidekick's buffers, and a heap limit can only be given when a process
// starts. So a sidekick started without one (`npm start`, the `sidekick` bin,
// `node dist/src/main.js`, the bundle) starts itself again with the limit its
// buffers need, and stays as a small parent that passes signals on and exits
// as its child does. A limit the user gave (`--max-old-space-size` on the
// command line or in NODE_OPTIONS) is kept as it is.
//
// The young generation too: V8's own semi-space (16 MiB on 64-bit hosts)
// grows to 32 MiB under a burst and shrinks only while little is allocated;
// 4 MiB costs 1.2 x the CPU a line under a flood and keeps it at 8 MiB
// (bench/RESULTS.md, scenario 9). The image and the systemd unit set the same.
//
// And glibc's malloc: one arena per thread that allocates by default (V8's
// workers, libuv's pool), each keeping freed memory of its own; two arenas
// keep 4-6 MiB less resident watching 220 containers (bench/RESULTS.md,
// scenario 4). Left to itself, glibc also raises the size from which it maps
// a block of its own (128 KiB) each time such a block is freed, up to 32 MiB,
// so that big short-lived answers and buffers end up in the arenas, which
// keep the memory; fixed thresholds (32 KiB for a block of its own, 64 KiB
// free at the top before it is given back) keep about 5 MiB less resident
// watching 220 containers, at no CPU cost a line a flood can show. 32 KiB, not
// 64: V8's compilers take their working memory in blocks of up to 32 KiB, and
// those of the burst of compiling at start (every container's log read at
// once) grew the main arena by 1 MiB more that it never gave back, a
// longer-lived block above them (its [heap] 7.2 MiB against 6.2, from the
// json-files; 5.6 against 4.8 through the API). glibc reads these when a
// process starts, so they are given to the child.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FLAG = /(^|\s)--max[-_]old[-_]space[-_]size(=|\s|$)/;
const SEMI_SPACE_FLAG = /(^|\s)--max[-_]semi[-_]space[-_]size(=|\s|$)/;
/** V8's semi-space size sidekick runs with unless told otherwise, MiB. */
export const SEMI_SPACE_MIB = 4;
/** glibc's malloc settings sidekick runs with, each unless it is set (see above). */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '32768',
  MALLOC_TRIM_THRESHOLD_: '65536',
};
/** Signals passed on to the child; SIGKILL cannot be, so the child watches its parent (below). */
const PASSED_ON = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Whether `flag` was given: on node's command line or in NODE_OPTIONS. */
function given(flag: RegExp, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => flag.test(a)) || (nodeOptions !== undefined && flag.test(nodeOptions));
}

/** Whether the heap limit was given: on node's command line or in NODE_OPTIONS. */
export function heapLimitGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return given(FLAG, execArgv, nodeOptions);
}

/** The node flags a relaunch adds: the heap limit, and the semi-space size unless one was given. */
export function relaunchFlags(limitMiB: number, execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const semi = given(SEMI_SPACE_FLAG, execArgv, nodeOptions) ? [] : [`--max-semi-space-size=${SEMI_SPACE_MIB}`];
  return [`--max-old-space-size=${limitMiB}`, ...semi];
}

/** The child's environment: this one, with each of MALLOC_ENV that is not set. */
export function relaunchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const missing = Object.entries(MALLOC_ENV).filter(([name]) => env[name] === undefined);
  return missing.length === 0 ? env : { ...env, ...Object.fromEntries(missing) };
}

/** Runs this same command again with the heap limit (and semi-space size: relaunchFlags); the parent then only waits. */
export function relaunchWithHeapLimit(limitMiB: number): void {
  // Listening first: a signal that comes while the child is being made is not lost.
  let passedOn: NodeJS.Signals | undefined;
  for (const signal of PASSED_ON) {
    process.on(signal, () => {
      passedOn = signal;
      child.kill(signal);
    });
  }
  const flags = relaunchFlags(limitMiB, process.execArgv, process.env['NODE_OPTIONS']);
  const child = spawn(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], {
    env: relaunchEnv(process.env),
    // The channel ends when this process ends, however it ends: the child sees it close.
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  child.on('exit', (code, signal) => {
    // The stop asked for came before the child could handle it (it was still
    // loading): it had collected nothing, and stopped as asked.
    if (signal !== null && signal === passedOn) process.exit(0);
    // Ended by another signal: the exit status a shell gives that (128 + its number).
    process.exit(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
  });
}

/**
 * In the child: a parent killed by SIGKILL could not pass that on, and
 * sidekick must not run on unseen; it ends at once, as its parent did.
 */
export function endWithParent(): void {
  if (process.channel === undefined) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
