import type { JsonValue } from "../../domain/vocabulary.js";
import { type NoRow, statement } from "./statement.js";

/*
 * ConversationSession's statements. Owner, and the table's only writer: core/engine/session-store.ts
 * (the citizen conversation's lease-held steps, the staff chat's state and the USSD gateway's
 * session-end notice all go through it; test/sql-schema.test.ts checks nothing else imports this).
 * Json columns are typed as what the database holds, JSON (text when a driver does not parse it);
 * the session store gives them their shape.
 */

/** A claimed session with the caller's citizen (c…), in one row. */
export interface ClaimRow {
  claimed: boolean;
  citizenId: number | null;
  /** Null when there is no session (the row then carries only the phone's citizen). */
  state: JsonValue | string;
  stepCount: number;
  lastScreen: JsonValue | string;
  expiresMs: number;
  cId: number | null;
  cPhone: string | null;
  cTelegramUserId: string | null;
  cTelegramChatId: string | null;
  cPinfl: string | null;
  cFullName: string | null;
  cLocale: string | null;
  cMahallaId: number | null;
  /** USSD only: the citizen has a rating question not yet offered on USSD (core/flows/rating.ts). */
  cQuestionOpen: boolean;
}

/**
 * Claims the session row for one step and reads it with the caller's citizen, in one statement. A
 * missing row is created as a placeholder (state json null, no screen) so that the first step of a
 * session is held like any other; a row whose lease is held and not yet run out is left alone, and
 * `claimed` is false, unless the lease is $6: one this process took and could not give back. Lease times are the database's clock: instances (and a test's fake clock)
 * need not agree on the time.
 *
 * The claim commits without waiting for its WAL to reach the disk (`synchronous_commit` off for
 * this statement's own transaction only): a lease lost in a crash is one nobody holds, since the
 * steps holding it lose their connections with the server, and a placeholder row lost is made
 * again by the next claim. The step's save, what the citizen is told, commits durably, and its
 * flush carries the claim's record with it. A step waits for one flush instead of two (its effect
 * on the paced p99: BENCHMARKS.md).
 */
export const CLAIM = statement<
  ClaimRow,
  [
    channel: string,
    sessionKey: string,
    phone: string | null,
    lease: string,
    leaseSeconds: number,
    abandoned: string | null,
  ]
>(
  "ConversationSession.claim",
  `
  with claimed as (
    insert into "ConversationSession"
      (channel, "sessionKey", state, "stepCount", "expiresAt", "createdAt", "updatedAt", "leaseToken", "leaseUntil")
    values ($1, $2, 'null'::json, 0, now() at time zone 'UTC', now() at time zone 'UTC', now() at time zone 'UTC',
            $4, clock_timestamp() at time zone 'UTC' + make_interval(secs => $5))
    on conflict (channel, "sessionKey") do update set
      "leaseToken" = excluded."leaseToken", "leaseUntil" = excluded."leaseUntil"
      where "ConversationSession"."leaseUntil" is null
         or "ConversationSession"."leaseUntil" < clock_timestamp() at time zone 'UTC'
         or "ConversationSession"."leaseToken" = $6
    returning "citizenId", state, "stepCount", "lastScreen", "expiresAt"
  )
  select (s."stepCount" is not null) as claimed,
         s."citizenId", s.state, s."stepCount", s."lastScreen",
         (extract(epoch from s."expiresAt") * 1000)::float8 as "expiresMs",
         c.id as "cId", c.phone as "cPhone", c."telegramUserId"::text as "cTelegramUserId",
         c."telegramChatId"::text as "cTelegramChatId", c.pinfl as "cPinfl", c."fullName" as "cFullName",
         c.locale as "cLocale", c."mahallaId" as "cMahallaId",
         ($1 = 'ussd' and exists (select 1 from "Feedback" f
            where f."citizenId" = c.id and f.score is null and f."ussdOfferedAt" is null)) as "cQuestionOpen"
    from (select set_config('synchronous_commit', 'off', true)) as one
    left join claimed s on true
    left join "Citizen" c on c.id = coalesce(s."citizenId", (select id from "Citizen" where phone = $3))`,
  {
    claimed: true,
    citizenId: true,
    state: true,
    stepCount: true,
    lastScreen: true,
    expiresMs: true,
    cId: true,
    cPhone: true,
    cTelegramUserId: true,
    cTelegramChatId: true,
    cPinfl: true,
    cFullName: true,
    cLocale: true,
    cMahallaId: true,
    cQuestionOpen: true,
  },
);

export const RELEASE = statement<NoRow, [channel: string, sessionKey: string, lease: string]>(
  "ConversationSession.release",
  `
  update "ConversationSession" set "leaseToken" = null, "leaseUntil" = null
   where channel = $1 and "sessionKey" = $2 and "leaseToken" = $3`,
  {},
);

// A scan rather than an index: an index on expiresAt would cost every step's write more than an
// hourly scan costs (see schema.prisma).
export const PURGE = statement<{ count: number }, [before: string]>(
  "ConversationSession.purgeExpired",
  `
  with gone as (delete from "ConversationSession" where "expiresAt" < $1::timestamp returning 1)
  select count(*)::int as count from gone`,
  { count: true },
);

/** The step's outcome, written only by the request holding the lease, which it gives up. */
export const SAVE = statement<
  { saved: number },
  [
    channel: string,
    sessionKey: string,
    citizenId: number | null,
    state: string,
    steps: number,
    lastScreen: string,
    expiresAt: string,
    updatedAt: string,
    lease: string,
  ]
>(
  "ConversationSession.save",
  `
  update "ConversationSession" set
    "citizenId" = $3, state = $4::json, "stepCount" = $5, "lastScreen" = $6::json,
    "expiresAt" = $7::timestamp, "updatedAt" = $8::timestamp, "leaseToken" = null, "leaseUntil" = null
   where channel = $1 and "sessionKey" = $2 and "leaseToken" = $9
  returning 1 as saved`,
  { saved: true },
);

/** A row's state as it is, lease or no lease (the staff chat's mode and pending note). */
export const READ_STATE = statement<{ state: JsonValue | string }, [channel: string, sessionKey: string]>(
  "ConversationSession.readState",
  `select state from "ConversationSession" where channel = $1 and "sessionKey" = $2`,
  { state: true },
);

/**
 * Writes a row's state and expiry whoever holds its lease, creating the row if need be: for rows
 * no step is ever claimed on (the staff chat's), as Prisma's upsert wrote them before.
 */
export const WRITE_STATE = statement<
  NoRow,
  [channel: string, sessionKey: string, state: string, expiresAt: string, updatedAt: string]
>(
  "ConversationSession.writeState",
  `
  insert into "ConversationSession" (channel, "sessionKey", state, "stepCount", "expiresAt", "createdAt", "updatedAt")
  values ($1, $2, $3::json, 0, $4::timestamp, $5::timestamp, $5::timestamp)
  on conflict (channel, "sessionKey") do update set
    state = excluded.state, "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`,
  {},
);

/** How the gateway says a session ended, on its row (none: the row is not there). */
export const RECORD_END = statement<
  { ended: number },
  [channel: string, sessionKey: string, endedAt: string, endStatus: string | null, endInfo: string, updatedAt: string]
>(
  "ConversationSession.recordEnd",
  `
  update "ConversationSession" set
    "endedAt" = $3::timestamp, "endStatus" = $4, "endInfo" = $5::jsonb, "updatedAt" = $6::timestamp
   where channel = $1 and "sessionKey" = $2
  returning 1 as ended`,
  { ended: true },
);

/**
 * The end notice of a session kept outside this table (USSD sessions in Redis): its row is written
 * then, with the screen it ended on, so monitoring sees every session's end in one place. The row
 * holds no state (json null) and expires at once, going with the next purge.
 */
export const RECORD_KEPT_END = statement<
  NoRow,
  [
    channel: string,
    sessionKey: string,
    citizenId: number | null,
    steps: number,
    lastScreen: string,
    endedAt: string,
    endStatus: string | null,
    endInfo: string,
  ]
>(
  "ConversationSession.recordKeptEnd",
  `
  insert into "ConversationSession"
    (channel, "sessionKey", "citizenId", state, "stepCount", "lastScreen", "expiresAt", "createdAt", "updatedAt",
     "endedAt", "endStatus", "endInfo")
  values ($1, $2, $3, 'null'::json, $4, $5::json, $6::timestamp, $6::timestamp, $6::timestamp,
          $6::timestamp, $7, $8::jsonb)
  on conflict (channel, "sessionKey") do update set
    "endedAt" = excluded."endedAt", "endStatus" = excluded."endStatus", "endInfo" = excluded."endInfo",
    "lastScreen" = excluded."lastScreen", "stepCount" = excluded."stepCount", "updatedAt" = excluded."updatedAt"`,
  {},
);
