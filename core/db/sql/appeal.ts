import { statement } from "./statement.js";

// Appeal's plain-SQL statements. Owner: core/opendata/source.ts (open data reads).

export interface AppealOpenDataRow {
  id: number;
  citizenId: number;
  districtId: number | null;
  status: string;
  createdAt: Date | string;
}

/** Appeals after id $1 (keyset page of $2), with the district of the citizen's mahalla. */
export const OPEN_DATA_PAGE = statement<AppealOpenDataRow, [afterId: number, limit: number]>(
  "Appeal.openDataPage",
  `
          select p.id, p."citizenId", m."districtId", p.status, p."createdAt"
          from "Appeal" p
          join "Citizen" c on c.id = p."citizenId"
          left join "Mahalla" m on m.id = c."mahallaId"
          where p.id > $1 order by p.id limit $2`,
  { id: true, citizenId: true, districtId: true, status: true, createdAt: true },
);
