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

/** A point of the bot's overall rate this process took: when its call went out. */
interface Slot {
  at: number;
}

/**
 * The bot's overall rate as a line, as rate-limiter-flexible's RateLimiterQueue keeps it (which
 * cannot take a store behind RLWrapperTimeouts: it checks the limiter's own `points`, 0 there): a
 * call with nobody waiting asks for its point at once; refused, it joins the line, whose head waits
 * what the store said and asks again, so none waits behind later ones. A store that fails outright
 * (the shared one and its insurance both) lets the call through: an uncounted message beats a
 * dropped one, and Telegram's own 429s are retried anyway.
 *
 * The store counts in fixed windows from a second's first point, and a second's points are taken
 * at once while the calls go out one after another (each send's own work delays the next), so the
 * next window's burst could follow this one's last calls closely: this process also keeps its own
 * calls to `perSecond` in any sliding second, counted from when each went out.
 */
function overallGate(limiter: OverallLimiter, key: string, perSecond: number): () => Promise<Slot> {
  /** Calls in line, the last one's turn, and when the head may ask again (performance.now()). */
  let waiting = 0;
  let line: Promise<void> = Promise.resolve();
  let resumeAt = 0;
  /** This process's last `perSecond` points, oldest first. */
  const recent: Slot[] = [];
  /** A slot: the point is taken (or cannot be counted); a number: how long to wait before asking again. */
  const take = async (): Promise<Slot | number> => {
    const now = performance.now();
    const slot: Slot = { at: now };
    if (perSecond > 0) {
      if (recent.length >= perSecond) {
        const free = (recent[0] as Slot).at + 1000 - now;
        if (free > 0) return free;
        recent.shift();
      }
      // Held before the store answers, so calls asking at once cannot all see a free slot.
      recent.push(slot);
    }
    try {
      await limiter.consume(key);
      return slot;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) return slot;
      const held = recent.indexOf(slot);
      if (held >= 0) recent.splice(held, 1);
      // At least 1 ms: a window that ends this very millisecond must not spin the loop.
      return Math.max(1, err.msBeforeNext);
    }
  };
  const turn = async (): Promise<Slot> => {
    for (;;) {
      const pause = resumeAt - performance.now();
      if (pause > 0) await sleep(pause);
      const taken = await take();
      if (typeof taken !== "number") return taken;
      resumeAt = performance.now() + taken;
    }
  };
  return async () => {
    if (waiting === 0) {
      const taken = await take();
      if (typeof taken !== "number") return taken;
      resumeAt = Math.max(resumeAt, performance.now() + taken);
    }
    waiting++;
    const mine = line.then(turn);
    line = mine.then(() => {});
    try {
      return await mine;
    } finally {
      waiting--;
    }
  };
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
 * counts it in Redis or in the cluster's primary, keyed by the bot's id); this process's calls over
 * it wait in one line, in the order they were made. The per-chat interval and the group minute stay
 * in this process: a chat's messages come from the process handling its update (or the one relay
 * sending its notifications), so no other process adds to its count.
 */
export function telegramThrottle(settings: ThrottleSettings, overall: OverallRate = {}): Transformer {
  const limiter = overall.limiter ?? new RateLimiterMemory({ points: settings.globalPerSecond, duration: 1 });
  const overallKey = overall.key ?? "bot";
  const overallPoint = overallGate(limiter, overallKey, settings.globalPerSecond);
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
      const slot = await overallPoint();
      const now = performance.now();
      // The call goes out now, after whatever this process sent since its point was taken.
      slot.at = now;
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
