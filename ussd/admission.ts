import { admissionActive, admissionRefusals, admissionWaiting } from "../core/metrics.js";

/** An admitted step's place: given back once, when the step's work ends. */
export interface Place {
  leave(): void;
}

/**
 * How long a step has been taking once admitted, estimated as TCP estimates a round trip for its
 * retransmission timer (RFC 6298): a smoothed mean and mean deviation, and "slow" as the mean plus
 * four deviations, which few steps exceed.
 */
export class StepTime {
  private mean: number | undefined;
  private deviation = 0;

  observe(ms: number): void {
    if (this.mean === undefined) {
      this.mean = ms;
      this.deviation = ms / 2;
      return;
    }
    this.deviation = 0.75 * this.deviation + 0.25 * Math.abs(this.mean - ms);
    this.mean = 0.875 * this.mean + 0.125 * ms;
  }

  /** 0 before any step ended: nothing is known yet to hold a waiter back. */
  get slow(): number {
    return this.mean === undefined ? 0 : this.mean + 4 * this.deviation;
  }
}

interface Waiter {
  since: number;
  timer: NodeJS.Timeout;
  resolve(place: Place | null): void;
}

/**
 * Admission control for conversation steps: at most `limit` in progress, the rest wait in arrival
 * order. Every caller is answered within `answerWithinMs` of arriving, with the answer or the
 * apology: a waiter is refused once its wait plus a slow step (StepTime) would pass that, so the
 * wait adapts to what steps cost now. When steps are quick the queue may hold callers for most of
 * the second, and fewer get the apology at a burst; when the database slows, waiters are refused
 * sooner, while an answer could still come in time. The server does no work whose answer would
 * come too late to be read.
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
  private readonly queue: Waiter[] = [];
  private readonly stepTime = new StepTime();

  constructor(
    private readonly limit: number,
    private readonly answerWithinMs: number,
  ) {}

  /** Steps in progress and waiting: for /metrics and tests. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.queue.length };
  }

  /** How long a caller arriving now may wait for a place. */
  get maxWaitMs(): number {
    return Math.max(0, this.answerWithinMs - this.stepTime.slow);
  }

  /** Resolves with a place taken, or null when refused (the caller gets the apology). */
  enter(): Promise<Place | null> {
    if (this.active < this.limit) {
      this.active++;
      admissionActive.inc();
      return Promise.resolve(this.place());
    }
    const wait = this.maxWaitMs;
    if (wait <= 0) return Promise.resolve(this.refused());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        since: performance.now(),
        resolve,
        timer: setTimeout(() => {
          const at = this.queue.indexOf(waiter);
          if (at >= 0) this.queue.splice(at, 1);
          admissionWaiting.dec();
          resolve(this.refused());
        }, wait),
      };
      this.queue.push(waiter);
      admissionWaiting.inc();
    });
  }

  private place(): Place {
    const admittedAt = performance.now();
    let left = false;
    return {
      leave: () => {
        if (left) return;
        left = true;
        this.stepTime.observe(performance.now() - admittedAt);
        this.handOver();
      },
    };
  }

  /** A place came back: the longest waiter that can still be answered in time takes it over. */
  private handOver(): void {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      clearTimeout(next.timer);
      admissionWaiting.dec();
      // Steps may have slowed since it arrived: a place it could not use in time goes on.
      if (performance.now() - next.since + this.stepTime.slow > this.answerWithinMs) {
        next.resolve(this.refused());
        continue;
      }
      next.resolve(this.place());
      return;
    }
    this.active--;
    admissionActive.dec();
  }

  private refused(): null {
    admissionRefusals.inc();
    return null;
  }
}
