// Retrying what a daemon or a network may refuse for a while: exponential
// backoff with jitter, capped, forever until it works or is aborted. A fresh
// call starts again from the shortest delay, so a connection that worked for
// an hour and then broke is retried quickly.

import pRetry, { type FailedAttemptError } from 'p-retry';

export interface BackoffOptions {
  readonly signal: AbortSignal;
  readonly minMs?: number;
  readonly maxMs?: number;
  /** Told of every failed attempt (log once per state change there). */
  readonly onFailure?: (err: Error, attempt: number) => void;
  /** Return false for a failure not worth retrying: the call then rejects with it. */
  readonly retryable?: (err: Error) => boolean;
}

export function retryForever<T>(fn: () => Promise<T>, options: BackoffOptions): Promise<T> {
  return pRetry(fn, {
    forever: true,
    retries: 16,
    factor: 2,
    minTimeout: options.minMs ?? 250,
    maxTimeout: options.maxMs ?? 10_000,
    randomize: true,
    signal: options.signal,
    shouldRetry: (err: FailedAttemptError) => options.retryable?.(err) ?? true,
    onFailedAttempt: (err: FailedAttemptError) => options.onFailure?.(err, err.attemptNumber),
  } as Parameters<typeof pRetry>[1]);
}

/** Delay before retry number `attempt` (0-based): exponential, capped, with full jitter. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return minMs / 2 + Math.random() * (ceiling - minMs / 2);
}
