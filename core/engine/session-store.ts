import type { SqlExecutor } from "../db/adapters.js";
import type { CitizenRecord } from "../services/citizens.js";
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
  /** The session's citizen as stored now (read with the session, saving a query per step). */
  citizen: CitizenRecord | null;
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

interface SessionRow {
  citizenId: number | null;
  state: (SessionState & { view?: JsonValue }) | string;
  stepCount: number;
  lastScreen: Screen | string | null;
  expiresMs: number;
  cId: number | null;
  cPhone: string | null;
  cTelegramUserId: string | null;
  cTelegramChatId: string | null;
  cPinfl: string | null;
  cFullName: string | null;
  cLocale: string | null;
  cMahallaId: number | null;
}

// Both drivers return jsonb parsed; text is accepted too in case a driver does not.
const json = <T>(value: T | string): T => (typeof value === "string" ? (JSON.parse(value) as T) : value);
const bigintOrNull = (value: string | null) => (value === null ? null : BigInt(value));

const LOAD_SQL = `
  select s."citizenId", s.state, s."stepCount", s."lastScreen",
         (extract(epoch from s."expiresAt") * 1000)::float8 as "expiresMs",
         c.id as "cId", c.phone as "cPhone", c."telegramUserId"::text as "cTelegramUserId",
         c."telegramChatId"::text as "cTelegramChatId", c.pinfl as "cPinfl", c."fullName" as "cFullName",
         c.locale as "cLocale", c."mahallaId" as "cMahallaId"
    from "ConversationSession" s
    left join "Citizen" c on c.id = s."citizenId"
   where s.channel = $1 and s."sessionKey" = $2`;

const SAVE_SQL = `
  insert into "ConversationSession"
    (channel, "sessionKey", "citizenId", state, "stepCount", "lastScreen", "expiresAt", "createdAt", "updatedAt")
  values ($1, $2, $3, $4::jsonb, $5, $6::jsonb, $7::timestamp, $8::timestamp, $8::timestamp)
  on conflict (channel, "sessionKey") do update set
    "citizenId" = excluded."citizenId", state = excluded.state, "stepCount" = excluded."stepCount",
    "lastScreen" = excluded."lastScreen", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`;

/**
 * Sessions in the ConversationSession table. Every step of every conversation reads and writes
 * one row, so these two statements are plain SQL (no per-query planning) and the read brings the
 * citizen along: a step costs one read and one write besides what its flow needs.
 */
export class SqlSessionStore implements SessionStore {
  constructor(private readonly sql: SqlExecutor) {}

  async load(channel: Channel, sessionKey: string): Promise<StoredSession | undefined> {
    const [row] = await this.sql.query<SessionRow>(LOAD_SQL, [channel, sessionKey]);
    if (!row) return undefined;
    const { view, ...state } = json(row.state);
    return {
      citizenId: row.citizenId,
      state,
      steps: row.stepCount,
      view: view ?? null,
      lastScreen: row.lastScreen === null ? null : json(row.lastScreen),
      locale: isLocale(state.locale) ? state.locale : "uz",
      expiresAt: new Date(row.expiresMs),
      citizen:
        row.cId === null || row.cPhone === null
          ? null
          : {
              id: row.cId,
              phone: row.cPhone,
              telegramUserId: bigintOrNull(row.cTelegramUserId),
              telegramChatId: bigintOrNull(row.cTelegramChatId),
              pinfl: row.cPinfl,
              fullName: row.cFullName,
              locale: isLocale(row.cLocale) ? row.cLocale : null,
              mahallaId: row.cMahallaId,
            },
    };
  }

  async save(session: SessionWrite): Promise<void> {
    await this.sql.query(SAVE_SQL, [
      session.channel,
      session.sessionKey,
      session.citizenId,
      // The channel's view rides along in the state column: one row, one write per step.
      JSON.stringify({ ...session.state, view: session.view }),
      session.steps,
      JSON.stringify(session.lastScreen),
      session.expiresAt.toISOString(),
      new Date().toISOString(),
    ]);
  }
}
