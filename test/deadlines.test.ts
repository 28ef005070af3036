import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newReference } from "../core/domain/reference.js";
import { seedHolidays } from "../core/reference/seed.js";
import { calendarFor } from "../core/services/calendar.js";
import { DeadlineService } from "../core/services/deadlines.js";
import { VisitService } from "../core/services/visits.js";
import { apiApp, auth, makeApplication } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, setupWorld, type World } from "./support/fixtures.js";

/**
 * Deadlines on the working-day calendar, with Tuesday 8 December 2026 (Constitution Day, seeded)
 * on the way. On PostgreSQL (DATABASE_URL) the concurrent claims really race on several
 * connections; on the embedded database they are serialised and the same counts must hold.
 */
let db: TestDatabase;
let world: World;
let deadlines: DeadlineService;
let app: FastifyInstance;
let now = new Date();
const tashkent = (local: string) => new Date(`${local}+05:00`);

beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
  await seedHolidays(db.prisma, tashkent("2026-06-01T12:00"));
  calendarFor(db.prisma).invalidate();
  deadlines = new DeadlineService(db.prisma);
  app = await apiApp(db.prisma, { clock: () => now });
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const put = (url: string, payload: unknown) =>
  app.inject({ method: "PUT", url, headers: auth, payload: payload as object });
const get = (url: string) => app.inject({ method: "GET", url, headers: auth });

let reasonSerial = 0;
/** A visit reason of its own (so tests do not share deadlines) with the given acceptance deadline. */
async function reason(acceptance: { amount: number; unit: "hours" | "working_days" }, visitWorkingDays = 5) {
  reasonSerial++;
  const code = `TEST_REASON_${reasonSerial}`;
  await db.prisma.visitReason.create({
    data: {
      code,
      sortOrder: 100 + reasonSerial,
      active: false,
      nameUz: code,
      nameUzCyrl: code,
      nameRu: code,
      shortUz: code,
      shortUzCyrl: code,
      shortRu: code,
    },
  });
  const answer = await put("/api/v1/service-deadlines", { visitReasons: [{ code, acceptance, visitWorkingDays }] });
  expect(answer.statusCode).toBe(200);
  return db.prisma.visitReason.findUniqueOrThrow({ where: { code } });
}

async function visit(reasonId: number, createdAt: Date, slotDay: string, status = "requested") {
  const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
  return db.prisma.visitRequest.create({
    data: {
      reference: newReference("V"),
      citizenId: citizen.id,
      mahallaId: world.mahallaId,
      reasonId,
      slotDate: new Date(`${slotDay}T00:00:00Z`),
      slotPart: "morning",
      status,
      assignedStaffId: world.workerId,
      channel: "ussd",
      createdAt,
    },
  });
}

describe("deadline claims, with a fake clock through a holiday", () => {
  it("reminds once before the acceptance deadline and escalates once after it, skipping the holiday", async () => {
    const r = await reason({ amount: 4, unit: "hours" });
    // Monday 16:00 + 4 office hours: 2 h on Monday, Tuesday the 8th is a holiday, due Wednesday 11:00.
    const v = await visit(r.id, tashkent("2026-12-07T16:00"), "2026-12-10");
    const mine = <T extends { subjectId: number }>(claimed: T[]) => claimed.filter((c) => c.subjectId === v.id);

    expect(mine(await deadlines.claimReminders(tashkent("2026-12-08T10:00")))).toEqual([]);
    expect(mine(await deadlines.claimEscalations(tashkent("2026-12-08T17:00")))).toEqual([]);
    const reminded = mine(await deadlines.claimReminders(tashkent("2026-12-09T09:30")));
    expect(reminded).toMatchObject([{ kind: "reminder", subjectKind: "visit", reference: v.reference }]);
    expect(reminded[0]?.deadlineAt).toEqual(tashkent("2026-12-09T11:00"));
    expect(mine(await deadlines.claimReminders(tashkent("2026-12-09T10:00")))).toEqual([]);

    expect(mine(await deadlines.claimEscalations(tashkent("2026-12-09T10:59")))).toEqual([]);
    expect(mine(await deadlines.claimEscalations(tashkent("2026-12-09T11:01")))).toHaveLength(1);
    expect(mine(await deadlines.claimEscalations(tashkent("2026-12-10T11:01")))).toEqual([]);
    expect(await db.prisma.escalation.count({ where: { subjectKind: "visit", subjectId: v.id } })).toBe(2);
  });

  it("does not escalate a request that was accepted in time", async () => {
    const r = await reason({ amount: 1, unit: "working_days" });
    const v = await visit(r.id, tashkent("2026-12-07T10:00"), "2026-12-10", "accepted");
    const claimed = await deadlines.claimEscalations(tashkent("2026-12-11T10:00"));
    expect(claimed.filter((c) => c.subjectId === v.id)).toEqual([]);
  });

  it("tells the citizen once that a decision is late, counted in working days", async () => {
    await put("/api/v1/service-deadlines", { benefitTypes: [{ code: "DISABILITY_PENSION", decisionWorkingDays: 2 }] });
    const citizen = await createCitizen(db.prisma, { mahallaId: world.mahallaId });
    // Friday the 4th + 2 working days: Monday 7th, (Tuesday 8th off) Wednesday 9th; due at its end.
    const a = await makeApplication(
      db.prisma,
      citizen.id,
      "submitted",
      "DISABILITY_PENSION",
      tashkent("2026-12-04T15:00"),
    );
    const mine = (claimed: { subjectKind: string; subjectId: number }[]) =>
      claimed.filter((c) => c.subjectKind === "application" && c.subjectId === a.id);
    expect(mine(await deadlines.claimLateNotices(tashkent("2026-12-09T23:59")))).toEqual([]);
    expect(mine(await deadlines.claimLateNotices(tashkent("2026-12-10T08:00")))).toMatchObject([
      { kind: "late_notice", reference: a.reference, deadlineAt: tashkent("2026-12-10T00:00") },
    ]);
    expect(mine(await deadlines.claimLateNotices(tashkent("2026-12-11T08:00")))).toEqual([]);

    const overdue = await deadlines.overdueApplications(tashkent("2026-12-11T08:00"));
    const item = overdue.items.find((i) => i.reference === a.reference);
    expect(item?.late).toEqual({ deadlineAt: tashkent("2026-12-10T00:00"), late: 2, unit: "working_days" });
  });

  it("gives each overdue item to exactly one of ten claims made at once", async () => {
    const r = await reason({ amount: 1, unit: "working_days" });
    const created = [];
    for (let i = 0; i < 12; i++) created.push(await visit(r.id, tashkent("2026-12-01T10:00"), "2026-12-03"));
    const at = tashkent("2026-12-03T12:00");
    const rounds = await Promise.all(Array.from({ length: 10 }, () => deadlines.claimEscalations(at)));
    const ids = new Set(created.map((v) => v.id));
    const won = rounds.flat().filter((c) => ids.has(c.subjectId));
    expect(won).toHaveLength(12);
    expect(new Set(won.map((c) => c.subjectId)).size).toBe(12);
    expect(
      await db.prisma.escalation.count({
        where: { kind: "escalation", subjectId: { in: [...ids] }, subjectKind: "visit" },
      }),
    ).toBe(12);
  });
});

describe("holidays and service deadlines through the API", () => {
  it("refuses a date that does not exist, an unknown kind and an unknown code with clear 400s", async () => {
    const badDay = await put("/api/v1/holidays", [{ date: "2027-02-30", kind: "holiday" }]);
    expect(badDay.statusCode).toBe(400);
    expect(badDay.json().error.code).toBe("INVALID_DATE");
    expect((await put("/api/v1/holidays", [{ date: "2027-03-10", kind: "vacation" }])).statusCode).toBe(400);
    expect((await put("/api/v1/holidays", [{ date: "10.03.2027", kind: "holiday" }])).statusCode).toBe(400);
    const unknown = await put("/api/v1/service-deadlines", {
      benefitTypes: [{ code: "NO_SUCH", decisionWorkingDays: 5 }],
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe("UNKNOWN_BENEFIT_TYPE");
    const zero = await put("/api/v1/service-deadlines", {
      benefitTypes: [{ code: "AGE_PENSION", decisionWorkingDays: 0 }],
    });
    expect(zero.statusCode).toBe(400);
  });

  it("a holiday set through the API leaves the booking window at once, and is audited", async () => {
    const visits = new VisitService(db.prisma);
    const monday = tashkent("2027-03-01T10:00");
    const before = (await visits.freeSlots(world.mahallaId, monday)).map((s) => s.date);
    expect(before).toContain("2027-03-03");
    // Ramazon hayit 2027 (a movable holiday) on Wednesday 3 March, say; Saturday 6 March worked instead.
    const answer = await put("/api/v1/holidays", [
      { date: "2027-03-03", kind: "holiday", name: "Ramazon hayit" },
      { date: "2027-03-06", kind: "working_day" },
    ]);
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual([
      { date: "2027-03-03", kind: "holiday", name: "Ramazon hayit" },
      { date: "2027-03-06", kind: "working_day", name: null },
    ]);
    const after = [...new Set((await visits.freeSlots(world.mahallaId, monday)).map((s) => s.date))];
    // Monday 8 March is Women's Day (seeded).
    expect(after).toEqual(["2027-03-02", "2027-03-04", "2027-03-05", "2027-03-06", "2027-03-09"]);
    expect(await db.prisma.auditLog.count({ where: { action: "holidays.set", actor: "api:backoffice" } })).toBe(1);

    const listed = await get("/api/v1/holidays?from=2027-03-01&to=2027-03-31");
    expect(listed.json().map((h: { date: string }) => h.date)).toEqual([
      "2027-03-03",
      "2027-03-06",
      "2027-03-08",
      "2027-03-21",
      "2027-03-22",
    ]);
    // kind null gives the day back.
    expect((await put("/api/v1/holidays", [{ date: "2027-03-03", kind: null }])).statusCode).toBe(200);
    expect((await visits.freeSlots(world.mahallaId, monday)).map((s) => s.date)).toContain("2027-03-03");
  });

  it("lists late visits and applications with how late, and refuses filters it does not apply", async () => {
    const r = await reason({ amount: 2, unit: "hours" });
    const v = await visit(r.id, tashkent("2026-12-14T09:00"), "2026-12-15");
    now = tashkent("2026-12-14T15:30");
    const visits = await get("/api/v1/visit-requests?overdue=true&limit=200");
    expect(visits.statusCode).toBe(200);
    const item = visits.json().items.find((i: { reference: string }) => i.reference === v.reference);
    expect(item.acceptanceLate).toEqual({ deadlineAt: "2026-12-14T06:00:00.000Z", late: 5, unit: "hours" });
    expect(item.visitLate).toBeNull();
    expect(item.mahalla.code).toBeDefined();

    const apps = await get("/api/v1/applications?overdue=true");
    expect(apps.statusCode).toBe(200);
    expect(apps.json().items.every((i: { late: { late: number } }) => i.late.late >= 0)).toBe(true);
    const plain = await get("/api/v1/applications");
    expect(plain.json().items.some((i: object) => "late" in i)).toBe(false);

    const refused = await get("/api/v1/applications?overdue=true&status=submitted");
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe("OVERDUE_FILTER");
    expect((await get("/api/v1/visit-requests?overdue=maybe")).statusCode).toBe(400);
  });

  it("documents the routes in the OpenAPI document", async () => {
    const doc = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    for (const path of ["/api/v1/service-deadlines", "/api/v1/holidays"]) {
      expect(Object.keys(doc.paths[path])).toEqual(expect.arrayContaining(["get", "put"]));
    }
    const overdue = doc.paths["/api/v1/applications"].get.parameters.map((p: { name: string }) => p.name);
    expect(overdue).toContain("overdue");
  });
});
