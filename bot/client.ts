import type { Api } from "grammy";
import { boundedRetry, type RetrySettings } from "./retry.js";
import { countRateLimits } from "./sender.js";
import { DEFAULT_RETRY, TELEGRAM_LIMITS, type ThrottleSettings } from "./settings.js";
import { type OverallLimiter, telegramThrottle } from "./throttle.js";

export interface ClientOptions {
  throttle?: ThrottleSettings;
  retry?: Partial<RetrySettings>;
  /**
   * Where the bot's overall rate is counted (app/limits.ts's `telegram`: in Redis or the cluster's
   * primary, so every process sending as the bot shares it); default: in this Api's own memory.
   */
  overallLimiter?: OverallLimiter;
}

/** The bot's key in a shared count: the numeric id before the token's ':', never its secret part. */
export function botKey(token: string): string {
  const id = token.split(":", 1)[0] ?? "";
  return /^\d+$/.test(id) ? `bot${id}` : "bot";
}

/**
 * Every outgoing call of an Api throttled, bounded by the client's timeout and retried briefly on
 * 429 retry_after and 5xx (see retry.ts). The bot's replies and the outbox's notifications go
 * through the same Api in one process, so they share one throttle; with `overallLimiter`, the
 * bot's overall rate is also shared with every other process that sends as the bot.
 */
export function configureApi(api: Api, options: ClientOptions = {}): Api {
  // Innermost: sees every attempt's answer, each 429 included.
  api.config.use(countRateLimits);
  // Installed first, so it runs inside the throttler: a retried call keeps its place in its
  // chat's queue, and per-chat order survives a 429.
  api.config.use(boundedRetry({ ...DEFAULT_RETRY, ...options.retry }));
  api.config.use(
    telegramThrottle(options.throttle ?? TELEGRAM_LIMITS, {
      ...(options.overallLimiter ? { limiter: options.overallLimiter } : {}),
      key: botKey(api.token),
    }),
  );
  return api;
}
