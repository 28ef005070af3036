import { jsonColumn, type SqlExecutor } from "../db/adapters.js";
import { CLEAR, GET, PURGE_UNTOUCHED, SAVE } from "../db/sql/draft.js";
import { run } from "../db/sql/statement.js";
import type { FlowData } from "../domain/vocabulary.js";

export type DraftKind = "apply";

/** Unfinished forms, kept apart from sessions so they outlive a dropped USSD call. */
export class DraftService {
  constructor(private readonly sql: SqlExecutor) {}

  async get(citizenId: number, kind: DraftKind): Promise<FlowData | null> {
    const [row] = await run(this.sql, GET, [citizenId, kind]);
    return row ? (jsonColumn(row.data) as FlowData) : null;
  }

  async save(citizenId: number, kind: DraftKind, data: FlowData): Promise<void> {
    await run(this.sql, SAVE, [citizenId, kind, JSON.stringify(data)]);
  }

  async clear(citizenId: number, kind: DraftKind): Promise<void> {
    await run(this.sql, CLEAR, [citizenId, kind]);
  }

  /** Deletes every draft (of any citizen) last touched before `before`; returns how many went. */
  async purgeUntouchedSince(before: Date): Promise<number> {
    const [row] = await run(this.sql, PURGE_UNTOUCHED, [before.toISOString()]);
    return row?.count ?? 0;
  }
}
