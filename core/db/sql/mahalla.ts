import { statement } from "./statement.js";

// Mahalla's plain-SQL statements. Owner: core/opendata/source.ts (the open data's denominators).

export interface HouseholdsRow {
  districtId: number;
  mahallas: bigint;
  counted: bigint;
  households: bigint | null;
}

/** Active mahallas per district, how many of them have a household count, and its sum. */
export const HOUSEHOLDS_BY_DISTRICT = statement<HouseholdsRow, []>(
  "Mahalla.householdsByDistrict",
  `
          select "districtId", count(*) as mahallas, count("households") as counted, sum("households") as households
          from "Mahalla" where active group by "districtId"`,
  { districtId: true, mahallas: true, counted: true, households: true },
);
