import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admission } from "../ussd/admission.js";
import { heldCore, nextPhone, shown, startApp, type TestApp, UssdPhone, ussdOnly } from "./ussd-support.js";

const settle = () => new Promise((r) => setTimeout(r, 0));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("admission of steps", () => {
  it("admits up to its limit, then in arrival order as places come back, and refuses a long wait", async () => {
    const admission = new Admission(2, 100);
    const first = await admission.enter();
    const second = await admission.enter();
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    const order: string[] = [];
    const third = admission.enter().then((place) => {
      order.push(`third ${place !== null}`);
      return place;
    });
    const fourth = admission.enter().then((place) => order.push(`fourth ${place !== null}`));
    await settle();
    expect(admission.load).toEqual({ active: 2, waiting: 2 });

    first?.leave();
    const thirdPlace = await third;
    expect(order).toEqual(["third true"]);
    await fourth;
    // Nobody left again within 100 ms: the fourth was refused and is no longer waiting.
    expect(order).toEqual(["third true", "fourth false"]);
    expect(admission.load).toEqual({ active: 2, waiting: 0 });
    second?.leave();
    thirdPlace?.leave();
    // A place given back twice is counted once.
    thirdPlace?.leave();
    expect(admission.load).toEqual({ active: 0, waiting: 0 });
  });

  it("lets a caller wait only what is left of the answer budget after a slow step", async () => {
    const admission = new Admission(1, 1_000);
    expect(admission.maxWaitMs).toBe(1_000);
    const step = await admission.enter();
    await sleep(60);
    step?.leave();
    // One step of 60 ms or more: a slow one is estimated at three times that at first.
    expect(admission.maxWaitMs).toBeLessThanOrEqual(1_000 - 180);
    // Quick steps since bring the wait back towards the budget.
    const before = admission.maxWaitMs;
    for (let i = 0; i < 20; i++) (await admission.enter())?.leave();
    expect(admission.maxWaitMs).toBeGreaterThan(before);
  });

  it("refuses at once when a slow step alone would pass the budget, while a free place is still taken", async () => {
    const admission = new Admission(1, 100);
    const slow = await admission.enter();
    await sleep(60);
    slow?.leave();
    expect(admission.maxWaitMs).toBe(0);

    const held = await admission.enter();
    expect(held).not.toBeNull();
    let refused: boolean | undefined;
    void admission.enter().then((place) => {
      refused = place === null;
    });
    await settle();
    expect(refused).toBe(true);
    expect(admission.load).toEqual({ active: 1, waiting: 0 });
    held?.leave();
    expect(admission.load).toEqual({ active: 0, waiting: 0 });
  });

  it("passes a place over a waiter that could no longer be answered in time", async () => {
    const admission = new Admission(1, 200);
    const held = await admission.enter();
    let outcome: string | undefined;
    void admission.enter().then((place) => {
      outcome = place ? "admitted" : "refused";
    });
    await settle();
    expect(admission.load).toEqual({ active: 1, waiting: 1 });
    // The step holding the place takes 120 ms: the waiter, 120 ms in, would need a slow step's
    // 360 ms more, past its 200 ms, so it is refused when the place comes back, not run late.
    await sleep(120);
    held?.leave();
    await settle();
    expect(outcome).toBe("refused");
    expect(admission.load).toEqual({ active: 0, waiting: 0 });
  });
});

describe("/ussd past capacity", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it("answers the apology at once without running the step, and serves the same request once there is room", async () => {
    // The engine, held at a gate: the one place is taken until the gate opens.
    const { core: held, open } = heldCore(t.db);
    const app = await ussdOnly(t.db, held, { admission: { limit: 1, answerWithinMs: 100 } });
    const first = new UssdPhone(app, nextPhone());
    const second = new UssdPhone(app, nextPhone());
    const sessionsOf = (phone: UssdPhone) =>
      t.db.prisma.conversationSession.count({ where: { sessionKey: phone.sessionId } });
    try {
      const waiting = first.dial();
      await settle();
      const startedAt = performance.now();
      expect(await second.dial()).toBe(`END ${shown("uz", "errors.unavailable")}`);
      expect(performance.now() - startedAt).toBeLessThan(1_000);
      expect(await sessionsOf(second)).toBe(0);

      open();
      expect(await waiting).toMatch(/^CON /);
      // The gateway's retry of the refused request is served now.
      expect(await second.retry()).toMatch(/^CON /);
      expect(await sessionsOf(second)).toBe(1);
    } finally {
      open();
      await app.close();
    }
  });
});
