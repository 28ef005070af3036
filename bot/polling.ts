import { run } from "@grammyjs/runner";
import type { Logger } from "../core/logger.js";
import type { TelegramBot } from "./bot.js";

/** The updates the bot handles; long polling and the webhook (npm run telegram:webhook) ask for these only. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

export interface Polling {
  stop(): Promise<void>;
}

/**
 * Long polling for development (no TELEGRAM_WEBHOOK_SECRET): grammY runner fetches updates and
 * runs them concurrently; the bot's own middleware keeps each chat in order.
 */
export async function startPolling(telegram: TelegramBot, logger: Logger): Promise<Polling> {
  await telegram.init();
  // Telegram refuses getUpdates while a webhook is set.
  await telegram.bot.api.deleteWebhook();
  const runner = run(telegram.bot, {
    // The long poll must end before the client's own timeout aborts it.
    runner: {
      fetch: {
        allowed_updates: [...ALLOWED_UPDATES],
        timeout: Math.max(0, Math.min(30, telegram.timeoutSeconds - 2)),
      },
    },
  });
  logger.info({ bot: telegram.bot.botInfo.username }, "telegram: long polling started");
  return {
    async stop() {
      if (runner.isRunning()) await runner.stop();
    },
  };
}
