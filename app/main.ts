import { createTelegram, type Polling, startPolling } from "../bot/index.js";
import { openDatabase } from "../core/db/database.js";
import { DEMO_SHOWCASE_PHONE, seedDemoActivity } from "../core/reference/demo-activity.js";
import { seedReferenceData } from "../core/reference/seed.js";
import type { AppConfig } from "./config.js";
import { createAppCore } from "./core.js";
import { startDataRetention } from "./data-retention.js";
import { startDatabase } from "./database.js";
import { startDeadlineTick } from "./deadline-tick.js";
import { createLogger, prettyDestination, wantsPrettyLogs } from "./logger.js";
import { notificationEngineFromConfig } from "./notifications.js";
import { closeOnSignals, runProgram } from "./process.js";
import { buildServer } from "./server.js";
import { startSessionRetention } from "./session-retention.js";
import { startupSummary } from "./startup-summary.js";

/** `npm start`: migrate, seed reference data, serve. */
async function main(config: AppConfig) {
  const logger = createLogger(config.logLevel, wantsPrettyLogs(config.env) ? prettyDestination() : undefined);
  const database = await startDatabase(config.database, logger);
  // A start-up that fails after this must not leave the embedded server behind.
  const db = await openDatabase(database.target).catch(async (err: unknown) => {
    await database.stop();
    throw err;
  });
  logger.info({ database: config.database.kind }, "database ready, migrations applied");
  const seeded = await seedReferenceData(db.prisma, { demo: config.seedDemo });
  logger.info(seeded, "reference data seeded");
  const demo = config.seedDemoActivity ? await seedDemoActivity(db.prisma) : undefined;
  if (demo) {
    logger.info(
      demo,
      demo.created ? "demo activity loaded (marked DEMO-, phones +998 39 000 …)" : "demo activity already loaded",
    );
  }

  const core = createAppCore(config, db);
  const telegram = config.telegram.enabled
    ? createTelegram({
        config: config.telegram,
        prisma: db.prisma,
        sql: db.sql,
        logger,
        engine: core.engine,
        staffVisits: core.staffVisits,
        feedback: core.services.feedback,
        citizens: core.services.citizens,
      })
    : undefined;
  const app = await buildServer({ config, db, logger, telegram, core });
  const notifications =
    config.notifications.worker === "inline"
      ? notificationEngineFromConfig(config, db.prisma, logger, telegram?.sender)
      : undefined;
  if (!notifications) logger.info("NOTIFY_WORKER=off: notifications are delivered by `npm run worker`");
  let polling: Polling | undefined;
  let retention: { stop(): void } | undefined;
  let dataRetention: { stop(): void } | undefined;
  let deadlineTick: { stop(): void } | undefined;
  closeOnSignals(logger, "shutting down: finishing in-flight requests", async () => {
    retention?.stop();
    dataRetention?.stop();
    deadlineTick?.stop();
    await polling?.stop();
    await app.close();
    await notifications?.stop();
    await db.close();
    await database.stop();
  });
  await app.listen({ port: config.http.port, host: config.http.host });
  for (const line of startupSummary(config, { demoCitizens: demo?.citizens ?? 0, demoPhone: DEMO_SHOWCASE_PHONE })) {
    logger.info(line);
  }
  await notifications?.start();
  retention = startSessionRetention({ sessions: core.sessions, logger });
  dataRetention = startDataRetention({ sql: db.sql, logger, periods: config.retention });
  deadlineTick = startDeadlineTick({ escalations: core.escalations, logger });
  if (telegram && config.telegram.enabled && !config.telegram.webhookSecret) {
    // The other channels keep serving if Telegram cannot be reached.
    polling = await startPolling(telegram, logger).catch((err: unknown) => {
      logger.error({ err }, "telegram: long polling could not start");
      return undefined;
    });
  }
}

runProgram("mahalla-connect", main);
