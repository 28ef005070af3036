/**
 * When to try a notification again. The relay and the BullMQ worker use the same policy, so a
 * row's `attempts` and `nextAttemptAt` mean the same thing under either engine.
 */
export interface RetryPolicy {
  /** Sending attempts before a row is given up as `dead`. */
  maxAttempts: number;
  /** Wait after the first failed attempt; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * How long a claimed row may stay `sending` before another worker may take it over. Far longer
   * than one provider call (which times out after seconds), so only a crashed worker's rows expire.
   */
  leaseMs: number;
}

/** 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about four hours of provider trouble before giving up. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  leaseMs: 5 * 60_000,
};

/** The wait after `attempt` failed attempts (1-based): base · 2^(attempt-1), capped. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  // 2^31 ms is far beyond any cap; stop doubling before the number loses meaning.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 31));
}
