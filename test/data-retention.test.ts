import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgePersonalData, startDataRetention } from "../app/data-retention.js";
import { createLogger } from "../app/logger.js";
import { maskSmsText } from "../core/notifications/logging-sms.js";
import { NotificationRenderer } from "../core/notifications/render.js";
import { makeCitizen } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { waitUntil } from "./support/faults.js";
import { outboxRow } from "./support/notify.js";

let db: TestDatabase;
const now = new Date("2026-11-25T12:00:00Z");
const DAY = 86_400_000;
const periods = { draftDays: 30, outboxTextDays: 14 };
const daysAgo = (days: number) => new Date(now.getTime() - days * DAY);

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

async function backdate(table: "Draft" | "Outbox", id: number, when: Date) {
  await db.sql.query(`update "${table}" set "updatedAt" = $1::timestamp where id = $2`, [when.toISOString(), id]);
}

async function draft(lastTouched: Date) {
  const citizen = await makeCitizen(db.prisma);
  const row = await db.prisma.draft.create({
    data: { citizenId: citizen.id, kind: "apply", data: { address: "Navoiy 12", pinfl: "31234567890123" } },
  });
  await backdate("Draft", row.id, lastTouched);
  return row.id;
}

async function notification(status: string, lastChanged: Date, extra: { providerMessageId?: string } = {}) {
  const row = await outboxRow(db.prisma, {
    templateKey: "notify.visit_booked",
    params: { reference: "V-1234-5678", date: "12.12.2026", part: "ertalab", reason: "Psixologik yordam" },
  });
  await db.prisma.outbox.update({ where: { id: row.id }, data: { status, ...extra } });
  await backdate("Outbox", row.id, lastChanged);
  return row.id;
}

const params = async (id: number) =>
  (await db.prisma.outbox.findUniqueOrThrow({ where: { id }, select: { params: true } })).params;

describe("personal data past its retention period", () => {
  it("deletes untouched drafts and blanks finished notifications' texts, keeping the reference; nothing else", async () => {
    const oldDraft = await draft(daysAgo(31));
    const recentDraft = await draft(daysAgo(29));
    const original = { reference: "V-1234-5678", date: "12.12.2026", part: "ertalab", reason: "Psixologik yordam" };
    const finished = {
      sent: await notification("sent", daysAgo(15)),
      delivered: await notification("delivered", daysAgo(40)),
      logged: await notification("logged", daysAgo(15)),
      dead: await notification("dead", daysAgo(15)),
      reportedFailed: await notification("failed", daysAgo(15), { providerMessageId: "ATXid_failed_1" }),
    };
    const kept = {
      recentlySent: await notification("sent", daysAgo(13)),
      stillToRetry: await notification("failed", daysAgo(20)),
      pending: await notification("pending", daysAgo(20)),
    };

    expect(await purgePersonalData(db.sql, now, periods)).toEqual({ drafts: 1, outboxTexts: 5 });

    const drafts = (await db.prisma.draft.findMany({ select: { id: true } })).map((d) => d.id);
    expect(drafts).toContain(recentDraft);
    expect(drafts).not.toContain(oldDraft);
    for (const id of Object.values(finished)) {
      expect(await params(id)).toEqual({ reference: "V-1234-5678", date: "…", part: "…", reason: "…", purged: "yes" });
    }
    for (const id of Object.values(kept)) expect(await params(id)).toEqual(original);

    // The API's view of a purged row still reads, without the details.
    const row = await db.prisma.outbox.findUniqueOrThrow({ where: { id: finished.sent } });
    const text = new NotificationRenderer().text(row);
    expect(text).toContain("V-1234-5678");
    expect(text).not.toContain("Psixologik");
    expect(text).not.toContain("{{");

    // A second purge finds nothing more: each row is rewritten once.
    expect(await purgePersonalData(db.sql, now, periods)).toEqual({ drafts: 0, outboxTexts: 0 });
  });

  it("runs at start and then periodically, logging what it purged", async () => {
    const id = await draft(daysAgo(45));
    const lines: string[] = [];
    const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
    const retention = startDataRetention({ sql: db.sql, logger, periods, clock: () => now, everyMs: 60_000 });
    try {
      expect(await waitUntil(async () => (await db.prisma.draft.count({ where: { id } })) === 0, 10_000, 20)).toBe(
        true,
      );
    } finally {
      retention.stop();
    }
    expect(await waitUntil(async () => lines.some((l) => l.includes('"drafts":1')), 5_000, 20)).toBe(true);
  });
});

describe("SMS texts written to the log (no SMS credentials)", () => {
  it("mask phone numbers, PINFLs and card numbers, and keep references and the wording", () => {
    const text = "A-1234-5678 arizangiz: +998901234567, JSHSHIR 31234567890123, karta 8600123456789012.";
    const masked = maskSmsText(text);
    expect(masked).toBe("A-1234-5678 arizangiz: +99890*****67, JSHSHIR 31**********23, karta 86************12.");
  });
});
