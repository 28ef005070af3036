import { execFile, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../app/config.js";
import { adminQuery } from "./support/database.js";
import { projectRoot } from "./support/spawn.js";

type Service = {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  deploy?: { replicas?: number };
  restart?: string;
};

async function compose(): Promise<{ services: Record<string, Service>; volumes?: Record<string, unknown> }> {
  const text = await readFile(join(projectRoot, "compose.yaml"), "utf8");
  // Merge keys (<<) as Compose reads them; a syntax error throws here.
  return parse(text, { merge: true });
}

/** `${VAR:?message}` and `${VAR:-default}` as Compose would fill them from a complete .env. */
const SAMPLE_ENV: Record<string, string> = {
  POSTGRES_PASSWORD: "compose-secret",
  USSD_CALLBACK_TOKEN: "u".repeat(40),
  API_TOKENS: "agency:agency-token-0123456789",
  METRICS_TOKEN: "metrics-token-0123456789",
};
const interpolate = (value: string) =>
  value.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_m, name: string, kind?: string, rest?: string) => {
    const given = SAMPLE_ENV[name];
    if (given !== undefined) return given;
    if (kind === "-") return rest ?? "";
    throw new Error(`compose.yaml needs ${name} and has no default for it`);
  });

describe("compose.yaml, the production shape", () => {
  it("starts PostgreSQL, Redis, migrations once, two app instances and the worker from the one image", async () => {
    const { services, volumes } = await compose();
    expect(Object.keys(services).sort()).toEqual(["app", "migrate", "postgres", "redis", "worker"]);
    const roles = [services.migrate, services.app, services.worker] as Service[];
    const images = new Set(roles.map((s) => s.image));
    expect(images.size).toBe(1);
    for (const s of roles) expect(s.build).toEqual({ context: ".", dockerfile: "Dockerfile" });
    await access(join(projectRoot, "Dockerfile"));

    // Each command runs a file the Dockerfile's build produces (tsc of app/ into dist/app/).
    const build = JSON.parse(await readFile(join(projectRoot, "tsconfig.build.json"), "utf8")) as { include: string[] };
    expect(build.include).toContain("app");
    for (const s of roles) {
      const entry = s.command?.find((part) => part.startsWith("dist/"));
      expect(entry).toMatch(/^dist\/app\/\w+\.js$/);
      await access(join(projectRoot, (entry as string).replace(/^dist\//, "").replace(/\.js$/, ".ts")));
    }
    expect(services.migrate?.command).toContain("dist/app/migrate.js");
    expect(services.worker?.command).toContain("dist/app/worker.js");
    expect(services.app?.command).toContain("dist/app/main.js");
    expect(Object.keys(volumes ?? {})).toEqual(expect.arrayContaining(["pgdata", "redisdata"]));
  });

  it("runs two app instances on one host port range, delivery left to the worker", async () => {
    const { services } = await compose();
    const app = services.app as Service;
    expect(app.deploy?.replicas).toBe(2);
    const [published] = app.ports ?? [];
    const mapping = interpolate(published as string);
    const range = mapping.match(/^(\d+)-(\d+):(\d+)$/);
    expect(range).not.toBeNull();
    const [, from, to, container] = (range as RegExpMatchArray).map(Number);
    expect((to as number) - (from as number) + 1).toBe(2);
    expect(String(container)).toBe(app.environment?.PORT);
    expect(app.environment?.NOTIFY_WORKER).toBe("off");
    expect(services.worker?.environment?.NOTIFY_WORKER).toBeUndefined();
  });

  it("lets the apps and the worker start only after migrations succeeded and the stores are healthy", async () => {
    const { services } = await compose();
    for (const name of ["app", "worker"]) {
      expect(services[name]?.depends_on).toEqual({
        migrate: { condition: "service_completed_successfully" },
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
    }
    expect(services.migrate?.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    expect(services.migrate?.restart).toBe("no");
    for (const [name, s] of Object.entries(services)) {
      for (const dependency of Object.keys(s.depends_on ?? {})) expect(services[dependency], name).toBeDefined();
      // Every long-running service says when it is healthy; the one-off has nothing to say.
      if (name !== "migrate") expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
    }
    expect(services.app?.healthcheck?.test.join(" ")).toContain("/healthz");
    expect(services.worker?.healthcheck?.test.join(" ")).toContain(
      `:${services.worker?.environment?.METRICS_PORT}/healthz`,
    );
  });

  it("gives every role an environment the app's own configuration accepts", async () => {
    const { services } = await compose();
    for (const name of ["migrate", "app", "worker"]) {
      const env = Object.fromEntries(
        Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
      );
      const config = loadConfig(env);
      expect(config.env).toBe("production");
      expect(config.database.kind).toBe("postgres");
      expect(config.redisUrl).toBe("redis://redis:6379");
      // In production /metrics is off without a token: compose sets one for Prometheus.
      expect(config.metrics.token).toBe(SAMPLE_ENV.METRICS_TOKEN);
      expect(new URL(env.DATABASE_URL as string).hostname).toBe("postgres");
    }
    expect(() => interpolate(String(services.app?.environment?.USSD_CALLBACK_TOKEN).replace("USSD", "X"))).toThrow(
      /needs X_CALLBACK_TOKEN/,
    );
  });

  it.skipIf(spawnSync("docker", ["compose", "version"]).status !== 0)("is valid to docker compose config", () => {
    const result = spawnSync("docker", ["compose", "-f", "compose.yaml", "config", "--quiet"], {
      cwd: projectRoot,
      env: { ...process.env, ...SAMPLE_ENV },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("docs/operations.md", () => {
  it("names every gateway callback, the Telegram webhook, backups, upgrades, token rotation and the metrics", async () => {
    const doc = await readFile(join(projectRoot, "docs/operations.md"), "utf8");
    for (const needle of [
      "/ussd",
      "/ussd/events",
      "/sms/inbound",
      "/sms/delivery",
      "/telegram/webhook",
      "setWebhook",
      "pg_dump",
      "pg_restore",
      "scripts/backup-restore-check.sh",
      "dist/app/migrate.js",
      "METRICS_TOKEN",
      "USSD_CALLBACK_TOKEN",
      "TELEGRAM_WEBHOOK_SECRET",
      "API_TOKENS",
      "docker compose up",
    ]) {
      expect(doc, needle).toContain(needle);
    }
  });

  it("documents every metric the dashboard uses, and the dashboard uses only metrics the product serves", async () => {
    const doc = await readFile(join(projectRoot, "docs/operations.md"), "utf8");
    const dashboard = JSON.parse(await readFile(join(projectRoot, "docs/grafana-dashboard.json"), "utf8")) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const sources = await Promise.all(
      ["core/metrics.ts", "app/metrics.ts"].map((f) => readFile(join(projectRoot, f), "utf8")),
    );
    const served = new Set(sources.flatMap((s) => [...s.matchAll(/name: "(mc_\w+)"/g)].map((m) => m[1] as string)));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(8);
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bmc_\w+/g)].map((m) => m[0])));
    const base = (name: string) => name.replace(/_(bucket|count|sum)$/, "");
    for (const name of used) {
      // Node's defaults come from prom-client under the mc_ prefix (mc_process_*, mc_nodejs_*).
      if (/^mc_(process|nodejs)_/.test(name)) continue;
      expect(served.has(base(name)), `${name} is served`).toBe(true);
      expect(doc, `${base(name)} is documented`).toContain(base(name));
    }
    for (const required of [
      "mc_step_duration_seconds",
      "mc_ussd_apologies_total",
      "mc_ussd_admission_refused_total",
      "mc_outbox_backlog",
      "mc_outbox_oldest_pending_age_seconds",
      "mc_notification_deliveries_total",
      "mc_notification_dead_letters_total",
      "mc_telegram_rate_limited_total",
    ]) {
      expect([...used].map(base), required).toContain(required);
    }
  });
});

const serverUrl = process.env.TEST_POSTGRES_ADMIN_URL ?? process.env.DATABASE_URL;
const hasTools = ["pg_dump", "pg_restore", "psql"].every((t) => spawnSync(t, ["--version"]).status === 0);
/** pg_dump refuses a newer server: the run's embedded server (18) with the machine's older client tools. */
async function toolsTooOld(url: string): Promise<string | null> {
  const tools = Number(/\) (\d+)/.exec(spawnSync("pg_dump", ["--version"]).stdout.toString())?.[1]);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version_num: string }>("show server_version_num");
    const server = Math.floor(Number(rows[0]?.server_version_num) / 10_000);
    return tools < server
      ? `pg_dump ${tools} cannot dump the PostgreSQL ${server} server (set TEST_POSTGRES_ADMIN_URL)`
      : null;
  } finally {
    await client.end();
  }
}
const missing = !serverUrl
  ? "no PostgreSQL server (set TEST_POSTGRES_ADMIN_URL or DATABASE_URL)"
  : hasTools
    ? await toolsTooOld(serverUrl)
    : "pg_dump, pg_restore or psql not installed";
const underCi = process.env.CI === "true";
if (missing && !underCi) console.warn(`test/operations.test.ts: backup and migrate checks skipped: ${missing}`);

const admin = (sql: string) => adminQuery(serverUrl ?? "", sql);

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: projectRoot, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(missing !== null && !underCi)("on a real PostgreSQL server", () => {
  const withDatabase = async (body: (url: string, name: string) => Promise<void>) => {
    expect(missing, "CI must provide PostgreSQL and its client tools").toBeNull();
    const name = `mc_ops_${randomBytes(5).toString("hex")}`;
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl as string);
    url.pathname = `/${name}`;
    try {
      await body(url.toString(), name);
    } finally {
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  };

  it("migrates and seeds with the compose file's one-off command, and a second run changes nothing", async () => {
    await withDatabase(async (url) => {
      const env = { PATH: process.env.PATH, NODE_ENV: "development", LOG_LEVEL: "warn", DATABASE_URL: url };
      const tsx = join(projectRoot, "node_modules/.bin/tsx");
      const first = await run(tsx, ["app/migrate.ts"], env);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const count = async (table: string) =>
          Number((await client.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n);
        const migrations = await count("_prisma_migrations");
        const regions = await count("Region");
        expect(migrations).toBeGreaterThan(0);
        expect(regions).toBeGreaterThanOrEqual(14);
        expect((await run(tsx, ["app/migrate.ts"], env)).code).toBe(0);
        expect(await count("_prisma_migrations")).toBe(migrations);
        expect(await count("Region")).toBe(regions);
      } finally {
        await client.end();
      }
    });
  }, 180_000);

  it("backs up, restores into a fresh database and finds every table's rows, while the source keeps being written", async () => {
    await withDatabase(async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE TABLE "Outbox" (id serial PRIMARY KEY, body text NOT NULL)`);
        await client.query(`CREATE TABLE "Citizen" (id serial PRIMARY KEY, phone text NOT NULL UNIQUE)`);
        await client.query(`CREATE TABLE "Empty" (id int)`);
        await client.query(`INSERT INTO "Outbox" (body) SELECT 'message ' || g FROM generate_series(1, 5000) g`);
        await client.query(
          `INSERT INTO "Citizen" (phone) SELECT '+99890' || lpad(g::text, 7, '0') FROM generate_series(1, 300) g`,
        );
        // Writes go on during the whole check: the counts must be those of the dump's snapshot.
        let writing = true;
        let written = 0;
        const writer = (async () => {
          while (writing) {
            await client.query(`INSERT INTO "Outbox" (body) VALUES ('late')`);
            written++;
          }
        })();
        const check = await run(join(projectRoot, "scripts/backup-restore-check.sh"), [url]);
        writing = false;
        await writer;
        expect(check.stderr).toBe("");
        expect(check.code).toBe(0);
        expect(check.stdout).toMatch(/OK: 3 tables, every row count matches/);
        const row = (table: string) => check.stdout.match(new RegExp(`^${table}\\s+(\\d+)\\s+(\\d+)$`, "m"));
        expect(row("Citizen")?.slice(1)).toEqual(["300", "300"]);
        expect(row("Empty")?.slice(1)).toEqual(["0", "0"]);
        const outbox = row("Outbox");
        expect(outbox?.[1]).toBe(outbox?.[2]);
        expect(Number(outbox?.[1])).toBeGreaterThanOrEqual(5000);
        expect(written).toBeGreaterThan(0);
      } finally {
        await client.end();
      }
      // The restored copy was dropped again.
      const left = new pg.Client({ connectionString: serverUrl });
      await left.connect();
      try {
        const { rows } = await left.query(`SELECT datname FROM pg_database WHERE datname LIKE 'restore_check_%'`);
        expect(rows).toEqual([]);
      } finally {
        await left.end();
      }
    });
  }, 180_000);

  it("refuses a missing URL and an unreachable server with one line and a non-zero status", async () => {
    const script = join(projectRoot, "scripts/backup-restore-check.sh");
    const usage = await run(script, []);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^backup-restore-check: usage:/);
    const down = await run(script, ["postgresql://postgres@127.0.0.1:1/none"]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/backup-restore-check: /);
  });
});
