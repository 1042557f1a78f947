// Retrying what a daemon or a network may refuse for a while: one backoff
// schedule, exponential with jitter and capped, used both by calls retried
// until they work (retryForever) and by loops that weave in their own waits
// (a sink's driver honours Retry-After). A fresh call starts again from the
// shortest delay, so a connection that worked for an hour and then broke is
// retried quickly.

/** Delay before retry number `attempt` (0-based): between min/2 and min·2^attempt (at most max), at random. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return minMs / 2 + Math.random() * (ceiling - minMs / 2);
}

export interface BackoffOptions {
  readonly signal: AbortSignal;
  /** The first retry waits between half of this and this. */
  readonly minMs?: number;
  readonly maxMs?: number;
  /** Told of every failed attempt, numbered from 1 (log once per state change there). */
  readonly onFailure?: (err: Error, attempt: number) => void;
  /** Return false for a failure not worth retrying: the call then rejects with it. */
  readonly retryable?: (err: Error) => boolean;
}

/** Calls `fn` until it resolves; rejects with a failure not retryable, or with the signal's reason once aborted. */
export async function retryForever<T>(fn: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const { signal, minMs = 500, maxMs = 10_000 } = options;
  for (let attempt = 0; ; attempt++) {
    signal.throwIfAborted();
    try {
      return await fn();
    } catch (thrown) {
      const err = thrown instanceof Error ? thrown : new Error(String(thrown));
      signal.throwIfAborted();
      if (options.retryable?.(err) === false) throw err;
      options.onFailure?.(err, attempt + 1);
      await abortableSleep(backoffDelay(attempt, minMs, maxMs), signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    const aborted = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}
