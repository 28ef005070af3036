import type { PrismaClient } from "../db/database.js";
import type { FlowData, JsonValue } from "./flow.js";
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
  /** Steps processed in this session. */
  steps: number;
  lastScreen: Screen | null;
  /** The channel's own state for the screen on display (USSD: input seen so far, page). */
  view: JsonValue;
  locale: Locale;
  expiresAt: Date;
}

export interface SessionWrite {
  channel: Channel;
  sessionKey: string;
  citizenId: number | null;
  state: SessionState;
  steps: number;
  lastScreen: Screen;
  view: JsonValue;
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
    const { view, ...state } = row.state as unknown as SessionState & { view?: JsonValue };
    return {
      citizenId: row.citizenId,
      state,
      steps: row.stepCount,
      view: view ?? null,
      lastScreen: (row.lastScreen as unknown as Screen | null) ?? null,
      locale: isLocale(state.locale) ? state.locale : "uz",
      expiresAt: row.expiresAt,
    };
  }

  async save(session: SessionWrite): Promise<void> {
    const columns = {
      citizenId: session.citizenId,
      // The channel's view rides along in the state column: one row, one write per step.
      state: { ...session.state, view: session.view } as object,
      stepCount: session.steps,
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
