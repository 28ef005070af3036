import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlExecutor } from "../core/db/adapters.js";
import { SessionBusyError } from "../core/domain/errors.js";
import { SqlSessionStore } from "../core/engine/session-store.js";
import { onEmbeddedTestServer } from "./support/database.js";
import { nextPhone, shown, startApp, type TestApp, UssdPhone } from "./ussd-support.js";

// One step, one outcome: the session store holds a session for one request at a time, so copies of
// a callback that arrive together run the flow once and are all answered with the stored screen.
// Truly concurrent: the embedded default is a PostgreSQL server too, with as many connections.

let t: TestApp;
/** A second instance on the same database: its own engine and session store, as behind a load balancer. */
let other: TestApp;

beforeAll(async () => {
  t = await startApp();
  other = await startApp({}, t.db);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

/** The same request `copies` times at once, as a gateway that timed out and retried would send it. */
async function burst(phone: UssdPhone, copies: number): Promise<string[]> {
  return Promise.all(Array.from({ length: copies }, () => phone.post()));
}

/** A caller on the visit-booking confirm screen, with a mahalla on their record. */
async function atVisitConfirm(): Promise<{ phone: UssdPhone; citizenId: number }> {
  const phone = new UssdPhone(t.app, nextPhone());
  await phone.dial();
  await phone.send("3"); // Russian
  const citizen = await t.db.prisma.citizen.findUniqueOrThrow({ where: { phone: phone.phoneNumber } });
  const mahalla = await t.db.prisma.mahalla.findFirstOrThrow({ where: { isDemo: true }, orderBy: { id: "asc" } });
  await t.db.prisma.citizen.update({ where: { id: citizen.id }, data: { mahallaId: mahalla.id } });
  await phone.send("4");
  expect(phone.screen).toContain(shown("ru", "visit.choose_reason"));
  await phone.send("2");
  await phone.send("2");
  await phone.send("ул. Навои, 5");
  return { phone, citizenId: citizen.id };
}

describe(`concurrent copies of one USSD step (${onEmbeddedTestServer() ? "embedded PostgreSQL" : "PostgreSQL"})`, () => {
  it("20 identical confirmations book one visit, queue one SMS and answer all 20 with its one reference", async () => {
    const { phone, citizenId } = await atVisitConfirm();
    phone.inputs.push("1");
    const answers = await burst(phone, 20);

    const visits = await t.db.prisma.visitRequest.findMany({ where: { citizenId } });
    expect(visits).toHaveLength(1);
    const reference = visits[0]?.reference ?? "";
    expect(reference).not.toBe("");
    for (const answer of answers) {
      expect(answer).toContain(reference);
      expect(answer).toBe(answers[0]);
    }
    const sms = await t.db.prisma.outbox.count({ where: { citizenId, templateKey: "notify.visit_booked" } });
    expect(sms).toBe(1);
    const session = await t.db.prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
    });
    expect(session.leaseToken).toBeNull();
  });

  it("copies split across two instances still book one visit and answer one reference", async () => {
    const { phone, citizenId } = await atVisitConfirm();
    phone.inputs.push("1");
    const twin = new UssdPhone(other.app, phone.phoneNumber);
    twin.sessionId = phone.sessionId;
    twin.inputs.push(...phone.inputs);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? twin : phone).post()));
    const visits = await t.db.prisma.visitRequest.findMany({ where: { citizenId } });
    expect(visits).toHaveLength(1);
    expect(new Set(answers)).toEqual(new Set([answers[0]]));
    expect(answers[0]).toContain(visits[0]?.reference);
    expect(await t.db.prisma.outbox.count({ where: { citizenId, templateKey: "notify.visit_booked" } })).toBe(1);
  });

  it("copies of a step that moves the conversation on are answered with one screen and counted once", async () => {
    const phone = new UssdPhone(t.app, nextPhone());
    await phone.dial();
    phone.inputs.push("2"); // Uzbek Cyrillic
    const answers = await burst(phone, 10);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toContain(shown("uz-Cyrl", "menu.title"));
    const session = await t.db.prisma.conversationSession.findUniqueOrThrow({
      where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
    });
    expect(session.stepCount).toBe(2);
  });

  it("concurrent first requests of a new session create one session row and one citizen", async () => {
    const phone = new UssdPhone(t.app, nextPhone());
    phone.sessionId = `ATUid_first_${Date.now()}`;
    const answers = await burst(phone, 10);
    expect(new Set(answers).size).toBe(1);
    expect(await t.db.prisma.conversationSession.count({ where: { sessionKey: phone.sessionId } })).toBe(1);
    expect(await t.db.prisma.citizen.count({ where: { phone: phone.phoneNumber } })).toBe(1);
  });
});

describe("a session continued by someone else", () => {
  it("starts afresh for the other phone and never shows or replays the first caller's screen", async () => {
    const { phone: owner, citizenId } = await atVisitConfirm();
    const confirmScreen = owner.screen;
    // Another number posts the owner's sessionId and the owner's whole input history.
    const intruder = new UssdPhone(t.app, nextPhone());
    intruder.sessionId = owner.sessionId;
    intruder.inputs.push(...owner.inputs, "1");
    const answer = await intruder.post();
    expect(answer).not.toBe(confirmScreen);
    expect(answer).toContain("1. O'zbekcha (lotin)");
    expect(await t.db.prisma.visitRequest.count({ where: { citizenId } })).toBe(0);
    const intruderCitizen = await t.db.prisma.citizen.findUniqueOrThrow({ where: { phone: intruder.phoneNumber } });
    expect(await t.db.prisma.visitRequest.count({ where: { citizenId: intruderCitizen.id } })).toBe(0);
  });
});

describe("a lease the database could not take back", () => {
  it("is taken over at once by the next request of that session in the same process", async () => {
    let failRelease = false;
    const flaky: SqlExecutor = {
      query: (text, values) => {
        if (failRelease && text.includes('"leaseToken" = null')) return Promise.reject(new Error("connection lost"));
        return t.db.sql.query(text, values);
      },
    };
    // A long lease and wait: without the take-over the second claim would wait out the 3 s and fail.
    const store = new SqlSessionStore(flaky, { leaseSeconds: 60, waitMs: 3_000 });
    const key = `ATUid_abandoned_${Date.now()}`;
    const first = await store.claim("ussd", key, undefined);
    failRelease = true;
    await expect(store.release("ussd", key, first.lease)).rejects.toThrow("connection lost");
    failRelease = false;

    // Another process's store does not know the lease: it finds the session held.
    await expect(new SqlSessionStore(t.db.sql, { waitMs: 200 }).claim("ussd", key, undefined)).rejects.toBeInstanceOf(
      SessionBusyError,
    );
    const started = Date.now();
    const second = await store.claim("ussd", key, undefined);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(second.lease).not.toBe(first.lease);
    await store.release("ussd", key, second.lease);
  });
});
