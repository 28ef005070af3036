import type { FastifyRateLimitStore } from "@fastify/rate-limit";

const MAX_KEYS = 50_000;

/**
 * A fixed-window counter store for @fastify/rate-limit, in memory, per instance. The plugin's own
 * LocalStore hands every caller the same mutable record, which later requests have incremented by
 * the time the first one reads it, so a burst of concurrent requests is all refused at once. Here
 * the count is taken and copied in the same synchronous step: of N requests at once exactly `max`
 * are allowed.
 */
export class SnapshotStore implements FastifyRateLimitStore {
  private readonly windows = new Map<string, { count: number; startedAt: number }>();

  incr(
    key: string,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
    timeWindow: number,
  ): void {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.startedAt + timeWindow <= now) {
      window = { count: 0, startedAt: now };
      // Re-inserted last, so the oldest windows are the first to go when the map is full.
      this.windows.delete(key);
      this.windows.set(key, window);
      if (this.windows.size > MAX_KEYS) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
    }
    window.count += 1;
    callback(null, { current: window.count, ttl: window.startedAt + timeWindow - now });
  }

  /** Each limiter made with `createRateLimit` counts in a store of its own. */
  child(): SnapshotStore {
    return new SnapshotStore();
  }
}
