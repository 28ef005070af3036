import "./wasm-flags.js";
import cluster from "node:cluster";
import type { DatabaseTarget } from "../core/db/adapters.js";
import { openDatabase } from "../core/db/database.js";
import { DEMO_SHOWCASE_PHONE, seedDemoActivity } from "../core/reference/demo-activity.js";
import { seedReferenceData } from "../core/reference/seed.js";
import { clusterMetrics, type Prepared, runPrimary, workerCount, workerRole } from "./cluster.js";
import type { AppConfig } from "./config.js";
import { startDatabase } from "./database.js";
import { createLogger, type Logger, prettyDestination, wantsPrettyLogs } from "./logger.js";
import { runProgram } from "./process.js";
import { startupSummary } from "./startup-summary.js";

/**
 * `npm start`: the primary migrates and seeds once, then one server worker per core serves
 * (app/cluster.ts; WEB_CONCURRENCY chooses how many) and one duties worker runs the relay, long
 * polling and the periodic jobs (app/duties.ts).
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
    log.info({ database: config.database.kind }, "database ready, migrations applied");
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
  const workers = workerCount(config.webConcurrency);
  await runPrimary<PreparedMachine>({
    workers,
    logger: log,
    prepare: async () => {
      // The embedded default's PostgreSQL server belongs to the primary: it outlives any worker,
      // and stops after the last one (for DATABASE_URL there is nothing to start or stop).
      const database = await startDatabase(config.database, log);
      try {
        const { db, demoCitizens } = await prepareDatabase(config, log, database.target);
        await db.close();
        return { target: shareThePool(database.target, workers), stop: () => database.stop(), demoCitizens };
      } catch (err) {
        // A start-up that fails here must not leave the embedded server behind.
        await database.stop();
        throw err;
      }
    },
    onListening: (prepared) => summary(config, log, prepared.demoCitizens),
  });
}

/**
 * DATABASE_POOL_SIZE is the instance's connections to PostgreSQL, as before there were workers: the
 * server workers share it (at least two each, so a step and a scrape never wait on one another; the
 * duties worker has four of its own, app/cluster.ts), which keeps
 * the load an instance puts on PostgreSQL, and the locks its steps contend for, what it was.
 */
function shareThePool(target: DatabaseTarget, workers: number): DatabaseTarget {
  return { ...target, poolSize: Math.max(2, Math.ceil((target.poolSize ?? 10) / workers)) };
}

/** A server worker: open the database the primary prepared, and serve. */
async function worker(config: AppConfig) {
  const log = logger(config);
  const role = workerRole();
  if (!role.target) throw new Error("a server worker was started without the primary's database target");
  const db = await openDatabase(role.target, { migrate: false });
  if (role.duties) {
    const { runDuties } = await import("./duties.js");
    await runDuties(config, log, db, clusterMetrics());
    return;
  }
  const { serve } = await import("./serve.js");
  await serve(config, log, db, { cluster: clusterMetrics() });
}

runProgram("mahalla-connect", (config) => (cluster.isPrimary ? primary(config) : worker(config)));
