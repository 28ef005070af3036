import { setPriority } from "node:os";
import { Registry } from "prom-client";
import { type Polling, startPolling } from "../bot/index.js";
import type { Database } from "../core/db/database.js";
import { metricsRegistry, startProcessMetrics } from "../core/metrics.js";
import { type ClusterMetrics, onPrimaryShutdown, readyToListen } from "./cluster.js";
import type { AppConfig } from "./config.js";
import { startDataRetention } from "./data-retention.js";
import { startDeadlineTick } from "./deadline-tick.js";
import type { Logger } from "./logger.js";
import { statementCounters } from "./metrics.js";
import { notificationEngineFromConfig } from "./notifications.js";
import { closeOnSignals } from "./process.js";
import { startSessionRetention } from "./session-retention.js";
import { createWorkerCore } from "./worker-core.js";

/**
 * Below the servers, not far below: at nice 10 (a tenth of a server's CPU share) a saturated
 * machine starved the duties worker until its connection handshakes and its answers to /metrics
 * timed out; at 5 it gets about a third of a server's share when both want the CPU.
 */
const DUTIES_NICE = 5;

/**
 * The duties worker of `npm start` (app/cluster.ts): the work of which one must run per machine —
 * the notification relay, Telegram long polling, the periodic jobs — in a process that serves no
 * HTTP, below the servers' CPU priority (nice 5). On payment day the relay drains tens of thousands of
 * notices at the providers' limits; beside the steps in one process it took their CPU, and a
 * caller's step waited behind a batch of sends. Apart and niced, the kernel runs a step first and
 * the relay in what is left, so the drain slows a little instead of every caller.
 */
export async function runDuties(config: AppConfig, log: Logger, db: Database, cluster: ClusterMetrics | undefined) {
  try {
    setPriority(0, DUTIES_NICE);
  } catch (err) {
    // Not fatal: the duties then share the CPU evenly, as they did inside a server worker.
    log.warn({ err }, "duties worker: could not lower its CPU priority");
  }
  startProcessMetrics("worker");
  const local = new Registry();
  statementCounters(local, db, () => 0);
  cluster?.share([metricsRegistry, local]);

  // The bot here sends the relay's notices and, without a webhook, is the one getUpdates consumer.
  const { limits, core, telegram } = createWorkerCore(config, log, db);
  const notifications =
    config.notifications.worker === "inline"
      ? notificationEngineFromConfig(config, db, log, telegram?.sender)
      : undefined;
  if (!notifications) log.info("NOTIFY_WORKER=off: notifications are delivered by `npm run worker`");
  let polling: Polling | undefined;
  let periodic: { stop(): void }[] = [];
  const shutdown = closeOnSignals(log, "duties worker stopping: finishing sends in progress", async () => {
    for (const job of periodic) job.stop();
    await polling?.stop();
    await notifications?.stop();
    await limits.close();
    await db.close();
  });
  onPrimaryShutdown(shutdown);
  // Released with the first generation of server workers: the duties' first rounds (purges, the
  // relay's backlog) must not take the CPU from workers still building, nor their connections.
  await readyToListen();
  // Each runs its first round now: started before the release, a restart's purges met workers
  // still compiling on a busy machine and gave up on a 2 s connection timeout.
  periodic = [
    startSessionRetention({ sessions: core.sessions, logger: log }),
    startDataRetention({ sql: db.sql, logger: log, periods: config.retention }),
    startDeadlineTick({ escalations: core.escalations, logger: log }),
  ];
  await notifications?.start();
  if (telegram && config.telegram.enabled && !config.telegram.webhookSecret) {
    // The other channels keep serving if Telegram cannot be reached.
    polling = await startPolling(telegram, log).catch((err: unknown) => {
      log.error({ err }, "telegram: long polling could not start");
      return undefined;
    });
  }
  log.info({ notifications: notifications?.kind ?? "off" }, "duties worker started");
}
