/**
 * A token bucket per channel: at most `perSecond` messages a second, in bursts of up to one
 * second's worth. Waiting happens here, in the delivery loop, never in an HTTP request.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!(perSecond > 0)) throw new RangeError("perSecond must be positive");
    this.tokens = Math.max(1, perSecond);
    this.last = now();
  }

  /** Resolves when one message may go; callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
    }
  }

  private refill(): void {
    const now = this.now();
    const capacity = Math.max(1, this.perSecond);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}

export type RateLimits = Record<"sms" | "telegram", number>;

/** Telegram allows about 30 messages a second to different chats; stay under it. */
export const DEFAULT_TELEGRAM_PER_SECOND = 25;

export class ChannelLimiter {
  private readonly buckets: Record<"sms" | "telegram", TokenBucket>;

  constructor(limits: RateLimits) {
    this.buckets = { sms: new TokenBucket(limits.sms), telegram: new TokenBucket(limits.telegram) };
  }

  take(channel: "sms" | "telegram"): Promise<void> {
    return this.buckets[channel].take();
  }
}
