import { envSchema } from "env-schema";
import { type Static, Type } from "typebox";
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
  AT_USERNAME: Type.Optional(Type.String({ minLength: 1 })),
  AT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  AT_SENDER_ID: Type.Optional(Type.String({ minLength: 1 })),
  AT_API_ROOT: Type.Optional(Type.String({ pattern: "^https?://" })),
  USSD_CALLBACK_TOKEN: Type.Optional(Type.String({ minLength: 8 })),
  USSD_MAX_CHARS_UCS2: Type.Integer({ minimum: 60, maximum: 182, default: 80 }),
  USSD_SESSION_IDLE_SECONDS: Type.Integer({ minimum: 10, default: 180 }),
  TELEGRAM_SESSION_IDLE_SECONDS: Type.Integer({ minimum: 60, default: 86_400 }),
  API_TOKENS: Type.Optional(Type.String()),
  RATE_LIMIT_STEPS_PER_MINUTE: Type.Integer({ minimum: 0, default: 30 }),
  API_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 0, default: 300 }),
  SIMULATOR_ENABLED: Type.Optional(Type.Boolean()),
  // "mahallas": the demo mahalla set without its synthetic activity (tests that count every row).
  SEED_DEMO: Type.Optional(Type.Union([Type.Literal("true"), Type.Literal("false"), Type.Literal("mahallas")])),
  NOTIFY_WORKER: Type.Union([Type.Literal("inline"), Type.Literal("off")], { default: "inline" }),
  NOTIFY_SMS_PER_SECOND: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, maxLength: 256, pattern: "^[\\x21-\\x7e]+$" })),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
});
type Env = Static<typeof EnvSchema>;

export interface ApiToken {
  /** Recorded in the audit log as the actor; never the secret itself. */
  name: string;
  token: string;
}

export interface AppConfig {
  env: Env["NODE_ENV"];
  http: { port: number; host: string };
  logLevel: string;
  database: DatabaseTarget;
  redisUrl: string | undefined;
  telegram:
    | { enabled: false }
    | { enabled: true; token: string; apiRoot: string; webhookSecret: string | undefined; sessionIdleSeconds: number };
  sms: { username: string; apiKey: string; senderId: string | undefined; apiRoot: string | undefined } | undefined;
  ussd: { callbackToken: string | undefined; maxCharsUcs2: number; sessionIdleSeconds: number };
  apiTokens: ApiToken[];
  /** Conversation steps per person per minute on USSD and Telegram (0: unlimited). */
  stepsPerMinute: number;
  /** Back-office API requests per client IP per minute (0: unlimited). */
  apiRequestsPerMinute: number;
  simulatorEnabled: boolean;
  /** Load the demo mahalla set on start (default: only on the embedded database). */
  seedDemo: boolean;
  /** With it, a few weeks of synthetic, DEMO-marked activity (SEED_DEMO unset or `true`, not `mahallas`). */
  seedDemoActivity: boolean;
  /** `inline`: this process delivers notifications; `off`: a separate `npm run worker` does. */
  notifications: { worker: "inline" | "off"; smsPerSecond: number };
  /**
   * `/metrics`: `token` required as a bearer token when set; without it open in development and
   * not served in production. `port`: where `npm run worker` serves /metrics and /healthz (off when unset).
   */
  metrics: { token: string | undefined; port: number | undefined };
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

function databaseTarget(env: Env): DatabaseTarget {
  if (env.DATABASE_URL) {
    try {
      const url = new URL(env.DATABASE_URL);
      if (!url.hostname && !url.searchParams.get("host")) throw new Error("no host");
    } catch {
      throw new ConfigError("DATABASE_URL is not a valid postgresql:// URL");
    }
    return { kind: "postgres", url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE };
  }
  return { kind: "pglite", dataDir: env.DATA_DIR };
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
  const database = databaseTarget(env);
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
    },
    apiTokens: parseApiTokens(env.API_TOKENS),
    stepsPerMinute: env.RATE_LIMIT_STEPS_PER_MINUTE,
    apiRequestsPerMinute: env.API_RATE_LIMIT_PER_MINUTE,
    simulatorEnabled: env.SIMULATOR_ENABLED ?? env.NODE_ENV !== "production",
    seedDemo: env.SEED_DEMO ? env.SEED_DEMO !== "false" : database.kind === "pglite",
    seedDemoActivity: env.SEED_DEMO ? env.SEED_DEMO === "true" : database.kind === "pglite",
    notifications: { worker: env.NOTIFY_WORKER, smsPerSecond: env.NOTIFY_SMS_PER_SECOND },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
  };
}
