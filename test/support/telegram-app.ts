import type { FastifyInstance } from "fastify";
import { type AppConfig, loadConfig } from "../../app/config.js";
import { type Core, createAppCore, createCore } from "../../app/core.js";
import { createLogger, type Logger } from "../../app/logger.js";
import { buildServer } from "../../app/server.js";
import { createTelegram, type TelegramBot, type ThrottleSettings } from "../../bot/index.js";
import type { Database } from "../../core/db/database.js";
import { BOT_INFO, TelegramDouble } from "./telegram-double.js";
import { waitForHandling } from "./telegram-user.js";

export const WEBHOOK_SECRET = "test-webhook-secret_1";
export const BOT_TOKEN = "123456:TEST-token";

/** Tests send many messages to one chat in a row; Telegram's 1/s would only slow them down. */
export const TEST_THROTTLE: ThrottleSettings = { globalPerSecond: 1000, perChatIntervalMs: 0 };

export interface TelegramApp {
  app: FastifyInstance;
  config: AppConfig;
  core: Core;
  /** `http://127.0.0.1:port` when started with `listen`, else empty (use `app.inject`). */
  url: string;
  telegram: TelegramBot;
  double: TelegramDouble;
  logger: Logger;
  close(): Promise<void>;
}

export interface TelegramAppOptions {
  /** A double shared with another app (same chats); otherwise one of the app's own. */
  double?: TelegramDouble;
  clock?: () => Date;
  throttle?: ThrottleSettings;
  /** Ask the double for the bot's identity instead of being given it. */
  getMe?: boolean;
  /** More environment, as an operator would set it (API_TOKENS, rate limits, DATABASE_URL…). */
  env?: Record<string, string>;
  /** Where the product's log goes (default: nowhere). */
  logger?: Logger;
  /** Listen on a free 127.0.0.1 port, for tests that need real HTTP (`url`). */
  listen?: boolean;
  /** The webhook updates' lease (how soon a dead process's updates are taken over). */
  leaseSeconds?: number;
}

/**
 * What createTelegram takes from its caller, for a bot built outside startTelegramApp: an engine
 * of its own (as the server builds one) and the staff side's service.
 */
export function botCore(db: Pick<Database, "prisma" | "sql">, sessionIdleSeconds = 3600) {
  const { engine, staffVisits, services } = createCore(db, { idleSeconds: { telegram: sessionIdleSeconds } });
  return { engine, staffVisits, feedback: services.feedback, citizens: services.citizens };
}

/**
 * The real HTTP server with the bot in webhook mode, talking to a Bot API double on 127.0.0.1,
 * wired as app/main.ts wires it: one core, so one step limit, for every channel.
 */
export async function startTelegramApp(db: Database, options: TelegramAppOptions = {}): Promise<TelegramApp> {
  const double = options.double ?? (await new TelegramDouble().start());
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: double.url,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    // Tests step faster than any person; the limit has tests of its own that set it.
    RATE_LIMIT_STEPS_PER_MINUTE: "0",
    ...options.env,
  });
  if (!config.telegram.enabled) throw new Error("telegram config expected");
  const logger = options.logger ?? createLogger("silent");
  const core = createAppCore(config, db, options.clock);
  const telegram = createTelegram({
    config: config.telegram,
    prisma: db.prisma,
    sql: db.sql,
    logger,
    throttle: options.throttle ?? TEST_THROTTLE,
    engine: core.engine,
    staffVisits: core.staffVisits,
    feedback: core.services.feedback,
    citizens: core.services.citizens,
    ...(options.getMe ? {} : { botInfo: BOT_INFO }),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}),
  });
  const app = await buildServer({ config, db, logger, telegram, core });
  waitForHandling(app, (updateId) => telegram.updates.settled(updateId));
  let url = "";
  if (options.listen) {
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    if (!address || typeof address === "string") throw new Error("no address");
    url = `http://127.0.0.1:${address.port}`;
  } else {
    await app.ready();
  }
  return {
    app,
    config,
    core,
    url,
    telegram,
    double,
    logger,
    close: async () => {
      await app.close();
      if (!options.double) await double.close();
    },
  };
}
