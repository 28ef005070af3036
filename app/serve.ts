import type { Database } from "../core/db/database.js";
import { type ClusterMetrics, isClusterWorker, onPrimaryShutdown, readyToListen } from "./cluster.js";
import type { AppConfig } from "./config.js";
import type { Core } from "./core.js";
import type { Logger } from "./logger.js";
import { closeOnSignals } from "./process.js";
import { buildServer } from "./server.js";
import { createWorkerCore } from "./worker-core.js";

/**
 * What a server worker runs: imported by app/main.ts only there,
 * so the cluster's primary never loads the channels, the API or the bot.
 */

/**
 * A fresh worker's first Prisma statements pay for the query compiler and the reference lists a
 * menu needs; paid before it takes callers (a lone process pays it while seeding). Best effort:
 * a failure here is the first step's to report.
 */
async function warmUp(core: Core): Promise<void> {
  const reference = core.services.reference;
  await Promise.all([reference.regions(), reference.benefitTypes(new Date()), reference.visitReasons()]).catch(
    () => undefined,
  );
}

/**
 * Serves HTTP on the open database: the channels, the API, the back office. What runs once per
 * machine (relay, long polling, periodic jobs) is the duties worker's (app/duties.ts).
 */
export async function serve(
  config: AppConfig,
  log: Logger,
  db: Database,
  role: { cluster: ClusterMetrics | undefined; onListening?: () => void },
) {
  const { limits, core, telegram } = createWorkerCore(config, log, db);
  const app = await buildServer({ config, db, logger: log, telegram, core, limits, cluster: role.cluster });
  const shutdown = closeOnSignals(log, "shutting down: finishing in-flight requests", async () => {
    await app.close();
    await limits.close();
    await db.close();
  });
  onPrimaryShutdown(shutdown);
  // Fastify loads its plugins and compiles every route's schemas on ready, seconds of CPU on a
  // busy machine: done before the release, so the release hands over workers that only bind.
  await app.ready();
  if (isClusterWorker()) await warmUp(core);
  await readyToListen();
  await app.listen({ port: config.http.port, host: config.http.host });
  role.onListening?.();
}
