import { type NoRow, statement } from "./statement.js";

// ServiceContact's plain-SQL statements. Owner: core/services/contacts.ts (the one row the agency edits).

/** Creates the one ServiceContact row ($1 = its id) if it is not there yet. */
export const ENSURE_SINGLETON = statement<NoRow, [id: number]>(
  "ServiceContact.ensureSingleton",
  `INSERT INTO "ServiceContact" (id, "updatedAt") VALUES ($1, now()) ON CONFLICT (id) DO NOTHING`,
  {},
);

export const LOCK_SINGLETON = statement<{ id: number }, [id: number]>(
  "ServiceContact.lockSingleton",
  `SELECT id FROM "ServiceContact" WHERE id = $1 FOR UPDATE`,
  { id: true },
);
