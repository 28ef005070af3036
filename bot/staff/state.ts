import type { SqlExecutor } from "../../core/db/adapters.js";
import { type PrismaClient, prismaSql } from "../../core/db/database.js";
import type { JsonValue } from "../../core/domain/vocabulary.js";
import { readSessionState, writeSessionState } from "../../core/engine/session-store.js";

/**
 * A linked worker's chat: whether it shows the staff menu or the citizen services, and which
 * visit is waiting for an outcome note. Kept in ConversationSession (channel "telegram", key
 * "staff:<chat id>") so it survives restarts and is shared by every instance; the session store
 * (core/engine/session-store.ts) is the table's one writer, this only says what goes in the row.
 */
export interface StaffChatState {
  mode: "staff" | "citizen";
  pendingNote: { reference: string; cardMessageId: number | null; until: string } | null;
}

const CHANNEL = "telegram";
const KEEP_DAYS = 30;
/** How long "write the outcome note" waits for the note. */
export const NOTE_WAIT_MINUTES = 30;

const key = (chatId: number) => `staff:${chatId}`;

export class StaffChatStore {
  private readonly sql: SqlExecutor;

  /** Takes the plain-SQL path (`Database.sql`) or, as callers did before, the Prisma client. */
  constructor(
    db: SqlExecutor | PrismaClient,
    private readonly clock: () => Date,
  ) {
    this.sql = "$connect" in db ? prismaSql(db) : db;
  }

  async load(chatId: number): Promise<StaffChatState> {
    const stored = await readSessionState(this.sql, CHANNEL, key(chatId));
    const state = (stored ?? {}) as Partial<StaffChatState>;
    const pending = state.pendingNote;
    const live = pending && typeof pending.reference === "string" && new Date(pending.until) > this.clock();
    return {
      mode: state.mode === "citizen" ? "citizen" : "staff",
      pendingNote: live ? pending : null,
    };
  }

  async save(chatId: number, state: StaffChatState): Promise<void> {
    const expiresAt = new Date(this.clock().getTime() + KEEP_DAYS * 86_400_000);
    await writeSessionState(this.sql, CHANNEL, key(chatId), state as unknown as JsonValue, expiresAt);
  }

  async update(chatId: number, change: Partial<StaffChatState>): Promise<StaffChatState> {
    const next = { ...(await this.load(chatId)), ...change };
    await this.save(chatId, next);
    return next;
  }

  noteDeadline(): string {
    return new Date(this.clock().getTime() + NOTE_WAIT_MINUTES * 60_000).toISOString();
  }
}
