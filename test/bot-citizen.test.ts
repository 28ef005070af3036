import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { createBotSender, createTelegram, startPolling, telegramWebhook } from "../bot/index.js";
import { makePinfl } from "../core/domain/pinfl.js";
import type { Locale, Params } from "../core/domain/vocabulary.js";
import { Translator } from "../core/i18n/index.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { StaffVisitService } from "../core/services/staff-visits.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import {
  BOT_TOKEN,
  botCore,
  startTelegramApp,
  TEST_THROTTLE,
  type TelegramApp,
  WEBHOOK_SECRET,
} from "./support/telegram-app.js";
import { BOT_INFO, TelegramDouble } from "./support/telegram-double.js";
import { inlineButtons, TelegramUser } from "./support/telegram-user.js";

const translator = new Translator();
let db: TestDatabase;
let tg: TelegramApp;
let place: { region: string; district: string; mahalla: number; mahallaNames: Record<Locale, string> };

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  const mahalla = await db.prisma.mahalla.findFirstOrThrow({
    where: { district: { code: "1727259" } },
    orderBy: { code: "asc" },
    include: { district: { include: { region: true } } },
  });
  place = {
    region: String(mahalla.district.regionId),
    district: String(mahalla.districtId),
    mahalla: mahalla.id,
    mahallaNames: { uz: mahalla.nameUz, "uz-Cyrl": mahalla.nameUzCyrl, ru: mahalla.nameRu },
  };
  tg = await startTelegramApp(db);
});
afterAll(async () => {
  await tg?.close();
  await db?.close();
});

let userCounter = 5000;
function newUser(languageCode?: string) {
  const id = ++userCounter;
  return new TelegramUser(tg.app, tg.double, WEBHOOK_SECRET, {
    id,
    first_name: `User${id}`,
    ...(languageCode ? { language_code: languageCode } : {}),
  });
}

let phoneCounter = 3_000_000;
const nextPhone = () => `+99893${String(phoneCounter++).padStart(7, "0")}`;

const names = async (table: "region" | "district", id: string, locale: Locale) => {
  const row =
    table === "region"
      ? await db.prisma.region.findUniqueOrThrow({ where: { id: Number(id) } })
      : await db.prisma.district.findUniqueOrThrow({ where: { id: Number(id) } });
  return { uz: row.nameUz, "uz-Cyrl": row.nameUzCyrl, ru: row.nameRu }[locale];
};

/** Presses buttons (turning pages when needed) until one captioned `label` is on screen. */
async function pressAcrossPages(user: TelegramUser, label: string, locale: Locale) {
  const next = `${translator.t(locale, "nav.more")} ▶️`;
  for (let page = 0; page < 5; page++) {
    if (user.buttons().includes(label)) return user.press(label);
    await user.press(next);
  }
  throw new Error(`"${label}" not found on any page`);
}

/** First contact until the main menu, in `locale`, through what Telegram offers in that language. */
async function onboard(locale: Locale) {
  const user = newUser(locale === "ru" ? "ru" : locale === "uz" ? "uz" : "en");
  const phone = nextPhone();
  await user.send("/start");
  if (locale === "uz-Cyrl") {
    // No Telegram language code means Cyrillic: the language screen comes first.
    expect(user.buttons()).toEqual(["Oʻzbekcha", "Ўзбекча", "Русский"]);
    await user.press("Ўзбекча");
  }
  const contactScreen = tg.double.last(user.chatId);
  expect(contactScreen?.text).toBe(translator.t(locale, "onboarding.share_contact"));
  const keyboard = contactScreen?.replyMarkup?.keyboard as { text: string; request_contact?: boolean }[][];
  expect(keyboard[0]?.[0]).toEqual({ text: translator.t(locale, "bot.share_contact_button"), request_contact: true });

  await user.shareContact(phone.replace("+", ""));
  const texts = tg.double.sentTexts(user.chatId);
  expect(texts.at(-2)).toBe(translator.t(locale, "bot.received"));
  expect(tg.double.callsOf("sendMessage", user.chatId).at(-2)?.payload.reply_markup).toEqual({ remove_keyboard: true });
  expect(user.screen()).toBe(translator.t(locale, "menu.title"));
  expect(user.buttons()).toHaveLength(8);
  const citizen = await db.prisma.citizen.findUniqueOrThrow({ where: { phone } });
  expect(citizen).toMatchObject({ locale, telegramUserId: BigInt(user.user.id), telegramChatId: BigInt(user.chatId) });
  return { user, citizen };
}

describe.each(["uz", "uz-Cyrl", "ru"] as const)("a citizen on Telegram (%s)", (locale) => {
  const t = (key: string, params?: Parameters<Translator["t"]>[2]) => translator.t(locale, key, params);
  const home = () => `🏠 ${t("nav.home")}`;

  it("applies, checks the status and card payments, books a visit with a shared location, cancels it, books again with an address", async () => {
    const { user, citizen } = await onboard(locale);

    // 1. Apply: the benefit list pages 8 at a time; the chosen benefit is on page 2.
    await user.press(t("menu.item.apply"));
    expect(user.screen()).toBe(t("apply.choose_benefit"));
    expect(user.buttons()).toHaveLength(8 + 1 + 2); // options, ▶, Back + Main menu
    const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "ONE_TIME_ASSISTANCE" } });
    const benefitName = { uz: benefit.shortUz, "uz-Cyrl": benefit.shortUzCyrl, ru: benefit.shortRu }[locale];
    await user.press(`${t("nav.more")} ▶️`);
    expect(user.buttons()).toContain(benefitName);
    await user.press(`◀️ ${t("nav.previous")}`);
    expect(user.buttons()).not.toContain(benefitName);
    await pressAcrossPages(user, benefitName, locale);
    expect(user.screen()).toBe(t("pinfl.prompt"));
    await user.send(makePinfl(new Date(Date.UTC(1980, 1, 2)), locale === "ru", 200_000 + user.user.id));
    await user.press(t("apply.q.fund.option.saxovat"));
    await user.send("5");
    await user.send("1 200 000");
    expect(user.screen()).toContain(benefitName);
    await user.press(t("apply.confirm"));
    const application = await db.prisma.application.findFirstOrThrow({ where: { citizenId: citizen.id } });
    expect(user.screen()).toBe(t("apply.submitted", { reference: application.reference }));
    expect(application).toMatchObject({ channel: "telegram", locale, status: "submitted" });
    expect(user.buttons()).toEqual([home()]);

    // 2. Status: the list, then the application's details.
    await user.press(home());
    await user.press(t("menu.item.status"));
    await user.press(new RegExp(`: ${t("status.application.submitted")}$`));
    expect(user.screen()).toContain(application.reference);
    expect(user.screen()).toContain(t("status.application.submitted"));

    // 3. Card payments.
    const card = await db.prisma.socialCard.create({
      data: { externalId: `card-${citizen.id}`, citizenId: citizen.id, maskedNumber: "**** 4321", status: "active" },
    });
    await db.prisma.payment.create({
      data: {
        externalId: `pay-${citizen.id}`,
        citizenId: citizen.id,
        cardId: card.id,
        benefitTypeId: benefit.id,
        amountTiyin: 125_000_000n,
        period: "2026-10",
        creditedAt: new Date("2026-10-05T06:00:00Z"),
      },
    });
    await user.send("/menu");
    await user.press(t("menu.item.payments"));
    expect(user.screen()).toContain("**** 4321");
    expect(user.screen()).toContain(t("format.money", { amount: "1 250 000" }));

    // 4. Book a visit; the mahalla is asked once; the address is a shared location.
    await user.press(home());
    await user.press(t("menu.item.visit"));
    await user.press(await names("region", place.region, locale));
    await user.press(await names("district", place.district, locale));
    await pressAcrossPages(user, place.mahallaNames[locale], locale);
    expect(user.screen()).toBe(t("visit.choose_reason"));
    await user.press(inlineButtons(tg.double.last(user.chatId))[0]?.text ?? "");
    await user.press(inlineButtons(tg.double.last(user.chatId))[0]?.text ?? "");
    const addressScreen = tg.double.last(user.chatId);
    expect(addressScreen?.text).toBe(t("visit.enter_address"));
    const rows = addressScreen?.replyMarkup?.keyboard as { text: string; request_location?: boolean }[][];
    expect(rows[0]?.[0]).toEqual({ text: t("bot.share_location_button"), request_location: true });
    await user.shareLocation(41.1123, 69.0478);
    expect(user.screen()).toContain(t("visit.location_shared"));
    await user.press(t("visit.confirm"));
    const located = await db.prisma.visitRequest.findFirstOrThrow({ where: { citizenId: citizen.id } });
    expect(located).toMatchObject({ latitude: 41.1123, longitude: 69.0478, address: null, channel: "telegram" });
    expect(user.screen()).toBe(t("visit.booked", { reference: located.reference }));

    // 5. Cancel it from "My visits".
    await user.press(home());
    await user.press(t("menu.item.myVisits"));
    await user.press(new RegExp(t(`status.visit.requested`)));
    await user.press(t("my_visits.cancel_option"));
    await user.press(t("common.yes"));
    expect(user.screen()).toBe(t("my_visits.cancelled", { reference: located.reference }));
    expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { id: located.id } })).status).toBe("cancelled");

    // 6. Book again, typing the address this time (the reply-keyboard screen also takes text).
    await user.press(home());
    await user.press(t("menu.item.visit"));
    expect(user.screen()).toBe(t("visit.choose_reason"));
    await user.press(inlineButtons(tg.double.last(user.chatId))[0]?.text ?? "");
    await user.press(inlineButtons(tg.double.last(user.chatId))[1]?.text ?? "");
    await user.send("Navoiy koʻchasi 7, maktab yonida");
    await user.press(t("visit.confirm"));
    const typed = await db.prisma.visitRequest.findFirstOrThrow({
      where: { citizenId: citizen.id, status: "requested" },
    });
    expect(typed).toMatchObject({ address: "Navoiy koʻchasi 7, maktab yonida", latitude: null });

    // Every notification of the journey waits in the outbox for this chat, in this language.
    const outbox = await db.prisma.outbox.findMany({ where: { citizenId: citizen.id }, orderBy: { id: "asc" } });
    expect(outbox.map((o) => o.templateKey)).toEqual([
      "notify.application_submitted",
      "notify.visit_booked",
      "notify.visit_booked",
    ]);
    expect(outbox.every((o) => o.channel === "telegram" && o.recipientChatId === BigInt(user.chatId))).toBe(true);
    expect(outbox.every((o) => o.locale === locale)).toBe(true);

    // The relay hands them to the bot's sender: they arrive in this chat, in this language.
    for (const row of outbox) {
      const text = translator.t(locale, row.templateKey, row.params as Params);
      await tg.telegram.sender.sendMessage(row.recipientChatId as bigint, text);
    }
    expect(tg.double.sentTexts(user.chatId).slice(-3)).toEqual([
      t("notify.application_submitted", {
        benefit: { names: { uz: benefit.nameUz, "uz-Cyrl": benefit.nameUzCyrl, ru: benefit.nameRu } },
        reference: application.reference,
      }),
      ...[located, typed].map((v) =>
        t("notify.visit_booked", {
          reference: v.reference,
          reason: { names: ((outbox[1]?.params ?? {}) as { reason: { names: Record<Locale, string> } }).reason.names },
          date: { date: v.slotDate.toISOString().slice(0, 10) },
          part: { t: `visit.part.${v.slotPart}` },
        }),
      ),
    ]);
  });
});

describe("identification by shared contact", () => {
  it("refuses someone else's contact with an explanation and does not process it", async () => {
    const user = newUser("uz");
    await user.send("/start");
    const before = await db.prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
    });
    const phone = nextPhone();
    await user.shareContact(phone, user.user.id + 1);
    expect(tg.double.sentTexts(user.chatId).at(-1)).toBe(translator.t("uz", "errors.foreign_contact"));
    const again = tg.double.last(user.chatId)?.replyMarkup?.keyboard as { request_contact?: boolean }[][];
    expect(again[0]?.[0]?.request_contact).toBe(true);
    // Nothing moved: no citizen for that number, the contact screen is still the current one.
    expect(await db.prisma.citizen.findUnique({ where: { phone } })).toBeNull();
    const after = await db.prisma.conversationSession.findUniqueOrThrow({ where: { id: before.id } });
    expect(after.stepCount).toBe(before.stepCount);
    expect(after.lastScreen).toEqual(before.lastScreen);

    // A forwarded contact card without user_id is someone else's too.
    await user.shareContact(nextPhone(), null);
    expect(tg.double.sentTexts(user.chatId).at(-1)).toBe(translator.t("uz", "errors.foreign_contact"));

    await user.shareContact(phone);
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
  });

  it("refuses a number outside Uzbekistan", async () => {
    const user = newUser("ru");
    await user.send("/start");
    await user.shareContact("+79161234567");
    expect(tg.double.sentTexts(user.chatId).at(-1)).toBe(translator.t("ru", "errors.phone_not_uz"));
    expect(await db.prisma.citizen.findUnique({ where: { phone: "+79161234567" } })).toBeNull();
  });
});

describe("the webhook", () => {
  it("answers 401 to a wrong or missing secret and processes nothing", async () => {
    const user = newUser("uz");
    const calls = tg.double.calls.length;
    for (const secret of ["wrong-secret", null, `${WEBHOOK_SECRET}x`]) {
      const res = await user.post(user.textUpdate("/start"), secret);
      expect(res.statusCode).toBe(401);
    }
    expect(tg.double.calls.length).toBe(calls);
    const session = await db.prisma.conversationSession.findUnique({
      where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
    });
    expect(session).toBeNull();
  });

  it("processes a redelivered update once, also after a restart with an empty memory", async () => {
    const { user } = await onboard("uz");
    const update = user.textUpdate("/help");
    const sentBefore = tg.double.callsOf("sendMessage", user.chatId).length;
    expect((await user.post(update)).statusCode).toBe(200);
    expect((await user.post(update)).statusCode).toBe(200);
    expect(tg.double.callsOf("sendMessage", user.chatId).length).toBe(sentBefore + 1);

    // Another process (or this one restarted) gets the same update: the session remembers it.
    const restarted = await startTelegramApp(db, { double: tg.double });
    try {
      const again = new TelegramUser(restarted.app, tg.double, WEBHOOK_SECRET, user.user);
      expect((await again.post(update)).statusCode).toBe(200);
      expect(tg.double.callsOf("sendMessage", user.chatId).length).toBe(sentBefore + 1);
    } finally {
      await restarted.close();
    }
  });
});

describe("the webhook, under redelivery and start-up", () => {
  it("processes an update posted 20 times at once, split across two instances, exactly once", async () => {
    const { user } = await onboard("uz");
    const other = await startTelegramApp(db, { double: tg.double });
    try {
      const there = new TelegramUser(other.app, tg.double, WEBHOOK_SECRET, user.user);
      const update = user.textUpdate("/help");
      const sentBefore = tg.double.callsOf("sendMessage", user.chatId).length;
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? there : user).post(update)));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
      expect(tg.double.callsOf("sendMessage", user.chatId).length).toBe(sentBefore + 1);
      expect(tg.double.last(user.chatId)?.text).toContain(translator.t("uz", "help.title"));
      expect(await db.prisma.telegramUpdate.count({ where: { updateId: BigInt(Number(update.update_id)) } })).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("answers the webhook in time while the Bot API cannot be reached, and handles the update once it answers", async () => {
    const double = await new TelegramDouble().start();
    // getMe hangs: grammY would retry it for as long as it takes.
    const held = double.hold((method) => method === "getMe");
    const telegram = createTelegram({
      config: { token: BOT_TOKEN, apiRoot: double.url },
      prisma: db.prisma,
      sql: db.sql,
      logger: createLogger("silent"),
      throttle: TEST_THROTTLE,
      ...botCore(db),
    });
    const app = Fastify();
    await app.register(telegramWebhook, { telegram, secret: WEBHOOK_SECRET });
    await app.ready();
    try {
      await held.reached;
      const user = new TelegramUser(app, double, WEBHOOK_SECRET, {
        id: 4_900_001,
        first_name: "Nodira",
        language_code: "ru",
      });
      const startedAt = performance.now();
      const res = await user.post(user.textUpdate("/start"));
      expect(res.statusCode).toBe(200);
      expect(performance.now() - startedAt).toBeLessThan(3_000);
      expect(double.sentTexts(user.chatId)).toEqual([]);
      held.release();
      await vi.waitFor(() => expect(double.sentTexts(user.chatId)).toHaveLength(1), { timeout: 15_000 });
      expect(double.sentTexts(user.chatId)[0]).toBe(translator.t("ru", "onboarding.share_contact"));
    } finally {
      held.release();
      await app.close();
      await double.close();
    }
  });
});

describe("commands", () => {
  it("takes a command addressed to this bot by name, and reads anything else after a slash as text", async () => {
    const { user } = await onboard("ru");
    await user.press(translator.t("ru", "menu.item.help"));
    const mention = "/menu@mahalla_connect_test_bot";
    await user.post(
      user.messageUpdate({ text: mention, entities: [{ type: "bot_command", offset: 0, length: mention.length }] }),
    );
    expect(user.screen()).toBe(translator.t("ru", "menu.title"));
  });
});

describe("the worker's sender", () => {
  it("sends notifications with the bot's retries and refuses a card for an unknown worker, without an engine", async () => {
    const sender = createBotSender({
      config: { token: BOT_TOKEN, apiRoot: tg.double.url },
      staffVisits: new StaffVisitService(db.prisma, { sql: db.sql }),
      throttle: TEST_THROTTLE,
    });
    const chat = newUser("uz").chatId;
    tg.double.failNext(
      1,
      { error_code: 429, description: "Too Many Requests: retry after 1", retry_after: 1 },
      "sendMessage",
    );
    const sent = await sender.sendMessage(BigInt(chat), "Arizangiz koʻrib chiqildi.");
    expect(tg.double.callsOf("sendMessage", chat).map((c) => c.errorCode ?? 200)).toEqual([429, 200]);
    expect(sent.messageId).toBe(String(tg.double.last(chat)?.messageId));
    await expect(sender.sendStaffVisitCard({ staffId: 987_654, reference: "V-1234-5678" })).rejects.toMatchObject({
      code: "STAFF_NOT_FOUND",
    });
  });
});

describe("buttons", () => {
  it("a stale button gets a notice and the current screen again, and changes nothing", async () => {
    const { user } = await onboard("ru");
    const menu = user.findButton(translator.t("ru", "menu.item.apply"));
    const staleData = menu.button.callback_data ?? "";
    await user.press(translator.t("ru", "menu.item.help")); // edits the menu message into the help screen
    const session = () =>
      db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
      });
    const before = await session();
    const current = user.screen();

    const callsBefore = tg.double.apiCalls().length;
    const res = await user.post(user.callbackUpdate(staleData, menu.message.messageId));
    expect(res.statusCode).toBe(200);
    const answer = tg.double.callsOf("answerCallbackQuery").at(-1);
    expect(answer?.payload.text).toBe(translator.t("ru", "bot.stale"));
    expect(user.screen()).toBe(current);
    expect(tg.double.sentTexts(user.chatId).at(-1)).toBe(current);
    const after = await session();
    expect(after.stepCount).toBe(before.stepCount);
    expect(after.lastScreen).toEqual(before.lastScreen);
    expect(await db.prisma.application.count({ where: { citizen: { telegramUserId: BigInt(user.user.id) } } })).toBe(0);
    // The current screen again is the one call the bot makes itself (the toast rode in the webhook answer).
    expect(
      tg.double
        .apiCalls()
        .slice(callsBefore)
        .map((c) => c.method),
    ).toEqual(["sendMessage"]);
  });

  it("typed input is one new message; the previous one keeps its buttons, which answer as stale", async () => {
    const { user } = await onboard("uz");
    await user.press(translator.t("uz", "menu.item.status"));
    const previous = tg.double.last(user.chatId);
    const oldButton = inlineButtons(previous)[0];
    expect(oldButton).toBeDefined();
    const oldKeyboard = JSON.stringify(inlineButtons(previous));
    const callsBefore = tg.double.apiCalls().length;
    await user.send("/menu");
    expect(
      tg.double
        .apiCalls()
        .slice(callsBefore)
        .map((c) => c.method),
    ).toEqual(["sendMessage"]);
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
    const shown = tg.double.shown(user.chatId);
    // Nothing took the old keyboard away; pressing it now changes nothing and says so.
    expect(JSON.stringify(inlineButtons(tg.double.message(user.chatId, previous?.messageId ?? 0)))).toBe(oldKeyboard);
    const stepsBefore = (
      await db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
      })
    ).stepCount;
    await user.post(user.callbackUpdate(oldButton?.callback_data ?? "", previous?.messageId ?? 0));
    expect(tg.double.callsOf("answerCallbackQuery").at(-1)?.payload.text).toBe(translator.t("uz", "bot.stale"));
    expect(user.screen()).toBe(translator.t("uz", "menu.title"));
    const stepsAfter = (
      await db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(user.chatId) } },
      })
    ).stepCount;
    expect(stepsAfter).toBe(stepsBefore);
    // Every callback data stays within Telegram's 64 bytes.
    for (const m of shown)
      for (const b of inlineButtons(m)) expect(Buffer.byteLength(b.callback_data ?? "")).toBeLessThanOrEqual(64);
  });
});

describe("outgoing calls", () => {
  it("retries a 429 after retry_after and delivers the message", async () => {
    const user = newUser("uz");
    tg.double.failNext(
      2,
      { error_code: 429, description: "Too Many Requests: retry after 1", retry_after: 1 },
      "sendMessage",
    );
    const sent = await tg.telegram.sender.sendMessage(BigInt(user.chatId), "Kartangizga 1 250 000 soʻm tushdi.");
    const attempts = tg.double.callsOf("sendMessage", user.chatId);
    expect(attempts.map((c) => c.errorCode ?? 200)).toEqual([429, 429, 200]);
    expect(tg.double.sentTexts(user.chatId)).toEqual(["Kartangizga 1 250 000 soʻm tushdi."]);
    expect(sent.messageId).toBe(String(tg.double.last(user.chatId)?.messageId));
  });

  it("keeps a burst to one chat in order under Telegram's limits, through a 429", async () => {
    const limited = createTelegram({
      config: { token: BOT_TOKEN, apiRoot: tg.double.url, sessionIdleSeconds: 3600 },
      prisma: db.prisma,
      logger: createLogger("silent"),
      botInfo: BOT_INFO,
      ...botCore(db),
    });
    const chat = newUser("uz").chatId;
    tg.double.failNext(
      1,
      { error_code: 429, description: "Too Many Requests: retry after 1", retry_after: 1 },
      "sendMessage",
    );
    const texts = ["1-xabar", "2-xabar", "3-xabar"];
    await Promise.all(texts.map((text) => limited.sender.sendMessage(BigInt(chat), text)));
    const attempts = tg.double.arrivals.filter((c) => c.method === "sendMessage" && Number(c.payload.chat_id) === chat);
    // The retry keeps its place: message 2 does not overtake message 1.
    expect(attempts.map((c) => c.payload.text)).toEqual(["1-xabar", "1-xabar", "2-xabar", "3-xabar"]);
    expect(tg.double.sentTexts(chat)).toEqual(texts);
  });

  it("keeps each chat's updates in order while other chats go on", async () => {
    const [a, b] = [await onboard("uz"), await onboard("ru")].map((o) => o.user) as [TelegramUser, TelegramUser];
    // Chat A's first answer is held at the Bot API: A's later updates must wait behind it,
    // while chat B is served meanwhile.
    const held = tg.double.hold((method, p) => method === "sendMessage" && Number(p.chat_id) === a.chatId);
    const aTexts = ["/start 2", "/start 3", "/start 7"].map((text) => a.textUpdate(text));
    const arrivalsForA = () => tg.double.arrivals.filter((c) => Number(c.payload.chat_id) === a.chatId).length;
    const session = () =>
      db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "telegram", sessionKey: String(a.chatId) } },
      });
    const stepsBefore = (await session()).stepCount;
    const arrivedBefore = arrivalsForA();
    const first = a.post(aTexts[0] ?? {});
    await held.reached;
    // Telegram numbers a chat's updates; two posted at the same instant may reach the server in
    // either order, so the third is posted once the second has been taken in (its ledger row).
    const taken = (update: { update_id?: unknown }) =>
      vi.waitFor(
        async () => {
          const row = await db.prisma.telegramUpdate.findUnique({
            where: { updateId: BigInt(Number(update.update_id)) },
          });
          if (!row) throw new Error("not taken in yet");
        },
        { timeout: 5000, interval: 10 },
      );
    const second = a.post(aTexts[1] ?? {});
    await taken(aTexts[1] ?? {});
    const rest = [second, a.post(aTexts[2] ?? {})];
    await b.send("/start 7");
    expect(b.screen()).toContain(translator.t("ru", "help.title"));
    // B went through; A's second and third updates have not started.
    expect(arrivalsForA()).toBe(arrivedBefore + 1);
    expect((await session()).stepCount).toBe(stepsBefore + 1);
    held.release();
    await Promise.all([first, ...rest]);
    const screens = tg.double.sentTexts(a.chatId).slice(-3);
    expect(screens[0]).toBe(translator.t("uz", "status.none"));
    expect(screens[1]).toBe(translator.t("uz", "payments.no_card"));
    expect(screens[2]).toContain(translator.t("uz", "help.title"));
  });
});

describe("start-up and long polling", () => {
  it("identifies itself and publishes the command menus per language, without holding up start-up", async () => {
    const double = await new TelegramDouble().start();
    const started = await startTelegramApp(db, { double, getMe: true });
    try {
      // Start-up does not wait for the Bot API (an unreachable one must not keep USSD down).
      await started.telegram.init();
      expect(double.callsOf("getMe")).toHaveLength(1);
      const menus = double.callsOf("setMyCommands");
      expect(menus.map((c) => c.payload.language_code ?? "default")).toEqual(["default", "uz", "ru"]);
      const ru = menus[2]?.payload.commands as { command: string; description: string }[];
      expect(ru.map((c) => c.command)).toEqual(["start", "menu", "language", "help"]);
      expect(ru.find((c) => c.command === "language")?.description).toBe(translator.t("ru", "bot.commands.language"));
      const uz = menus[1]?.payload.commands as { command: string; description: string }[];
      expect(uz.find((c) => c.command === "help")?.description).toBe(translator.t("uz", "bot.commands.help"));
    } finally {
      await started.close();
      await double.close();
    }
  });

  it("without a webhook secret, takes updates by long polling through the same pipeline", async () => {
    const double = await new TelegramDouble().start();
    const telegram = createTelegram({
      config: { token: BOT_TOKEN, apiRoot: double.url, sessionIdleSeconds: 3600 },
      prisma: db.prisma,
      logger: createLogger("silent"),
      throttle: TEST_THROTTLE,
      ...botCore(db),
    });
    const polling = await startPolling(telegram, createLogger("silent"));
    try {
      expect(double.callsOf("deleteWebhook")).toHaveLength(1);
      const user = newUser("ru");
      const update = user.textUpdate("/start");
      double.queueUpdate(update);
      double.queueUpdate(update); // delivered twice: processed once
      await vi.waitFor(() => expect(double.sentTexts(user.chatId)).toHaveLength(1), { timeout: 10_000 });
      expect(double.sentTexts(user.chatId)[0]).toBe(translator.t("ru", "onboarding.share_contact"));
    } finally {
      await polling.stop();
      await double.close();
    }
  });
});

describe("start-up without the Bot API", () => {
  it("serves the other channels when the Bot API cannot be reached", async () => {
    const closed = new TelegramDouble();
    const url = (await closed.start()).url;
    await closed.close();
    const config = loadConfig({
      NODE_ENV: "test",
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: url,
      TELEGRAM_WEBHOOK_SECRET: "s3cret-for-the-test",
    });
    const app = await buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
    try {
      const health = await app.inject({ method: "GET", url: "/healthz" });
      expect(health.statusCode).toBe(200);
      const ussd = await app.inject({
        method: "POST",
        url: "/ussd",
        payload: "sessionId=tg-down-1&serviceCode=*1146%23&phoneNumber=%2B998901119999&networkCode=1&text=",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(ussd.body).toMatch(/^CON /);
    } finally {
      await app.close();
    }
  });
});
