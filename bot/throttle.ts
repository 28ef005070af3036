import type { Transformer } from "grammy";
import { RateLimiterMemory, RateLimiterQueue, RateLimiterRes } from "rate-limiter-flexible";
import type { ThrottleSettings } from "./settings.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a point of `limiter` under `key` (one waiter per key: the chat's chain). */
async function point(limiter: RateLimiterMemory, key: string): Promise<void> {
  for (;;) {
    try {
      await limiter.consume(key);
      return;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      await sleep(err.msBeforeNext);
    }
  }
}

/**
 * Telegram's outgoing limits as a grammY transformer: every call to a chat waits for that chat's
 * previous call to finish (its retries included, so a chat's messages keep their order through a
 * 429) and for the chat's interval since that call went out (groups: 3 s, and 20 a minute), then
 * for a point of the bot's overall rate; calls without a chat (getMe, answerCallbackQuery) are not
 * held. The limits @grammyjs/transformer-throttler enforced with a Bottleneck limiter per chat,
 * at a fraction of its CPU per call: a promise chain and a timestamp per chat, and in-memory
 * counters (rate-limiter-flexible) for the overall rate and the groups' minute.
 */
export function telegramThrottle(settings: ThrottleSettings): Transformer {
  const overall = new RateLimiterQueue(new RateLimiterMemory({ points: settings.globalPerSecond, duration: 1 }));
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
      await overall.removeTokens(1);
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
