export { createTelegram, type TelegramBot, type TelegramOptions } from "./bot.js";
export { type BotSenderOptions, createBotSender } from "./outbound.js";
export { type Polling, startPolling } from "./polling.js";
export type { BotSender } from "./sender.js";
export { TELEGRAM_LIMITS, type TelegramSettings, type ThrottleSettings } from "./settings.js";
export { telegramWebhook } from "./webhook.js";
