import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationEngine } from "../core/engine/engine.js";
import { createCore } from "../core/engine/index.js";
import { Admission } from "../ussd/admission.js";
import { ussdRoutes } from "../ussd/routes.js";
import { nextPhone, shown, startApp, type TestApp } from "./ussd-support.js";

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
    const real = createCore(t.db);
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    // The engine, held at a gate: the one place is taken until the gate opens.
    const held = {
      engine: {
        step: async (request: Parameters<ConversationEngine["step"]>[0]) => {
          await gate;
          return real.engine.step(request);
        },
        knownLocale: (person: string) => real.engine.knownLocale(person),
      } as unknown as ConversationEngine,
      services: real.services,
    };
    const app = Fastify();
    await app.register(ussdRoutes, {
      config: {
        ussd: { callbackToken: undefined, maxCharsUcs2: 182, sessionIdleSeconds: 180 },
        simulatorEnabled: false,
        stepsPerMinute: 0,
      },
      prisma: t.db.prisma,
      core: held,
      admission: { limit: 1, maxWaitMs: 100 },
    });
    const dial = (sessionId: string) =>
      app.inject({
        method: "POST",
        url: "/ussd",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload: new URLSearchParams({
          sessionId,
          serviceCode: "*1146#",
          phoneNumber: nextPhone(),
          networkCode: "63902",
          text: "",
        }).toString(),
      });
    try {
      const first = dial("ATUid_admission_first");
      await settle();
      const startedAt = performance.now();
      const refused = await dial("ATUid_admission_second");
      expect(performance.now() - startedAt).toBeLessThan(1_000);
      expect(refused.statusCode).toBe(200);
      expect(refused.body).toBe(`END ${shown("uz", "errors.unavailable")}`);
      expect(await t.db.prisma.conversationSession.count({ where: { sessionKey: "ATUid_admission_second" } })).toBe(0);

      open();
      expect((await first).body).toMatch(/^CON /);
      const again = await dial("ATUid_admission_second");
      expect(again.body).toMatch(/^CON /);
      expect(await t.db.prisma.conversationSession.count({ where: { sessionKey: "ATUid_admission_second" } })).toBe(1);
    } finally {
      open();
      await app.close();
    }
  });
});
