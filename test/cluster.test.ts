import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, expect } from "vitest";
import { type Database, openDatabase } from "../core/db/database.js";
import { adminQuery } from "./support/database.js";
import { type RedisServer, redisServer, waitUntil } from "./support/faults.js";
import { requireServer } from "./support/servers.js";
import { freePort, type RunningProcess, spawnEntry, waitForHttp } from "./support/spawn.js";

/**
 * `npm start` on every core, and several instances on one PostgreSQL and one Redis: the workers all
 * serve, /metrics adds them up, a killed worker is replaced, and the per-person, per-number and
 * per-IP limits are one limit for the whole deployment, not one per process. Real processes, a real
 * PostgreSQL, a real Redis (the test's own, which it stops).
 */

const TOKEN = "cluster-test-token-0123456789";
const serverUrl = process.env.TEST_POSTGRES_ADMIN_URL ?? process.env.DATABASE_URL;

/** A database of the test's own on the PostgreSQL server, dropped at the end. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mc_cluster_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl ?? "", `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl ?? "");
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(serverUrl ?? "", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

const baseEnv = (databaseUrl: string, port: number, extra: Record<string, string> = {}) => ({
  DATABASE_URL: databaseUrl,
  PORT: String(port),
  HOST: "127.0.0.1",
  SEED_DEMO: "false",
  API_TOKENS: `backoffice:${TOKEN}`,
  NOTIFY_WORKER: "off",
  ...extra,
});

async function stop(proc: RunningProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null) return;
  proc.child.kill("SIGTERM");
  await proc.exited;
}

let step = 0;
/** One USSD request on a connection of its own, so the primary hands it to the next worker. */
async function ussd(base: string, phone: string, text = ""): Promise<string> {
  const body = new URLSearchParams({
    sessionId: `cluster-${process.pid}-${++step}`,
    serviceCode: "*1146#",
    phoneNumber: phone,
    networkCode: "99999",
    text,
  });
  const res = await fetch(`${base}/ussd`, {
    method: "POST",
    body,
    headers: { connection: "close" },
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(200);
  return res.text();
}

const randomPhone = () => `+99890${String(Math.floor(1_000_000 + Math.random() * 8_999_999))}`;

/** The sum of a metric's samples whose labels include `match`. */
function sum(text: string, name: string, match = ""): number {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => l.includes(match))
    .reduce((total, l) => total + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** The worker processes named by /metrics (mc_instance_info's host:pid, one series per worker). */
const workerPids = (text: string, role: "app" | "worker" = "app"): number[] =>
  [...text.matchAll(new RegExp(`^mc_instance_info\\{instance="[^"]*:(\\d+)",role="${role}"\\} 1$`, "gm"))].map((m) =>
    Number(m[1]),
  );

/** A process's nice value (the 19th field of /proc/<pid>/stat, counted after the command's parenthesis). */
async function niceOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

const metrics = async (base: string) =>
  (await fetch(`${base}/metrics`, { headers: { connection: "close" }, signal: AbortSignal.timeout(20_000) })).text();

/** Pids that logged a completed request ("request completed" lines, LOG_LEVEL=info). */
const servingPids = (output: string): Set<number> =>
  new Set(
    output
      .split("\n")
      .filter((l) => l.includes('"request completed"'))
      .map((l) => (JSON.parse(l) as { pid: number }).pid),
  );

const postgres = requireServer("postgres");

/** An answer refused by the per-person step limit ("too many requests", Uzbek for a new number). */
const refused = (answer: string) => answer.startsWith("END") && answer.includes("juda ko'p");

postgres.describe("npm start with WEB_CONCURRENCY=2 on PostgreSQL", () => {
  const STEPS = 4;
  let db: { url: string; drop(): Promise<void> };
  let proc: RunningProcess | undefined;
  let base = "";
  beforeAll(async () => {
    db = await freshDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    proc = spawnEntry(
      "app/main.ts",
      baseEnv(db.url, port, { WEB_CONCURRENCY: "2", LOG_LEVEL: "info", RATE_LIMIT_STEPS_PER_MINUTE: String(STEPS) }),
    );
    await waitForHttp(`${base}/healthz`, 180_000, proc);
    // Both workers listen before the summary's last line; until then one may not take connections yet.
    await waitUntil(async () => proc?.output().includes('"msg":"back-office API:') ?? false, 60_000, 100);
  }, 240_000);
  afterAll(async () => {
    await stop(proc);
    await db?.drop();
  });

  postgres.it("serves from both workers and /metrics counts every worker's steps", async () => {
    const before = await metrics(base);
    expect(workerPids(before)).toHaveLength(2);
    const stepsBefore = sum(before, "mc_step_duration_seconds_count", 'channel="ussd"');
    const POSTED = 16;
    // One after the other, each on a connection of its own: the primary deals them out in turn.
    for (let i = 0; i < POSTED; i++) expect(await ussd(base, randomPhone())).toMatch(/^CON /);
    const after = await metrics(base);
    expect(sum(after, "mc_step_duration_seconds_count", 'channel="ussd"') - stepsBefore).toBe(POSTED);
    // Every worker answered some of the requests (each came on a connection of its own).
    const pids = servingPids(proc?.output() ?? "");
    for (const pid of workerPids(after)) expect(pids.has(pid)).toBe(true);
    expect(pids.has(proc?.child.pid ?? -1)).toBe(false);
  });

  postgres.it("enforces one person's step limit across the workers without Redis", async () => {
    const phone = randomPhone();
    const TOTAL = 10;
    const answers: string[] = [];
    for (let i = 0; i < TOTAL; i++) answers.push(await ussd(base, phone));
    expect(answers.slice(0, STEPS).every((a) => a.startsWith("CON"))).toBe(true);
    expect(answers.filter(refused)).toHaveLength(TOTAL - STEPS);
  });

  postgres.it(
    "runs the duties in one worker of their own that serves no HTTP, below the servers' CPU priority, and replaces it",
    async () => {
      const before = await metrics(base);
      const [duties, ...more] = workerPids(before, "worker");
      expect(more).toHaveLength(0);
      expect(duties).toBeDefined();
      expect(workerPids(before)).not.toContain(duties);
      expect(await niceOf(duties ?? 0)).toBe(5);
      for (const pid of workerPids(before)) expect(await niceOf(pid)).toBe(0);
      for (let i = 0; i < 6; i++) expect(await ussd(base, randomPhone())).toMatch(/^CON /);
      expect(servingPids(proc?.output() ?? "").has(duties ?? 0)).toBe(false);

      process.kill(duties ?? 0, "SIGKILL");
      const replaced = await waitUntil(
        async () => {
          const pids = workerPids(await metrics(base).catch(() => ""), "worker");
          return pids.length === 1 && !pids.includes(duties ?? 0);
        },
        120_000,
        250,
      );
      expect(replaced, proc?.output()).toBe(true);
      const [successor] = workerPids(await metrics(base), "worker");
      expect(await niceOf(successor ?? 0)).toBe(5);
      // Its metrics are shared before its duties start: the line may follow a moment later.
      const started = await waitUntil(
        async () => (proc?.output().match(/"duties worker started"/g)?.length ?? 0) === 2,
        60_000,
        100,
      );
      expect(started, proc?.output()).toBe(true);
    },
    180_000,
  );

  postgres.it(
    "replaces a worker killed with SIGKILL and keeps answering meanwhile",
    async () => {
      const [victim, survivor] = workerPids(await metrics(base));
      expect(victim).toBeDefined();
      process.kill(victim ?? 0, "SIGKILL");
      // A connection handed to the victim as it died dies with it, like any request in flight; once
      // the primary has seen the death, the survivor answers while the replacement starts.
      const seen = await waitUntil(
        async () => proc?.output().includes("a server worker died: replacing it") ?? false,
        30_000,
        20,
      );
      expect(seen, proc?.output()).toBe(true);
      for (let i = 0; i < 4; i++) expect(await ussd(base, randomPhone())).toMatch(/^CON /);
      const replaced = await waitUntil(
        async () => {
          const pids = workerPids(await metrics(base).catch(() => ""));
          return pids.length === 2 && !pids.includes(victim ?? 0) && pids.includes(survivor ?? 0);
        },
        120_000,
        250,
      );
      expect(replaced, proc?.output()).toBe(true);
      expect(await ussd(base, randomPhone())).toMatch(/^CON /);
      expect(proc?.child.exitCode).toBeNull();
    },
    180_000,
  );

  postgres.it(
    "drains every worker on SIGTERM to the primary and exits 0",
    async () => {
      const pids = workerPids(await metrics(base));
      expect(pids).toHaveLength(2);
      proc?.child.kill("SIGTERM");
      expect(await proc?.exited, proc?.output()).toBe(0);
      const alive = (pid: number) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (const pid of pids) expect(alive(pid)).toBe(false);
      const output = proc?.output() ?? "";
      expect(output.match(/shutting down: finishing in-flight requests/g)?.length).toBe(2);
    },
    60_000,
  );
});

const shared = requireServer("postgres", "redis-server");

shared.describe("two instances on one PostgreSQL and one Redis", () => {
  let db: { url: string; drop(): Promise<void> };
  let check: Database;
  let redis: RedisServer;
  const procs: RunningProcess[] = [];
  const bases: string[] = [];
  const STEPS = 4;
  const API = 5;
  beforeAll(async () => {
    db = await freshDatabase();
    redis = redisServer(await freePort());
    await redis.start();
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      bases.push(`http://127.0.0.1:${port}`);
      procs.push(
        spawnEntry(
          "app/main.ts",
          baseEnv(db.url, port, {
            WEB_CONCURRENCY: "1",
            REDIS_URL: redis.url,
            // Here Redis holds only the limits, whose loss must not stop a step; USSD sessions kept
            // in Redis make it part of every step (test/ussd-redis-sessions.test.ts).
            USSD_SESSION_STORE: "database",
            RATE_LIMIT_STEPS_PER_MINUTE: String(STEPS),
            API_RATE_LIMIT_PER_MINUTE: String(API),
          }),
        ),
      );
      // One after the other: the second start finds the migrations applied.
      await waitForHttp(`${bases[i]}/healthz`, 180_000, procs[i]);
    }
    check = await openDatabase({ kind: "postgres", url: db.url, poolSize: 1 }, { migrate: false });
  }, 400_000);
  afterAll(async () => {
    for (const proc of procs) await stop(proc);
    await check?.close();
    await redis?.stop();
    await db?.drop();
  });

  shared.it("enforces one person's step limit across both instances", async () => {
    const phone = randomPhone();
    const TOTAL = 10;
    const answers: string[] = [];
    for (let i = 0; i < TOTAL; i++) answers.push(await ussd(bases[i % 2] ?? "", phone));
    expect(answers.slice(0, STEPS).every((a) => a.startsWith("CON"))).toBe(true);
    expect(answers.filter(refused)).toHaveLength(TOTAL - STEPS);
  });

  shared.it("answers one number's SMS at most five times in ten minutes across both instances", async () => {
    const phone = randomPhone();
    const TOTAL = 9;
    for (let i = 0; i < TOTAL; i++) {
      const res = await fetch(`${bases[i % 2]}/sms/inbound`, {
        method: "POST",
        body: new URLSearchParams({ from: phone, to: "1146", text: "YORDAM", id: `sms-${phone}-${i}` }),
      });
      expect(res.status).toBe(200);
    }
    const rows = await check.prisma.outbox.count({ where: { recipientPhone: phone } });
    expect(rows).toBe(5);
  });

  shared.it("lets exactly the per-IP API limit through of concurrent requests to both instances", async () => {
    const TOTAL = 12;
    const statuses = await Promise.all(
      Array.from({ length: TOTAL }, (_, i) =>
        fetch(`${bases[i % 2]}/api/v1/regions`, { headers: { authorization: `Bearer ${TOKEN}` } }).then(
          (r) => r.status,
        ),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(API);
    expect(statuses.filter((s) => s === 429)).toHaveLength(TOTAL - API);
  });

  shared.it(
    "keeps answering steps when the Redis of the limits stops answering and when it is gone",
    async () => {
      redis.freeze();
      for (let i = 0; i < 4; i++) expect(await ussd(bases[i % 2] ?? "", randomPhone())).toMatch(/^CON /);
      await redis.stop();
      for (let i = 0; i < 4; i++) expect(await ussd(bases[i % 2] ?? "", randomPhone())).toMatch(/^CON /);
      for (const proc of procs) expect(proc.child.exitCode).toBeNull();
    },
    60_000,
  );
});
