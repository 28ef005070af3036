import type { Update } from "grammy/types";
import type { SqlExecutor } from "../core/db/adapters.js";
import { jsonColumn } from "../core/db/adapters.js";
import { run } from "../core/db/sql/statement.js";
import { ADMIT, CLAIM_STALE, FINISH, FORGET, RECORD, RENEW, type RecordRow } from "../core/db/sql/telegram-update.js";
import { type StaffMember, toMember } from "../core/services/staff-visits.js";

const KEEP_DAYS = 7;
/** How long a handled update's mark waits for the next record to ride with. */
const FINISH_DELAY_MS = 50;

/**
 * What the bot asks about the sender of every update, read with the update's record (one round
 * trip instead of three), as of the moment it was recorded.
 */
export interface SenderFacts {
  /** The Telegram user these facts are about. */
  userId: number;
  /** The active staff member linked to that account, null for none. */
  staff: StaffMember | null;
  /** A rating comment is awaited from them (false also when the update cannot be a comment). */
  commentOpen: boolean;
  /** When they were read (performance.now()): facts only stand in for a lookup while fresh. */
  readAt: number;
}

/** The sender of an update, whatever its kind (the `from` grammY reads; `user` for a poll answer). */
export function senderOf(update: Update): number | undefined {
  for (const value of Object.values(update)) {
    if (!value || typeof value !== "object") continue;
    const v = value as { from?: { id?: unknown }; user?: { id?: unknown } };
    const id = v.from?.id ?? v.user?.id;
    if (Number.isSafeInteger(id)) return id as number;
  }
  return undefined;
}

/** A text message that the rating side may take as a comment (a command never is one). */
const mayBeComment = (update: Update) => {
  const text = update.message?.text;
  return text !== undefined && !text.startsWith("/");
};

function factsOf(row: RecordRow, userId: number): SenderFacts {
  const staff =
    row.sId !== null && row.sActive === true
      ? toMember({
          id: row.sId,
          fullName: row.sFullName ?? "",
          role: row.sRole ?? "",
          districtId: row.sDistrictId ?? 0,
          locale: row.sLocale ?? "uz",
          active: true,
        })
      : null;
  return { userId, staff, commentOpen: row.commentOpen === true, readAt: performance.now() };
}

/**
 * Update ids taken in by any instance, in the TelegramUpdate table: Telegram redelivers an update
 * when our answer was slow or lost, possibly to another instance behind the load balancer. In
 * webhook mode the row also holds the update itself until it is handled, under a lease, so an
 * update answered but not yet handled when its process died is handled by the next one.
 */
export class UpdateLedger {
  private taken = 0;
  /** Ids handled since the last FINISH left, written together by the next one (see finish). */
  private finished: string[] = [];
  private finishing: Promise<void> | undefined;

  constructor(
    private readonly sql: SqlExecutor,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Long polling: true the first time an update id is seen, false for every redelivery. */
  async admit(updateId: number): Promise<boolean> {
    const now = this.clock();
    const rows = await run(this.sql, ADMIT, [String(updateId), now.toISOString()]);
    await this.forgetNowAndThen(now);
    return rows.length === 1;
  }

  /**
   * Webhook: records the update with a lease for this process. A new update (this process handles
   * it) comes back with its sender's facts, read in the same statement (none when it has no
   * sender); a redelivery (someone already has it) as undefined.
   */
  async record(
    update: Update,
    chatId: number | undefined,
    leaseSeconds: number,
  ): Promise<{ facts: SenderFacts | undefined } | undefined> {
    const now = this.clock();
    const sender = senderOf(update);
    // Marks waiting for the next statement ride along with this one.
    const finished = this.finished;
    this.finished = [];
    let rows: RecordRow[];
    try {
      rows = await run(this.sql, RECORD, [
        String(update.update_id),
        now.toISOString(),
        chatId === undefined ? null : String(chatId),
        storableJson(update),
        new Date(now.getTime() + leaseSeconds * 1000).toISOString(),
        finished,
        sender === undefined ? null : String(sender),
        sender !== undefined && mayBeComment(update) ? String(sender) : null,
      ]);
    } catch (err) {
      this.finished.unshift(...finished);
      throw err;
    }
    this.settle(finished, undefined);
    await this.forgetNowAndThen(now);
    const [row] = rows;
    if (!row) return undefined;
    return { facts: sender === undefined ? undefined : factsOf(row, sender) };
  }

  /** Waiters for marks, by update id: resolved once the mark is written (or failed). */
  private readonly marked = new Map<string, { resolve: () => void; reject: (err: unknown) => void }>();

  private settle(ids: string[], err: unknown) {
    for (const id of ids) {
      const waiter = this.marked.get(id);
      this.marked.delete(id);
      if (err === undefined) waiter?.resolve();
      else waiter?.reject(err);
    }
  }

  /**
   * Marks an update handled and blanks its payload: with the next update recorded, or on its own
   * after `FINISH_DELAY_MS` when none comes (then every id finished meanwhile goes in one
   * statement). Under load no statement of its own is needed; a death loses at most the marks of
   * that short while (those updates are handled again by the process that claims them).
   */
  finish(updateId: number): Promise<void> {
    const id = String(updateId);
    this.finished.push(id);
    const earlier = this.marked.get(id);
    const done = new Promise<void>((resolve, reject) =>
      this.marked.set(id, {
        resolve: () => {
          earlier?.resolve();
          resolve();
        },
        reject: (err) => {
          earlier?.reject(err);
          reject(err);
        },
      }),
    );
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.startFlush().catch(() => {});
    }, FINISH_DELAY_MS);
    return done;
  }

  private timer: NodeJS.Timeout | undefined;

  /** One flush at a time; the next starts once it has settled (never before it is assigned). */
  private startFlush(): Promise<void> {
    this.finishing ??= this.flush().finally(() => {
      this.finishing = undefined;
      // Ids that came in as it ended wait for no other update.
      if (this.finished.length > 0 && this.marked.size > 0) this.startFlush().catch(() => {});
    });
    return this.finishing;
  }

  private async flush(): Promise<void> {
    while (this.finished.length > 0) {
      const ids = this.finished;
      this.finished = [];
      try {
        await run(this.sql, FINISH, [ids, this.clock().toISOString()]);
      } catch (err) {
        // Kept for the next attempt (retryFinish): an update handled here is not handled again.
        this.finished.unshift(...ids.slice(0, 10_000 - this.finished.length));
        this.settle(ids, err);
        throw err;
      }
      this.settle(ids, undefined);
    }
  }

  /** Writes the marks a failed FINISH left behind (called with the lease renewals). */
  retryFinish(): Promise<void> {
    if (this.finished.length === 0) return Promise.resolve();
    return this.startFlush();
  }

  /** Ids handled here whose mark has not reached the database yet. */
  unfinished(): number[] {
    return this.finished.map(Number);
  }

  async renew(updateIds: number[], leaseSeconds: number): Promise<void> {
    if (updateIds.length === 0) return;
    const until = new Date(this.clock().getTime() + leaseSeconds * 1000);
    await run(this.sql, RENEW, [updateIds.map(String), until.toISOString()]);
  }

  /** Updates whose lease ran out unhandled, now leased to this process, oldest first. */
  async claimStale(leaseSeconds: number, limit = 100): Promise<Update[]> {
    const now = this.clock();
    const until = new Date(now.getTime() + leaseSeconds * 1000);
    const rows = await run(this.sql, CLAIM_STALE, [now.toISOString(), until.toISOString(), limit]);
    return rows.map((row) => jsonColumn(row.payload as Update | string)).sort((a, b) => a.update_id - b.update_id);
  }

  private async forgetNowAndThen(now: Date): Promise<void> {
    // Telegram keeps an undelivered update for at most a day; a week of ids is plenty.
    if (++this.taken % 1000 === 0) {
      await run(this.sql, FORGET, [new Date(now.getTime() - KEEP_DAYS * 86_400_000).toISOString()]);
    }
  }
}

/**
 * The update as jsonb accepts it: PostgreSQL refuses a lone UTF-16 surrogate and U+0000, which
 * JSON.stringify writes as `\uXXXX` escapes (Telegram sends neither; a forged update may). They
 * become U+FFFD in the stored copy only (the process that recorded it handles the original). An
 * escape counts only after an odd number of backslashes: `\\ud800` is a backslash and text.
 */
export function storableJson(value: unknown): string {
  return JSON.stringify(value).replace(/(\\+)u(0000|d[89a-f][0-9a-f]{2})/gi, (match, slashes: string) =>
    slashes.length % 2 === 1 ? `${slashes.slice(1)}\\ufffd` : match,
  );
}
