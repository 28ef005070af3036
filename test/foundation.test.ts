import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../app/config.js";
import { createAppCore } from "../app/core.js";
import { createLogger } from "../app/logger.js";
import { buildServer } from "../app/server.js";
import { openDriver } from "../core/db/adapters.js";
import { startEmbeddedServer } from "../core/db/embedded-server.js";
import { applyPendingMigrations, pendingSchemaChanges } from "../core/db/migrations.js";
import { migrationsDir } from "../core/db/paths.js";
import { readMigrationList } from "../core/db/schema-engine.js";
import { adminQuery, createTestDatabase, type TestDatabase } from "./support/database.js";
import { freePort, spawnEntry, waitForHttp } from "./support/spawn.js";

describe("migrations", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    // The migrations are this file's subject: replayed here on an empty database, not copied.
    db = await createTestDatabase({ fromEmpty: true });
  });
  afterAll(() => db.close());

  it("create every model's table on an empty database", async () => {
    const rows = await db.prisma.$queryRaw<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public'`;
    const tables = rows.map((r) => r.table_name);
    for (const t of ["Region", "District", "Mahalla", "Citizen", "Application", "VisitRequest", "Outbox", "AuditLog"]) {
      expect(tables).toContain(t);
    }
    expect(tables).toContain("_prisma_migrations");
  });

  it("are idempotent: a second run applies nothing and records each migration once", async () => {
    // Reuses the migrated test database.
    const driver = await openDriver({ ...db.target, poolSize: 1 });
    try {
      await applyPendingMigrations(driver.factory);
      expect(await applyPendingMigrations(driver.factory)).toEqual([]);
    } finally {
      await driver.close();
    }
    const folders = (await readMigrationList(migrationsDir)).migrationDirectories.length;
    const recorded = await db.prisma.$queryRaw<{ n: bigint }[]>`
      select count(*) as n from _prisma_migrations where finished_at is not null`;
    expect(Number(recorded[0]?.n)).toBe(folders);
  });

  it("match schema.prisma: no schema change is left without a migration", async () => {
    // An empty scratch database on the same server to replay the migrations on.
    const server = process.env.DATABASE_URL ?? "";
    const name = `mc_scratch_${randomBytes(6).toString("hex")}`;
    await adminQuery(server, `CREATE DATABASE ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    try {
      expect(await pendingSchemaChanges(url.toString())).toBe("");
    } finally {
      await adminQuery(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});

describe("embedded database on disk", () => {
  it("applies migrations once and keeps data across reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mc-embedded-"));
    try {
      const firstServer = await startEmbeddedServer({ dataDir: dir });
      const first = await openDriver({ kind: "postgres", url: firstServer.url, poolSize: 1 });
      expect((await applyPendingMigrations(first.factory)).length).toBeGreaterThan(0);
      await first.close();
      await firstServer.stop();
      const secondServer = await startEmbeddedServer({ dataDir: dir });
      const second = await openDriver({ kind: "postgres", url: secondServer.url, poolSize: 1 });
      expect(await applyPendingMigrations(second.factory)).toEqual([]);
      await second.close();
      await secondServer.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("configuration", () => {
  it("uses the embedded database without DATABASE_URL and PostgreSQL with it", () => {
    expect(loadConfig({ DATA_DIR: "/srv/mc" }).database).toEqual({
      kind: "embedded",
      dataDir: "/srv/mc",
      poolSize: 10,
    });
    expect(loadConfig({ DATABASE_URL: "postgresql://u@db:5432/mc" }).database).toMatchObject({
      kind: "postgres",
      url: "postgresql://u@db:5432/mc",
    });
  });

  it("rejects a malformed DATABASE_URL and a non-numeric PORT with a clear message", () => {
    expect(() => loadConfig({ PORT: "abc" })).toThrow(/PORT must be integer/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: "postgresql://" })).toThrow(/DATABASE_URL is not a valid/);
  });

  it("names API tokens so the audit log can say who acted", () => {
    expect(loadConfig({ API_TOKENS: "agency:0123456789abcdef0123,fedcba9876543210fedc" }).apiTokens).toEqual([
      { name: "agency", token: "0123456789abcdef0123" },
      { name: "token2", token: "fedcba9876543210fedc" },
    ]);
    expect(() => loadConfig({ API_TOKENS: "short" })).toThrow(/shorter than 16/);
  });
});

describe("GET /healthz", () => {
  it("answers 200 while the database answers and 503 once it is gone", async () => {
    const db = await createTestDatabase();
    const config = loadConfig({ NODE_ENV: "test" });
    const app = await buildServer({ config, db, logger: createLogger("silent"), core: createAppCore(config, db) });
    try {
      const ok = await app.inject({ method: "GET", url: "/healthz" });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ status: "ok" });
      await db.close();
      const gone = await app.inject({ method: "GET", url: "/healthz" });
      expect(gone.statusCode).toBe(503);
      expect(gone.json()).toEqual({ status: "unavailable" });
    } finally {
      await app.close();
    }
  });
});

describe("npm start (app/main.ts)", () => {
  it("stops on invalid environment with one line and exit code 1", async () => {
    const badEnvs: Record<string, string>[] = [{ PORT: "abc" }, { DATABASE_URL: "postgres:/broken" }];
    for (const env of badEnvs) {
      const proc = spawnEntry("app/main.ts", env);
      expect(await proc.exited).toBe(1);
      const lines = proc.output().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mahalla-connect: invalid environment: /);
      expect(proc.output()).not.toMatch(/\n\s+at /);
    }
  });

  it("serves /healthz on the embedded database and keeps its data across a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "mc-start-"));
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1" };
    try {
      const first = spawnEntry("app/main.ts", env);
      const health = await waitForHttp(`http://127.0.0.1:${port}/healthz`, 120_000, first);
      expect(health.status).toBe(200);
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);

      // Write a marker while the app is down, then check the restarted app sees it.
      const server = await startEmbeddedServer({ dataDir });
      const driver = await openDriver({ kind: "postgres", url: server.url, poolSize: 1 });
      const { PrismaClient } = await import("../generated/prisma/client.js");
      const prisma = new PrismaClient({ adapter: driver.factory });
      const regions = await prisma.region.count();
      expect(regions).toBeGreaterThan(0);
      await prisma.auditLog.create({ data: { actor: "test", action: "marker", entity: "test" } });
      await prisma.$disconnect();
      await driver.close();
      await server.stop();

      const second = spawnEntry("app/main.ts", env);
      expect((await waitForHttp(`http://127.0.0.1:${port}/healthz`, 120_000, second)).status).toBe(200);
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);

      const againServer = await startEmbeddedServer({ dataDir });
      const again = await openDriver({ kind: "postgres", url: againServer.url, poolSize: 1 });
      const check = new PrismaClient({ adapter: again.factory });
      expect(await check.auditLog.count({ where: { action: "marker" } })).toBe(1);
      expect(await check.region.count()).toBe(regions);
      await check.$disconnect();
      await again.close();
      await againServer.stop();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    // Two cold starts of the real process; generous because the suite runs other files beside it.
  }, 300_000);
});

describe("production start", () => {
  it("runs the Docker image with the same Node flags as npm run start:prod", async () => {
    const root = join(import.meta.dirname, "..");
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const startProd = pkg.scripts["start:prod"]?.split(/\s+/) ?? [];
    const cmd = /^CMD (\[.*\])$/m.exec(await readFile(join(root, "Dockerfile"), "utf8"))?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd ?? "[]")).toEqual(startProd);
    // The heap is bounded: V8's default limit lets it grow past 400 MB under payment-day load.
    expect(startProd).toContain("--max-old-space-size=256");
  });
});
