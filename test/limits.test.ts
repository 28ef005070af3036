import { RateLimiterMemory } from "rate-limiter-flexible";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlexibleRateLimiter, flexibleStore } from "../app/limits.js";
import { MemoryRateLimiter } from "../core/engine/rate-limit.js";
import { createServices } from "../core/services/index.js";
import { Conversation } from "./support/conversation.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld } from "./support/fixtures.js";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await setupWorld(db.prisma);
});
afterAll(() => db.close());

describe("per-person step limit", () => {
  it("counts hits per key within a window and starts afresh in the next one", () => {
    const limiter = new MemoryRateLimiter(3, 60_000);
    expect([1, 2, 3, 4].map(() => limiter.hit("a", 1_000))).toEqual([true, true, true, false]);
    expect(limiter.hit("b", 1_000)).toBe(true);
    expect(limiter.hit("a", 61_000)).toBe(true);
  });

  it("stays bounded in memory under many distinct keys", () => {
    const limiter = new MemoryRateLimiter(1, 60_000, 100);
    for (let i = 0; i < 1_000; i++) limiter.hit(`k${i}`, 0);
    expect((limiter as unknown as { windows: Map<string, unknown> }).windows.size).toBeLessThanOrEqual(100);
  });

  it("answers a person over the limit with a localized wait message and changes nothing", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "ru" });
    const c = new Conversation(db, { phone: citizen.phone }, "ussd", undefined, { stepsPerMinute: 4 });
    await c.start();
    await c.send({ type: "home" });
    await c.send({ type: "home" });
    await c.send({ type: "home" });
    const before = await db.prisma.conversationSession.findFirstOrThrow({ where: { citizenId: citizen.id } });
    expect(before.stepCount).toBe(4);
    await c.send({ type: "home" });
    expect(c.screen.body).toEqual([{ key: "errors.rate_limited" }]);
    expect(c.screen.end).toBe(true);
    expect(c.locale).toBe("ru");
    const after = await db.prisma.conversationSession.findFirstOrThrow({ where: { citizenId: citizen.id } });
    expect(after.stepCount).toBe(4);
    expect(after.state).toEqual(before.state);
  });
});

describe("applications per day", () => {
  it("refuses a sixth application within a day with a localized reason", async () => {
    const citizen = await createCitizen(db.prisma, { locale: "uz", pinfl: nextPinfl() });
    const services = createServices(db.prisma);
    const benefits = await db.prisma.benefitType.findMany({ orderBy: { sortOrder: "asc" }, take: 6 });
    for (const b of benefits.slice(0, 5)) {
      await services.applications.submit({
        citizenId: citizen.id,
        benefitTypeId: b.id,
        answers: {},
        channel: "ussd",
        locale: "uz",
      });
    }
    const c = new Conversation(db, { phone: citizen.phone });
    await c.start("1");
    await c.send({ type: "choose", key: benefits[5]?.code ?? "" });
    while (c.screen.options.length === 0 || c.screen.options[0]?.key !== "confirm") {
      const q = c.screen.options[0];
      await (q ? c.pick(1) : c.say("2"));
    }
    await c.send({ type: "choose", key: "confirm" });
    expect(c.screen.error).toEqual({ key: "errors.too_many_applications" });
    expect(await db.prisma.application.count({ where: { citizenId: citizen.id } })).toBe(5);
  });
});

describe("limits counted in rate-limiter-flexible (shared by instances and workers)", () => {
  const memory = (points: number) => new RateLimiterMemory({ points, duration: 60 });

  it("refuses a person's hits past the limit, per key", async () => {
    const limiter = new FlexibleRateLimiter(memory(3));
    const hits = [];
    for (let i = 0; i < 5; i++) hits.push(await limiter.hit("+998901234567"));
    expect(hits).toEqual([true, true, true, false, false]);
    expect(await limiter.hit("+998901234568")).toBe(true);
  });

  it("lets a step through when the limit cannot be counted at all, and says so once", async () => {
    const errors: unknown[] = [];
    const broken = { consume: () => Promise.reject(new Error("store and insurance both down")) };
    const limiter = new FlexibleRateLimiter(broken, (err) => errors.push(err));
    expect(await limiter.hit("a")).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it("lets exactly max of many concurrent API requests through the store", async () => {
    const Store = flexibleStore(
      ({ points, durationSeconds }) => new RateLimiterMemory({ points, duration: durationSeconds }),
    );
    const store = new Store({}).child({} as never);
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<{ current: number; ttl: number }>((resolve, reject) =>
            store.incr("ok:10.0.0.1", (err, res) => (err || !res ? reject(err) : resolve(res)), 60_000, 7),
          ),
      ),
    );
    expect(results.filter((r) => r.current <= 7)).toHaveLength(7);
    expect(new Set(results.map((r) => r.current)).size).toBe(20);
    for (const r of results) expect(r.ttl).toBeGreaterThan(0);
  });
});
