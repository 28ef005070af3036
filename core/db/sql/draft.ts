import type { JsonValue } from "../../domain/vocabulary.js";
import { type NoRow, statement } from "./statement.js";

// Draft's statements. Owner: core/services/drafts.ts (DraftService), which also purges them.
// Every answer of the apply flow saves the draft: plain SQL, one statement each.

export const GET = statement<{ data: JsonValue | string }, [citizenId: number, kind: string]>(
  "Draft.get",
  `select data from "Draft" where "citizenId" = $1 and kind = $2`,
  { data: true },
);

export const SAVE = statement<NoRow, [citizenId: number, kind: string, data: string]>(
  "Draft.save",
  `
  insert into "Draft" ("citizenId", kind, data, "updatedAt") values ($1, $2, $3::jsonb, now() at time zone 'UTC')
  on conflict ("citizenId", kind) do update set data = excluded.data, "updatedAt" = excluded."updatedAt"`,
  {},
);

export const CLEAR = statement<NoRow, [citizenId: number, kind: string]>(
  "Draft.clear",
  `delete from "Draft" where "citizenId" = $1 and kind = $2`,
  {},
);

/**
 * Unfinished forms nobody has touched for the period: what was typed into them (addresses, PINFL
 * claims, household details) has no use once the person has clearly moved on.
 */
export const PURGE_UNTOUCHED = statement<{ count: number }, [before: string]>(
  "Draft.purgeUntouched",
  `
  with gone as (delete from "Draft" where "updatedAt" < $1::timestamp returning 1)
  select count(*)::int as count from gone`,
  { count: true },
);
