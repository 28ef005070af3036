import type { Staff } from "../../../generated/prisma/client.js";
import { statement } from "./statement.js";

// Staff's plain-SQL statements. Owner: core/services/staff-visits.ts (StaffVisitService).

/** A linked worker by Telegram user id: the columns as the schema types them. */
export type StaffRow = Pick<Staff, "id" | "fullName" | "role" | "districtId" | "locale" | "active">;

export const BY_TELEGRAM = statement<StaffRow, [telegramUserId: string]>(
  "Staff.byTelegram",
  `
  select id, "fullName", role, "districtId", locale, active from "Staff" where "telegramUserId" = $1::bigint`,
  { id: true, fullName: true, role: true, districtId: true, locale: true, active: true },
);
