import { type NoRow, statement } from "./statement.js";

// Application's plain-SQL statements. Owner: core/services/applications.ts (ApplicationService).

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

/** Serialises one citizen's submissions until the transaction ends. */
export const LOCK_CITIZEN_SUBMISSIONS = statement<NoRow, [citizenId: number]>(
  "Application.lockCitizenSubmissions",
  `select pg_advisory_xact_lock(1, $1)`,
  {},
);

