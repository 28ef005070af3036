import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { createLogger } from "../app/logger.js";
import { notificationEngineFromConfig } from "../app/notifications.js";
import type { NotificationEngine } from "../core/notifications/engine.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { AtDouble } from "./support/at-double.js";
import { apiApp, auth, makeApplication, makeCitizen } from "./support/backoffice.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { collectUnhandledRejections, type RedisServer, redisServer, waitUntil } from "./support/faults.js";
import { requireServer } from "./support/servers.js";
import { freePort } from "./support/spawn.js";

/**
 * Redis (BullMQ) gone while the back office keeps deciding applications: the notifications wait in
 * the Outbox, and go out once each when Redis is back.
 */
let db: TestDatabase;
let at: AtDouble;
let redis: RedisServer;
let api: FastifyInstance;
let engine: NotificationEngine | undefined;
const unhandled = collectUnhandledRejections();

// A server of the test's own, which it kills and restarts: the shared TEST_REDIS_URL one must not be.
const ownRedis = requireServer("redis-server");

beforeAll(async () => {
  // Without a server the suite below is one stand-in test; nothing to start.
  if (!ownRedis.available) return;
  db = await createTestDatabase();
  await seedReferenceData(db.prisma);
  at = await new AtDouble().start();
  redis = redisServer(await freePort());
  await redis.start();
  api = await apiApp(db.prisma);
});

afterAll(async () => {
  await engine?.stop();
  await redis?.stop();
  await api?.close();
  await at?.stop();
  await db?.close();
  unhandled.dispose();
});

/** Decides `count` fresh applications through the API; returns the phones that must be told. */
async function decideApplications(count: number): Promise<string[]> {
  const phones: string[] = [];
  for (let i = 0; i < count; i++) {
    const citizen = await makeCitizen(db.prisma);
    const application = await makeApplication(db.prisma, citizen.id);
    const res = await api.inject({
      method: "PATCH",
      url: `/api/v1/applications/${application.reference}`,
      headers: auth,
      payload: { status: "approved" },
    });
    expect(res.statusCode, res.body).toBe(200);
    phones.push(citizen.phone);
  }
  return phones;
}

/** Each decision sends two SMS: the decision, then (issue 15) the question how it went. */
const PER_DECISION = 2;
const rowsFor = (phones: string[]) =>
  db.prisma.outbox.findMany({ where: { recipientPhone: { in: phones } }, orderBy: { id: "asc" } });
const smsTo = (phone: string) => at.requests.filter((r) => r.form.to === phone);

ownRedis.describe("Redis down", () => {
  it("keeps notifications in the outbox while Redis is gone and delivers each once when it returns", async () => {
    const config = loadConfig({
      NODE_ENV: "test",
      REDIS_URL: redis.url,
      AT_USERNAME: "mahalla",
      AT_API_KEY: "redis-fault-key",
      AT_API_ROOT: at.url,
      NOTIFY_SMS_PER_SECOND: "1000",
    });
    engine = notificationEngineFromConfig(config, db, createLogger("silent"));
    expect(engine.kind).toBe("bullmq");
    await engine.start();

    // The pipeline works while Redis is up.
    const [early] = await decideApplications(1);
    expect(await waitUntil(async () => smsTo(early ?? "").length === PER_DECISION, 15_000)).toBe(true);

    await redis.stop();
    const phones = await decideApplications(5);
    // Several dispatch rounds pass with Redis gone.
    await new Promise((r) => setTimeout(r, 3_000));
    const waiting = await rowsFor(phones);
    expect(waiting).toHaveLength(5 * PER_DECISION);
    expect(waiting.map((r) => [r.status, r.attempts, r.providerMessageId])).toEqual(
      waiting.map(() => ["pending", 0, null]),
    );
    expect(phones.flatMap(smsTo)).toEqual([]);
    // The application keeps serving the back office meanwhile.
    expect((await api.inject({ method: "GET", url: "/api/v1/regions", headers: auth })).statusCode).toBe(200);

    await redis.start();
    const delivered = await waitUntil(
      async () => (await rowsFor(phones)).every((r) => r.status === "sent"),
      30_000,
      200,
    );
    expect(delivered, JSON.stringify(await rowsFor(phones))).toBe(true);
    // Give a duplicate every chance to show up before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(phones.map((p) => smsTo(p).length)).toEqual(phones.map(() => PER_DECISION));
    const sent = await rowsFor(phones);
    expect(sent.every((r) => r.attempts === 1 && r.providerMessageId?.startsWith("ATXid_double_"))).toBe(true);
    expect(smsTo(early ?? "")).toHaveLength(PER_DECISION);
    expect(unhandled.reasons).toEqual([]);
  });
});
