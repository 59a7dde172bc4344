/**
 * Reconnect policy as data (STYLE.md §3): exponential from the base delay, capped, with
 * "equal jitter" (half fixed, half random) so that a fleet of clients does not reconnect
 * in lockstep after a gateway restart, while the first retry still happens within the
 * configured --reconnect-delay.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  random?: () => number;
}

export const BACKOFF_CAP_MS = 60_000;

/** Delay before attempt `n` (1-based). */
export function backoffDelay(policy: BackoffPolicy, n: number): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, Math.min(n - 1, 30)));
  const r = (policy.random ?? Math.random)();
  return Math.round(exp / 2 + (exp / 2) * r);
}
