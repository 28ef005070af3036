import { statement } from "./statement.js";

// District's plain-SQL statements. Owner: core/services/contacts.ts (the "Inson" centre's contacts).

export const LOCK_BY_CODE = statement<{ id: number }, [code: string]>(
  "District.lockByCode",
  `SELECT id FROM "District" WHERE code = $1 FOR UPDATE`,
  { id: true },
);
