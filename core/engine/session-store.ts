import { jsonColumn as json, type SqlExecutor } from "../db/adapters.js";
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
}

/** A session (if any) and the person it belongs to, read in one round trip. */
export interface LoadedSession {
  session: StoredSession | undefined;
  /**
   * The session's citizen as stored now or, for a session without one, the citizen with the
   * caller's phone: the first step of a USSD session then needs no lookup of its own.
   */
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
  load(channel: Channel, sessionKey: string, phone?: string): Promise<LoadedSession>;
  save(session: SessionWrite): Promise<void>;
}

interface SessionRow {
  citizenId: number | null;
  /** Null when there is no session (the row then carries only the phone's citizen). */
  state: (SessionState & { view?: JsonValue }) | string | null;
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

const bigintOrNull = (value: string | null) => (value === null ? null : BigInt(value));

const LOAD_SQL = `
  select s."citizenId", s.state, s."stepCount", s."lastScreen",
         (extract(epoch from s."expiresAt") * 1000)::float8 as "expiresMs",
         c.id as "cId", c.phone as "cPhone", c."telegramUserId"::text as "cTelegramUserId",
         c."telegramChatId"::text as "cTelegramChatId", c.pinfl as "cPinfl", c."fullName" as "cFullName",
         c.locale as "cLocale", c."mahallaId" as "cMahallaId"
    from (select 1) as one
    left join "ConversationSession" s on s.channel = $1 and s."sessionKey" = $2
    left join "Citizen" c on c.id = coalesce(s."citizenId", (select id from "Citizen" where phone = $3))`;

// A scan rather than an index: an index on expiresAt would cost every step's write more than an
// hourly scan costs (see schema.prisma).
const PURGE_SQL = `
  with gone as (delete from "ConversationSession" where "expiresAt" < $1::timestamp returning 1)
  select count(*)::int as count from gone`;

const SAVE_SQL = `
  insert into "ConversationSession"
    (channel, "sessionKey", "citizenId", state, "stepCount", "lastScreen", "expiresAt", "createdAt", "updatedAt")
  values ($1, $2, $3, $4::json, $5, $6::json, $7::timestamp, $8::timestamp, $8::timestamp)
  on conflict (channel, "sessionKey") do update set
    "citizenId" = excluded."citizenId", state = excluded.state, "stepCount" = excluded."stepCount",
    "lastScreen" = excluded."lastScreen", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"`;

/**
 * Sessions in the ConversationSession table. Every step of every conversation reads and writes
 * one row, so these two statements are plain SQL (no per-query planning) and the read brings the
 * citizen along (by the session, or by the caller's phone on a session's first step): a step
 * costs one read and one write besides what its flow needs.
 */
export class SqlSessionStore implements SessionStore {
  constructor(private readonly sql: SqlExecutor) {}

  async load(channel: Channel, sessionKey: string, phone?: string): Promise<LoadedSession> {
    const [row] = await this.sql.query<SessionRow>(LOAD_SQL, [channel, sessionKey, phone ?? null]);
    if (!row) return { session: undefined, citizen: null };
    const citizen: CitizenRecord | null =
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
          };
    if (row.state === null) return { session: undefined, citizen };
    const { view, ...state } = json(row.state);
    return {
      session: {
        citizenId: row.citizenId,
        state,
        steps: row.stepCount,
        view: view ?? null,
        lastScreen: row.lastScreen === null ? null : json(row.lastScreen),
        locale: isLocale(state.locale) ? state.locale : "uz",
        expiresAt: new Date(row.expiresMs),
      },
      citizen,
    };
  }

  /**
   * Deletes sessions that expired before `before`: what people typed (addresses, PINFLs) is not
   * kept once no conversation can continue from it. Returns how many went.
   */
  async purgeExpired(before: Date): Promise<number> {
    const [row] = await this.sql.query<{ count: number }>(PURGE_SQL, [before.toISOString()]);
    return row?.count ?? 0;
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
