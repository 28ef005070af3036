import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { createCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { RedisSessionStore } from "../core/engine/redis-session-store.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { createCitizen, nextPinfl, setupWorld, type World } from "./support/fixtures.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";
import { nextPhone, shown, UssdPhone } from "./ussd-support.js";

/*
 * USSD sessions in Redis (core/engine/redis-session-store.ts): the database then sees only what a
 * step's flow reads and writes, and the trust model holds as with sessions in the database.
 * Two instances share one database and one Redis, as two servers behind a load balancer would.
 */
const redisNeeded = requireServer("redis");

let db: TestDatabase;
let redis: TestRedis;
let prefix: string;
let world: World;
const instances: { app: FastifyInstance }[] = [];
let admin: Redis;

async function instance(): Promise<FastifyInstance> {
  const config = loadConfig({
    NODE_ENV: "test",
    RATE_LIMIT_STEPS_PER_MINUTE: "0",
    NOTIFY_WORKER: "off",
    // One-page screens, as test/ussd-cost.test.ts counts them.
    USSD_MAX_CHARS_UCS2: "182",
  });
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const core = createCore(db, {
    ussdSessions: {
      store: new RedisSessionStore(client, db.sql, { prefix }),
      close: async () => {
        await client.quit();
      },
    },
  });
  const app = await buildServer({ config, db, logger: createLogger("silent"), core });
  await app.ready();
  instances.push({ app });
  return app;
}

/** Statements the server sends while `action` runs. */
async function statementsOf(action: () => Promise<unknown>): Promise<number> {
  const before = db.queryCount();
  await action();
  return db.queryCount() - before;
}

/** What Redis holds of this file's sessions goes, as when Redis restarts without persistence. */
async function loseSessions() {
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
}

let a: FastifyInstance;
let b: FastifyInstance;

redisNeeded.describe("USSD sessions in Redis", () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    world = await setupWorld(db.prisma);
    redis = await startTestRedis();
    prefix = `${redis.prefix()}:session:`;
    admin = new Redis(redis.url);
    a = await instance();
    b = await instance();
  });
  afterAll(async () => {
    for (const { app } of instances) await app.close();
    await admin?.quit();
    await redis?.close();
    await db?.close();
  });

  describe("what a step costs the database", () => {
    it("a card check: one statement to dial (the caller), one to show the card and its payments", async () => {
      const phone = new UssdPhone(a, nextPhone());
      await createCitizen(db.prisma, { phone: phone.phoneNumber, locale: "ru" });
      expect(await statementsOf(() => phone.dial())).toBe(1);
      expect(phone.screen).toContain(shown("ru", "menu.title"));
      expect(await statementsOf(() => phone.send("3"))).toBe(1);
      expect(phone.ended).toBe(true);
    });

    it("a status check: one statement per screen read, none to turn a page or redisplay", async () => {
      const phone = new UssdPhone(a, nextPhone());
      await createCitizen(db.prisma, { phone: phone.phoneNumber, locale: "uz" });
      expect(await statementsOf(() => phone.dial())).toBe(1);
      // The list of applications, read with nothing else.
      expect(await statementsOf(() => phone.send("2"))).toBe(1);
      expect(phone.screen).toContain(shown("uz", "status.none"));
      // A retry of the same request is answered from the session alone.
      expect(await statementsOf(() => phone.retry())).toBe(0);
      expect(phone.screen).toContain(shown("uz", "status.none"));
    });

    it("an application: one statement per answer kept as a draft; the submission is still a transaction of its own", async () => {
      const phone = new UssdPhone(a, nextPhone());
      await createCitizen(db.prisma, {
        phone: phone.phoneNumber,
        locale: "uz",
        mahallaId: world.mahallaId,
        pinfl: nextPinfl(),
      });
      const counts: number[] = [await statementsOf(() => phone.dial())];
      for (const input of ["1", "1", "4", "2", "1500000", "1"])
        counts.push(await statementsOf(() => phone.send(input)));
      // The benefit list and the chosen benefit's first question read the catalogue and the
      // drafts; each answer writes the draft; the submission is one transaction of two plain-SQL
      // statements (the lock, read with who is told; then the duplicate and daily checks, the
      // application, its history, the draft and the outbox in one) between its BEGIN and COMMIT,
      // each a round trip of its own.
      expect(counts).toEqual([1, 2, 2, 1, 1, 1, 4]);
      expect(phone.ended).toBe(true);
      expect(phone.screen).toMatch(/A-\d{4}-\d{4}/);
    });
  });

  describe("the trust model, with sessions in Redis", () => {
    /** A caller at the summary of an application, ready to confirm with "1". */
    async function atSummary(app: FastifyInstance) {
      const phone = new UssdPhone(app, nextPhone());
      const citizen = await createCitizen(db.prisma, {
        phone: phone.phoneNumber,
        locale: "uz",
        mahallaId: world.mahallaId,
        pinfl: nextPinfl(),
      });
      await phone.dial();
      for (const input of ["1", "1", "4", "2", "1500000"]) await phone.send(input);
      expect(phone.screen).not.toMatch(/A-\d{4}-\d{4}/);
      return { phone, citizen };
    }

    const applicationsOf = (citizenId: number) => db.prisma.application.findMany({ where: { citizenId } });

    it("what the citizen is told is committed before the answer leaves", async () => {
      const { phone, citizen } = await atSummary(a);
      await phone.send("1");
      const [reference] = phone.screen.match(/A-\d{4}-\d{4}/) ?? [];
      const stored = await applicationsOf(citizen.id);
      expect(stored.map((x) => x.reference)).toEqual([reference]);
    });

    it("a confirmation retried on the other instance gets the same answer and changes nothing", async () => {
      const { phone, citizen } = await atSummary(a);
      await phone.send("1");
      const answered = phone.screen;
      const outbox = await db.prisma.outbox.count({ where: { citizenId: citizen.id } });
      // The gateway resends the request; the load balancer hands it to the other server.
      const other = new UssdPhone(b, phone.phoneNumber);
      other.sessionId = phone.sessionId;
      other.inputs.push(...phone.inputs);
      await other.retry();
      expect(other.screen).toBe(answered);
      expect(await applicationsOf(citizen.id)).toHaveLength(1);
      expect(await db.prisma.outbox.count({ where: { citizenId: citizen.id } })).toBe(outbox);
    });

    it("the same confirmation sent to both instances at once is processed once", async () => {
      const { phone, citizen } = await atSummary(a);
      const other = new UssdPhone(b, phone.phoneNumber);
      other.sessionId = phone.sessionId;
      other.inputs.push(...phone.inputs);
      await Promise.all([phone.send("1"), other.send("1"), phone.retry(), other.retry()]);
      expect(other.screen).toBe(phone.screen);
      expect(await applicationsOf(citizen.id)).toHaveLength(1);
    });

    it("Redis losing its data mid-session restarts the session at the menu, saying so, and loses nothing confirmed", async () => {
      const { phone, citizen } = await atSummary(a);
      // An earlier call's application, confirmed and committed.
      const earlier = await db.prisma.application.create({
        data: {
          reference: `A-9${String(citizen.id).padStart(3, "0").slice(-3)}-0001`,
          citizenId: citizen.id,
          benefitTypeId: (await db.prisma.benefitType.findUniqueOrThrow({ where: { code: "AGE_PENSION" } })).id,
          answers: {},
          status: "submitted",
          channel: "ussd",
          locale: "uz",
        },
      });
      await loseSessions();
      // The confirmation arrives for a session no one has any more: it is not acted on.
      await phone.send("1");
      expect(phone.ended).toBe(false);
      expect(phone.screen).toContain(shown("uz", "errors.session_restarted"));
      expect(phone.screen).toContain(shown("uz", "menu.title"));
      expect((await applicationsOf(citizen.id)).map((x) => x.reference)).toEqual([earlier.reference]);
      // The session goes on from the menu, on either instance.
      const other = new UssdPhone(b, phone.phoneNumber);
      other.sessionId = phone.sessionId;
      other.inputs.push(...phone.inputs);
      await other.send("2");
      expect(other.screen).not.toContain(shown("uz", "errors.session_restarted"));
      await other.send("1");
      expect(other.screen).toContain(earlier.reference);
    });
  });

  describe("the gateway's end notice", () => {
    it("records where a session kept in Redis ended, on a row of its own, without the digits typed", async () => {
      const phone = new UssdPhone(a, nextPhone());
      await createCitizen(db.prisma, { phone: phone.phoneNumber, locale: "uz" });
      await phone.dial();
      await phone.send("2");
      const shownLast = phone.screen;
      const res = await b.inject({
        method: "POST",
        url: "/ussd/events",
        payload: new URLSearchParams({
          sessionId: phone.sessionId,
          status: "Incomplete",
          hopsCount: "2",
          input: "31503610000413",
        }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.statusCode).toBe(200);
      const row = await db.prisma.conversationSession.findUniqueOrThrow({
        where: { channel_sessionKey: { channel: "ussd", sessionKey: phone.sessionId } },
      });
      expect(row.endStatus).toBe("Incomplete");
      expect(row.stepCount).toBe(2);
      expect(JSON.stringify(row.lastScreen)).toContain('"key":"status.none"');
      expect(shownLast).toContain(shown("uz", "status.none"));
      expect(JSON.stringify(row.endInfo)).not.toContain("31503610000413");
    });
  });

  describe("configuration", () => {
    it("keeps USSD sessions in Redis when REDIS_URL is set, unless USSD_SESSION_STORE=database", () => {
      const base = { NODE_ENV: "test" as const, REDIS_URL: "redis://127.0.0.1:6379" };
      expect(loadConfig(base).ussd.sessionRedisUrl).toBe("redis://127.0.0.1:6379");
      expect(loadConfig({ ...base, USSD_SESSION_STORE: "database" }).ussd.sessionRedisUrl).toBeUndefined();
      expect(loadConfig({ NODE_ENV: "test" }).ussd.sessionRedisUrl).toBeUndefined();
      expect(() => loadConfig({ ...base, USSD_SESSION_STORE: "memcached" })).toThrow(/USSD_SESSION_STORE/);
    });
  });
});
