import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiApp, auth } from "./support/backoffice.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPhone, nextPinfl, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
  app = await apiApp(db.prisma);
});
afterAll(async () => {
  await app?.close();
  await db?.close();
});

const post = (url: string, payload: unknown) =>
  app.inject({ method: "POST", url, headers: auth, payload: payload as object });
const conflicts = async (query = "") => {
  const res = await app.inject({ method: "GET", url: `/api/v1/identity-conflicts${query}`, headers: auth });
  expect(res.statusCode).toBe(200);
  return res.json() as {
    items: {
      kind: string;
      claimedPinfl: string;
      claimedAt: string | null;
      citizen: { id: number; phone: string; externalId: string | null; registerPinfl: string | null };
      registerHolder: { id: number; externalId: string | null } | null;
    }[];
    total: number;
  };
};
const keyOf = (c: Conversation) => (c.screen.body[0] as { key?: string }).key;

/** A caller starts an application for the age pension and types `pinfl` when asked. */
async function claim(phone: string, pinfl: string): Promise<Conversation> {
  const c = new Conversation(db, { phone });
  await c.start("1");
  await c.send({ type: "choose", key: "AGE_PENSION" });
  expect(keyOf(c)).toBe("pinfl.prompt");
  await c.say(pinfl);
  return c;
}

describe("the register decides identity", () => {
  it("keeps a caller's PINFL as a claim: the register's import for the real person, and its payment, go to the real person", async () => {
    const pinfl = nextPinfl();
    const caller = await createCitizen(db.prisma, { locale: "uz" });
    await claim(caller.phone, pinfl);
    expect(await db.prisma.citizen.findUniqueOrThrow({ where: { id: caller.id } })).toMatchObject({
      pinfl: null,
      claimedPinfl: pinfl,
    });

    const realPhone = nextPhone();
    const imported = await post("/api/v1/beneficiaries/import", [
      {
        externalId: "ID-REAL-1",
        phone: realPhone,
        pinfl,
        fullName: "Mavluda Ergasheva",
        locale: "ru",
        cards: [{ externalId: "ID-CARD-1", maskedNumber: "**** 9911", status: "active" }],
      },
    ]);
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ citizens: { created: 1 }, cards: { created: 1 } });
    const real = await db.prisma.citizen.findUniqueOrThrow({ where: { externalId: "ID-REAL-1" } });
    expect(real).toMatchObject({ pinfl, phone: realPhone });

    const paid = await post("/api/v1/payments/import", [
      {
        externalId: "ID-PAY-1",
        pinfl,
        benefitCode: "AGE_PENSION",
        amountTiyin: 98_700_000,
        period: "2026-11",
        creditedAt: "2026-11-05",
      },
    ]);
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({ created: 1, notifications: 1 });
    const payment = await db.prisma.payment.findUniqueOrThrow({ where: { externalId: "ID-PAY-1" } });
    expect(payment.citizenId).toBe(real.id);
    const sms = await db.prisma.outbox.findUniqueOrThrow({ where: { dedupeKey: "payment:ID-PAY-1" } });
    expect([sms.citizenId, sms.recipientPhone]).toEqual([real.id, realPhone]);
    expect(await db.prisma.outbox.count({ where: { citizenId: caller.id } })).toBe(0);

    // The caller's payments screen shows nothing of the real person's card or payment.
    const screen = new Conversation(db, { phone: caller.phone });
    await screen.start("3");
    expect(keyOf(screen)).toBe("payments.no_card");
    expect(screen.text()).not.toContain("9911");
    // The real person sees theirs.
    const own = new Conversation(db, { phone: realPhone });
    await own.start("3");
    expect(own.text()).toContain("**** 9911");
    expect(own.text()).toContain("987 000");

    // The conflicting claim is kept for review.
    const listed = (await conflicts()).items.filter((i) => i.claimedPinfl === pinfl);
    expect(listed).toEqual([
      {
        kind: "held_by_other",
        claimedPinfl: pinfl,
        claimedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        citizen: { id: caller.id, phone: caller.phone, externalId: null, registerPinfl: null },
        registerHolder: { id: real.id, externalId: "ID-REAL-1" },
      },
    ]);
  });

  it("answers a caller the same whether or not the PINFL they type is registered", async () => {
    const registered = nextPinfl();
    await createCitizen(db.prisma, { pinfl: registered });
    const known = await claim((await createCitizen(db.prisma)).phone, registered);
    const unknown = await claim((await createCitizen(db.prisma)).phone, nextPinfl());
    expect(known.screen).toEqual(unknown.screen);
    expect(known.screen.error).toBeUndefined();
    expect(keyOf(known)).toBe("apply.q.work_years.prompt");
  });

  it("asks a caller for the PINFL once: a claim made before is not asked again", async () => {
    const caller = await createCitizen(db.prisma);
    await claim(caller.phone, nextPinfl());
    const again = new Conversation(db, { phone: caller.phone });
    await again.start("1");
    await again.send({ type: "choose", key: "restart" });
    await again.send({ type: "choose", key: "DISABILITY_PENSION" });
    expect(keyOf(again)).not.toBe("pinfl.prompt");
  });

  it("lists a beneficiary's claim that differs from the register, and several callers claiming one PINFL", async () => {
    const register = nextPinfl();
    const other = nextPinfl();
    const phone = nextPhone();
    const res = await post("/api/v1/beneficiaries/import", [{ externalId: "ID-DIFF-1", phone, pinfl: register }]);
    expect(res.statusCode).toBe(200);
    const beneficiary = await db.prisma.citizen.findUniqueOrThrow({ where: { externalId: "ID-DIFF-1" } });
    // Typed before the register knew them (forms do not ask a beneficiary whose PINFL is known).
    await db.prisma.citizen.update({ where: { id: beneficiary.id }, data: { claimedPinfl: other } });
    const shared = nextPinfl();
    const a = await createCitizen(db.prisma);
    const b = await createCitizen(db.prisma);
    await claim(a.phone, shared);
    await claim(b.phone, shared);
    // A claim that matches the caller's own register PINFL is no conflict.
    const agreeing = nextPinfl();
    const agreeingPhone = nextPhone();
    await post("/api/v1/beneficiaries/import", [{ externalId: "ID-SAME-1", phone: agreeingPhone, pinfl: agreeing }]);
    await db.prisma.citizen.update({ where: { externalId: "ID-SAME-1" }, data: { claimedPinfl: agreeing } });

    const items = (await conflicts("?limit=200")).items;
    const kinds = (p: string) =>
      items
        .filter((i) => i.claimedPinfl === p)
        .map((i) => [i.kind, i.citizen.id])
        .sort();
    expect(kinds(other)).toEqual([["differs_from_register", beneficiary.id]]);
    expect(items.find((i) => i.claimedPinfl === other)?.citizen.registerPinfl).toBe(register);
    expect(kinds(shared)).toEqual(
      [
        ["claimed_by_several", a.id],
        ["claimed_by_several", b.id],
      ].sort(),
    );
    expect(kinds(agreeing)).toEqual([]);
    const page = await conflicts("?limit=1&offset=1");
    expect(page.items).toHaveLength(1);
    expect(page.total).toBe(items.length);
  });

  it("refuses the conflicts list without a token and a bad page with 400", async () => {
    const anonymous = await app.inject({ method: "GET", url: "/api/v1/identity-conflicts" });
    expect(anonymous.statusCode).toBe(401);
    const bad = await app.inject({ method: "GET", url: "/api/v1/identity-conflicts?limit=0", headers: auth });
    expect(bad.statusCode).toBe(400);
    const doc = await app.inject({ method: "GET", url: "/docs/json" });
    expect(Object.keys(doc.json().paths)).toContain("/api/v1/identity-conflicts");
  });

  it("imports the register's PINFL while many callers claim it at the same moment: the import wins, every claim is kept for review", async () => {
    const pinfl = nextPinfl();
    const callers = await Promise.all(Array.from({ length: 8 }, () => createCitizen(db.prisma)));
    const phone = nextPhone();
    const [imported] = await Promise.all([
      post("/api/v1/beneficiaries/import", [{ externalId: "ID-RACE-1", phone, pinfl }]),
      ...callers.map((c) => claim(c.phone, pinfl)),
    ]);
    expect(imported?.statusCode).toBe(200);
    expect(await db.prisma.citizen.count({ where: { pinfl } })).toBe(1);
    expect(await db.prisma.citizen.count({ where: { claimedPinfl: pinfl } })).toBe(callers.length);
    const listed = (await conflicts("?limit=200")).items.filter((i) => i.claimedPinfl === pinfl);
    expect(listed.map((i) => i.kind)).toEqual(callers.map(() => "held_by_other"));
  });
});

describe("audit rows of imports", () => {
  it("keep ids and which fields changed, never a name, a PINFL or a phone number", async () => {
    const pinfl = nextPinfl();
    const phone = nextPhone();
    const res = await post("/api/v1/beneficiaries/import", [
      { externalId: "ID-AUDIT-1", phone, pinfl, fullName: "Shahnoza Tursunova" },
    ]);
    expect(res.statusCode).toBe(200);
    const newPhone = nextPhone();
    const again = await post("/api/v1/beneficiaries/import", [
      { externalId: "ID-AUDIT-1", phone: newPhone, pinfl, fullName: "Shahnoza Tursunova-Karimova" },
    ]);
    expect(again.json()).toMatchObject({ citizens: { updated: 1 } });
    const citizen = await db.prisma.citizen.findUniqueOrThrow({ where: { externalId: "ID-AUDIT-1" } });
    const rows = await db.prisma.auditLog.findMany({
      where: { entity: "Citizen", entityId: String(citizen.id) },
      orderBy: { id: "asc" },
    });
    expect(rows.map((r) => r.action)).toEqual(["citizen.import", "citizen.import"]);
    expect(rows[0]?.after).toMatchObject({ externalId: "ID-AUDIT-1", phone: "[redacted]", pinfl: "[redacted]" });
    expect(rows[1]?.after).toEqual({ phone: "[redacted]", fullName: "[redacted]" });
    const all = JSON.stringify(await db.prisma.auditLog.findMany());
    for (const secret of [pinfl, phone, newPhone, phone.slice(4), "Shahnoza", "Tursunova"]) {
      expect(all).not.toContain(secret);
    }
  });
});
