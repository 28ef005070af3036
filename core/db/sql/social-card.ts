import { statement } from "./statement.js";

// SocialCard's plain-SQL statements. Owner: core/services/imports/payments.ts (a payment batch's cards).

export interface CardRow {
  id: number;
  externalId: string;
  citizenId: number;
}

export const BY_EXTERNAL_IDS = statement<CardRow, [externalIds: string[]]>(
  "SocialCard.byExternalIds",
  `select id, "externalId", "citizenId" from "SocialCard" where "externalId" = any($1::text[])`,
  { id: true, externalId: true, citizenId: true },
);
