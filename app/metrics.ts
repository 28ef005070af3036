import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { Counter, Gauge, Registry } from "prom-client";
import type { SqlExecutor } from "../core/db/adapters.js";
import type { Database } from "../core/db/database.js";
import { metricsRegistry, startProcessMetrics } from "../core/metrics.js";
import { outboxFigures } from "../core/notifications/outbox.js";
import type { ClusterMetrics } from "./cluster.js";
import type { AppConfig } from "./config.js";
import type { Logger } from "./logger.js";

export interface MetricsOptions {
  db: Pick<Database, "queryCount"> & { sql: SqlExecutor };
  config: Pick<AppConfig, "env" | "metrics">;
  /** Which process serves them (the web instances or `npm run worker`). */
  role?: "app" | "worker";
  /** How long the scrape-time outbox query may take before it is reported as failed (default 1 s). */
  queryTimeoutMs?: number;
  /**
   * In a node:cluster worker (app/cluster.ts): the process figures are those of every worker added
   * up, asked of the primary; the outbox figures, read from the database, are not summed.
   */
  cluster?: ClusterMetrics | undefined;
}

/** Where /metrics stands under a configuration: open, behind a bearer token, or not served. */
export type MetricsAccess = { kind: "open" } | { kind: "token"; token: string } | { kind: "off" };

/**
 * Operators' figures carry no personal data, but in production they still say how busy the service
 * is and how its queues stand: with `METRICS_TOKEN` they need it as a bearer token; without it they
 * are not served at all. Development and tests keep them open unless a token is set.
 */
export function metricsAccess(config: Pick<AppConfig, "env" | "metrics">): MetricsAccess {
  if (config.metrics.token) return { kind: "token", token: config.metrics.token };
  return config.env === "production" ? { kind: "off" } : { kind: "open" };
}

const CHANNELS = ["sms", "telegram"] as const;

/**
 * The statement counters of one process into `registry`: its work, and apart what its own /metrics
 * scrapes sent (`scrapes`), which are left out of the first.
 */
export function statementCounters(registry: Registry, db: Pick<Database, "queryCount">, scrapes: () => number): void {
  new Counter({
    name: "mc_db_queries_total",
    help: "SQL statements this process sent to the database for its work (the /metrics query excluded).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(Math.max(0, db.queryCount() - scrapes()));
    },
  });
  new Counter({
    name: "mc_metrics_db_queries_total",
    help: "SQL statements sent by /metrics itself (the outbox figures).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(scrapes());
    },
  });
}

/**
 * `GET /metrics` in the Prometheus text format: the process's metrics (core/metrics.ts, Node's
 * defaults) and, read at scrape time, the outbox backlog and the database statement counter.
 */
export async function metricsRoutes(app: FastifyInstance, options: MetricsOptions): Promise<void> {
  const access = metricsAccess(options.config);
  if (access.kind === "off") return;
  startProcessMetrics(options.role ?? "app");
  const { db } = options;
  const timeoutMs = options.queryTimeoutMs ?? 1_000;
  // Figures of this process (added up across workers in a cluster) apart from those read from the
  // database at scrape time (the same for every worker, so never summed).
  const local = new Registry();
  const scraped = new Registry();
  // The scrape's own statement is left out of mc_db_queries_total, so the benchmark's statements per
  // step stay the product's work however often it reads the counter; this counts it apart.
  let ownStatements = 0;
  statementCounters(local, db, () => ownStatements);
  const backlog = new Gauge({
    name: "mc_outbox_backlog",
    help: "Notifications not yet taken by a provider (pending, failed and due again, or being sent), by channel.",
    labelNames: ["channel"] as const,
    registers: [scraped],
  });
  const oldest = new Gauge({
    name: "mc_outbox_oldest_pending_age_seconds",
    help: "Age of the oldest notification not yet taken by a provider, by channel (0: none waiting).",
    labelNames: ["channel"] as const,
    registers: [scraped],
  });
  const dead = new Gauge({
    name: "mc_outbox_dead_letters",
    help: "Notifications in the dead-letter state (GET /api/v1/notifications/dead), by channel.",
    labelNames: ["channel"] as const,
    registers: [scraped],
  });
  const up = new Gauge({
    name: "mc_outbox_query_up",
    help: "1 when the scrape-time outbox query answered, 0 when it failed or timed out (the outbox figures are then absent).",
    registers: [scraped],
  });

  // Reset only once the answer is in (synchronously with the new values), so a scrape that runs
  // alongside another never sees the figures half gone.
  const clear = () => {
    backlog.reset();
    oldest.reset();
    dead.reset();
  };
  const readOutbox = async () => {
    try {
      ownStatements++;
      const rows = await withTimeout(outboxFigures(db.sql), timeoutMs);
      const figures = new Map<string, { backlog: number; oldest: number; dead: number }>(
        CHANNELS.map((channel) => [channel, { backlog: 0, oldest: 0, dead: 0 }]),
      );
      for (const row of rows) {
        // Anything but the two channels is a bug elsewhere; it is shown, under one bounded label.
        const channel = (CHANNELS as readonly string[]).includes(row.channel) ? row.channel : "other";
        const into = figures.get(channel) ?? { backlog: 0, oldest: 0, dead: 0 };
        into.backlog += Number(row.backlog);
        into.oldest = Math.max(into.oldest, Number(row.oldest));
        into.dead += Number(row.dead);
        figures.set(channel, into);
      }
      clear();
      for (const [channel, f] of figures) {
        backlog.set({ channel }, f.backlog);
        oldest.set({ channel }, f.oldest);
        dead.set({ channel }, f.dead);
      }
      up.set(1);
    } catch {
      clear();
      up.set(0);
    }
  };

  const { cluster } = options;
  cluster?.share([metricsRegistry, local]);
  const ownFigures = async () => `${await metricsRegistry.metrics()}\n${await local.metrics()}`;
  // Should the primary not answer, this worker's own figures are better than no scrape at all.
  const processFigures = async () => (cluster ? await cluster.collect().catch(ownFigures) : await ownFigures());

  const guard = access.kind === "token" ? bearerGuard(access.token) : undefined;
  app.get("/metrics", { schema: { hide: true }, ...(guard ? { onRequest: guard } : {}) }, async (_req, reply) => {
    await readOutbox();
    const text = `${await processFigures()}\n${await scraped.metrics()}`;
    return reply.type(metricsRegistry.contentType).header("cache-control", "no-store").send(text);
  });
}

/**
 * `npm run worker` has no HTTP server of its own; with `METRICS_PORT` it serves `/metrics` (its
 * deliveries, dead letters and Telegram 429s happen there, not on the web instances) and
 * `/healthz` for the orchestrator, under the same access rule as the web instances.
 */
export async function buildWorkerMetricsServer(deps: {
  config: Pick<AppConfig, "env" | "metrics">;
  db: Pick<Database, "queryCount" | "ping"> & { sql: SqlExecutor };
  logger: Logger;
}): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, forceCloseConnections: "idle" });
  app.get("/healthz", async (_req, reply) => {
    try {
      await withTimeout(deps.db.ping(), 1_500);
      return { status: "ok" };
    } catch {
      return reply.code(503).send({ status: "unavailable" });
    }
  });
  await app.register(metricsRoutes, { db: deps.db, config: deps.config, role: "worker" });
  return app;
}

/** `Authorization: Bearer <token>`, compared in constant time; anything else is a 401. */
function bearerGuard(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const given = typeof header === "string" && header.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    return reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="metrics"')
      .type("text/plain; charset=utf-8")
      .send("Unauthorized: /metrics needs Authorization: Bearer <METRICS_TOKEN>");
  };
}

const digest = (value: string) => createHash("sha256").update(value).digest();

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
