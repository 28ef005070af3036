import type { Transformer } from "grammy";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { ThrottleSettings } from "./settings.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A limiter of the bot's overall rate: any rate-limiter-flexible limiter (memory, Redis, cluster). */
export type OverallLimiter = Pick<RateLimiterAbstract, "consume">;

export interface OverallRate {
  /**
   * Counts the bot's calls per second. Default: one in memory, this process's own. Given one
   * counted in Redis or in the cluster's primary, every process sending as the bot shares one count.
   */
  limiter?: OverallLimiter;
  /** The bot's key in that count (its numeric id, never the token): two bots never share one. */
  key?: string;
}

/**
 * Waits for a point of `limiter` under `key`. Over the limit, it waits what the limiter says and
 * tries again. A store that fails outright (the shared store and its insurance both) lets the call
 * through: an uncounted message beats a dropped one, and Telegram's own 429s are retried anyway.
 */
async function point(limiter: OverallLimiter, key: string): Promise<void> {
  for (;;) {
    try {
      await limiter.consume(key);
      return;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) return;
      // At least 1 ms: a window that ends this very millisecond must not spin the loop.
      await sleep(Math.max(1, err.msBeforeNext));
    }
  }
}

/**
 * Telegram's outgoing limits as a grammY transformer: every call to a chat waits for that chat's
 * previous call to finish (its retries included, so a chat's messages keep their order through a
 * 429) and for the chat's interval since that call went out (groups: 3 s, and 20 a minute), then
 * for a point of the bot's overall rate; calls without a chat (getMe, answerCallbackQuery) are not
 * held. The limits @grammyjs/transformer-throttler enforced with a Bottleneck limiter per chat,
 * at a fraction of its CPU per call: a promise chain and a timestamp per chat, and counters
 * (rate-limiter-flexible) for the overall rate and the groups' minute.
 *
 * The overall rate is the bot's, across every process sending as it (`overall.limiter`: app/limits.ts
 * counts it in Redis or in the cluster's primary); the calls of this process take its points one at
 * a time in the order they were made, so none waits behind later ones. The per-chat interval and
 * the group minute stay in this process: a chat's messages come from the process handling its
 * update (or the one relay sending its notifications), so no other process adds to its count.
 */
export function telegramThrottle(settings: ThrottleSettings, overall: OverallRate = {}): Transformer {
  const limiter = overall.limiter ?? new RateLimiterMemory({ points: settings.globalPerSecond, duration: 1 });
  const overallKey = overall.key ?? "bot";
  /** The last call waiting for an overall point: the next one asks after it got its point. */
  let overallTail: Promise<void> = Promise.resolve();
  const overallPoint = () => {
    const turn = overallTail.then(() => point(limiter, overallKey));
    overallTail = turn;
    return turn;
  };
  const groupMinute = new RateLimiterMemory({ points: 20, duration: 60 });
  const GROUP_INTERVAL_MS = 3000;
  /** The last call queued per chat: the next one starts after it settles. */
  const chains = new Map<string, Promise<unknown>>();
  /** When each chat's last call went out (kept while it still holds the next one back). */
  const lastSent = new Map<string, number>();
  let sentSincePrune = 0;
  const prune = (now: number) => {
    for (const [key, at] of lastSent) {
      if (now - at >= Math.max(GROUP_INTERVAL_MS, settings.perChatIntervalMs)) lastSent.delete(key);
    }
  };

  return (prev, method, payload, signal) => {
    if (!payload || !("chat_id" in payload)) return prev(method, payload, signal);
    const key = String(payload.chat_id);
    const before = chains.get(key);
    const run = (async () => {
      if (before) await before.catch(() => {});
      const group = Number(key) < 0;
      // Measured from when the previous call went out, whatever it waited for before that.
      const interval = group ? GROUP_INTERVAL_MS : settings.perChatIntervalMs;
      const last = lastSent.get(key);
      if (last !== undefined && interval > 0) {
        const wait = last + interval - performance.now();
        if (wait > 0) await sleep(wait);
      }
      if (group) await point(groupMinute, key);
      await overallPoint();
      const now = performance.now();
      lastSent.set(key, now);
      if (++sentSincePrune >= 10_000) {
        sentSincePrune = 0;
        prune(now);
      }
      return prev(method, payload, signal);
    })();
    chains.set(key, run);
    const forget = () => {
      if (chains.get(key) === run) chains.delete(key);
    };
    run.then(forget, forget);
    return run;
  };
}
