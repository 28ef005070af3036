import { createTelegram } from "../bot/index.js";
import type { Database } from "../core/db/database.js";
import { isClusterWorker } from "./cluster.js";
import type { AppConfig } from "./config.js";
import { createAppCore } from "./core.js";
import { createLimits } from "./limits.js";
import type { Logger } from "./logger.js";

/**
 * What every worker of `npm start` builds on its open database, the server workers (app/serve.ts)
 * and the duties worker (app/duties.ts) alike: the limits, the conversation core and, when
 * configured, the bot over them.
 */
export function createWorkerCore(config: AppConfig, log: Logger, db: Database) {
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
        // Every worker sends as the same bot: Telegram's 30 a second is one count between them.
        overallLimiter: limits.telegram,
      })
    : undefined;
  return { limits, core, telegram };
}
