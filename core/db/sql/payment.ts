import { statement } from "./statement.js";

// Payment's plain-SQL statements. Owners: core/services/payments.ts (the citizen's overview) and
// core/services/imports/payments.ts (the register's batches).

/** A payment already imported: what a re-sent row is compared with. */
export interface ImportedRow {
  externalId: string;
  citizenId: number;
  cardId: number | null;
  benefitTypeId: number;
  amountTiyin: string;
  period: string;
  creditedMs: number;
}

export const IMPORTED = statement<ImportedRow, [externalIds: string[]]>(
  "Payment.imported",
  `
  select p."externalId", p."citizenId", p."cardId", p."benefitTypeId", p."amountTiyin"::text as "amountTiyin", p.period,
         (extract(epoch from p."creditedAt") * 1000)::float8 as "creditedMs"
    from "Payment" p where p."externalId" = any($1::text[])`,
  {
    externalId: true,
    citizenId: true,
    cardId: true,
    benefitTypeId: true,
    amountTiyin: true,
    period: true,
    creditedMs: true,
  },
);

export interface OverviewRow {
  cards: { maskedNumber: string; status: string }[] | string;
  payments: { uz: string; uzCyrl: string; ru: string; amount: string; period: string; creditedMs: number }[] | string;
}

/**
 * Cards and latest payments with their benefits' short names, in one statement: this is the
 * screen most people open on payment day, and each statement is a round trip and a plan.
 * Only what the register links to the caller is shown: cards come only from the register, and a
 * payment shows when the caller is a beneficiary of the register (its phone) or it was paid to
 * one of the caller's cards, so nothing a caller typed (a claimed PINFL) can reveal a payment.
 */
export const OVERVIEW = statement<OverviewRow, [citizenId: number, limit: number]>(
  "Payment.overview",
  `
  select
    coalesce((select json_agg(json_build_object('maskedNumber', c."maskedNumber", 'status', c.status) order by c.id desc)
                from "SocialCard" c where c."citizenId" = $1), '[]'::json) as cards,
    coalesce((select json_agg(json_build_object(
                       'uz', b."shortUz", 'uzCyrl', b."shortUzCyrl", 'ru', b."shortRu",
                       'amount', p."amountTiyin"::text, 'period', p.period,
                       'creditedMs', (extract(epoch from p."creditedAt") * 1000)::float8)
                     order by p."creditedAt" desc, p.id desc)
                from (select * from "Payment" p where p."citizenId" = $1
                         and (exists (select 1 from "Citizen" me where me.id = $1 and me."externalId" is not null)
                              or exists (select 1 from "SocialCard" k where k.id = p."cardId" and k."citizenId" = $1))
                       order by "creditedAt" desc, id desc limit $2) p
                join "BenefitType" b on b.id = p."benefitTypeId"), '[]'::json) as payments`,
  { cards: true, payments: true },
);

/**
 * A batch of payments, one set-based statement (unnest over column arrays); timestamps travel as
 * ISO strings and are stored as UTC, as Prisma stores them; an existing externalId is skipped.
 */
export const INSERT_BATCH = statement<
  { inserted: number },
  [
    externalIds: string[],
    citizenIds: number[],
    cardIds: (number | null)[],
    benefitTypeIds: number[],
    amountsTiyin: string[],
    periods: string[],
    creditedAt: string[],
  ]
>(
  "Payment.insertBatch",
  `
    WITH inserted AS (
    INSERT INTO "Payment" ("externalId", "citizenId", "cardId", "benefitTypeId", "amountTiyin", "period", "creditedAt")
    SELECT e, c, card, b, a, p, (t AT TIME ZONE 'UTC')
    FROM unnest(
      $1::text[],
      $2::int[],
      $3::int[],
      $4::int[],
      $5::bigint[],
      $6::text[],
      $7::timestamptz[]
    ) AS u(e, c, card, b, a, p, t)
    ON CONFLICT ("externalId") DO NOTHING
    RETURNING 1)
    SELECT count(*)::int AS inserted FROM inserted`,
  { inserted: true },
);
