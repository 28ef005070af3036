import type { SqlSessionStore } from "../core/engine/session-store.js";
import type { Logger } from "./logger.js";
import { runPeriodically } from "./periodic.js";

export interface SessionRetentionOptions {
  sessions: Pick<SqlSessionStore, "purgeExpired">;
  logger: Logger;
  /** Days an expired session is kept (for a late gateway end-of-session report) before it goes. */
  keepDays?: number;
  everyMs?: number;
  clock?: () => Date;
}

/**
 * Deletes expired conversation sessions once at start and then every hour. Each instance runs it;
 * the delete is idempotent, so several at once only repeat each other's work.
 */
export function startSessionRetention(options: SessionRetentionOptions): { stop(): void } {
  const { sessions, logger } = options;
  const keepMs = (options.keepDays ?? 7) * 86_400_000;
  const clock = options.clock ?? (() => new Date());
  const purge = async () => {
    try {
      const purged = await sessions.purgeExpired(new Date(clock().getTime() - keepMs));
      if (purged > 0) logger.info({ purged }, "expired conversation sessions deleted");
    } catch (err) {
      logger.warn({ err }, "expired conversation sessions could not be deleted");
    }
  };
  return runPeriodically(purge, options.everyMs);
}
