import { LOCK_COLUMNS, type LockRow, statement } from "./statement.js";

// Citizen's plain-SQL statements. Owners: core/services/identity.ts (identity conflicts),
// core/services/citizens.ts (the lookups of a citizen, whether a PINFL is known), core/reference/demo-activity.ts (the demo
// load's lock), core/engine/redis-session-store.ts (a conversation's citizen when the session
// itself is kept in Redis) and core/services/imports/payments.ts (a payment batch's beneficiaries).

/** A citizen one of a payment batch's rows names, and by which of its keys. */
export interface PaymentMatchRow {
  id: number;
  externalId: string | null;
  phone: string;
  pinfl: string | null;
  telegramChatId: string | null;
  locale: string | null;
  byExternalId: boolean;
  byPhone: boolean;
  byPinfl: boolean;
}

/**
 * The citizens a payment batch names, by any of its keys, in one statement: the register's
 * external id, the phone the register gave a beneficiary (a citizen without an external id is
 * not the register's), or the register's PINFL (never a claimed one, which is kept apart).
 */
export const PAYMENT_MATCHES = statement<PaymentMatchRow, [externalIds: string[], phones: string[], pinfls: string[]]>(
  "Citizen.paymentMatches",
  `
  select id, "externalId", phone, pinfl, "telegramChatId"::text as "telegramChatId", locale,
         coalesce("externalId" = any($1::text[]), false) as "byExternalId",
         coalesce("externalId" is not null and phone = any($2::text[]), false) as "byPhone",
         coalesce(pinfl = any($3::text[]), false) as "byPinfl"
    from "Citizen"
   where "externalId" = any($1::text[])
      or ("externalId" is not null and phone = any($2::text[]))
      or pinfl = any($3::text[])`,
  {
    id: true,
    externalId: true,
    phone: true,
    pinfl: true,
    telegramChatId: true,
    locale: true,
    byExternalId: true,
    byPhone: true,
    byPinfl: true,
  },
);

export interface ConflictRow {
  /** One of identity.ts's CONFLICT_KINDS (the case below yields nothing else). */
  kind: string;
  claimedPinfl: string;
  claimedAt: Date | null;
  id: number;
  phone: string;
  externalId: string | null;
  registerPinfl: string | null;
  holderId: number | null;
  holderExternalId: string | null;
  total: number;
}

/** One page of PINFL claims that need a person to look at them, with the number of them all. */
export const IDENTITY_CONFLICTS = statement<ConflictRow, [limit: number, offset: number]>(
  "Citizen.identityConflicts",
  `
    select k.*, count(*) over ()::int as total from (
      select c.id, c.phone, c."externalId", c.pinfl as "registerPinfl", c."claimedPinfl",
             c."pinflClaimedAt" as "claimedAt", h.id as "holderId", h."externalId" as "holderExternalId",
             case
               when h.id is not null then 'held_by_other'
               when c.pinfl is not null and c.pinfl <> c."claimedPinfl" then 'differs_from_register'
               when c.pinfl is null and exists (
                 select 1 from "Citizen" o
                  where o."claimedPinfl" = c."claimedPinfl" and o.id <> c.id and o.pinfl is null
               ) then 'claimed_by_several'
             end as kind
        from "Citizen" c
        left join "Citizen" h on h.pinfl = c."claimedPinfl" and h.id <> c.id
       where c."claimedPinfl" is not null
    ) k
    where k.kind is not null
    order by k."claimedAt" desc nulls last, k.id desc
    limit $1 offset $2`,
  {
    kind: true,
    claimedPinfl: true,
    claimedAt: true,
    id: true,
    phone: true,
    externalId: true,
    registerPinfl: true,
    holderId: true,
    holderExternalId: true,
    total: true,
  },
);

/** Two instances starting together on PostgreSQL take turns here (any constant bigint works). */
const DEMO_LOCK_KEY = 4_611_686_018_427_387_001n;

/** Holds the demo load (its check and its writes) until the transaction ends. */
export const LOCK_DEMO_ACTIVITY = statement<LockRow, []>(
  "Citizen.lockDemoActivity",
  `SELECT pg_advisory_xact_lock(${DEMO_LOCK_KEY})`,
  LOCK_COLUMNS,
);

/** A conversation's citizen (by id, else by phone) and whether a rating question waits for USSD. */
export interface SessionCitizenRow {
  cId: number | null;
  cPhone: string | null;
  cTelegramUserId: string | null;
  cTelegramChatId: string | null;
  cPinfl: string | null;
  cFullName: string | null;
  cLocale: string | null;
  cMahallaId: number | null;
  cQuestionOpen: boolean;
}

/**
 * What ConversationSession.claim reads besides the session, for a session kept elsewhere (the
 * Redis session store, core/engine/redis-session-store.ts): the citizen a session names, or the
 * one with the caller's phone, and (USSD) an open rating question, as one row that is all nulls
 * when there is no such citizen.
 */
export const SESSION_CITIZEN = statement<
  SessionCitizenRow,
  [channel: string, citizenId: number | null, phone: string | null]
>(
  "Citizen.sessionCitizen",
  `
  select c.id as "cId", c.phone as "cPhone", c."telegramUserId"::text as "cTelegramUserId",
         c."telegramChatId"::text as "cTelegramChatId", c.pinfl as "cPinfl", c."fullName" as "cFullName",
         c.locale as "cLocale", c."mahallaId" as "cMahallaId",
         ($1 = 'ussd' and exists (select 1 from "Feedback" f
            where f."citizenId" = c.id and f.score is null and f."ussdOfferedAt" is null)) as "cQuestionOpen"
    from (select 1) as one
    left join "Citizen" c on c.id = coalesce($2::int, (select id from "Citizen" where phone = $3))`,
  {
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

/**
 * Whether the citizen gave a PINFL, from the register or as a claim: asked when a benefit is
 * chosen in the apply flow and when an appeal starts, so plain SQL like the other flow reads.
 */
export const HAS_PINFL = statement<{ known: boolean }, [citizenId: number]>(
  "Citizen.hasPinfl",
  `select (c.pinfl is not null or c."claimedPinfl" is not null) as known from "Citizen" c where c.id = $1`,
  { known: true },
);

/** A citizen as CitizenService returns it (bigints as text: both drivers read them so). */
export interface CitizenRow {
  id: number;
  phone: string;
  telegramUserId: string | null;
  telegramChatId: string | null;
  pinfl: string | null;
  fullName: string | null;
  locale: string | null;
  mahallaId: number | null;
}

const CITIZEN_COLUMNS = `c.id, c.phone, c."telegramUserId"::text as "telegramUserId",
  c."telegramChatId"::text as "telegramChatId", c.pinfl, c."fullName", c.locale, c."mahallaId"`;

/** A citizen record's columns: the plain-SQL lookups' declaration, and the service's Prisma `select`. */
export const citizenColumns = {
  id: true,
  phone: true,
  telegramUserId: true,
  telegramChatId: true,
  pinfl: true,
  fullName: true,
  locale: true,
  mahallaId: true,
} as const;

/*
 * The lookups of one citizen: by phone for every SMS and every apology to a USSD caller (many at
 * once when the database is what is slow), by Telegram user for the bot, by id for the rest.
 */
export const BY_ID = statement<CitizenRow, [id: number]>(
  "Citizen.byId",
  `select ${CITIZEN_COLUMNS} from "Citizen" c where c.id = $1`,
  citizenColumns,
);

export const BY_PHONE = statement<CitizenRow, [phone: string]>(
  "Citizen.byPhone",
  `select ${CITIZEN_COLUMNS} from "Citizen" c where c.phone = $1`,
  citizenColumns,
);

export const BY_TELEGRAM = statement<CitizenRow, [telegramUserId: string]>(
  "Citizen.byTelegram",
  `select ${CITIZEN_COLUMNS} from "Citizen" c where c."telegramUserId" = $1::bigint`,
  citizenColumns,
);
