import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServices } from "../core/services/index.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, setupWorld } from "./support/fixtures.js";

// A booking is three plain-SQL statements (core/db/sql/visit-request.ts): these pin that it still
// writes the visit, its history and the notices exactly as notifyStaff and notifyCitizen did.

let db: TestDatabase;
let world: Awaited<ReturnType<typeof setupWorld>>;
beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
});
afterAll(() => db?.close());

const services = () => createServices(db.prisma, { sql: db.sql });

describe("a visit booking", () => {
  it("tells the mahalla's worker on Telegram, then the USSD caller by SMS, with the reference, reason, date and part", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "uz-Cyrl", mahallaId: world.mahallaId });
    await db.prisma.citizen.update({ where: { id: citizen.id }, data: { telegramChatId: 900_000_000_456n } });
    const reason = await db.prisma.visitReason.findFirstOrThrow({ orderBy: { sortOrder: "asc" } });
    const [slot] = await services().visits.freeSlots(world.mahallaId, new Date());
    if (!slot) throw new Error("no free slot");
    const reference = await services().visits.book({
      citizenId: citizen.id,
      mahallaId: world.mahallaId,
      reasonId: reason.id,
      slot,
      address: "Navoiy 5",
      location: { latitude: 41.3, longitude: 69.2 },
      channel: "ussd",
    });
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference }, include: { history: true } });
    expect(visit).toMatchObject({
      citizenId: citizen.id,
      status: "requested",
      assignedStaffId: world.workerId,
      address: "Navoiy 5",
      latitude: 41.3,
      longitude: 69.2,
      slotPart: slot.part,
      channel: "ussd",
    });
    expect(visit.slotDate.toISOString().slice(0, 10)).toBe(slot.date);
    expect(visit.history.map((h) => [h.fromStatus, h.toStatus, h.actor])).toEqual([[null, "requested", "citizen"]]);

    const notices = await db.prisma.outbox.findMany({
      where: { params: { path: ["reference"], equals: reference } },
      orderBy: { id: "asc" },
    });
    const params = {
      reference,
      reason: { names: { uz: reason.nameUz, "uz-Cyrl": reason.nameUzCyrl, ru: reason.nameRu } },
      date: { date: slot.date },
      part: { t: `visit.part.${slot.part}` },
    };
    expect(
      notices.map((n) => [n.templateKey, n.channel, n.recipientChatId, n.staffId, n.citizenId, n.locale, n.params]),
    ).toEqual([
      ["notify.visit_requested_staff", "telegram", 7001n, world.workerId, null, "uz", params],
      ["notify.visit_booked", "sms", null, null, citizen.id, "uz-Cyrl", params],
    ]);
  });

  it("tells only the citizen, on their Telegram chat, when the mahalla has no worker", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "ru", mahallaId: world.otherMahallaId });
    await db.prisma.citizen.update({ where: { id: citizen.id }, data: { telegramChatId: 900_000_000_789n } });
    const reason = await db.prisma.visitReason.findFirstOrThrow({ orderBy: { sortOrder: "asc" } });
    const [slot] = await services().visits.freeSlots(world.otherMahallaId, new Date());
    if (!slot) throw new Error("no free slot");
    const reference = await services().visits.book({
      citizenId: citizen.id,
      mahallaId: world.otherMahallaId,
      reasonId: reason.id,
      slot,
      address: null,
      location: null,
      channel: "telegram",
    });
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(visit).toMatchObject({ assignedStaffId: null, address: null, latitude: null, channel: "telegram" });
    const notices = await db.prisma.outbox.findMany({ where: { params: { path: ["reference"], equals: reference } } });
    expect(notices.map((n) => [n.templateKey, n.channel, n.recipientChatId, n.citizenId, n.locale])).toEqual([
      ["notify.visit_booked", "telegram", 900_000_000_789n, citizen.id, "ru"],
    ]);
  });
});
