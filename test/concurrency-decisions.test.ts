import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../core/domain/errors.js";
import { newReference } from "../core/domain/reference.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { AppealService } from "../core/services/appeals.js";
import { apiApp, auth, makeApplication, makeCitizen } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";

/**
 * Back-office decisions and citizens' appeals sent at once. On PostgreSQL (DATABASE_URL) the
 * requests really run concurrently on several connections; on the embedded database they are
 * serialised and the same counts must hold.
 */
let db: TestDatabase;
let app: FastifyInstance;
let appeals: AppealService;
const now = new Date("2026-11-25T06:00:00Z");

beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  app = await apiApp(db.prisma, { clock: () => now });
  appeals = new AppealService(db.prisma);
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const patch = (reference: string, payload: object) =>
  app.inject({ method: "PATCH", url: `/api/v1/applications/${reference}`, headers: auth, payload });

const DECISION_TEMPLATES = [
  "notify.application_approved",
  "notify.application_rejected",
  "notify.application_rejected_reason",
  "notify.application_status",
];
const decisionNotes = (citizenId: number) =>
  db.prisma.outbox.count({ where: { citizenId, templateKey: { in: DECISION_TEMPLATES } } });

/**
 * Sends the requests at once. On PostgreSQL the application's row is held by another connection
 * until every request has read it and waits to write it, so all of them decide on the same status
 * (the race the service must survive, every time rather than by luck). The embedded database has
 * one connection: there the requests run one after another.
 */
async function atOnce<T>(applicationId: number, requests: (() => Promise<T>)[]): Promise<T[]> {
  if (db.target.kind !== "postgres") return Promise.all(requests.map((r) => r()));
  const holder = new pg.Client({ connectionString: db.target.url });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query(`select id from "Application" where id = $1 for update`, [applicationId]);
    const answers = Promise.all(requests.map((r) => r()));
    const deadline = Date.now() + 5_000;
    for (;;) {
      // Inside a transaction the activity view is a snapshot taken once: drop it to see the waits.
      await holder.query("select pg_stat_clear_snapshot()");
      const { rows } = await holder.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
      );
      if ((rows[0]?.n ?? 0) >= requests.length || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await holder.query("commit");
    return await answers;
  } finally {
    await holder.end();
  }
}

describe("two decisions on one application at once", () => {
  it("approve and reject sent together: one 200, one 409 refusal, one history row and one notification (10 rounds)", async () => {
    const winners: string[] = [];
    for (let round = 0; round < 10; round++) {
      const citizen = await makeCitizen(db.prisma);
      const application = await makeApplication(db.prisma, citizen.id, "under_review");
      const bodies = [{ status: "rejected", reason: "Daromad meʼyordan yuqori" }, { status: "approved" }];
      // One after another (embedded database), approve then reject would be a revocation, which
      // the life cycle allows; only truly concurrent requests can be sent in either order.
      if (round % 2 && db.target.kind === "postgres") bodies.reverse();

      const answers = await atOnce(
        application.id,
        bodies.map((body) => () => patch(application.reference, body)),
      );

      const codes = answers.map((a) => a.statusCode).sort();
      expect(codes).toEqual([200, 409]);
      const won = answers.find((a) => a.statusCode === 200);
      const lost = answers.find((a) => a.statusCode === 409);
      expect(["CONFLICT", "ILLEGAL_TRANSITION"]).toContain(lost?.json().error.code);
      const stored = await db.prisma.application.findUniqueOrThrow({
        where: { id: application.id },
        include: { history: true },
      });
      expect(won?.json().status).toBe(stored.status);
      winners.push(stored.status);
      // The row the fixture wrote, then the one decision.
      expect(stored.history.map((h) => h.toStatus).sort()).toEqual([stored.status, "under_review"].sort());
      expect(await decisionNotes(citizen.id)).toBe(1);
      expect(
        await db.prisma.auditLog.count({ where: { action: "application.status", entityId: application.reference } }),
      ).toBe(1);
    }
    expect(winners.every((s) => s === "approved" || s === "rejected")).toBe(true);
  });

  it("the same approval sent twice at once: both answer 200 and the citizen is notified once", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id, "submitted");

    const answers = await atOnce(
      application.id,
      [0, 1, 2].map(() => () => patch(application.reference, { status: "approved" })),
    );

    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(answers.every((a) => a.json().status === "approved")).toBe(true);
    expect(await decisionNotes(citizen.id)).toBe(1);
    expect(await db.prisma.applicationStatusChange.count({ where: { applicationId: application.id } })).toBe(2);
  });

  it("a decision that the life cycle does not allow after the winner's is refused as ILLEGAL_TRANSITION", async () => {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id, "approved");
    expect((await patch(application.reference, { status: "paid" })).statusCode).toBe(200);
    const late = await patch(application.reference, { status: "rejected", reason: "Kech" });
    expect(late.statusCode).toBe(409);
    expect(late.json().error).toMatchObject({ code: "ILLEGAL_TRANSITION", from: "paid", to: "rejected" });
    expect(await decisionNotes(citizen.id)).toBe(1);
  });
});

describe("one open appeal per application", () => {
  async function rejected() {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id, "rejected");
    await db.prisma.application.update({ where: { id: application.id }, data: { decidedAt: now } });
    return { citizen, application };
  }
  const file = (citizenId: number, applicationReference: string) =>
    appeals.file({
      citizenId,
      applicationReference,
      reason: "Oilamda uch nafar bola bor, daromad kam",
      channel: "ussd",
      now,
    });

  it("a double submit files one appeal and one notification; the other copy is told it is already filed (10 rounds)", async () => {
    for (let round = 0; round < 10; round++) {
      const { citizen, application } = await rejected();

      const results = await Promise.allSettled([0, 1, 2].map(() => file(citizen.id, application.reference)));

      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results.filter((x) => x.status === "rejected")) {
        expect(r.reason).toBeInstanceOf(DomainError);
        expect(r.reason).toMatchObject({ code: "ALREADY_APPEALED", text: { key: "appeal.already_filed" } });
      }
      expect(await db.prisma.appeal.count({ where: { applicationId: application.id } })).toBe(1);
      expect(
        await db.prisma.outbox.count({ where: { citizenId: citizen.id, templateKey: "notify.appeal_received" } }),
      ).toBe(1);
    }
  });

  it("the database itself refuses a second open appeal, and allows a new one once the first is decided", async () => {
    const { citizen, application } = await rejected();
    const row = (status: string) => ({
      reference: newReference("P"),
      applicationId: application.id,
      citizenId: citizen.id,
      reason: "Qayta koʻrib chiqishni soʻrayman",
      status,
      channel: "telegram",
    });
    const first = await db.prisma.appeal.create({ data: row("received") });
    await expect(db.prisma.appeal.create({ data: row("under_review") })).rejects.toMatchObject({ code: "P2002" });
    await db.prisma.appeal.update({ where: { id: first.id }, data: { status: "dismissed", decidedAt: now } });
    await expect(db.prisma.appeal.create({ data: row("received") })).resolves.toMatchObject({ status: "received" });
  });

  it("a second appeal sent after the first is refused the same way, and an unknown one as not appealable", async () => {
    const { citizen, application } = await rejected();
    await file(citizen.id, application.reference);
    await expect(file(citizen.id, application.reference)).rejects.toMatchObject({ code: "ALREADY_APPEALED" });
    await expect(file(citizen.id, "A-0000-0000")).rejects.toMatchObject({ code: "NOT_APPEALABLE" });
  });
});
