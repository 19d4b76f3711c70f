/**
 * Exponential backoff with full jitter: the n-th retry (from 0) waits a random time in
 * [0, min(maxMs, initialMs * 2^n)), as docs/protocol.md §6 asks (500 ms doubling to 30 s).
 */

export interface BackoffOptions {
  /** The first ceiling, in milliseconds (500). */
  initialMs?: number;
  /** The largest ceiling, in milliseconds (30,000). */
  maxMs?: number;
}

export function backoffDelay(
  attempt: number,
  random: () => number,
  { initialMs = 500, maxMs = 30_000 }: BackoffOptions = {},
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
