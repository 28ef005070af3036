import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN_MENU } from "../core/flows/index.js";
import { Conversation, screenText } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
});
afterAll(() => db.close());

const keyOf = (c: Conversation, i = 0) => (c.screen.body[i] as { key?: string }).key;

async function citizenConversation(locale: "uz" | "uz-Cyrl" | "ru", withPinfl = false) {
  const citizen = await createCitizen(db.prisma, { locale, ...(withPinfl ? { pinfl: nextPinfl() } : {}) });
  const c = new Conversation(db, { phone: citizen.phone });
  await c.start("1");
  return { c, citizen };
}

describe.each(["uz", "uz-Cyrl", "ru"] as const)("apply for a benefit (%s)", (locale) => {
  it("chooses a benefit, gives the PINFL, answers each question, confirms and gets a reference", async () => {
    const { c, citizen } = await citizenConversation(locale);
    expect(keyOf(c)).toBe("apply.choose_benefit");
    expect(c.screen.options).toHaveLength(11);
    await c.send({ type: "choose", key: "CHILD_ALLOWANCE" });
    expect(keyOf(c)).toBe("pinfl.prompt");
    await c.say(nextPinfl());
    expect(keyOf(c)).toBe("apply.q.household_size.prompt");
    await c.say("5");
    expect(keyOf(c)).toBe("apply.q.children_under_18.prompt");
    await c.say("3");
    await c.say("2 400 000");
    expect(keyOf(c)).toBe("apply.summary_title");
    const summary = screenText(c.screen, locale);
    expect(summary).toContain("2 400 000");
    expect(summary).toContain({ uz: "soʻm", "uz-Cyrl": "сўм", ru: "сум" }[locale]);
    expect(c.screen.options.map((o) => o.key)).toEqual(["confirm", "cancel"]);
    await c.pick(1);
    expect(keyOf(c)).toBe("apply.submitted");
    expect(c.screen.end).toBe(true);
    const reference = c.reference();
    expect(reference).toMatch(/^A-\d{4}-\d{4}$/);

    const app = await db.prisma.application.findUniqueOrThrow({ where: { reference }, include: { history: true } });
    expect(app.citizenId).toBe(citizen.id);
    expect(app.status).toBe("submitted");
    expect(app.locale).toBe(locale);
    expect(app.answers).toEqual({ household_size: 5, children_under_18: 3, monthly_income: 240_000_000 });
    expect(app.history.map((h) => h.toStatus)).toEqual(["submitted"]);
    const sms = await db.prisma.outbox.findMany({ where: { citizenId: citizen.id } });
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ channel: "sms", templateKey: "notify.application_submitted", locale });
    expect(await db.prisma.draft.count({ where: { citizenId: citizen.id } })).toBe(0);
  });

  it("refuses a second open application for the same benefit with the existing reference", async () => {
    const { c, citizen } = await citizenConversation(locale, true);
    await c.send({ type: "choose", key: "DISABILITY_PENSION" });
    await c.send({ type: "choose", key: "2" });
    await c.send({ type: "choose", key: "confirm" });
    const reference = c.reference();
    const again = new Conversation(db, { phone: citizen.phone });
    await again.start("1");
    await again.send({ type: "choose", key: "DISABILITY_PENSION" });
    expect(again.screen.error).toEqual({ key: "apply.duplicate", params: { reference } });
    expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(1);
  });
});

describe("apply: every answer is validated", () => {
  it("explains a wrong PINFL (format, birth date, check digit) and takes one the register gives someone else as a mere claim", async () => {
    const taken = nextPinfl();
    await createCitizen(db.prisma, { pinfl: taken });
    const { c } = await citizenConversation("uz");
    await c.send({ type: "choose", key: "AGE_PENSION" });
    await c.say("12345");
    expect(c.screen.error).toEqual({ key: "pinfl.invalid_format" });
    await c.say("31234567890123");
    expect(c.screen.error).toEqual({ key: "pinfl.invalid_birth_date" });
    const good = nextPinfl();
    const wrongCheck = good.slice(0, 13) + String((Number(good[13]) + 1) % 10);
    const d = (await citizenConversation("ru")).c;
    await d.send({ type: "choose", key: "AGE_PENSION" });
    await d.say(wrongCheck);
    expect(d.screen.error).toEqual({ key: "pinfl.invalid_checksum" });
    // Issue 12: the answer must not tell whether a PINFL is registered; the typed one is a claim.
    await d.say(taken);
    expect(d.screen.error).toBeUndefined();
    expect(keyOf(d)).toBe("apply.q.work_years.prompt");
    const holders = await db.prisma.citizen.findMany({
      where: { OR: [{ pinfl: taken }, { claimedPinfl: taken }] },
      orderBy: { id: "asc" },
    });
    expect(holders.map((h) => [h.pinfl, h.claimedPinfl])).toEqual([
      [taken, null],
      [null, taken],
    ]);
  });

  it("re-shows a question with the reason for a non-number, an out-of-range number and a bad date", async () => {
    const { c } = await citizenConversation("uz", true);
    await c.send({ type: "choose", key: "CHILD_ALLOWANCE" });
    await c.say("besh");
    expect(c.screen.error).toEqual({ key: "errors.number_expected" });
    expect(keyOf(c)).toBe("apply.q.household_size.prompt");
    await c.say("0");
    expect(c.screen.error).toEqual({ key: "errors.number_range", params: { min: 1, max: 30 } });
    await c.say("4");
    expect(c.screen.error).toBeUndefined();

    const m = (await citizenConversation("uz", true)).c;
    await m.send({ type: "choose", key: "MATERNITY_ALLOWANCE" });
    await m.say("31.02.2027");
    expect(m.screen.error).toEqual({ key: "errors.date_expected" });
    await m.say("01.01.2020");
    expect((m.screen.error as { key: string }).key).toBe("errors.date_range");
  });

  it("three invalid answers in a row end politely, saying where to get help", async () => {
    const { c } = await citizenConversation("ru", true);
    await c.send({ type: "choose", key: "CHILD_ALLOWANCE" });
    await c.say("x");
    await c.say("y");
    await c.say("z");
    expect(c.screen.end).toBe(true);
    expect(c.screen.body.map((t) => (t as { key: string }).key)).toEqual(["errors.too_many_invalid", "help.inson_any"]);
  });
});

describe("apply: navigation", () => {
  it("Back returns to the previous step with its answers; Main menu from any step", async () => {
    const { c } = await citizenConversation("uz");
    const seen: string[] = [];
    await c.send({ type: "choose", key: "ONE_TIME_ASSISTANCE" });
    seen.push(keyOf(c) ?? "");
    await c.say(nextPinfl());
    seen.push(keyOf(c) ?? "");
    await c.send({ type: "choose", key: "ayollar" });
    seen.push(keyOf(c) ?? "");
    expect(seen).toEqual(["pinfl.prompt", "apply.q.fund.prompt", "apply.q.household_size.prompt"]);
    await c.send({ type: "back" });
    expect(keyOf(c)).toBe("apply.q.fund.prompt");
    await c.send({ type: "back" });
    expect(keyOf(c)).toBe("pinfl.prompt");
    await c.send({ type: "back" });
    expect(keyOf(c)).toBe("apply.choose_benefit");
    await c.send({ type: "back" });
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);

    for (const depth of [1, 2, 3]) {
      const d = (await citizenConversation("uz-Cyrl", true)).c;
      await d.send({ type: "choose", key: "CHILD_ALLOWANCE" });
      for (let i = 1; i < depth; i++) await d.say("2");
      expect(d.screen.nav).toEqual({ back: true, home: true });
      await d.send({ type: "home" });
      expect(d.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
    }
  });

  it("an unfinished application survives the end of the session: the next visit offers to continue it", async () => {
    const { c, citizen } = await citizenConversation("uz", true);
    await c.send({ type: "choose", key: "CHILD_ALLOWANCE" });
    await c.say("6");
    // The USSD call drops here. A new session (new key) starts from the menu.
    const next = new Conversation(db, { phone: citizen.phone });
    await next.start("1");
    expect(keyOf(next)).toBe("apply.resume");
    await next.send({ type: "choose", key: "continue" });
    expect(keyOf(next)).toBe("apply.q.children_under_18.prompt");
    await next.say("2");
    await next.say("900000");
    expect(keyOf(next)).toBe("apply.summary_title");
    await next.send({ type: "choose", key: "confirm" });
    const reference = next.reference();
    const app = await db.prisma.application.findUniqueOrThrow({ where: { reference } });
    expect(app.answers).toEqual({ household_size: 6, children_under_18: 2, monthly_income: 90_000_000 });
  });

  it("starting over from the resume screen discards the draft", async () => {
    const { c, citizen } = await citizenConversation("ru", true);
    await c.send({ type: "choose", key: "LOW_INCOME_ASSISTANCE" });
    const next = new Conversation(db, { phone: citizen.phone });
    await next.start("1");
    await next.send({ type: "choose", key: "restart" });
    expect(keyOf(next)).toBe("apply.choose_benefit");
    expect(await db.prisma.draft.count({ where: { citizenId: citizen.id } })).toBe(0);
  });

  it("a restart of the process mid-flow continues where the conversation was", async () => {
    const { c, citizen } = await citizenConversation("uz-Cyrl", true);
    await c.send({ type: "choose", key: "SURVIVOR_PENSION" });
    expect(keyOf(c)).toBe("apply.q.dependants.prompt");
    // A new engine instance (as after a restart) on the same database and session key.
    const resumed = new Conversation(db, { phone: citizen.phone }, "ussd", c.sessionKey);
    await resumed.say("3");
    expect(keyOf(resumed)).toBe("apply.summary_title");
    expect(resumed.locale).toBe("uz-Cyrl");
  });

  it("an expired session starts from the main menu, but the draft is kept", async () => {
    const { citizen } = await citizenConversation("uz", true);
    let now = new Date("2026-11-25T08:00:00Z");
    const c = new Conversation(db, { phone: citizen.phone }, "ussd", "expiring", { clock: () => now });
    await c.start("1");
    await c.send({ type: "choose", key: "CHILD_ALLOWANCE" });
    now = new Date(now.getTime() + 181_000);
    await c.say("4");
    expect(c.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
    await c.pick(1);
    expect(keyOf(c)).toBe("apply.resume");
  });

  it("cancelling at the summary discards the draft and says so", async () => {
    const { c, citizen } = await citizenConversation("uz", true);
    await c.send({ type: "choose", key: "DISABILITY_PENSION" });
    await c.send({ type: "choose", key: "1" });
    await c.send({ type: "choose", key: "cancel" });
    expect(keyOf(c)).toBe("apply.cancelled");
    expect(await db.prisma.draft.count({ where: { citizenId: citizen.id } })).toBe(0);
    expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(0);
  });
});
