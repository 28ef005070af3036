import { Api } from "grammy";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLimits, type Limits } from "../app/limits.js";
import { createLogger } from "../app/logger.js";
import { configureApi } from "../bot/client.js";
import { TELEGRAM_LIMITS } from "../bot/settings.js";
import { waitUntil } from "./support/faults.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";
import { spawnEntry } from "./support/spawn.js";
import { BOT_TOKEN } from "./support/telegram-app.js";
import { TelegramDouble } from "./support/telegram-double.js";

/**
 * The bot's own throttle (bot/throttle.ts) against the Bot API double, with Telegram's limits as
 * the product uses them: the moments calls leave the throttle are recorded just before they go
 * out. Slowness of the machine can only spread calls further apart, never closer.
 */
let double: TelegramDouble;

beforeAll(async () => {
  double = await new TelegramDouble().start();
});
afterAll(async () => {
  await double?.close();
});

/** An Api as the bot configures it, which notes when each call with a chat is let through. */
function throttledApi() {
  const started: { chatId: number; text: string; at: number }[] = [];
  const api = new Api(BOT_TOKEN, { apiRoot: double.url });
  // Installed before configureApi: innermost, so it sees each call once the throttle lets it go.
  api.config.use((prev, method, payload, signal) => {
    if (payload && "chat_id" in payload) {
      const text = "text" in payload ? String(payload.text) : "";
      started.push({ chatId: Number(payload.chat_id), text, at: performance.now() });
    }
    return prev(method, payload, signal);
  });
  configureApi(api, { throttle: TELEGRAM_LIMITS });
  return { api, started };
}

describe("the Bot API throttle", () => {
  it("lets through at most 30 calls a second overall, one a second per chat and one in 3 s per group, in order", async () => {
    const { api, started } = throttledApi();
    const many = Array.from({ length: 45 }, (_, i) => 7_100_000 + i);
    const one = 7_200_001;
    const group = -1_007_300_001;
    await Promise.all([
      ...many.map((chat) => api.sendMessage(chat, `to ${chat}`)),
      ...["1", "2", "3"].map((text) => api.sendMessage(one, text)),
      ...["a", "b"].map((text) => api.sendMessage(group, text)),
    ]);
    // Everything went out, each chat's messages in the order they were asked for.
    expect(started).toHaveLength(50);
    for (const chat of many) expect(double.sentTexts(chat)).toEqual([`to ${chat}`]);
    expect(double.sentTexts(one)).toEqual(["1", "2", "3"]);
    expect(double.sentTexts(group)).toEqual(["a", "b"]);

    // No 31 calls within a second (with a little room for timer granularity).
    const times = started.map((s) => s.at).sort((a, b) => a - b);
    for (let k = 0; k + 30 < times.length; k++) {
      expect((times[k + 30] as number) - (times[k] as number)).toBeGreaterThanOrEqual(950);
    }
    const gaps = (chat: number) => {
      const at = started.filter((s) => s.chatId === chat).map((s) => s.at);
      return at.slice(1).map((t, i) => t - (at[i] as number));
    };
    for (const gap of gaps(one)) expect(gap).toBeGreaterThanOrEqual(950);
    for (const gap of gaps(group)) expect(gap).toBeGreaterThanOrEqual(2950);
  });
});

describe("the bot's overall rate when its store fails", () => {
  it("sends every call once, without an error, when neither the shared store nor its insurance can count", async () => {
    const broken = { consume: () => Promise.reject(new Error("Redis and the insurance limiter both down")) };
    const api = configureApi(new Api(BOT_TOKEN, { apiRoot: double.url }), {
      throttle: TELEGRAM_LIMITS,
      overallLimiter: broken,
    });
    const chats = [7_600_001, 7_600_002, 7_600_003];
    await Promise.all(chats.map((chat) => api.sendMessage(chat, `to ${chat}`)));
    for (const chat of chats) expect(double.sentTexts(chat)).toEqual([`to ${chat}`]);
  });
});

/**
 * How many calls arrived (at `times`, ms, any order) sooner than Telegram's 30 a second allows when
 * counted from `start`, a moment before the first call took its point: the (30n+1)-th to arrive
 * may not arrive before `start` + n seconds. A call arrives after it took its point however slow
 * the machine is, so lateness can only hide a burst, never invent one: unlike a sliding window on
 * arrival times, whose room a loaded machine's event loop exceeds.
 */
function arrivedTooSoon(times: number[], start: number, perSecond = TELEGRAM_LIMITS.globalPerSecond): number {
  const sorted = [...times].sort((a, b) => a - b);
  // 5 ms for the store's clock (Redis, the primary) against this process's.
  return sorted.filter((at, i) => at < start + Math.floor(i / perSecond) * 1000 - 5).length;
}

const redisServer = requireServer("redis");

redisServer.describe("the bot's overall rate with REDIS_URL", () => {
  let redis: TestRedis;
  const opened: Limits[] = [];
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    for (const limits of opened) await limits.close();
    await redis?.close();
  });

  let probes = 0;
  /**
   * What one instance builds: its own limits on the shared Redis and its own Api for the bot, once
   * its limits count in Redis (until their connection is up they count in memory, as a running
   * instance's do only while Redis is away): a probe key's point reaches Redis.
   */
  async function instance(keyPrefix: string, token = BOT_TOKEN) {
    const limits = createLimits({
      stepsPerMinute: 0,
      redisUrl: redis.url,
      clusterWorker: false,
      logger: createLogger("silent"),
      // The count itself, not its insurance: a loaded machine must not make this test's store "too slow".
      timeoutMs: 5_000,
      keyPrefix,
    });
    opened.push(limits);
    const probe = `probe${++probes}`;
    const client = new Redis(redis.url);
    try {
      const counted = await waitUntil(
        async () => {
          await limits.telegram.consume(probe).catch(() => {});
          return (await client.exists(`${keyPrefix}:telegram:${probe}`)) === 1;
        },
        10_000,
        20,
      );
      expect(counted).toBe(true);
    } finally {
      client.disconnect();
    }
    const api = configureApi(new Api(token, { apiRoot: double.url }), {
      throttle: TELEGRAM_LIMITS,
      overallLimiter: limits.telegram,
    });
    return { limits, api };
  }

  redisServer.it(
    "lets at most 30 calls a second through overall between two instances sending as one bot, each exactly once",
    async () => {
      const keyPrefix = redis.prefix();
      const senders = await Promise.all([instance(keyPrefix), instance(keyPrefix)]);
      expect(senders.map((s) => s.limits.mode)).toEqual(["redis", "redis"]);
      // Connections opened first, as a running bot's are (calls without a chat are not throttled).
      await Promise.all(senders.flatMap((s) => Array.from({ length: 40 }, () => s.api.getMe())));
      const chats = Array.from({ length: 75 }, (_, i) => 7_300_000 + i);
      const arrivedBefore = double.arrivals.length;
      const start = performance.now();
      await Promise.all(chats.map((chat, i) => senders[i % 2]?.api.sendMessage(chat, `to ${chat}`)));

      const arrived = double.arrivals.slice(arrivedBefore).filter((a) => a.method === "sendMessage");
      expect(arrived).toHaveLength(75);
      for (const chat of chats) expect(double.sentTexts(chat)).toEqual([`to ${chat}`]);
      expect(
        arrivedTooSoon(
          arrived.map((a) => a.at),
          start,
        ),
      ).toBe(0);
    },
  );

  redisServer.it("counts each bot under its numeric id, never under its token", async () => {
    const keyPrefix = redis.prefix();
    const tokens = ["111111:first-secret", "222222:second-secret"];
    const [first, second] = (await Promise.all(tokens.map((token) => instance(keyPrefix, token)))).map((s) => s.api);
    await Promise.all([first?.sendMessage(7_400_001, "one"), second?.sendMessage(7_400_002, "two")]);

    const client = new Redis(redis.url);
    try {
      const keys = (await client.keys(`${keyPrefix}:*`)).filter((k) => !k.includes(":probe")).sort();
      expect(keys).toEqual([`${keyPrefix}:telegram:bot111111`, `${keyPrefix}:telegram:bot222222`]);
    } finally {
      client.disconnect();
    }
  });
});

describe("the bot's overall rate under node:cluster without Redis", () => {
  it("lets at most 30 calls a second through overall between two workers sending as one bot, each exactly once", async () => {
    const perWorker = 38;
    const chatBase = 7_500_000;
    const arrivedBefore = double.arrivals.length;
    const run = spawnEntry("test/support/telegram-cluster.ts", {
      TELEGRAM_API_ROOT: double.url,
      TELEGRAM_TOKEN: BOT_TOKEN,
      TELEGRAM_PER_WORKER: String(perWorker),
      TELEGRAM_CHAT_BASE: String(chatBase),
    });
    expect(await run.exited, run.output()).toBe(0);

    const arrived = double.arrivals.slice(arrivedBefore).filter((a) => a.method === "sendMessage");
    expect(arrived).toHaveLength(2 * perWorker);
    for (let i = 0; i < 2 * perWorker; i++) {
      expect(double.sentTexts(chatBase + i)).toEqual([`to ${chatBase + i}`]);
    }
    // Both workers opened their connections (getMe) before either took a point.
    const start = Math.max(
      ...double.arrivals
        .slice(arrivedBefore)
        .filter((a) => a.method === "getMe")
        .map((a) => a.at),
    );
    expect(
      arrivedTooSoon(
        arrived.map((a) => a.at),
        start,
      ),
    ).toBe(0);
  }, 60_000);
});
