import { statement } from "./statement.js";

// Outbox's plain-SQL statements. Owner: core/notifications/outbox.ts (writes, the retention purge,
// the figures /metrics reports); core/services/imports/payments.ts inserts its batches' rows.
// OUTBOX_ROWS_INSERT is how another table's statement queues notifications beside its own write
// (a data-modifying CTE), with the values core/notifications/outbox.ts outboxRowParams builds.

/**
 * The parameters of one Outbox row, in the order OUTBOX_ROWS_INSERT numbers them. The row's rules
 * (channel, locale) are decided in TypeScript by core/notifications/outbox.ts, not here.
 */
export type OutboxRowParams = [
  channel: string,
  recipientPhone: string | null,
  recipientChatId: string | null,
  citizenId: number | null,
  staffId: number | null,
  locale: string,
  templateKey: string,
  params: string,
  dedupeKey: string | null,
];

/**
 * Inserts notifications beside the enclosing statement's own write (a data-modifying CTE): for
 * each `[first, source]`, one row (parameters $first … $first+8, OutboxRowParams) per row of
 * `source`, a CTE of that statement, so none when the change it reports was not made. Rows are
 * inserted in the order given. A dedupeKey already queued is skipped, as notifyCitizen's upsert
 * skips it. Timestamps are UTC, as Prisma writes them.
 */
export const OUTBOX_ROWS_INSERT = (rows: [first: number, source: string][]) => {
  const row = ([first, source]: [number, string]) => {
    const p = (i: number, type: string) => `$${first + i}::${type}`;
    return `
  select ${p(0, "text")}, ${p(1, "text")}, ${p(2, "bigint")}, ${p(3, "int")}, ${p(4, "int")}, ${p(5, "text")},
         ${p(6, "text")}, ${p(7, "jsonb")}, ${p(8, "text")},
         now() at time zone 'UTC', now() at time zone 'UTC', now() at time zone 'UTC'
    from ${source}`;
  };
  return `
  insert into "Outbox" ("channel", "recipientPhone", "recipientChatId", "citizenId", "staffId", "locale",
    "templateKey", "params", "dedupeKey", "nextAttemptAt", "createdAt", "updatedAt")
  ${rows.map(row).join("\n  union all")}
  on conflict ("dedupeKey") do nothing`;
};

/**
 * Notifications that will never be sent again (sent, logged, delivered, finally failed, dead),
 * last changed before the period: their parameters (names, amounts, addresses, dates) are
 * replaced by an ellipsis. References are kept, so the API's delivery history still says which
 * application or visit a message was about; `purged` marks the row so each is rewritten once.
 */
export const PURGE_TEXTS = statement<{ count: number }, [before: string, now: string]>(
  "Outbox.purgeTexts",
  `
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
  select count(*)::int as count from purged`,
  { count: true },
);

export interface FiguresRow {
  channel: string;
  backlog: number;
  oldest: number;
  dead: number;
}

/**
 * Messages not yet taken by a provider (waiting, failed and due again, or being sent), the age of
 * the oldest of them, and the dead letters, per channel, in one statement over the outbox. Ages are
 * taken against UTC because Prisma writes and reads `timestamp` columns as UTC.
 */
export const FIGURES = statement<FiguresRow, []>(
  "Outbox.figures",
  `
SELECT "channel",
       (count(*) FILTER (WHERE "status" <> 'dead'))::int AS "backlog",
       COALESCE(EXTRACT(EPOCH FROM ((now() AT TIME ZONE 'UTC') - min("createdAt") FILTER (WHERE "status" <> 'dead'))), 0)::float8 AS "oldest",
       (count(*) FILTER (WHERE "status" = 'dead'))::int AS "dead"
  FROM "Outbox"
 WHERE ("status" IN ('pending', 'failed', 'sending') AND "providerMessageId" IS NULL) OR "status" = 'dead'
 GROUP BY "channel"`,
  { channel: true, backlog: true, oldest: true, dead: true },
);

/**
 * A batch of notifications (imports), one set-based statement; an existing dedupeKey is skipped,
 * so concurrent imports of one batch stay idempotent.
 */
export const INSERT_BATCH = statement<
  { inserted: number },
  [
    channels: string[],
    recipientPhones: string[],
    recipientChatIds: (string | null)[],
    citizenIds: (number | null)[],
    locales: string[],
    templateKeys: string[],
    params: string[],
    dedupeKeys: (string | null)[],
  ]
>(
  "Outbox.insertBatch",
  `
    WITH inserted AS (
    INSERT INTO "Outbox" ("channel", "recipientPhone", "recipientChatId", "citizenId", "locale", "templateKey",
      "params", "dedupeKey", "nextAttemptAt", "createdAt", "updatedAt")
    SELECT ch, ph, chat, c, l, k, pr, d, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')
    FROM unnest(
      $1::text[],
      $2::text[],
      $3::bigint[],
      $4::int[],
      $5::text[],
      $6::text[],
      $7::jsonb[],
      $8::text[]
    ) AS u(ch, ph, chat, c, l, k, pr, d)
    ON CONFLICT ("dedupeKey") DO NOTHING
    RETURNING 1)
    SELECT count(*)::int AS inserted FROM inserted`,
  { inserted: true },
);
