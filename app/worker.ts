import { createTelegram } from "../bot/index.js";
import { openDatabase } from "../core/db/database.js";
import type { AppConfig } from "./config.js";
import { createAppCore } from "./core.js";
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
  const db = await openDatabase(config.database);
  // The bot is only used to send here; updates are handled by the web instances. Until bot/
  // exports a sender that needs no engine (the Telegram restructure), it is given the one core.
  const telegram = config.telegram.enabled
    ? createTelegram({
        config: config.telegram,
        prisma: db.prisma,
        sql: db.sql,
        logger,
        core: createAppCore(config, db),
      })
    : undefined;
  const engine = notificationEngineFromConfig(config, db.prisma, logger, telegram?.sender);
  const metrics = config.metrics.port ? await buildWorkerMetricsServer({ config, db, logger }) : undefined;
  await engine.start();
  await metrics?.listen({ port: config.metrics.port ?? 0, host: config.http.host });
  logger.info({ engine: engine.kind, metricsPort: config.metrics.port }, "notification worker started");

  closeOnSignals(logger, "notification worker stopping: finishing sends in progress", async () => {
    await metrics?.close();
    await engine.stop();
    await db.close();
  });
}

runProgram("mahalla-connect worker", main);
