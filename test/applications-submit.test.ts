import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlExecutor } from "../core/db/adapters.js";
import { txSql } from "../core/db/database.js";
import { SUBMIT } from "../core/db/sql/application.js";
import { run } from "../core/db/sql/statement.js";
import { OPEN_APPLICATION_STATUSES } from "../core/domain/statuses.js";
import { outboxRowParams } from "../core/notifications/outbox.js";
import { MAX_APPLICATIONS_PER_DAY } from "../core/services/applications.js";
import { createServices } from "../core/services/index.js";
import { isUniqueViolation, withFreshReference } from "../core/services/references.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld } from "./support/fixtures.js";

// The submission is two plain-SQL statements (core/db/sql/application.ts): these pin that it still
// writes exactly what the Prisma version wrote, and nothing when it refuses.

let db: TestDatabase;
let benefits: { id: number; nameUz: string; nameUzCyrl: string; nameRu: string }[];
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
  benefits = await db.prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" } });
});
afterAll(() => db?.close());

const services = () => createServices(db.prisma, { sql: db.sql });
const benefit = (i: number) => benefits[i] as (typeof benefits)[number];

describe("a submission", () => {
  it("queues the notice on the citizen's Telegram chat with the reference and benefit names, on SMS when made by USSD", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "ru", pinfl: nextPinfl() });
    await db.prisma.citizen.update({ where: { id: citizen.id }, data: { telegramChatId: 900_000_000_123n } });
    await db.prisma.draft.create({ data: { citizenId: citizen.id, kind: "apply", data: { step: "summary" } } });
    const b = benefit(0);
    const telegram = await services().applications.submit({
      citizenId: citizen.id,
      benefitTypeId: b.id,
      answers: { household_size: 4 },
      channel: "telegram",
      locale: "ru",
    });
    const ussd = await services().applications.submit({
      citizenId: citizen.id,
      benefitTypeId: benefit(1).id,
      answers: {},
      channel: "ussd",
      locale: "ru",
    });
    const rows = await db.prisma.outbox.findMany({ where: { citizenId: citizen.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.channel, r.recipientChatId, r.recipientPhone, r.locale, r.status, r.staffId])).toEqual([
      ["telegram", 900_000_000_123n, citizen.phone, "ru", "pending", null],
      ["sms", null, citizen.phone, "ru", "pending", null],
    ]);
    expect(rows[0]?.templateKey).toBe("notify.application_submitted");
    expect(rows[0]?.params).toEqual({
      reference: telegram,
      benefit: { names: { uz: b.nameUz, "uz-Cyrl": b.nameUzCyrl, ru: b.nameRu } },
    });
    expect(rows[1]?.params).toMatchObject({ reference: ussd });

    const app = await db.prisma.application.findUniqueOrThrow({
      where: { reference: telegram },
      include: { history: true },
    });
    expect(app).toMatchObject({
      status: "submitted",
      channel: "telegram",
      locale: "ru",
      answers: { household_size: 4 },
    });
    expect(app.history.map((h) => [h.fromStatus, h.toStatus, h.actor])).toEqual([[null, "submitted", "citizen"]]);
    // Stored as UTC like every timestamp Prisma writes: within a minute of now, not hours off.
    expect(Math.abs(app.submittedAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await db.prisma.draft.count({ where: { citizenId: citizen.id } })).toBe(0);
  });

  it("writes nothing when refused as a duplicate or past the daily limit, and keeps the draft", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "uz", pinfl: nextPinfl() });
    const submit = (i: number) =>
      services().applications.submit({
        citizenId: citizen.id,
        benefitTypeId: benefit(i).id,
        answers: {},
        channel: "ussd",
        locale: "uz",
      });
    const first = await submit(0);
    await db.prisma.draft.create({ data: { citizenId: citizen.id, kind: "apply", data: {} } });
    await expect(submit(0)).rejects.toMatchObject({
      code: "DUPLICATE_APPLICATION",
      text: { key: "apply.duplicate", params: { reference: first } },
    });
    for (let i = 1; i < MAX_APPLICATIONS_PER_DAY; i++) await submit(i);
    await db.prisma.draft.create({ data: { citizenId: citizen.id, kind: "apply", data: {} } });
    await expect(submit(MAX_APPLICATIONS_PER_DAY)).rejects.toMatchObject({
      code: "TOO_MANY_APPLICATIONS",
      text: { key: "errors.too_many_applications" },
    });
    expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(MAX_APPLICATIONS_PER_DAY);
    expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(MAX_APPLICATIONS_PER_DAY);
    expect(await db.prisma.draft.count({ where: { citizenId: citizen.id } })).toBe(1);
  });

  it("decides copies sent at once one at a time: one application per benefit, five a day, one notice each (5 rounds)", async () => {
    // The citizen's lock is taken inside the plain-SQL transaction: were begin, lock and decision
    // not on one connection, copies would pass the checks together.
    for (let round = 0; round < 5; round++) {
      const citizen = await createCitizen(db.prisma, { locale: "uz", pinfl: nextPinfl() });
      const submit = (i: number) =>
        services().applications.submit({
          citizenId: citizen.id,
          benefitTypeId: benefit(i).id,
          answers: {},
          channel: "ussd",
          locale: "uz",
        });
      const codes = async (attempts: Promise<string>[]) =>
        (await Promise.allSettled(attempts)).map((r) =>
          r.status === "fulfilled" ? "created" : (r.reason as { code?: string }).code,
        );
      // A double-tap of the same benefit, eight times over.
      const same = await codes(Array.from({ length: 8 }, () => submit(0)));
      expect(same.filter((c) => c === "created")).toHaveLength(1);
      expect(same.filter((c) => c === "DUPLICATE_APPLICATION")).toHaveLength(7);
      // Five more benefits at once, where four are left of the day's five.
      const others = await codes([1, 2, 3, 4, 5].map((i) => submit(i)));
      expect(others.filter((c) => c === "created")).toHaveLength(MAX_APPLICATIONS_PER_DAY - 1);
      expect(others.filter((c) => c === "TOO_MANY_APPLICATIONS")).toHaveLength(1);
      expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(MAX_APPLICATIONS_PER_DAY);
      expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(MAX_APPLICATIONS_PER_DAY);
    }
  });

  it.each([
    ["on the plain-SQL path a submission takes", "sql"],
    ["in a Prisma transaction", "prisma"],
  ] as const)(
    "fails on a taken reference, %s, with a unique violation withFreshReference retries, having written nothing",
    async (_how, path) => {
      const citizen = await createCitizen(db.prisma, { locale: "uz", pinfl: nextPinfl() });
      const taken = await services().applications.submit({
        citizenId: citizen.id,
        benefitTypeId: benefit(0).id,
        answers: {},
        channel: "ussd",
        locale: "uz",
      });
      const inTransaction = <T>(work: (tx: SqlExecutor) => Promise<T>) =>
        path === "sql" ? db.sql.transaction(work) : db.prisma.$transaction((tx) => work(txSql(tx)));
      const statement = (reference: string) =>
        inTransaction((tx) =>
          run(tx, SUBMIT, [
            citizen.id,
            benefit(1).id,
            [...OPEN_APPLICATION_STATUSES],
            new Date().toISOString(),
            reference,
            "{}",
            "ussd",
            "uz",
            MAX_APPLICATIONS_PER_DAY,
            ...outboxRowParams(
              { phone: citizen.phone, telegramChatId: null, locale: "uz" },
              { citizenId: citizen.id },
              { templateKey: "notify.application_submitted", params: { reference } },
            ),
          ]),
        );
      const failure = await statement(taken).catch((err: unknown) => err);
      expect(isUniqueViolation(failure, "reference")).toBe(true);
      expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(1);
      expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(1);

      // The first attempt is handed the taken reference: withFreshReference tries a fresh one.
      const tried: string[] = [];
      const reference = await withFreshReference("A", async (fresh) => {
        const use = tried.length === 0 ? taken : fresh;
        tried.push(use);
        await statement(use);
        return use;
      });
      expect(tried).toHaveLength(2);
      expect(reference).not.toBe(taken);
      expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(2);
      expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(2);
    },
  );
});
