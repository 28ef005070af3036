import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admission } from "../ussd/admission.js";
import { heldCore, nextPhone, shown, startApp, type TestApp, UssdPhone, ussdOnly } from "./ussd-support.js";

const settle = () => new Promise((r) => setTimeout(r, 0));

describe("admission of steps", () => {
  it("admits up to its limit, then in arrival order as places come back, and refuses a long wait", async () => {
    const admission = new Admission(2, 100);
    expect(await admission.enter()).toBe(true);
    expect(await admission.enter()).toBe(true);
    const order: string[] = [];
    const third = admission.enter().then((ok) => order.push(`third ${ok}`));
    const fourth = admission.enter().then((ok) => order.push(`fourth ${ok}`));
    await settle();
    expect(admission.load).toEqual({ active: 2, waiting: 2 });

    admission.leave();
    await third;
    expect(order).toEqual(["third true"]);
    await fourth;
    // Nobody left again within 100 ms: the fourth was refused and is no longer waiting.
    expect(order).toEqual(["third true", "fourth false"]);
    expect(admission.load).toEqual({ active: 2, waiting: 0 });
    admission.leave();
    admission.leave();
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
    const app = await ussdOnly(t.db, held, { admission: { limit: 1, maxWaitMs: 100 } });
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
