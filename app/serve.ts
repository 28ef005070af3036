import { createTelegram, type Polling, startPolling } from "../bot/index.js";
import type { Database } from "../core/db/database.js";
import { type ClusterMetrics, isClusterWorker, onPrimaryShutdown, readyToListen } from "./cluster.js";
import type { AppConfig } from "./config.js";
import { createAppCore } from "./core.js";
import { startDataRetention } from "./data-retention.js";
import { startDeadlineTick } from "./deadline-tick.js";
import { createLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import { notificationEngineFromConfig } from "./notifications.js";
import { closeOnSignals } from "./process.js";
import { buildServer } from "./server.js";
import { startSessionRetention } from "./session-retention.js";

/**
 * What a server worker runs: imported by app/main.ts only there,
 * so the cluster's primary never loads the channels, the API or the bot.
 */

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
export async function serve(
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
