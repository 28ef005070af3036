import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN_MENU } from "../core/flows/index.js";
import { Conversation, screenText } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, setupWorld, type World } from "./support/fixtures.js";

let db: TestDatabase;
let world: World;
beforeAll(async () => {
  db = await createTestDatabase();
  world = await setupWorld(db.prisma);
});
afterAll(() => db.close());

const keyOf = (c: Conversation, i = 0) => (c.screen.body[i] as { key?: string }).key;
const NOW = new Date("2026-11-25T06:00:00Z"); // a Wednesday morning in Tashkent
const clock = () => NOW;

async function visitor(locale: "uz" | "uz-Cyrl" | "ru", mahallaId?: number) {
  const citizen = await createCitizen(db.prisma, { locale, ...(mahallaId ? { mahallaId } : {}) });
  const c = new Conversation(db, { phone: citizen.phone }, "ussd", undefined, { clock });
  await c.start("4");
  return { c, citizen };
}

describe.each(["uz", "uz-Cyrl", "ru"] as const)("book a social worker visit (%s)", (locale) => {
  it("asks the mahalla once, then reason, slot, address, confirm; the worker is notified in the same step", async () => {
    const { c, citizen } = await visitor(locale);
    expect(keyOf(c)).toBe("mahalla.choose_region");
    const region = await db.prisma.region.findUniqueOrThrow({ where: { id: world.regionId } });
    await c.send({ type: "choose", key: String(region.id) });
    expect(keyOf(c)).toBe("mahalla.choose_district");
    await c.send({ type: "choose", key: String(world.districtId) });
    expect(keyOf(c)).toBe("mahalla.choose");
    expect(c.screen.options.length).toBeGreaterThanOrEqual(10);
    await c.send({ type: "choose", key: String(world.mahallaId) });
    expect(keyOf(c)).toBe("visit.choose_reason");
    await c.pick(1);
    expect(keyOf(c)).toBe("visit.choose_slot");
    // Thursday 26 and Friday 27 November, then Monday 30: weekends are skipped.
    expect(c.screen.options.slice(0, 5).map((o) => o.key)).toEqual([
      "2026-11-26:morning",
      "2026-11-26:afternoon",
      "2026-11-27:morning",
      "2026-11-27:afternoon",
      "2026-11-30:morning",
    ]);
    await c.pick(2);
    await c.say("Navroʻz koʻchasi 12, maktab yonida");
    expect(keyOf(c)).toBe("visit.summary");
    await c.send({ type: "choose", key: "confirm" });
    expect(keyOf(c)).toBe("visit.booked");
    const reference = c.reference();
    expect(reference).toMatch(/^V-\d{4}-\d{4}$/);

    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect(visit).toMatchObject({
      citizenId: citizen.id,
      mahallaId: world.mahallaId,
      slotPart: "afternoon",
      status: "requested",
      assignedStaffId: world.workerId,
      address: "Navroʻz koʻchasi 12, maktab yonida",
    });
    expect(visit.slotDate.toISOString().slice(0, 10)).toBe("2026-11-26");
    const toWorker = await db.prisma.outbox.findFirstOrThrow({
      where: { staffId: world.workerId, params: { path: ["reference"], equals: reference } },
    });
    expect(toWorker).toMatchObject({ channel: "telegram", templateKey: "notify.visit_requested_staff" });
    expect((await db.prisma.citizen.findUniqueOrThrow({ where: { id: citizen.id } })).mahallaId).toBe(world.mahallaId);

    // The mahalla is remembered: the next booking starts at the reason.
    const again = new Conversation(db, { phone: citizen.phone }, "ussd", undefined, { clock });
    await again.start("4");
    expect(keyOf(again)).toBe("visit.choose_reason");
    await db.prisma.visitRequest.update({ where: { reference }, data: { status: "cancelled" } });
  });
});

describe("book a visit: details", () => {
  it("typing the first letters of a mahalla narrows the list; no match is explained", async () => {
    const { c } = await visitor("uz");
    await c.send({ type: "choose", key: String(world.regionId) });
    await c.send({ type: "choose", key: String(world.districtId) });
    const all = c.screen.options.length;
    await c.say("nav");
    expect(c.screen.options.length).toBeGreaterThanOrEqual(2);
    expect(c.screen.options.length).toBeLessThan(all);
    expect(screenText(c.screen, "uz")).toMatch(/Navbahor/);
    await c.say("zzz");
    expect(c.screen.error).toEqual({ key: "mahalla.no_match", params: { filter: "zzz" } });
  });

  it("accepts a shared location as the address", async () => {
    const { c } = await visitor("ru", world.otherMahallaId);
    await c.pick(2);
    await c.pick(1);
    expect(c.screen.acceptsLocation).toBe(true);
    await c.send({ type: "location", latitude: 41.11, longitude: 69.05 });
    await c.send({ type: "choose", key: "confirm" });
    const reference = c.reference();
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference } });
    expect([visit.latitude, visit.longitude, visit.address]).toEqual([41.11, 69.05, null]);
    expect(visit.assignedStaffId).toBeNull();
  });

  it("does not offer a slot whose capacity with the mahalla's worker is used up", async () => {
    // The worker takes two visits per half-day.
    for (let i = 0; i < 2; i++) {
      const { c } = await visitor("uz", world.mahallaId);
      await c.pick(1);
      await c.send({ type: "choose", key: "2026-11-27:morning" });
      await c.say("Uy 5");
      await c.send({ type: "choose", key: "confirm" });
      expect(keyOf(c)).toBe("visit.booked");
    }
    const { c } = await visitor("uz", world.mahallaId);
    await c.pick(1);
    expect(c.screen.options.map((o) => o.key)).not.toContain("2026-11-27:morning");
    expect(c.screen.options.map((o) => o.key)).toContain("2026-11-27:afternoon");
  });

  it("refuses an address that is too short and keeps the screen", async () => {
    const { c } = await visitor("uz-Cyrl", world.mahallaId);
    await c.pick(3);
    await c.pick(1);
    await c.say("a");
    expect(c.screen.error).toEqual({ key: "errors.text_too_short", params: { min: 3 } });
    expect(keyOf(c)).toBe("visit.enter_address");
  });
});

describe("my visits", () => {
  it("lists visits and cancels an upcoming one, telling the worker", async () => {
    const { c, citizen } = await visitor("uz", world.mahallaId);
    await c.pick(4);
    await c.send({ type: "choose", key: "2026-11-30:afternoon" });
    await c.say("Bogʻ koʻchasi 3");
    await c.send({ type: "choose", key: "confirm" });
    const reference = c.reference();

    const m = new Conversation(db, { phone: citizen.phone }, "ussd", undefined, { clock });
    await m.start("5");
    expect(keyOf(m)).toBe("my_visits.title");
    expect(m.screen.options.map((o) => o.key)).toEqual([reference]);
    await m.pick(1);
    expect(m.screen.options.map((o) => o.key)).toEqual(["cancel"]);
    await m.pick(1);
    await m.send({ type: "choose", key: "yes" });
    expect(keyOf(m)).toBe("my_visits.cancelled");
    const visit = await db.prisma.visitRequest.findUniqueOrThrow({ where: { reference }, include: { history: true } });
    expect(visit.status).toBe("cancelled");
    expect(visit.history.map((h) => h.toStatus)).toEqual(["requested", "cancelled"]);
    expect(
      await db.prisma.outbox.count({ where: { staffId: world.workerId, templateKey: "notify.visit_cancelled_staff" } }),
    ).toBe(1);

    // A cancelled visit offers no cancel button.
    const again = new Conversation(db, { phone: citizen.phone }, "ussd", undefined, { clock });
    await again.start("5");
    await again.pick(1);
    expect(again.screen.options).toEqual([]);
    await again.send({ type: "home" });
    expect(again.screen.options.map((o) => o.key)).toEqual(MAIN_MENU);
  });

  it("says so when there are no visits", async () => {
    const citizen = await createCitizen(db.prisma);
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("5");
    expect(keyOf(c)).toBe("my_visits.none");
    expect(c.screen.end).toBe(true);
  });
});
