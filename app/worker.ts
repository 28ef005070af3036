import "./wasm-flags.js";
import { createBotSender } from "../bot/index.js";
import { openDatabase } from "../core/db/database.js";
import { StaffVisitService } from "../core/services/staff-visits.js";
import type { AppConfig } from "./config.js";
import { startDatabase } from "./database.js";
import { createLimits } from "./limits.js";
import { createLogger, prettyDestination, wantsPrettyLogs } from "./logger.js";
import { buildWorkerMetricsServer } from "./metrics.js";
import { notificationEngineFromConfig } from "./notifications.js";
import { closeOnSignals, runProgram } from "./process.js";

/**
 * `npm run worker`: notification delivery on its own, for deployments that run the web
 * instances with NOTIFY_WORKER=off. With REDIS_URL it dispatches and works the BullMQ queue
 * (several workers may run); without, it runs the outbox relay.
 */
async function main(config: AppConfig) {
  const logger = createLogger(config.logLevel, wantsPrettyLogs(config.env) ? prettyDestination() : undefined);
  const database = await startDatabase(config.database, logger);
  const db = await openDatabase(database.target);
  // Only sending here: updates are handled by the web instances, so no conversation engine. It
  // sends as the same bot as they do: with REDIS_URL, Telegram's overall rate is one count with theirs.
  const limits = createLimits({
    stepsPerMinute: 0,
    redisUrl: config.redisUrl,
    clusterWorker: false,
    logger,
  });
  const telegram = config.telegram.enabled
    ? createBotSender({
        config: config.telegram,
        staffVisits: new StaffVisitService(db.prisma, { sql: db.sql }),
        overallLimiter: limits.telegram,
      })
    : undefined;
  const engine = notificationEngineFromConfig(config, db, logger, telegram);
  const metrics = config.metrics.port ? await buildWorkerMetricsServer({ config, db, logger }) : undefined;
  await engine.start();
  await metrics?.listen({ port: config.metrics.port ?? 0, host: config.http.host });
  logger.info({ engine: engine.kind, metricsPort: config.metrics.port }, "notification worker started");

  closeOnSignals(logger, "notification worker stopping: finishing sends in progress", async () => {
    await metrics?.close();
    await engine.stop();
    await limits.close();
    await db.close();
    await database.stop();
  });
}

runProgram("mahalla-connect worker", main);
