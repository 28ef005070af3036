/**
 * Keeps one computed value for `ttlMs`. Concurrent callers during a computation share it, so a burst
 * of requests after expiry costs one computation; a failed computation is not kept.
 */
export class TtlCache<T> {
  private value: { data: T; expiresAt: number } | undefined;
  private pending: Promise<{ data: T; expiresAt: number }> | undefined;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get(): Promise<{ data: T; expiresAt: number }> {
    if (this.value && this.value.expiresAt > this.clock()) return Promise.resolve(this.value);
    if (!this.pending) {
      this.pending = this.compute()
        .then((data) => {
          this.value = { data, expiresAt: this.clock() + this.ttlMs };
          return this.value;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.pending;
  }
}
