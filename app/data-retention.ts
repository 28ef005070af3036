import type { SqlExecutor } from "../core/db/adapters.js";
import { purgeOutboxTexts } from "../core/notifications/outbox.js";
import { DraftService } from "../core/services/drafts.js";
import type { Logger } from "./logger.js";
import { runPeriodically } from "./periodic.js";

const DAY_MS = 86_400_000;

export interface RetentionPeriods {
  draftDays: number;
  outboxTextDays: number;
}

/**
 * One purge: drafts untouched for the period (what was typed into them has no use once the person
 * has moved on) and finished notifications' texts past theirs. Idempotent.
 */
export async function purgePersonalData(
  sql: SqlExecutor,
  now: Date,
  periods: RetentionPeriods,
): Promise<{ drafts: number; outboxTexts: number }> {
  const draftsBefore = new Date(now.getTime() - periods.draftDays * DAY_MS);
  const outboxBefore = new Date(now.getTime() - periods.outboxTextDays * DAY_MS);
  const drafts = await new DraftService(sql).purgeUntouchedSince(draftsBefore);
  const outboxTexts = await purgeOutboxTexts(sql, outboxBefore, now);
  return { drafts, outboxTexts };
}

export interface DataRetentionOptions {
  sql: SqlExecutor;
  logger: Logger;
  periods: RetentionPeriods;
  everyMs?: number;
  clock?: () => Date;
}

/**
 * Runs `purgePersonalData` once at start and then every hour, on every instance (the statements
 * are idempotent: several instances only repeat each other's work).
 */
export function startDataRetention(options: DataRetentionOptions): { stop(): void } {
  const { sql, logger, periods } = options;
  const clock = options.clock ?? (() => new Date());
  const purge = async () => {
    try {
      const purged = await purgePersonalData(sql, clock(), periods);
      if (purged.drafts > 0 || purged.outboxTexts > 0) logger.info(purged, "personal data past its retention purged");
    } catch (err) {
      logger.warn({ err }, "personal data past its retention could not be purged");
    }
  };
  return runPeriodically(purge, options.everyMs);
}
