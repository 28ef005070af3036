import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../app/logger.js";
import { createTelegram, type TelegramBot } from "../bot/index.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { createNotificationEngine, type NotificationEngine } from "../core/notifications/engine.js";
import type { RetryPolicy } from "../core/notifications/policy.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import type { SmsAccepted, SmsSender } from "../core/notifications/senders.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { eventually, outboxRow } from "./support/notify.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";
import { BOT_TOKEN, botCore, TEST_THROTTLE } from "./support/telegram-app.js";
import { BOT_INFO, TelegramDouble } from "./support/telegram-double.js";

/**
 * A Telegram outage must not hold SMS, and must not make anything go out twice: the Bot API
 * double first refuses connections, then hangs for 60 s; the provider timeout is shortened (1 s
 * per Bot API call, 1.5 s per send, a 4 s claim) so the test runs in seconds.
 */
const SMS_PER_SECOND = 20;
const SEND_TIMEOUT_MS = 1_500;
const policy: RetryPolicy = { maxAttempts: 100, baseDelayMs: 200, maxDelayMs: 800, leaseMs: 4_000 };

/** Records when each SMS left; honours the abort signal as a real HTTP client does. */
class TimedSms implements SmsSender {
  readonly sent: { to: string; text: string; at: number }[] = [];
  delayMs = 0;
  async send(message: { to: string; text: string; signal?: AbortSignal }): Promise<SmsAccepted> {
    if (this.delayMs > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.delayMs);
        message.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(new Error("aborted"));
        });
      });
    }
    this.sent.push({ to: message.to, text: message.text, at: performance.now() });
    return { providerMessageId: `ATXid_outage_${this.sent.length}`, status: "sent" };
  }
}

let db: TestDatabase;
let double: TelegramDouble;
let telegram: TelegramBot;
let engine: NotificationEngine | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  double = await new TelegramDouble().start();
  telegram = createTelegram({
    config: { token: BOT_TOKEN, apiRoot: double.url, sessionIdleSeconds: 86_400, timeoutSeconds: 1 },
    prisma: db.prisma,
    sql: db.sql,
    logger: createLogger("silent"),
    botInfo: BOT_INFO,
    throttle: TEST_THROTTLE,
    ...botCore(db, 86_400),
  });
});
afterAll(async () => {
  await double?.close();
  await db?.close();
});
beforeEach(async () => {
  await db.prisma.outbox.deleteMany();
  await double.comeBack();
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

const TELEGRAM_ROWS = 8;
const SMS_ROWS = 40;

/** Each test has chats of its own: the double remembers every chat's messages. */
let nextChat = 7_100;

async function backlog() {
  const chats = Array.from({ length: TELEGRAM_ROWS }, () => nextChat++);
  const telegramRows = await Promise.all(
    chats.map((chat, i) =>
      outboxRow(db.prisma, {
        channel: "telegram",
        chatId: BigInt(chat),
        params: { reference: `V-7100-${String(i).padStart(4, "0")}` },
      }),
    ),
  );
  const smsRows = await Promise.all(
    Array.from({ length: SMS_ROWS }, (_, i) =>
      outboxRow(db.prisma, { params: { reference: `V-7200-${String(i).padStart(4, "0")}` } }),
    ),
  );
  return { chats, telegramRows, smsRows };
}

function startEngine(sms: SmsSender, redis?: { url: string; prefix: string }): NotificationEngine {
  engine = createNotificationEngine({
    ...(redis
      ? {
          redisUrl: redis.url,
          queuePrefix: redis.prefix,
          queue: { dispatchEveryMs: 50, concurrency: 8, recoverEveryMs: 200 },
        }
      : {}),
    prisma: db.prisma,
    smsSender: sms,
    telegram: telegram.sender,
    smsPerSecond: SMS_PER_SECOND,
    telegramPerSecond: 100,
    policy,
    sendTimeoutMs: SEND_TIMEOUT_MS,
    // A claimed row waits for a free slot inside its lease: claim no more than can start at once.
    relay: { pollMs: 50, batchSize: 8, concurrency: 8, recoverEveryMs: 200 },
  });
  void engine.start();
  return engine;
}

const statuses = async (channel: "sms" | "telegram") =>
  (await db.prisma.outbox.findMany({ where: { channel }, select: { status: true } })).map((r) => r.status);

/**
 * SMS went out while Telegram was still down, paced at their rate: 40 at 20 a second (after a
 * one-second burst) take at least a second, and, however busy the machine, finish within
 * seconds rather than waiting for Telegram.
 */
async function expectSmsAtTheirRate(sms: TimedSms, started: number) {
  await eventually(async () => sms.sent.length === SMS_ROWS, 20_000, "every SMS sent");
  const times = sms.sent.map((s) => s.at);
  const span = Math.max(...times) - Math.min(...times);
  expect(span).toBeGreaterThanOrEqual(((SMS_ROWS - SMS_PER_SECOND) / SMS_PER_SECOND) * 1000 - 100);
  expect(Math.max(...times) - started).toBeLessThan(15_000);
  expect(new Set(sms.sent.map((s) => s.text)).size).toBe(SMS_ROWS);
}

/** After Telegram is back: every Telegram row sent, each chat shown its message exactly once. */
async function expectTelegramOnceEach(chats: number[]) {
  await eventually(
    async () => (await statuses("telegram")).every((s) => s === "sent"),
    20_000,
    "every Telegram row sent",
  );
  // Late copies of an earlier attempt would arrive now, if there were any.
  await new Promise((r) => setTimeout(r, 1_500));
  for (const chat of chats) expect(double.sentTexts(chat), `chat ${chat}`).toHaveLength(1);
  const rows = await db.prisma.outbox.findMany({ where: { channel: "telegram" } });
  expect(new Set(rows.map((r) => r.providerMessageId)).size).toBe(TELEGRAM_ROWS);
}

/** Every Telegram row has been tried, and failed, at least twice during the outage. */
async function triedTwiceDuringOutage(error: RegExp) {
  await eventually(
    async () => (await db.prisma.outbox.findMany({ where: { channel: "telegram" } })).every((r) => r.attempts >= 2),
    30_000,
    "every Telegram row tried twice",
  );
  const rows = await db.prisma.outbox.findMany({ where: { channel: "telegram" } });
  expect(rows.some((r) => r.status === "sent")).toBe(false);
  const errors = rows.map((r) => r.lastError).filter((e): e is string => e !== null);
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) expect(e).toMatch(error);
}

/**
 * The Bot API refusing connections while SMS and Telegram rows wait, on either delivery engine:
 * SMS keep their rate throughout, and once Telegram is back each chat gets its message once.
 */
async function connectionsRefused(kind: "relay" | "bullmq", redis?: { url: string; prefix: string }) {
  const { chats } = await backlog();
  await double.refuseConnections();
  const sms = new TimedSms();
  const started = performance.now();
  startEngine(sms, redis);
  expect(engine?.kind).toBe(kind);
  await expectSmsAtTheirRate(sms, started);
  await triedTwiceDuringOutage(/^TELEGRAM_UNREACHABLE: .*ECONNREFUSED|^TELEGRAM_UNREACHABLE: .*fetch failed/);

  await double.comeBack();
  await expectTelegramOnceEach(chats);
  expect(sms.sent).toHaveLength(SMS_ROWS);
}

describe("a Telegram outage", () => {
  it("with connections refused: SMS keep going out at their rate, and afterwards each Telegram message is sent once", async () => {
    await connectionsRefused("relay");
  }, 60_000);

  it("with the Bot API hanging for 60 s: SMS keep going out at their rate, and afterwards each Telegram message is sent once", async () => {
    const { chats } = await backlog();
    double.hang(60_000);
    const sms = new TimedSms();
    const started = performance.now();
    startEngine(sms);
    await expectSmsAtTheirRate(sms, started);
    // Telegram calls were made, hung, and were given up by their timeout, not left to run.
    await eventually(async () => double.abandoned >= 1, 10_000, "a hung call given up");
    await triedTwiceDuringOutage(/timed out after 1 seconds|SEND_TIMEOUT/);

    double.hang(0);
    await expectTelegramOnceEach(chats);
    expect(double.abandoned).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

requireServer("redis").describe("a Telegram outage with BullMQ delivery", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(() => redis?.close());

  it("with connections refused: SMS keep going out at their rate, and afterwards each Telegram message is sent once", async () => {
    await connectionsRefused("bullmq", { url: redis.url, prefix: redis.prefix() });
  }, 60_000);
});

describe("a provider call and its claim", () => {
  const clockedDelivery = (sms: SmsSender, clock: () => Date) =>
    new NotificationDelivery({ prisma: db.prisma, sms, policy, clock, sendTimeoutMs: SEND_TIMEOUT_MS });

  it("aborts a call slower than the timeout, retries it later and sends it once", async () => {
    const sms = new TimedSms();
    sms.delayMs = 10_000;
    const created = await outboxRow(db.prisma);
    const delivery = clockedDelivery(sms, () => new Date());
    const [claimed] = await delivery.claimDue(10);
    const begun = performance.now();
    const outcome = await delivery.deliver(claimed!);
    expect(outcome).toMatchObject({ outcome: "retry", error: expect.stringMatching(/^SEND_TIMEOUT/) });
    expect(performance.now() - begun).toBeLessThan(SEND_TIMEOUT_MS + 1_000);
    sms.delayMs = 0;
    await new Promise((r) => setTimeout(r, policy.baseDelayMs + 50));
    const relay = new OutboxRelay(delivery, { recoverEveryMs: 0 });
    expect((await relay.tick())[0]).toMatchObject({ outcome: "sent" });
    // The aborted first call never completes later.
    await new Promise((r) => setTimeout(r, 200));
    expect(sms.sent).toHaveLength(1);
    expect(await db.prisma.outbox.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({
      status: "sent",
      attempts: 2,
    });
  });

  it("never starts a call that could outlive its claim: a row whose lease is nearly over is not sent", async () => {
    const sms = new TimedSms();
    let now = new Date();
    const delivery = clockedDelivery(sms, () => now);
    const created = await outboxRow(db.prisma, { nextAttemptAt: now });
    const [claimed] = await delivery.claimDue(10);
    // Pacing or a slow database used up the claim: less than one timeout of it is left.
    now = new Date(now.getTime() + policy.leaseMs - SEND_TIMEOUT_MS + 1);
    expect(await delivery.deliver(claimed!)).toMatchObject({
      outcome: "retry",
      error: expect.stringMatching(/^LEASE_TOO_SHORT/),
    });
    expect(sms.sent).toHaveLength(0);
    expect(await db.prisma.outbox.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({ status: "failed" });
  });

  it("refuses a lease shorter than two provider timeouts", () => {
    expect(
      () =>
        new NotificationDelivery({
          prisma: db.prisma,
          sms: new TimedSms(),
          policy: { ...policy, leaseMs: 2_000 },
          sendTimeoutMs: 1_500,
        }),
    ).toThrow(/at least twice the provider timeout/);
  });
});
