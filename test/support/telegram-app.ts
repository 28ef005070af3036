import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../app/config.js";
import { createLogger, type Logger } from "../../app/logger.js";
import { buildServer } from "../../app/server.js";
import { createTelegram, type TelegramBot, type ThrottleSettings } from "../../bot/index.js";
import type { Database } from "../../core/db/database.js";
import { BOT_INFO, TelegramDouble } from "./telegram-double.js";

export const WEBHOOK_SECRET = "test-webhook-secret_1";
export const BOT_TOKEN = "123456:TEST-token";

/** Tests send many messages to one chat in a row; Telegram's 1/s would only slow them down. */
export const TEST_THROTTLE: ThrottleSettings = { globalPerSecond: 1000, perChatIntervalMs: 0 };

export interface TelegramApp {
  app: FastifyInstance;
  telegram: TelegramBot;
  double: TelegramDouble;
  logger: Logger;
  close(): Promise<void>;
}

/**
 * The real HTTP server with the bot in webhook mode, talking to a Bot API double on 127.0.0.1.
 * `double` can be shared (a second app over the same database and chats).
 */
export async function startTelegramApp(
  db: Database,
  options: { double?: TelegramDouble; clock?: () => Date; throttle?: ThrottleSettings; getMe?: boolean } = {},
): Promise<TelegramApp> {
  const double = options.double ?? (await new TelegramDouble().start());
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: double.url,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  if (!config.telegram.enabled) throw new Error("telegram config expected");
  const logger = createLogger("silent");
  const telegram = createTelegram({
    config: config.telegram,
    prisma: db.prisma,
    logger,
    throttle: options.throttle ?? TEST_THROTTLE,
    ...(options.getMe ? {} : { botInfo: BOT_INFO }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app = await buildServer({ config, db, logger, telegram });
  await app.ready();
  return {
    app,
    telegram,
    double,
    logger,
    close: async () => {
      await app.close();
      if (!options.double) await double.close();
    },
  };
}
