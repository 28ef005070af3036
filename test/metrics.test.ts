import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../app/config.js";
import { createAppCore, createCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildWorkerMetricsServer } from "../app/metrics.js";
import { buildServer } from "../app/server.js";
import type { ConversationEngine } from "../core/engine/engine.js";
import { flowOfScreen } from "../core/metrics.js";
import { NotificationDelivery } from "../core/notifications/delivery.js";
import { OutboxRelay } from "../core/notifications/relay.js";
import { PermanentSendError } from "../core/notifications/senders.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { eventually, FakeSms, FakeTelegram, outboxRow } from "./support/notify.js";
import { startTelegramApp } from "./support/telegram-app.js";
import { heldCore, nextPhone, startApp, type TestApp, UssdPhone, ussdOnly } from "./ussd-support.js";

const TOKEN = "metrics-token-0123456789abcdef";

// One database for the file (migrating one is the slow part); every figure is read as a difference.
let db: TestDatabase;
let t: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  await seedReferenceData(db.prisma, { demo: true });
  t = await startApp({}, db);
});
afterAll(async () => {
  await t.close();
  await db.close();
});

/** Prometheus text → value per series (`name{labels}` as printed, labels in prom-client's order). */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

async function scrape(app: FastifyInstance, token?: string): Promise<Map<string, number>> {
  const res = await app.inject({
    method: "GET",
    url: "/metrics",
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.body);
}

/** The sum of every series of `name` whose labels include all of `labels`. */
function sum(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of series) {
    const brace = key.indexOf("{");
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

describe("who may read /metrics", () => {
  const serve = (env: Record<string, string>) => {
    const config = loadConfig({ LOG_LEVEL: "silent", ...env });
    return buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
  };

  it("is not served in production without METRICS_TOKEN", async () => {
    const app = await serve({ NODE_ENV: "production", USSD_CALLBACK_TOKEN: "x".repeat(32) });
    try {
      expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it("in production with METRICS_TOKEN answers only the bearer of that token", async () => {
    const app = await serve({ NODE_ENV: "production", USSD_CALLBACK_TOKEN: "x".repeat(32), METRICS_TOKEN: TOKEN });
    try {
      const none = await app.inject({ method: "GET", url: "/metrics" });
      expect(none.statusCode).toBe(401);
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      const wrong = await app.inject({
        method: "GET",
        url: "/metrics",
        headers: { authorization: `Bearer ${TOKEN}x` },
      });
      expect(wrong.statusCode).toBe(401);
      const asQuery = await app.inject({ method: "GET", url: `/metrics?token=${TOKEN}` });
      expect(asQuery.statusCode).toBe(401);
      expect(sum(await scrape(app, TOKEN), "mc_process_resident_memory_bytes")).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it("is open in development", async () => {
    const app = await serve({ NODE_ENV: "development" });
    try {
      const series = await scrape(app);
      expect(sum(series, "mc_db_queries_total")).toBeGreaterThan(0);
      expect(sum(series, "mc_nodejs_eventloop_lag_p99_seconds")).toBeGreaterThanOrEqual(0);
      expect(series.has("mc_nodejs_eventloop_lag_p99_seconds")).toBe(true);
    } finally {
      await app.close();
    }
  });

  it("refuses a METRICS_TOKEN shorter than 16 characters, naming it", () => {
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);
  });
});

describe("conversation step metrics", () => {
  it("observes each USSD step in the latency histogram under its channel and flow", async () => {
    const before = await scrape(t.app);
    const phone = new UssdPhone(t.app, nextPhone());
    expect(await phone.dial()).toMatch(/^CON /); // a new number: the language screen
    expect(await phone.send("1")).toMatch(/^CON /); // Uzbek: the main menu
    const after = await scrape(t.app);
    const count = (flow: string) =>
      sum(after, "mc_step_duration_seconds_count", { channel: "ussd", flow }) -
      sum(before, "mc_step_duration_seconds_count", { channel: "ussd", flow });
    expect(count("onboarding")).toBe(1);
    expect(count("menu")).toBe(1);
    // Every observation lands in the +Inf bucket; a step of an in-memory database is well under 5 s.
    const le5 =
      sum(after, "mc_step_duration_seconds_bucket", { channel: "ussd", flow: "menu", le: "5" }) -
      sum(before, "mc_step_duration_seconds_bucket", { channel: "ussd", flow: "menu", le: "5" });
    expect(le5).toBe(1);
  });

  it("leaves its own outbox query out of mc_db_queries_total, counting it apart", async () => {
    const first = await scrape(t.app);
    const second = await scrape(t.app);
    expect(sum(second, "mc_db_queries_total")).toBe(sum(first, "mc_db_queries_total"));
    expect(sum(second, "mc_metrics_db_queries_total")).toBe(sum(first, "mc_metrics_db_queries_total") + 1);
  });

  it("counts a step refused at capacity as an admission refusal and a capacity apology", async () => {
    // The engine, held at a gate: the one place is taken until the gate opens.
    const { core: held, open } = heldCore(t.db);
    const app = await ussdOnly(t.db, held, { admission: { limit: 1, maxWaitMs: 50 } });
    try {
      const before = await scrape(t.app);
      const waiting = new UssdPhone(app, nextPhone()).dial();
      const running = async () => sum(await scrape(t.app), "mc_ussd_steps_in_progress");
      await eventually(async () => (await running()) === sum(before, "mc_ussd_steps_in_progress") + 1, 5_000);
      expect(await new UssdPhone(app, nextPhone()).dial()).toMatch(/^END /);
      const after = await scrape(t.app);
      expect(sum(after, "mc_ussd_admission_refused_total") - sum(before, "mc_ussd_admission_refused_total")).toBe(1);
      const apologies = (s: Map<string, number>) => sum(s, "mc_ussd_apologies_total", { reason: "capacity" });
      expect(apologies(after) - apologies(before)).toBe(1);
      expect(sum(after, "mc_ussd_steps_waiting")).toBe(0);
      open();
      await waiting;
      expect(sum(await scrape(t.app), "mc_ussd_steps_in_progress")).toBe(sum(before, "mc_ussd_steps_in_progress"));
    } finally {
      open();
      await app.close();
    }
  });

  it("counts a step that failed as an error apology", async () => {
    const failing = {
      engine: {
        step: async () => {
          throw new Error("database gone");
        },
        knownLocale: () => undefined,
      } as unknown as ConversationEngine,
      services: createCore(t.db).services,
    };
    const app = await ussdOnly(t.db, failing);
    try {
      const before = await scrape(t.app);
      expect(await new UssdPhone(app, nextPhone()).dial()).toMatch(/^END /);
      const after = await scrape(t.app);
      const errors = (s: Map<string, number>) => sum(s, "mc_ussd_apologies_total", { reason: "error" });
      expect(errors(after) - errors(before)).toBe(1);
      const apologySteps = (s: Map<string, number>) =>
        sum(s, "mc_step_duration_seconds_count", { channel: "ussd", flow: "apology" });
      expect(apologySteps(after) - apologySteps(before)).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe("outbox figures read at scrape time", () => {
  it("reports the backlog, the age of the oldest waiting message and the dead letters per channel", async () => {
    const empty = await scrape(t.app);
    expect(sum(empty, "mc_outbox_query_up")).toBe(1);
    expect(sum(empty, "mc_outbox_backlog", { channel: "sms" })).toBe(0);
    expect(sum(empty, "mc_outbox_oldest_pending_age_seconds", { channel: "telegram" })).toBe(0);

    const old = await outboxRow(t.db.prisma, { channel: "sms" });
    await t.db.prisma.outbox.update({ where: { id: old.id }, data: { createdAt: new Date(Date.now() - 120_000) } });
    await outboxRow(t.db.prisma, { channel: "sms" });
    await outboxRow(t.db.prisma, { channel: "telegram", chatId: 4242n });
    const sent = await outboxRow(t.db.prisma, { channel: "sms" });
    await t.db.prisma.outbox.update({ where: { id: sent.id }, data: { status: "sent", providerMessageId: "ATX-1" } });
    const dead = await outboxRow(t.db.prisma, { channel: "telegram", chatId: 4243n });
    await t.db.prisma.outbox.update({ where: { id: dead.id }, data: { status: "dead" } });

    const series = await scrape(t.app);
    expect(sum(series, "mc_outbox_backlog", { channel: "sms" })).toBe(2);
    expect(sum(series, "mc_outbox_backlog", { channel: "telegram" })).toBe(1);
    const age = sum(series, "mc_outbox_oldest_pending_age_seconds", { channel: "sms" });
    expect(age).toBeGreaterThan(110);
    expect(age).toBeLessThan(300);
    expect(sum(series, "mc_outbox_oldest_pending_age_seconds", { channel: "telegram" })).toBeLessThan(60);
    expect(sum(series, "mc_outbox_dead_letters", { channel: "telegram" })).toBe(1);
    expect(sum(series, "mc_outbox_dead_letters", { channel: "sms" })).toBe(0);
    // The delivery test below sends whatever is due: these rows were only for counting.
    await t.db.prisma.outbox.deleteMany({});
  });

  it("still answers, with mc_outbox_query_up 0, when the outbox query fails", async () => {
    const broken = {
      queryCount: () => 0,
      ping: () => Promise.reject(new Error("down")),
      sql: { query: () => Promise.reject(new Error("connection refused")) },
    };
    const app = await buildWorkerMetricsServer({
      config: { env: "test", metrics: { token: undefined, port: undefined } },
      db: broken,
      logger: createLogger("silent"),
    });
    try {
      const series = await scrape(app);
      expect(sum(series, "mc_outbox_query_up")).toBe(0);
      expect([...series.keys()].some((k) => k.startsWith("mc_outbox_backlog"))).toBe(false);
      expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });
});

describe("delivery metrics", () => {
  it("counts deliveries by channel and outcome, and dead letters", async () => {
    const sms = new FakeSms();
    const telegram = new FakeTelegram();
    const relay = new OutboxRelay(new NotificationDelivery({ prisma: t.db.prisma, sms, telegram }));
    const before = await scrape(t.app);
    await outboxRow(t.db.prisma, { channel: "sms" });
    await outboxRow(t.db.prisma, { channel: "telegram", chatId: 5151n });
    await outboxRow(t.db.prisma, { channel: "sms" });
    sms.failures.push(new PermanentSendError("AT_INVALID_NUMBER"));
    const outcomes = await relay.tick();
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["dead", "sent", "sent"]);
    const after = await scrape(t.app);
    const delta = (name: string, labels: Record<string, string>) =>
      sum(after, name, labels) - sum(before, name, labels);
    expect(delta("mc_notification_deliveries_total", { channel: "sms", outcome: "sent" })).toBe(1);
    expect(delta("mc_notification_deliveries_total", { channel: "telegram", outcome: "sent" })).toBe(1);
    expect(delta("mc_notification_deliveries_total", { channel: "sms", outcome: "dead" })).toBe(1);
    expect(delta("mc_notification_dead_letters_total", { channel: "sms" })).toBe(1);
    expect(sum(after, "mc_outbox_dead_letters", { channel: "sms" })).toBe(1);
  });
});

describe("Telegram 429s", () => {
  it("counts every attempt the Bot API answered 429, even when the retry then succeeds", async () => {
    const tg = await startTelegramApp(db);
    try {
      const before = await scrape(tg.app);
      tg.double.failNext(
        2,
        { error_code: 429, description: "Too Many Requests: retry after 1", retry_after: 1 },
        "sendMessage",
      );
      await tg.telegram.sender.sendMessage(777n, "Xabar");
      const after = await scrape(tg.app);
      const limited = (s: Map<string, number>) => sum(s, "mc_telegram_rate_limited_total", { method: "sendMessage" });
      expect(limited(after) - limited(before)).toBe(2);
    } finally {
      await tg.close();
    }
  });
});

describe("the worker's metrics server", () => {
  it("serves /healthz and the token-guarded /metrics of a production worker", async () => {
    const config = loadConfig({
      NODE_ENV: "production",
      USSD_CALLBACK_TOKEN: "x".repeat(32),
      METRICS_TOKEN: TOKEN,
      METRICS_PORT: "9464",
    });
    expect(config.metrics).toEqual({ token: TOKEN, port: 9464 });
    const app = await buildWorkerMetricsServer({ config, db, logger: createLogger("silent") });
    try {
      expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
      expect((await app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(401);
      const series = await scrape(app, TOKEN);
      expect(sum(series, "mc_outbox_query_up")).toBe(1);
      expect(sum(series, "mc_instance_info")).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
    }
  });
});

describe("flow label of a screen", () => {
  it("takes the first flow-specific message namespace, else a shared one, else other", () => {
    expect(flowOfScreen({ body: [{ key: "visit.choose_day" }] })).toBe("visit");
    expect(flowOfScreen({ body: [{ key: "my_visits.list" }] })).toBe("myVisits");
    expect(flowOfScreen({ body: [{ key: "mahalla.choose" }, { key: "apply.pick_mahalla" }] })).toBe("apply");
    expect(flowOfScreen({ body: [{ key: "pinfl.ask" }] })).toBe("pinfl");
    expect(flowOfScreen({ body: [{ key: "errors.rate_limited" }] })).toBe("errors");
    expect(flowOfScreen({ body: [{ names: { uz: "A", "uz-Cyrl": "А", ru: "А" } }, { key: "nokey" }] })).toBe("other");
  });
});
