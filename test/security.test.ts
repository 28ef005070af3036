import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, ipMatcher, loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { createTestDatabase, type TestDatabase } from "./support/database.js";
import { spawnEntry } from "./support/spawn.js";

const CALLBACK_TOKEN = "gateway-callback-token-0123456789abcdef";
const API_TOKEN = "security-test-token-0123456789";

const refusal = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe("production start-up", () => {
  it("refuses to run without USSD_CALLBACK_TOKEN, or with one under 32 characters, naming it", () => {
    expect(refusal({ NODE_ENV: "production" })).toMatch(/^USSD_CALLBACK_TOKEN is required when NODE_ENV=production/);
    expect(refusal({ NODE_ENV: "production", USSD_CALLBACK_TOKEN: "x".repeat(31) })).toMatch(
      /^USSD_CALLBACK_TOKEN must be at least 32 characters/,
    );
    expect(loadConfig({ NODE_ENV: "production", USSD_CALLBACK_TOKEN: "x".repeat(32) }).ussd.callbackToken).toHaveLength(
      32,
    );
    // Outside production a short token (or none) is still a developer's choice.
    expect(loadConfig({ NODE_ENV: "development" }).ussd.callbackToken).toBeUndefined();
  });

  it("refuses a webhook secret under 16 characters, a malformed GATEWAY_ALLOWED_IPS or TRUST_PROXY, naming each", () => {
    expect(refusal({ TELEGRAM_WEBHOOK_SECRET: "short-secret" })).toBe(
      "TELEGRAM_WEBHOOK_SECRET must be at least 16 characters",
    );
    expect(refusal({ GATEWAY_ALLOWED_IPS: "203.0.113.0/24, 10.0.0.300" })).toBe(
      'GATEWAY_ALLOWED_IPS: "10.0.0.300" is not an IP address or CIDR block',
    );
    expect(refusal({ GATEWAY_ALLOWED_IPS: "203.0.113.0/33" })).toMatch(/^GATEWAY_ALLOWED_IPS: "203.0.113.0\/33"/);
    expect(refusal({ TRUST_PROXY: "balancer.internal" })).toMatch(/^TRUST_PROXY: "balancer.internal"/);
    expect(refusal({ TRUST_PROXY: "0" })).toMatch(/^TRUST_PROXY: a number of proxy hops/);
    const config = loadConfig({ GATEWAY_ALLOWED_IPS: "203.0.113.0/24,2001:db8::/32", TRUST_PROXY: "10.0.0.0/8" });
    expect(config.gatewayAllowedIps).toEqual(["203.0.113.0/24", "2001:db8::/32"]);
    expect(config.trustProxy).toEqual(["10.0.0.0/8"]);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it("stops the real process with one line naming USSD_CALLBACK_TOKEN and exit code 1", async () => {
    const proc = spawnEntry("app/main.ts", { NODE_ENV: "production", DATA_DIR: "/tmp/mc-security-never-created" });
    expect(await proc.exited).toBe(1);
    const lines = proc.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^mahalla-connect: USSD_CALLBACK_TOKEN is required when NODE_ENV=production/);
  });
});

describe("an address matcher for CIDR lists", () => {
  it("matches addresses inside the blocks, IPv4-mapped IPv6 included, and nothing else", () => {
    const allowed = ipMatcher(["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"]);
    expect(["203.0.113.1", "::ffff:203.0.113.250", "198.51.100.7", "2001:db8::1"].map(allowed)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(["203.0.114.1", "198.51.100.8", "2001:db9::1", "not-an-ip", ""].map(allowed)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.close());

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = { "content-type": "application/x-www-form-urlencoded" };

async function server(env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    USSD_CALLBACK_TOKEN: CALLBACK_TOKEN,
    API_TOKENS: `backoffice:${API_TOKEN}`,
    ...env,
  });
  const app = await buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
  await app.ready();
  return app;
}

describe("GATEWAY_ALLOWED_IPS with TRUST_PROXY", () => {
  let app: FastifyInstance;
  const GATEWAY = "203.0.113.10";
  const STRANGER = "198.51.100.66";
  const BALANCER = "10.0.0.5";
  beforeAll(async () => {
    app = await server({ GATEWAY_ALLOWED_IPS: "203.0.113.0/24", TRUST_PROXY: "10.0.0.0/8" });
  });
  afterAll(() => app?.close());

  const callbacks: { url: string; payload: Record<string, string> }[] = [
    { url: "/ussd/events", payload: { sessionId: "ATUid_guard", status: "Success" } },
    { url: "/sms/inbound", payload: { from: "+998935559001", text: "YORDAM", id: "guard-1" } },
    { url: "/sms/delivery", payload: { id: "ATXid_unknown_guard", status: "Success" } },
    {
      url: "/ussd",
      payload: {
        sessionId: "ATUid_guard",
        serviceCode: "*1146#",
        phoneNumber: "+998935559002",
        networkCode: "63902",
        text: "",
      },
    },
  ];
  const post = (url: string, payload: Record<string, string>, remoteAddress: string, forwardedFor?: string) =>
    app.inject({
      method: "POST",
      url: `${url}?token=${CALLBACK_TOKEN}`,
      remoteAddress,
      headers: { ...formHeaders, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
      payload: form(payload),
    });

  it("serves every gateway callback from an allowed address, directly or through the trusted balancer", async () => {
    for (const { url, payload } of callbacks) {
      expect((await post(url, payload, GATEWAY)).statusCode, url).toBe(200);
      expect((await post(url, payload, BALANCER, GATEWAY)).statusCode, url).toBe(200);
    }
  });

  it("refuses them with 403 from anywhere else, and believes X-Forwarded-For only from the balancer", async () => {
    const outbox = await db.prisma.outbox.count();
    const sessions = await db.prisma.conversationSession.count();
    for (const { url, payload } of callbacks) {
      const direct = await post(url, payload, STRANGER);
      expect(direct.statusCode, url).toBe(403);
      expect(direct.body).toBe("Forbidden");
      expect((await post(url, payload, BALANCER, STRANGER)).statusCode, url).toBe(403);
      // A stranger claiming to be the gateway is not believed: it is not a trusted proxy.
      expect((await post(url, payload, STRANGER, GATEWAY)).statusCode, url).toBe(403);
    }
    // Refused before anything was read or written.
    expect(await db.prisma.outbox.count()).toBe(outbox);
    expect(await db.prisma.conversationSession.count()).toBe(sessions);
  });

  it("leaves the health check and the back-office API to their own rules", async () => {
    expect((await app.inject({ method: "GET", url: "/healthz", remoteAddress: STRANGER })).statusCode).toBe(200);
    const api = await app.inject({
      method: "GET",
      url: "/api/v1/regions",
      remoteAddress: STRANGER,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(api.statusCode).toBe(200);
  });

  it("still requires the callback token from an allowed address", async () => {
    const response = await app.inject({
      method: "POST",
      url: "/sms/delivery?token=wrong-token",
      remoteAddress: GATEWAY,
      headers: formHeaders,
      payload: form({ id: "ATXid_x", status: "Success" }),
    });
    expect(response.statusCode).toBe(403);
  });
});

describe("failed API authentication in its own bucket", () => {
  let app: FastifyInstance;
  const FAILURES = 3;
  beforeAll(async () => {
    app = await server({
      API_RATE_LIMIT_PER_MINUTE: "50",
      API_AUTH_FAILURES_PER_MINUTE: String(FAILURES),
      TRUST_PROXY: "10.0.0.5",
    });
  });
  afterAll(() => app?.close());

  const get = (token: string, client: string) =>
    app.inject({
      method: "GET",
      url: "/api/v1/regions",
      remoteAddress: "10.0.0.5",
      headers: { authorization: `Bearer ${token}`, "x-forwarded-for": client },
    });

  it("answers 429 to bad tokens past their limit while a good token from the same client still works", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES + 3; i++)
      statuses.push((await get(`guess-${i}-0123456789abcdef`, "192.0.2.1")).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const refused = await get("guess-again-0123456789abcdef", "192.0.2.1");
    expect(refused.json()).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await get(API_TOKEN, "192.0.2.1")).statusCode).toBe(200);
    // Another client behind the same balancer has its own failure allowance.
    expect((await get("guess-other-0123456789abcdef", "192.0.2.2")).statusCode).toBe(401);
  });

  it("counts many wrong tokens fired at once exactly: no more than the allowance get through to 401", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(`burst-${i}-0123456789abcdef`, "192.0.2.3")),
    );
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - FAILURES);
    expect((await get(API_TOKEN, "192.0.2.3")).statusCode).toBe(200);
  });
});
