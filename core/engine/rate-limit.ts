/**
 * Limits how often one person (a phone number or a Telegram user) can act, so a stuck client or
 * an abusive script cannot take the service from everyone else on payment day.
 */
export interface RateLimiter {
  /** Counts one hit for `key`; false when the key is over its limit for the current window. */
  hit(key: string, now: number): boolean | Promise<boolean>;
}

/**
 * A fixed-window counter per key, in this process's memory. With several instances behind a load
 * balancer each enforces its own share; the bound stays within a small factor of the limit.
 */
export class MemoryRateLimiter implements RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly maxKeys = 200_000,
  ) {}

  hit(key: string, now: number): boolean {
    const current = this.windows.get(key);
    if (!current || now - current.start >= this.windowMs) {
      if (this.windows.size >= this.maxKeys) this.evict(now);
      this.windows.set(key, { start: now, count: 1 });
      return true;
    }
    current.count++;
    return current.count <= this.limit;
  }

  private evict(now: number) {
    for (const [key, window] of this.windows) {
      if (now - window.start >= this.windowMs) this.windows.delete(key);
    }
    // Still full: every key is active; drop the oldest half rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      let drop = Math.floor(this.maxKeys / 2);
      for (const key of this.windows.keys()) {
        if (drop-- <= 0) break;
        this.windows.delete(key);
      }
    }
  }
}
