import { type NoRow, statement } from "./statement.js";

// TelegramUpdate's statements. Owner: bot/update-ledger.ts (UpdateLedger).

// Every update runs the first statement: plain SQL.
export const ADMIT = statement<{ taken: number }, [updateId: string, receivedAt: string]>(
  "TelegramUpdate.admit",
  `
  insert into "TelegramUpdate" ("updateId", "receivedAt") values ($1::bigint, $2::timestamp)
  on conflict ("updateId") do nothing returning 1 as taken`,
  { taken: true },
);

export const FORGET = statement<NoRow, [before: string]>(
  "TelegramUpdate.forget",
  `delete from "TelegramUpdate" where "receivedAt" < $1::timestamp`,
  {},
);
