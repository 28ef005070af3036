import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { SqlExecutor } from "../db/adapters.js";
import { SESSION_CITIZEN } from "../db/sql/citizen.js";
import { run } from "../db/sql/statement.js";
import type { Channel, JsonValue, Locale } from "../domain/vocabulary.js";
import { isLocale } from "../domain/vocabulary.js";
import { type CitizenRecord, citizenFromTextIds } from "../services/citizens.js";
import {
  type ClaimAttempt,
  citizenOfRow,
  type KeptSessionStore,
  type KeptTurn,
  LeasedSessionStore,
  type LeaseLimits,
  type SessionState,
  type SessionWrite,
} from "./session-store.js";
import type { Screen } from "./types.js";

/*
 * Navigation state in Redis, so that a USSD step costs the database only what its flow reads and
 * writes. What lives where:
 *  - Redis: the session (flow, step, form data typed so far, the screen on display and the input
 *    seen), its lease, and a copy of the citizen record read on the session's first step. Keys
 *    expire with the session (idle time plus a minute), so nothing typed outlives the conversation.
 *  - PostgreSQL: everything a citizen is told is true (applications, bookings, appeals, ratings,
 *    the outbox), committed by the flow before the session is written here and before the answer.
 * If Redis restarts or loses its data, the session is gone: the next request of it starts at the
 * menu with a line saying so (ussd/channel.ts), and a retried confirmation cannot run again,
 * because no session is waiting on a summary any more. Nothing confirmed is lost, since nothing
 * confirmed was only here.
 *
 * The citizen copy is kept only when the engine vouches for it (nothing in the step wrote to the
 * citizen); any step that changes the citizen (language, mahalla, onboarding) drops it and the next
 * step reads it afresh. A change made elsewhere during a call (the back office, Telegram) is seen
 * by the next call: a USSD session lasts minutes.
 */

/** What a session key holds in Redis. */
interface RedisSession {
  citizenId: number | null;
  state: SessionState;
  steps: number;
  lastScreen: Screen;
  view: JsonValue;
  locale: Locale;
  expiresMs: number;
  citizen?: StoredCitizen;
}

type StoredCitizen = Omit<CitizenRecord, "telegramUserId" | "telegramChatId"> & {
  telegramUserId: string | null;
  telegramChatId: string | null;
};

/** Keeps the session past its idle time a little, so a late retry still finds its answer. */
const KEEP_AFTER_IDLE_MS = 60_000;

/** Takes the lease (free, or the abandoned one of this process) and reads the session: one round trip. */
const CLAIM = `
local held = redis.call('GET', KEYS[2])
if held and held ~= ARGV[2] then return {0, ''} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return {1, redis.call('GET', KEYS[1]) or ''}`;

/** Writes the step's outcome only under this request's lease, and gives the lease up. */
const SAVE = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

type Script = (keys: string[], args: (string | number)[]) => Promise<unknown>;

/** A Lua script sent once per connection by its digest, in full only when Redis does not have it. */
function script(redis: Redis, lua: string): Script {
  const sha = createHash("sha1").update(lua).digest("hex");
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(lua, keys.length, ...keys, ...args);
    }
  };
}

export interface RedisSessionOptions extends LeaseLimits {
  /** Key prefix (tests give each run its own). */
  prefix?: string;
}

export class RedisSessionStore extends LeasedSessionStore implements KeptSessionStore {
  private readonly prefix: string;
  private readonly claimScript: Script;
  private readonly saveScript: Script;
  private readonly releaseScript: Script;

  constructor(
    private readonly redis: Redis,
    private readonly sql: SqlExecutor,
    options: RedisSessionOptions = {},
  ) {
    super(options);
    this.prefix = options.prefix ?? "mc:session:";
    this.claimScript = script(redis, CLAIM);
    this.saveScript = script(redis, SAVE);
    this.releaseScript = script(redis, RELEASE);
  }

  /** Both keys of a session share a hash tag, so a Redis Cluster keeps them on one shard. */
  private keys(channel: Channel, sessionKey: string): [string, string] {
    const tag = `{${channel}:${sessionKey}}`;
    return [`${this.prefix}${tag}:s`, `${this.prefix}${tag}:l`];
  }

  protected async tryClaim(
    channel: Channel,
    sessionKey: string,
    phone: string | undefined,
    lease: string,
    abandoned: string | null,
  ): Promise<ClaimAttempt> {
    const reply = (await this.claimScript(this.keys(channel, sessionKey), [
      lease,
      abandoned ?? "",
      this.leaseSeconds * 1000,
    ])) as [number, string];
    if (reply[0] !== 1) return undefined;
    const stored = parse(reply[1]);
    if (stored?.citizen) {
      return { session: toStored(stored), citizen: citizenFromTextIds(stored.citizen) };
    }
    // The session's first step (or the first after a change to the citizen): one read.
    const [row] = await run(this.sql, SESSION_CITIZEN, [channel, stored?.citizenId ?? null, phone ?? null]);
    const question = row?.cQuestionOpen === true ? { questionOpen: true } : {};
    return { session: stored ? toStored(stored) : undefined, citizen: row ? citizenOfRow(row) : null, ...question };
  }

  protected async write(session: SessionWrite, lease: string): Promise<boolean> {
    const value: RedisSession = {
      citizenId: session.citizenId,
      state: session.state,
      steps: session.steps,
      lastScreen: session.lastScreen,
      view: session.view,
      locale: session.locale,
      expiresMs: session.expiresAt.getTime(),
      ...(session.citizen && session.citizen.id === session.citizenId
        ? { citizen: toStoredCitizen(session.citizen) }
        : {}),
    };
    const ttl = Math.max(1_000, session.expiresAt.getTime() - Date.now() + KEEP_AFTER_IDLE_MS);
    const saved = await this.saveScript(this.keys(session.channel, session.sessionKey), [
      lease,
      JSON.stringify(value),
      Math.round(ttl),
    ]);
    return saved === 1;
  }

  protected async unlease(channel: Channel, sessionKey: string, lease: string): Promise<void> {
    await this.releaseScript(this.keys(channel, sessionKey), [lease]);
  }

  /** The session's last turn, for the gateway's session-end notice (undefined: none kept). */
  async lastTurn(channel: Channel, sessionKey: string): Promise<KeptTurn | undefined> {
    const stored = parse((await this.redis.get(this.keys(channel, sessionKey)[0])) ?? "");
    return stored && { citizenId: stored.citizenId, steps: stored.steps, lastScreen: stored.lastScreen };
  }
}

function parse(raw: string): RedisSession | undefined {
  if (raw === "") return undefined;
  try {
    const value = JSON.parse(raw) as RedisSession;
    return value && typeof value === "object" && value.state && typeof value.steps === "number" ? value : undefined;
  } catch {
    // A value this version cannot read is a session lost: the caller starts afresh.
    return undefined;
  }
}

const toStored = (s: RedisSession) => ({
  citizenId: s.citizenId,
  state: s.state,
  steps: s.steps,
  lastScreen: s.lastScreen,
  view: s.view,
  locale: isLocale(s.locale) ? s.locale : "uz",
  expiresAt: new Date(s.expiresMs),
});

const toStoredCitizen = (c: CitizenRecord): StoredCitizen => ({
  ...c,
  telegramUserId: c.telegramUserId?.toString() ?? null,
  telegramChatId: c.telegramChatId?.toString() ?? null,
});
