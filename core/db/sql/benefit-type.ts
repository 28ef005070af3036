import { statement } from "./statement.js";

// BenefitType's plain-SQL statements. Owner: core/services/contacts.ts (start dates, offered or not).

export const LOCK_BY_CODE = statement<{ id: number }, [code: string]>(
  "BenefitType.lockByCode",
  `SELECT id FROM "BenefitType" WHERE code = $1 FOR UPDATE`,
  { id: true },
);
