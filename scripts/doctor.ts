// `npm run doctor`: checks the configuration, the database, Redis, the Telegram Bot API and the
// Africa's Talking credentials with the environment the app would start with, one line each, and
// exits non-zero if anything is wrong. Nothing is changed: no migration, no seed, no message sent.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Api, GrammyError, HttpError } from "grammy";
import { Redis } from "ioredis";
import { type AppConfig, ConfigError, loadConfig } from "../app/config.js";
import { type StartedDatabase, startDatabase } from "../app/database.js";
import { createLogger } from "../app/logger.js";
import { type Database, openDatabase } from "../core/db/database.js";
import { migrationsDir } from "../core/db/paths.js";
import { defaultAtApiRoot } from "../ussd/sms-sender.js";

export type CheckStatus = "ok" | "off" | "fail";
export interface Check {
  name: "configuration" | "database" | "redis" | "telegram" | "sms" | "public URL";
  status: CheckStatus;
  /** One line: what was found, or what is wrong and which variable to look at. */
  detail: string;
}

export interface DoctorOptions {
  /** How long one dependency may take to answer. */
  timeoutMs?: number;
  /** `--url`: where the gateway and Telegram reach this app from outside. */
  publicUrl?: string | undefined;
}

/** Credentials never reach the terminal: the password of a URL is replaced. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(unparsable URL)";
  }
}

const messageOf = (err: unknown): string => {
  const e = err as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const inner = e.cause?.code ?? e.cause?.message;
  return [e.code && !e.message?.includes(e.code) ? e.code : undefined, e.message, inner].filter(Boolean).join(": ");
};

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function checkDatabase(config: AppConfig, timeoutMs: number): Promise<Check> {
  const target = config.database;
  const where =
    target.kind === "postgres" ? `PostgreSQL ${redactUrl(target.url)}` : `embedded database ${target.dataDir}`;
  let db: Database | undefined;
  let started: StartedDatabase | undefined;
  try {
    if (target.kind === "embedded" && !existsSync(join(resolve(target.dataDir), "postgres", "PG_VERSION"))) {
      throw new Error("no database there yet (npm start creates it)");
    }
    // The embedded server is joined when the app runs, else started for the check and stopped again.
    started = await startDatabase({ ...target, poolSize: 1 }, createLogger("silent"));
    // Migrations are the app's business at start; the doctor only looks.
    db = await withTimeout(openDatabase(started.target, { migrate: false }), timeoutMs, where);
    await withTimeout(db.ping(), timeoutMs, where);
    const folders = (await readdir(migrationsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).length;
    const [table] = await db.sql.query<{ present: boolean }>(
      "SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present",
      [],
    );
    let applied = 0;
    if (table?.present) {
      const [row] = await db.sql.query<{ n: number | string }>(
        "SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
        [],
      );
      applied = Number(row?.n ?? 0);
    }
    const pending = Math.max(0, folders - applied);
    return {
      name: "database",
      status: "ok",
      detail: `${where} answers; ${applied} migration(s) applied${pending ? `, ${pending} pending (npm start or npm run db:migrate applies them)` : ""}`,
    };
  } catch (err) {
    const variable = target.kind === "embedded" ? "DATA_DIR" : "DATABASE_URL";
    return { name: "database", status: "fail", detail: `${where}: ${messageOf(err)} (check ${variable})` };
  } finally {
    await db?.close().catch(() => undefined);
    await started?.stop().catch(() => undefined);
  }
}

async function checkRedis(config: AppConfig, timeoutMs: number): Promise<Check> {
  if (!config.redisUrl) {
    return {
      name: "redis",
      status: "off",
      detail: "REDIS_URL is not set: notifications go through the in-process relay",
    };
  }
  const where = redactUrl(config.redisUrl);
  let lastError: unknown;
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on("error", (err) => {
    lastError = err;
  });
  try {
    await withTimeout(redis.connect(), timeoutMs, where);
    const pong = await withTimeout(redis.ping(), timeoutMs, where);
    const info = await redis.info("server");
    const version = /redis_version:([^\r\n]+)/.exec(info)?.[1];
    return { name: "redis", status: "ok", detail: `${where} answers ${pong}${version ? ` (Redis ${version})` : ""}` };
  } catch (err) {
    return { name: "redis", status: "fail", detail: `${where}: ${messageOf(lastError ?? err)} (check REDIS_URL)` };
  } finally {
    redis.disconnect();
  }
}

/**
 * Both calls only read. A kept-alive connection the server closed just as it was reused answers
 * ECONNRESET although the server is fine; asking once more on a fresh one tells the two apart.
 */
async function onceMoreOnReset<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!/ECONNRESET/.test(messageOf(err instanceof HttpError ? err.error : err))) throw err;
    return call();
  }
}

async function checkTelegram(config: AppConfig, timeoutMs: number): Promise<Check> {
  if (!config.telegram.enabled) {
    return { name: "telegram", status: "off", detail: "TELEGRAM_BOT_TOKEN is not set: the bot is off" };
  }
  const { token, apiRoot, webhookSecret } = config.telegram;
  const api = new Api(token, { apiRoot, timeoutSeconds: Math.ceil(timeoutMs / 1000) });
  try {
    const me = await onceMoreOnReset(() => withTimeout(api.getMe(), timeoutMs, `Bot API ${apiRoot}`));
    const info = await onceMoreOnReset(() => withTimeout(api.getWebhookInfo(), timeoutMs, `Bot API ${apiRoot}`));
    const bot = `@${me.username}`;
    if (webhookSecret) {
      if (!info.url) {
        return {
          name: "telegram",
          status: "fail",
          detail: `${bot}: TELEGRAM_WEBHOOK_SECRET is set but no webhook is registered (npm run telegram:webhook -- --url https://…)`,
        };
      }
      if (info.last_error_message) {
        return {
          name: "telegram",
          status: "fail",
          detail: `${bot}: Telegram cannot deliver to ${info.url}: ${info.last_error_message} (${info.pending_update_count} pending)`,
        };
      }
      return {
        name: "telegram",
        status: "ok",
        detail: `${bot}, webhook ${info.url} (${info.pending_update_count} pending)`,
      };
    }
    return {
      name: "telegram",
      status: "ok",
      detail: `${bot}, long polling${info.url ? ` (a webhook at ${info.url} is set; start-up deletes it)` : ""}`,
    };
  } catch (err) {
    if (err instanceof GrammyError) {
      const hint = err.error_code === 401 || err.error_code === 404 ? " (check TELEGRAM_BOT_TOKEN)" : "";
      return {
        name: "telegram",
        status: "fail",
        detail: `Bot API refused ${err.method}: ${err.error_code} ${err.description}${hint}`,
      };
    }
    const cause = err instanceof HttpError ? err.error : err;
    return {
      name: "telegram",
      status: "fail",
      detail: `cannot reach the Bot API at ${apiRoot}: ${messageOf(cause)} (check TELEGRAM_API_ROOT)`,
    };
  }
}

interface AtUserData {
  UserData?: { balance?: string };
}

/** Africa's Talking's user-data endpoint: the cheapest call that proves username and key (it sends nothing). */
async function checkSms(config: AppConfig, timeoutMs: number): Promise<Check> {
  if (!config.sms) {
    return {
      name: "sms",
      status: "off",
      detail: "AT_USERNAME and AT_API_KEY are not set: SMS are recorded in the outbox and logged, not sent",
    };
  }
  const { username, apiKey, apiRoot } = config.sms;
  const root = (apiRoot ?? defaultAtApiRoot(username)).replace(/\/+$/, "");
  const url = `${root}/version1/user?${new URLSearchParams({ username })}`;
  try {
    const res = await fetch(url, {
      headers: { apiKey, Accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403) {
      return {
        name: "sms",
        status: "fail",
        detail: `Africa's Talking refused username "${username}" with this key (HTTP ${res.status}; check AT_USERNAME and AT_API_KEY)`,
      };
    }
    if (!res.ok) {
      return {
        name: "sms",
        status: "fail",
        detail: `Africa's Talking at ${root} answered HTTP ${res.status}: ${text.slice(0, 120)}`,
      };
    }
    let balance: string | undefined;
    try {
      balance = (JSON.parse(text) as AtUserData).UserData?.balance;
    } catch {
      balance = undefined;
    }
    if (balance === undefined) {
      return {
        name: "sms",
        status: "fail",
        detail: `Africa's Talking at ${root} answered without UserData: is AT_API_ROOT right?`,
      };
    }
    const sender = config.sms.senderId ? `sender ${config.sms.senderId}` : "the account's default sender";
    return {
      name: "sms",
      status: "ok",
      detail: `Africa's Talking account "${username}", balance ${balance}, ${sender}`,
    };
  } catch (err) {
    return {
      name: "sms",
      status: "fail",
      detail: `cannot reach Africa's Talking at ${root}: ${messageOf(err)} (check AT_API_ROOT)`,
    };
  }
}

/**
 * The app as the gateway sees it: its health from outside, and the callback URLs to enter in
 * Africa's Talking's dashboard (with the token placeholder when USSD_CALLBACK_TOKEN is set).
 */
async function checkPublicUrl(config: AppConfig, raw: string, timeoutMs: number): Promise<Check> {
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    return { name: "public URL", status: "fail", detail: `not a URL: ${raw}` };
  }
  const root = base.toString().replace(/\/+$/, "");
  const token = config.ussd.callbackToken ? "?token=<USSD_CALLBACK_TOKEN>" : "";
  const callbacks = `USSD ${root}/ussd${token}, session end ${root}/ussd/events${token}, incoming SMS ${root}/sms/inbound${token}, delivery reports ${root}/sms/delivery${token}`;
  try {
    const res = await fetch(`${root}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status !== 200) {
      return {
        name: "public URL",
        status: "fail",
        detail: `${root}/healthz answered HTTP ${res.status}; callbacks: ${callbacks}`,
      };
    }
    return { name: "public URL", status: "ok", detail: `${root} is healthy from here; callbacks: ${callbacks}` };
  } catch (err) {
    return {
      name: "public URL",
      status: "fail",
      detail: `cannot reach ${root}/healthz: ${messageOf(err)}; callbacks: ${callbacks}`,
    };
  }
}

/** Every check, in a fixed order; with an invalid configuration only that one line, the rest cannot be judged. */
export async function runDoctor(env: NodeJS.ProcessEnv, options: DoctorOptions = {}): Promise<Check[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let config: AppConfig;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [{ name: "configuration", status: "fail", detail: err.message }];
  }
  const configuration: Check = {
    name: "configuration",
    status: "ok",
    detail: `NODE_ENV=${config.env}, ${config.database.kind === "postgres" ? "PostgreSQL" : "embedded database"}, port ${config.http.port}${
      config.ussd.callbackToken ? "" : "; USSD_CALLBACK_TOKEN is not set: /ussd believes any caller"
    }`,
  };
  if (config.env === "production" && !config.ussd.callbackToken) configuration.status = "fail";
  const rest = await Promise.all([
    checkDatabase(config, timeoutMs),
    checkRedis(config, timeoutMs),
    checkTelegram(config, timeoutMs),
    checkSms(config, timeoutMs),
    ...(options.publicUrl ? [checkPublicUrl(config, options.publicUrl, timeoutMs)] : []),
  ]);
  return [configuration, ...rest];
}

const MARK: Record<CheckStatus, string> = { ok: "ok  ", off: "off ", fail: "FAIL" };
export const formatCheck = (c: Check) => `${MARK[c.status]} ${c.name}: ${c.detail}`;
export const doctorExitCode = (checks: Check[]) => (checks.some((c) => c.status === "fail") ? 1 : 0);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  let publicUrl: string | undefined;
  try {
    publicUrl = parseArgs({ options: { url: { type: "string" } }, allowPositionals: false }).values.url;
  } catch {
    process.stderr.write("usage: npm run doctor [-- --url https://<public address of the app>]\n");
    process.exit(2);
  }
  runDoctor(process.env, { publicUrl }).then(
    (checks) => {
      for (const check of checks) process.stdout.write(`${formatCheck(check)}\n`);
      process.exit(doctorExitCode(checks));
    },
    (err: unknown) => {
      process.stderr.write(`doctor: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
