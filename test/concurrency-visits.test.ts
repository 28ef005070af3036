import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../core/domain/errors.js";
import { newReference } from "../core/domain/reference.js";
import { type Slot, slotKey } from "../core/domain/slots.js";
import { calendarFor } from "../core/services/calendar.js";
import { freeSlotsForMahalla, freeSlotsInPool } from "../core/services/slot-capacity.js";
import { type StaffMember, StaffVisitService } from "../core/services/staff-visits.js";
import { VisitService } from "../core/services/visits.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, setupWorld, type World } from "./support/fixtures.js";

/**
 * Visit capacity under concurrent requests. On PostgreSQL (DATABASE_URL) the calls below really
 * run at once on several connections; on the embedded database they are serialised by its single
 * connection and the same counts must hold.
 */
let db: TestDatabase;
let world: World;
let visits: VisitService;
let staffVisits: StaffVisitService;
let reasonId: number;
let mahallas: number[];

const NOW = new Date("2026-11-25T06:00:00Z"); // Wednesday morning in Tashkent
const clock = () => NOW;

beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
  visits = new VisitService(db.prisma, db.sql);
  staffVisits = new StaffVisitService(db.prisma, { clock, sql: db.sql });
  reasonId = (await db.prisma.visitReason.findFirstOrThrow({ orderBy: { id: "asc" } })).id;
  // The world's worker serves the first demo mahalla; the others are free for the workers made here.
  const rows = await db.prisma.mahalla.findMany({
    where: { districtId: world.districtId, id: { notIn: [world.mahallaId] } },
    orderBy: { code: "asc" },
    select: { id: true },
  });
  mahallas = rows.map((m) => m.id);
  // More than the demo set holds: each test gets mahallas of its own.
  for (let i = 0; i < 8; i++) {
    const extra = await db.prisma.mahalla.create({
      data: {
        code: `test-race-${i}`,
        districtId: world.districtId,
        nameUz: `Sinov ${i}`,
        nameUzCyrl: `Синов ${i}`,
        nameRu: `Тест ${i}`,
      },
    });
    mahallas.push(extra.id);
  }
});
afterAll(() => db?.close());

let staffSerial = 0;
/** A social worker serving `mahallaIds` with `capacity` places per half-day, as a StaffMember. */
async function worker(mahallaIds: number[], capacity: number): Promise<StaffMember> {
  staffSerial++;
  const row = await db.prisma.staff.create({
    data: {
      fullName: `Worker ${staffSerial}`,
      phone: `+99871${String(5_000_000 + staffSerial).padStart(7, "0")}`,
      role: "social_worker",
      districtId: world.districtId,
      telegramUserId: BigInt(90_000 + staffSerial),
      telegramChatId: BigInt(90_000 + staffSerial),
      dailyCapacity: capacity,
      mahallas: { create: mahallaIds.map((mahallaId) => ({ mahallaId })) },
    },
  });
  const member = await staffVisits.findById(row.id);
  if (!member) throw new Error("worker missing");
  return member;
}

let mahallaCursor = 0;
/** Mahallas no other test uses, so each test has its own workers' diaries. */
function freshMahallas(count: number): number[] {
  const picked = mahallas.slice(mahallaCursor, mahallaCursor + count);
  mahallaCursor += count;
  if (picked.length !== count) throw new Error("not enough demo mahallas");
  return picked;
}

/** Visits already in a worker's diary, written directly (as if booked earlier). */
async function fill(staffId: number, slot: Slot, mahallaIds: number[], count: number) {
  for (let i = 0; i < count; i++) {
    const mahallaId = mahallaIds[i % mahallaIds.length] as number;
    const citizen = await createCitizen(db.prisma, { mahallaId });
    await db.prisma.visitRequest.create({
      data: {
        reference: newReference("V"),
        citizenId: citizen.id,
        mahallaId,
        reasonId,
        slotDate: new Date(`${slot.date}T00:00:00Z`),
        slotPart: slot.part,
        status: i % 2 === 0 ? "requested" : "accepted",
        assignedStaffId: staffId,
        channel: "ussd",
      },
    });
  }
}

const booking = (citizenId: number, mahallaId: number, slot: Slot) =>
  visits.book({
    citizenId,
    mahallaId,
    reasonId,
    slot,
    address: "Navroʻz koʻchasi 12",
    location: null,
    channel: "ussd",
  });

const takenIn = (staffId: number, slot: Slot) =>
  db.prisma.visitRequest.count({
    where: {
      assignedStaffId: staffId,
      slotDate: new Date(`${slot.date}T00:00:00Z`),
      slotPart: slot.part,
      status: { not: "cancelled" },
    },
  });

const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === "rejected" && result.reason instanceof DomainError ? result.reason.code : null;

async function firstFreeSlot(mahallaId: number): Promise<Slot> {
  const [slot] = await freeSlotsForMahalla(db.sql, mahallaId, NOW, await calendarFor(db.prisma).calendar());
  if (!slot) throw new Error("no free slot");
  return slot;
}

describe("the last places of a worker who serves several mahallas", () => {
  it("50 citizens of his three mahallas race for his last 3 places: exactly 3 are booked and notified, 47 are told it is taken", async () => {
    const served = freshMahallas(3);
    const w = await worker(served, 10);
    const slot = await firstFreeSlot(served[0] as number);
    await fill(w.id, slot, served, 7);
    const citizens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => createCitizen(db.prisma, { mahallaId: served[i % 3] as number })),
    );

    const results = await Promise.allSettled(citizens.map((c) => booking(c.id, c.mahallaId as number, slot)));

    const booked = results.filter((r) => r.status === "fulfilled");
    expect(booked).toHaveLength(3);
    expect(results.filter((r) => codeOf(r) === "SLOT_FULL")).toHaveLength(47);
    expect(await takenIn(w.id, slot)).toBe(10);
    const references = booked.map((r) => (r as PromiseFulfilledResult<string>).value);
    // One request card to the worker and one confirmation to the citizen per place, none for the refused.
    expect(
      await db.prisma.outbox.count({ where: { staffId: w.id, templateKey: "notify.visit_requested_staff" } }),
    ).toBe(3);
    expect(
      await db.prisma.outbox.count({
        where: { citizenId: { in: citizens.map((c) => c.id) }, templateKey: "notify.visit_booked" },
      }),
    ).toBe(3);
    const rows = await db.prisma.visitRequest.findMany({ where: { reference: { in: references } } });
    expect(rows.every((v) => v.assignedStaffId === w.id)).toBe(true);
    // Every list that offers this half-day now leaves it out, from each of his mahallas.
    for (const mahallaId of served) {
      expect((await visits.freeSlots(mahallaId, NOW)).map(slotKey)).not.toContain(slotKey(slot));
    }
    expect(
      (
        await freeSlotsInPool(
          db.sql,
          { staffId: w.id, mahallaId: served[0] as number },
          NOW,
          await calendarFor(db.prisma).calendar(),
        )
      ).map(slotKey),
    ).not.toContain(slotKey(slot));
  });

  it("a reschedule into his last place and a booking for it from another of his mahallas at once: one gets it", async () => {
    const served = freshMahallas(2);
    for (let round = 0; round < 5; round++) {
      const w = await worker(served, 3);
      const [first, target] = await freeSlotsForMahalla(
        db.sql,
        served[0] as number,
        NOW,
        await calendarFor(db.prisma).calendar(),
      );
      if (!first || !target) throw new Error("no free slots");
      await fill(w.id, target, served, 2);
      const mover = await createCitizen(db.prisma, { mahallaId: served[0] as number });
      const moving = await booking(mover.id, served[0] as number, first);
      expect((await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference: moving } })).assignedStaffId).toBe(
        w.id,
      );
      const newcomer = await createCitizen(db.prisma, { mahallaId: served[1] as number });

      const [moved, booked] = await Promise.allSettled([
        staffVisits.reschedule(w, moving, target),
        booking(newcomer.id, served[1] as number, target),
      ]);

      const winners = [moved, booked].filter((r) => r.status === "fulfilled");
      expect(winners).toHaveLength(1);
      expect([codeOf(moved), codeOf(booked)].filter(Boolean)).toEqual([
        moved.status === "rejected" ? "SLOT_UNAVAILABLE" : "SLOT_FULL",
      ]);
      expect(await takenIn(w.id, target)).toBe(3);
      // Only the winner's notification is written.
      const rescheduled = await db.prisma.outbox.count({
        where: { citizenId: mover.id, templateKey: "notify.visit_rescheduled" },
      });
      const bookedNotes = await db.prisma.outbox.count({
        where: { citizenId: newcomer.id, templateKey: "notify.visit_booked" },
      });
      expect(rescheduled + bookedNotes).toBe(1);
      // The next round's worker takes these mahallas' new bookings: this one stops serving them.
      await db.prisma.staff.update({ where: { id: w.id }, data: { active: false } });
    }
  });
});

describe("one capacity rule for booking, rescheduling and the free-slot lists", () => {
  it("offers a reassigned visit the half-days free in its own worker's diary, not in its mahalla's first worker's", async () => {
    const [home, elsewhere] = freshMahallas(2) as [number, number];
    await worker([home], 2);
    const other = await worker([elsewhere], 1);
    const [slotA, slotB] = await freeSlotsForMahalla(db.sql, home, NOW, await calendarFor(db.prisma).calendar());
    if (!slotA || !slotB) throw new Error("no free slots");
    const citizen = await createCitizen(db.prisma, { mahallaId: home });
    const reference = await booking(citizen.id, home, slotA);
    // Handed to the other worker (as a district admin's reassign does), whose slotB is full.
    await db.prisma.visitRequest.update({ where: { reference }, data: { assignedStaffId: other.id } });
    await fill(other.id, slotB, [elsewhere], 1);

    // The mahalla's own list still offers slotB (its first worker has room) ...
    expect((await visits.freeSlots(home, NOW)).map(slotKey)).toContain(slotKey(slotB));
    // ... but the visit stays in the other worker's diary, so neither its list nor the move allow it.
    const offered = (await staffVisits.freeSlots(other, reference)).map(slotKey);
    expect(offered).not.toContain(slotKey(slotB));
    await expect(staffVisits.reschedule(other, reference, slotB)).rejects.toMatchObject({ code: "SLOT_UNAVAILABLE" });
    expect(await takenIn(other.id, slotB)).toBe(1);
  });

  it("shows the citizen who loses the last place at the confirm step that the time is already taken", async () => {
    const [mahallaId] = freshMahallas(1) as [number];
    await worker([mahallaId], 1);
    const slot = await firstFreeSlot(mahallaId);
    const phones = await Promise.all([0, 1].map(() => createCitizen(db.prisma, { mahallaId, locale: "ru" })));
    const chats = phones.map((c) => new Conversation(db, { phone: c.phone }, "ussd", undefined, { clock }));
    for (const chat of chats) {
      await chat.start("4");
      await chat.pick(1);
      await chat.send({ type: "choose", key: slotKey(slot) });
      await chat.say("Navroʻz koʻchasi 12");
      expect((chat.screen.body[0] as { key?: string }).key).toBe("visit.summary");
    }

    await Promise.all(chats.map((chat) => chat.send({ type: "choose", key: "confirm" })));

    const keys = chats.map((chat) => (chat.screen.body[0] as { key?: string }).key);
    expect(keys.filter((k) => k === "visit.booked")).toHaveLength(1);
    const loser = chats.find((chat) => (chat.screen.body[0] as { key?: string }).key !== "visit.booked");
    expect(loser?.text()).toContain("Это время уже занято. Выберите другое.");
    expect(await db.prisma.visitRequest.count({ where: { mahallaId } })).toBe(1);
  });
});

describe("visits that enter a worker's diary after booking", () => {
  it("a worker accepting two unassigned requests for his last place at once takes one; the other is refused", async () => {
    const [mahallaId] = freshMahallas(1) as [number];
    // Booked while the mahalla had no worker: both wait unassigned in the mahalla's own pool.
    const slot = await firstFreeSlot(mahallaId);
    const citizens = await Promise.all([0, 1].map(() => createCitizen(db.prisma, { mahallaId })));
    const references = await Promise.all(citizens.map((c) => booking(c.id, mahallaId, slot)));
    const w = await worker([mahallaId], 1);

    const results = await Promise.allSettled(references.map((r) => staffVisits.accept(w, r)));

    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.map(codeOf).filter(Boolean)).toEqual(["DIARY_FULL"]);
    expect(await takenIn(w.id, slot)).toBe(1);
    expect(
      await db.prisma.outbox.count({
        where: { citizenId: { in: citizens.map((c) => c.id) }, templateKey: "notify.visit_accepted" },
      }),
    ).toBe(1);
  });

  it("an admin's reassign to a worker whose half-day is full is refused and leaves the visit where it was", async () => {
    const [home, elsewhere] = freshMahallas(2) as [number, number];
    const first = await worker([home], 3);
    const full = await worker([elsewhere], 1);
    const slot = await firstFreeSlot(home);
    await fill(full.id, slot, [elsewhere], 1);
    const citizen = await createCitizen(db.prisma, { mahallaId: home });
    const reference = await booking(citizen.id, home, slot);
    const adminRow = await db.prisma.staff.create({
      data: {
        fullName: "Admin",
        phone: "+998712220000",
        role: "district_admin",
        districtId: world.districtId,
        telegramUserId: 99_999n,
        telegramChatId: 99_999n,
      },
    });
    const admin = await staffVisits.findById(adminRow.id);
    if (!admin) throw new Error("admin missing");

    await expect(staffVisits.reassign(admin, reference, full.id)).rejects.toMatchObject({ code: "DIARY_FULL" });

    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(visit.assignedStaffId).toBe(first.id);
    expect(await takenIn(full.id, slot)).toBe(1);
    expect(await db.prisma.outbox.count({ where: { staffId: full.id } })).toBe(0);
  });
});

describe("a citizen's cancel and a worker's action on the same visit", () => {
  it("cancel and done sent at once: one wins, the other is told, and only the winner notifies (10 pairs)", async () => {
    const [mahallaId] = freshMahallas(1) as [number];
    const w = await worker([mahallaId], 20);
    const slot = await firstFreeSlot(mahallaId);
    let cancels = 0;
    let dones = 0;
    for (let round = 0; round < 10; round++) {
      const citizen = await createCitizen(db.prisma, { mahallaId });
      const reference = await booking(citizen.id, mahallaId, slot);
      // Alternate who is sent first, so either may win.
      const calls = [
        () => visits.cancelByCitizen(citizen.id, reference),
        () => staffVisits.markDone(w, reference, "Yordam koʻrsatildi"),
      ];
      if (round % 2) calls.reverse();
      const settled = await Promise.allSettled(calls.map((call) => call()));
      const [cancel, done] = round % 2 ? [settled[1], settled[0]] : [settled[0], settled[1]];
      if (!cancel || !done) throw new Error("missing result");

      expect([cancel, done].filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const visit = await db.prisma.visitRequest.findUniqueOrThrow({
        where: { reference },
        include: { history: true },
      });
      if (cancel.status === "fulfilled") {
        cancels++;
        expect(visit.status).toBe("cancelled");
        expect(["VISIT_CHANGED", "VISIT_NOT_ACTIONABLE"]).toContain(codeOf(done));
        expect(visit.outcomeNote).toBeNull();
      } else {
        dones++;
        expect(visit.status).toBe("done");
        expect(["VISIT_CHANGED", "VISIT_NOT_CANCELLABLE"]).toContain(codeOf(cancel));
      }
      // requested, then exactly one change.
      expect(visit.history.map((h) => h.toStatus).sort()).toEqual([visit.status, "requested"].sort());
      const toWorker = await db.prisma.outbox.count({
        where: {
          staffId: w.id,
          templateKey: "notify.visit_cancelled_staff",
          params: { path: ["reference"], equals: reference },
        },
      });
      const toCitizen = await db.prisma.outbox.count({
        where: { citizenId: citizen.id, templateKey: "notify.visit_done" },
      });
      expect(toWorker + toCitizen).toBe(1);
    }
    expect(cancels + dones).toBe(10);
  });

  it("a cancel after the worker's done is refused and leaves the done visit and its note alone", async () => {
    const [mahallaId] = freshMahallas(1) as [number];
    const w = await worker([mahallaId], 5);
    const slot = await firstFreeSlot(mahallaId);
    const citizen = await createCitizen(db.prisma, { mahallaId });
    const reference = await booking(citizen.id, mahallaId, slot);
    await staffVisits.markDone(w, reference, "Yordam koʻrsatildi");
    await expect(visits.cancelByCitizen(citizen.id, reference)).rejects.toMatchObject({
      code: "VISIT_NOT_CANCELLABLE",
    });
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(visit.status).toBe("done");
    expect(visit.outcomeNote).toBe("Yordam koʻrsatildi");
  });
});
