import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN_MENU } from "../core/flows/index.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { nextPhone, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
});
afterAll(() => db.close());

const firstBody = (c: Conversation) => c.screen.body[0];

describe("first contact", () => {
  it.each([
    [1, "uz"],
    [2, "uz-Cyrl"],
    [3, "ru"],
  ] as const)("a new phone chooses its language first (option %i → %s) and gets the menu in it", async (n, locale) => {
    const c = new Conversation(db, { phone: nextPhone() });
    await c.start();
    expect(firstBody(c)).toEqual({ key: "onboarding.choose_language" });
    expect(c.screen.options.map((o) => o.key)).toEqual(["uz", "uz-Cyrl", "ru"]);
    await c.pick(n);
    expect(c.locale).toBe(locale);
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });

  it("remembers the language per phone number: the next session opens the menu directly", async () => {
    const phone = nextPhone();
    const first = new Conversation(db, { phone });
    await first.start();
    await first.pick(3);
    const second = new Conversation(db, { phone });
    await second.start();
    expect(second.locale).toBe("ru");
    expect(second.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });

  it("opens a dialled shortcut after the language choice of a new number", async () => {
    const c = new Conversation(db, { phone: nextPhone() });
    await c.start("3");
    expect(firstBody(c)).toEqual({ key: "onboarding.choose_language" });
    await c.pick(2);
    expect(c.locale).toBe("uz-Cyrl");
    expect(firstBody(c)).toEqual({ key: "payments.no_card" });
  });

  it("opens a dialled shortcut directly for a known number, in the menu's stable order", async () => {
    const phone = nextPhone();
    const c = new Conversation(db, { phone });
    await c.start();
    await c.pick(1);
    for (const [index, expectedFirstKey] of [
      [1, "apply.choose_benefit"],
      [2, "status.none"],
      [3, "payments.no_card"],
      [7, "help.title"],
      [8, "language.choose"],
    ] as const) {
      const d = new Conversation(db, { phone });
      await d.start(String(index));
      expect((firstBody(d) as { key: string }).key).toBe(expectedFirstKey);
    }
  });

  it("an unknown shortcut falls back to the main menu", async () => {
    const phone = nextPhone();
    const c = new Conversation(db, { phone });
    await c.start();
    await c.pick(1);
    const d = new Conversation(db, { phone });
    await d.start("42");
    expect(d.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });

  it("refuses anything but a language on the first screen and gives up politely after three tries", async () => {
    const c = new Conversation(db, { phone: nextPhone() });
    await c.start();
    await c.say("hello");
    expect(c.screen.error).toEqual({ key: "errors.choose_option" });
    expect(c.screen.end).toBe(false);
    await c.send({ type: "choose", key: "xx" });
    expect(c.screen.error).toEqual({ key: "errors.choose_option" });
    await c.say("9");
    expect(c.screen.end).toBe(true);
    expect(c.screen.body).toEqual([{ key: "errors.too_many_invalid" }, { key: "help.inson_any" }]);
  });
});

describe("first contact on Telegram", () => {
  it("asks for the contact in the language Telegram suggests, then links the phone", async () => {
    const c = new Conversation(db, { telegramUserId: 555001n, telegramChatId: 555001n, localeHint: "ru" }, "telegram");
    await c.start();
    expect(c.screen.input).toEqual({ kind: "contact" });
    expect(c.locale).toBe("ru");
    const phone = nextPhone();
    await c.send({ type: "contact", phone });
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
    const citizen = await db.prisma.citizen.findUniqueOrThrow({ where: { phone } });
    expect(citizen.telegramUserId).toBe(555001n);
    expect(citizen.locale).toBe("ru");
  });

  it("asks for the language first when Telegram suggests none, and links an existing USSD citizen", async () => {
    const phone = nextPhone();
    const ussd = new Conversation(db, { phone });
    await ussd.start();
    await ussd.pick(1);
    const c = new Conversation(db, { telegramUserId: 555002n, telegramChatId: 555002n }, "telegram");
    await c.start();
    expect(firstBody(c)).toEqual({ key: "onboarding.choose_language" });
    await c.pick(2);
    expect(c.screen.input).toEqual({ kind: "contact" });
    await c.say("my number is 90 123");
    expect(c.screen.error).toEqual({ key: "errors.share_contact" });
    await c.send({ type: "contact", phone });
    expect(c.locale).toBe("uz-Cyrl");
    const citizens = await db.prisma.citizen.findMany({ where: { phone } });
    expect(citizens).toHaveLength(1);
    expect(citizens[0]?.telegramUserId).toBe(555002n);
  });
});

describe("menu item 8: language", () => {
  it("switches the language and answers the menu in the new one at once", async () => {
    const c = new Conversation(db, { phone: nextPhone() });
    await c.start();
    await c.pick(1);
    await c.pick(8);
    await c.pick(3);
    expect(c.locale).toBe("ru");
    expect(c.screen.body[0]).toEqual({ key: "language.changed" });
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });
});

describe("first contact: the onboarding flow's rules", () => {
  it("does not count an answer sent before the language screen was ever shown", async () => {
    const c = new Conversation(db, { phone: nextPhone() });
    await c.say("hello");
    expect(firstBody(c)).toEqual({ key: "onboarding.choose_language" });
    expect(c.screen.error).toBeUndefined();
    await c.say("hello");
    await c.say("hello");
    expect(c.screen.error).toEqual({ key: "errors.choose_option" });
    expect(c.screen.end).toBe(false);
    await c.pick(3);
    expect(c.locale).toBe("ru");
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });

  it("takes a contact shared on the language screen at once, in the language the citizen keeps on record", async () => {
    const phone = nextPhone();
    const ussd = new Conversation(db, { phone });
    await ussd.start();
    await ussd.pick(3);
    const c = new Conversation(db, { telegramUserId: 555003n, telegramChatId: 555003n }, "telegram");
    await c.start();
    expect(firstBody(c)).toEqual({ key: "onboarding.choose_language" });
    await c.send({ type: "contact", phone });
    expect(c.locale).toBe("ru");
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
    const citizen = await db.prisma.citizen.findUniqueOrThrow({ where: { phone } });
    expect([citizen.telegramUserId, citizen.locale]).toEqual([555003n, "ru"]);
  });

  it("gives a Telegram user the register already links, without a language, the one Telegram suggests", async () => {
    const phone = nextPhone();
    await db.prisma.citizen.create({ data: { phone, telegramUserId: 555004n, telegramChatId: 555004n } });
    const c = new Conversation(
      db,
      { telegramUserId: 555004n, telegramChatId: 555004n, localeHint: "uz-Cyrl" },
      "telegram",
    );
    await c.start();
    expect(c.locale).toBe("uz-Cyrl");
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
    expect((await db.prisma.citizen.findUniqueOrThrow({ where: { phone } })).locale).toBe("uz-Cyrl");
  });

  it("lets a language chosen on an old button win over the one Telegram suggests", async () => {
    const c = new Conversation(db, { telegramUserId: 555005n, telegramChatId: 555005n, localeHint: "ru" }, "telegram");
    await c.send({ type: "choose", key: "uz" });
    expect(c.screen.input).toEqual({ kind: "contact" });
    expect(c.locale).toBe("uz");
    await c.send({ type: "choose", key: "ru" });
    expect(c.screen.error).toEqual({ key: "errors.share_contact" });
    expect(c.locale).toBe("uz");
  });
});
