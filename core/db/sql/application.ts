import { OUTBOX_ROWS_INSERT, type OutboxRowParams } from "./outbox.js";
import { statement } from "./statement.js";

// Application's plain-SQL statements. Owners: core/services/applications.ts (ApplicationService) and
// core/opendata/source.ts (open data reads).

// The status screens are the second busiest on payment day: plain SQL, one statement each.
const SUMMARY_COLUMNS = `
  a.reference, a.status, b."nameUz", b."nameUzCyrl", b."nameRu",
  (extract(epoch from a."submittedAt") * 1000)::float8 as "submittedMs"`;

export interface SummaryRow {
  reference: string;
  status: string;
  nameUz: string;
  nameUzCyrl: string;
  nameRu: string;
  submittedMs: number;
}

export interface DetailsRow extends SummaryRow {
  statusReason: string | null;
  decidedMs: number | null;
  history: { status: string; reason: string | null; atMs: number }[] | string;
}

const summaryColumns = {
  reference: true,
  status: true,
  nameUz: true,
  nameUzCyrl: true,
  nameRu: true,
  submittedMs: true,
} as const;

export const LIST = statement<SummaryRow, [citizenId: number, limit: number]>(
  "Application.list",
  `
  select ${SUMMARY_COLUMNS}
    from "Application" a join "BenefitType" b on b.id = a."benefitTypeId"
   where a."citizenId" = $1
   order by a."submittedAt" desc, a.id desc
   limit $2`,
  summaryColumns,
);

export const DETAILS = statement<DetailsRow, [citizenId: number, reference: string]>(
  "Application.details",
  `
  select ${SUMMARY_COLUMNS}, a."statusReason",
         (extract(epoch from a."decidedAt") * 1000)::float8 as "decidedMs",
         coalesce((select json_agg(json_build_object(
                            'status', h."toStatus", 'reason', h.reason,
                            'atMs', (extract(epoch from h."createdAt") * 1000)::float8)
                          order by h."createdAt", h.id)
                     from "ApplicationStatusChange" h where h."applicationId" = a.id), '[]'::json) as history
    from "Application" a join "BenefitType" b on b.id = a."benefitTypeId"
   where a."citizenId" = $1 and a.reference = $2`,
  { ...summaryColumns, statusReason: true, decidedMs: true, history: true },
);

/**
 * The citizen's open application for a benefit (statuses $3, OPEN_APPLICATION_STATUSES): asked
 * when a benefit is chosen in the apply flow, so plain SQL like the status screens.
 */
export const OPEN_FOR = statement<
  { reference: string },
  [citizenId: number, benefitTypeId: number, statuses: string[]]
>(
  "Application.openFor",
  `
  select a.reference from "Application" a
   where a."citizenId" = $1 and a."benefitTypeId" = $2 and a.status = any($3::text[])
   limit 1`,
  { reference: true },
);

export interface SubmissionHeldRow {
  phone: string | null;
  telegramChatId: string | null;
  locale: string | null;
  nameUz: string | null;
  nameUzCyrl: string | null;
  nameRu: string | null;
}

/**
 * The first statement of a submission: serialises citizen $1's submissions until the transaction
 * ends (the lock is taken whether or not the rows below exist), and in the same round trip reads
 * who is told (the citizen's phone, Telegram chat, language) and the names of benefit $2 for the
 * notification. The checks cannot ride in this statement: its snapshot predates the lock, so it
 * would not see an application the previous holder committed.
 */
export const HOLD_FOR_SUBMISSION = statement<SubmissionHeldRow, [citizenId: number, benefitTypeId: number]>(
  "Application.holdForSubmission",
  `
  select c.phone, c."telegramChatId"::text as "telegramChatId", c.locale, b."nameUz", b."nameUzCyrl", b."nameRu"
    from (select pg_advisory_xact_lock(1, $1::int)) held
    left join "Citizen" c on c.id = $1::int
    left join "BenefitType" b on b.id = $2::int`,
  { phone: true, telegramChatId: true, locale: true, nameUz: true, nameUzCyrl: true, nameRu: true },
);

export interface SubmitRow {
  openReference: string | null;
  recent: number;
  created: boolean;
}

/**
 * The rest of a submission, under HOLD_FOR_SUBMISSION's lock, in one statement (a fresh snapshot:
 * it sees every application the lock's previous holder committed). Refused when citizen $1 has an
 * open application (statuses $3) for benefit $2 (its reference comes back) or at least $9
 * submitted since $4 minus a day; otherwise the application (reference $5, answers $6, channel
 * $7, locale $8, at $4), its first history row, the deletion of the apply draft and the
 * notification (OutboxRowParams from $10) are written together. Nothing is written when refused.
 * A taken reference fails the statement with a unique violation (withFreshReference tries again).
 */
export const SUBMIT = statement<
  SubmitRow,
  [
    citizenId: number,
    benefitTypeId: number,
    openStatuses: string[],
    now: string,
    reference: string,
    answers: string,
    channel: string,
    locale: string,
    maxPerDay: number,
    ...notification: OutboxRowParams,
  ]
>(
  "Application.submit",
  `
  with open as (
    select a.reference from "Application" a
     where a."citizenId" = $1::int and a."benefitTypeId" = $2::int and a.status = any($3::text[])
     limit 1),
  recent as (
    select count(*)::int as n from "Application" a
     where a."citizenId" = $1::int and a."submittedAt" >= $4::timestamp - interval '1 day'),
  app as (
    insert into "Application" ("reference", "citizenId", "benefitTypeId", "answers", "status", "channel", "locale",
      "submittedAt", "updatedAt")
    select $5::text, $1::int, $2::int, $6::jsonb, 'submitted', $7::text, $8::text, $4::timestamp, $4::timestamp
     where not exists (select 1 from open) and (select n from recent) < $9::int
    returning id),
  history as (
    insert into "ApplicationStatusChange" ("applicationId", "toStatus", "actor", "createdAt")
    select id, 'submitted', 'citizen', $4::timestamp from app),
  drafts as (
    delete from "Draft" d where d."citizenId" = $1::int and d.kind = 'apply' and exists (select 1 from app)),
  notice as (${OUTBOX_ROWS_INSERT([[10, "app"]])})
  select (select reference from open) as "openReference", (select n from recent) as "recent",
         exists (select 1 from app) as "created"`,
  { openReference: true, recent: true, created: true },
);

export interface ApplicationOpenDataRow {
  id: number;
  citizenId: number;
  districtId: number | null;
  benefitTypeId: number;
  status: string;
  channel: string;
  locale: string | null;
  submittedAt: Date | string;
  decidedAt: Date | string | null;
}

/**
 * Applications after id $1 (keyset page of $2) for core/opendata/source.ts, with the district of
 * the citizen's mahalla: no names, phones, PINFLs or references.
 */
export const OPEN_DATA_PAGE = statement<ApplicationOpenDataRow, [afterId: number, limit: number]>(
  "Application.openDataPage",
  `
          select a.id, a."citizenId", m."districtId", a."benefitTypeId", a.status, a.channel, a.locale,
                 a."submittedAt", a."decidedAt"
          from "Application" a
          join "Citizen" c on c.id = a."citizenId"
          left join "Mahalla" m on m.id = c."mahallaId"
          where a.id > $1 order by a.id limit $2`,
  {
    id: true,
    citizenId: true,
    districtId: true,
    benefitTypeId: true,
    status: true,
    channel: true,
    locale: true,
    submittedAt: true,
    decidedAt: true,
  },
);
