import { randomUUID } from "node:crypto";
import { jsonColumn as json, type SqlExecutor } from "../db/adapters.js";
import {
  CLAIM,
  type ClaimRow,
  PURGE,
  READ_STATE,
  RECORD_END,
  RECORD_KEPT_END,
  RELEASE,
  SAVE,
  WRITE_STATE,
} from "../db/sql/conversation-session.js";
import { run } from "../db/sql/statement.js";
import { SessionBusyError, SessionLeaseLostError } from "../domain/errors.js";
import type { Channel, FlowData, JsonValue, Locale } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import { type CitizenRecord, citizenFromTextIds } from "../services/citizens.js";
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
  /** On USSD: that citizen has a rating question the next call offers before the menu. */
  questionOpen?: boolean;
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
  /**
   * The citizen as the engine knows them at the end of the step, when nothing in the step changed
   * them (null: not vouched for). A store that keeps sessions away from the database may keep it
   * with the session instead of reading it again on the next step; the SQL store reads it anyway.
   */
  citizen?: CitizenRecord | null;
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

/** How long a claim holds the session: longer than any step runs (each statement times out at 10 s). */
const LEASE_SECONDS = 30;
/** How long a request waits for another request of the same session before giving up. */
const CLAIM_WAIT_MS = 5_000;
const CLAIM_POLL_MS = 15;

export interface LeaseLimits {
  leaseSeconds?: number;
  waitMs?: number;
}

/** What one attempt to take a session's lease tells: taken (with what it read), or held by another. */
export type ClaimAttempt = LoadedSession | undefined;

/**
 * The lease discipline every session store follows, whatever holds the rows: requests of one
 * session in this process queue here, so only one of them polls the store; the lease in the store
 * orders them across instances. A lease this process took but could not give back (the store
 * failed in the middle of the step) is remembered, so the next request of that session here takes
 * it over at once instead of waiting for it to run out.
 */
export abstract class LeasedSessionStore implements SessionStore {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly abandoned = new Map<string, string>();
  /** For each lease this process holds: what lets the next request of its session in. */
  private readonly held = new Map<string, () => void>();

  constructor(protected readonly limits: LeaseLimits = {}) {}

  protected get leaseSeconds() {
    return this.limits.leaseSeconds ?? LEASE_SECONDS;
  }

  /** Takes the lease if it is free, run out, or `abandoned` (this process's own); reads the session. */
  protected abstract tryClaim(
    channel: Channel,
    sessionKey: string,
    phone: string | undefined,
    lease: string,
    abandoned: string | null,
  ): Promise<ClaimAttempt>;
  /** Writes the step's outcome and gives the lease up; false when the lease is no longer this one. */
  protected abstract write(session: SessionWrite, lease: string): Promise<boolean>;
  /** Gives the lease up without a write. */
  protected abstract unlease(channel: Channel, sessionKey: string, lease: string): Promise<void>;

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
      const claimed = await this.claimInStore(channel, sessionKey, phone);
      // The in-process turn passes on once this request gives the session up (save or release).
      this.held.set(claimed.lease, () => this.endTurn(key, mine, done));
      return claimed;
    } catch (err) {
      this.endTurn(key, mine, done);
      throw err;
    }
  }

  private endTurn(key: string, mine: Promise<void>, done: () => void) {
    if (this.queues.get(key) === mine) this.queues.delete(key);
    done();
  }

  private passTurn(lease: string) {
    const end = this.held.get(lease);
    this.held.delete(lease);
    end?.();
  }

  private async claimInStore(channel: Channel, sessionKey: string, phone?: string): Promise<ClaimedSession> {
    const lease = randomUUID();
    const deadline = Date.now() + (this.limits.waitMs ?? CLAIM_WAIT_MS);
    const key = `${channel}:${sessionKey}`;
    for (;;) {
      const loaded = await this.tryClaim(channel, sessionKey, phone, lease, this.abandoned.get(key) ?? null);
      if (loaded) {
        this.abandoned.delete(key);
        return { ...loaded, lease };
      }
      if (Date.now() >= deadline) throw new SessionBusyError();
      await sleep(CLAIM_POLL_MS);
    }
  }

  async save(session: SessionWrite, lease: string): Promise<void> {
    try {
      if (!(await this.write(session, lease))) throw new SessionLeaseLostError();
    } finally {
      this.passTurn(lease);
    }
  }

  async release(channel: Channel, sessionKey: string, lease: string): Promise<void> {
    try {
      await this.unlease(channel, sessionKey, lease);
    } catch (err) {
      if (this.abandoned.size >= 10_000) this.abandoned.clear();
      this.abandoned.set(`${channel}:${sessionKey}`, lease);
      throw err;
    } finally {
      this.passTurn(lease);
    }
  }
}

/** Each channel's sessions in a store of its own (USSD in Redis, Telegram in the database). */
export class ChannelSessionStore implements SessionStore {
  constructor(private readonly stores: Record<Channel, SessionStore>) {}

  claim(channel: Channel, sessionKey: string, phone?: string): Promise<ClaimedSession> {
    return this.stores[channel].claim(channel, sessionKey, phone);
  }

  save(session: SessionWrite, lease: string): Promise<void> {
    return this.stores[session.channel].save(session, lease);
  }

  release(channel: Channel, sessionKey: string, lease: string): Promise<void> {
    return this.stores[channel].release(channel, sessionKey, lease);
  }
}

/**
 * Sessions in the ConversationSession table. Every step of every conversation reads and writes
 * one row, so these two statements are plain SQL (no per-query planning) and the read brings the
 * citizen along (by the session, or by the caller's phone on a session's first step): a step
 * costs one read and one write besides what its flow needs.
 */
export class SqlSessionStore extends LeasedSessionStore {
  constructor(
    private readonly sql: SqlExecutor,
    limits: LeaseLimits = {},
  ) {
    super(limits);
  }

  protected async tryClaim(
    channel: Channel,
    sessionKey: string,
    phone: string | undefined,
    lease: string,
    abandoned: string | null,
  ): Promise<ClaimAttempt> {
    const [row] = await run(this.sql, CLAIM, [channel, sessionKey, phone ?? null, lease, this.leaseSeconds, abandoned]);
    return row?.claimed ? toLoaded(row) : undefined;
  }

  /**
   * Deletes sessions that expired before `before`: what people typed (addresses, PINFLs) is not
   * kept once no conversation can continue from it. Returns how many went.
   */
  async purgeExpired(before: Date): Promise<number> {
    const [row] = await run(this.sql, PURGE, [before.toISOString()]);
    return row?.count ?? 0;
  }

  protected async write(session: SessionWrite, lease: string): Promise<boolean> {
    const rows = await run(this.sql, SAVE, [
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
    return rows.length > 0;
  }

  protected async unlease(channel: Channel, sessionKey: string, lease: string): Promise<void> {
    await run(this.sql, RELEASE, [channel, sessionKey, lease]);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type StoredState = SessionState & { view?: JsonValue };

/** The citizen columns (c…) a session read brings along, as a record (null: no such citizen). */
export function citizenOfRow(row: CitizenColumns): CitizenRecord | null {
  return row.cId === null || row.cPhone === null
    ? null
    : citizenFromTextIds({
        id: row.cId,
        phone: row.cPhone,
        telegramUserId: row.cTelegramUserId,
        telegramChatId: row.cTelegramChatId,
        pinfl: row.cPinfl,
        fullName: row.cFullName,
        locale: row.cLocale,
        mahallaId: row.cMahallaId,
      });
}

type CitizenColumns = Pick<
  ClaimRow,
  "cId" | "cPhone" | "cTelegramUserId" | "cTelegramChatId" | "cPinfl" | "cFullName" | "cLocale" | "cMahallaId"
>;

function toLoaded(row: ClaimRow): LoadedSession {
  const citizen = citizenOfRow(row);
  // A placeholder row (json null) is a session whose first step has not been saved yet.
  // Present only when true, so a claim reads as it did for everyone without an open question.
  const question = row.cQuestionOpen === true ? { questionOpen: true } : {};
  if (row.state === null || row.state === "null") return { session: undefined, citizen, ...question };
  const { view, ...state } = json(row.state as StoredState | string);
  return {
    session: {
      citizenId: row.citizenId,
      state,
      steps: row.stepCount,
      view: view ?? null,
      lastScreen: row.lastScreen === null ? null : json(row.lastScreen as Screen | string),
      locale: isLocale(state.locale) ? state.locale : "uz",
      expiresAt: new Date(row.expiresMs),
    },
    citizen,
    ...question,
  };
}

/*
 * The table's other uses, kept here so this module stays its only writer: rows holding a channel's
 * own state rather than a conversation (the staff chat's mode and pending note), read and written
 * whole and never claimed, so no lease applies to them (expired ones go with the hourly purge like
 * every session); and the gateway's session-end notice on a USSD session's row.
 */

/** A row's state as stored (undefined: no such row). */
export async function readSessionState(
  sql: SqlExecutor,
  channel: Channel,
  sessionKey: string,
): Promise<JsonValue | undefined> {
  const [row] = await run(sql, READ_STATE, [channel, sessionKey]);
  return row === undefined ? undefined : json(row.state);
}

/** Writes a row's state and expiry, creating the row if need be; a lease on it is left as it is. */
export async function writeSessionState(
  sql: SqlExecutor,
  channel: Channel,
  sessionKey: string,
  state: JsonValue,
  expiresAt: Date,
): Promise<void> {
  await run(sql, WRITE_STATE, [
    channel,
    sessionKey,
    JSON.stringify(state),
    expiresAt.toISOString(),
    new Date().toISOString(),
  ]);
}

/** Records how a session ended on its row; false when there is no such session. */
export async function markSessionEnded(
  sql: SqlExecutor,
  channel: Channel,
  sessionKey: string,
  end: { at: Date; status: string | null; info: JsonValue },
): Promise<boolean> {
  const rows = await run(sql, RECORD_END, [
    channel,
    sessionKey,
    end.at.toISOString(),
    end.status,
    JSON.stringify(end.info),
    new Date().toISOString(),
  ]);
  return rows.length > 0;
}

/** The last turn of a session kept outside the database (what its end notice records). */
export interface KeptTurn {
  citizenId: number | null;
  steps: number;
  lastScreen: Screen;
}

/** A store that keeps sessions away from the database, and can say where one ended. */
export interface KeptSessionStore extends SessionStore {
  lastTurn(channel: Channel, sessionKey: string): Promise<KeptTurn | undefined>;
}

/** Records how a session kept elsewhere ended, as a row of its own with the screen it ended on. */
export async function recordKeptSessionEnd(
  sql: SqlExecutor,
  channel: Channel,
  sessionKey: string,
  turn: KeptTurn,
  end: { at: Date; status: string | null; info: JsonValue },
): Promise<void> {
  await run(sql, RECORD_KEPT_END, [
    channel,
    sessionKey,
    turn.citizenId,
    turn.steps,
    JSON.stringify(turn.lastScreen),
    end.at.toISOString(),
    end.status,
    JSON.stringify(end.info),
  ]);
}
