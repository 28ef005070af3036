import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCore } from "../app/core.js";
import type { PrismaClient } from "../core/db/database.js";
import { createCitizen, nextPinfl } from "./support/fixtures.js";
import { nextPhone, shown, startApp, type TestApp, UssdPhone } from "./ussd-support.js";

/**
 * Payment day is mostly people checking their card: what that costs the database per step is what
 * decides how many callers one server can answer, so the count is pinned here.
 */
let t: TestApp;

beforeAll(async () => {
  // No notification worker: nothing else talks to the database while statements are counted.
  // Statements per step are counted on one-page screens (the widest budget); paging at the
  // default 80 adds page turns, counted by test/ussd-inputs.test.ts, not statements per step.
  t = await startApp({ NOTIFY_WORKER: "off", USSD_MAX_CHARS_UCS2: "182" });
});
afterAll(() => t.close());

/** Statements the server sends while `action` runs. */
async function statementsOf(action: () => Promise<unknown>): Promise<number> {
  const before = t.db.queryCount();
  await action();
  return t.db.queryCount() - before;
}

describe("a card check by a caller the service already knows", () => {
  it("costs two statements to dial and three to show the card and its newest payments", async () => {
    const phone = new UssdPhone(t.app, nextPhone());
    const citizen = await createCitizen(t.db.prisma, { phone: phone.phoneNumber, locale: "ru" });
    const benefit = await t.db.prisma.benefitType.findUniqueOrThrow({ where: { code: "AGE_PENSION" } });
    const card = await t.db.prisma.socialCard.create({
      data: {
        externalId: `cost-card-${citizen.id}`,
        citizenId: citizen.id,
        maskedNumber: "**** 7781",
        status: "active",
      },
    });
    await t.db.prisma.payment.createMany({
      data: [1, 2, 3, 4].map((month) => ({
        externalId: `cost-pay-${citizen.id}-${month}`,
        citizenId: citizen.id,
        cardId: card.id,
        benefitTypeId: benefit.id,
        amountTiyin: BigInt(month * 10_000_000),
        period: `2026-0${month}`,
        creditedAt: new Date(Date.UTC(2026, month - 1, 5, 6)),
      })),
    });

    // The session read brings the caller along: no lookup of the phone of its own.
    expect(await statementsOf(() => phone.dial())).toBe(2);
    // Session read, cards and payments together, session write.
    expect(await statementsOf(() => phone.send("3"))).toBe(3);

    expect(phone.ended).toBe(true);
    expect(phone.screen).toContain("**** 7781");
    // The three newest, newest first; January is left out.
    const shownDates = phone.screen.match(/\d\d\.\d\d\.2026/g);
    expect(shownDates).toEqual(["05.04.2026", "05.03.2026", "05.02.2026"]);
    expect(phone.screen).toContain("400 000");
  });
});

describe("a status check by a caller the service already knows", () => {
  it("costs three statements for the list, three for an application with its history, two to turn its page", async () => {
    const phone = new UssdPhone(t.app, nextPhone());
    const citizen = await createCitizen(t.db.prisma, { phone: phone.phoneNumber, locale: "uz" });
    const benefit = await t.db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    const core = createCore(t.db);
    const reference = await core.services.applications.submit({
      citizenId: citizen.id,
      benefitTypeId: benefit.id,
      answers: { household_size: 4 },
      channel: "ussd",
      locale: "uz",
    });
    await core.services.applications.changeStatus({ reference, status: "under_review", actor: "api:test" });
    // A rejection with its reason: the details then take two pages even on the widest budget.
    await core.services.applications.changeStatus({
      reference,
      status: "rejected",
      reason:
        "Oila daromadi belgilangan chegaradan yuqori; hujjatlarni yangilab, mahalla idorasi orqali qayta murojaat qiling",
      actor: "api:test",
    });

    // *1146*2#: straight to the list.
    expect(await statementsOf(() => phone.dial("2"))).toBe(3);
    expect(phone.screen).toContain(shown("uz", "status.application.rejected"));
    expect(await statementsOf(() => phone.send("1"))).toBe(3);
    expect(phone.screen).toContain(reference);
    // The details on this page, then (98) the rejection's reason on the next.
    expect(phone.screen).toContain("98. ");
    // A page turn shows the stored screen again: the session's read and write only.
    expect(await statementsOf(() => phone.send("98"))).toBe(2);
    expect(phone.screen).toContain("belgilangan chegaradan");
  });
});

describe("a visit booking's reads by a caller the service already knows", () => {
  it("costs two statements for the reasons (reference data is cached) and three for the free slots", async () => {
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" } });
    const caller = async () => {
      const phone = new UssdPhone(t.app, nextPhone());
      await createCitizen(t.db.prisma, { phone: phone.phoneNumber, locale: "uz", mahallaId: mahalla.id });
      return phone;
    };
    // A first caller fills the caches (the reasons, the working calendar) as any earlier caller would.
    const first = await caller();
    await first.dial("4");
    await first.send("1");

    const phone = await caller();
    expect(await statementsOf(() => phone.dial("4"))).toBe(2);
    expect(phone.screen).toContain(shown("uz", "visit.choose_reason"));
    // Session read, the places taken in the coming days, session write.
    expect(await statementsOf(() => phone.send("1"))).toBe(3);
    expect(phone.screen).toMatch(/\d\d\.\d\d\.\d{4}/);
  });
});

describe("the steps that write: a submission and a booking by a caller the service already knows", () => {
  /** The same app on the same database, with every Prisma operation it runs written down. */
  let watched: TestApp;
  const prismaCalls: string[] = [];

  beforeAll(async () => {
    const prisma = t.db.prisma.$extends({
      query: {
        $allOperations({ model, operation, args, query }) {
          prismaCalls.push(`${model ?? ""}.${operation}`);
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    watched = await startApp({ NOTIFY_WORKER: "off", USSD_MAX_CHARS_UCS2: "182" }, { ...t.db, prisma });
  });
  afterAll(() => watched.close());

  /** Statements and Prisma operations of the server while `action` runs. */
  async function costOf(action: () => Promise<unknown>): Promise<{ statements: number; prisma: string[] }> {
    prismaCalls.length = 0;
    const statements = await statementsOf(action);
    return { statements, prisma: [...prismaCalls] };
  }

  it("runs a card check, a status check and a visit's reads without Prisma once reference data is cached", async () => {
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" } });
    const phone = new UssdPhone(watched.app, nextPhone());
    const citizen = await createCitizen(t.db.prisma, { phone: phone.phoneNumber, locale: "uz", mahallaId: mahalla.id });
    const benefit = await t.db.prisma.benefitType.findUniqueOrThrow({ where: { code: "CHILD_ALLOWANCE" } });
    await createCore(t.db).services.applications.submit({
      citizenId: citizen.id,
      benefitTypeId: benefit.id,
      answers: { household_size: 4 },
      channel: "ussd",
      locale: "uz",
    });
    // An earlier caller's visit screens fill the caches (reasons, the working calendar).
    const earlier = new UssdPhone(watched.app, nextPhone());
    await createCitizen(t.db.prisma, { phone: earlier.phoneNumber, locale: "uz", mahallaId: mahalla.id });
    await earlier.dial("4");
    await earlier.send("1");

    const status = new UssdPhone(watched.app, phone.phoneNumber);
    const visit = new UssdPhone(watched.app, phone.phoneNumber);
    const { statements, prisma } = await costOf(async () => {
      await phone.dial("3");
      await status.dial("2");
      await status.send("1");
      await visit.dial("4");
      await visit.send("1");
    });
    expect(prisma).toEqual([]);
    // Two for each of the five steps at least (the session's claim and save).
    expect(statements).toBeGreaterThanOrEqual(10);
    expect(phone.ended).toBe(true);
    expect(status.screen).toMatch(/A-?\d/);
    expect(visit.screen).toMatch(/\d\d\.\d\d\.\d{4}/);
  });

  it("submits an application in plain SQL: no Prisma, six statements with the transaction's begin and commit", async () => {
    const phone = new UssdPhone(watched.app, nextPhone());
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" } });
    const citizen = await createCitizen(t.db.prisma, {
      phone: phone.phoneNumber,
      locale: "uz",
      mahallaId: mahalla.id,
      pinfl: nextPinfl(),
    });
    await phone.dial("1");
    for (const input of ["1", "4", "2", "1500000"]) await phone.send(input);
    expect(phone.ended).toBe(false);

    // Session read, begin, the citizen's lock, the decision and its writes, commit, session write.
    expect(await costOf(() => phone.send("1"))).toEqual({ statements: 6, prisma: [] });
    expect(phone.ended).toBe(true);
    expect(await t.db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(1);
    expect(await t.db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(1);
  });

  it("books a visit in plain SQL: no Prisma, the half-day locked and counted inside the transaction", async () => {
    const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { active: true }, orderBy: { id: "asc" } });
    const phone = new UssdPhone(watched.app, nextPhone());
    const citizen = await createCitizen(t.db.prisma, { phone: phone.phoneNumber, locale: "uz", mahallaId: mahalla.id });
    await phone.dial("4");
    for (const input of ["1", "1", "Navoiy ko'chasi 12"]) await phone.send(input);
    expect(phone.ended).toBe(false);

    // Session read, begin, who is told, the half-day's lock, its count, the visit with its notices, commit, session write.
    expect(await costOf(() => phone.send("1"))).toEqual({ statements: 8, prisma: [] });
    expect(phone.ended).toBe(true);
    expect(await t.db.prisma.visitRequest.count({ where: { citizenId: citizen.id } })).toBe(1);
  });
});
