import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import type { SqlExecutor } from "../core/db/adapters.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { createNotificationEngine, type NotificationEngine } from "../core/notifications/engine.js";
import type { RetryPolicy } from "../core/notifications/policy.js";
import { jobIdFor, NotificationQueue } from "../core/notifications/queue.js";
import { PermanentSendError, TransientSendError } from "../core/notifications/senders.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { crashOnMarkSent, eventually, FakeSms, outboxRow } from "./support/notify.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";

/** Short waits so the real-time queue retries within a test; same shape as the production policy. */
const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 500, leaseMs: 60_000 };

let db: TestDatabase;
let redis: TestRedis;
/** Shifts the delivery clock (leases, schedules) without touching BullMQ's own timers. */
let offsetMs = 0;
const clock = () => new Date(Date.now() + 5_000 + offsetMs);
const engines: NotificationEngine[] = [];

function engine(sms: FakeSms, prefix: string, sql: SqlExecutor = db.sql): NotificationEngine {
  const created = createNotificationEngine({
    prisma: db.prisma,
    sql,
    smsSender: sms,
    redisUrl: redis.url,
    queuePrefix: prefix,
    policy,
    clock,
    smsPerSecond: 1_000,
    queue: { dispatchEveryMs: 20, recoverEveryMs: 0 },
  });
  engines.push(created);
  return created;
}

const row = (id: number) => db.prisma.outbox.findUniqueOrThrow({ where: { id } });
const statusOf = async (id: number) => (await row(id)).status;

const redisNeeded = requireServer("redis");

beforeAll(async () => {
  // Without a Redis the suite below is one stand-in test; nothing to start.
  if (!redisNeeded.available) return;
  [db, redis] = await Promise.all([createTestDatabase(), startTestRedis()]);
  await seedReferenceData(db.prisma);
});
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});
afterAll(async () => {
  await redis?.close();
  await db?.close();
});
beforeEach(async () => {
  offsetMs = 0;
  await db?.prisma.outbox.deleteMany();
});

redisNeeded.describe("delivery through BullMQ on Redis", () => {
  it("moves due rows into the queue and sends each once", async () => {
    const sms = new FakeSms();
    const rows = await Promise.all(Array.from({ length: 25 }, () => outboxRow(db.prisma)));
    const e = engine(sms, redis.prefix());
    expect(e.kind).toBe("bullmq");
    await e.start();
    await eventually(
      async () => (await db.prisma.outbox.count({ where: { status: "sent" } })) === 25,
      15_000,
      "25 sent",
    );
    expect(sms.sent.map((m) => m.outboxId).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      rows.map((r) => r.id).sort((a, b) => a - b),
    );
    expect((await row(rows[0]!.id)).providerMessageId).toMatch(/^ATXid_/);
  });

  it("queues a row once however often it is handed over (job id outbox-<id>)", async () => {
    const sms = new FakeSms();
    const created = await outboxRow(db.prisma);
    const prefix = redis.prefix();
    const delivery = new NotificationDelivery({ prisma: db.prisma, sms, clock, policy });
    const queue = new NotificationQueue(delivery, { redisUrl: redis.url, prefix, worker: false, dispatcher: false });
    try {
      const job = { name: "deliver", data: { outboxId: created.id }, opts: { jobId: jobIdFor(created.id) } };
      await queue.queue.addBulk([job, job]);
      await queue.queue.add(job.name, job.data, job.opts);
      expect(await queue.queue.getJobCountByTypes("waiting")).toBe(1);
      expect((await queue.queue.getJob(jobIdFor(created.id)))?.data).toEqual({ outboxId: created.id });
    } finally {
      await queue.stop();
    }
    const e = engine(sms, prefix);
    await e.start();
    await eventually(async () => (await statusOf(created.id)) === "sent", 10_000, "sent");
    // The dispatcher also found the row due; BullMQ kept one job.
    await new Promise((r) => setTimeout(r, 100));
    expect(sms.sent).toHaveLength(1);
  });

  it("retries with exponential backoff, recording each attempt on the row", async () => {
    const created = await outboxRow(db.prisma);
    const attempts: { at: number; attempts: number; lastError: string | null }[] = [];
    const sms = new (class extends FakeSms {
      override async send(message: { to: string; text: string; outboxId?: number }) {
        const r = await row(created.id);
        attempts.push({ at: Date.now(), attempts: r.attempts, lastError: r.lastError });
        return super.send(message);
      }
    })();
    sms.failures = [new TransientSendError("AT_HTTP_500"), new TransientSendError("AT_HTTP_502")];
    const e = engine(sms, redis.prefix());
    await e.start();
    await eventually(async () => (await statusOf(created.id)) === "sent", 10_000, "sent after retries");
    expect(await row(created.id)).toMatchObject({ status: "sent", attempts: 3, lastError: null });
    expect(attempts.map((a) => [a.attempts, a.lastError])).toEqual([
      [1, null],
      [2, "AT_HTTP_500"],
      [3, "AT_HTTP_502"],
    ]);
    // BullMQ waited the policy's backoff before each retry: 40 ms, then 80 ms (lower bounds only).
    const [first, second, third] = attempts.map((a) => a.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(policy.baseDelayMs - 5);
    expect(third - second).toBeGreaterThanOrEqual(policy.baseDelayMs * 2 - 5);
    expect(sms.sent).toHaveLength(1);
  });

  it("dead-letters a row after its last attempt, and at once on a permanent error", async () => {
    const sms = new FakeSms();
    sms.failures = [
      new PermanentSendError("AT_403", "InvalidPhoneNumber"),
      ...Array.from({ length: policy.maxAttempts }, () => new TransientSendError("AT_HTTP_500")),
    ];
    const invalid = await outboxRow(db.prisma);
    const e = engine(sms, redis.prefix());
    await e.start();
    await eventually(async () => (await statusOf(invalid.id)) === "dead", 10_000, "permanent → dead");
    expect(await row(invalid.id)).toMatchObject({ attempts: 1, lastError: "AT_403: InvalidPhoneNumber" });
    const flaky = await outboxRow(db.prisma, { nextAttemptAt: clock() });
    await eventually(async () => (await statusOf(flaky.id)) === "dead", 10_000, "exhausted → dead");
    expect(await row(flaky.id)).toMatchObject({ attempts: policy.maxAttempts, lastError: "AT_HTTP_500" });
    expect(sms.sent).toHaveLength(0);
    // Dead letters live in the Outbox (the API lists them); their jobs are gone from Redis.
    expect(await e.queue!.queue.getJob(jobIdFor(flaky.id))).toBeUndefined();
  });

  it("after a worker crash on recording the outcome, leaves no half-marked row and sends once more after the lease", async () => {
    const sms = new FakeSms();
    const prefix = redis.prefix();
    const created = await outboxRow(db.prisma);
    const crashed = engine(sms, prefix, crashOnMarkSent(db.sql));
    await crashed.start();
    await eventually(async () => sms.sent.length === 1, 10_000, "provider accepted");
    await crashed.stop();
    expect(await row(created.id)).toMatchObject({ status: "sending", providerMessageId: null });

    const restarted = engine(sms, prefix);
    await restarted.start();
    // Before the lease expires the row might still be a live worker's: it is left alone.
    await new Promise((r) => setTimeout(r, 100));
    expect(await statusOf(created.id)).toBe("sending");
    expect(sms.sent).toHaveLength(1);
    offsetMs = policy.leaseMs;
    await eventually(async () => (await statusOf(created.id)) === "sent", 10_000, "sent after the lease");
    await new Promise((r) => setTimeout(r, 100));
    expect(sms.sent).toHaveLength(2);
    expect(await row(created.id)).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("marks sent, without a second SMS, a row an earlier version left sending with the provider's id", async () => {
    const sms = new FakeSms();
    const prefix = redis.prefix();
    const created = await outboxRow(db.prisma);
    // Earlier versions wrote the provider's id, then the status: a worker dying between left this.
    const dead = new NotificationDelivery({ prisma: db.prisma, sms, clock, policy });
    expect(await dead.claimOne(created.id)).not.toBeNull();
    await db.prisma.outbox.update({ where: { id: created.id }, data: { providerMessageId: "ATXid_earlier" } });

    const restarted = engine(sms, prefix);
    await restarted.start();
    await new Promise((r) => setTimeout(r, 100));
    expect(await statusOf(created.id)).toBe("sending");
    offsetMs = policy.leaseMs;
    await eventually(async () => (await statusOf(created.id)) === "sent", 10_000, "reconciled");
    await new Promise((r) => setTimeout(r, 100));
    expect(sms.sent).toHaveLength(0);
    expect(await row(created.id)).toMatchObject({ status: "sent", providerMessageId: "ATXid_earlier" });
  });

  it("after a worker died holding a row (job lost), sends it once when the lease expires: nothing is lost", async () => {
    const sms = new FakeSms();
    const created = await outboxRow(db.prisma);
    // A worker claimed the row, then it and its job vanished (e.g. Redis restarted without data).
    const dead = new NotificationDelivery({ prisma: db.prisma, sms, clock, policy });
    expect(await dead.claimOne(created.id)).not.toBeNull();
    const e = engine(sms, redis.prefix());
    await e.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(sms.sent).toHaveLength(0);
    offsetMs = policy.leaseMs;
    await eventually(async () => (await statusOf(created.id)) === "sent", 10_000, "sent after lease");
    expect(sms.sent).toHaveLength(1);
    expect(await row(created.id)).toMatchObject({ attempts: 2 });
  });

  it("keeps only a bounded number of jobs in Redis; the rest of a backlog waits in the table", async () => {
    const sms = new FakeSms();
    await Promise.all(Array.from({ length: 30 }, () => outboxRow(db.prisma)));
    const delivery = new NotificationDelivery({ prisma: db.prisma, sms, clock, policy });
    const queue = new NotificationQueue(delivery, {
      redisUrl: redis.url,
      prefix: redis.prefix(),
      worker: false,
      dispatcher: false,
      highWater: 10,
      batchSize: 4,
    });
    try {
      let moved = 0;
      for (let round = 0; round < 6; round++) moved += await queue.dispatchOnce();
      expect(moved).toBe(10);
      expect(await queue.queue.getJobCountByTypes("waiting")).toBe(10);
      expect(await db.prisma.outbox.count({ where: { status: "pending", nextAttemptAt: { lte: clock() } } })).toBe(20);
    } finally {
      await queue.stop();
    }
  });
});
