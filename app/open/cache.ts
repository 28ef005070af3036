/**
 * Keeps one computed value until it expires: `ttl` milliseconds after it was computed, or at the
 * instant `ttl(data)` returns (a release is kept until the next release is due). Concurrent callers
 * during a computation share it, so a burst of requests after expiry costs one computation. A failed
 * computation is not kept, and not retried for `retryMs` (a release that cannot be made safe must
 * not cost a computation per request): meanwhile the earlier value is served if there is one, and
 * the error goes to the callers if not. `onError` is told of every failure.
 */
export class TtlCache<T> {
  private value: { data: T; expiresAt: number } | undefined;
  private pending: Promise<{ data: T; expiresAt: number }> | undefined;
  private failure: { error: unknown; until: number } | undefined;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly ttl: number | ((data: T) => number),
    private readonly clock: () => number = Date.now,
    private readonly options: { retryMs?: number; onError?: (err: unknown) => void } = {},
  ) {}

  get(): Promise<{ data: T; expiresAt: number }> {
    if (this.value && this.value.expiresAt > this.clock()) return Promise.resolve(this.value);
    if (this.failure && this.failure.until > this.clock()) return Promise.reject(this.failure.error);
    if (!this.pending) {
      const previous = this.value;
      this.pending = this.compute()
        .then((data) => {
          const expiresAt = typeof this.ttl === "number" ? this.clock() + this.ttl : this.ttl(data);
          this.value = { data, expiresAt };
          this.failure = undefined;
          return this.value;
        })
        .catch((err: unknown) => {
          this.options.onError?.(err);
          const retryMs = this.options.retryMs ?? 60_000;
          if (!previous) {
            this.failure = { error: err, until: this.clock() + retryMs };
            throw err;
          }
          this.value = { data: previous.data, expiresAt: this.clock() + retryMs };
          return this.value;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.pending;
  }
}
