import { admissionActive, admissionRefusals, admissionWaiting } from "../core/metrics.js";

/**
 * Admission control for conversation steps: at most `limit` in progress, the rest wait in arrival
 * order, and one that would wait longer than `maxWaitMs` is refused at once. Past capacity, a
 * caller gets a prompt apology instead of an answer after the gateway gave up, and the server does
 * no work whose answer would come too late to be read.
 *
 * Counted per process on purpose, also under node:cluster and with REDIS_URL, where the other
 * limits are shared (app/limits.ts): what it measures is this process's own capacity, its event
 * loop and its own pool of DATABASE_POOL_SIZE connections, which no other worker or instance can
 * lend or use up. A count in Redis would add a round trip to every step (the hot path's cost is
 * what admission protects), would keep the places of an instance that died mid-step until they
 * expired, and would make an overloaded instance refuse callers an idle one could answer. The
 * fleet's load on PostgreSQL stays bounded by the pools (workers × instances × pool size), and
 * each worker's places are what it can answer within the gateway's time.
 */
export class Admission {
  private active = 0;
  private readonly queue: { admit: () => void }[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Steps in progress and waiting: for /metrics and tests. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.queue.length };
  }

  /** Resolves true with a place taken (give it back with `leave`), or false when refused. */
  enter(): Promise<boolean> {
    if (this.active < this.limit) {
      this.active++;
      admissionActive.inc();
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        admit: () => {
          clearTimeout(timer);
          admissionWaiting.dec();
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        admissionWaiting.dec();
        admissionRefusals.inc();
        resolve(false);
      }, this.maxWaitMs);
      this.queue.push(waiter);
      admissionWaiting.inc();
    });
  }

  /** Gives a place back: the longest waiter takes it over. */
  leave(): void {
    const next = this.queue.shift();
    if (next) next.admit();
    else {
      this.active--;
      admissionActive.dec();
    }
  }
}
