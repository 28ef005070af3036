import type { SqlExecutor } from "../core/db/adapters.js";
import type { Logger } from "./logger.js";
import { runPeriodically } from "./periodic.js";

const DAY_MS = 86_400_000;

/**
 * Unfinished forms nobody has touched for the period: what was typed into them (addresses, PINFL
 * claims, household details) has no use once the person has clearly moved on.
 */
const PURGE_DRAFTS_SQL = `
  with gone as (delete from "Draft" where "updatedAt" < $1::timestamp returning 1)
  select count(*)::int as count from gone`;

/**
 * Notifications that will never be sent again (sent, logged, delivered, finally failed, dead),
 * last changed before the period: their parameters (names, amounts, addresses, dates) are
 * replaced by an ellipsis. References are kept, so the API's delivery history still says which
 * application or visit a message was about; `purged` marks the row so each is rewritten once.
 */
const PURGE_OUTBOX_SQL = `
  with purged as (
    update "Outbox" o set
      params = (
        select coalesce(
          jsonb_object_agg(p.key, case when p.key ~* 'reference' then p.value else '"…"'::jsonb end),
          '{}'::jsonb
        ) || '{"purged": "yes"}'::jsonb
        from jsonb_each(o.params) p
      ),
      "updatedAt" = $2::timestamp
    where o."updatedAt" < $1::timestamp
      and jsonb_typeof(o.params) = 'object'
      and o.params->'purged' is null
      and (o.status in ('sent', 'logged', 'delivered', 'dead')
           or (o.status = 'failed' and o."providerMessageId" is not null))
    returning 1)
  select count(*)::int as count from purged`;

export interface RetentionPeriods {
  draftDays: number;
  outboxTextDays: number;
}

/** One purge: drafts and finished notifications' texts past their period. Idempotent. */
export async function purgePersonalData(
  sql: SqlExecutor,
  now: Date,
  periods: RetentionPeriods,
): Promise<{ drafts: number; outboxTexts: number }> {
  const draftsBefore = new Date(now.getTime() - periods.draftDays * DAY_MS);
  const outboxBefore = new Date(now.getTime() - periods.outboxTextDays * DAY_MS);
  const [drafts] = await sql.query<{ count: number }>(PURGE_DRAFTS_SQL, [draftsBefore.toISOString()]);
  const [outbox] = await sql.query<{ count: number }>(PURGE_OUTBOX_SQL, [
    outboxBefore.toISOString(),
    now.toISOString(),
  ]);
  return { drafts: drafts?.count ?? 0, outboxTexts: outbox?.count ?? 0 };
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
