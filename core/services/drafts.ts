import { jsonColumn, type SqlExecutor } from "../db/adapters.js";
import type { FlowData } from "../domain/vocabulary.js";

export type DraftKind = "apply";

// Every answer of the apply flow saves the draft: plain SQL, one statement each.
const GET_SQL = `select data from "Draft" where "citizenId" = $1 and kind = $2`;
const SAVE_SQL = `
  insert into "Draft" ("citizenId", kind, data, "updatedAt") values ($1, $2, $3::jsonb, now() at time zone 'UTC')
  on conflict ("citizenId", kind) do update set data = excluded.data, "updatedAt" = excluded."updatedAt"`;
const CLEAR_SQL = `delete from "Draft" where "citizenId" = $1 and kind = $2`;

/** Unfinished forms, kept apart from sessions so they outlive a dropped USSD call. */
export class DraftService {
  constructor(private readonly sql: SqlExecutor) {}

  async get(citizenId: number, kind: DraftKind): Promise<FlowData | null> {
    const [row] = await this.sql.query<{ data: FlowData | string }>(GET_SQL, [citizenId, kind]);
    return row ? jsonColumn(row.data) : null;
  }

  async save(citizenId: number, kind: DraftKind, data: FlowData): Promise<void> {
    await this.sql.query(SAVE_SQL, [citizenId, kind, JSON.stringify(data)]);
  }

  async clear(citizenId: number, kind: DraftKind): Promise<void> {
    await this.sql.query(CLEAR_SQL, [citizenId, kind]);
  }
}
