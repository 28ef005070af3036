import { randomUUID } from "node:crypto";
import { jsonColumn as json, type SqlExecutor } from "../db/adapters.js";
import { SessionBusyError, SessionLeaseLostError } from "../domain/errors.js";
import type { Channel, FlowData, JsonValue, Locale } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import type { CitizenRecord } from "../services/citizens.js";
import type { Screen } from "./types.js";

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
  /**
   * Who holds the conversation (`phone:+998…` or `telegram:<user id>`): a request from anyone else
   * under the same session key starts afresh and never sees this session's screens.
   */
  owner?: string;
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
}

/** A session held for one step: no other request of the same session runs until it is saved or released. */
export interface ClaimedSession extends LoadedSession {
  readonly lease: string;
}

/**
 * Where sessions live. One step of a session at a time, across requests and instances: `claim`
 * waits while another request holds the session, `save` writes the step's outcome only if this
 * request still holds it (and lets the next one in), `release` lets it go without a write.
 */
export interface SessionStore {
  claim(channel: Channel, sessionKey: string, phone?: string): Promise<ClaimedSession>;
  save(session: SessionWrite, lease: string): Promise<void>;
  release(channel: Channel, sessionKey: string, lease: string): Promise<void>;
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

/**
 * Claims the session row for one step and reads it with the caller's citizen, in one statement. A
 * missing row is created as a placeholder (state json null, no screen) so that the first step of a
 * session is held like any other; a row whose lease is held and not yet run out is left alone, and
 * `claimed` is false, unless the lease is $6: one this process took and could not give back. Lease times are the database's clock: instances (and a test's fake clock)
 * need not agree on the time.
 */
const CLAIM_SQL = `
  with claimed as (
    insert into "ConversationSession"
      (channel, "sessionKey", state, "stepCount", "expiresAt", "createdAt", "updatedAt", "leaseToken", "leaseUntil")
    values ($1, $2, 'null'::json, 0, now() at time zone 'UTC', now() at time zone 'UTC', now() at time zone 'UTC',
            $4, clock_timestamp() at time zone 'UTC' + make_interval(secs => $5))
    on conflict (channel, "sessionKey") do update set
      "leaseToken" = excluded."leaseToken", "leaseUntil" = excluded."leaseUntil"
      where "ConversationSession"."leaseUntil" is null
         or "ConversationSession"."leaseUntil" < clock_timestamp() at time zone 'UTC'
         or "ConversationSession"."leaseToken" = $6
    returning "citizenId", state, "stepCount", "lastScreen", "expiresAt"
  )
  select (s."stepCount" is not null) as claimed,
         s."citizenId", s.state, s."stepCount", s."lastScreen",
         (extract(epoch from s."expiresAt") * 1000)::float8 as "expiresMs",
         c.id as "cId", c.phone as "cPhone", c."telegramUserId"::text as "cTelegramUserId",
         c."telegramChatId"::text as "cTelegramChatId", c.pinfl as "cPinfl", c."fullName" as "cFullName",
         c.locale as "cLocale", c."mahallaId" as "cMahallaId"
    from (select 1) as one
    left join claimed s on true
    left join "Citizen" c on c.id = coalesce(s."citizenId", (select id from "Citizen" where phone = $3))`;

const RELEASE_SQL = `
  update "ConversationSession" set "leaseToken" = null, "leaseUntil" = null
   where channel = $1 and "sessionKey" = $2 and "leaseToken" = $3`;

// A scan rather than an index: an index on expiresAt would cost every step's write more than an
// hourly scan costs (see schema.prisma).
const PURGE_SQL = `
  with gone as (delete from "ConversationSession" where "expiresAt" < $1::timestamp returning 1)
  select count(*)::int as count from gone`;

/** The step's outcome, written only by the request holding the lease, which it gives up. */
const SAVE_SQL = `
  update "ConversationSession" set
    "citizenId" = $3, state = $4::json, "stepCount" = $5, "lastScreen" = $6::json,
    "expiresAt" = $7::timestamp, "updatedAt" = $8::timestamp, "leaseToken" = null, "leaseUntil" = null
   where channel = $1 and "sessionKey" = $2 and "leaseToken" = $9
  returning 1 as saved`;

/** How long a claim holds the session: longer than any step runs (each statement times out at 10 s). */
const LEASE_SECONDS = 30;
/** How long a request waits for another request of the same session before giving up. */
const CLAIM_WAIT_MS = 5_000;
const CLAIM_POLL_MS = 15;

/**
 * Sessions in the ConversationSession table. Every step of every conversation reads and writes
 * one row, so these two statements are plain SQL (no per-query planning) and the read brings the
 * citizen along (by the session, or by the caller's phone on a session's first step): a step
 * costs one read and one write besides what its flow needs.
 */
export class SqlSessionStore implements SessionStore {
  /**
   * Requests of one session in this process queue here, so only one of them polls the database;
   * the lease in the row orders them across instances.
   */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly sql: SqlExecutor,
    private readonly limits: { leaseSeconds?: number; waitMs?: number } = {},
  ) {}

  async claim(channel: Channel, sessionKey: string, phone?: string): Promise<ClaimedSession> {
    const key = `${channel}:${sessionKey}`;
    const before = this.queues.get(key);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.queues.set(key, mine);
    try {
      if (before) await before;
      const claimed = await this.claimInDatabase(channel, sessionKey, phone);
      // The in-process turn passes on once this request gives the row up (save or release).
      this.held.set(claimed.lease, () => this.endTurn(key, mine, done));
      return claimed;
    } catch (err) {
      this.endTurn(key, mine, done);
      throw err;
    }
  }

  /**
   * Leases this process took but could not give back (the database failed in the middle of the
   * step), by session: the next request of that session here takes the row over at once instead of
   * waiting for the lease to run out.
   */
  private readonly abandoned = new Map<string, string>();

  /** For each lease this process holds: what lets the next request of its session in. */
  private readonly held = new Map<string, () => void>();

  private endTurn(key: string, mine: Promise<void>, done: () => void) {
    if (this.queues.get(key) === mine) this.queues.delete(key);
    done();
  }

  private passTurn(lease: string) {
    const end = this.held.get(lease);
    this.held.delete(lease);
    end?.();
  }

  private async claimInDatabase(channel: Channel, sessionKey: string, phone?: string): Promise<ClaimedSession> {
    const lease = randomUUID();
    const deadline = Date.now() + (this.limits.waitMs ?? CLAIM_WAIT_MS);
    for (;;) {
      const key = `${channel}:${sessionKey}`;
      const [row] = await this.sql.query<SessionRow & { claimed: boolean }>(CLAIM_SQL, [
        channel,
        sessionKey,
        phone ?? null,
        lease,
        this.limits.leaseSeconds ?? LEASE_SECONDS,
        this.abandoned.get(key) ?? null,
      ]);
      if (row?.claimed) {
        this.abandoned.delete(key);
        return { ...toLoaded(row), lease };
      }
      if (Date.now() >= deadline) throw new SessionBusyError();
      await sleep(CLAIM_POLL_MS);
    }
  }

  /**
   * Deletes sessions that expired before `before`: what people typed (addresses, PINFLs) is not
   * kept once no conversation can continue from it. Returns how many went.
   */
  async purgeExpired(before: Date): Promise<number> {
    const [row] = await this.sql.query<{ count: number }>(PURGE_SQL, [before.toISOString()]);
    return row?.count ?? 0;
  }

  async save(session: SessionWrite, lease: string): Promise<void> {
    try {
      const rows = await this.sql.query<{ saved: number }>(SAVE_SQL, [
        session.channel,
        session.sessionKey,
        session.citizenId,
        // The channel's view rides along in the state column: one row, one write per step.
        JSON.stringify({ ...session.state, view: session.view }),
        session.steps,
        JSON.stringify(session.lastScreen),
        session.expiresAt.toISOString(),
        new Date().toISOString(),
        lease,
      ]);
      if (rows.length === 0) throw new SessionLeaseLostError();
    } finally {
      this.passTurn(lease);
    }
  }

  async release(channel: Channel, sessionKey: string, lease: string): Promise<void> {
    try {
      await this.sql.query(RELEASE_SQL, [channel, sessionKey, lease]);
    } catch (err) {
      if (this.abandoned.size >= 10_000) this.abandoned.clear();
      this.abandoned.set(`${channel}:${sessionKey}`, lease);
      throw err;
    } finally {
      this.passTurn(lease);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toLoaded(row: SessionRow): LoadedSession {
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
  // A placeholder row (json null) is a session whose first step has not been saved yet.
  if (row.state === null || row.state === "null") return { session: undefined, citizen };
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
