import type { Outbox } from "../../../generated/prisma/client.js";
import { type Columns, statement } from "./statement.js";

// Outbox's plain-SQL statements. Owner: core/notifications/outbox.ts (writes, the retention purge,
// the figures /metrics reports); core/notifications/delivery.ts claims due rows and records what
// became of each send;
// core/services/imports/payments.ts inserts its batches' rows.
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

const OUTBOX_COLUMNS: Columns<Outbox> = {
  id: true,
  channel: true,
  recipientPhone: true,
  recipientChatId: true,
  citizenId: true,
  staffId: true,
  locale: true,
  templateKey: true,
  params: true,
  dedupeKey: true,
  status: true,
  attempts: true,
  nextAttemptAt: true,
  lastError: true,
  providerMessageId: true,
  sentAt: true,
  deliveredAt: true,
  createdAt: true,
  updatedAt: true,
};

/** Every column of OUTBOX_COLUMNS, quoted, each after `table` when given (`o.`). */
const outboxColumnList = (table = "") =>
  Object.keys(OUTBOX_COLUMNS)
    .map((c) => `${table}"${c}"`)
    .join(", ");

/**
 * The due rows a claim takes, oldest first, as one statement: the waiting rows (the predicate of
 * the partial indexes Outbox_due_channel_idx and Outbox_due_idx, written out as literals so the
 * planner can use them) whose time has come, read off the front of the index rather than found by
 * scanning and sorting the whole backlog. SKIP LOCKED lets two instances claim at once, each
 * taking other rows, and a row another claim changed meanwhile is checked again under its lock.
 * $1 is now, $2 how many; `channel` adds `channel = $3`.
 */
const due = (channel: boolean) => `
  select id, "nextAttemptAt" from "Outbox"
   where status in ('pending', 'failed') and "providerMessageId" is null
     and "nextAttemptAt" <= $1::timestamp${channel ? ' and "channel" = $3' : ""}
   order by "nextAttemptAt", id
   limit $2
   for update skip locked`;

/** Claims for sending (the relay): each row becomes `sending`, one more attempt, leased until $4 (or $3). */
const claim = (channel: boolean) => {
  const lease = channel ? "$4" : "$3";
  return `
  with due as (${due(channel)}),
  claimed as (
    update "Outbox" o
       set status = 'sending', attempts = o.attempts + 1, "nextAttemptAt" = ${lease}::timestamp, "updatedAt" = $1::timestamp
      from due where o.id = due.id
    returning ${outboxColumnList("o.")}, due."nextAttemptAt" as "dueAt")
  select ${outboxColumnList()} from claimed order by "dueAt", id`;
};

/** Hands to a queue (the BullMQ dispatcher): only the rows' time moves, to the lease's end. */
const take = (channel: boolean) => {
  const lease = channel ? "$4" : "$3";
  return `
  with due as (${due(channel)})
  update "Outbox" o set "nextAttemptAt" = ${lease}::timestamp, "updatedAt" = $1::timestamp
    from due where o.id = due.id
  returning o.id`;
};

export const CLAIM_DUE = statement<Outbox, [now: string, limit: number, leaseEnd: string]>(
  "Outbox.claimDue",
  claim(false),
  OUTBOX_COLUMNS,
);
export const CLAIM_DUE_OF_CHANNEL = statement<Outbox, [now: string, limit: number, channel: string, leaseEnd: string]>(
  "Outbox.claimDueOfChannel",
  claim(true),
  OUTBOX_COLUMNS,
);
export const TAKE_DUE = statement<{ id: number }, [now: string, limit: number, leaseEnd: string]>(
  "Outbox.takeDue",
  take(false),
  { id: true },
);
export const TAKE_DUE_OF_CHANNEL = statement<
  { id: number },
  [now: string, limit: number, channel: string, leaseEnd: string]
>("Outbox.takeDueOfChannel", take(true), { id: true });

/**
 * Claims one row by id whatever its schedule (the BullMQ worker, whose job's delay is the
 * schedule): only while it is still waiting, so a row already sent, dead or being sent elsewhere
 * comes back as no row. $2 is the lease's end, $3 now.
 */
export const CLAIM_ONE = statement<Outbox, [id: number, leaseEnd: string, now: string]>(
  "Outbox.claimOne",
  `
  update "Outbox" set status = 'sending', attempts = attempts + 1, "nextAttemptAt" = $2::timestamp, "updatedAt" = $3::timestamp
   where id = $1 and status in ('pending', 'failed') and "providerMessageId" is null
  returning ${outboxColumnList()}`,
  OUTBOX_COLUMNS,
);

// What became of a claimed send, one write each, fenced by the attempt the claim counted: a
// worker whose lease was taken over (the row claimed again meanwhile) changes nothing, and gets
// no row back.
const fenced = (set: string) => `
  update "Outbox" set ${set}
   where id = $1 and status = 'sending' and attempts = $2
  returning id`;

/** The provider took it ($3 sent or logged, by channel $4): never sent again. A null id keeps the one stored. */
export const RECORD_SENT = statement<
  { id: number },
  [id: number, attempt: number, status: string, channel: string, providerMessageId: string | null, at: string]
>(
  "Outbox.recordSent",
  fenced(`status = $3, "channel" = $4, "providerMessageId" = coalesce($5::text, "providerMessageId"),
         "lastError" = null, "sentAt" = $6::timestamp, "updatedAt" = $6::timestamp`),
  { id: true },
);

/** Not sent this time: due again at $4. */
export const RETRY_LATER = statement<
  { id: number },
  [id: number, attempt: number, error: string, nextAttemptAt: string, now: string]
>(
  "Outbox.retryLater",
  fenced(`status = 'failed', "lastError" = $3, "nextAttemptAt" = $4::timestamp, "updatedAt" = $5::timestamp`),
  { id: true },
);

/** Given up (a permanent error, or too many attempts): a dead letter. */
export const GIVE_UP = statement<{ id: number }, [id: number, attempt: number, error: string, now: string]>(
  "Outbox.giveUp",
  fenced(`status = 'dead', "lastError" = $3, "updatedAt" = $4::timestamp`),
  { id: true },
);
