import { LOCK_COLUMNS, type LockRow, statement } from "./statement.js";

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

/** Serialises one citizen's submissions until the transaction ends. */
export const LOCK_CITIZEN_SUBMISSIONS = statement<LockRow, [citizenId: number]>(
  "Application.lockCitizenSubmissions",
  `select pg_advisory_xact_lock(1, $1)`,
  LOCK_COLUMNS,
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
