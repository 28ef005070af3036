import type { PrismaClient } from "../db/database.js";
import type { FlowData } from "./flow.js";
import type { Channel, Locale, Screen } from "./types.js";
import { isLocale } from "./types.js";

/** What the engine keeps between two steps of one conversation. */
export interface SessionState {
  /** A flow id, or "onboarding" before the person has a language (and, on Telegram, a phone). */
  flow: string;
  step: string;
  data: FlowData;
  /** Earlier steps of the current flow, for Back. */
  history: { step: string; data: FlowData }[];
  /** Option keys of the screen on display: a choice outside them is refused. */
  optionKeys: string[];
  /** Invalid answers in a row on the current screen. */
  invalid: number;
  /** The screen on display was final; the next input starts at the main menu. */
  ended?: boolean;
  locale?: Locale;
  citizenId?: number;
  /** Where first contact was heading (a dialled shortcut such as *1146*3#). */
  pending?: { shortcut?: string } | undefined;
}

export interface StoredSession {
  citizenId: number | null;
  state: SessionState;
  sequence: number;
  lastScreen: Screen | null;
  locale: Locale;
  expiresAt: Date;
}

export interface SessionWrite {
  channel: Channel;
  sessionKey: string;
  citizenId: number | null;
  state: SessionState;
  sequence: number;
  lastScreen: Screen;
  locale: Locale;
  expiresAt: Date;
  isNew: boolean;
}

export interface SessionStore {
  load(channel: Channel, sessionKey: string): Promise<StoredSession | undefined>;
  save(session: SessionWrite): Promise<void>;
}

/** Sessions in the ConversationSession table: one read and one write per step. */
export class PrismaSessionStore implements SessionStore {
  constructor(private readonly prisma: PrismaClient) {}

  async load(channel: Channel, sessionKey: string): Promise<StoredSession | undefined> {
    const row = await this.prisma.conversationSession.findUnique({
      where: { channel_sessionKey: { channel, sessionKey } },
      select: { citizenId: true, state: true, stepCount: true, lastScreen: true, expiresAt: true },
    });
    if (!row) return undefined;
    const state = row.state as unknown as SessionState;
    return {
      citizenId: row.citizenId,
      state,
      sequence: row.stepCount,
      lastScreen: (row.lastScreen as unknown as Screen | null) ?? null,
      locale: isLocale(state.locale) ? state.locale : "uz",
      expiresAt: row.expiresAt,
    };
  }

  async save(session: SessionWrite): Promise<void> {
    const columns = {
      citizenId: session.citizenId,
      state: session.state as object,
      stepCount: session.sequence,
      lastScreen: session.lastScreen as object,
      expiresAt: session.expiresAt,
    };
    await this.prisma.conversationSession.upsert({
      where: { channel_sessionKey: { channel: session.channel, sessionKey: session.sessionKey } },
      create: { channel: session.channel, sessionKey: session.sessionKey, ...columns },
      update: columns,
    });
  }
}
