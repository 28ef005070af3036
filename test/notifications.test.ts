import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SqlExecutor } from "../core/db/adapters.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { createNotificationEngine } from "../core/notifications/engine.js";
import { LoggingSmsSender } from "../core/notifications/logging-sms.js";
import { backoffDelay, type RetryPolicy } from "../core/notifications/policy.js";
import { TokenBucket } from "../core/notifications/rate-limit.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import { NotificationRenderer } from "../core/notifications/render.js";
import { PermanentSendError, RecipientUnreachableError, TransientSendError } from "../core/notifications/senders.js";
import { measureSms } from "../core/notifications/sms-text.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { BackOfficeNotifications } from "../core/services/backoffice/notifications.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { crashOnMarkSent, FakeSms, FakeTelegram, outboxRow } from "./support/notify.js";

const renderer = new NotificationRenderer();
const names = (uz: string, cyrl: string, ru: string) => ({ names: { uz, "uz-Cyrl": cyrl, ru } });

describe("SMS text", () => {
  it("writes Uzbek Latin in the 7-bit alphabet, so one SMS holds 160 characters", () => {
    const sms = renderer.sms({
      locale: "uz",
      templateKey: "notify.payment_credited",
      params: {
        amount: { money: 45_000_000 },
        benefit: names("Bolalar nafaqasi", "Болалар нафақаси", "Детское пособие"),
        period: "03.2025",
      },
    });
    expect(sms.encoding).toBe("gsm7");
    expect(sms.text).not.toMatch(/[ʻʼ]/);
    expect(sms.text).toContain("so'm");
    expect(sms.segments).toBe(1);
  });

  it("keeps Cyrillic within two UCS-2 parts by shortening names, never the reference", () => {
    const longReason =
      "Заявитель не представил справку о составе семьи и доходах всех членов семьи за последние двенадцать месяцев";
    const sms = renderer.sms({
      locale: "ru",
      templateKey: "notify.application_rejected_reason",
      params: { reference: "A-1234-5678", reason: longReason, benefit: names("x", "x", "Пособие") },
    });
    const full = measureSms(
      renderer.text({
        locale: "ru",
        templateKey: "notify.application_rejected_reason",
        params: { reference: "A-1234-5678", reason: `${longReason} плюс ещё немного текста для длины` },
      }),
    );
    expect(full.encoding).toBe("ucs2");
    expect(sms.encoding).toBe("ucs2");
    expect(sms.units).toBeLessThanOrEqual(134);
    expect(sms.segments).toBeLessThanOrEqual(2);
    expect(sms.text).toContain("A-1234-5678");
    expect(sms.text).toContain("…");
  });

  it("sends a long message whole when only protected values make it long", () => {
    const reference = "A-1234-5678";
    const sms = renderer.sms({
      locale: "ru",
      templateKey: "notify.visit_done",
      params: { reference: `${reference} ${"Я".repeat(200)}` },
    });
    expect(sms.text).toContain("Я".repeat(200));
    expect(sms.segments).toBeGreaterThan(2);
  });
});

describe("retry policy and pacing", () => {
  it("backs off exponentially from 30 seconds and caps the wait", () => {
    const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 30_000, maxDelayMs: 3_600_000, leaseMs: 1 };
    expect([1, 2, 3, 4, 8, 9, 50].map((n) => backoffDelay(policy, n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
  });

  it("lets a burst of one second through and then paces to the rate", async () => {
    let t = 0;
    const waits: number[] = [];
    const bucket = new TokenBucket(
      4,
      () => t,
      async (ms) => {
        waits.push(ms);
        t += ms;
      },
    );
    for (let i = 0; i < 6; i++) await bucket.take();
    expect(waits).toEqual([250, 250]);
    expect(t).toBe(500);
  });
});

describe("delivery through the outbox relay", () => {
  let db: TestDatabase;
  let now: Date;
  const clock = () => now;
  const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 30_000, maxDelayMs: 600_000, leaseMs: 300_000 };
  const delivery = (sms: FakeSms | LoggingSmsSender, telegram?: FakeTelegram, sql: SqlExecutor = db.sql) =>
    new NotificationDelivery({ prisma: db.prisma, sql, sms, telegram, clock, policy });
  const relay = (d: NotificationDelivery) => new OutboxRelay(d, { recoverEveryMs: 0 });
  const row = (id: number) => db.prisma.outbox.findUniqueOrThrow({ where: { id } });
  /** A row due now on the test's clock (the database's own clock is not the test's). */
  const add = (data: Parameters<typeof outboxRow>[1] = {}) => outboxRow(db.prisma, { nextAttemptAt: now, ...data });

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedReferenceData(db.prisma);
  });
  afterAll(() => db?.close());
  beforeEach(async () => {
    now = new Date("2025-03-10T09:00:00Z");
    await db.prisma.outbox.deleteMany();
  });

  it("sends a due row once, records the provider id and marks it sent", async () => {
    const sms = new FakeSms();
    const created = await add({ params: { reference: "V-1234-5678" } });
    const r = relay(delivery(sms));
    expect(await r.tick()).toEqual([
      { outcome: "sent", channel: "sms", providerMessageId: expect.stringMatching(/^ATXid_/) },
    ]);
    expect(await r.tick()).toEqual([]);
    expect(sms.sent).toHaveLength(1);
    expect(sms.sent[0]).toMatchObject({ to: created.recipientPhone, outboxId: created.id });
    expect(sms.sent[0]?.text).toContain("V-1234-5678");
    expect(await row(created.id)).toMatchObject({
      status: "sent",
      attempts: 1,
      providerMessageId: expect.stringMatching(/^ATXid_/),
      sentAt: now,
    });
  });

  it("waits for rows that are not due yet", async () => {
    const sms = new FakeSms();
    await add({ nextAttemptAt: new Date(now.getTime() + 60_000) });
    const r = relay(delivery(sms));
    expect(await r.tick()).toEqual([]);
    now = new Date(now.getTime() + 60_000);
    expect(await r.tick()).toHaveLength(1);
    expect(sms.sent).toHaveLength(1);
  });

  it("records and logs SMS without credentials as `logged`, with no provider id", async () => {
    const lines: object[] = [];
    const log = { info: (o: object) => lines.push(o), warn() {}, error() {} };
    const created = await add();
    await relay(delivery(new LoggingSmsSender(log))).tick();
    expect(await row(created.id)).toMatchObject({ status: "logged", providerMessageId: null });
    expect(lines[0]).toMatchObject({ outboxId: created.id, phone: created.recipientPhone });
  });

  it("retries with exponential backoff and then succeeds", async () => {
    const sms = new FakeSms();
    sms.failures = [new TransientSendError("AT_HTTP_500"), new Error("socket hang up")];
    const created = await add();
    const r = relay(delivery(sms));
    expect((await r.tick())[0]).toMatchObject({ outcome: "retry", error: "AT_HTTP_500" });
    expect(await row(created.id)).toMatchObject({
      status: "failed",
      attempts: 1,
      nextAttemptAt: new Date(now.getTime() + 30_000),
    });
    now = new Date(now.getTime() + 29_999);
    expect(await r.tick()).toEqual([]);
    now = new Date(now.getTime() + 1);
    expect((await r.tick())[0]).toMatchObject({ outcome: "retry" });
    expect(await row(created.id)).toMatchObject({
      attempts: 2,
      nextAttemptAt: new Date(now.getTime() + 60_000),
      lastError: "Error: socket hang up",
    });
    now = new Date(now.getTime() + 60_000);
    expect((await r.tick())[0]).toMatchObject({ outcome: "sent" });
    expect(await row(created.id)).toMatchObject({ status: "sent", attempts: 3, lastError: null });
    expect(sms.sent).toHaveLength(1);
  });

  it("gives up as dead after the last attempt, and at once on a permanent error; the API lists both", async () => {
    const sms = new FakeSms();
    sms.failures = Array.from({ length: policy.maxAttempts }, () => new TransientSendError("AT_500"));
    const flaky = await add();
    const r = relay(delivery(sms));
    for (let i = 0; i < policy.maxAttempts; i++) {
      await r.tick();
      now = new Date(now.getTime() + policy.maxDelayMs);
    }
    expect(await row(flaky.id)).toMatchObject({ status: "dead", attempts: policy.maxAttempts, lastError: "AT_500" });

    sms.failures = [new PermanentSendError("AT_403", "InvalidPhoneNumber")];
    const invalid = await add();
    expect((await r.tick())[0]).toMatchObject({ outcome: "dead" });
    expect(await row(invalid.id)).toMatchObject({
      status: "dead",
      attempts: 1,
      lastError: "AT_403: InvalidPhoneNumber",
    });
    expect(await r.tick()).toEqual([]);
    const dead = await new BackOfficeNotifications(db.prisma).list({ status: "dead" });
    expect(dead.items.map((i) => i.id).sort()).toEqual([flaky.id, invalid.id].sort());
    expect(sms.sent).toHaveLength(0);
  });

  it("never shows a template key to a citizen: an unknown template is dead at once", async () => {
    const sms = new FakeSms();
    const created = await add({ templateKey: "notify.no_such_template" });
    await relay(delivery(sms)).tick();
    expect(await row(created.id)).toMatchObject({
      status: "dead",
      lastError: expect.stringContaining("UNKNOWN_TEMPLATE"),
    });
    expect(sms.sent).toHaveLength(0);
  });

  it("sends Telegram rows through the bot in the recipient's language, the staff card for new visits", async () => {
    const sms = new FakeSms();
    const telegram = new FakeTelegram();
    const citizenRow = await add({ channel: "telegram", chatId: 42n, locale: "uz-Cyrl" });
    const staff = await db.prisma.staff.create({
      data: {
        fullName: "Ali Valiyev",
        phone: "+998971112233",
        role: "social_worker",
        districtId: (await db.prisma.district.findFirstOrThrow()).id,
      },
    });
    const staffRow = await add({
      channel: "telegram",
      chatId: 43n,
      staffId: staff.id,
      templateKey: "notify.visit_requested_staff",
      params: {
        reference: "V-5555-0000",
        reason: names("a", "a", "a"),
        date: { date: "2025-03-11" },
        part: { t: "visit.part.morning" },
      },
    });
    await relay(delivery(sms, telegram)).tick();
    expect(telegram.sent).toEqual([{ chatId: 42n, text: renderer.text(citizenRow) }]);
    expect(telegram.cards).toEqual([{ staffId: staff.id, reference: "V-5555-0000" }]);
    expect(await row(citizenRow.id)).toMatchObject({
      status: "sent",
      channel: "telegram",
      providerMessageId: "tg:42:1",
    });
    expect(await row(staffRow.id)).toMatchObject({ status: "sent", providerMessageId: "tg:43:9001" });
    expect(sms.sent).toHaveLength(0);
  });

  it("falls back to SMS without a bot, or when the chat blocked the bot", async () => {
    const sms = new FakeSms();
    const telegram = new FakeTelegram();
    telegram.failures = [new RecipientUnreachableError("Forbidden: bot was blocked by the user")];
    const blocked = await add({ channel: "telegram", chatId: 50n });
    await relay(delivery(sms, telegram)).tick();
    const noBot = await add({ channel: "telegram", chatId: 51n });
    await relay(delivery(sms)).tick();
    expect(sms.sent.map((m) => m.outboxId)).toEqual([blocked.id, noBot.id]);
    expect(await row(blocked.id)).toMatchObject({ status: "sent", channel: "sms" });
    expect(await row(noBot.id)).toMatchObject({ status: "sent", channel: "sms" });
  });

  it("records the status and the provider's id in one write: a crash on it leaves no half-marked row", async () => {
    const sms = new FakeSms();
    const created = await add();
    const crashed = await relay(delivery(sms, undefined, crashOnMarkSent(db.sql))).tick();
    expect(crashed[0]).toMatchObject({ outcome: "interrupted" });
    // Nothing of the outcome reached the row: it is the claim's, as if the call had not returned.
    expect(await row(created.id)).toMatchObject({ status: "sending", providerMessageId: null, sentAt: null });

    // Restart: the row waits for its lease (it could be a live worker's), then goes once more:
    // the documented at-least-once window, one round trip wide.
    const restarted = relay(delivery(sms));
    expect(await restarted.tick()).toEqual([]);
    expect(sms.sent).toHaveLength(1);
    now = new Date(now.getTime() + policy.leaseMs);
    expect((await restarted.tick())[0]).toMatchObject({ outcome: "sent" });
    expect(await row(created.id)).toMatchObject({ status: "sent", attempts: 2, lastError: null });
    expect(sms.sent).toHaveLength(2);
  });

  it("marks sent, without sending again, a row an earlier version left sending with the provider's id", async () => {
    const sms = new FakeSms();
    const created = await add();
    // Earlier versions wrote the provider's id, then the status: a crash between left this.
    await delivery(sms).claimDue(10);
    await db.prisma.outbox.update({ where: { id: created.id }, data: { providerMessageId: "ATXid_earlier" } });

    const restarted = relay(delivery(sms));
    expect(await restarted.tick()).toEqual([]);
    expect(await row(created.id)).toMatchObject({ status: "sending" });
    now = new Date(now.getTime() + policy.leaseMs);
    expect(await restarted.tick()).toEqual([]);
    expect(await row(created.id)).toMatchObject({ status: "sent", providerMessageId: "ATXid_earlier" });
    expect(sms.sent).toHaveLength(0);
  });

  it("after a crash before sending, sends the row once its lease has expired: nothing is lost", async () => {
    const sms = new FakeSms();
    const created = await add();
    // A worker claims the row and dies before sending.
    expect(await delivery(sms).claimDue(10)).toHaveLength(1);
    const restarted = relay(delivery(sms));
    expect(await restarted.tick()).toEqual([]);
    expect(sms.sent).toHaveLength(0);
    now = new Date(now.getTime() + policy.leaseMs);
    expect((await restarted.tick())[0]).toMatchObject({ outcome: "sent" });
    expect(await row(created.id)).toMatchObject({ status: "sent", attempts: 2 });
    expect(sms.sent).toHaveLength(1);
  });

  it("(the documented at-least-once window) resends when the crash came before the provider id was stored", async () => {
    const sms = new FakeSms();
    const created = await add();
    const d = delivery(sms);
    const [claimed] = await d.claimDue(10);
    // The provider accepted the message, then the process died before recording its id.
    await sms.send({ to: claimed!.recipientPhone!, text: "…", outboxId: claimed!.id });
    now = new Date(now.getTime() + policy.leaseMs);
    await relay(delivery(sms)).tick();
    expect(sms.sent).toHaveLength(2);
    expect(await row(created.id)).toMatchObject({ status: "sent" });
  });

  it("ignores the late result of a worker whose lease was taken over", async () => {
    const sms = new FakeSms();
    const created = await add();
    const slow = delivery(sms);
    const [stale] = await slow.claimDue(10);
    now = new Date(now.getTime() + policy.leaseMs);
    await relay(delivery(sms)).tick();
    const takenOver = await row(created.id);
    await slow.deliver(stale!);
    expect(await row(created.id)).toMatchObject({ providerMessageId: takenOver.providerMessageId, attempts: 2 });
  });

  it("lets two relays share the table without sending any row twice", async () => {
    const sms = new FakeSms();
    const rows = await Promise.all(Array.from({ length: 40 }, () => add()));
    const a = new OutboxRelay(delivery(sms), { batchSize: 7, concurrency: 3, recoverEveryMs: 0 });
    const b = new OutboxRelay(delivery(sms), { batchSize: 5, concurrency: 2, recoverEveryMs: 0 });
    for (let round = 0; round < 20; round++) await Promise.all([a.tick(), b.tick()]);
    expect(sms.sent.map((m) => m.outboxId).sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(
      rows.map((r) => r.id).sort((x, y) => x - y),
    );
    expect(await db.prisma.outbox.count({ where: { status: "sent" } })).toBe(40);
  });

  it("claims the longest-waiting rows first, of the asked channel only, and concurrent claims never share a row", async () => {
    const sms = new FakeSms();
    const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000);
    // Created newest first, so an order by id would fail the test.
    const recentSms = await add({ params: { reference: "V-2222-3333" }, nextAttemptAt: at(1) });
    const oldSms = await add({ nextAttemptAt: at(30) });
    const oldTelegram = await add({ channel: "telegram", chatId: 7001n, nextAttemptAt: at(40) });
    await add({ nextAttemptAt: new Date(now.getTime() + 60_000) });
    await db.prisma.outbox.update({ where: { id: recentSms.id }, data: { status: "failed", attempts: 1 } });
    const d = delivery(sms);

    const [first, second, ...rest] = await d.claimDue(10, "sms");
    expect([first?.id, second?.id, rest]).toEqual([oldSms.id, recentSms.id, []]);
    expect(first).toMatchObject({
      status: "sending",
      attempts: 1,
      nextAttemptAt: new Date(now.getTime() + policy.leaseMs),
    });
    expect(second).toMatchObject({ attempts: 2, recipientPhone: recentSms.recipientPhone, params: recentSms.params });
    expect(await d.claimDue(10)).toMatchObject([{ id: oldTelegram.id, recipientChatId: 7001n }]);

    await db.prisma.outbox.deleteMany();
    await Promise.all(Array.from({ length: 60 }, (_, i) => add({ nextAttemptAt: at(60 - i) })));
    const claims = await Promise.all(Array.from({ length: 12 }, () => delivery(sms).claimDue(7, "sms")));
    const ids = claims.flat().map((r) => r.id);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect(await db.prisma.outbox.count({ where: { status: "sending", attempts: 1 } })).toBe(60);
  });

  it("runs as a loop that starts, delivers what arrives and stops cleanly", async () => {
    const sms = new FakeSms();
    const engine = createNotificationEngine({ prisma: db.prisma, smsSender: sms, clock, relay: { pollMs: 10 } });
    expect(engine.kind).toBe("relay");
    await engine.start();
    try {
      const created = await add();
      engine.wake();
      for (let i = 0; i < 200 && sms.sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sms.sent.map((m) => m.outboxId)).toEqual([created.id]);
    } finally {
      await engine.stop();
    }
  });
});
