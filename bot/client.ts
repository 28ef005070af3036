import type { Api } from "grammy";
import { boundedRetry, type RetrySettings } from "./retry.js";
import { countRateLimits } from "./sender.js";
import { DEFAULT_RETRY, TELEGRAM_LIMITS, type ThrottleSettings } from "./settings.js";
import { telegramThrottle } from "./throttle.js";

export interface ClientOptions {
  throttle?: ThrottleSettings;
  retry?: Partial<RetrySettings>;
}

/**
 * Every outgoing call of an Api throttled, bounded by the client's timeout and retried briefly on
 * 429 retry_after and 5xx (see retry.ts). The bot's replies and the outbox's notifications go
 * through the same Api in one process, so they share one throttle.
 */
export function configureApi(api: Api, options: ClientOptions = {}): Api {
  // Innermost: sees every attempt's answer, each 429 included.
  api.config.use(countRateLimits);
  // Installed first, so it runs inside the throttler: a retried call keeps its place in its
  // chat's queue, and per-chat order survives a 429.
  api.config.use(boundedRetry({ ...DEFAULT_RETRY, ...options.retry }));
  api.config.use(telegramThrottle(options.throttle ?? TELEGRAM_LIMITS));
  return api;
}
