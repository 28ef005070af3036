import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { startTelegramApp, type TelegramApp, WEBHOOK_SECRET } from "./support/telegram-app.js";
import type { TelegramDouble } from "./support/telegram-double.js";
import { TelegramUser } from "./support/telegram-user.js";
import { shown, UssdPhone } from "./ussd-support.js";

/**
 * Abuse on payment day: one person hammering a channel, one client hammering the API, bodies far
 * larger than any gateway sends. Each is refused cheaply, in the person's language where there is
 * one, without a 5xx and without touching anyone else.
 */
const translator = new Translator();
const API_TOKEN = "abuse-test-token-0123456789";
const STEPS_PER_MINUTE = 4;
const API_PER_MINUTE = 5;

let db: TestDatabase;
let tg: TelegramApp;
let double: TelegramDouble;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  tg = await startTelegramApp(db, {
    env: {
      API_TOKENS: `backoffice:${API_TOKEN}`,
      RATE_LIMIT_STEPS_PER_MINUTE: String(STEPS_PER_MINUTE),
      API_RATE_LIMIT_PER_MINUTE: String(API_PER_MINUTE),
    },
  });
  ({ app, double } = tg);
});

afterAll(async () => {
  await tg?.close();
  await db?.close();
});

const rows = async () => ({
  sessions: await db.prisma.conversationSession.count(),
  citizens: await db.prisma.citizen.count(),
  applications: await db.prisma.application.count(),
  outbox: await db.prisma.outbox.count(),
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = { "content-type": "application/x-www-form-urlencoded" };

describe("the step limit per phone number, over HTTP", () => {
  it("answers END with the wait message in the caller's language on any session, and spares other numbers", async () => {
    const phone = new UssdPhone(app, "+998935552001");
    await phone.dial();
    await phone.send("3");
    await phone.send("1");
    await phone.send("00");
    expect(phone.ended).toBe(false);
    const session = () =>
      db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
      });
    const before = await session();
    await phone.send("2");
    expect(phone.screen).toBe(`END ${shown("ru", "errors.rate_limited")}`);
    expect((await session()).stepCount).toBe(before.stepCount);
    // A new session of the same number is the same person.
    await phone.dial();
    expect(phone.screen).toBe(`END ${shown("ru", "errors.rate_limited")}`);
    // Someone else on the same gateway is served.
    const other = new UssdPhone(app, "+998935552002");
    await other.dial();
    expect(other.screen).toMatch(/^CON /);
  });
});

describe("the step limit per Telegram user", () => {
  it("tells the person once, in their language, to wait, and changes nothing", async () => {
    const user = new TelegramUser(app, double, WEBHOOK_SECRET, {
      id: 770_001,
      first_name: "Anvar",
      language_code: "ru",
    });
    // Four actions, the shared contact included, are within the limit, whatever bookkeeping the
    // bot does around them.
    await user.send("/start");
    await user.shareContact("998935552003");
    await user.send("/menu");
    const served = double.sentTexts(user.chatId).length;
    await user.send("/menu");
    expect(double.sentTexts(user.chatId).slice(served)).toEqual([translator.t("ru", "menu.title")]);
    const session = () =>
      db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
      });
    const before = await session();
    const sent = double.sentTexts(user.chatId).length;
    for (let i = 0; i < 5; i++) await user.send("/menu");
    const after = double.sentTexts(user.chatId).slice(sent);
    expect(after).toEqual([translator.t("ru", "errors.rate_limited")]);
    expect((await session()).stepCount).toBe(before.stepCount);
    expect((await session()).state).toEqual(before.state);
  });
});

describe("the API limit per client IP", () => {
  it("answers 429 RATE_LIMITED past the limit, counts failed authentication apart, and spares other clients and channels", async () => {
    const get = (remoteAddress: string, token: string | null = API_TOKEN) =>
      app.inject({
        method: "GET",
        url: "/api/v1/regions",
        remoteAddress,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const statuses: number[] = [];
    for (let i = 0; i < API_PER_MINUTE - 1; i++) statuses.push((await get("10.9.0.1")).statusCode);
    // A wrong token is counted in its own bucket (see test/security.test.ts), not this allowance.
    statuses.push((await get("10.9.0.1", "guessed-token-0123456789")).statusCode);
    statuses.push((await get("10.9.0.1")).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 401, 200]);
    const refused = await get("10.9.0.1");
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect((await get("10.9.0.2")).statusCode).toBe(200);
    // The channels are not the API: the gateway on the same address is still served.
    const ussd = await app.inject({
      method: "POST",
      url: "/ussd",
      remoteAddress: "10.9.0.1",
      headers: formHeaders,
      payload: form({
        sessionId: "ATUid_api_limit",
        serviceCode: "*1146#",
        phoneNumber: "+998935552004",
        networkCode: "63902",
        text: "",
      }),
    });
    expect(ussd.statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/healthz", remoteAddress: "10.9.0.1" })).statusCode).toBe(200);
  });
});

describe("body size limits", () => {
  it("refuses an oversized USSD callback with 413 and a long one with 400, writing nothing", async () => {
    const before = await rows();
    const fields = {
      sessionId: "ATUid_big",
      serviceCode: "*1146#",
      phoneNumber: "+998935552005",
      networkCode: "63902",
    };
    const huge = await app.inject({
      method: "POST",
      url: "/ussd",
      headers: formHeaders,
      payload: form({ ...fields, text: "1*".repeat(300_000) }),
    });
    expect(huge.statusCode).toBe(413);
    const long = await app.inject({
      method: "POST",
      url: "/ussd",
      headers: formHeaders,
      payload: form({ ...fields, text: "x".repeat(10_000) }),
    });
    expect(long.statusCode).toBe(400);
    expect(await rows()).toEqual(before);
  });

  it("refuses an oversized webhook update with 413 and processes nothing", async () => {
    const calls = double.calls.length;
    const before = await rows();
    const res = await app.inject({
      method: "POST",
      url: "/telegram/webhook",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
      payload: JSON.stringify({
        update_id: 990_001,
        message: {
          message_id: 1,
          date: 0,
          chat: { id: 770_002, type: "private" },
          from: { id: 770_002, is_bot: false, first_name: "X" },
          text: "y".repeat(300_000),
        },
      }),
    });
    expect(res.statusCode).toBe(413);
    expect(double.calls.length).toBe(calls);
    expect(await rows()).toEqual(before);
  });

  it("refuses an oversized API body with 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/api/v1/staff",
      remoteAddress: "10.9.0.3",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      payload: JSON.stringify({ fullName: "z".repeat(300_000) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
  });
});
