import { type NoRow, statement } from "./statement.js";

// TelegramUpdate's statements. Owner: bot/update-ledger.ts (UpdateLedger).

// Long polling: the id only (getUpdates' offset is the queue there); the update is handled at once.
export const ADMIT = statement<{ taken: number }, [updateId: string, receivedAt: string]>(
  "TelegramUpdate.admit",
  `
  insert into "TelegramUpdate" ("updateId", "receivedAt") values ($1::bigint, $2::timestamp)
  on conflict ("updateId") do nothing returning 1 as taken`,
  { taken: true },
);

/**
 * What RECORD returns: `taken` for a new update, and what the bot would otherwise ask in a
 * statement of its own for every update, read in the same round trip as of the moment it is
 * recorded: the Staff row linked to the sender (s… columns, null when none) and whether a rating
 * comment is awaited from them (asked only for a text message that may be one).
 */
export interface RecordRow {
  taken: number;
  sId: number | null;
  sFullName: string | null;
  sRole: string | null;
  sDistrictId: number | null;
  sLocale: string | null;
  sActive: boolean | null;
  commentOpen: boolean;
}

// Webhook: the update recorded with its payload and this process's lease before Telegram is
// answered, so a death after the answer loses nothing; a redelivered id inserts nothing (and
// returns no row). The same round trip marks the updates handled since the last statement (see
// FINISH) and reads the sender's staff link and open comment window (RecordRow).
export const RECORD = statement<
  RecordRow,
  [
    updateId: string,
    receivedAt: string,
    chatId: string | null,
    payload: string,
    leaseUntil: string,
    finishedIds: string[],
    senderId: string | null,
    commentFrom: string | null,
  ]
>(
  "TelegramUpdate.record",
  `
  with finished as (
    update "TelegramUpdate" set "handledAt" = $2::timestamp, "payload" = null, "leaseUntil" = null
    where "updateId" = any($6::bigint[]) and "handledAt" is null),
  recorded as (
    insert into "TelegramUpdate" ("updateId", "receivedAt", "chatId", "payload", "leaseUntil")
    values ($1::bigint, $2::timestamp, $3::bigint, $4::jsonb, $5::timestamp)
    on conflict ("updateId") do nothing returning 1 as taken)
  select r.taken, s.id as "sId", s."fullName" as "sFullName", s.role as "sRole",
    s."districtId" as "sDistrictId", s.locale as "sLocale", s.active as "sActive",
    exists (
      select 1 from "Feedback" f join "Citizen" c on c.id = f."citizenId"
      where c."telegramUserId" = $8::bigint and f."commentUntil" > $2::timestamp and f.comment is null
    ) as "commentOpen"
  from recorded r left join "Staff" s on s."telegramUserId" = $7::bigint`,
  {
    taken: true,
    sId: true,
    sFullName: true,
    sRole: true,
    sDistrictId: true,
    sLocale: true,
    sActive: true,
    commentOpen: true,
  },
);

// Handled: the payload (names, phone numbers, what was typed) goes at once; the id stays for dedup.
export const FINISH = statement<NoRow, [updateIds: string[], handledAt: string]>(
  "TelegramUpdate.finish",
  `
  update "TelegramUpdate" set "handledAt" = $2::timestamp, "payload" = null, "leaseUntil" = null
  where "updateId" = any($1::bigint[]) and "handledAt" is null`,
  {},
);

// The updates this process is still handling keep their lease.
export const RENEW = statement<NoRow, [updateIds: string[], leaseUntil: string]>(
  "TelegramUpdate.renew",
  `
  update "TelegramUpdate" set "leaseUntil" = $2::timestamp
  where "updateId" = any($1::bigint[]) and "handledAt" is null`,
  {},
);

// Recorded but never handled, their lease run out (the process died): taken over by exactly one
// process (the conditional update under skip locked), oldest first.
export const CLAIM_STALE = statement<
  { updateId: string; payload: unknown },
  [now: string, leaseUntil: string, limit: number]
>(
  "TelegramUpdate.claimStale",
  `
  update "TelegramUpdate" set "leaseUntil" = $2::timestamp
  where "updateId" in (
    select "updateId" from "TelegramUpdate"
    where "handledAt" is null and "payload" is not null and "leaseUntil" < $1::timestamp
    order by "updateId" limit $3 for update skip locked)
  and "handledAt" is null and "leaseUntil" < $1::timestamp
  returning "updateId"::text as "updateId", "payload"`,
  { updateId: true, payload: true },
);

export const FORGET = statement<NoRow, [before: string]>(
  "TelegramUpdate.forget",
  `delete from "TelegramUpdate" where "receivedAt" < $1::timestamp and "payload" is null`,
  {},
);
