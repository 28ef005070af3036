import { createTelegram } from "../bot/index.js";
import { openDatabase } from "../core/db/database.js";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { notificationEngineFromConfig } from "./notifications.js";

/**
 * `npm run worker`: notification delivery on its own, for deployments that run the web
 * instances with NOTIFY_WORKER=off. With REDIS_URL it dispatches and works the BullMQ queue
 * (several workers may run); without, it runs the outbox relay.
 */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mahalla-connect worker: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config.database);
  // The bot is only used to send here; updates are handled by the web instances.
  const telegram = config.telegram.enabled
    ? createTelegram({ config: config.telegram, prisma: db.prisma, sql: db.sql, logger })
    : undefined;
  const engine = notificationEngineFromConfig(config, db.prisma, logger, telegram?.sender);
  await engine.start();
  logger.info({ engine: engine.kind }, "notification worker started");

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "notification worker stopping: finishing sends in progress");
    try {
      await engine.stop();
      await db.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, "worker shutdown failed");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`mahalla-connect worker: start-up failed: ${(err as Error).message}\n`);
  process.exit(1);
});
