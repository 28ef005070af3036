import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import { Redis } from "ioredis";
import {
  type RateLimiterAbstract,
  RateLimiterCluster,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
} from "rate-limiter-flexible";
import { TELEGRAM_LIMITS } from "../bot/index.js";
import { MemoryRateLimiter, type RateLimiter } from "../core/engine/rate-limit.js";
import { SnapshotStore } from "./api/rate-store.js";
import type { Logger } from "./logger.js";

/**
 * The limits that protect the service from one person or one address, counted where every
 * instance sees the same count:
 * - with REDIS_URL, in Redis (rate-limiter-flexible's RateLimiterRedis: one atomic Lua INCR per
 *   hit), so N instances behind a balancer enforce one limit between them, not N;
 * - without Redis under node:cluster, in the primary (RateLimiterCluster: one IPC round trip per
 *   hit to the primary's RateLimiterMemory), so the machine's workers share one count;
 * - in one process on its own, in memory as before (nothing to share, no round trip).
 * A store that fails or stops answering (Redis down, the primary busy) never refuses a step or
 * crashes it: each shared limiter has a timeout and an in-memory insurance limiter that counts in
 * the meantime (per process, so the bound is loose only while the store is away).
 */

export type LimitsMode = "redis" | "cluster" | "memory";

export interface Limits {
  mode: LimitsMode;
  /** Conversation steps per person (undefined: unlimited). */
  steps: RateLimiter | undefined;
  /** Answers to inbound SMS per phone number. */
  sms: RateLimiter;
  /** The @fastify/rate-limit store of the back-office API's per-IP limits. */
  apiStore: FastifyRateLimitStoreCtor;
  /**
   * The Telegram bot's overall rate (bot/throttle.ts consumes a point per call, keyed by the bot):
   * Telegram counts every message the bot sends, whichever process or instance sends it.
   */
  telegram: RateLimiterAbstract;
  close(): Promise<void>;
}

export interface LimitsOptions {
  stepsPerMinute: number;
  redisUrl: string | undefined;
  /** This process is a node:cluster worker (app/cluster.ts). */
  clusterWorker: boolean;
  logger: Logger;
  /** Keys of every limiter start with it (tests give each run its own). */
  keyPrefix?: string;
  /** The SMS answer limit (default 5 in 10 minutes, as ussd/sms-inbound.ts's own). */
  sms?: { points: number; durationSeconds: number };
  /** The bot's overall Bot API calls per second (default Telegram's 30, as bot/settings.ts's). */
  telegramPerSecond?: number;
  /** Longest a shared store may take for one hit before the insurance limiter answers (default 250 ms). */
  timeoutMs?: number;
}

/** A hit on the shared store is bounded well inside the USSD step deadline (1.5 s). */
const DEFAULT_TIMEOUT_MS = 250;

/**
 * rate-limiter-flexible behind the core's RateLimiter: a hit is a `consume`; a rejection with
 * RateLimiterRes is "over the limit"; any other error (the store and its insurance both failed)
 * lets the step through, because a limit that cannot be counted must not stop the service.
 */
export class FlexibleRateLimiter implements RateLimiter {
  constructor(
    private readonly limiter: Pick<RateLimiterAbstract, "consume">,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async hit(key: string): Promise<boolean> {
    try {
      await this.limiter.consume(key);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      this.onError(err);
      return true;
    }
  }
}

/** What a limiter counts: `points` hits per `durationSeconds`, fixed window from the first hit. */
interface Spec {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
}

export function createLimits(options: LimitsOptions): Limits {
  const prefix = options.keyPrefix ?? "mc";
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = options.logger.child({ component: "limits" });
  const sms = options.sms ?? { points: 5, durationSeconds: 600 };
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        // A command is refused at once while disconnected and bounded while connected: Redis gone
        // or frozen costs a step at most the timeout, then the insurance limiter counts.
        enableOfflineQueue: false,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        retryStrategy: (attempt) => Math.min(2_000, 100 * attempt),
      })
    : undefined;
  // ioredis emits "error" on every failed reconnect; logged once per outage, not per attempt.
  let redisDown = false;
  redis?.on("error", (err: Error) => {
    if (redisDown) return;
    redisDown = true;
    log.warn({ err: err.message }, "limits: Redis does not answer; counting in memory per process until it is back");
  });
  redis?.on("ready", () => {
    if (redisDown) log.info("limits: Redis answers again; limits are shared again");
    redisDown = false;
  });

  const mode: LimitsMode = redis ? "redis" : options.clusterWorker ? "cluster" : "memory";
  let reported = false;
  const onError = (err: unknown) => {
    if (reported) return;
    reported = true;
    log.warn({ err: (err as Error).message }, "limits: a limit could not be counted; the request was let through");
  };

  const shared = (spec: Spec): RateLimiterAbstract => {
    const insurance = new RateLimiterMemory({ points: spec.points, duration: spec.durationSeconds });
    if (redis) {
      return new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:${spec.keyPrefix}`,
        points: spec.points,
        duration: spec.durationSeconds,
        rejectIfRedisNotReady: true,
        insuranceLimiter: insurance,
      });
    }
    const primary = new RateLimiterCluster({
      keyPrefix: `${prefix}:${spec.keyPrefix}`,
      points: spec.points,
      duration: spec.durationSeconds,
      timeoutMs,
    });
    return new RLWrapperTimeouts({ limiter: primary, timeoutMs, insuranceLimiter: insurance });
  };

  const steps =
    options.stepsPerMinute <= 0
      ? undefined
      : mode === "memory"
        ? new MemoryRateLimiter(options.stepsPerMinute, 60_000)
        : new FlexibleRateLimiter(
            shared({ keyPrefix: "steps", points: options.stepsPerMinute, durationSeconds: 60 }),
            onError,
          );
  const smsLimiter =
    mode === "memory"
      ? new MemoryRateLimiter(sms.points, sms.durationSeconds * 1000)
      : new FlexibleRateLimiter(
          shared({ keyPrefix: "sms", points: sms.points, durationSeconds: sms.durationSeconds }),
          onError,
        );
  const apiStore = mode === "memory" ? SnapshotStore : flexibleStore(shared);
  const telegramPerSecond = options.telegramPerSecond ?? TELEGRAM_LIMITS.globalPerSecond;
  const telegram =
    mode === "memory"
      ? new RateLimiterMemory({ points: telegramPerSecond, duration: 1 })
      : shared({ keyPrefix: "telegram", points: telegramPerSecond, durationSeconds: 1 });

  return {
    mode,
    steps,
    sms: smsLimiter,
    apiStore,
    telegram,
    close: async () => {
      if (redis) redis.disconnect();
    },
  };
}

/**
 * A @fastify/rate-limit store counting in rate-limiter-flexible. Each `createRateLimit` bucket is a
 * limiter of its own (its max and window); the count a request gets is its own consume's result,
 * one atomic increment each, so of N concurrent requests exactly `max` pass, as with SnapshotStore.
 */
export function flexibleStore(make: (spec: Spec) => RateLimiterAbstract): FastifyRateLimitStoreCtor {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (timeWindow: number, max: number) => {
    // The same (window, max) names the same counters on every instance; keys carry the bucket.
    const keyPrefix = `api:${timeWindow}:${max}`;
    let limiter = limiters.get(keyPrefix);
    if (!limiter) {
      limiter = make({
        keyPrefix,
        points: Math.max(1, max),
        durationSeconds: Math.max(1, Math.ceil(timeWindow / 1000)),
      });
      limiters.set(keyPrefix, limiter);
    }
    return limiter;
  };
  class FlexibleStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ): void {
      limiterFor(timeWindow, max)
        .consume(key)
        .then(
          (res) => callback(null, { current: res.consumedPoints, ttl: res.msBeforeNext }),
          (res: unknown) => {
            if (res instanceof RateLimiterRes) callback(null, { current: res.consumedPoints, ttl: res.msBeforeNext });
            // Neither the store nor its insurance answered: let the request through (counted as first).
            else callback(null, { current: 1, ttl: timeWindow });
          },
        );
    }

    child(): FlexibleStore {
      return new FlexibleStore();
    }
  }
  return FlexibleStore;
}
