import type { PrismaClient } from "../../core/db/database.js";

/**
 * A linked worker's chat: whether it shows the staff menu or the citizen services, and which
 * visit is waiting for an outcome note. Kept in ConversationSession (channel "telegram", key
 * "staff:<chat id>") so it survives restarts and is shared by every instance.
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
  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: () => Date,
  ) {}

  async load(chatId: number): Promise<StaffChatState> {
    const row = await this.prisma.conversationSession.findUnique({
      where: { channel_sessionKey: { channel: CHANNEL, sessionKey: key(chatId) } },
      select: { state: true },
    });
    const state = (row?.state ?? {}) as Partial<StaffChatState>;
    const pending = state.pendingNote;
    const live = pending && typeof pending.reference === "string" && new Date(pending.until) > this.clock();
    return {
      mode: state.mode === "citizen" ? "citizen" : "staff",
      pendingNote: live ? pending : null,
    };
  }

  async save(chatId: number, state: StaffChatState): Promise<void> {
    const columns = {
      state: state as unknown as object,
      expiresAt: new Date(this.clock().getTime() + KEEP_DAYS * 86_400_000),
    };
    await this.prisma.conversationSession.upsert({
      where: { channel_sessionKey: { channel: CHANNEL, sessionKey: key(chatId) } },
      create: { channel: CHANNEL, sessionKey: key(chatId), ...columns },
      update: columns,
    });
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
