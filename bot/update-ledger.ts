import type { SqlExecutor } from "../core/db/adapters.js";
import { run } from "../core/db/sql/statement.js";
import { ADMIT, FORGET } from "../core/db/sql/telegram-update.js";

const KEEP_DAYS = 7;

/**
 * Update ids taken in by any instance, in the TelegramUpdate table: Telegram redelivers an update
 * when our answer was slow or lost, possibly to another instance behind the load balancer.
 */
export class UpdateLedger {
  private taken = 0;

  constructor(
    private readonly sql: SqlExecutor,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** True the first time an update id is seen, false for every redelivery. */
  async admit(updateId: number): Promise<boolean> {
    const now = this.clock();
    const rows = await run(this.sql, ADMIT, [String(updateId), now.toISOString()]);
    // Telegram keeps an undelivered update for at most a day; a week of ids is plenty.
    if (++this.taken % 1000 === 0) {
      await run(this.sql, FORGET, [new Date(now.getTime() - KEEP_DAYS * 86_400_000).toISOString()]);
    }
    return rows.length === 1;
  }
}
