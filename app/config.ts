import { BlockList, isIP } from "node:net";
import { envSchema } from "env-schema";
import { type Static, Type } from "typebox";
import type { TelegramSettings } from "../bot/settings.js";
import type { DatabaseTarget } from "../core/db/adapters.js";

/** Thrown for a bad environment; start-up prints its one-line message and exits 1. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  override name = "ConfigError";
}

const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal("development"), Type.Literal("production"), Type.Literal("test")], {
    default: "development",
  }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: "0.0.0.0" }),
  LOG_LEVEL: Type.Union(
    ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
    { default: "info" },
  ),
  DATA_DIR: Type.String({ minLength: 1, default: "./data" }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: "^postgres(ql)?://" })),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: "^rediss?://" })),
  TELEGRAM_BOT_TOKEN: Type.Optional(Type.String({ pattern: "^[0-9]+:[A-Za-z0-9_-]+$" })),
  TELEGRAM_API_ROOT: Type.String({ pattern: "^https?://", default: "https://api.telegram.org" }),
  TELEGRAM_WEBHOOK_SECRET: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{1,256}$" })),
  TELEGRAM_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 10 }),
  AT_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  AT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  AT_SENDER_ID: Type.Optional(Type.String({ minLength: 1 })),
  AT_API_ROOT: Type.Optional(Type.String({ pattern: "^https?://" })),
  USSD_CALLBACK_TOKEN: Type.Optional(Type.String({ minLength: 8 })),
  GATEWAY_ALLOWED_IPS: Type.Optional(Type.String()),
  TRUST_PROXY: Type.Optional(Type.String()),
  USSD_MAX_CHARS_UCS2: Type.Integer({ minimum: 60, maximum: 182, default: 80 }),
  USSD_SESSION_IDLE_SECONDS: Type.Integer({ minimum: 10, default: 180 }),
  /** Where USSD navigation state lives: Redis (default when REDIS_URL is set) or the database. */
  USSD_SESSION_STORE: Type.Optional(Type.Union([Type.Literal("redis"), Type.Literal("database")])),
  TELEGRAM_SESSION_IDLE_SECONDS: Type.Integer({ minimum: 60, default: 86_400 }),
  API_TOKENS: Type.Optional(Type.String()),
  RATE_LIMIT_STEPS_PER_MINUTE: Type.Integer({ minimum: 0, default: 30 }),
  API_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, default: 300 }),
  API_AUTH_FAILURES_PER_MINUTE: Type.Integer({ minimum: 0, default: 20 }),
  SIMULATOR_ENABLED: Type.Optional(Type.Boolean()),
  // "mahallas": the demo mahalla set without its synthetic activity (tests that count every row).
  SEED_DEMO: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false"), Type.Literal("mahallas")])),
  NOTIFY_WORKER: Type.Union([Type.Literal("inline"), Type.Literal("off")], { default: "inline" }),
  NOTIFY_SMS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 256, pattern: "^[\\x21-\\x7e]+$" })),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  NOTIFY_SEND_TIMEOUT_SECONDS: Type.Integer({ minimum: 1, maximum: 120, default: 20 }),
  DRAFT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  OUTBOX_TEXT_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  WEB_CONCURRENCY: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
});
type Env = Static<typeof EnvSchema>;

/**
 * The embedded default (a PostgreSQL server the product runs under DATA_DIR, app/database.ts) or
 * a PostgreSQL server of the operator's (DATABASE_URL).
 */
export type DatabaseConfig = { kind: "embedded"; dataDir: string; poolSize: number } | DatabaseTarget;

export interface ApiToken {
  /** Recorded in the audit log as the actor; never the secret itself. */
  name: string;
  token: string;
}

export interface AppConfig {
  env: Env["NODE_ENV"];
  http: { port: number; host: string };
  logLevel: string;
  database: DatabaseConfig;
  redisUrl: string | undefined;
  /** The bot declares what it needs (bot/settings.ts); the configuration gives exactly that. */
  telegram: { enabled: false } | TelegramSettings;
  sms: { username: string; apiKey: string; senderId: string | undefined; apiRoot: string | undefined } | undefined;
  ussd: {
    callbackToken: string | undefined;
    maxCharsUcs2: number;
    sessionIdleSeconds: number;
    /** The Redis holding USSD sessions (core/engine/redis-session-store.ts); undefined: the database. */
    sessionRedisUrl?: string | undefined;
  };
  /** Where the gateway callbacks (USSD, SMS inbound, delivery reports) may come from; null: anywhere. */
  gatewayAllowedIps: string[] | null;
  /** Fastify's `trustProxy`: which proxies' X-Forwarded-For is believed (false: none). */
  trustProxy: boolean | number | string[];
  apiTokens: ApiToken[];
  /** Conversation steps per person per minute on USSD and Telegram (0: unlimited). */
  stepsPerMinute: number;
  /** Back-office API requests per client IP per minute (0: unlimited). */
  apiRequestsPerMinute: number;
  /** Requests with a missing or wrong API token per client IP per minute, counted apart (0: unlimited). */
  apiAuthFailuresPerMinute: number;
  simulatorEnabled: boolean;
  /** Load the demo mahalla set on start (default: only on the embedded database). */
  seedDemo: boolean;
  /** With it, a few weeks of synthetic, DEMO-marked activity (SEED_DEMO unset or `true`, not `mahallas`). */
  seedDemoActivity: boolean;
  /** `inline`: this process delivers notifications; `off`: a separate `npm run worker` does. */
  notifications: { worker: "inline" | "off"; smsPerSecond: number; sendTimeoutMs: number };
  /**
   * `/metrics`: `token` required as a bearer token when set; without it open in development and
   * not served in production. `port`: where `npm run worker` serves /metrics and /healthz (off when unset).
   */
  metrics: { token: string | undefined; port: number | undefined };
  /** Days personal data is kept once it is no longer needed. */
  retention: { draftDays: number; outboxTextDays: number };
  /** Server workers `npm start` runs on this machine (WEB_CONCURRENCY); undefined: one per core. */
  webConcurrency: number | undefined;
}

/** Shortest USSD callback token accepted in production: long enough that it cannot be guessed. */
export const MIN_PRODUCTION_CALLBACK_TOKEN = 32;
export const MIN_WEBHOOK_SECRET = 16;

/** `GATEWAY_ALLOWED_IPS`: comma-separated addresses or CIDR blocks, IPv4 or IPv6. */
export function parseCidrList(name: string, raw: string | undefined): string[] | null {
  if (raw === undefined || raw.trim() === "") return null;
  const entries = raw
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(`${name}: "${entry}" is not an IP address or CIDR block`);
    }
  }
  return entries;
}

/** A matcher for a CIDR list (IPv4-mapped IPv6 addresses match their IPv4 block). */
export function ipMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = "", prefix] = entry.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (ip) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const address = mapped ?? ip;
    const family = isIP(address);
    if (family === 0) return false;
    return list.check(address, family === 6 ? "ipv6" : "ipv4");
  };
}

/** `TRUST_PROXY`: `true`/`false`, a number of hops, or a list of proxy addresses/CIDR blocks. */
export function parseTrustProxy(raw: string | undefined): boolean | number | string[] {
  const value = raw?.trim() ?? "";
  if (value === "" || value === "false") return false;
  if (value === "true") return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 10) throw new ConfigError("TRUST_PROXY: a number of proxy hops must be between 1 and 10");
    return hops;
  }
  return parseCidrList("TRUST_PROXY", value) ?? false;
}

/** `API_TOKENS` entries are `name:secret` or a bare secret (named token1, token2, …). */
export function parseApiTokens(raw: string | undefined): ApiToken[] {
  if (!raw) return [];
  return raw
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const colon = entry.indexOf(":");
      const token = colon > 0 ? entry.slice(colon + 1) : entry;
      const name = colon > 0 ? entry.slice(0, colon) : `token${index + 1}`;
      if (token.length < 16) {
        throw new ConfigError(`API_TOKENS: token "${name}" is shorter than 16 characters`);
      }
      return { name, token };
    });
}

function databaseConfig(env: Env): DatabaseConfig {
  if (env.DATABASE_URL) {
    try {
      const url = new URL(env.DATABASE_URL);
      if (!url.hostname && !url.searchParams.get("host")) throw new Error("no host");
    } catch {
      throw new ConfigError("DATABASE_URL is not a valid postgresql:// URL");
    }
    return { kind: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE };
  }
  return { kind: "embedded", dataDir: env.DATA_DIR, poolSize: env.DATABASE_POOL_SIZE };
}

/** Reads and validates the environment once, at start-up; everything else receives the result. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): AppConfig {
  let env: Env;
  try {
    // Only `source` counts: the process environment is read when it is the source, not merged into another.
    env = envSchema<Env>({ schema: EnvSchema, data: source, env: false, dotenv: false });
  } catch (err) {
    const message = (err as Error).message.replace(/\s+/g, " ").replace(/\benv\//g, "");
    throw new ConfigError(`invalid environment: ${message}`);
  }
  if (Boolean(env.AT_USERNAME) !== Boolean(env.AT_API_KEY)) {
    throw new ConfigError("AT_USERNAME and AT_API_KEY must be set together");
  }
  if (env.TELEGRAM_WEBHOOK_SECRET !== undefined && env.TELEGRAM_WEBHOOK_SECRET.length < MIN_WEBHOOK_SECRET) {
    throw new ConfigError(`TELEGRAM_WEBHOOK_SECRET must be at least ${MIN_WEBHOOK_SECRET} characters`);
  }
  if (env.NODE_ENV === "production") productionChecks(env);
  const database = databaseConfig(env);
  return {
    env: env.NODE_ENV,
    http: { port: env.PORT, host: env.HOST },
    logLevel: env.LOG_LEVEL,
    database,
    redisUrl: env.REDIS_URL,
    telegram: env.TELEGRAM_BOT_TOKEN
      ? {
          enabled: true,
          token: env.TELEGRAM_BOT_TOKEN,
          apiRoot: env.TELEGRAM_API_ROOT.replace(/\/+$/, ""),
          webhookSecret: env.TELEGRAM_WEBHOOK_SECRET,
          sessionIdleSeconds: env.TELEGRAM_SESSION_IDLE_SECONDS,
          timeoutSeconds: env.TELEGRAM_TIMEOUT_SECONDS,
        }
      : { enabled: false },
    sms:
      env.AT_USERNAME && env.AT_API_KEY
        ? { username: env.AT_USERNAME, apiKey: env.AT_API_KEY, senderId: env.AT_SENDER_ID, apiRoot: env.AT_API_ROOT }
        : undefined,
    ussd: {
      callbackToken: env.USSD_CALLBACK_TOKEN,
      maxCharsUcs2: env.USSD_MAX_CHARS_UCS2,
      sessionIdleSeconds: env.USSD_SESSION_IDLE_SECONDS,
      sessionRedisUrl: env.USSD_SESSION_STORE === "database" ? undefined : env.REDIS_URL,
    },
    gatewayAllowedIps: parseCidrList("GATEWAY_ALLOWED_IPS", env.GATEWAY_ALLOWED_IPS),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    apiTokens: parseApiTokens(env.API_TOKENS),
    stepsPerMinute: env.RATE_LIMIT_STEPS_PER_MINUTE,
    apiRequestsPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    apiAuthFailuresPerMinute: env.API_AUTH_FAILURES_PER_MINUTE,
    simulatorEnabled: env.SIMULATOR_ENABLED ?? env.NODE_ENV !== "production",
    seedDemo: env.SEED_DEMO ? env.SEED_DEMO !== "false" : database.kind === "embedded",
    seedDemoActivity: env.SEED_DEMO ? env.SEED_DEMO === "true" : database.kind === "embedded",
    notifications: {
      worker: env.NOTIFY_WORKER,
      smsPerSecond: env.NOTIFY_SMS_PER_SECOND,
      sendTimeoutMs: env.NOTIFY_SEND_TIMEOUT_SECONDS * 1000,
    },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    retention: { draftDays: env.DRAFT_RETENTION_DAYS, outboxTextDays: env.OUTBOX_TEXT_RETENTION_DAYS },
    webConcurrency: env.WEB_CONCURRENCY,
  };
}

/**
 * In production the caller's identity on USSD and SMS is the posted phone number, so the gateway
 * callbacks must prove they come from the gateway: without a long callback token anyone could
 * act as any citizen.
 */
function productionChecks(env: Env): void {
  const token = env.USSD_CALLBACK_TOKEN;
  if (token === undefined) {
    throw new ConfigError(
      "USSD_CALLBACK_TOKEN is required when NODE_ENV=production (without it anyone can post a callback as any phone number)",
    );
  }
  if (token.length < MIN_PRODUCTION_CALLBACK_TOKEN) {
    throw new ConfigError(
      `USSD_CALLBACK_TOKEN must be at least ${MIN_PRODUCTION_CALLBACK_TOKEN} characters when NODE_ENV=production`,
    );
  }
}
