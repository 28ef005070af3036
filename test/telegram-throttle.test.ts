import { Api } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureApi } from "../bot/client.js";
import { TELEGRAM_LIMITS } from "../bot/settings.js";
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
