import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices } from "../core/services/index.js";
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

async function submitted(citizenId: number, code: string, submittedAt: Date) {
  const services = createServices(db.prisma);
  const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code } });
  const reference = await services.applications.submit({
    citizenId,
    benefitTypeId: benefit.id,
    answers: {},
    channel: "ussd",
    locale: "uz",
  });
  await db.prisma.application.update({ where: { reference }, data: { submittedAt } });
  return reference;
}

describe.each(["uz", "uz-Cyrl", "ru"] as const)("application status (%s)", (locale) => {
  it("lists the citizen's applications newest first and shows one with its history and rejection reason", async () => {
    const citizen = await createCitizen(db.prisma, { locale, pinfl: nextPinfl() });
    const older = await submitted(citizen.id, "CHILD_ALLOWANCE", new Date("2026-10-01T09:00:00Z"));
    const newer = await submitted(citizen.id, "AGE_PENSION", new Date("2026-11-20T09:00:00Z"));
    await createServices(db.prisma).applications.changeStatus({
      reference: older,
      status: "rejected",
      reason: "Income above threshold",
      actor: "api:test",
    });
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("2");
    expect(keyOf(c)).toBe("status.list_title");
    expect(c.screen.options.map((o) => o.key)).toEqual([newer, older, "lookup"]);
    await c.pick(2);
    expect(keyOf(c)).toBe("status.details");
    const shown = screenText(c.screen, locale);
    expect(shown).toContain(older);
    expect(shown).toContain("Income above threshold");
    expect(shown).toContain("01.10.2026");
    expect(c.screen.body.filter((t) => (t as { key: string }).key === "status.history_line")).toHaveLength(2);
  });
});

describe("application status: lookup by reference", () => {
  it("finds the citizen's own application however the reference is typed, and only their own", async () => {
    const citizen = await createCitizen(db.prisma, { pinfl: nextPinfl() });
    const mine = await submitted(citizen.id, "SURVIVOR_PENSION", new Date());
    const stranger = await createCitizen(db.prisma, { pinfl: nextPinfl() });
    const theirs = await submitted(stranger.id, "SURVIVOR_PENSION", new Date());
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("2");
    await c.send({ type: "choose", key: "lookup" });
    await c.say("12");
    expect(c.screen.error).toEqual({ key: "errors.reference_format" });

    await c.say(theirs.replace(/-/g, " "));
    expect(c.screen.error).toEqual({ key: "status.not_found", params: { reference: theirs } });
    await c.say(mine.slice(2).replace("-", ""));
    expect(keyOf(c)).toBe("status.details");
    expect(screenText(c.screen, "uz")).toContain(mine);

    // One digit misheard over the phone fails the check digit and is not looked up at all.
    const d = new Conversation(db, { phone: citizen.phone });
    await d.start("2");
    await d.send({ type: "choose", key: "lookup" });
    await d.say(mine.slice(0, -1) + String((Number(mine.at(-1)) + 1) % 10));
    expect(d.screen.error).toEqual({ key: "errors.reference_format" });
  });

  it("says so when the citizen has no application yet", async () => {
    const citizen = await createCitizen(db.prisma);
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("2");
    expect(keyOf(c)).toBe("status.none");
  });
});

describe.each(["uz", "uz-Cyrl", "ru"] as const)("social card payments (%s)", (locale) => {
  it("explains when there is no card, and shows the masked card and latest payments in so'm", async () => {
    const citizen = await createCitizen(db.prisma, { locale });
    const none = new Conversation(db, { phone: citizen.phone });
    await none.start("3");
    expect(keyOf(none)).toBe("payments.no_card");

    const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    const card = await db.prisma.socialCard.create({
      data: { externalId: `card-${citizen.id}`, citizenId: citizen.id, maskedNumber: "**** 4821", status: "active" },
    });
    for (const [i, day] of ["2026-09-05", "2026-10-05", "2026-11-05"].entries()) {
      await db.prisma.payment.create({
        data: {
          externalId: `pay-${citizen.id}-${i}`,
          citizenId: citizen.id,
          cardId: card.id,
          benefitTypeId: benefit.id,
          amountTiyin: BigInt(125_000_000 + i * 100),
          period: day.slice(0, 7),
          creditedAt: new Date(`${day}T10:00:00Z`),
        },
      });
    }
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("3");
    const shown = screenText(c.screen, locale);
    expect(shown).toContain("**** 4821");
    const currency = { uz: "soʻm", "uz-Cyrl": "сўм", ru: "сум" }[locale];
    expect(shown).toContain(`1 250 002 ${currency}`);
    expect(shown.indexOf("05.11.2026")).toBeLessThan(shown.indexOf("05.10.2026"));
    expect(c.screen.end).toBe(true);
  });
});

describe("appeal a decision", () => {
  it("appeals a rejection within 30 days: PINFL if missing, reason, confirm, reference", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "ru" });
    const benefit = await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "LOW_INCOME_ASSISTANCE" } });
    const app = await db.prisma.application.create({
      data: {
        reference: "A-1111-1110",
        citizenId: citizen.id,
        benefitTypeId: benefit.id,
        answers: {},
        status: "rejected",
        statusReason: "Not low-income",
        channel: "ussd",
        locale: "ru",
        decidedAt: new Date(Date.now() - 5 * 86_400_000),
      },
    });
    await db.prisma.application.create({
      data: {
        reference: "A-2222-2220",
        citizenId: citizen.id,
        benefitTypeId: benefit.id,
        answers: {},
        status: "rejected",
        channel: "ussd",
        locale: "ru",
        decidedAt: new Date(Date.now() - 40 * 86_400_000),
      },
    });
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("6");
    expect(c.screen.options.map((o) => o.key)).toEqual(["A-1111-1110"]);
    await c.pick(1);
    expect(keyOf(c)).toBe("pinfl.prompt");
    await c.say(nextPinfl());
    expect(keyOf(c)).toBe("appeal.enter_reason");
    await c.say("short");
    expect(c.screen.error).toEqual({ key: "errors.text_too_short", params: { min: 10 } });
    await c.say("Our family income fell after my husband lost his job");
    await c.send({ type: "choose", key: "confirm" });
    expect(keyOf(c)).toBe("appeal.filed");
    const reference = c.reference();
    expect(reference).toMatch(/^P-\d{4}-\d{4}$/);
    const appeal = await db.prisma.appeal.findUniqueOrThrow({ where: { reference } });
    expect(appeal).toMatchObject({ applicationId: app.id, status: "received", citizenId: citizen.id });
    expect(
      await db.prisma.outbox.count({ where: { citizenId: citizen.id, templateKey: "notify.appeal_received" } }),
    ).toBe(1);

    const again = new Conversation(db, { phone: citizen.phone });
    await again.start("6");
    expect(keyOf(again)).toBe("appeal.none");
  });
});

describe("help and contacts", () => {
  // The seed sets no contact data, so this is what a fresh installation shows (test/contacts.test.ts
  // covers what the agency sets through the API).
  it("names the district Inson centre and the mahalla office, and shows no number, while none is set", async () => {
    const district = await db.prisma.district.findUniqueOrThrow({ where: { code: "1727259" } });
    const mahalla = await db.prisma.mahalla.findFirstOrThrow({ where: { districtId: district.id } });
    const known = await createCitizen(db.prisma, { locale: "uz", mahallaId: mahalla.id });
    const c = new Conversation(db, { phone: known.phone });
    await c.start("7");
    expect(c.screen.body.map((t) => (t as { key: string }).key)).toEqual(["help.title", "help.inson_go"]);
    expect(screenText(c.screen, "uz")).toContain(district.nameUz);
    expect(screenText(c.screen, "uz")).not.toMatch(/\d{3}/);
    const unknown = await createCitizen(db.prisma, { locale: "ru" });
    const d = new Conversation(db, { phone: unknown.phone });
    await d.start("7");
    expect(d.screen.body.map((t) => (t as { key: string }).key)).toEqual(["help.title", "help.inson_any"]);
  });
});
