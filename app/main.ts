import cluster from "node:cluster";
import { createTelegram, type Polling, startPolling } from "../bot/index.js";
import type { DatabaseTarget } from "../core/db/adapters.js";
import { type Database, openDatabase } from "../core/db/database.js";
import { DEMO_SHOWCASE_PHONE, seedDemoActivity } from "../core/reference/demo-activity.js";
import { seedReferenceData } from "../core/reference/seed.js";
import {
  type ClusterMetrics,
  clusterMetrics,
  isClusterWorker,
  onPrimaryShutdown,
  type Prepared,
  readyToListen,
  runPrimary,
  workerCount,
  workerRole,
} from "./cluster.js";
import type { AppConfig } from "./config.js";
import { createAppCore } from "./core.js";
import { startDataRetention } from "./data-retention.js";
import { startDeadlineTick } from "./deadline-tick.js";
import { createLimits } from "./limits.js";
import { createLogger, type Logger, prettyDestination, wantsPrettyLogs } from "./logger.js";
import { notificationEngineFromConfig } from "./notifications.js";
import { closeOnSignals, runProgram } from "./process.js";
import { buildServer } from "./server.js";
import { startSessionRetention } from "./session-retention.js";
import { startupSummary } from "./startup-summary.js";

/**
 * `npm start`: the primary migrates and seeds once, then one server worker per core serves
 * (app/cluster.ts); WEB_CONCURRENCY chooses how many.
 */
const logger = (config: AppConfig): Logger =>
  createLogger(config.logLevel, wantsPrettyLogs(config.env) ? prettyDestination() : undefined);

interface PreparedMachine extends Prepared {
  demoCitizens: number;
}

/** Once per machine: migrations (openDatabase applies them), reference data, the demo set. */
async function prepareDatabase(config: AppConfig, log: Logger, target: DatabaseTarget) {
  const db = await openDatabase(target);
  try {
    log.info({ database: target.kind }, "database ready, migrations applied");
    const seeded = await seedReferenceData(db.prisma, { demo: config.seedDemo });
    log.info(seeded, "reference data seeded");
    const demo = config.seedDemoActivity ? await seedDemoActivity(db.prisma) : undefined;
    if (demo) {
      log.info(
        demo,
        demo.created ? "demo activity loaded (marked DEMO-, phones +998 39 000 …)" : "demo activity already loaded",
      );
    }
    return { db, demoCitizens: demo?.citizens ?? 0 };
  } catch (err) {
    await db.close();
    throw err;
  }
}

const summary = (config: AppConfig, log: Logger, demoCitizens: number) => {
  for (const line of startupSummary(config, { demoCitizens, demoPhone: DEMO_SHOWCASE_PHONE })) log.info(line);
};

async function primary(config: AppConfig) {
  const log = logger(config);
  if (config.database.kind === "pglite") {
    // PGlite runs inside the process that opened it and only one process may hold its directory:
    // this process prepares and serves, as one worker would (opening it twice would double the
    // embedded default's start-up).
    const workers = workerCount(config.webConcurrency);
    if (workers > 1)
      log.info({ requested: workers }, "the embedded database (PGlite) belongs to one process: one server process");
    const { db, demoCitizens } = await prepareDatabase(config, log, config.database);
    await serve(config, log, db, {
      duties: true,
      cluster: undefined,
      onListening: () => summary(config, log, demoCitizens),
    });
    return;
  }
  const workers = workerCount(config.webConcurrency);
  await runPrimary<PreparedMachine>({
    workers,
    logger: log,
    prepare: async () => {
      // The database server, when the product starts one, belongs here (helper A's startDatabase);
      // for an external PostgreSQL the configured target is what the workers open.
      const target = config.database;
      const { db, demoCitizens } = await prepareDatabase(config, log, target);
      await db.close();
      return { target: shareThePool(target, workers), stop: async () => {}, demoCitizens };
    },
    onListening: (prepared) => summary(config, log, prepared.demoCitizens),
  });
}

/**
 * DATABASE_POOL_SIZE is the instance's connections to PostgreSQL, as before there were workers: the
 * workers share it (at least two each, so a step and a scrape never wait on one another), which keeps
 * the load an instance puts on PostgreSQL, and the locks its steps contend for, what it was.
 */
function shareThePool(target: DatabaseTarget, workers: number): DatabaseTarget {
  if (target.kind !== "postgres") return target;
  return { ...target, poolSize: Math.max(2, Math.ceil((target.poolSize ?? 10) / workers)) };
}

/** A server worker: open the database the primary prepared, and serve. */
async function worker(config: AppConfig) {
  const log = logger(config);
  const role = workerRole();
  const db = await openDatabase(role.target ?? config.database, { migrate: false });
  await serve(config, log, db, { duties: role.duties, cluster: clusterMetrics() });
}

/**
 * A fresh worker's first Prisma statements pay for the query compiler and the reference lists a
 * menu needs; paid before it takes callers (a lone process pays it while seeding). Best effort:
 * a failure here is the first step's to report.
 */
async function warmUp(core: ReturnType<typeof createAppCore>): Promise<void> {
  const reference = core.services.reference;
  await Promise.all([reference.regions(), reference.benefitTypes(new Date()), reference.visitReasons()]).catch(
    () => undefined,
  );
}

/** Serves HTTP on the open database; with `duties`, also the relay, long polling and the periodic jobs. */
async function serve(
  config: AppConfig,
  log: Logger,
  db: Database,
  role: { duties: boolean; cluster: ClusterMetrics | undefined; onListening?: () => void },
) {
  const limits = createLimits({
    stepsPerMinute: config.stepsPerMinute,
    redisUrl: config.redisUrl,
    clusterWorker: isClusterWorker(),
    logger: log,
  });
  const core = createAppCore(config, db, undefined, limits.steps);
  const telegram = config.telegram.enabled
    ? createTelegram({
        config: config.telegram,
        prisma: db.prisma,
        sql: db.sql,
        logger: log,
        engine: core.engine,
        staffVisits: core.staffVisits,
        feedback: core.services.feedback,
        citizens: core.services.citizens,
      })
    : undefined;
  const app = await buildServer({ config, db, logger: log, telegram, core, limits, cluster: role.cluster });
  const notifications =
    role.duties && config.notifications.worker === "inline"
      ? notificationEngineFromConfig(config, db.prisma, log, telegram?.sender)
      : undefined;
  if (role.duties && !notifications) log.info("NOTIFY_WORKER=off: notifications are delivered by `npm run worker`");
  let polling: Polling | undefined;
  let retention: { stop(): void } | undefined;
  let dataRetention: { stop(): void } | undefined;
  let deadlineTick: { stop(): void } | undefined;
  const shutdown = closeOnSignals(log, "shutting down: finishing in-flight requests", async () => {
    retention?.stop();
    dataRetention?.stop();
    deadlineTick?.stop();
    await polling?.stop();
    await app.close();
    await notifications?.stop();
    await limits.close();
    await db.close();
  });
  onPrimaryShutdown(shutdown);
  if (isClusterWorker()) await warmUp(core);
  await readyToListen();
  await app.listen({ port: config.http.port, host: config.http.host });
  role.onListening?.();
  if (!role.duties) return;
  await notifications?.start();
  retention = startSessionRetention({ sessions: core.sessions, logger: log });
  dataRetention = startDataRetention({ sql: db.sql, logger: log, periods: config.retention });
  deadlineTick = startDeadlineTick({ escalations: core.escalations, logger: log });
  if (telegram && config.telegram.enabled && !config.telegram.webhookSecret) {
    // The other channels keep serving if Telegram cannot be reached.
    polling = await startPolling(telegram, log).catch((err: unknown) => {
      log.error({ err }, "telegram: long polling could not start");
      return undefined;
    });
  }
}

runProgram("mahalla-connect", (config) => (cluster.isPrimary ? primary(config) : worker(config)));
