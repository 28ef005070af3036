import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ALLOWED_UPDATES } from "../bot/polling.js";
import { openDatabase } from "../core/db/database.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import { type Check, doctorExitCode, formatCheck, runDoctor } from "../scripts/doctor.js";
import { runTelegramWebhook } from "../scripts/telegram-webhook.js";
import { AtDouble } from "./support/at-double.js";
import { createTestDatabase, onEmbeddedTestServer, type TestDatabase } from "./support/database.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";
import { freePort, spawnEntry } from "./support/spawn.js";
import { BOT_TOKEN, WEBHOOK_SECRET } from "./support/telegram-app.js";
import { TelegramDouble } from "./support/telegram-double.js";

/** `npm run telegram:webhook` and `npm run doctor` against the Bot API and Africa's Talking doubles. */

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

let double: TelegramDouble;
let at: AtDouble;
beforeAll(async () => {
  [double, at] = await Promise.all([new TelegramDouble().start(), new AtDouble().start()]);
});
afterAll(async () => {
  await Promise.all([double?.close(), at?.stop()]);
});
afterEach(() => {
  double.webhook = undefined;
  double.calls.length = 0;
  at.requests.length = 0;
  at.script = [];
});

const botEnv = () => ({
  NODE_ENV: "test",
  TELEGRAM_BOT_TOKEN: BOT_TOKEN,
  TELEGRAM_API_ROOT: double.url,
  TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
});

describe("npm run telegram:webhook", () => {
  it("registers the app's webhook path with the secret and only the updates the bot handles, then shows getWebhookInfo", async () => {
    const c = capture();
    const code = await runTelegramWebhook(["--url", "https://bot.example.uz"], botEnv(), c.io);
    expect(code, c.err.join("\n")).toBe(0);
    expect(double.webhook).toEqual({
      url: "https://bot.example.uz/telegram/webhook",
      secretToken: WEBHOOK_SECRET,
      allowedUpdates: [...ALLOWED_UPDATES],
    });
    expect(c.out).toEqual([
      "registered https://bot.example.uz/telegram/webhook",
      "webhook: https://bot.example.uz/telegram/webhook",
      "pending updates: 0",
      "allowed updates: message, callback_query",
    ]);
    expect(double.callsOf("getWebhookInfo")).toHaveLength(1);
  });

  it("keeps a full webhook URL as given", async () => {
    const c = capture();
    expect(await runTelegramWebhook(["--url", "https://gw.example.uz:8443/mc/telegram/webhook"], botEnv(), c.io)).toBe(
      0,
    );
    expect(double.webhook?.url).toBe("https://gw.example.uz:8443/mc/telegram/webhook");
  });

  it("deletes the webhook with --delete and says there is none", async () => {
    double.webhook = { url: "https://bot.example.uz/telegram/webhook" };
    const c = capture();
    expect(await runTelegramWebhook(["--delete"], botEnv(), c.io)).toBe(0);
    expect(double.webhook).toBeUndefined();
    expect(c.out).toEqual(["webhook deleted", "webhook: none (updates wait for getUpdates; pending 0)"]);
  });

  it("refuses a plain-HTTP URL without calling Telegram (exit 2)", async () => {
    const c = capture();
    expect(await runTelegramWebhook(["--url", "http://bot.example.uz"], botEnv(), c.io)).toBe(2);
    expect(c.err).toEqual(["Telegram posts only to https:// URLs, not http://"]);
    expect(double.callsOf("setWebhook")).toHaveLength(0);
  });

  it("refuses to register without TELEGRAM_WEBHOOK_SECRET, which the app needs to check each post", async () => {
    const { TELEGRAM_WEBHOOK_SECRET: _secret, ...env } = botEnv();
    const c = capture();
    expect(await runTelegramWebhook(["--url", "https://bot.example.uz"], env, c.io)).toBe(1);
    expect(c.err[0]).toMatch(/^TELEGRAM_WEBHOOK_SECRET is not set/);
    expect(double.callsOf("setWebhook")).toHaveLength(0);
  });

  it("says in one line when Telegram refuses the token", async () => {
    double.failNext(1, { error_code: 401, description: "Unauthorized" }, "setWebhook");
    const c = capture();
    expect(await runTelegramWebhook(["--url", "https://bot.example.uz"], botEnv(), c.io)).toBe(1);
    expect(c.err).toEqual(["Telegram refused setWebhook: 401 Unauthorized"]);
    expect(double.webhook).toBeUndefined();
  });

  it("runs as `tsx scripts/telegram-webhook.ts`, as npm runs it, with its exit code", async () => {
    const proc = spawnEntry("scripts/telegram-webhook.ts", botEnv(), ["--url", "https://bot.example.uz/"]);
    expect(await proc.exited, proc.output()).toBe(0);
    expect(proc.output()).toContain("webhook: https://bot.example.uz/telegram/webhook");
    const usage = spawnEntry("scripts/telegram-webhook.ts", botEnv(), ["--bogus"]);
    expect(await usage.exited).toBe(2);
    expect(usage.output()).toContain("usage: npm run telegram:webhook");
  });
});

const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.name, c]));
const atUserData = { status: 200, body: { UserData: { balance: "UZS 125000.0000" } } };

describe("npm run doctor on a broken configuration", () => {
  it("names an invalid variable in one line and judges nothing else", async () => {
    const checks = await runDoctor({ NODE_ENV: "test", PORT: "eighty" });
    expect(checks.map(formatCheck)).toEqual(["FAIL configuration: invalid environment: PORT must be integer"]);
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("says per dependency what is wrong when none of them answers or accepts the credentials", async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    double.failNext(1, { error_code: 401, description: "Unauthorized" }, "getMe");
    at.script = [{ status: 401, body: "The supplied authentication is invalid" }];
    const checks = await runDoctor(
      {
        ...botEnv(),
        DATABASE_URL: `postgresql://mahalla:s3cret@127.0.0.1:${pgPort}/mahalla`,
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        AT_USERNAME: "mahalla",
        AT_API_KEY: "wrong-key",
        AT_API_ROOT: at.url,
      },
      { timeoutMs: 3_000 },
    );
    const c = byName(checks);
    expect(checks.map((x) => x.status)).toEqual(["ok", "fail", "fail", "fail", "fail"]);
    expect(c.database?.detail).toMatch(/ECONNREFUSED.*\(check DATABASE_URL\)$/);
    // The password never reaches the terminal.
    expect(c.database?.detail).toContain("mahalla:***@");
    expect(checks.map(formatCheck).join("\n")).not.toContain("s3cret");
    expect(c.redis?.detail).toMatch(
      new RegExp(`^redis://127.0.0.1:${redisPort}: .*ECONNREFUSED.*\\(check REDIS_URL\\)$`),
    );
    expect(c.telegram?.detail).toBe("Bot API refused getMe: 401 Unauthorized (check TELEGRAM_BOT_TOKEN)");
    expect(c.sms?.detail).toBe(
      `Africa's Talking refused username "mahalla" with this key (HTTP 401; check AT_USERNAME and AT_API_KEY)`,
    );
    // The credentials were checked where AT_API_ROOT points, on the user-data endpoint, with the key.
    expect(at.requests).toEqual([expect.objectContaining({ method: "GET", path: "/version1/user?username=mahalla" })]);
    expect(at.requests[0]?.headers.apikey).toBe("wrong-key");
    expect(checks.every((x) => formatCheck(x).split("\n").length === 1)).toBe(true);
    expect(doctorExitCode(checks)).toBe(1);
  });

  it("fails Telegram when a webhook secret is set but no webhook is registered", async () => {
    const checks = await runDoctor({ ...botEnv(), DATA_DIR: "memory" });
    expect(byName(checks).telegram).toEqual({
      name: "telegram",
      status: "fail",
      detail: `@mahalla_connect_test_bot: TELEGRAM_WEBHOOK_SECRET is set but no webhook is registered (npm run telegram:webhook -- --url https://…)`,
    });
  });
});

describe("npm run doctor -- --url", () => {
  it("checks the app's health from outside and lists the callback URLs to enter at the gateway", async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/healthz" ? 200 : 404, { "content-type": "application/json" });
      res.end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const env = { NODE_ENV: "test", DATA_DIR: "memory", USSD_CALLBACK_TOKEN: "callback-token-1234" };
      const up = byName(await runDoctor(env, { publicUrl: `http://127.0.0.1:${port}/` }))["public URL"];
      const root = `http://127.0.0.1:${port}`;
      expect(up).toEqual({
        name: "public URL",
        status: "ok",
        detail:
          `${root} is healthy from here; callbacks: USSD ${root}/ussd?token=<USSD_CALLBACK_TOKEN>, ` +
          `session end ${root}/ussd/events?token=<USSD_CALLBACK_TOKEN>, incoming SMS ${root}/sms/inbound?token=<USSD_CALLBACK_TOKEN>, ` +
          `delivery reports ${root}/sms/delivery?token=<USSD_CALLBACK_TOKEN>`,
      });
      const closed = await freePort();
      const down = byName(await runDoctor(env, { publicUrl: `http://127.0.0.1:${closed}` }))["public URL"];
      expect(down?.status).toBe("fail");
      expect(down?.detail).toMatch(new RegExp(`^cannot reach http://127.0.0.1:${closed}/healthz: .*ECONNREFUSED`));
    } finally {
      server.close();
    }
  });
});

requireServer("redis").describe("npm run doctor on a good configuration", () => {
  let redis: TestRedis;
  let db: TestDatabase | undefined;
  let dataDir: string | undefined;
  let databaseEnv: Record<string, string>;
  beforeAll(async () => {
    redis = await startTestRedis();
    if (!onEmbeddedTestServer()) {
      db = await createTestDatabase();
      databaseEnv = { DATABASE_URL: db.target.url };
    } else {
      // An embedded database on disk, migrated and stopped as `npm start` leaves it on shutdown.
      dataDir = await mkdtemp(join(tmpdir(), "mc-doctor-"));
      const server = await startEmbeddedServer({ dataDir });
      await (await openDatabase({ kind: "postgres", url: server.url, poolSize: 1 })).close();
      await server.stop();
      databaseEnv = { DATA_DIR: dataDir };
    }
  });
  afterAll(async () => {
    await db?.close();
    await redis?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("reports every dependency ok in one line each and exits 0", async () => {
    double.webhook = { url: "https://bot.example.uz/telegram/webhook", secretToken: WEBHOOK_SECRET };
    at.script = [atUserData];
    const checks = await runDoctor({
      ...botEnv(),
      ...databaseEnv,
      REDIS_URL: redis.url,
      AT_USERNAME: "mahalla",
      AT_API_KEY: "good-key",
      AT_SENDER_ID: "MAHALLA",
      AT_API_ROOT: at.url,
      USSD_CALLBACK_TOKEN: "a-long-enough-callback-token",
    });
    expect(
      checks.map((x) => x.status),
      checks.map(formatCheck).join("\n"),
    ).toEqual(["ok", "ok", "ok", "ok", "ok"]);
    const c = byName(checks);
    expect(c.database?.detail).toMatch(/answers; \d+ migration\(s\) applied$/);
    expect(c.redis?.detail).toMatch(/answers PONG \(Redis \d/);
    expect(c.telegram?.detail).toBe(
      "@mahalla_connect_test_bot, webhook https://bot.example.uz/telegram/webhook (0 pending)",
    );
    expect(c.sms?.detail).toBe(`Africa's Talking account "mahalla", balance UZS 125000.0000, sender MAHALLA`);
    expect(doctorExitCode(checks)).toBe(0);
  });

  it("runs as `tsx scripts/doctor.ts` and exits 0 when channels are merely off", async () => {
    const proc = spawnEntry("scripts/doctor.ts", { NODE_ENV: "test", ...databaseEnv, REDIS_URL: redis.url });
    expect(await proc.exited, proc.output()).toBe(0);
    const lines = proc.output().trim().split("\n");
    expect(lines.map((l) => l.split(":")[0])).toEqual([
      "ok   configuration",
      "ok   database",
      "ok   redis",
      "off  telegram",
      "off  sms",
    ]);
  });
});
