import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AtDouble } from "./support/at-double.js";
import { createTestDatabase, postgresUrl, type TestDatabase } from "./support/database.js";
import { eventually } from "./support/notify.js";
import { startTestRedis, type TestRedis } from "./support/redis.js";
import { requireServer } from "./support/servers.js";
import { freePort, type RunningProcess, spawnEntry, waitForHttp } from "./support/spawn.js";

const TOKEN = "process-test-token-0123456789";

let at: AtDouble;
beforeAll(async () => {
  at = await new AtDouble().start();
});
afterAll(() => at?.stop());

/** The environment of a deployment that sends SMS through the (double of the) gateway. */
const smsEnv = () => ({
  API_TOKENS: `backoffice:${TOKEN}`,
  AT_USERNAME: "mahalla",
  AT_API_KEY: "process-test-key",
  AT_SENDER_ID: "MAHALLA",
  AT_API_ROOT: at.url,
  // The demo mahallas only: the synthetic activity would add rows the test does not expect.
  SEED_DEMO: "mahallas",
  HOST: "127.0.0.1",
});

async function api(base: string, path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

/** Imports a beneficiary and a payment for them; returns their phone number. */
async function payDay(base: string, suffix: string): Promise<string> {
  const phone = `+99893${String(Date.now()).slice(-7)}`;
  await api(base, "/api/v1/beneficiaries/import", [{ externalId: `PROC-${suffix}`, phone, locale: "uz" }]);
  const paid = await api(base, "/api/v1/payments/import", [
    {
      externalId: `PROC-PAY-${suffix}`,
      citizenExternalId: `PROC-${suffix}`,
      benefitCode: "CHILD_ALLOWANCE",
      amountTiyin: 30_000_000,
      period: "2025-03",
      creditedAt: "2025-03-05",
    },
  ]);
  expect(paid).toMatchObject({ created: 1, notifications: 1 });
  return phone;
}

async function stop(proc: RunningProcess | undefined) {
  if (!proc || proc.child.exitCode !== null) return;
  proc.child.kill("SIGTERM");
  expect(await proc.exited, proc.output()).toBe(0);
}

describe("npm start", () => {
  it("delivers notifications in-process and takes delivery reports", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mc-notify-"));
    let db: TestDatabase | undefined;
    let proc: RunningProcess | undefined;
    try {
      // The embedded database by default; the test's PostgreSQL database when the suite runs on one.
      if (postgresUrl()) db = await createTestDatabase();
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      proc = spawnEntry("app/main.ts", {
        ...smsEnv(),
        PORT: String(port),
        ...(db?.target.kind === "postgres" ? { DATABASE_URL: db.target.url } : { DATA_DIR: dataDir }),
      });
      await waitForHttp(`${base}/healthz`, 150_000, proc);
      const phone = await payDay(base, "INLINE");
      await eventually(async () => at.requests.some((r) => r.form.to === phone), 20_000, "SMS at the gateway");
      const sms = at.requests.find((r) => r.form.to === phone)!;
      expect(sms.form).toMatchObject({ username: "mahalla", from: "MAHALLA" });
      expect(sms.form.message).toContain("300 000 so'm");

      const listed = async () => {
        const res = await fetch(`${base}/api/v1/notifications?phone=${encodeURIComponent(phone)}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const page = (await res.json()) as { items: { status: string; providerMessageId: string }[] };
        return page.items[0] ?? { status: "none", providerMessageId: "" };
      };
      await eventually(async () => (await listed()).status === "sent", 10_000, "row marked sent");
      const messageId = (await listed()).providerMessageId;
      const report = await fetch(`${base}/sms/delivery`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ id: messageId, status: "Success", phoneNumber: phone }).toString(),
      });
      expect(await report.json()).toEqual({ result: "delivered" });
      expect((await listed()).status).toBe("delivered");
    } finally {
      await stop(proc);
      await db?.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

// Two processes share one database only on PostgreSQL (the embedded one belongs to one process);
// there it needs a Redis as well.
const onPostgresWithRedis = postgresUrl() ? requireServer("redis").describe : describe.skip;
onPostgresWithRedis("npm run worker (BullMQ)", () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(() => redis?.close());

  it("delivers what a web instance with NOTIFY_WORKER=off only writes", async () => {
    const db = await createTestDatabase();
    let web: RunningProcess | undefined;
    let worker: RunningProcess | undefined;
    try {
      if (db.target.kind !== "postgres") throw new Error("needs PostgreSQL");
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      // A Redis database of its own, so queues of other runs on a shared server stay apart.
      const redisUrl = new URL(redis.url).pathname.length > 1 ? redis.url : `${redis.url}/9`;
      const env = { ...smsEnv(), DATABASE_URL: db.target.url, REDIS_URL: redisUrl };
      web = spawnEntry("app/main.ts", { ...env, PORT: String(port), NOTIFY_WORKER: "off" });
      await waitForHttp(`${base}/healthz`, 150_000, web);
      const phone = await payDay(base, "WORKER");
      await new Promise((r) => setTimeout(r, 1_500));
      expect(at.requests.some((r) => r.form.to === phone)).toBe(false);

      worker = spawnEntry("app/worker.ts", env);
      await eventually(async () => at.requests.some((r) => r.form.to === phone), 60_000, "SMS from the worker");
      expect(at.requests.filter((r) => r.form.to === phone)).toHaveLength(1);
    } finally {
      await stop(worker);
      await stop(web);
      await db.close();
    }
  }, 240_000);
});
