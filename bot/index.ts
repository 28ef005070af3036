export { createTelegram, TELEGRAM_LIMITS, type TelegramBot, type ThrottleSettings } from "./bot.js";
export { type Polling, startPolling } from "./polling.js";
export type { BotSender } from "./sender.js";
export { telegramWebhook } from "./webhook.js";
